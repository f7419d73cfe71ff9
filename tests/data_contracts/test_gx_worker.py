"""great-expectations in its own process (data_contracts/gx_worker.py): the same verdicts as in
process, one line when it stops, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest
from contract_data import AS_OF, valid_rows, write_dataset

from data_contracts import gx_worker
from data_contracts.contract import load_codes, load_contracts
from data_contracts.errors import BlockingError
from data_contracts.gx_suite import GxRunner, judge
from data_contracts.validate import validate_dataset
from metrics import config

ROOT = Path(__file__).resolve().parents[2]


def _planted(tmp_path: Path) -> dict[str, pl.DataFrame]:
    """A valid dataset with one breach of each kind great-expectations judges."""
    rows = valid_rows()
    rows["people"][0]["sex"] = "X"  # codes
    rows["people"][1]["person_id"] = "Q123"  # pattern
    rows["people"][2]["birth_year"] = "1890"  # min
    rows["people"][3]["join_date"] = "2027-01-05"  # not_future
    rows["postings"][0]["start_date"] = "1899-12-31"  # date_floor
    rows["grievances"][0]["raised_date"] = ""  # required
    rows["postings"].append(dict(rows["postings"][1]))  # unique
    data = write_dataset(tmp_path / "data", rows)
    return {e: pl.read_csv(data / f"{e}.csv", infer_schema=False) for e in config.EXTRACTS}


def test_the_worker_gives_the_verdicts_great_expectations_gives_in_process(tmp_path):
    frames = _planted(tmp_path)
    contracts, codes = load_contracts(config.EXTRACTS), load_codes()
    worker = judge(frames, contracts, codes, AS_OF, gx_worker.shared())
    here = judge(frames, contracts, codes, AS_OF, GxRunner())
    assert sorted(worker) == sorted(here) == ["codes", "pattern", "range", "required", "unique"]
    for kind in here:
        assert worker[kind].equals(here[kind]), kind
    ranges = worker["range"].select("extract", "rule", "column", "value").sort("rule").rows()
    assert ranges == [("postings", "date_floor", "start_date", "1899-12-31"), ("people", "min", "birth_year", "1890"),
                      ("people", "not_future", "join_date", "2027-01-05")]
    assert worker["codes"].select("extract", "column", "value").rows() == [("people", "sex", "X")]


def test_the_worker_judges_without_ever_loading_polars(tmp_path):
    """The worker reads each batch with pyarrow and hands great-expectations its pandas frame: polars
    (~0.1 s of a core to import, beside great-expectations' own import) is never in its memory."""
    frames = _planted(tmp_path)
    worker = gx_worker.GxWorker()
    try:
        verdicts = judge(frames, load_contracts(config.EXTRACTS), load_codes(), AS_OF, worker)
        assert sorted(verdicts) == ["codes", "pattern", "range", "required", "unique"]
        libraries = {Path(line.split()[-1]).name for line in
                     Path(f"/proc/{worker.process.pid}/maps").read_text().splitlines() if "/" in line}
        assert any(name.startswith("libarrow") for name in libraries)  # the check can see a library
        assert not [name for name in libraries if "polars" in name]
    finally:
        worker.close()


def test_a_worker_that_dies_stops_the_build_with_one_line(tmp_path):
    worker = gx_worker.GxWorker()
    try:
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)
        with pytest.raises(BlockingError) as info:
            worker.run("people", "people.csv", pl.DataFrame({"required": ["given"]}), [("required", None, [])])
        assert str(info.value) == ("the extracts: rule validation — great-expectations stopped before it gave its "
                                   "verdicts (exit -9)")
    finally:
        worker.close()


def test_a_dead_shared_worker_is_replaced_at_the_next_validation(tmp_path):
    data = write_dataset(tmp_path / "data", valid_rows())
    first = gx_worker.shared()
    first.process.kill()
    first.process.wait(timeout=10)
    result = validate_dataset(data, config.EXTRACTS, as_of=AS_OF)
    assert sum(r.rows_quarantined for r in result.extracts.values()) == 0
    assert gx_worker.shared() is not first and gx_worker.shared().alive()


