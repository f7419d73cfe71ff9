"""Felt speed: every page for every role in Chromium against `eqdash serve`, cold and warm, and 20
concurrent sessions; beside it the server's own run time per page (measured in the server).

    .venv/bin/python tests/benchmarks/bench_browser.py --db WAREHOUSE [--roles board,...] [--repeat 3]
        [--sessions 20] [--json]

Per role a fresh server is started. "Cold" is the first page opened after the server starts (in a
fresh browser: Streamlit's client is downloaded too); "first" is each other page's first visit (a
full page load); "reload" is the median of --repeat full reloads of it; "warm" is the median of
--repeat visits by a click on the page's menu link, as a reader moves between pages. A page is complete when the
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


def click(page, name: str) -> float:
    """Seconds from a click on the page's menu link until the page is complete."""
    from dashboard.theme import PAGE_TITLES

    title = PAGE_TITLES[name]
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True)
    if page.locator("h1").first.inner_text().strip() == title:  # already there: go elsewhere first
        other = page.locator('[data-testid="stSidebarNav"] a').first
        other.click()
        page.wait_for_function("t => (document.querySelector('h1') || {}).innerText !== t", arg=title)
        complete(page)
    t0 = time.perf_counter()
    link.click()
    page.wait_for_function("t => ((document.querySelector('h1') || {}).innerText || '').trim() === t", arg=title,
                           timeout=300_000)
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
                reload = [visit(page, target) for _ in range(repeat)]
                rows.append({"role": role, "page": name, "first_s": first, "is_cold": i == 0,
                             "reload_median_s": statistics.median(reload), "chart_json_bytes": size, **profile})
            # Warm, as a reader moves between pages: a click in the menu (no reload), each page in turn.
            clicks: dict[str, list[float]] = {name: [] for name in ROLE_PAGES[role]}
            for _ in range(repeat):
                for name in ROLE_PAGES[role]:
                    clicks[name].append(click(page, name))
            for r in rows:
                r["warm_median_s"] = statistics.median(clicks[r["page"]])
                r["warm_max_s"] = max(clicks[r["page"]])
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
    parser.add_argument("--readme", action="store_true", help="write the table into README.md (Performance)")
    parser.add_argument("--from-json", type=Path, help="format an earlier --json result instead of measuring")
    args = parser.parse_args()
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        return report(result, args)
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
              "concurrent_server_median_s": statistics.median(crowd_server) if crowd_server else None,
              "load_before": LOAD_BEFORE, "load_after": os.getloadavg()[0], "db": str(args.db),
              "date": time.strftime("%d %b %Y"), "repeat": args.repeat}
    return report(result, args)


LOAD_BEFORE = os.getloadavg()[0]
START, END = "<!-- browser:start -->", "<!-- browser:end -->"


def readme_block(result: dict) -> str:
    rows = result["pages"]
    idle = result["load_before"] < 1.0
    state = (f"**idle** when it started (load average {result['load_before']:.1f}; the {result['load_after']:.1f} at "
             "the end is the benchmark's own concurrent sessions)" if idle else
             f"shared with other work (load average {result['load_before']:.1f} at the start, "
             f"{result['load_after']:.1f} at the end, so these are figures for a busy machine, not an idle one)")
    lines = [f"Measured by `.venv/bin/python tests/benchmarks/bench_browser.py --db <mps warehouse> --readme` on "
             f"{result['date']}: Chromium 1,400 x 900 on this 2-core machine, {state}; medians of "
             f"{result['repeat']} revisits. Time is from navigation until the page is complete (script finished, "
             "every chart drawn, no change for a second after).", "",
             "| role | page | first visit (s) | warm: menu click, median (s) | warm: slowest (s) | reload, median (s) "
             "| server run, median (s) | chart JSON (KB) | charts | tables | DOM elements |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        first = f"**{r['first_s']:.2f}** (cold)" if r["is_cold"] else f"{r['first_s']:.2f}"
        server = "–" if r.get("server_median_s") is None else f"{r['server_median_s']:.3f}"
        lines.append(f"| {r['role']} | {r['page']} | {first} | {r['warm_median_s']:.2f} | {r['warm_max_s']:.2f} | "
                     f"{r['reload_median_s']:.2f} | {server} | {r['chart_json_bytes'] / 1024:,.0f} | {r['charts']} | "
                     f"{r['tables']} | {r['elements']:,} |")
    warm = [r["warm_median_s"] for r in rows]
    server = [r["server_median_s"] for r in rows if r.get("server_median_s") is not None]
    lines += ["", f"Warm: median {statistics.median(warm):.2f} s, slowest page {max(warm):.2f} s (target < 1 s "
                  f"idle); server run per page: median {statistics.median(server):.3f} s, slowest "
                  f"{max(server):.3f} s (target < 1 s)."]
    crowd = result.get("concurrent")
    if crowd:
        lines.append(f"{crowd['sessions']} browser sessions opening the Board's first page at once (one Chromium, "
                     f"each its own context, on the same 2 cores as the server): median {crowd['median_s']:.1f} s, "
                     f"slowest {crowd['max_s']:.1f} s, errors: {len(crowd['errors'])}; the server's own run per "
                     f"page meanwhile: median {result['concurrent_server_median_s']:.3f} s.")
    return "\n".join(lines)


def report(result: dict, args) -> int:
    rows, crowd = result["pages"], result.get("concurrent")
    if args.json:
        print(json.dumps(result))
        return 0
    if args.readme:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        if START not in text:
            raise SystemExit(f"README.md has no {START} ... {END} block")
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        readme.write_text(f"{head}{START}\n{readme_block(result)}\n{END}{tail}", encoding="utf-8")
    print(f"{'role':<18} {'page':<13} {'first s':>8} {'warm med s':>10} {'warm max s':>10} {'reload s':>9} "
          f"{'server s':>9} "
          f"{'chart KB':>9} {'charts':>6} {'tables':>6} {'elements':>8}")
    for r in rows:
        print(f"{r['role']:<18} {r['page']:<13} {r['first_s']:>7.2f}{'*' if r['is_cold'] else ' '} "
              f"{r['warm_median_s']:>10.2f} {r['warm_max_s']:>10.2f} {r['reload_median_s']:>9.2f} "
              f"{(r['server_median_s'] or float('nan')):>9.3f} {r['chart_json_bytes'] / 1024:>9.0f} "
              f"{r['charts']:>6} {r['tables']:>6} {r['elements']:>8}")
    print("* cold: the first page after the server started")
    if crowd:
        print(f"{crowd['sessions']} concurrent sessions, Board first page: median {crowd['median_s']:.1f} s, "
              f"slowest {crowd['max_s']:.1f} s, errors {crowd['errors'] or 'none'}; server run median "
              f"{result['concurrent_server_median_s']:.3f} s")
    print(f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
