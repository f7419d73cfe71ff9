"""Validate the extracts in a data directory against their contracts: accept, quarantine or block.

Every input row ends up either accepted (typed, ready to load) or quarantined with each rule it
broke; ``rows_read == rows_accepted + rows_quarantined`` is asserted per extract. A file that
cannot be read as its contract describes raises ``BlockingError`` (one line: file, column, row,
rule) and nothing is built.

Blocking (the whole build stops):
  missing extract file (or both .csv and .parquet present), a symbolic link that loops or leads
  nowhere, 0-byte or blank file, header but no data rows (no extract may legitimately be empty for
  this product), bytes that are not CSV text (Parquet, gzip, zip/xlsx, UTF-16 with or without a
  byte-order mark: named by their first bytes), undecodable bytes (not UTF-8), CR-only line
  endings, an unterminated quote (named with the row it opened on), a title line above the header,
  wrong delimiter (semicolon, tab or pipe), duplicate header names, a contract column missing from
  the header (optional means the *values* may be blank, not that the column may go; a column added
  to a contract later is marked `may_be_absent` and an older extract without it reads it as blank,
  with a note), an unnamed
  column holding data, a row with more fields than the header, and a column of the wrong type:
  more than half (COLUMN_TYPE_THRESHOLD) of its non-blank values fail to parse.
Tolerated, with a note (nothing in the contract is lost):
  UTF-8 byte-order mark, CRLF line endings, a trailing Ctrl-Z, quoted commas and newlines,
  surrounding whitespace (trimmed; blank = missing), unnamed all-empty columns (dropped), codes in
  the wrong case (normalised to the code list's case and counted), unknown extra columns (ignored
  with a warning note), open-end markers (9999-12-31: read as blank) and end dates after the as-of
  date (still open at it; staging clips them). A mapping file (data_contracts/mapping.py) renames,
  recodes and re-dates a source export before any of this.
Row-level (the row is quarantined; it appears once per rule broken, counts once):
  required, type, pattern, codes, min, max, not_future, date_floor, unique, references,
  date_order, both_or_neither, not_greater, duplicate_spell, overlapping_spell, outside_service.
  - unique: keys compare as the contract's types ("01" is 1); every row sharing a duplicated key is
    quarantined, not just the later ones, because nothing says which of them is right.
  - references: the value must be among the ACCEPTED rows of the referenced extract, so a
    quarantined person takes their grievances, postings and cases with them (the message says so).

Who evaluates what: great-expectations evaluates required, pattern, codes, min, max, not_future,
date_floor, unique, date_order and not_greater, on DISTINCT values stacked over every extract in
one batch (gx_suite.py), and the verdicts are joined back to rows (verdicts.py), so the work grows
with distinct values rather than rows or duplicates. Polars evaluates type (parsing is what produces
the typed columns), both_or_neither (GX has no "both or neither null" expectation), references,
spells and service (cross-row and cross-extract checks GX cannot express): row_rules.py.

The modules, one job each: files.py (find the file, bytes to text), csv_read.py (text to named
columns: the header and CSV-shape checks), reading.py (trim, map, check columns and types,
normalise codes), parsing.py (types), gx_suite.py (the great-expectations suite), gx_worker.py
(the process it runs in, started first so its import overlaps the reading), verdicts.py
(its verdicts back to rows), row_rules.py (the polars rules), results.py (the quarantine and the
row accounting). This module runs them: the files read two at a time, great-expectations and
the spell rule side by side, then each extract checked once the extracts it refers to are (two at
a time after people), with outcomes in load order.

Source rows use spreadsheet numbering: header = row 1, first data row = row 2. With quoted
newlines this is the record number + 1, not the text line.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import polars as pl

from data_contracts import gx_worker
from data_contracts.contract import CONTRACTS_DIR, Code, Contract, load_codes, load_contracts
from data_contracts.errors import BlockingError
from data_contracts.files import find_extract_file
from data_contracts.gx_suite import digits_interchangeable as _digits_interchangeable  # noqa: F401 - tests pin it here
from data_contracts.gx_suite import judge
from data_contracts.mapping import Mapping
from data_contracts.parsing import COLUMN_TYPE_THRESHOLD, all_distinct, parsed, typed_frame
from data_contracts.reading import ExtractRead, read_and_normalise
from data_contracts.results import (
    QUARANTINE_SCHEMA,
    ExtractResult,
    ReconciliationError,
    ValidationResult,
    reconcile,
)
from data_contracts.row_rules import (
    Failures,
    check_both_or_neither,
    check_references,
    check_spells,
    check_types,
    check_within_service,
)
from data_contracts.verdicts import apply_verdicts

__all__ = [  # what other packages and the tests import from here
    "COLUMN_TYPE_THRESHOLD", "QUARANTINE_SCHEMA", "ExtractResult", "ReconciliationError", "ValidationResult",
    "default_as_of", "validate_dataset", "validate_extract",
]

AcceptedKeys = dict[tuple[str, str], tuple[pl.Series, dict[str, int], str]]


def validate_extract(
    path: Path,
    contract: Contract,
    *,
    codes: dict[str, dict[str, Code]],
    as_of: date,
    accepted_keys: AcceptedKeys,
    gx_runner=None,
    verdicts: dict[str, pl.DataFrame] | None = None,
    mapping: Mapping | None = None,
    accepted_frames: dict[str, pl.DataFrame] | None = None,
    read: ExtractRead | None = None,
    spells: Failures | None = None,
    misses: dict[str, pl.Series] | None = None,
) -> ExtractResult:
    """Read one extract file and split its rows into accepted (typed) and quarantined.
    ``verdicts``: great-expectations' verdicts for the whole dataset (validate_dataset); without
    them, this extract is judged on its own. ``spells``: the spell rule's failures when worked out
    already (validate_dataset does it while great-expectations judges); ``misses``: for a column
    that references another extract, its rows whose value is not among the accepted keys, when
    found already (validate_dataset finds them for every extract at once: _reference_misses)."""
    extract = contract.extract
    read = read or read_and_normalise(path, contract, codes, mapping or Mapping())
    try:
        if verdicts is None:
            verdicts = judge({extract: read.frame}, {extract: contract}, codes, as_of, gx_runner or gx_worker.shared())
        typed, failures = _evaluate(read.frame, contract, codes, as_of, accepted_keys, verdicts, accepted_frames,
                                    read.typed, spells, misses)
    except BlockingError:
        raise
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise BlockingError(path.name, "validation", f"the rows could not be checked: {exc}") from exc
    return reconcile(read, contract, typed, failures, as_of)


def _evaluate(frame: pl.DataFrame, contract: Contract, codes: dict[str, dict[str, Code]], as_of: date,
              accepted_keys: AcceptedKeys, verdicts: dict[str, pl.DataFrame],
              accepted: dict[str, pl.DataFrame] | None, parsed_columns: pl.DataFrame | None = None,
              spells: Failures | None = None, misses: dict[str, pl.Series] | None = None
              ) -> tuple[pl.DataFrame, Failures]:
    """Every row-level rule, in the order their failures are listed: polars' rules, then GX's verdicts."""
    failures = Failures()
    typed = typed_frame(frame, contract, parsed_columns)
    base = frame.with_row_index("_i")
    check_types(failures, base, typed, contract)
    check_both_or_neither(failures, base, contract)
    check_references(failures, base, contract, accepted_keys, misses)
    if contract.spells:
        if spells is None:
            spells = _spell_failures(frame, contract, parsed_columns)
        failures.merge(spells)
    if contract.within_service and accepted and "people" in accepted:
        check_within_service(failures, base, typed, contract, accepted["people"], as_of)
    apply_verdicts(failures, base, typed, contract, codes, as_of, verdicts)
    return typed, failures


def _spell_failures(frame: pl.DataFrame, contract: Contract, parsed_columns: pl.DataFrame | None) -> Failures:
    """The spell rule needs only the extract itself (not the verdicts, nor other extracts' accepted rows)."""
    failures = Failures()
    check_spells(failures, frame.with_row_index("_i"), typed_frame(frame, contract, parsed_columns), contract)
    return failures


def default_as_of(data_dir: Path, reads: dict[str, ExtractRead], contracts: dict[str, Contract], *,
                  today: date | None = None) -> tuple[date, str]:
    """The analysis edge when --as-of is not given: the extract date recorded with the extracts
    (manifest.json), else the latest event date on or before today. Never an end date: a posting
    ending 9999-12-31 or on a planned date is not the edge of the data."""
    today = today or date.today()
    manifest = Path(data_dir) / "manifest.json"
    if manifest.is_file():
        try:
            recorded = json.loads(manifest.read_text(encoding="utf-8")).get("extract_date")
            if recorded:
                return date.fromisoformat(str(recorded)), "the extract date in manifest.json"
        except (ValueError, OSError, AttributeError) as exc:
            raise BlockingError("manifest.json", "manifest", f"the extract date could not be read: {exc}") from None
    best: tuple[date, str] | None = None
    for extract, read in reads.items():
        for col in contracts[extract].columns:
            if not col.not_future:  # event dates; end dates are never the edge
                continue
            latest = read.frame.select(parsed(col).filter(parsed(col) <= today).max()).item()
            if latest is not None and (best is None or latest > best[0]):
                best = (latest, f"the latest event date ({extract}.{col.name})")
    return best or (today, "today (no event dates)")


Progress = Callable[[str, int, int], None] | None


def validate_dataset(
    data_dir: Path,
    extracts: Iterable[str],
    *,
    as_of: date | None = None,
    contracts_dir: Path = CONTRACTS_DIR,
    progress: Progress = None,
    mapping: Mapping | None = None,
    on_as_of: Callable[[date, threading.Event], None] | None = None,
) -> ValidationResult:
    """Validate every extract in load order; references resolve against earlier accepted rows.

    Every file is read first (so a blocking problem in the last file stops the build before any
    checking), then the as-of date is settled (given, or default_as_of) and passed to ``on_as_of``
    with an event set once great-expectations has given the extracts' verdicts (the build starts
    validating the published reference tables then, and asks for their verdicts after the
    extracts'), then the rows are checked."""
    gx_worker.start()  # great-expectations imports in its own process while the files are read
    data_dir = Path(data_dir)
    extracts = list(extracts)
    contracts = load_contracts(extracts, contracts_dir)
    codes = load_codes(contracts_dir)
    if not data_dir.is_dir():
        raise BlockingError(str(data_dir), "missing_directory", f"data directory {data_dir} does not exist")
    reads = _read_all(data_dir, contracts, codes, mapping or Mapping(), progress)
    as_of, as_of_source = (as_of, "--as-of") if as_of is not None else default_as_of(data_dir, reads, contracts)
    judged_event = threading.Event()
    try:  # the event is set however judging ends, so nothing waiting for it waits for ever
        if on_as_of is not None:
            on_as_of(as_of, judged_event)
        verdicts, spells = _judge(data_dir, reads, contracts, codes, as_of, progress)
    finally:
        judged_event.set()
    result = ValidationResult(as_of=as_of, as_of_source=as_of_source)
    result.extracts = _check(extracts, reads, contracts, codes, as_of, verdicts, spells, mapping, progress)
    return result


def _check(extracts: list[str], reads: dict[str, ExtractRead], contracts: dict[str, Contract], codes, as_of: date,
           verdicts: dict[str, pl.DataFrame], spells: dict[str, Failures], mapping: Mapping | None,
           progress: Progress) -> dict[str, ExtractResult]:
    """Every extract's rows checked, in load order. An extract is checked once the extracts it refers
    to are settled; extracts that do not refer to each other (everything after people) are checked
    two at a time, since much of a check is polars (which releases the GIL). Outcomes, and the first
    blocking problem, come in load order."""
    needed = {col.references for c in contracts.values() for col in c.columns if col.references}
    outcomes: dict[str, ExtractResult] = {}
    accepted_keys: AcceptedKeys = {}
    accepted_frames: dict[str, pl.DataFrame] = {}
    running: dict[str, Future[ExtractResult]] = {}
    misses: dict[tuple[str, str], pl.Series] = {}

    def settle(extract: str) -> None:
        """An extract's outcome, once; the keys and rows later extracts are checked against."""
        if extract not in outcomes:
            outcome = outcomes[extract] = running[extract].result()
            accepted_frames[extract] = outcome.accepted
            for target, column in needed:
                if target == extract:
                    accepted_keys[(target, column)] = _keys(outcome, column)
                    misses.update(_reference_misses(reads, contracts, (target, column), accepted_keys[(target, column)][0]))

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="eqdash-check") as pool:
        try:
            for number, extract in enumerate(extracts, start=1):
                for target in _refers_to(contracts[extract]) & set(running):
                    settle(target)
                _tell(progress, f"validate {extract}", number, len(extracts))
                running[extract] = pool.submit(
                    validate_extract, reads[extract].path, contracts[extract], codes=codes, as_of=as_of,
                    accepted_keys=dict(accepted_keys), verdicts=verdicts, mapping=mapping,
                    accepted_frames=dict(accepted_frames), read=reads.pop(extract), spells=spells.get(extract),
                    misses={c: m for (e, c), m in misses.items() if e == extract})
            for extract in extracts:
                settle(extract)
        except BaseException:
            for future in running.values():
                future.cancel()
            raise
    return {e: outcomes[e] for e in extracts}