def test_the_worker_ends_with_its_parent_even_a_killed_one(tmp_path):
    code = textwrap.dedent("""
        import os, signal, sys
        from data_contracts import gx_worker
        worker = gx_worker.shared()
        print(worker.process.pid, flush=True)
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    for how in ("exit", "kill"):
        out = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, cwd=ROOT, timeout=60)
        pid = int(out.stdout.split()[0])
        deadline = time.monotonic() + 30  # a killed parent's worker finishes importing, then reads EOF
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.2)
        assert not _running(pid), how


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) is not running
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        return stat.read().split()[2] != "Z"


def test_the_worker_judges_without_executing_the_modules_it_defers(tmp_path):
    # a fresh process, as the worker is: scipy.stats and altair are imported by great-expectations
    # but stay unexecuted through a whole judgement of every kind; read, each is the real module
    _planted(tmp_path)
    code = textwrap.dedent("""
        import sys, importlib.util
        from data_contracts import gx_worker
        gx_worker.defer_unused_imports()
        import polars as pl
        from data_contracts.contract import load_codes, load_contracts
        from data_contracts.gx_suite import GxRunner, judge
        from metrics import config
        from contract_data import AS_OF
        frames = {e: pl.read_csv(f"{sys.argv[1]}/{e}.csv", infer_schema=False) for e in config.EXTRACTS}
        verdicts = judge(frames, load_contracts(config.EXTRACTS), load_codes(), AS_OF, GxRunner())
        print(sorted(verdicts))
        print(sorted(type(sys.modules[m]).__name__ for m in gx_worker.DEFERRED))
        print(sys.modules["scipy.stats"].norm.cdf(0.0), type(sys.modules["scipy.stats"]).__name__)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["['codes', 'pattern', 'range', 'required', 'unique']",
                                       "['_LazyModule', '_LazyModule']", "0.5 module"]


def test_a_build_asks_for_the_extracts_verdicts_before_the_reference_tables(tmp_path, monkeypatch):
    """The published reference tables are read while the extracts are judged (the build's helper
    thread, from the moment the as-of date is known), but their verdicts are asked for only after the
    extracts' have come back: the extracts' verdicts are on the build's critical path."""
    from metrics.warehouse_build import build

    asked: list[tuple[str, int]] = []
    real_run = gx_worker.GxWorker.run

    def recording_run(self, extract, file_name, frame, specs):
        asked.append((threading.current_thread().name.split("_")[0], frame.height))
        return real_run(self, extract, file_name, frame, specs)

    import data_contracts.gx_suite as gx_suite

    real_collect = gx_suite._Stacker.collect

    def slow_collect(self, planned):  # the extracts' values take a second to stack, as at `national`
        if threading.current_thread().name.startswith("eqdash-judge"):
            time.sleep(1.0)
        return real_collect(self, planned)

    monkeypatch.setattr(gx_worker.GxWorker, "run", recording_run)
    monkeypatch.setattr(gx_suite._Stacker, "collect", slow_collect)
    data = write_dataset(tmp_path / "data", valid_rows())
    report = build(data, tmp_path / "w.duckdb", as_of=AS_OF)
    threads = [name for name, _ in asked]
    # the extracts' batches (the judging thread), then the reference tables' (the build's helper)
    assert threads == ["eqdash-judge"] * threads.count("eqdash-judge") + ["eqdash-build"] * threads.count("eqdash-build")
    assert threads.count("eqdash-judge") >= 1 and threads.count("eqdash-build") >= 1
    assert "benchmarks" in report.timings


def test_the_reference_tables_are_not_left_waiting_when_judging_fails(tmp_path, monkeypatch):
    """Whatever stops the extracts' judging, the event the reference tables wait on is set, so a failed
    build never hangs on its helper thread."""
    import data_contracts.validate as validate

    def broken(*_args, **_kwargs):
        raise ValueError("planted")

    monkeypatch.setattr(validate, "judge", broken)
    seen: list[threading.Event] = []
    data = write_dataset(tmp_path / "data", valid_rows())
    with pytest.raises(BlockingError) as info:
        validate_dataset(data, config.EXTRACTS, as_of=AS_OF, on_as_of=lambda edge, event: seen.append(event))
    assert str(info.value).endswith("rule validation — the rows could not be checked: planted")
    assert len(seen) == 1 and seen[0].is_set()


def test_two_threads_asking_the_worker_at_once_each_get_their_own_verdicts(tmp_path):
    """A build asks from two threads; each request is answered with its own verdicts (a reply never
    reaches the other thread)."""
    frames = _planted(tmp_path)
    contracts, codes = load_contracts(config.EXTRACTS), load_codes()
    people_only = {"people": frames["people"]}
    with ThreadPoolExecutor(max_workers=2) as pool:
        both = [pool.submit(judge, f, {e: contracts[e] for e in f}, codes, AS_OF, gx_worker.shared())
                for f in (frames, people_only) * 3]
        results = [future.result() for future in both]
    for number, result in enumerate(results):
        assert sorted(result) == (["codes", "pattern", "range", "required", "unique"] if number % 2 == 0
                                  else ["codes", "pattern", "range"]), number
        assert result["codes"].select("extract", "column", "value").rows() == [("people", "sex", "X")]


def test_outcomes_come_in_load_order_though_extracts_are_checked_two_at_a_time(tmp_path):
    """After people, the extracts that refer only to people and business areas are checked two at a
    time; the result lists them in load order and each keeps its own quarantine."""
    rows = valid_rows()
    rows["postings"][0]["person_id"] = "P9999999"  # not a person: references
    rows["grievances"][0]["raised_date"] = ""  # required
    rows["misconduct_cases"][0]["is_investigated"] = "Yes"  # codes
    data = write_dataset(tmp_path / "data", rows)
    result = validate_dataset(data, config.EXTRACTS, as_of=AS_OF)
    assert list(result.extracts) == list(config.EXTRACTS)
    by_extract = result.quarantine.group_by("extract", "rule").agg(pl.len()).sort("extract").rows()
    assert by_extract == [("grievances", "required", 1), ("misconduct_cases", "codes", 1), ("postings", "references", 1)]
