"""SPOC packs on a real small-profile warehouse: numbers equal the registry's, nothing the
suppression rules hide appears in any format, quiet areas get a valid pack, and runs repeat."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import date
from html.parser import HTMLParser

import polars as pl
import pytest
from pypdf import PdfReader
from scipy import stats
from xlsx_read import read_xlsx

from dashboard.exports.batch import ExportError, export_packs
from dashboard.exports.format import cell_value, label, sheet_columns
from dashboard.exports.pack import build_pack_files
from dashboard.exports.pdf import render_html
from metrics.spoc import FORCE, MEASURES, ForceCache, add_months, assemble_pack
from metrics.tables import get_table

HEADER_ROW = 4  # dashboard.exports.xlsx.HEADER_ROWS + 1 (0-based row of the column headers)
SMALL = {1, 2, 3, 4}  # counts the default threshold (5) hides


def _pdf_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture(scope="module")
def packs(export_db, choice):
    """Files and the assembled pack for the busiest area and the force."""
    from metrics.warehouse import Warehouse

    out = {}
    with Warehouse(export_db) as wh:
        cache = ForceCache()
        for area in choice["areas"]:
            pack = assemble_pack(wh, choice["month"], area, cache=cache)
            files = build_pack_files(wh, choice["month"], area, ("pdf", "xlsx", "csv"), cache=cache)
            out[area] = (pack, files)
    return out


def test_every_registry_number_in_the_xlsx_and_csv_equals_get_table(wh, packs, choice):
    checked = 0
    for area, (pack, files) in packs.items():
        # Only the themes (statements with their tests) and the Kaplan-Meier medians are the pack's
        # own; every other table, trend and funnel included, is a registry table.
        assert {t.key for t in pack.tables if t.registry_name is None} == {"themes", "time_to_resolve"}
        stem = f"{area}-{choice['month']:%Y-%m}"
        book = read_xlsx(files[f"{stem}.xlsx"])
        for table in pack.tables:
            if table.registry_name is None:
                continue
            expected = get_table(wh, table.registry_name, table.filters, suppressed=True)
            # CSV: same rows, same values (floats to full precision)
            got = pl.read_csv(io.BytesIO(files[f"csv/{table.key}.csv"]), infer_schema_length=0)
            assert got.columns == expected.columns
            assert got.height == expected.height
            for exp_row, got_row in zip(expected.iter_rows(named=True), got.iter_rows(named=True), strict=True):
                for col, value in exp_row.items():
                    cell = got_row[col]
                    if value is None:
                        assert cell is None, (area, table.key, col)
                    elif isinstance(value, bool):
                        assert cell == str(value).lower()
                    elif isinstance(value, int | float):
                        assert float(cell) == pytest.approx(value, rel=1e-11, abs=1e-15), (area, table.key, col)
                    else:
                        assert cell == str(value)
                    checked += 1
            # XLSX: the sheet's header row and cells, display text where a count is hidden
            cells = book[table.key]
            columns = sheet_columns(expected)
            assert [cells[(HEADER_ROW, j)] for j in range(len(columns))] == [label(c) for c in columns]
            for i, row in enumerate(expected.iter_rows(named=True), start=HEADER_ROW + 1):
                for j, col in enumerate(columns):
                    want = cell_value(row, col)
                    have = cells.get((i, j))
                    if want is None:
                        assert have is None, (area, table.key, i, col)
                    elif isinstance(want, bool):
                        assert have is want
                    elif isinstance(want, int | float):
                        assert have == pytest.approx(float(want), rel=1e-11, abs=1e-15), (area, table.key, col)
                    elif isinstance(want, date):
                        assert have == float((want - date(1899, 12, 30)).days), (area, table.key, col)  # Excel serial
                    else:
                        assert have == want
                    checked += 1
    assert checked > 1000


def test_trend_and_funnel_counts_equal_the_marts(wh, packs, choice):
    """The trend and funnel counts against independent SQL on the grievances."""
    month = choice["month"]
    for area, (pack, _) in packs.items():
        where = "" if area == FORCE else "and business_area_code = ?"
        params = [add_months(month, -12), month] + ([] if area == FORCE else [area])
        raised = dict(wh.query(
            f"select raised_month, count(*) as n from fct_grievance_outcomes where raised_month between ? and ? "
            f"{where} group by all", params).iter_rows())
        trend = pack.table("trend").frame.filter(pl.col("measure") == "n_raised")
        assert trend.height == 13
        for m, n, shown in trend.select("month_start", "n", "value_display").iter_rows():
            true = raised.get(m, 0)
            if n is None:
                assert shown in ("<5", "[c]")
                assert shown == "[c]" or 1 <= true <= 4
            else:
                assert n == true
        assert pack.headline["n_raised"] == raised.get(month, 0) or pack.headline["n_raised"] is None
    funnel = packs[FORCE][0].table("funnel").frame
    events = dict(wh.query(
        "select business_area_code, count(*) from fct_grievance_outcomes where raised_month between ? and ? "
        "group by all", [add_months(month, -11), month]).iter_rows())
    for area, n in funnel.select("group", "events").iter_rows():
        if n is not None:
            assert n == events.get(area, 0)


class _Cells(HTMLParser):
    """Text of every element marked as a count (class 'c') in the pack's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.values, self.buf = 0, [], []

    def handle_starttag(self, tag, attrs):
        if "c" in (dict(attrs).get("class") or "").split():
            self.depth, self.buf = 1, []
        elif self.depth:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if self.depth == 0:
                self.values.append("".join(self.buf).strip())

    def handle_data(self, data):
        if self.depth:
            self.buf.append(data)