def _judge(data_dir: Path, reads: dict[str, ExtractRead], contracts: dict[str, Contract], codes, as_of: date,
           progress: Progress) -> tuple[dict[str, pl.DataFrame], dict[str, Failures]]:
    """great-expectations' verdicts on every extract, and the spell rule's failures worked out meanwhile."""
    _tell(progress, "great-expectations", len(reads), len(reads))
    # great-expectations judges (its own process, mostly waited for) while the spell rule, which needs
    # neither its verdicts nor other extracts, runs here: about half a second of a core otherwise idle
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="eqdash-judge") as pool:
        judged = pool.submit(judge, {e: r.frame for e, r in reads.items()}, contracts, codes, as_of,
                             gx_worker.shared(), typed={e: r.typed for e, r in reads.items()},
                             distinct={e: r.distinct for e, r in reads.items()})
        spells = {}
        for extract, read in reads.items():
            if contracts[extract].spells:
                try:
                    spells[extract] = _spell_failures(read.frame, contracts[extract], read.typed)
                except (pl.exceptions.PolarsError, ValueError, TypeError):
                    pass  # worked out again, and reported as before, with the extract's other rules
        try:
            return judged.result(), spells
        except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
            raise BlockingError(str(data_dir), "validation", f"the rows could not be checked: {exc}") from exc


