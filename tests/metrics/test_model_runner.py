"""The model runner (metrics/model_runner.py): models made two at a time give the warehouse that one
at a time gives; build-only tables never reach the file; a failure is the first in build order and
stops what depends on it; a staging view no model reads is still checked."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from metrics.model_runner import run_models
from metrics.sql_models import BUILD_TABLE, STORED, VIEW, Model, ModelError, plan_models

RAW = pl.DataFrame({"id": list(range(1, 2001)), "v": [i % 7 for i in range(1, 2001)]})


def _models(tmp_path: Path, bodies: dict[str, str]) -> list[Model]:
    return [Model(name, tmp_path / f"{name}.sql", "staging" if name.startswith("stg_") else "marts", body)
            for name, body in bodies.items()]


def _run(tmp_path: Path, bodies: dict[str, str], db_name: str, lanes: int) -> Path:
    db = tmp_path / db_name
    plan = plan_models(_models(tmp_path, bodies), ["raw_t"], keep_staging=False)
    registered = {"raw_t": RAW.to_arrow()}
    with duckdb.connect(str(db)) as con:
        con.register("raw_t", registered["raw_t"])
        run_models(con, plan, registered=registered, lanes=lanes)
    return db


GRAPH = {
    "stg_a": "select id, v from raw_t",
    "stg_unread": "select id from raw_t where v = 3",
    "int_b": "select id, v * 2 as w from stg_a",
    "int_c": "select v, count(*)::bigint as n from stg_a group by v",
    "fct_wide": "select a.id, a.v, b.w, c.n from stg_a as a join int_b as b using (id) join int_c as c using (v)",
    "fct_count": "select count(*)::bigint as n, sum(w)::bigint as total from int_b",
    "fct_top": "select v, n from int_c where n = (select max(n) from int_c)",
    "fct_last": "select f.n, t.v from fct_count as f cross join fct_top as t",
}


def test_two_lanes_make_the_warehouse_one_lane_makes(tmp_path):
    plan = plan_models(_models(tmp_path, GRAPH), ["raw_t"], keep_staging=False)
    assert dict(zip((m.name for m in plan.models), plan.creates, strict=True)) == {
        "stg_a": VIEW, "stg_unread": VIEW, "int_b": BUILD_TABLE, "int_c": BUILD_TABLE, "fct_count": STORED,
        "fct_top": STORED, "fct_last": STORED, "fct_wide": STORED}
    one, two = _run(tmp_path, GRAPH, "one.duckdb", 1), _run(tmp_path, GRAPH, "two.duckdb", 2)
    for db in (one, two):
        with duckdb.connect(str(db), read_only=True) as con:
            # only the stored models are in the file: the views and build tables lived with the build
            assert [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()] == [
                "fct_count", "fct_last", "fct_top", "fct_wide"]
            assert con.execute("select count(*) from duckdb_views() where not internal").fetchall() == [(0,)]
    with duckdb.connect(str(one), read_only=True) as a, duckdb.connect(str(two), read_only=True) as b:
        for table in ("fct_wide", "fct_count", "fct_top", "fct_last"):
            query = f"select * from {table} order by all"
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
        # worked out by hand from RAW: ids 1..2000, v = id mod 7; w = 2v
        assert a.execute("select * from fct_count").fetchall() == [(2000, 2 * int(RAW["v"].sum()))]
        # 2000 = 285 * 7 + 5: residues 1..5 have 286 ids, residues 0 and 6 have 285
        assert a.execute("select * from fct_top order by v").fetchall() == [(v, 286) for v in range(1, 6)]
        assert a.execute("select count(*) from fct_wide").fetchall() == [(2000,)]


def test_the_first_failure_in_build_order_is_reported_and_nothing_downstream_runs(tmp_path):
    bodies = {
        "fct_a_broken": "select no_such_column from raw_t",
        # more models downstream, so this one starts first; it fails too, but after fct_a_broken in build order
        "fct_b_broken": "select nor_this from raw_t",
        "fct_b1": "select * from fct_b_broken",
        "fct_b2": "select * from fct_b1",
        "fct_a1": "select * from fct_a_broken",
    }
    with pytest.raises(ModelError) as info:
        _run(tmp_path, bodies, "eq.duckdb", 2)
    assert info.value.file == "sql/marts/fct_a_broken.sql" and info.value.rule == "sql"
    assert str(info.value).startswith(
        'sql/marts/fct_a_broken.sql: rule sql — model fct_a_broken failed: Binder Error: Referenced column '
        '"no_such_column" not found in FROM clause!')
    with duckdb.connect(str(tmp_path / "eq.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables()").fetchall() == [(0,)]


def test_a_broken_staging_view_that_no_model_reads_is_still_reported(tmp_path):
    bodies = {"stg_a": "select id, v from raw_t", "stg_unread": "select id, missing from raw_t",
              "fct_n": "select count(*)::bigint as n from stg_a"}
    with pytest.raises(ModelError) as info:
        _run(tmp_path, bodies, "eq.duckdb", 2)
    assert info.value.file == "sql/staging/stg_unread.sql"
    assert str(info.value).startswith("sql/staging/stg_unread.sql: rule sql — model stg_unread failed: Binder Error")


def test_progress_counts_every_model_once(tmp_path):
    seen: list[tuple[str, int, int]] = []
    plan = plan_models(_models(tmp_path, GRAPH), ["raw_t"], keep_staging=False)
    registered = {"raw_t": RAW.to_arrow()}
    with duckdb.connect(str(tmp_path / "eq.duckdb")) as con:
        con.register("raw_t", registered["raw_t"])
        run_models(con, plan, lambda step, n, total: seen.append((step, n, total)), registered=registered)
    assert [n for _, n, _ in seen] == list(range(1, len(GRAPH) + 1)) and {t for *_, t in seen} == {len(GRAPH)}
    assert sorted(step for step, *_ in seen) == sorted(f"model {name}" for name in GRAPH)


@pytest.mark.timeout(120)  # the timeout's exception reaches the runner too, which stops the lanes
def test_ctrl_c_stops_the_queries_still_running(tmp_path):
    """Ctrl-C while two models run on the two lanes interrupts both queries: each would read 10^12 rows
    (hours) if left running, and the pool would wait for them before the build could stop. With
    Python's own handler in place, as in a fresh process (an earlier test may have left another)."""
    bodies = {"fct_slow_a": "select sum(range % 7)::hugeint as s from range(1000000000000)",
              "fct_slow_b": "select sum(range % 5)::hugeint as s from range(1000000000000)"}
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    try:
        started = time.perf_counter()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, bodies, "eq.duckdb", 2)
        assert time.perf_counter() - started < 60
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the runner put it back
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_with_last_builds_seconds_the_longest_remaining_path_starts_first():
    """Classic list scheduling: a model with nothing downstream but many seconds goes before a short
    chain; without seconds, the most models downstream go first (then build order)."""
    from metrics.model_runner import priorities

    index = {"dim": 0, "chain_a": 1, "chain_b": 2, "big_leaf": 3, "small_leaf": 4}
    needs = {"dim": set(), "chain_a": {"dim"}, "chain_b": {"chain_a"}, "big_leaf": {"dim"}, "small_leaf": {"dim"}}
    costs = {"dim": 0.2, "chain_a": 0.3, "chain_b": 0.4, "big_leaf": 1.5, "small_leaf": 0.1}
    by_seconds = priorities(index, needs, costs)
    assert sorted(index, key=by_seconds.__getitem__) == ["dim", "big_leaf", "chain_a", "chain_b", "small_leaf"]
    assert by_seconds["dim"] == (-1.7, -4, 0)  # 0.2 s and the longest path below it, big_leaf's 1.5 s
    by_count = priorities(index, needs, {})
    assert sorted(index, key=by_count.__getitem__) == ["dim", "chain_a", "chain_b", "big_leaf", "small_leaf"]


