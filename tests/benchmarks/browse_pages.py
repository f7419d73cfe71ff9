"""Every page, every role, in Chromium, on any warehouse: the browser test's checks at a size the
test suite cannot afford (a cold mps page takes seconds, the full run about 10-15 minutes on the
project's 2-core machine). Run it by hand after a change to the pages, charts or warehouse, and
look at the screenshots.

    .venv/bin/python -m dashboard.cli sample --profile mps --seed 2016 --out /tmp/mps
    .venv/bin/python -m dashboard.cli build --data /tmp/mps --db /tmp/mps.duckdb --as-of 2026-11-01
    .venv/bin/python tests/benchmarks/browse_pages.py --db /tmp/mps.duckdb --out /tmp/shots

For each role it serves the warehouse (`eqdash serve`), opens every page, waits for its charts,
saves `ROLE-PAGE.png`, and lists what looks broken (exception or error boxes, tracebacks,
'page not found', raw 'None'/'nan' in the text, charts that did not draw). For staff associations
and analysts it then walks the filters on Grievances and Misconduct (characteristics including
the ethnic group x sex intersection, every period preset, business areas, worker types), and for
analysts the SPOC page's month and area pickers and its downloads. Not collected by pytest; no
timing is asserted. Exit code 1 if anything was found.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: chromium_pages
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project

from chromium_pages import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    choose,
    open_page,
    options,
    problems,
    screenshot,
    serve,
    stop,
)

ROLES = ("board", "staff_association", "analyst")


def role_pages() -> dict[str, tuple[str, ...]]:
    import ast

    # dashboard/app.py runs the app on import; read ROLE_PAGES from its source instead.
    source = (Path(__file__).resolve().parents[2] / "dashboard" / "app.py").read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "ROLE_PAGES":
            return ast.literal_eval(node.value)
    raise SystemExit("ROLE_PAGES not found in dashboard/app.py")


def choices(db: Path) -> tuple[list[str], list[str]]:
    """Business areas and characteristics as the sidebar shows them (its lists are virtualised:
    the browser renders only the options in view, so they are read from the project instead)."""
    from dashboard import theme
    from metrics.config import CHARACTERISTICS
    from metrics.warehouse import Warehouse

    with Warehouse(db) as wh:
        areas = wh.table("stg_business_areas").sort("business_area_code")
    return ([f"{n} ({c})" for c, n in areas.select("business_area_code", "business_area_name").iter_rows()],
            [theme.characteristic_label(c) for c in CHARACTERISTICS])


def walk_filters(page, url: str, name: str, default: bool, report, shots: Path, role: str, db: Path) -> None:
    open_page(page, url, name, default=default, query="?open=all")
    areas, characteristics = choices(db)
    steps = [("Compare by", c) for c in characteristics]  # ending on the ethnic group x sex intersection
    steps += [("Period", p) for p in options(page, "Period")]  # ending on all years
    steps += [("Business area", areas[0]), ("Worker type", "Police staff"),
              ("Business area", areas[-1]), ("Worker type", "PCSO"), ("Compare by", "Ethnicity (18+1)"),
              ("Period", "Financial year")]
    for label, option in steps:
        choose(page, label, option)
        report(f"{role}/{name} [{label} = {option}]", problems(page))
    screenshot(page, shots / f"{role}-{name}-filtered.png")


def walk_spoc(page, url: str, report, shots: Path, db: Path) -> None:
    open_page(page, url, "spoc")
    areas = choices(db)[0]
    months = options(page, "Pack month")  # the newest first
    for area, month in ((areas[0], months[0]), (areas[-1], months[2]), ("Whole force", months[5])):
        choose(page, "Business area", area)
        choose(page, "Pack month", month)
        page.get_by_role("button", name="Prepare the pack files").click()
        page.locator('[data-testid="stDownloadButton"]').first.wait_for(timeout=300_000)
        names = page.locator('[data-testid="stDownloadButton"] button').all_inner_texts()
        found = problems(page)
        if not any(n.endswith(".xlsx") for n in names):
            found.append(f"no xlsx download offered: {names}")
        report(f"analyst/spoc [{area}, {month}]", found)
    screenshot(page, shots / "analyst-spoc-downloads.png")


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the warehouse to serve")
    parser.add_argument("--out", type=Path, default=Path("tests/artifacts/browse"), help="screenshot folder")
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=ROLES)
    parser.add_argument("--no-filters", action="store_true", help="pages only, no filter walk")
    args = parser.parse_args()
    pages = role_pages()
    found_any: list[str] = []

    def report(where: str, found: list[str]) -> None:
        print(f"{'PROBLEM' if found else 'ok     '} {where}" + "".join(f"\n        {f}" for f in found), flush=True)
        found_any.extend(f"{where}: {f}" for f in found)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for role in args.roles:
            proc, url = serve(args.db, role)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
                for i, name in enumerate(pages[role]):
                    t = time.monotonic()
                    open_page(page, url, name, default=i == 0, query="?open=all")  # every chart drawn
                    screenshot(page, args.out / f"{role}-{name}.png")
                    report(f"{role}/{name} ({time.monotonic() - t:.0f} s)", problems(page))
                if not args.no_filters and role != "board":
                    for name in ("grievances", "misconduct"):
                        walk_filters(page, url, name, pages[role][0] == name, report, args.out, role, args.db)
                    if "spoc" in pages[role]:
                        walk_spoc(page, url, report, args.out, args.db)
                if "spoc" not in pages[role]:
                    page.goto(f"{url}/spoc", wait_until="domcontentloaded")
                    page.get_by_text("Page not found").wait_for(timeout=60_000)
                    report(f"{role}/spoc refused", [] if page.locator('[data-testid="stDownloadButton"]').count() == 0
                           else ["download buttons on a page the role does not have"])
                page.close()
            finally:
                stop(proc)
        browser.close()
    print(f"\n{len(found_any)} problem(s); screenshots in {args.out}")
    return 1 if found_any else 0


if __name__ == "__main__":
    raise SystemExit(main())
