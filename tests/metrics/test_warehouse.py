"""The warehouse build: typed raw tables, audit, quarantine, SQL models in dependency order, and
atomic replacement (a failed or killed build leaves the previous warehouse serving)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from contract_data import AS_OF, valid_rows, write_dataset

from data_contracts.contract import load_codes
from data_contracts.errors import BlockingError
from metrics import config
from metrics.warehouse import ModelError, Warehouse, build


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    """The real staging models and an empty marts folder (tests add marts of their own)."""
    target = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR / "staging", target / "staging")
    (target / "marts").mkdir()
    return target


def _build(data: Path, db: Path, sql_dir: Path, **kw):
    kw.setdefault("keep_staging", True)  # these tests read the raw_ and stg_ tables
    return build(data, db, as_of=AS_OF, sql_dir=sql_dir, **kw)


def _temps(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.building-*"))


def test_build_loads_typed_tables_audit_quarantine_and_build_info(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "wh" / "eq.duckdb"
    seen = []
    report = _build(valid_extracts, db, sql_dir, progress=lambda label, i, n: seen.append((label, i, n)))
    assert report.db_path == db and db.exists() and _temps(db) == []
    assert len(report.build_id) == 12
    assert [r["extract"] for r in report.extracts] == list(config.EXTRACTS)
    assert report.quarantine_counts == {} and report.n_normalised == 0
    assert ("validate people", 2, 10) in seen and ("load raw_people", 2, 10) in seen
    with Warehouse(db, check_version=False) as wh:
        for extract, rows in valid_rows().items():
            n = wh.query(f'select count(*)::bigint as n from "raw_{extract}"')["n"][0]  # noqa: S608 - fixed names
            assert n == len(rows)
        audit = wh.table("load_audit")
        assert audit.columns[:7] == ["extract", "file", "sha256", "rows_read", "rows_accepted", "rows_quarantined", "n_normalised"]
        assert audit.filter(audit["extract"] == "people")["rows_accepted"].to_list() == [6]
        info = wh.build_info()
        assert info["build_id"] == report.build_id
        assert str(info["as_of"]) == "2026-10-31"
        assert info["data_dir"] == str(valid_extracts.resolve())
        assert info["synthetic_sample"] is None  # no generator manifest: the pages show no synthetic label
        types = dict(wh.query("select column_name, data_type from information_schema.columns where table_name = ?",
                              ["raw_people"]).iter_rows())
        assert (types["join_date"], types["birth_year"], types["sex"]) == ("DATE", "BIGINT", "VARCHAR")
        assert wh.table("quarantine").columns == ["extract", "file", "source_row", "rule", "column_name", "value", "message"]


def test_ref_codes_hold_every_code_with_labels_groups_and_order(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    _build(valid_extracts, db, sql_dir)
    codes = load_codes()
    with Warehouse(db, check_version=False) as wh:
        ref = wh.table("ref_codes")
        assert ref.height == sum(len(c) for c in codes.values())
        ps = ref.filter((ref["code_list"] == "rank_grade") & (ref["code"] == "PS")).row(0, named=True)
        assert (ps["label"], ps["worker_type"], ps["sort_order"]) == ("Sergeant", "OFFICER", 2)
        b1 = wh.query("select group_label from ref_codes where code_list = ? and code = ?", ["ethnicity", "B1"])
        assert b1["group_label"].to_list() == ["Black"]


def test_labels_are_stored_as_one_enum_in_text_order_and_read_as_text(valid_extracts, tmp_path, sql_dir):
    """ref_codes' labels are one DuckDB ENUM (the staging models carry it into the marts as small
    integers); a reader gets text, sorting gives the text order, and a value not among the labels
    matches nothing rather than failing."""
    db = tmp_path / "eq.duckdb"
    _build(valid_extracts, db, sql_dir)
    entries = [c for codes in load_codes().values() for c in codes.values()]
    own = {c.label for c in entries}
    labels = own | {c.group for c in entries if c.group}
    with Warehouse(db, check_version=False) as wh:
        types = dict(wh.query("select column_name, data_type from information_schema.columns where table_name = ?",
                              ["ref_codes"]).iter_rows())
        assert types["label"].startswith("ENUM(") and types["group_label"] == types["label"]
        assert types["code"] == "VARCHAR"
        stored = wh.query("select distinct unnest(enum_range(label)) as v from ref_codes")["v"]
        assert stored.dtype == pl.String and set(stored) == labels
        # the staging models take the label: stg_people.sex is the ENUM too, and reads as text
        sex = dict(wh.query("select column_name, data_type from information_schema.columns where table_name = ?",
                            ["stg_people"]).iter_rows())["sex"]
        assert sex == types["label"]
        people = wh.table("stg_people")
        assert people.schema["sex"] == pl.String
        assert sorted(people["sex"].to_list()) == ["Female", "Female", "Female", "Male", "Male", "Male"]
        # text order (byte order, as DuckDB sorts VARCHAR): "Any other ..." before "Asian", "White" before "Widowed"
        ordered = wh.query("select label from ref_codes order by label, code_list, code")["label"].to_list()
        assert ordered == sorted(ordered, key=str.encode)
        assert wh.query("select min(label) as lo, max(label) as hi from ref_codes").row(0) == (
            min(own, key=str.encode), max(own, key=str.encode))
        # "London's" holds a quote: it is a label like any other
        assert any("London's" in v for v in labels) and wh.query(
            "select count(*)::bigint as n from ref_codes where label like ?", ["%London's%"])["n"][0] == 1
        assert wh.query("select count(*)::bigint as n from stg_people where sex = ?", ["Not a label"])["n"][0] == 0


def test_quarantine_table_matches_the_report(valid_extracts, tmp_path, sql_dir):
    rows = valid_rows()
    rows["people"][1]["sex"] = "X"  # P0000002: their posting, 2 grievances, 1 case go too
    write_dataset(valid_extracts, rows)
    db = tmp_path / "eq.duckdb"
    # 1 of 6 people is over the 5% policy (data_contracts/policy.py): built only when accepted
    report = _build(valid_extracts, db, sql_dir, accept_quarantine=True)
    assert report.quarantine_counts == {
        ("people", "codes"): 1,
        ("postings", "references"): 1,
        ("grievances", "references"): 2,
        ("misconduct_cases", "references"): 1,
    }
    with Warehouse(db, check_version=False) as wh:
        q = wh.query("select extract, source_row, rule from quarantine where extract = ? order by source_row", ["grievances"])
        assert q.rows() == [("grievances", 2, "references"), ("grievances", 5, "references")]
        assert wh.query("select count(*)::bigint as n from raw_people")["n"][0] == 5
        assert wh.build_info()["accepted_quarantine"].startswith(
            "people.csv: 1 of 6 rows (16.7%) are quarantined, more than the 5% allowed; rule codes on sex hit 1 row (e.g. 'X')")


def test_build_id_is_stable_for_the_same_inputs_and_changes_with_the_data(valid_extracts, tmp_path, sql_dir):
    first = _build(valid_extracts, tmp_path / "a.duckdb", sql_dir).build_id
    again = _build(valid_extracts, tmp_path / "b.duckdb", sql_dir).build_id
    rows = valid_rows()
    rows["targets"][2]["source"] = "Police Race Action Plan"
    write_dataset(valid_extracts, rows)
    changed = _build(valid_extracts, tmp_path / "c.duckdb", sql_dir).build_id
    assert first == again != changed


def test_blocking_failure_leaves_the_previous_warehouse_serving(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    old = _build(valid_extracts, db, sql_dir).build_id
    (valid_extracts / "people.csv").write_text("person_id;sex\nP0000001;M\n", encoding="utf-8")
    with pytest.raises(BlockingError) as info:
        _build(valid_extracts, db, sql_dir)
    assert info.value.rule == "delimiter"
    assert _temps(db) == []
    with Warehouse(db, check_version=False) as wh:
        assert wh.build_info()["build_id"] == old


def test_sql_error_names_the_model_file_and_keeps_the_previous_warehouse(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    old = _build(valid_extracts, db, sql_dir).build_id
    (sql_dir / "marts" / "fct_broken.sql").write_text("select no_such_column from stg_people\n")
    with pytest.raises(ModelError) as info:
        _build(valid_extracts, db, sql_dir)
    assert info.value.file == "sql/marts/fct_broken.sql" and info.value.rule == "sql"
    assert str(info.value).startswith("sql/marts/fct_broken.sql: rule sql — model fct_broken failed: Binder Error")
    assert isinstance(info.value, BlockingError)  # the CLI prints it like any blocking failure
    assert _temps(db) == []
    with Warehouse(db, check_version=False) as wh:
        assert wh.build_info()["build_id"] == old
        assert "fct_broken" not in wh.tables()


def test_marts_run_in_dependency_order_not_file_order(valid_extracts, tmp_path, sql_dir):
    marts = sql_dir / "marts"
    # a_summary reads z_base, which sorts after it: only dependency order can build it
    (marts / "a_summary.sql").write_text(
        "-- a_summary: headcount by sex\nwith base as (select * from z_base)\nselect sex, count(*)::bigint as n from base group by sex;\n"
    )
    (marts / "z_base.sql").write_text("select person_id, sex from stg_people\n")
    db = tmp_path / "eq.duckdb"
    _build(valid_extracts, db, sql_dir)
    with Warehouse(db, check_version=False) as wh:
        assert dict(wh.query("select sex, n from a_summary").iter_rows()) == {"Female": 3, "Male": 3}


def test_model_cycle_is_a_clear_error(valid_extracts, tmp_path, sql_dir):
    (sql_dir / "marts" / "fct_a.sql").write_text("select * from fct_b\n")
    (sql_dir / "marts" / "fct_b.sql").write_text("select * from fct_a\n")
    with pytest.raises(ModelError) as info:
        _build(valid_extracts, tmp_path / "eq.duckdb", sql_dir)
    assert info.value.rule == "model_cycle"
    assert "models depend on each other in a cycle: fct_a -> fct_b -> fct_a" in str(info.value)


def test_missing_model_is_a_clear_error(valid_extracts, tmp_path, sql_dir):
    (sql_dir / "marts" / "fct_a.sql").write_text("select * from stg_nowhere\n")
    with pytest.raises(ModelError) as info:
        _build(valid_extracts, tmp_path / "eq.duckdb", sql_dir)
    assert str(info.value) == (
        "sql/marts/fct_a.sql: rule missing_model — model fct_a reads stg_nowhere, which is neither a model "
        "(sql/staging, sql/marts) nor a loaded table"
    )


def test_reader_takes_parameters_and_only_existing_table_names(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    _build(valid_extracts, db, sql_dir)
    with Warehouse(db, check_version=False) as wh:
        hostile = "P0000001' or '1'='1"
        assert wh.query("select * from raw_people where person_id = ?", [hostile]).height == 0
        assert wh.query("select * from raw_people where person_id = $id", {"id": "P0000002"})["sex"].to_list() == ["F"]
        with pytest.raises(KeyError):
            wh.table('raw_people"; drop table raw_people; --')
        # two results in a row: the first must not block the second
        assert wh.query("select 1 as x")["x"][0] == 1 and wh.query("select 2 as x")["x"][0] == 2
    with pytest.raises(RuntimeError):
        wh.query("select 1")


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path
    from metrics.warehouse import build

    def progress(label, i, n):
        if label == "load raw_postings":  # mid-load: the temp database is open and half written
            print("LOADING", flush=True)
            time.sleep(120)

    build(Path(sys.argv[1]), Path(sys.argv[2]), as_of=date(2026, 10, 31), progress=progress, sql_dir=Path(sys.argv[3]))
    """
)


