"""The hr-export style: the sample as an HR system would export it (column names, words for codes,
UK, Excel and ISO-with-time dates, 9999-12-31 for "no end"), which builds through the shipped
mapping to a warehouse identical to the plain sample's."""

from __future__ import annotations

import duckdb
import polars as pl
from typer.testing import CliRunner

from dashboard.cli import app
from metrics.warehouse import build
from sample_data.hr_export import HR_EXPORT_MAPPING


def _tables(db) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.sql("select table_name from information_schema.tables order by 1").fetchall()]
        return {n: con.sql(f'select * from "{n}"').pl() for n in names}  # noqa: S608 - names from the catalogue
    finally:
        con.close()


def test_hr_export_sample_builds_through_its_mapping_to_the_plain_warehouse(small_warehouse, tmp_path):
    data = tmp_path / "hr"
    result = CliRunner().invoke(app, ["sample", "--profile", "small", "--style", "hr-export", "--out", str(data)])
    assert result.exit_code == 0, result.output
    assert " ".join(result.output.split()).endswith("in the hr-export style")
    people = (data / "people.csv").read_text(encoding="utf-8").splitlines()
    assert people[0].startswith("Employee Number,Worker Type,Gender,Year of Birth,Ethnic Origin,Disabled,")
    postings = pl.read_csv(data / "postings.csv", infer_schema=False)
    assert postings["Effective To"].str.contains(r"^\d{2}/\d{2}/\d{4}$").all()
    assert (postings["Effective To"] == "31/12/9999").sum() > 0  # open postings, HR-style
    assert "White - British" in set(pl.read_csv(data / "people.csv", infer_schema=False)["Ethnic Origin"])
    assert pl.read_csv(data / "applications.csv", infer_schema=False)["Application Date"].str.contains(r"^\d{5}$").all()

    report = build(data, tmp_path / "hr.duckdb", mapping_path=HR_EXPORT_MAPPING, keep_staging=True)
    assert report.quarantine_counts == {}
    built, plain = _tables(tmp_path / "hr.duckdb"), _tables(small_warehouse)
    assert set(built) == set(plain)
    for name in sorted(set(built) - {"build_info", "load_audit"}):  # every raw, staging and mart table
        a, b = built[name], plain[name]
        assert a.columns == b.columns, name
        # the same rows (a model's row order is not part of its contract: DuckDB runs in parallel)
        assert a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True)), name
    info = built["build_info"].row(0, named=True)
    assert info["mapping_file"] == str(HR_EXPORT_MAPPING)
    assert built["load_audit"].select("rows_read", "rows_accepted").equals(plain["load_audit"].select("rows_read", "rows_accepted"))
