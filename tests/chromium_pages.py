"""Drive a running `eqdash serve` in Debian's Chromium with Playwright: start and stop the server,
wait for a page (and its charts) to settle, choose from Streamlit's select boxes, list what looks
broken, and screenshot the whole page.

Shared by tests/dashboard/test_browser.py (the small sample, in CI) and
tests/benchmarks/browse_pages.py (any warehouse, e.g. mps, run by hand).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 180_000  # a cold page at mps on a busy 2-core machine; never a timing assertion

# Words that mean a value leaked into the text unformatted.
RAW_VALUES = re.compile(r"\b(None|nan|NaN|inf|null|undefined)\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Path, role: str, *, port: int | None = None, startup_s: float = 90) -> tuple[subprocess.Popen, str]:
    """`eqdash serve --role ROLE --db DB` on a free local port, in its own process group."""
    port = port or free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--db", str(db), "--role", role,
                             "--port", str(port), "--address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_s
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
    raise AssertionError(f"eqdash serve did not answer within {startup_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and the streamlit child it started: the process group this module created."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()


_STATE = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    const app = document.querySelector('[data-testid="stApp"]');
    const run = app ? app.getAttribute('data-test-script-state') : 'initial';
    return {busy: run !== 'notRunning' || !!document.querySelector('[data-testid="stStatusWidget"]')
                  || document.querySelectorAll('[data-testid="stSkeleton"], [data-stale="true"]').length > 0,
            title: (document.querySelector('h1') || {}).innerText || '',
            charts: charts.length,
            drawn: charts.filter(c => c.querySelector('.js-plotly-plot .main-svg')).length,
            frames: document.querySelectorAll('[data-testid="stDataFrame"]').length,
            text: main ? main.innerText.length : 0};
}"""


def settle(page, timeout_ms: int = TIMEOUT_MS, *, charts: bool = True) -> None:
    """Wait until the script run has finished and the page has stopped changing, every chart drawn.

    The app root's script state (Streamlit's data-test-script-state) says whether the script run
    has finished; then every chart must be drawn and the element counts and text length stay the
    same over a second (a chart draws after the run ends). `charts` is kept for callers.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    last, same = None, 0
    while same < 4:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page did not settle within {timeout_ms / 1000:.0f} s: {last}")
        page.wait_for_timeout(250)
        state = page.evaluate(_STATE)
        ready = not state["busy"] and state["title"].strip() and state["drawn"] == state["charts"]
        same = same + 1 if ready and state == last else 0
        last = state


def open_page(page, url: str, name: str, *, default: bool = False, query: str = "") -> None:
    """A page of the app: the role's default page is served at the root. `query`, e.g. "?open=all"
    (every chart and number table drawn)."""
    page.goto(f"{url}/{'' if default else name}{query}", wait_until="domcontentloaded")
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick `option` (as displayed) in the select box labelled `label`, and wait for the rerun."""
    box = page.get_by_role("combobox", name=label, exact=True)  # Streamlit's select box is a combo box
    box.click()
    box.fill(option)  # long lists are virtualised: filtering renders the option wanted
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def options(page, label: str) -> list[str]:
    """The options of a select box as displayed, as far as its list renders them (a long list
    renders only the first dozen or so)."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option").first.wait_for()
    found = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.strip() for o in found]


def problems(page) -> list[str]:
    """What a user would see as broken: exception or error boxes, tracebacks, 'page not found',
    raw values in the text, charts that did not draw, titles missing."""
    found = []
    for selector, what in (('[data-testid="stException"]', "exception"),
                           ('[data-testid="stAlertContentError"]', "error box")):
        for box in page.locator(selector).all():
            found.append(f"{what}: {box.inner_text()[:300]}")
    body = page.locator('[data-testid="stMain"]').inner_text()
    if "Traceback" in body:
        found.append("traceback in the page")
    if page.get_by_text("Page not found").count():
        found.append("page not found")
    for line in body.splitlines():
        if RAW_VALUES.search(line):
            found.append(f"raw value in text: {line.strip()[:200]}")
    charts = page.locator('[data-testid="stPlotlyChart"]')
    drawn = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg')
    if charts.count() and not drawn.count():
        found.append("no chart drew")
    if not page.locator("h1").count() or not page.locator("h1").first.inner_text().strip():
        found.append("no title")
    return found


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main area, so the viewport is grown to fit it
    (a full-page screenshot alone stops at the window's height)."""
    width = page.viewport_size["width"]
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(height + 40, 20_000)})
    page.wait_for_timeout(500)
    settle(page)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


AXE = ROOT / "tests" / ".axe" / "axe-core-4.14.1" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def accessibility(page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """WCAG 2.2 A/AA violations that axe-core finds on the page as it is now, of these impacts:
    one line each, naming the rule, its impact, how many elements and the first element's selector."""
    if not AXE.exists():
        raise FileNotFoundError(f"axe-core is missing at {AXE}: `bash .ci/setup --test` installs it")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: "
                           "['violations']})", WCAG_TAGS)
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])} element(s), e.g. {v['nodes'][0]['target']}): {v['help']}"
            for v in result["violations"] if v.get("impact") in impacts]