def test_killed_build_leaves_the_previous_warehouse_and_the_next_build_cleans_up(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    old = _build(valid_extracts, db, sql_dir).build_id
    rows = valid_rows()
    rows["targets"][2]["source"] = "changed, so the new build would have a new id"
    write_dataset(valid_extracts, rows)

    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(valid_extracts), str(db), str(sql_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=config.ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "LOADING", proc.stderr.read()
        assert _temps(db), "the build should be writing its temp file now"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    stale = _temps(db)
    assert stale  # the killed build could not clean up after itself
    with Warehouse(db, check_version=False) as wh:
        assert wh.build_info()["build_id"] == old
        assert wh.query("select count(*)::bigint as n from raw_targets")["n"][0] == 3

    new = _build(valid_extracts, db, sql_dir).build_id
    assert new != old
    assert _temps(db) == []  # stale temp files of the dead build removed
    with Warehouse(db, check_version=False) as wh:
        assert wh.build_info()["build_id"] == new


def test_reader_opened_before_a_rebuild_keeps_reading_its_snapshot(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    old = _build(valid_extracts, db, sql_dir).build_id
    with Warehouse(db, check_version=False) as before:
        rows = valid_rows()
        rows["people"].pop()  # P0000006's posting, case, application and acting-up go too: over the policy
        write_dataset(valid_extracts, rows)
        new = _build(valid_extracts, db, sql_dir, accept_quarantine=True).build_id
        assert before.build_info()["build_id"] == old  # os.replace swapped the file under it, safely
    with Warehouse(db, check_version=False) as after:
        assert after.build_info()["build_id"] == new
        assert after.query("select count(*)::bigint as n from raw_people")["n"][0] == 5


def test_a_warehouse_built_by_other_models_is_refused_with_a_rebuild_message(valid_extracts, tmp_path, sql_dir):
    """A warehouse from other SQL models (an older eqdash, here: staging models only) would make
    every query fail on a missing or changed table; opening it says so and how to rebuild."""
    from typer.testing import CliRunner

    from dashboard.cli import app
    from metrics.warehouse import WarehouseOutdated, _code_version

    db = tmp_path / "old.duckdb"
    _build(valid_extracts, db, sql_dir)
    have = _code_version(sql_dir, config.CONTRACTS_DIR)[:12]
    want = _code_version(config.SQL_DIR, config.CONTRACTS_DIR)[:12]
    with pytest.raises(WarehouseOutdated) as info:
        Warehouse(db)
    message = str(info.value)
    assert message.startswith(f"the warehouse at {db} was built on ")
    assert message.endswith(f"by another version of eqdash's SQL models and contracts ({have}; this version is "
                            f"{want}): rebuild it with `eqdash build --data DIR --db {db}`")
    result = CliRunner().invoke(app, ["table", "grievance_rates", "--db", str(db)])
    assert result.exit_code == 2
    assert "by another version of eqdash's SQL models" in " ".join(result.output.split())
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------------------------
# Model order from DuckDB's parse tree (metrics/sql_models.py)
# ------------------------------------------------------------------------------------------------

# The build order of the repo's models before dependencies came from a parser (regexes, commit
# ebdd9b2), printed from that commit's order_models.
ORDER_BEFORE = [
    "stg_acting_up", "stg_applications", "stg_business_areas", "stg_grievances", "stg_iopc_actions",
    "stg_misconduct_cases", "stg_people", "stg_postings", "stg_stride_updates", "stg_targets", "dim_calendar",
    "dim_person", "fct_person_time", "int_event_as_at", "fct_acting_up", "fct_grievance_outcomes",
    "fct_iopc_progress", "fct_misconduct_referrals", "fct_recruit_months", "fct_recruitment_funnel",
    "fct_spoc_monthly", "fct_stride_progress", "fct_team_months", "fct_team_tenure", "fct_workforce_flows",
]
_KNOWN = {f"raw_{e}" for e in config.EXTRACTS} | {"quarantine", "load_audit", "build_info", "build_settings", "ref_codes"}


def test_repo_models_keep_their_order_and_follow_their_dependencies():
    from metrics.sql_models import dependencies, discover_models, order_models

    models = discover_models(config.SQL_DIR)
    order = [m.name for m in order_models(models, _KNOWN)]
    assert [n for n in order if n in ORDER_BEFORE] == ORDER_BEFORE
    assert sorted(set(order) - set(ORDER_BEFORE)) == ["int_board_progress", "int_ethnicity_sex", "int_event_characteristics",
                                                      "int_events"]
    deps = dependencies(models, _KNOWN)
    assert deps["fct_spoc_monthly"] == {"fct_grievance_outcomes", "stg_business_areas", "dim_calendar"}
    for position, name in enumerate(order):
        assert deps[name] <= set(order[:position]), name


def test_every_header_names_the_tables_its_model_reads():
    from metrics.sql_models import discover_models, read_header, tables_read

    for model in discover_models(config.SQL_DIR, ("staging", "marts", "benchmarks")):
        assert set(read_header(model).upstream) == tables_read(model), model.rel


def test_dependencies_come_from_the_parse_tree_not_the_text(tmp_path):
    from metrics.sql_models import read_model, tables_read

    path = tmp_path / "fct_x.sql"
    path.write_text(textwrap.dedent("""\
        -- fct_x: reads dim_a (in a join) and stg_b (in a subquery); mentions fct_c only in words
        with dim_z as (select * from dim_a)  -- a CTE named like a model is no table
        select z.*, 'from fct_c' as note
        from dim_z as z
        left join (select person_id from stg_b) as b using (person_id)
        where z.kind <> 'join fct_d'
        """))
    assert tables_read(read_model(path, "marts")) == {"dim_a", "stg_b"}


def test_tables_read_finds_every_table_wherever_the_select_reads_it(tmp_path):
    """Tables in every place DuckDB's grammar allows one: a scalar subquery, EXISTS and IN in WHERE,
    a lateral join, a nested CTE, a set operation; names in any case; a schema-qualified name (a
    catalog's table, not a model) and every CTE, however deep, left out."""
    from metrics.sql_models import read_model, tables_read

    path = tmp_path / "fct_y.sql"
    path.write_text(textwrap.dedent("""\
        with outer_cte as (
            with inner_cte as (select * from Dim_A)
            select * from inner_cte
        )
        select o.*, (select max(x) from stg_scalar) as m
        from outer_cte as o
        cross join lateral (select * from stg_lateral as l where l.k = o.k) as lat
        where exists (select 1 from stg_exists as e where e.k = o.k)
          and o.k in (select k from stg_in)
          and o.k not in (select k from information_schema.tables)
        union all
        select * from fct_union
        """))
    assert tables_read(read_model(path, "marts")) == {"dim_a", "stg_scalar", "stg_lateral", "stg_exists", "stg_in",
                                                      "fct_union"}


@pytest.mark.parametrize(("body", "message"), [
    ("select *\nfrom stg_people\nwhere where x = 1",
     'model fct_bad could not be parsed: syntax error at or near "where" (line 3, column 7)'),
    ("create table fct_bad as select 1",
     "model fct_bad could not be parsed: a model is one SELECT statement (with ... select ...), and this is not one"),
    ("select 1; select 2",
     "model fct_bad could not be parsed: a model is one SELECT statement, and this has 2"),
])
def test_sql_that_is_not_one_select_names_the_file_and_where(tmp_path, body, message):
    from metrics.sql_models import read_model, tables_read

    path = tmp_path / "fct_bad.sql"
    path.write_text(body + "\n")
    with pytest.raises(ModelError) as info:
        tables_read(read_model(path, "marts"))
    assert str(info.value) == f"sql/marts/fct_bad.sql: rule sql_parse — {message}"


def test_a_three_model_cycle_is_one_line_naming_every_model(tmp_path):
    from metrics.sql_models import discover_models, order_models

    marts = tmp_path / "sql" / "marts"
    marts.mkdir(parents=True)
    (tmp_path / "sql" / "staging").mkdir()
    (marts / "fct_a.sql").write_text("select * from fct_c\n")
    (marts / "fct_b.sql").write_text("select * from fct_a join stg_people using (person_id)\n")
    (marts / "fct_c.sql").write_text("with x as (select * from fct_b) select * from x\n")
    with pytest.raises(ModelError) as info:
        order_models(discover_models(tmp_path / "sql"), {"stg_people"})
    assert str(info.value) == ("sql/marts/fct_a.sql: rule model_cycle — models depend on each other in a cycle: "
                               "fct_a -> fct_c -> fct_b -> fct_a")


def test_unparseable_model_is_a_clear_error(valid_extracts, tmp_path, sql_dir):
    (sql_dir / "marts" / "fct_bad.sql").write_text("select from from stg_people (\n")
    with pytest.raises(ModelError) as info:
        _build(valid_extracts, tmp_path / "eq.duckdb", sql_dir)
    assert info.value.rule == "sql_parse"
    assert str(info.value).startswith("sql/marts/fct_bad.sql: rule sql_parse — model fct_bad could not be parsed: ")
    assert "\n" not in str(info.value)


def test_a_characteristic_added_to_dim_person_reaches_every_event_fact(valid_extracts, tmp_path):
    """The event facts take dim_person's characteristics with `* exclude`: a new column in
    dim_person appears in each of them, with each person's value, without editing the facts."""
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql, ignore=shutil.ignore_patterns("benchmarks"))
    dim = sql / "marts" / "dim_person.sql"
    text = dim.read_text(encoding="utf-8")
    assert text.count("        sexual_orientation,\n") == 1
    dim.write_text(text.replace("        sexual_orientation,\n",
                                "        sexual_orientation,\n        'Carer ' || right(person_id, 1) as caring_test,\n"))
    db = tmp_path / "eq.duckdb"
    _build(valid_extracts, db, sql, reference_dir=None)
    with Warehouse(db, check_version=False) as wh:
        for fact in ("fct_grievance_outcomes", "fct_misconduct_referrals", "fct_acting_up"):
            frame = wh.table(fact)
            assert frame.columns[-1] == "caring_test", fact
            assert frame.height > 0
            want = ("Carer " + frame["person_id"].str.slice(-1)).to_list()
            assert frame["caring_test"].to_list() == want, fact


def _catalogue(db: Path) -> dict[str, object]:
    with Warehouse(db, check_version=False) as wh:
        return {name: wh.table(name) for name in wh.tables()}


def test_a_build_stores_what_is_read_and_keeps_staging_only_when_asked(small_dir, small_warehouse, tmp_path):
    """The default build writes the marts, the audit tables and the models marked Kept; the raw_
    tables and the other stg_ and int_ models live only for the build. Every stored table is the one
    --keep-staging (the small_warehouse fixture) stores, row for row."""
    from typer.testing import CliRunner

    from dashboard.cli import app

    db = tmp_path / "lean.duckdb"
    result = CliRunner().invoke(app, ["build", "--data", str(small_dir), "--db", str(db), "--as-of", "2026-10-31"])
    assert result.exit_code == 0, result.output
    lean, kept = _catalogue(db), _catalogue(small_warehouse)
    build_only = {n for n in kept if n.startswith(("raw_", "stg_", "int_"))} - {
        "stg_business_areas", "stg_targets", "raw_ho_workforce", "raw_census_population", "stg_census_population",
        "stg_ho_workforce"}
    assert sorted(set(kept) - set(lean)) == sorted(build_only)
    assert len(build_only) == 10 + 8 + 5  # every extract's raw_ table, 8 of 10 stg_ models, the 5 int_ models
    assert set(lean) <= set(kept)
    for name in sorted(set(lean) - {"build_info", "load_audit"}):
        a, b = lean[name], kept[name]
        assert a.columns == b.columns, name
        assert a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True)), name
    assert lean["build_info"]["staging_kept"].to_list() == [False]
    assert kept["build_info"]["staging_kept"].to_list() == [True]
    assert lean["load_audit"].equals(kept["load_audit"])