def _reference_misses(reads: dict[str, ExtractRead], contracts: dict[str, Contract], target: tuple[str, str],
                      keys: pl.Series) -> dict[tuple[str, str], pl.Series]:
    """For every extract still to be checked, each column referencing ``target``: the rows whose value
    is given but not among its accepted ``keys``. All such columns are looked up at once: polars
    builds its set of the keys once a lookup, so once rather than once an extract (five times over
    the people's 458,000 ids at `national`)."""
    columns = [(e, col.name) for e, read in reads.items() for col in contracts[e].columns if col.references == target]
    if not columns:
        return {}
    values = pl.concat([reads[e].frame[c].cast(pl.String).rename("v") for e, c in columns], rechunk=False)
    missing = values.is_not_null() & ~values.is_in(keys.implode())
    found, offset = {}, 0
    for e, c in columns:
        height = reads[e].frame.height
        found[(e, c)] = missing.slice(offset, height)
        offset += height
    return found


def _refers_to(contract: Contract) -> set[str]:
    """The extracts whose accepted rows this one is checked against (references, service dates)."""
    targets = {col.references[0] for col in contract.columns if col.references}
    return targets | ({"people"} if contract.within_service else set())


def _tell(progress: Progress, step: str, number: int, total: int) -> None:
    if progress:
        progress(step, number, total)