def _count_columns(frame_columns: list[str], header: list[str]) -> list[int]:
    """Indexes of columns that count people or cases (n is person-years in exposure tables)."""
    exposure = "exposure" in header or "rate_per_1000" in header
    names = {"events", "value_display", "events_display"} | (set() if exposure else {"n", "n_display"})
    return [i for i, c in enumerate(header) if c in names]


def test_no_pack_shows_a_count_the_rules_hide(packs, choice):
    for area, (pack, files) in packs.items():
        stem = f"{area}-{choice['month']:%Y-%m}"
        # CSV: every count column of every table
        for name, data in files.items():
            if not name.endswith(".csv") or name.endswith("pack_info.csv"):
                continue
            rows = list(csv.reader(io.StringIO(data.decode())))
            header, body = rows[0], rows[1:]
            for i in _count_columns(header, header):
                for r in body:
                    assert r[i] not in {str(v) for v in SMALL}, (area, name, header[i], r)
            if "value" in header or ("n" in header and "value_display" in header):
                col = header.index("n")
                assert not any(r[col] in {"1", "2", "3", "4"} for r in body), (area, name)
        # XLSX: every count column's cells on every table sheet
        book = read_xlsx(files[f"{stem}.xlsx"])
        for table in pack.tables:
            columns = sheet_columns(table.frame)
            cells = book[table.key]
            for j in _count_columns(columns, columns):
                values = [cells.get((i, j)) for i in range(HEADER_ROW + 1, HEADER_ROW + 1 + table.frame.height)]
                assert not [v for v in values if isinstance(v, float) and v in SMALL], (area, table.key, columns[j])
        summary = book["Summary"]
        assert not [v for (r, c), v in summary.items() if c == 1 and isinstance(v, float) and v in SMALL]
        # PDF: every count printed in a table or headline tile
        parser = _Cells()
        parser.feed(render_html(pack))
        assert parser.values, "the HTML marks its counts"
        assert not [v for v in parser.values if v in {"1", "2", "3", "4"}], area
        # Themes never quote a hidden count
        for theme in pack.themes:
            assert not re.search(r"(?<![\d.])[1-4] this month", theme.statement)


