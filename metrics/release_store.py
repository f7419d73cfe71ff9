"""A build's protection decisions, kept beside its warehouse (`<warehouse>.release.json`) so every
process serves the same release without solving again (metrics/release.py).

Several processes and threads share the store: the server's pages, `eqdash release prepare` in the
background, a second server. Two locks (flock on files in `<warehouse>.release.locks/`, which the
kernel drops if a process dies) keep them from repeating or losing each other's work:
- ``solving(family, fy)``: held while a year is decided, so whoever asks for the same year waits for
  the decision and reads it instead of solving it a second time;
- the store's own lock around each read-modify-write of the file, so no decision overwrites another.
Where the folder is read-only nothing is locked (and nothing is stored: each process decides alone).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

# The protection method's version: decisions stored by another version are made again, so a fix to the
# audit reaches a warehouse built before it.
METHOD = "2026-12-01b"


class DecisionStore:
    """Secondary suppressions and withheld breakdowns per family-year, for one build, settings and
    method; anything stored for another is ignored."""

    def __init__(self, path: Path, build_id: str, settings: str) -> None:
        self.path, self.build_id, self.settings = path, build_id, settings

    def read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if (data.get("build_id"), data.get("settings"), data.get("method")) != (self.build_id, self.settings, METHOD):
            return {}
        return data.get("years", {})

    def get(self, family: str, fy: int) -> tuple[set, set] | None:
        """(secondary, withheld) for the year, or None when not decided for this build."""
        stored = self.read().get(f"{family}:{fy}")
        if stored is None:
            return None
        return {_tuple(k) for k in stored["secondary"]}, {_tuple(k) for k in stored["withheld"]}

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        folder = self.path.with_name(self.path.name.removesuffix(".json") + ".locks")
        try:
            folder.mkdir(exist_ok=True)
            fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield  # a read-only folder: nothing is stored either
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one open file each: threads of one process exclude each other too
            yield
        finally:
            os.close(fd)  # and the lock with it

    def solving(self, family: str, fy: int) -> contextlib.AbstractContextManager[None]:
        """Held while (family, fy) is decided: a second asker waits, then finds the decision stored."""
        return self._locked(f"{family}-{fy}")

    def save(self, family: str, fy: int, secondary: set, withheld: set) -> None:
        with self._locked("store"):  # every process and thread (each opens the lock file itself) writes one file
            data = {"build_id": self.build_id, "settings": self.settings, "method": METHOD, "years": self.read()}
            data["years"][f"{family}:{fy}"] = {"secondary": sorted(secondary, key=str),
                                               "withheld": sorted(withheld, key=str)}
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
                tmp.replace(self.path)
            except OSError:
                pass  # a read-only folder: the decisions are made again by the next process


def _tuple(v):
    """JSON lists back to the tuple keys cells have (dates stay their ISO strings' dates)."""
    if isinstance(v, list):
        return tuple(_tuple(x) for x in v)
    return v