def _read_all(data_dir: Path, contracts: dict[str, Contract], codes, mapping: Mapping, progress: Progress
              ) -> dict[str, ExtractRead]:
    """Every extract read and checked as text, in load order; every file must be present before any work."""
    paths = {e: find_extract_file(data_dir, e) for e in contracts}

    def read(extract: str) -> ExtractRead:
        path = paths[extract]
        try:
            return read_and_normalise(path, contracts[extract], codes, mapping)
        except (OSError, csv.Error, UnicodeError, pl.exceptions.PolarsError) as exc:
            # bad input must reach the user as one line naming the file, never as a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BlockingError(path.name, "read", f"the file could not be read: {first}") from None

    # two files at a time (polars, hashing and decoding release the GIL); results and the first
    # blocking problem come in load order, as if read one by one
    reads: dict[str, ExtractRead] = {}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="eqdash-read") as pool:
        for number, (extract, outcome) in enumerate(zip(paths, pool.map(read, paths), strict=True), start=1):
            _tell(progress, f"read {extract}", number, len(paths))
            reads[extract] = outcome
    return reads


def _keys(outcome: ExtractResult, column: str) -> tuple[pl.Series, dict[str, int], str]:
    """Accepted values of a referenced column (distinct, as a polars Series: no Python set of every
    id), and the first quarantined row holding each other value."""
    accepted = outcome.accepted[column].cast(pl.String).drop_nulls()
    if not all_distinct(accepted):  # a key column's accepted values are distinct already
        accepted = accepted.unique()
    if outcome.rejected.height == 0:  # nothing quarantined: no lookup of every accepted value to build
        return accepted, {}, outcome.file
    quarantined = (
        outcome.rejected.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(accepted.implode()))
        .group_by(column)
        .agg(pl.col("source_row").min())
    )
    return accepted, dict(quarantined.iter_rows()), outcome.file
