"""The dashboard in a real browser: `eqdash serve` on a free port, Debian's Chromium via playwright,
on the small sample warehouse.

Every page for every role (board, staff association, analyst): waits for the charts, checks that
no exception, error box, traceback or raw value ('None', 'nan') is shown and that no request
leaves the machine, and saves a screenshot of each whole page to tests/artifacts/ (gitignored).
Then what a user touches: the period, business area, worker type and characteristic filters
(intersections included) on Grievances and Misconduct, and the SPOC page's month and area, whose
downloaded file is byte for byte the one `eqdash export` writes. Roles without the SPOC page get
'page not found' at its address.

The same checks at the mps profile take minutes per role, so they are a manual script:
tests/benchmarks/browse_pages.py (see its docstring).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chromium_pages import (
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

from dashboard.app import ROLE_PAGES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
ROLES = ("board", "staff_association", "analyst")
TITLES = {"grievances": "Grievances", "misconduct": "Misconduct", "spoc": "SPOC monthly pack"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `bash .ci/setup --test` installs it.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def servers(small_warehouse):
    """One `eqdash serve` per role, started when first asked for, stopped at the end."""
    running: dict[str, tuple] = {}

    def url(role: str) -> str:
        if role not in running:
            running[role] = serve(small_warehouse, role)
        return running[role][1]

    yield url
    for proc, _ in running.values():
        stop(proc)


@pytest.fixture
def page(browser, servers):
    """A fresh tab that records every request leaving 127.0.0.1; asserts none did."""
    outside: list[str] = []
    tab = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab.on("request", lambda r: outside.append(r.url)
           if not r.url.startswith(("http://127.0.0.1:", "data:", "blob:", "ws://127.0.0.1")) else None)
    yield tab
    tab.close()
    assert not outside, f"requests left the machine: {sorted(set(outside))[:10]}"


def assert_fine(tab, where: str) -> None:
    found = problems(tab)
    assert not found, f"{where}: {found}"


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_chromium(role, servers, page):
    url = servers(role)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(ROLE_PAGES[role]):
        open_page(page, url, name, default=i == 0)
        screenshot(page, ARTIFACTS / f"{role}-{name}.png")
        assert_fine(page, f"{role}/{name}")
        if name in TITLES:
            assert page.locator("h1").first.inner_text().strip() == TITLES[name]
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "BAME" not in body
        if role != "analyst":
            assert "Quarantined rows (analysts only)" not in body
    if "spoc" not in ROLE_PAGES[role]:
        # The address of a page the role does not have: Streamlit says so and shows the role's first page.
        page.goto(f"{url}/spoc", wait_until="domcontentloaded")
        page.get_by_text("Page not found").wait_for(timeout=60_000)
        assert page.locator("h1").first.inner_text().strip() != TITLES["spoc"]
        assert page.locator('[data-testid="stDownloadButton"]').count() == 0


# What a user changes, in order, on each page (each step keeps the ones before it).
FILTER_STEPS = [
    ("Compare by", "Ethnic group x sex"),   # the intersection
    ("Period", "All years"),
    ("Worker type", "Police officer"),
    ("Compare by", "Disability"),
    ("Period", "Financial year"),
    ("Worker type", "PCSO"),                 # few people: hidden groups, empty tables
    ("Compare by", "Ethnicity (18+1)"),
    ("Period", "Custom month range"),
]


@pytest.mark.parametrize("role", ["staff_association", "analyst"])
@pytest.mark.parametrize("name", ["grievances", "misconduct"])
def test_filters_a_user_touches(role, name, servers, page):
    url = servers(role)
    open_page(page, url, name, default=ROLE_PAGES[role][0] == name)
    areas = options(page, "Business area")
    assert areas[0] == "Whole force" and len(areas) > 3
    steps = [*FILTER_STEPS[:3], ("Business area", areas[2]), *FILTER_STEPS[3:]]
    for label, option in steps:
        choose(page, label, option)
        assert_fine(page, f"{role}/{name} after {label} = {option}")
        assert page.locator("h1").first.inner_text().strip() == TITLES[name]
        assert page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').count() >= 3
    screenshot(page, ARTIFACTS / f"{role}-{name}-filtered.png")


def test_spoc_month_and_area_pickers_download_the_export_files(servers, page, small_warehouse):
    import zipfile
    from datetime import datetime

    from dashboard.exports.pack import ZIP_FORMATS, build_pack_files
    from metrics.warehouse import Warehouse

    url = servers("analyst")
    open_page(page, url, "spoc")
    areas = options(page, "Business area")
    area_label = areas[1]
    area = area_label.rsplit("(", 1)[1].rstrip(")")
    choose(page, "Business area", area_label)
    months = options(page, "Pack month")
    choose(page, "Pack month", months[1])
    assert_fine(page, "spoc with an area and an earlier month")
    page.get_by_role("button", name=re.compile(r"^Prepare the pack for .* \(zip\)$")).click()
    page.locator('[data-testid="stDownloadButton"]').first.wait_for(timeout=180_000)
    assert_fine(page, "spoc after preparing the pack")
    month = datetime.strptime(months[1], "%B %Y").date()
    with Warehouse(small_warehouse) as wh:
        expected = build_pack_files(wh, month, area, ZIP_FORMATS)
    with page.expect_download() as download:
        page.locator('[data-testid="stDownloadButton"] button').filter(has_text="Download the pack (zip)").click()
    assert download.value.suggested_filename == f"spoc-pack-{area}-{month:%Y-%m}.zip"
    z = zipfile.ZipFile(Path(download.value.path()))
    assert sorted(z.namelist()) == sorted(expected)
    for name in (f"{area}-{month:%Y-%m}.xlsx", f"{area}-{month:%Y-%m}.ods", "csv/pack_info.csv"):
        assert z.read(name) == expected[name], name
    screenshot(page, ARTIFACTS / "analyst-spoc-downloads.png")
