"""The DuckDB warehouse: the only place that opens DuckDB. This module is the read-only side;
building it (``build``, ``load_benchmarks``) lives in metrics/warehouse_build.py and the SQL models'
discovery and order in metrics/sql_models.py, both re-exported here.

``Warehouse`` is a read-only connection: values always go in as query parameters, and table names
are checked against the tables that exist.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from metrics import config
from metrics.sql_models import Model, ModelError, discover_models, order_models
from metrics.sql_models import code_version as _code_version
from metrics.warehouse_build import (
    BENCHMARK_SQL_DIR,
    BuildReport,
    ProgressFn,
    build,
    check_target,
    clean_stale_temps,
    is_warehouse,
    load_benchmarks,
)

__all__ = ["BENCHMARK_SQL_DIR", "BuildReport", "Model", "ModelError", "ProgressFn", "Warehouse", "WarehouseOutdated",
           "build", "check_target", "clean_stale_temps", "discover_models", "is_warehouse", "load_benchmarks",
           "order_models"]


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Labels stored as a DuckDB ENUM (ref_codes' labels, and every model column taken from them)
    arrive in polars as categoricals; every reader gets them as the text they are."""
    categorical = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Categorical | pl.Enum)]
    return frame.with_columns(pl.col(categorical).cast(pl.String)) if categorical else frame


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
            return _as_text(relation.pl()) if relation is not None else pl.DataFrame()
        finally:
            cursor.close()

    def table(self, name: str) -> pl.DataFrame:
        if name not in self.tables():
            raise KeyError(f"no table {name!r} in the warehouse (tables: {', '.join(sorted(self.tables()))})")
        return self.query(f'select * from "{name}"')  # noqa: S608 - name checked against existing tables

    def build_info(self) -> dict:
        return self.table("build_info").row(0, named=True)
