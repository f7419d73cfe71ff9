"""The tables a build writes itself beside the extracts' rows: the code lists (``ref_codes``, their
labels as one ENUM), the build's settings and any polars frame, loaded without a copy."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.contract import load_codes
from metrics import config
from metrics.sql_models import NAME_RE


def ref_codes_frame(contracts_dir: Path) -> pl.DataFrame:
    rows = [
        {"code_list": list_name, "code": c.code, "label": c.label, "group_label": c.group,
         "worker_type": c.worker_type, "sort_order": c.sort_order}
        for list_name, codes in load_codes(contracts_dir).items()
        for c in codes.values()
    ]
    return pl.DataFrame(
        rows,
        schema={"code_list": pl.String, "code": pl.String, "label": pl.String, "group_label": pl.String,
                "worker_type": pl.String, "sort_order": pl.Int32},
    )


def load_ref_codes(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """The code lists, their labels stored as one DuckDB ENUM of every label (in DuckDB's text
    order, so sorting, min and max give what text would). The staging models take each row's
    reporting labels from here, so the labels reach the marts as small integers, not text: joins,
    groupings and, above all, writing the marts' label columns cost a fraction (at ``national`` the
    models phase about 15% less). Readers see text: ``Warehouse.query`` returns ENUM columns as
    strings, and DuckDB compares an ENUM with any text (a value not in it matches nothing)."""
    labels = sorted({v for column in ("label", "group_label") for v in frame[column].drop_nulls()}, key=str.encode)
    enum = "enum(" + ", ".join("'" + v.replace("'", "''") + "'" for v in labels) + ")" if labels else "varchar"
    load_frame(con, name, frame, columns=f"* replace (label::{enum} as label, group_label::{enum} as group_label)")


def settings_frame(settings: config.Settings) -> pl.DataFrame:
    """The build's parameters as one row for the SQL models: the scalar Settings fields (fct_spoc_monthly
    reads service_standard_days) and the ethnic groups of the aggregate (the ethnic group x sex model)."""
    values = {k: [v] for k, v in asdict(settings).items() if isinstance(v, int | float | str)}
    return pl.DataFrame({**values, "aggregate_groups": [list(config.AGGREGATE_GROUPS)]})


def load_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *, columns: str = "*") -> None:
    """``frame`` as table ``name``; ``columns``: the select list that makes the table from it (the
    labels quoted as literals by load_ref_codes; never text from an extract)."""
    if not NAME_RE.match(name):
        raise ValueError(f"bad table name {name!r}")
    view = f"_incoming_{name}"
    # polars' own string layout (Arrow string views), which DuckDB reads as VARCHAR without the copy
    # into classic Arrow strings that the default export makes
    con.register(view, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        con.execute(f'create table "{name}" as select {columns} from "{view}"')  # noqa: S608 - name matched NAME_RE
    finally:
        con.unregister(view)
