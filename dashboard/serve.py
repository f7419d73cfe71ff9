"""Start the Streamlit server for the dashboard: local-only by default, nothing fetched from the
internet (no usage statistics, no development-mode assets), the warehouse and role passed by env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
ROOT = APP.parents[1]


def command(*, port: int, address: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", address,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--server.fileWatcherType", "none",
        "--theme.base", "light",
    ]


def environment(*, db: Path, role: str) -> dict[str, str]:
    env = dict(os.environ)
    env["EQDASH_DB"] = str(Path(db).resolve())
    env["EQDASH_ROLE"] = role
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    # The app imports the project packages; make them importable without an installed package.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run(*, db: Path, role: str, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Run the server in the foreground until it stops; returns its exit code."""
    try:
        return subprocess.call(command(port=port, address=address), env=environment(db=db, role=role), cwd=ROOT)
    except KeyboardInterrupt:
        return 0
