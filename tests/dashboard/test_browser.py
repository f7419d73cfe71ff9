"""The dashboard in a real browser: `eqdash serve` on a free port, Debian's Chromium via playwright.

Opens every page for the analyst and the staff-association role, waits for the charts, checks
that no exception or error box is shown and that no request leaves the machine, and saves a
full-page screenshot of each page to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from dashboard.app import ROLE_PAGES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
# Pages that draw at least one plotly chart (every page but the SPOC pack's first screen does).
PAGES_WITHOUT_CHART_WAIT: set[str] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `bash .ci/setup --test` installs it.")
    return CHROMIUM


def serve(db: Path, role: str):
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--db", str(db), "--role", role,
                             "--port", str(port), "--address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"eqdash serve exited with {proc.returncode}: {proc.stdout.read().decode()[-2000:]}")
        try:
            with urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except (URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    stop(proc)
    raise AssertionError("eqdash serve did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the streamlit child it started, by group id
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()


def wait_until_idle(page, timeout_ms: int = 90_000) -> None:
    """Streamlit shows its status widget while a script runs; wait until it has gone."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
               && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0""",
        timeout=timeout_ms, polling=250)


@pytest.mark.parametrize("role", ["analyst", "staff_association"])
def test_every_page_in_chromium(role, small_warehouse, chromium):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = serve(small_warehouse, role)
    outside: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                page.on("request", lambda r: outside.append(r.url)
                        if not r.url.startswith((url, "data:", "blob:", "ws://127.0.0.1")) else None)
                for i, name in enumerate(ROLE_PAGES[role]):
                    # The first page of a role is its default page, served at the root.
                    page.goto(f"{url}/{'' if i == 0 else name}", wait_until="domcontentloaded")
                    wait_until_idle(page)
                    if name not in PAGES_WITHOUT_CHART_WAIT:
                        page.wait_for_selector(".js-plotly-plot", timeout=90_000)
                        wait_until_idle(page)
                    page.wait_for_timeout(500)  # let plotly finish laying out before the screenshot
                    page.screenshot(path=str(ARTIFACTS / f"{role}-{name}.png"), full_page=True)
                    assert page.get_by_text("Page not found").count() == 0, f"{role}/{name}: page not found"
                    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
                    assert errors.count() == 0, f"{role}/{name}: {errors.first.inner_text()[:500]}"
                    assert page.locator("h1").first.inner_text().strip(), f"{role}/{name}: no title"
                    assert "BAME" not in page.locator("body").inner_text()
                    if role == "staff_association":
                        assert "Quarantined rows (analysts only)" not in page.locator("body").inner_text()
            finally:
                browser.close()
    finally:
        stop(proc)
    assert not outside, f"requests left the machine: {sorted(set(outside))[:10]}"
