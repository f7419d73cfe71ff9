"""A build's protection decisions, kept beside its warehouse (`<warehouse>.release.json`) so every
process serves the same release without solving again (metrics/release.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

# The protection method's version: decisions stored by another version are made again, so a fix to the
# audit reaches a warehouse built before it.
METHOD = "2026-12-01b"
_SAVE_LOCK = threading.Lock()


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

    def save(self, family: str, fy: int, secondary: set, withheld: set) -> None:
        with _SAVE_LOCK:  # the server's pages and a prepare in the same process write one file
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
