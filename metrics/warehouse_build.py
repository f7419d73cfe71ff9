"""Building the DuckDB warehouse atomically from validated extracts (``metrics.warehouse`` re-exports
``build`` and ``load_benchmarks``; the reader lives there).

``build`` validates every extract (data_contracts), loads the accepted rows as typed ``raw_<extract>``
tables beside ``quarantine``, ``load_audit``, ``build_info``, ``build_settings`` and ``ref_codes``, then
runs the SQL models (``sql/staging/*.sql``, ``sql/marts/*.sql``; metrics/sql_models.py orders them),
each file one SELECT that becomes the table named after the file. It writes to a temporary file
beside the target, checkpoints, closes and ``os.replace``s it into place, so a failed or killed
build leaves the previous warehouse serving.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from data_contracts.errors import BlockingError
from metrics import config
from metrics.base_tables import load_frame, load_ref_codes, ref_codes_frame, settings_frame
from metrics.model_runner import previous_seconds, run_models
from metrics.sql_models import ModelPlan, code_version, discover_models, plan_models

if TYPE_CHECKING:  # the validator is only needed to build, never to read (the dashboard's path)
    from data_contracts.reference_tables import ReferenceResult
    from data_contracts.validate import ValidationResult

ProgressFn = Callable[[str, int, int], None]
# Tables the builder creates itself, so SQL models may read them.
BASE_TABLES = ("quarantine", "load_audit", "build_info", "build_settings", "ref_codes")
TEMP_MARK = ".building-"
BENCHMARK_SQL_DIR = config.SQL_DIR / "benchmarks"
_BENCHMARK_BASE = ("raw_ho_workforce", "raw_census_population", "ref_benchmark_codes", "benchmark_audit",
                   "benchmark_quarantine")


@dataclass
class BuildReport:
    build_id: str
    db_path: Path
    seconds: float
    extracts: list[dict]  # one load_audit row per extract
    quarantine_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # rows per (extract, rule)
    n_normalised: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    as_of: date | None = None
    as_of_source: str = ""
    accepted_breaches: list[str] = field(default_factory=list)  # policy breaches built anyway (--accept-quarantine)


# ------------------------------------------------------------------------------------------------
# The target file
# ------------------------------------------------------------------------------------------------


def is_warehouse(path: Path) -> bool:
    """True if ``path`` is a DuckDB file holding an eqdash build_info table."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[8:12] != b"DUCK":  # DuckDB's file header: 8-byte checksum, then the magic
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
    return "build_info" in names