def test_the_runner_starts_the_ready_model_with_the_longest_path_of_seconds(tmp_path):
    """With one lane the order the models start in is the priority order among those ready."""
    plan = plan_models(_models(tmp_path, GRAPH), ["raw_t"], keep_staging=False)
    stored = [m.name for m, create in zip(plan.models, plan.creates, strict=True) if create != VIEW]

    def started(costs):
        seen: list[str] = []
        with duckdb.connect(str(tmp_path / f"order{len(costs)}.duckdb")) as con:
            con.register("raw_t", RAW.to_arrow())
            run_models(con, plan, lambda step, _n, _t: seen.append(step.removeprefix("model ")), lanes=1, costs=costs)
        return [name for name in seen if name in stored]

    assert started({}) == ["int_b", "int_c", "fct_count", "fct_top", "fct_last", "fct_wide"]
    # fct_wide (last in build order, nothing downstream) goes first among the marts when it took longest
    assert started({"int_b": 0.1, "int_c": 0.1, "fct_wide": 5.0, "fct_count": 0.1, "fct_top": 0.1, "fct_last": 0.1}
                   ) == ["int_b", "int_c", "fct_wide", "fct_count", "fct_top", "fct_last"]


def test_a_build_records_each_models_seconds_and_the_next_reads_them(tmp_path):
    from metrics.model_runner import previous_seconds

    db = _run(tmp_path, GRAPH, "w.duckdb", 2)
    assert previous_seconds(db) == {}  # no build_info: a file the runner did not record in
    assert previous_seconds(tmp_path / "missing.duckdb") == {}
    (tmp_path / "not.duckdb").write_text("not a database")
    assert previous_seconds(tmp_path / "not.duckdb") == {}
    with duckdb.connect(str(db)) as con:
        con.execute("create table build_info as select '{\"fct_wide\": 1.25, \"int_b\": 0.5}' as model_seconds")
    assert previous_seconds(db) == {"fct_wide": 1.25, "int_b": 0.5}
    with duckdb.connect(str(db)) as con:
        con.execute("update build_info set model_seconds = 'not json'")
    assert previous_seconds(db) == {}


@pytest.mark.parametrize(("threads", "lanes", "each"), [(2, 2, 1), (4, 2, 2), (3, 2, 1), (2, 1, 2)])
def test_lanes_share_duckdbs_threads_while_they_run_and_give_them_back(tmp_path, threads, lanes, each):
    """Two queries each spreading over every core contend for the cores: while the models run each
    lane has its share of the threads (at least one), and the setting is restored afterwards."""
    bodies = {"fct_one": "select current_setting('threads') as threads", "fct_two": "select current_setting('threads') as threads"}
    plan = plan_models(_models(tmp_path, bodies), [], keep_staging=False)
    with duckdb.connect(str(tmp_path / "threads.duckdb")) as con:
        con.execute(f"set threads = {threads}")
        run_models(con, plan, lanes=lanes)
        assert con.execute("select threads from fct_one union all select threads from fct_two").fetchall() == [(each,), (each,)]
        assert con.execute("select current_setting('threads')").fetchall() == [(threads,)]
