"""The DuckDB warehouse: build it atomically from validated extracts, and read it. The only module
that opens DuckDB.

``build`` validates every extract (data_contracts), loads the accepted rows as typed ``raw_<extract>``
tables beside ``quarantine``, ``load_audit``, ``build_info`` and ``ref_codes``, then runs the SQL
models: ``sql/staging/*.sql`` and ``sql/marts/*.sql``, each file one SELECT that becomes the table
named after the file, in dependency order. It writes to a temporary file beside the target,
checkpoints, closes and ``os.replace``s it into place, so a failed or killed build leaves the
previous warehouse serving.

``Warehouse`` is a read-only connection: values always go in as query parameters, and table names
are checked against the tables that exist.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from data_contracts.contract import load_codes
from data_contracts.errors import BlockingError
from metrics import config

if TYPE_CHECKING:  # the validator is only needed to build, never to read (the dashboard's path)
    from data_contracts.validate import ValidationResult

ProgressFn = Callable[[str, int, int], None]
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Tables the builder creates itself, so SQL models may read them.
_BASE_TABLES = ("quarantine", "load_audit", "build_info", "ref_codes")
_TEMP_MARK = ".building-"


class ModelError(BlockingError):
    """A SQL model that cannot be ordered or run (cycle, missing model, SQL error)."""


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
# SQL models: discovery and dependency order
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    layer: str  # "staging" or "marts"
    body: str


_COMMENT_RE = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING_RE = re.compile(r"'(?:[^']|'')*'")
_FROM_RE = re.compile(r"\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", re.I)
_CTE_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+as\s*(?:not\s+)?(?:materialized\s+)?\(", re.I)
_MODEL_PREFIX_RE = re.compile(r"^(stg|fct|dim|int|mart|raw)_", re.I)


def _strip_sql(text: str) -> str:
    return _STRING_RE.sub("''", _COMMENT_RE.sub(" ", text))


def discover_models(sql_dir: Path = config.SQL_DIR) -> list[Model]:
    models: list[Model] = []
    seen: dict[str, Path] = {}
    for layer in ("staging", "marts"):
        for path in sorted((sql_dir / layer).glob("*.sql")):
            name = path.stem
            if not _NAME_RE.match(name):
                raise ModelError(str(path), "model_name", f"model file name {name!r} must be lower_snake_case")
            if name in seen:
                raise ModelError(str(path), "model_name", f"model {name!r} is defined twice ({seen[name]} and {path})")
            seen[name] = path
            body = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
            if not body:
                raise ModelError(str(path), "model_empty", "the model file is empty")
            models.append(Model(name, path, layer, body))
    return models


def order_models(models: list[Model], known_tables: Iterable[str]) -> list[Model]:
    """Models in dependency order (staging before marts when free to choose); cycles and missing
    models are errors naming the file."""
    by_name = {m.name: m for m in models}
    known = {t.lower() for t in known_tables}
    deps: dict[str, set[str]] = {}
    for m in models:
        sql = _strip_sql(m.body)
        words = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", sql))
        deps[m.name] = {w for w in words if w in by_name and w != m.name}
        ctes = {c.lower() for c in _CTE_RE.findall(sql)}
        for ref in _FROM_RE.findall(sql):
            low = ref.lower()
            if low in by_name or low in known or low in ctes or not _MODEL_PREFIX_RE.match(low):
                continue
            raise ModelError(
                f"sql/{m.layer}/{m.path.name}",
                "missing_model",
                f"model {m.name} reads {ref}, which is neither a model (sql/staging, sql/marts) nor a loaded table",
            )
    ordered: list[Model] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name) :] + [name]
            raise ModelError(f"sql/{by_name[name].layer}/{by_name[name].path.name}", "model_cycle", f"models depend on each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in sorted(deps[name], key=lambda d: (by_name[d].layer != "staging", d)):
            visit(dep, trail + [name])
        state[name] = 2
        ordered.append(by_name[name])

    for m in sorted(models, key=lambda m: (m.layer != "staging", m.name)):
        visit(m.name, [])
    return ordered


# ------------------------------------------------------------------------------------------------
# Build
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
    for path in db_path.parent.glob(f"{db_path.name}{_TEMP_MARK}*"):
        match = re.search(re.escape(_TEMP_MARK) + r"(\d+)-", path.name)
        if match and _pid_alive(int(match.group(1))) and int(match.group(1)) != os.getpid():
            continue  # another build is running right now
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _code_version(sql_dir: Path, contracts_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*sql_dir.glob("*/*.sql"), *contracts_dir.glob("*.yaml"), *contracts_dir.glob("reference/*.yaml")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _ref_codes_frame(contracts_dir: Path) -> pl.DataFrame:
    rows = [
        {
            "code_list": list_name,
            "code": c.code,
            "label": c.label,
            "group_label": c.group,
            "worker_type": c.worker_type,
            "sort_order": c.sort_order,
        }
        for list_name, codes in load_codes(contracts_dir).items()
        for c in codes.values()
    ]
    return pl.DataFrame(
        rows,
        schema={"code_list": pl.String, "code": pl.String, "label": pl.String, "group_label": pl.String,
                "worker_type": pl.String, "sort_order": pl.Int32},
    )


def _load_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    if not _NAME_RE.match(name):
        raise ValueError(f"bad table name {name!r}")
    view = f"_incoming_{name}"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f'create table "{name}" as select * from "{view}"')  # noqa: S608 - name matched _NAME_RE
    finally:
        con.unregister(view)


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
) -> BuildReport:
    """Validate the extracts in ``data_dir`` and (re)build the warehouse at ``db_path`` atomically.
    The published benchmark tables in ``reference_dir`` (None: none) are loaded in the same build.

    ``as_of`` is the analysis edge (default: the extract date in manifest.json, else the latest
    event date). ``mapping_path`` reads a source export through a mapping file. A quarantine that
    breaks the policy (data_contracts/policy.py) blocks unless ``accept_quarantine``.
    Raises BlockingError for bad input (the previous warehouse is untouched)."""
    from data_contracts.contract import load_contracts
    from data_contracts.mapping import Mapping, load_mapping
    from data_contracts.policy import check_policy, raise_if_breached
    from data_contracts.validate import validate_dataset

    started = time.perf_counter()
    data_dir, db_path = Path(data_dir), Path(db_path)
    check_target(db_path)
    mapping = load_mapping(mapping_path, config.EXTRACTS) if mapping_path else Mapping()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(db_path)
    timings: dict[str, float] = {}

    try:
        validation = validate_dataset(data_dir, config.EXTRACTS, as_of=as_of, contracts_dir=contracts_dir, progress=progress,
                                      mapping=mapping)
    except BlockingError:
        raise
    except OSError as exc:
        raise BlockingError(str(getattr(exc, "filename", None) or data_dir), "read", f"could not read the data: {exc.strerror or exc}") from None
    as_of = validation.as_of
    breaches = check_policy(validation, load_contracts(config.EXTRACTS, contracts_dir),
                            thresholds=mapping.quarantine_thresholds, default_threshold=mapping.quarantine_threshold)
    if not accept_quarantine:
        raise_if_breached(breaches)
    timings["validate"] = time.perf_counter() - started

    models = discover_models(sql_dir)
    known = {f"raw_{e}" for e in config.EXTRACTS} | set(_BASE_TABLES)
    ordered = order_models(models, known)

    build_id = _build_id(validation, sql_dir, contracts_dir)
    tmp_path = db_path.with_name(f"{db_path.name}{_TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    con = duckdb.connect(str(tmp_path))
    try:
        t = time.perf_counter()
        _load_tables(con, validation, build_id=build_id, as_of=as_of, data_dir=data_dir, contracts_dir=contracts_dir,
                     code_version=_code_version(sql_dir, contracts_dir)[:12], progress=progress,
                     extra_info={"as_of_source": validation.as_of_source,
                                 "mapping_file": str(mapping.path.resolve()) if mapping.path else None,
                                 "accepted_quarantine": "; ".join(b.message for b in breaches) if accept_quarantine and breaches else None})
        timings["load"] = time.perf_counter() - t
        t = time.perf_counter()
        for number, model in enumerate(ordered, start=1):
            if progress:
                progress(f"model {model.name}", number, len(ordered))
            try:
                con.execute(f'create table "{model.name}" as\n{model.body}\n')
            except duckdb.Error as exc:
                rel = f"sql/{model.layer}/{model.path.name}"
                detail = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
                raise ModelError(rel, "sql", f"model {model.name} failed: {detail[:400]}") from None
        timings["models"] = time.perf_counter() - t
        if reference_dir is not None:
            t = time.perf_counter()
            if progress:
                progress("benchmarks", 0, 1)
            _load_benchmarks(con, reference_dir, as_of=as_of)
            timings["benchmarks"] = time.perf_counter() - t
        con.execute("checkpoint")
        con.close()
        os.replace(tmp_path, db_path)
    except BaseException:
        con.close()
        tmp_path.unlink(missing_ok=True)
        Path(f"{tmp_path}.wal").unlink(missing_ok=True)
        raise

    quarantine = validation.quarantine
    counts: dict[tuple[str, str], int] = {}
    if quarantine.height:
        grouped = quarantine.group_by("extract", "rule").agg(pl.col("source_row").n_unique().alias("n"))
        counts = {(e, r): int(n) for e, r, n in grouped.iter_rows()}
    return BuildReport(
        as_of=as_of,
        as_of_source=validation.as_of_source,
        accepted_breaches=[b.message for b in breaches] if accept_quarantine else [],
        build_id=build_id,
        db_path=db_path,
        seconds=time.perf_counter() - started,
        extracts=[r.audit_row() for r in validation.extracts.values()],
        quarantine_counts=counts,
        n_normalised=validation.n_normalised,
        timings=timings,
    )


def _build_id(validation: ValidationResult, sql_dir: Path, contracts_dir: Path) -> str:
    digest = hashlib.sha256()
    for extract, result in validation.extracts.items():
        digest.update(f"{extract}:{result.sha256};".encode())
    digest.update(_code_version(sql_dir, contracts_dir).encode())
    return digest.hexdigest()[:12]


def _load_tables(
    con: duckdb.DuckDBPyConnection,
    validation: ValidationResult,
    *,
    build_id: str,
    as_of: date,
    data_dir: Path,
    contracts_dir: Path,
    code_version: str,
    progress: ProgressFn | None,
    extra_info: dict | None = None,
) -> None:
    n = len(validation.extracts)
    for number, (extract, result) in enumerate(validation.extracts.items(), start=1):
        if progress:
            progress(f"load raw_{extract}", number, n)
        _load_frame(con, f"raw_{extract}", result.accepted)
    _load_frame(con, "quarantine", validation.quarantine)
    _load_frame(con, "load_audit", pl.DataFrame([r.audit_row() for r in validation.extracts.values()]))
    _load_frame(con, "ref_codes", _ref_codes_frame(contracts_dir))
    info = pl.DataFrame(
        {
            "build_id": [build_id],
            "built_at": [datetime.now(UTC).replace(tzinfo=None)],
            "as_of": [as_of],
            "data_dir": [str(data_dir.resolve())],
            "duckdb_version": [duckdb.__version__],
            "code_version": [code_version],
            "synthetic_sample": [_synthetic_sample(data_dir)],
            # why the as-of date is what it is; the mapping read through; a policy breach built anyway
            **{k: [v] for k, v in (extra_info or {}).items()},
        },
        schema_overrides={k: pl.String for k in (extra_info or {})},
    )
    _load_frame(con, "build_info", info)


def _synthetic_sample(data_dir: Path) -> str | None:
    """'profile mps, seed 2016' when the extracts were written by sample_data/generate.py (its
    manifest.json), else None: the dashboard labels every page built from them as synthetic."""
    import json

    try:
        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "generator_version" not in manifest:
        return None
    return f"profile {manifest.get('profile')}, seed {manifest.get('seed')}"


# ------------------------------------------------------------------------------------------------
# Benchmarks: the published reference tables (Home Office workforce, 2011 Census)
# ------------------------------------------------------------------------------------------------

BENCHMARK_SQL_DIR = config.SQL_DIR / "benchmarks"
_BENCHMARK_BASE = ("raw_ho_workforce", "raw_census_population", "ref_benchmark_codes", "benchmark_audit",
                   "benchmark_quarantine")


def _benchmark_models() -> list[Model]:
    models = []
    for path in sorted(BENCHMARK_SQL_DIR.glob("*.sql")):
        body = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
        models.append(Model(path.stem, path, "benchmarks", body))
    return order_models(models, _BENCHMARK_BASE)


def _load_benchmarks(con: duckdb.DuckDBPyConnection, reference_dir: Path, *, as_of: date | None) -> None:
    """Validate the reference tables and (re)create the benchmark tables and models in ``con``."""
    from data_contracts.reference_tables import CONTRACTS_DIR as REFERENCE_CONTRACTS
    from data_contracts.reference_tables import validate_reference

    try:
        result = validate_reference(Path(reference_dir), as_of=as_of)
    except OSError as exc:
        raise BlockingError(str(reference_dir), "read", f"could not read the reference data: {exc.strerror or exc}") from None
    models = _benchmark_models()
    for name in [*_BENCHMARK_BASE, *(m.name for m in models)]:
        con.execute(f'drop table if exists "{name}"')  # names are fixed above and _NAME_RE-checked below
    _load_frame(con, "raw_ho_workforce", result.ho_workforce)
    _load_frame(con, "raw_census_population", result.census_population)
    _load_frame(con, "ref_benchmark_codes", _ref_codes_frame(REFERENCE_CONTRACTS))
    _load_frame(con, "benchmark_audit", result.audit())
    _load_frame(con, "benchmark_quarantine", result.quarantine)
    for model in models:
        try:
            con.execute(f'create table "{model.name}" as\n{model.body}\n')
        except duckdb.Error as exc:
            detail = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
            raise ModelError(f"sql/benchmarks/{model.path.name}", "sql", f"model {model.name} failed: {detail[:400]}") from None


def load_benchmarks(reference_dir: Path, db_path: Path, *, as_of: date | None = None) -> None:
    """Replace the benchmark tables of the warehouse at ``db_path`` with those in ``reference_dir``
    (a newer edition a user downloaded), atomically: a copy is changed and renamed into place, so a
    bad reference file leaves the warehouse as it was."""
    import shutil

    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path}; run `eqdash build` first")
    tmp_path = db_path.with_name(f"{db_path.name}{_TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    shutil.copyfile(db_path, tmp_path)
    con = duckdb.connect(str(tmp_path))
    try:
        _load_benchmarks(con, reference_dir, as_of=as_of)
        con.execute("checkpoint")
        con.close()
        os.replace(tmp_path, db_path)
    except BaseException:
        con.close()
        tmp_path.unlink(missing_ok=True)
        Path(f"{tmp_path}.wal").unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


class WarehouseOutdated(FileNotFoundError):
    """The file is a warehouse built by other SQL models or contracts than this eqdash's: the tables
    the metrics query may not be there or may mean something else, so it must be rebuilt. (A kind
    of FileNotFoundError: the warehouse this version needs is not there.)"""


class Warehouse:
    """A read-only connection to a built warehouse. Use as a context manager or call close()."""

    def __init__(self, db_path: Path = config.DEFAULT_WAREHOUSE, *, check_version: bool = True) -> None:
        self.db_path = Path(db_path)
        if not self.db_path.exists():
            raise FileNotFoundError(f"no warehouse at {self.db_path}; run `eqdash build` first")
        self._con = duckdb.connect(str(self.db_path), read_only=True)
        self._tables: frozenset[str] | None = None
        if check_version:
            self._check_version()

    def _check_version(self) -> None:
        want = _code_version(config.SQL_DIR, config.CONTRACTS_DIR)[:12]
        info = self.build_info() if "build_info" in self.tables() else {}
        have = info.get("code_version")
        if have != want:
            built = info.get("built_at")
            when = f" on {built:%d %b %Y %H:%M}" if hasattr(built, "strftime") else ""
            self.close()
            raise WarehouseOutdated(
                f"the warehouse at {self.db_path} was built{when} by another version of eqdash's SQL "
                f"models and contracts ({have or 'unrecorded'}; this version is {want}): rebuild it with "
                f"`eqdash build --data DIR --db {self.db_path}`")

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("the warehouse connection is closed")
        return self._con

    def tables(self) -> frozenset[str]:
        if self._tables is None:
            names = self.query("select table_name from information_schema.tables where table_schema = 'main'")
            self._tables = frozenset(names["table_name"].to_list())
        return self._tables

    def query(self, sql: str, params: list | tuple | dict | None = None) -> pl.DataFrame:
        """Run one statement; values go in as parameters (``?`` or ``$name``), never formatted in."""
        # A cursor per query: its own DuckDB connection handle, so pages on several threads can
        # share one Warehouse. In DuckDB 2.0 execute() leaves an unfinished result holding the
        # connection (and its Arrow export warns of a copy); a relation read whole by .pl() does not.
        cursor = self.con.cursor()
        try:
            relation = cursor.sql(sql, params=params)
            return relation.pl() if relation is not None else pl.DataFrame()
        finally:
            cursor.close()

    def table(self, name: str) -> pl.DataFrame:
        if name not in self.tables():
            raise KeyError(f"no table {name!r} in the warehouse (tables: {', '.join(sorted(self.tables()))})")
        return self.query(f'select * from "{name}"')  # noqa: S608 - name checked against existing tables

    def build_info(self) -> dict:
        return self.table("build_info").row(0, named=True)
