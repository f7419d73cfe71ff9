"""Felt speed: every page for every role in Chromium against `eqdash serve`, cold and warm, and 20
concurrent sessions; beside it the server's own run time per page (measured in the server).

    .venv/bin/python tests/benchmarks/bench_browser.py --db WAREHOUSE [--roles board,...] [--repeat 3]
        [--sessions 20] [--json]

Per role a fresh server is started. "Cold" is the first page opened after the server starts (its
caches empty); "first" is each other page's first visit; "warm" is the median of --repeat revisits
(a new navigation each time, as a reader clicking back to the page). A page is complete when the
script run has finished, every chart is drawn and the page then stays unchanged for a second; the
time reported is from navigation to the first moment of that final state (the second of waiting
is not counted). Then --sessions browser contexts open the Board's first page at once.

The server's own time per page run comes from the app (EQDASH_TIMINGS: one line per run with the
seconds `nav.run()` took). Also recorded per page: the plotly JSON the page sent (bytes), the number
of charts, tables and DOM elements. Not collected by pytest: the machine is shared, so these are
medians of a few runs and are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from chromium_pages import _STATE, CHROMIUM, CHROMIUM_ARGS, serve, stop  # noqa: E402

POLL_S = 0.05
STABLE_S = 1.0


def complete(page, timeout_s: float = 300) -> float:
    """Seconds from now until the page reached the state it then kept for STABLE_S (see the docstring)."""
    t0 = time.perf_counter()
    last, since = None, None
    while True:
        now = time.perf_counter()
        if now - t0 > timeout_s:
            raise TimeoutError(f"page not complete in {timeout_s:.0f} s: {last}")
        state = page.evaluate(_STATE)
        ready = (not state["busy"] and state["title"].strip() and state["drawn"] == state["charts"])
        if ready and state == last:
            if now - since >= STABLE_S:
                return since - t0
        else:
            last, since = (state if ready else None), now
        time.sleep(POLL_S)


def visit(page, url: str) -> float:
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    return (time.perf_counter() - t0) + complete(page)


PROFILE = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return {elements: document.querySelectorAll('*').length, charts: charts.length,
          tables: document.querySelectorAll('[data-testid="stDataFrame"]').length,
          svg_nodes: document.querySelectorAll('[data-testid="stPlotlyChart"] *').length};
}"""


def chart_bytes(page) -> int:
    """The plotly figure JSON the page holds (what the server sent for its charts)."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .reduce((n, el) => n + JSON.stringify({data: el.data, layout: el.layout}).length, 0)""")


def role_run(db: Path, role: str, repeat: int, timings: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from dashboard.app import ROLE_PAGES

    os.environ["EQDASH_TIMINGS"] = str(timings)
    proc, url = serve(db, role)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for i, name in enumerate(ROLE_PAGES[role]):
                target = f"{url}/{name}"
                first = visit(page, target)
                profile = page.evaluate(PROFILE)
                size = chart_bytes(page)
                warm = [visit(page, target) for _ in range(repeat)]
                rows.append({"role": role, "page": name, "cold" if i == 0 else "first": first,
                             "first_s": first, "is_cold": i == 0, "warm_median_s": statistics.median(warm),
                             "warm_max_s": max(warm), "chart_json_bytes": size, **profile})
            browser.close()
    finally:
        stop(proc)
        os.environ.pop("EQDASH_TIMINGS", None)
    return rows


def concurrent(db: Path, sessions: int, timings: Path) -> dict:
    """`sessions` contexts open the Board's first page at the same moment, after one warm-up visit."""
    from playwright.sync_api import sync_playwright

    os.environ["EQDASH_TIMINGS"] = str(timings)
    proc, url = serve(db, "board")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            warm = browser.new_page(viewport={"width": 1400, "height": 900})
            visit(warm, url)  # the server's caches filled, as for a server that has been up
            pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page() for _ in range(sessions)]
            t0 = time.perf_counter()
            for pg in pages:
                pg.goto(url, wait_until="commit")
            times, errors = [], []
            for pg in pages:
                try:
                    complete(pg, timeout_s=600)
                    times.append(time.perf_counter() - t0)
                    if pg.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count():
                        errors.append("error box")
                except TimeoutError as e:
                    errors.append(str(e)[:200])
            browser.close()
    finally:
        stop(proc)
        os.environ.pop("EQDASH_TIMINGS", None)
    return {"sessions": sessions, "median_s": statistics.median(times) if times else None,
            "max_s": max(times) if times else None, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a built warehouse (mps for the targets)")
    parser.add_argument("--roles", default="board,staff_association,analyst")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        timings = Path(tmp) / "timings.jsonl"
        rows = []
        for role in args.roles.split(","):
            rows += role_run(args.db, role, args.repeat, timings)
        server = [json.loads(line) for line in timings.read_text().splitlines()] if timings.exists() else []
        timings.unlink(missing_ok=True)
        crowd = concurrent(args.db, args.sessions, timings) if args.sessions else None
        crowd_server = [json.loads(line)["seconds"] for line in timings.read_text().splitlines()] \
            if timings.exists() else []
    by_page: dict[tuple[str, str], list[float]] = {}
    for r in server:
        by_page.setdefault((r["role"], r["page"]), []).append(r["seconds"])
    for r in rows:
        runs = by_page.get((r["role"], r["page"])) or by_page.get((r["role"], f"{r['page']}-home")) or []
        r["server_median_s"] = statistics.median(runs) if runs else None
    result = {"pages": rows, "concurrent": crowd,
              "concurrent_server_median_s": statistics.median(crowd_server) if crowd_server else None}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'role':<18} {'page':<13} {'first s':>8} {'warm med s':>10} {'warm max s':>10} {'server s':>9} "
          f"{'chart KB':>9} {'charts':>6} {'tables':>6} {'elements':>8}")
    for r in rows:
        print(f"{r['role']:<18} {r['page']:<13} {r['first_s']:>7.2f}{'*' if r['is_cold'] else ' '} "
              f"{r['warm_median_s']:>10.2f} {r['warm_max_s']:>10.2f} "
              f"{(r['server_median_s'] or float('nan')):>9.3f} {r['chart_json_bytes'] / 1024:>9.0f} "
              f"{r['charts']:>6} {r['tables']:>6} {r['elements']:>8}")
    print("* cold: the first page after the server started")
    if crowd:
        print(f"{crowd['sessions']} concurrent sessions, Board first page: median {crowd['median_s']:.1f} s, "
              f"slowest {crowd['max_s']:.1f} s, errors {crowd['errors'] or 'none'}; server run median "
              f"{result['concurrent_server_median_s']:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
