"""Running the SQL models of a build, two at a time where the dependency graph allows.

Each model is one CREATE ... AS SELECT. DuckDB spreads one query over both cores, but much of a
build is spent where a query cannot use both (a mart of one row group written by one thread, a
table being finished, a window over few partitions), so the runner keeps two models going whenever
two are ready: one on the build's connection, one on a cursor of it (a second connection to the
same database; each is used by one thread at a time), each with its share of DuckDB's threads while
they run (_threads_per_lane: on 2 cores, one each). Ready models start in the order of classic
list scheduling: the longest remaining path first, in seconds, as the previous build of the same
warehouse took them (``build_info.model_seconds``, written by every build); with no previous build,
the most models downstream first; then in build order. Which lane runs a model never changes what
it makes, only when the last one finishes.

What the lanes share: every stored table (committed as its CREATE ends) and the build-only tables
(sql_models.BUILD_TABLE), kept in an in-memory catalog attached for the build (BUILD_CATALOG) that
every lane reads through its search path. What a lane makes for itself: the accepted rows,
registered as ``raw_`` tables where polars holds them, and the staging views (temporary views
belong to one connection), each made on a lane the first time a model it runs reads it.

When a model fails nothing new starts; the models running finish, and the first failure in build
order is the one reported.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from metrics.sql_models import BUILD_CATALOG, BUILD_TABLE, VIEW, Model, ModelError, ModelPlan

LANES = 2


@dataclass
class _Lane:
    cursor: duckdb.DuckDBPyConnection
    views: set[str] = field(default_factory=set)  # the staging views made on this lane


def statement(model: Model, create: str) -> str:
    if create == VIEW:
        return f'create temp view "{model.name}" as\n{model.body}\n'
    target = f'{BUILD_CATALOG}.main."{model.name}"' if create == BUILD_TABLE else f'"{model.name}"'
    return f"create table {target} as\n{model.body}\n"


def _failure(model: Model, exc: duckdb.Error) -> ModelError:
    detail = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    return ModelError(model.rel, "sql", f"model {model.name} failed: {detail[:400]}")


def share_build_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Attach the build's in-memory catalog and read through it after the warehouse's own tables."""
    if not con.execute("select count(*) from duckdb_databases() where database_name = ?", [BUILD_CATALOG]).fetchall()[0][0]:
        con.execute(f"attach ':memory:' as {BUILD_CATALOG}")
    _search(con)


def _search(cursor: duckdb.DuckDBPyConnection) -> None:
    own = cursor.execute("select current_database()").fetchall()[0][0].replace('"', '""')
    cursor.execute(f"set search_path = '\"{own}\".main,{BUILD_CATALOG}.main'")


class _Runner:
    """One build's models: what each reads, which to start next, and the state of the run."""

    def __init__(self, plan: ModelPlan, lanes: list[_Lane], progress, costs: dict[str, float] | None = None) -> None:
        self.by_name = {m.name: m for m in plan.models}
        self.index = {m.name: i for i, m in enumerate(plan.models)}
        self.creates = dict(zip(self.index, plan.creates, strict=True))
        self.needs = dict(zip(self.index, plan.needs, strict=True))
        self.priority = priorities(self.index, self.needs, costs or {})
        self.seconds: dict[str, float] = {}
        self.lanes, self.free, self.progress = lanes, list(lanes), progress
        self.done: set[str] = set()
        self.started: set[str] = set()
        self.running: dict = {}
        self.failures: list[tuple[int, BaseException]] = []

    def views_for(self, name: str, found: list[str]) -> list[str]:
        """The staging views ``name`` reads, directly or through other views, each after what it reads."""
        for dep in sorted(self.needs[name], key=self.index.__getitem__):
            if self.creates[dep] == VIEW and dep not in found:
                self.views_for(dep, found)
                found.append(dep)
        return found

    def run_on(self, lane: _Lane, name: str) -> None:
        for view in self.views_for(name, []):
            if view not in lane.views:
                self.execute(lane, view)
                lane.views.add(view)
        self.execute(lane, name)

    def execute(self, lane: _Lane, name: str) -> None:
        model = self.by_name[name]
        started = time.perf_counter()
        try:
            lane.cursor.execute(statement(model, self.creates[name]))
        except duckdb.Error as exc:
            raise _failure(model, exc) from None
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def run(self) -> None:
        """Every model, two at a time where the graph allows; the first failure in build order is raised
        once the models still running have finished."""
        with ThreadPoolExecutor(max_workers=len(self.lanes), thread_name_prefix="eqdash-model") as pool:
            try:
                self.start_ready(pool)
                while self.running:
                    self.collect(wait(self.running, return_when=FIRST_COMPLETED)[0])
                    self.start_ready(pool)
            except BaseException:  # Ctrl-C: stop the queries still running before the pool waits for them
                for lane in self.lanes:
                    lane.cursor.interrupt()
                raise
        if self.failures:
            raise min(self.failures, key=lambda f: f[0])[1]
        for name in self.index:  # a view no model reads is still made once, so a broken one is reported
            if self.creates[name] == VIEW and not any(name in lane.views for lane in self.lanes):
                self.run_on(self.lanes[0], name)
                self.lanes[0].views.add(name)

    def collect(self, finished) -> None:
        for future in finished:
            name, lane = self.running.pop(future)
            self.free.append(lane)
            if future.exception() is None:
                self.done.add(name)
            else:
                self.failures.append((self.index[name], future.exception()))

    def start_ready(self, pool: ThreadPoolExecutor) -> None:
        """Start what is ready, longest chain first, while a lane is free and nothing has failed. A view
        is ready as soon as what it reads is: it is made on each lane where it is first read."""
        while not self.failures:
            ready = sorted((n for n in self.index if n not in self.started and self.needs[n] <= self.done),
                           key=self.priority.__getitem__)
            views = [n for n in ready if self.creates[n] == VIEW]
            for name in views:
                self.announce(name)
                self.done.add(name)
            if views:
                continue
            if not ready or not self.free:
                return
            lane = self.free.pop()
            self.announce(ready[0])
            self.running[pool.submit(self.run_on, lane, ready[0])] = (ready[0], lane)

    def announce(self, name: str) -> None:
        self.started.add(name)
        if self.progress:
            self.progress(f"model {name}", len(self.started), len(self.index))


def priorities(index: dict[str, int], needs: dict[str, set[str]], costs: dict[str, float]) -> dict[str, tuple]:
    """Each model's place among the ready ones (smallest first): the longest path of seconds from it
    to the end of the build (its own included; a model without a cost counts as nothing), then the
    number of models downstream, then build order."""
    below: dict[str, set[str]] = {}
    path: dict[str, float] = {}
    for name in reversed(index):  # build order: every reader comes after what it reads
        readers = [r for r in index if name in needs[r]]
        below[name] = set().union(*({r, *below[r]} for r in readers))
        path[name] = costs.get(name, 0.0) + max((path[r] for r in readers), default=0.0)
    return {n: (-path[n], -len(below[n]), index[n]) for n in index}


def previous_seconds(db_path) -> dict[str, float]:
    """The seconds each model took in the build that made the warehouse at ``db_path`` (empty if
    there is none, or it is from a build that did not record them)."""
    if not Path(db_path).is_file():
        return {}
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return {}
    try:  # no build_info, or one without the column (an older build): duckdb.Error
        recorded = con.execute("select model_seconds from build_info").fetchall()
        seconds = json.loads(recorded[0][0]) if recorded and recorded[0][0] else {}
        return {str(k): float(v) for k, v in seconds.items()} if isinstance(seconds, dict) else {}
    except (duckdb.Error, ValueError, TypeError):
        return {}
    finally:
        con.close()


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


@contextmanager
def _ctrl_c_reaches_the_waiting_thread() -> Iterator[None]:
    """While a query runs, DuckDB takes Ctrl-C over when Python's own handler is in place, and on a lane
    thread that stops nothing: the build would run on to the end. For the run, a handler of our own
    (which raises KeyboardInterrupt, as Python's does) lets the waiting thread stop the lanes."""
    mine = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    previous = signal.signal(signal.SIGINT, _interrupt) if mine else None
    try:
        yield
    finally:
        if mine:
            signal.signal(signal.SIGINT, previous)


def run_models(con: duckdb.DuckDBPyConnection, plan: ModelPlan, progress=None, *,
               registered: dict | None = None, lanes: int = LANES, costs: dict[str, float] | None = None
               ) -> dict[str, float]:
    """Make every model of ``plan`` in ``con``'s database; ``registered``: the Arrow tables (raw_)
    registered on ``con`` that each other lane registers too; ``costs``: seconds per model, to order
    them (previous_seconds). Returns the seconds each took. ModelError for a model that fails."""
    share_build_catalog(con)
    lanes = min(lanes, len(plan.models))
    with _threads_per_lane(con, lanes):
        return _run_lanes(con, plan, progress, registered, lanes, costs)


@contextmanager
def _threads_per_lane(con: duckdb.DuckDBPyConnection, lanes: int) -> Iterator[None]:
    """DuckDB's worker threads (one per core unless set), shared out between the lanes while they run.
    Two queries each spreading over every core contend for them; with the cores shared out each query
    runs on its own (its calling thread and its share of workers). At national on 2 cores, 1 thread
    each: the models in 3.79 s rather than 4.26 s, 7.03 rather than 7.76 CPU-s (medians of 6)."""
    threads = con.execute("select current_setting('threads')").fetchall()[0][0]
    con.execute(f"set threads = {max(1, int(threads) // max(lanes, 1))}")
    try:
        yield
    finally:
        con.execute(f"set threads = {int(threads)}")


def _run_lanes(con: duckdb.DuckDBPyConnection, plan: ModelPlan, progress, registered: dict | None, lanes: int,
               costs: dict[str, float] | None) -> dict[str, float]:
    made = [_Lane(con)]
    for _ in range(lanes - 1):
        cursor = con.cursor()
        for name, table in (registered or {}).items():
            cursor.register(name, table)
        _search(cursor)
        made.append(_Lane(cursor))
    runner = _Runner(plan, made, progress, costs)
    try:
        with _ctrl_c_reaches_the_waiting_thread():
            runner.run()
        return runner.seconds
    finally:
        for lane in made[1:]:
            lane.cursor.close()