def test_pdf_renders_and_carries_the_headline_on_every_page(packs, choice, tmp_path):
    pack, files = packs[choice["busiest"]]
    data = files[f"{pack.area_code}-{choice['month']:%Y-%m}.pdf"]
    (tmp_path / "p.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp_path / "p.pdf"), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    pages = _pdf_text(data)
    assert len(pngs) == len(pages) >= 3
    for text in pages:
        assert pack.area_code in text and pack.month_label in text
        assert pack.build_id in text and pack.build_date in text
    first = " ".join(pages[0].split())
    for measure, name in MEASURES.items():
        assert name in first.replace("- ", "-") or name.split()[0] in first
        assert pack.headline_display[measure] in first
    assert "Themes and trends" in first


def test_an_area_with_no_grievances_in_the_month_gets_a_valid_pack(wh, choice):
    area = choice["quiet"]
    if area is None:
        pytest.fail("the small sample has no quiet area in the month; pick another month")
    files = build_pack_files(wh, choice["month"], area, ("pdf", "xlsx", "csv"))
    stem = f"{area}-{choice['month']:%Y-%m}"
    text = " ".join(" ".join(_pdf_text(files[f"{stem}.pdf"])).split())
    assert "No grievances were raised, closed or open" in text
    summary = read_xlsx(files[f"{stem}.xlsx"])["Summary"]
    assert any(isinstance(v, str) and v.startswith("No grievances were raised") for v in summary.values())
    assert [summary[(5 + i, 1)] for i in range(4)] == [0.0, 0.0, 0.0, 0.0]
    assert b"has_grievances,no" in files["csv/pack_info.csv"]


def test_two_runs_give_identical_csv_and_xlsx_bytes_and_pdf_text(wh, packs, choice):
    area = choice["busiest"]
    again = build_pack_files(wh, choice["month"], area, ("pdf", "xlsx", "csv"))
    first = packs[area][1]
    assert sorted(again) == sorted(first)
    for name in first:
        if name.endswith(".pdf"):
            assert _pdf_text(again[name]) == _pdf_text(first[name])
        else:
            assert again[name] == first[name], name


def test_themes_state_only_supported_results_and_name_the_test(wh, packs, choice):
    month = choice["month"]
    for pack, _ in packs.values():
        for theme in pack.themes:
            assert theme.p_adjusted is not None and theme.p_adjusted < 0.05
            assert "test" in theme.statement or "Fisher" in theme.statement or "chi-square" in theme.statement
        if not pack.themes:
            assert pack.themes_note.startswith("Nothing this month is statistically distinguishable")
    # The all-grievances test for the force, recomputed: R poisson.test(c(k, K), c(1, 12)) is
    # binom.test(k, k + K, 1/13).
    counts = dict(wh.query("select raised_month, count(*) from fct_grievance_outcomes where raised_month "
                           "between ? and ? group by all", [add_months(month, -12), month]).iter_rows())
    k, before = counts.get(month, 0), sum(v for m, v in counts.items() if m < month)
    from metrics.spoc import find_themes

    themes, note = find_themes(wh, month, FORCE)
    expected = stats.binomtest(k, k + before, 1 / 13).pvalue
    from metrics.rates import conditional_rate_test

    assert conditional_rate_test(k, 1.0, before, 12.0)[0] == pytest.approx(expected)
    n_tests = int(note.split(" tests")[0].split()[-1])
    assert n_tests >= 1


def test_batch_writes_one_folder_per_area_and_reports_progress(export_db, choice, tmp_path):
    from metrics.warehouse import Warehouse

    seen = []
    with Warehouse(export_db) as wh:
        written = export_packs(wh, choice["month"], area=choice["busiest"], formats=["xlsx", "csv"],
                               out_dir=tmp_path, progress=lambda s, d, t: seen.append((s, d, t)))
    folder = tmp_path / f"{choice['month']:%Y-%m}" / choice["busiest"]
    assert folder / f"{choice['busiest']}-{choice['month']:%Y-%m}.xlsx" in written
    assert (folder / "csv" / "trend.csv").exists()
    assert not (folder / f"{choice['busiest']}-{choice['month']:%Y-%m}.pdf").exists()
    assert seen == [("starting", 0, 1), (choice["busiest"], 1, 1)]


def test_unknown_area_and_month_outside_the_data_are_clear_errors(wh, tmp_path):
    months = wh.query("select min(month_start) as a, max(month_start) as b from dim_calendar").row(0)
    with pytest.raises(ExportError, match=rf"no data for 2030-01: the warehouse covers {months[0]:%Y-%m} "
                                          rf"to {months[1]:%Y-%m}"):
        export_packs(wh, date(2030, 1, 1), out_dir=tmp_path)
    with pytest.raises(ExportError, match=r"unknown business area 'NOPE': choose FORCE or one of "):
        export_packs(wh, months[1], area="NOPE", out_dir=tmp_path)
    with pytest.raises(ExportError, match=r"formats must be some of pdf, xlsx, csv; got docx"):
        export_packs(wh, months[1], formats=["docx"], out_dir=tmp_path)
