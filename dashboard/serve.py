"""Start the Streamlit server for the dashboard: local-only by default, nothing fetched from the
internet (no usage statistics, no development-mode assets), the warehouse and role passed by env.

Before starting it checks what would make serving unsafe (`preflight`): off this machine
(`--address` not loopback) the server needs sign-in or an explicit role; with sign-in configured the
role map must be readable and valid. SIGTERM or SIGINT to `eqdash serve` stops Streamlit too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from dashboard import roles

APP = Path(__file__).resolve().parent / "app.py"
ROOT = APP.parents[1]


class ServeRefused(RuntimeError):
    """Serving as asked would be unsafe or cannot work: the message says why and what to do."""


def command(*, port: int, address: str) -> list[str]:
    return [
        # Streamlit's own CLI, run by dashboard.prewarm so the caches fill before the first visitor.
        sys.executable, "-m", "dashboard.prewarm", "run", str(APP),
        "--server.address", address,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--server.fileWatcherType", "none",
        "--theme.base", "light",
    ]


def environment(*, db: Path, role: str | None) -> dict[str, str]:
    """The server's environment. Without an explicit role EQDASH_ROLE is removed, so the app gives
    every visitor the least privileged role (unless sign-in is configured)."""
    env = dict(os.environ)
    env["EQDASH_DB"] = str(Path(db).resolve())
    if role is None:
        env.pop("EQDASH_ROLE", None)
    else:
        env["EQDASH_ROLE"] = role
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    # The app imports the project packages; make them importable without an installed package.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def preflight(*, role: str | None, address: str, root: Path = ROOT) -> list[str]:
    """Check the serving set-up before starting: raises ServeRefused with one clear sentence, or
    returns the warnings to print (e.g. reachable from other machines)."""
    if role is not None and role not in roles.ROLES:
        raise ServeRefused(f"unknown role '{role}': choose one of {', '.join(roles.ROLES)}")
    try:
        secrets = roles.read_secrets(root)
    except roles.RoleMapError as e:
        raise ServeRefused(str(e)) from None
    sign_in = "auth" in secrets
    problem = roles.check_sign_in(secrets)
    if problem:
        raise ServeRefused(problem)
    error, warning = roles.serving_problem(address, explicit_role=role, sign_in=sign_in)
    if error:
        raise ServeRefused(error)
    warnings = [warning] if warning else []
    if sign_in and role is not None:
        warnings.append("sign-in is configured, so --role is ignored: each visitor gets the role the role map gives")
    if not sign_in and role is None:
        warnings.append(f"no sign-in and no --role: every visitor gets the {roles.LEAST_ROLE.replace('_', ' ')} "
                        "role (pass --role board or --role analyst for more)")
    return warnings


def run(*, db: Path, role: str | None, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Run the server in the foreground until it stops; returns its exit code.

    Streamlit runs as a child process: SIGTERM/SIGINT/SIGHUP to this process are passed on to it
    (and, if it has not stopped within 10 s, it is killed), so stopping `eqdash serve` never leaves
    a server behind.
    """
    child = subprocess.Popen(command(port=port, address=address), env=environment(db=db, role=role), cwd=ROOT)
    previous = {}

    def forward(_signum, _frame):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        previous[sig] = signal.signal(sig, forward)
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # a second Ctrl-C while waiting
                forward(signal.SIGINT, None)
    finally:
        if child.poll() is None:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # Stopped by a signal we passed on: a normal end.
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