def test_no_product_code_reads_a_table_that_lives_only_for_the_build():
    """The dashboard and metrics read the stored warehouse, so a table the build makes temporary
    (sql_models.build_only, or an extract's raw_ table) must not be named in their code."""
    import re

    from metrics.sql_models import build_only, discover_models

    code = {p: p.read_text(encoding="utf-8") for folder in ("dashboard", "metrics")
            for p in (config.ROOT / folder).rglob("*.py")}

    def readers(name: str) -> list[str]:
        return sorted(str(p.relative_to(config.ROOT)) for p, text in code.items() if re.search(rf"\b{name}\b", text))

    temporary = [m.name for m in discover_models(config.SQL_DIR) if build_only(m)] + [f"raw_{e}" for e in config.EXTRACTS]
    assert len(temporary) == 8 + 5 + 10
    assert {name: readers(name) for name in temporary if readers(name)} == {}
    # the scan sees real reads: the kept staging models are named where they are read
    assert readers("stg_business_areas") == ["dashboard/commands/tables.py", "dashboard/data.py", "metrics/spoc.py"]
    assert readers("stg_targets") == ["metrics/table_queries.py"]


def test_only_a_model_that_gives_the_same_rows_every_time_may_be_a_view(tmp_path):
    """A build-only staging model is a view, worked out again by each mart that reads it, so it must
    give the same rows every time (sql_models.repeatable); otherwise it is a table in the build's in-memory catalog."""
    from metrics.sql_models import (
        BUILD_TABLE,
        STORED,
        VIEW,
        Model,
        build_only,
        discover_models,
        how_made,
        repeatable,
    )

    def model(body: str, layer: str = "staging") -> Model:
        return Model("stg_x", tmp_path / "stg_x.sql", layer, body)

    lookups = "select p.*, c.label from raw_people as p left join ref_codes as c on c.code = p.sex"
    assert repeatable(model(lookups))
    assert repeatable(model("select p.*, (select max(as_of) from build_info) as a, count(*) over () > 0 as b from t as p")) is False
    for body in ("select *, row_number() over (order by join_date) as n from raw_people",
                 "select * from raw_people limit 10", "select *, random() as r from raw_people",
                 "select *, now() as t from raw_people", "select sum(x) as s from t", "select first(x) as f from t",
                 "select string_agg(x, ',') as s from t", "select avg(x) as a from t", "select arg_min(x, y) as a from t",
                 "select list(x) as l from t", "select x, current_date as d from t", "select today() as d from t",
                 "select * from t using sample 10%", "select * from t tablesample reservoir(5 rows)",
                 "select x from t qualify row_number() over (partition by x) = 1",
                 "select * from (select * from t limit 1) as s", "select *, (select sum(y) from u) as s from t"):
        assert not repeatable(model(body)), body
    assert repeatable(model("select max(as_of) as a, min(as_of) as b, count(*) as n from build_info"))
    # count(distinct x) is order-free; a column merely named like a function is no call
    assert repeatable(model("select count(distinct x) as n, max(y) filter (where y > 0) as m, t.sum from t"))
    assert how_made(model(lookups), keep_staging=False) == VIEW
    assert how_made(model("select * from raw_people limit 10"), keep_staging=False) == BUILD_TABLE
    assert how_made(model(lookups), keep_staging=True) == STORED
    views = [m.name for m in discover_models(config.SQL_DIR) if how_made(m, keep_staging=False) == VIEW]
    staging = [m.name for m in discover_models(config.SQL_DIR) if m.layer == "staging" and build_only(m)]
    assert views == staging and len(views) == 8


def test_build_info_records_the_seconds_of_every_model_the_build_ran(small_warehouse):
    """build_info.model_seconds: JSON, one entry per model of the build (views, build-only tables and
    stored marts, and the published benchmarks' models, which run in the same lanes), each a
    non-negative number of seconds; the next build starts its models by them."""
    import json

    import duckdb

    from metrics.model_runner import previous_seconds
    from metrics.sql_models import discover_models

    con = duckdb.connect(str(small_warehouse), read_only=True)
    try:
        recorded = json.loads(con.execute("select model_seconds from build_info").fetchall()[0][0])
    finally:
        con.close()
    assert sorted(recorded) == sorted(m.name for m in discover_models(config.SQL_DIR, ("staging", "marts", "benchmarks")))
    assert all(isinstance(v, float | int) and v >= 0 for v in recorded.values())
    assert previous_seconds(small_warehouse) == {k: float(v) for k, v in recorded.items()}
