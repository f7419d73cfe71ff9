"""Writing the extracts: one CSV per extract in fixed formats, and manifest.json beside them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from metrics.config import EXTRACTS  # the one list of extracts (sample_data sits beside metrics)

# 1.1.0: people gained caring_responsibilities (every other column byte-identical to 1.0.0)
GENERATOR_VERSION = "1.1.0"

Progress = Callable[[str, int, int], None]


def write_extracts(frames: dict[str, pl.DataFrame], out_dir: Path, about: dict,
                   progress: Progress | None = None) -> dict:
    """Write `<extract>.csv` for every extract in EXTRACTS order (steps 2.. of len(EXTRACTS) + 1 on
    progress) and manifest.json: `about` plus row counts, SHA-256 of each file and the generator
    version. Return the manifest."""
    rows: dict[str, int] = {}
    sha: dict[str, str] = {}
    for step, extract in enumerate(EXTRACTS, start=2):
        path = out_dir / f"{extract}.csv"
        frames[extract].write_csv(path, float_precision=2, line_terminator="\n", date_format="%Y-%m-%d")
        rows[extract] = frames[extract].height
        sha[extract] = hashlib.sha256(path.read_bytes()).hexdigest()
        if progress:
            progress(extract, step, len(EXTRACTS) + 1)
    manifest = {**about, "rows": rows, "sha256": sha, "generator_version": GENERATOR_VERSION}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest
