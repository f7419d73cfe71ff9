"""great-expectations in a process of its own, started when a build starts.

Importing great-expectations and opening its context costs about 2 s of one core, and its verdicts
(on distinct values, gx_suite.py) are needed only after every extract has been read and stacked.
So a build starts this worker first: it imports great-expectations on the other core while the
parent reads the CSVs, then judges each batch the parent sends. The verdicts are the same as in
process: the worker runs the same ``GxRunner`` on the same stacked frame.

One worker serves a Python process (every validation in it, e.g. a test session); ``stop()`` (at
exit, or ``eqdash serve`` after building the sample) ends it, and if the parent dies first the
worker reads the end of its pipe and exits. If it cannot be started, or stops, the build stops with one line saying so: a missing
verdict would be a silently accepted row.

Protocol: pickled tuples over the worker's stdin and a duplicate of its stdout (its own stdout
and stderr go to a log file, so nothing great-expectations prints can break the protocol).
"""

from __future__ import annotations

import atexit
import gc
import importlib.abc
import importlib.util
import io
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from data_contracts.errors import BlockingError

if TYPE_CHECKING:  # polars is imported where it is used: the worker starts before the parent imports it
    import polars as pl

_READY = "ready"
_LOCK = threading.Lock()
_WORKER: GxWorker | None = None


class GxWorker:
    """The parent's end: ``run`` has the signature of ``gx_runner.GxRunner.run``."""

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile(prefix="eqdash-gx-")
        read_fd, write_fd = os.pipe()
        # OpenBLAS (numpy's, imported by pandas) would start a thread per core that spins waiting for
        # linear algebra great-expectations never asks for: ~0.1 s of a core per build
        env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "EQDASH_GX_REPLY_FD": str(write_fd),
               "OPENBLAS_NUM_THREADS": "1"}
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "data_contracts.gx_worker"], stdin=subprocess.PIPE, stdout=self.log,
                stderr=self.log, env=env, pass_fds=(write_fd,), cwd=root)
        finally:
            os.close(write_fd)
        self.replies: BinaryIO = os.fdopen(read_fd, "rb")
        self.ready = False
        self.asking = threading.Lock()

    def _fail(self, what: str) -> BlockingError:
        self._end()
        self.log.seek(0)
        tail = " ".join(self.log.read().decode("utf-8", "replace").split())[-400:]
        self.log.close()
        return BlockingError("the extracts", "validation", f"great-expectations {what}"
                                                            f" (exit {self.process.returncode}){': ' + tail if tail else ''}")

    def _receive(self):
        try:
            return pickle.load(self.replies)
        except (EOFError, pickle.UnpicklingError, OSError):
            raise self._fail("stopped before it gave its verdicts") from None

    def run(self, extract: str, file_name: str, frame: pl.DataFrame, specs: list[tuple]) -> list[tuple[dict, list[int]]]:
        import polars  # imported by the parent long before it asks (the worker itself never imports it)

        buffer = io.BytesIO()
        # the oldest IPC level (large strings, not string views): any pyarrow the worker has reads it
        frame.write_ipc_stream(buffer, compat_level=polars.CompatLevel.oldest())
        # one request and its reply at a time: a build asks from two threads (the extracts, and the
        # published reference tables on its helper thread)
        with self.asking:
            return self._ask(extract, file_name, buffer.getvalue(), specs)

    def _ask(self, extract: str, file_name: str, data: bytes, specs: list[tuple]) -> list[tuple[dict, list[int]]]:
        try:
            pickle.dump(("run", extract, file_name, data, specs), self.process.stdin)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._fail("stopped before it gave its verdicts") from None
        if not self.ready:
            if self._receive() != _READY:
                raise self._fail("did not start")
            self.ready = True
        status, payload = self._receive()
        if status == "blocking":
            raise BlockingError(*payload[:3], column=payload[3])
        if status != "ok":
            raise self._fail(f"failed: {payload}")
        return payload

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self._end()
        self.log.close()

    def _end(self) -> None:
        """Stop the worker. It holds nothing between batches (great-expectations' ephemeral context
        removes its own temporary folder when it opens it; the log is an unlinked file of ours), so
        it is killed rather than left to tear down its imports: half a second off every build."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        self.process.kill()
        self.process.wait()
        if not self.replies.closed:
            self.replies.close()


def shared() -> GxWorker:
    """The process's worker, started now if it is not running."""
    global _WORKER
    with _LOCK:
        if _WORKER is None or not _WORKER.alive():
            if _WORKER is not None:
                _WORKER.close()
            try:
                _WORKER = GxWorker()
            except OSError as exc:
                raise BlockingError("the extracts", "validation",
                                    f"great-expectations could not be started: {exc.strerror or exc}") from None
        return _WORKER


def start() -> None:
    """Start the worker early, so great-expectations imports while the extracts are read."""
    shared()


def stop() -> None:
    global _WORKER
    with _LOCK:
        if _WORKER is not None:
            _WORKER.close()
            _WORKER = None


atexit.register(stop)


# ------------------------------------------------------------------------------------------------
# The worker's end
# ------------------------------------------------------------------------------------------------


# Modules great-expectations imports when it is imported but that no expectation of ours runs:
# scipy.stats (for its distribution expectations, e.g. KL divergence; it pulls in scipy.spatial,
# scipy.optimize and scipy.linalg) and altair (for data docs' charts). About a third of
# great-expectations' import. They are loaded lazily: each is executed the first time anything
# reads one of its attributes, so an expectation that needs one still gets the real module.
DEFERRED = frozenset({"altair", "scipy.stats"})


class _Deferred(importlib.abc.MetaPathFinder):
    """Finds the modules in DEFERRED as usual, and wraps their loader in ``importlib.util.LazyLoader``."""

    def find_spec(self, name, path, target=None):
        if name not in DEFERRED:
            return None
        sys.meta_path.remove(self)  # the usual finders, without this one
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_unused_imports() -> None:
    """Install the lazy loading of DEFERRED (once per process; the worker does it before importing
    great-expectations)."""
    if not any(isinstance(f, _Deferred) for f in sys.meta_path):
        sys.meta_path.insert(0, _Deferred())


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    defer_unused_imports()
    # The import makes hundreds of thousands of objects (modules, classes, pydantic schemas) and no
    # garbage: the cyclic collector, run every 700 allocations, only walks them again and again.
    # Off while importing and opening the context (about a fifth of the import's CPU), then those
    # objects are frozen out of every later collection and the collector is on for the judging.
    gc.disable()
    try:
        from data_contracts.gx_runner import GxRunner

        runner = GxRunner()  # the slow import, done while the parent reads
    finally:
        gc.freeze()
        gc.enable()
    import pyarrow.ipc  # already imported with great-expectations (pandas); polars never is here

    pickle.dump(_READY, replies)
    replies.flush()
    number = 0
    while True:
        try:
            _, extract, file_name, data, specs = pickle.load(requests)
        except EOFError:
            return
        number += 1
        try:
            frame = pyarrow.ipc.open_stream(data).read_all()  # GxRunner takes its pandas frame
            reply = ("ok", runner.run(f"{extract}_{number}", file_name, frame, specs))
        except BlockingError as exc:
            reply = ("blocking", (exc.file, exc.rule, exc.message, exc.column))
        except Exception as exc:  # noqa: BLE001 - any failure goes back to the parent as one line
            reply = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    with os.fdopen(int(os.environ["EQDASH_GX_REPLY_FD"]), "wb") as reply_pipe:
        _serve(sys.stdin.buffer, reply_pipe)