def check_target(db_path: Path) -> None:
    """Refuse a --db that cannot be (or must not be) replaced, before any work is done."""
    if db_path.is_dir():
        raise BlockingError(str(db_path), "db_path", f"{db_path} is a directory; give the warehouse file, e.g. {db_path / 'eqdash.duckdb'}")
    if db_path.exists() and not is_warehouse(db_path):
        raise BlockingError(str(db_path), "db_path", f"{db_path} exists and is not an eqdash warehouse; refusing to replace it "
                                                     "(choose another --db, or delete the file yourself)")
    folder = db_path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise BlockingError(str(db_path), "db_path", f"cannot write the warehouse: folder {folder} is not writable")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(db_path: Path) -> list[Path]:
    """Remove temp files left by builds that were killed (their process is gone)."""
    removed = []
    for path in db_path.parent.glob(f"{db_path.name}{TEMP_MARK}*"):
        match = re.search(re.escape(TEMP_MARK) + r"(\d+)-", path.name)
        if match and _pid_alive(int(match.group(1))) and int(match.group(1)) != os.getpid():
            continue  # another build is running right now
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextmanager
def _replacing(db_path: Path, *, start_from_current: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a temporary file beside ``db_path`` (a copy of it if ``start_from_current``)
    that replaces ``db_path`` atomically when the block ends without error, and is deleted if not."""
    tmp_path = db_path.with_name(f"{db_path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    if start_from_current:
        shutil.copyfile(db_path, tmp_path)
    con = duckdb.connect(str(tmp_path))
    try:
        yield con
        con.execute("checkpoint")
        con.close()
        os.replace(tmp_path, db_path)
    except BaseException:
        con.close()
        tmp_path.unlink(missing_ok=True)
        Path(f"{tmp_path}.wal").unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------------
# Loading tables and running models
# ------------------------------------------------------------------------------------------------


def _plan_build(sql_dir: Path, contracts_dir: Path, keep_staging: bool) -> tuple[ModelPlan, ModelPlan]:
    """The extracts' models and the published benchmarks' models."""
    known = {f"raw_{e}" for e in config.EXTRACTS} | set(BASE_TABLES)
    return (plan_models(discover_models(sql_dir), known, keep_staging=keep_staging,
                        version=code_version(sql_dir, contracts_dir)),
            _benchmark_plan())


def _benchmark_plan() -> ModelPlan:
    return plan_models(discover_models(BENCHMARK_SQL_DIR.parent, ("benchmarks",)), _BENCHMARK_BASE)


def _build_id(validation: ValidationResult, version: str, settings: config.Settings) -> str:
    digest = hashlib.sha256()
    for extract, result in validation.extracts.items():
        digest.update(f"{extract}:{result.sha256};".encode())
    digest.update(version.encode())
    digest.update(settings_frame(settings).write_json().encode())  # the settings the SQL reads change the marts
    return digest.hexdigest()[:12]


def _synthetic_sample(data_dir: Path) -> str | None:
    """'profile mps, seed 2016' when the extracts were written by sample_data/generate.py (its
    manifest.json), else None: the dashboard labels every page built from them as synthetic."""
    try:
        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "generator_version" not in manifest:
        return None
    return f"profile {manifest.get('profile')}, seed {manifest.get('seed')}"


def _load_tables(con: duckdb.DuckDBPyConnection, validation: ValidationResult, *, contracts_dir: Path,
                 info: dict, settings: config.Settings, progress: ProgressFn | None, keep_staging: bool) -> dict:
    """The audit tables, and the accepted rows: stored as raw_ tables if ``keep_staging``, else
    registered where polars holds them (returned, for the model runner's other lanes)."""
    registered = {}
    n = len(validation.extracts)
    for number, (extract, result) in enumerate(validation.extracts.items(), start=1):
        if progress:
            progress(f"load raw_{extract}", number, n)
        if keep_staging:
            load_frame(con, f"raw_{extract}", result.accepted)
        else:  # build-only: the models read the accepted rows where polars holds them, without a copy
            registered[f"raw_{extract}"] = result.accepted.to_arrow(compat_level=pl.CompatLevel.newest())
            con.register(f"raw_{extract}", registered[f"raw_{extract}"])
    load_frame(con, "quarantine", validation.quarantine)
    load_frame(con, "load_audit", pl.DataFrame([r.audit_row() for r in validation.extracts.values()]))
    load_ref_codes(con, "ref_codes", ref_codes_frame(contracts_dir))
    load_frame(con, "build_settings", settings_frame(settings))
    strings = {k: pl.String for k in info if k in ("as_of_source", "mapping_file", "accepted_quarantine", "model_seconds")}
    load_frame(con, "build_info", pl.DataFrame({k: [v] for k, v in info.items()}, schema_overrides=strings))
    return registered


# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------


def _validate(data_dir: Path, *, as_of: date | None, contracts_dir: Path, progress: ProgressFn | None,
              mapping_path: Path | None, accept_quarantine: bool,
              on_as_of: Callable[[date, threading.Event], None] | None = None):
    """The validated extracts and the quarantine policy's breaches (raised unless accepted)."""
    from data_contracts.contract import load_contracts
    from data_contracts.mapping import Mapping, load_mapping
    from data_contracts.policy import check_policy, raise_if_breached
    from data_contracts.validate import validate_dataset

    mapping = load_mapping(mapping_path, config.EXTRACTS) if mapping_path else Mapping()
    try:
        validation = validate_dataset(data_dir, config.EXTRACTS, as_of=as_of, contracts_dir=contracts_dir,
                                      progress=progress, mapping=mapping, on_as_of=on_as_of)
    except BlockingError:
        raise
    except OSError as exc:
        raise BlockingError(str(getattr(exc, "filename", None) or data_dir), "read",
                            f"could not read the data: {exc.strerror or exc}") from None
    breaches = check_policy(validation, load_contracts(config.EXTRACTS, contracts_dir),
                            thresholds=mapping.quarantine_thresholds, default_threshold=mapping.quarantine_threshold)
    if not accept_quarantine:
        raise_if_breached(breaches)
    return validation, mapping, breaches


def build(
    data_dir: Path,
    db_path: Path,
    *,
    as_of: date | None = None,
    progress: ProgressFn | None = None,
    sql_dir: Path = config.SQL_DIR,
    contracts_dir: Path = config.CONTRACTS_DIR,
    reference_dir: Path | None = config.REFERENCE_DIR,
    mapping_path: Path | None = None,
    accept_quarantine: bool = False,
    settings: config.Settings = config.DEFAULTS,
    keep_staging: bool = False,
) -> BuildReport:
    """Validate the extracts in ``data_dir`` and (re)build the warehouse at ``db_path`` atomically.
    The published benchmark tables in ``reference_dir`` (None: none) are loaded in the same build.

    The warehouse keeps what the dashboard and metrics read: the marts, the audit tables and the
    models whose header says ``Kept``. The ``raw_`` tables and the other staging and intermediate
    models live only for the build (sql_models.build_only) unless ``keep_staging``, which stores
    them too, to trace a number back to the rows it came from.

    ``as_of`` is the analysis edge (default: the extract date in manifest.json, else the latest
    event date). ``mapping_path`` reads a source export through a mapping file. A quarantine that
    breaks the policy (data_contracts/policy.py) blocks unless ``accept_quarantine``. ``settings``
    are written to ``build_settings`` for the SQL models (e.g. the service standard).
    Raises BlockingError for bad input (the previous warehouse is untouched)."""
    started = time.perf_counter()
    data_dir, db_path = Path(data_dir), Path(db_path)
    check_target(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(db_path)
    # one helper thread: it parses the SQL models while the extracts are read, then reads and stacks
    # the published reference tables from the moment the analysis edge is known, while the extracts
    # are judged; the extracts' verdicts are asked for first (they are on the critical path)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="eqdash-build") as helper:
        planned = helper.submit(_plan_build, sql_dir, contracts_dir, keep_staging)
        reference: list[Future] = []

        def validate_reference_from(edge: date, extracts_judged: threading.Event) -> None:
            if reference_dir is not None:
                reference.append(helper.submit(_validate_reference, reference_dir, edge, extracts_judged.wait))

        validation, mapping, breaches = _validate(data_dir, as_of=as_of, contracts_dir=contracts_dir,
                                                  progress=progress, mapping_path=mapping_path,
                                                  accept_quarantine=accept_quarantine, on_as_of=validate_reference_from)
        timings = {"validate": time.perf_counter() - started}
        plan, benchmark_plan = planned.result()
        build_id = _build_id(validation, plan.version, settings)
        info = {"build_id": build_id, "built_at": datetime.now(UTC).replace(tzinfo=None), "as_of": validation.as_of,
                "data_dir": str(data_dir.resolve()), "duckdb_version": duckdb.__version__,
                "code_version": plan.version[:12], "synthetic_sample": _synthetic_sample(data_dir),
                # why the as-of date is what it is; the mapping read through; a policy breach built anyway
                "as_of_source": validation.as_of_source,
                "mapping_file": str(mapping.path.resolve()) if mapping.path else None,
                "accepted_quarantine": "; ".join(b.message for b in breaches) if accept_quarantine and breaches else None,
                "staging_kept": keep_staging, "model_seconds": None}  # --keep-staging; JSON, after the models
        with _replacing(db_path) as con:
            t = time.perf_counter()
            registered = _load_tables(con, validation, contracts_dir=contracts_dir, info=info, settings=settings,
                                      progress=progress, keep_staging=keep_staging)
            timings["load"] = time.perf_counter() - t
            if reference:  # their models run in the lanes with the extracts' (none reads the other's)
                t = time.perf_counter()
                if progress:
                    progress("benchmarks", 0, 1)
                _load_benchmark_base(con, reference[0].result())
                plan = _joined(plan, benchmark_plan)
                timings["benchmarks"] = time.perf_counter() - t
            t = time.perf_counter()
            seconds = run_models(con, plan, progress, registered=registered, costs=previous_seconds(db_path))  # last build's
            timings["models"] = time.perf_counter() - t
            con.execute("update build_info set model_seconds = ?", [json.dumps({k: round(v, 3) for k, v in seconds.items()})])
    return BuildReport(
        as_of=validation.as_of, as_of_source=validation.as_of_source,
        accepted_breaches=[b.message for b in breaches] if accept_quarantine else [],
        build_id=build_id, db_path=db_path, seconds=time.perf_counter() - started,
        extracts=[r.audit_row() for r in validation.extracts.values()],
        quarantine_counts=_quarantine_counts(validation.quarantine), n_normalised=validation.n_normalised,
        timings=timings,
    )


def _quarantine_counts(quarantine: pl.DataFrame) -> dict[tuple[str, str], int]:
    if not quarantine.height:
        return {}
    grouped = quarantine.group_by("extract", "rule").agg(pl.col("source_row").n_unique().alias("n"))
    return {(e, r): int(n) for e, r, n in grouped.iter_rows()}


# ------------------------------------------------------------------------------------------------
# Benchmarks: the published reference tables (Home Office workforce, 2011 Census)
# ------------------------------------------------------------------------------------------------


def _validate_reference(reference_dir: Path, as_of: date | None, before_judging: Callable[[], object] | None = None
                        ) -> ReferenceResult:
    from data_contracts.reference_tables import validate_reference

    try:
        return validate_reference(Path(reference_dir), as_of=as_of, before_judging=before_judging)
    except OSError as exc:
        raise BlockingError(str(reference_dir), "read", f"could not read the reference data: {exc.strerror or exc}") from None


def _load_benchmarks(con: duckdb.DuckDBPyConnection, reference_dir: Path, *, as_of: date | None) -> None:
    """Validate the reference tables and (re)create the benchmark tables and models in ``con``."""
    _load_benchmark_tables(con, _validate_reference(reference_dir, as_of), _benchmark_plan())


def _load_benchmark_tables(con: duckdb.DuckDBPyConnection, result: ReferenceResult, plan: ModelPlan) -> None:
    """(Re)create the benchmark tables from validated reference tables, and their models."""
    for name in [*_BENCHMARK_BASE, *(m.name for m in plan.models)]:
        con.execute(f'drop table if exists "{name}"')  # names are fixed above and NAME_RE-checked by discover_models
    _load_benchmark_base(con, result)
    run_models(con, plan)


def _load_benchmark_base(con: duckdb.DuckDBPyConnection, result: ReferenceResult) -> None:
    """The validated reference tables, their code list, audit and quarantine (what the models read)."""
    from data_contracts.reference_tables import CONTRACTS_DIR as REFERENCE_CONTRACTS

    load_frame(con, "raw_ho_workforce", result.ho_workforce)
    load_frame(con, "raw_census_population", result.census_population)
    load_frame(con, "ref_benchmark_codes", ref_codes_frame(REFERENCE_CONTRACTS))
    load_frame(con, "benchmark_audit", result.audit())
    load_frame(con, "benchmark_quarantine", result.quarantine)


def _joined(plan: ModelPlan, other: ModelPlan) -> ModelPlan:
    """One plan of two whose models do not read each other's (the extracts' and the benchmarks')."""
    return ModelPlan(plan.models + other.models, plan.creates + other.creates, plan.needs + other.needs, plan.version)


def load_benchmarks(reference_dir: Path, db_path: Path, *, as_of: date | None = None) -> None:
    """Replace the benchmark tables of the warehouse at ``db_path`` with those in ``reference_dir``
    (a newer edition a user downloaded), atomically: a copy is changed and renamed into place, so a
    bad reference file leaves the warehouse as it was."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path}; run `eqdash build` first")
    with _replacing(db_path, start_from_current=True) as con:
        _load_benchmarks(con, reference_dir, as_of=as_of)
