"""SPOC packs on real warehouses: protected counts are get_table's, totals are exact, the
spreadsheets follow the Analysis Function's checklist (read back with openpyxl and an ODS reader),
the PDF is tagged with real alt text, and page 1 finds the planted effects at `mps`."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pandas as pd
import polars as pl
import pytest
from pypdf import PdfReader
from scipy import optimize, stats

from dashboard.exports.batch import ExportError, export_packs
from dashboard.exports.format import HIDDEN, NOT_APPLICABLE, NOT_AVAILABLE, sheets
from dashboard.exports.pack import build_pack_files
from metrics.spoc import ETHNIC_GROUPS, EXACT, FORCE, ForceCache, assemble_pack, business_areas, poisson_trend
from metrics.tables import get_table

SHORTHAND = {"<5", HIDDEN, NOT_APPLICABLE, NOT_AVAILABLE}
FIRST_SHEETS = ["Cover", "Contents", "Notes"]
INTERNAL = {"is_suppressed", "is_significant", "is_reference", "is_not_stated", "suppression_set", "method",
            "characteristic", "n_display", "events_display", "value_display", "flag"}


@pytest.fixture(scope="module")
def packs(export_db, choice):
    """Files and the assembled pack for the busiest area and the force."""
    from metrics.warehouse import Warehouse

    out = {}
    with Warehouse(export_db) as wh:
        cache = ForceCache()
        for area in choice["areas"]:
            pack = assemble_pack(wh, choice["month"], area, cache=cache)
            files = build_pack_files(wh, choice["month"], area, ("pdf", "xlsx", "ods", "csv"), cache=cache)
            out[area] = (pack, files)
    return out


def _file(files, ext):
    return next(v for k, v in files.items() if k.endswith(f".{ext}"))


def test_protected_tables_equal_get_table_suppressed_and_totals_are_exact(wh, packs, choice):
    for area, (pack, _) in packs.items():
        kinds = {t.key: t.release for t in pack.tables if t.registry_name}
        assert {k for k, r in kinds.items() if r == EXACT} == {"counts", "funnel"}
        for t in pack.tables:
            if t.registry_name is None:
                continue
            expected = get_table(wh, t.registry_name, t.filters, suppressed=t.release != EXACT)
            assert t.frame.equals(expected), (area, t.key)
        # The month's counts are the mart's, exactly (no characteristic: nothing hidden).
        where = "" if area == FORCE else "and business_area_code = ?"
        raw = wh.query(f"""select sum(n_raised)::bigint r, sum(n_closed)::bigint c, sum(n_open)::bigint o,
                           sum(n_open_overdue)::bigint v from fct_spoc_monthly where month_start = ? {where}""",
                       [choice["month"], *([] if area == FORCE else [area])]).row(0)
        assert tuple(pack.headline.values()) == raw


def test_workbook_follows_the_spreadsheet_checklist(packs):
    for _area, (pack, files) in packs.items():
        wb = openpyxl.load_workbook(io.BytesIO(_file(files, "xlsx")))
        expected = sheets(pack)
        assert wb.sheetnames == FIRST_SHEETS + [s.name for s in expected]
        cover = [c.value for c in wb["Cover"]["A"] if c.value]
        assert cover[0].startswith(f"Grievances in {pack.area_name}")
        for needed in ("Period", "Data date", "Contact", "Shorthand [c]", "Shorthand [z]", "Shorthand [x]"):
            assert needed in cover, needed
        links = {c.value: c.hyperlink.location for c in wb["Contents"]["A"][3:] if c.hyperlink}
        assert links == {n: f"'{n}'!A1" for n in ["Notes", *(s.name for s in expected)]}
        for ws in wb.worksheets:
            assert ws.freeze_panes is None and not ws.merged_cells.ranges, ws.title
            assert "_" not in ws.title and len(ws.title) <= 31
        for s in expected:
            ws = wb[s.name]
            assert ws["A1"].value == s.title
            assert list(ws.tables) == [s.key] and ws.tables[s.key].ref.startswith("A3:"), s.name
            header = [c.value for c in ws[3]][:len(s.columns)]
            assert header == [c.label for c in s.columns] and not INTERNAL & set(header)
            for i, row in enumerate(ws.iter_rows(min_row=4, max_row=3 + len(s.rows), max_col=len(s.columns)), 0):
                for c, cell, want in zip(s.columns, row, s.rows[i], strict=True):
                    if isinstance(want, str) and c.kind != "text":
                        assert want in SHORTHAND, (s.name, want)  # a number column holds a number or shorthand
                        assert cell.data_type == "s"
                    elif isinstance(want, int | float):
                        assert cell.data_type == "n" and cell.value == pytest.approx(want), (s.name, c.label)
                        if "per 1,000" in c.label:
                            assert "%" not in cell.number_format, (s.name, c.label)
        # The five ethnic groups never vanish, whether or not they have cases.
        for name in ("Raised by ethnic group", "Upheld by ethnic group", "Independent assessor"):
            assert [r[0] for r in wb[name].iter_rows(min_row=4, max_row=9, values_only=True)] == list(ETHNIC_GROUPS)
        for name in ("Raised by category", "Closed by outcome"):
            assert [c.value for c in wb[name][3]][1:8] == [*ETHNIC_GROUPS, "Total"]


def test_workbook_charts_read_only_cells_holding_numbers(packs):
    for area, (_, files) in packs.items():
        data = _file(files, "xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(data))
        z = zipfile.ZipFile(io.BytesIO(data))
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) >= 2, area  # the exact monthly counts and the funnel; breakdowns where released
        refs = 0
        for n in charts:
            xml = z.read(n).decode()
            for f in re.findall(r"<c:f>(.*?)</c:f>", xml):
                for sheet, cell in re.findall(r"'([^']+)'!\$([A-Z]+\$\d+)", f.replace("&apos;", "'")):
                    refs += 1
                    value = wb[sheet][cell.replace("$", "")].value
                    assert value is not None and not (isinstance(value, str) and value in SHORTHAND), (area, f)
            # Values (not category labels) must be numbers.
            for f in re.findall(r"<c:(?:val|yVal)><c:numRef><c:f>(.*?)</c:f>", xml):
                for sheet, cell in re.findall(r"'([^']+)'!\$([A-Z]+\$\d+)", f.replace("&apos;", "'")):
                    assert isinstance(wb[sheet][cell.replace("$", "")].value, int | float), (area, f)
        assert refs > 0
        drawings = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/drawings/drawing"))
        alts = re.findall(r'descr="([^"]*)"', drawings)
        assert len(alts) == len(charts) and all(len(a) > 40 for a in alts)


def test_ods_holds_the_same_tables_as_the_workbook(packs):
    for _area, (pack, files) in packs.items():
        ods = pd.read_excel(io.BytesIO(_file(files, "ods")), engine="odf", sheet_name=None, header=None,
                            keep_default_na=False)
        expected = sheets(pack)
        assert list(ods) == FIRST_SHEETS + [s.name for s in expected]
        for s in expected:
            frame = ods[s.name]
            assert frame.iat[0, 0] == s.title
            assert list(frame.iloc[2, :len(s.columns)]) == [c.label for c in s.columns]
            for i, want in enumerate(s.rows):
                for j, (c, v) in enumerate(zip(s.columns, want, strict=True)):
                    got = frame.iat[3 + i, j]
                    if c.kind == "month":
                        assert pd.Timestamp(got).date() == v
                    elif isinstance(v, int | float):
                        assert float(got) == pytest.approx(v), (s.name, c.label)
                    else:
                        assert got == v, (s.name, c.label)


def _struct(reader):
    tags, alts = {}, []

    def walk(node):
        node = node.get_object()
        if isinstance(node, list):
            for c in node:
                walk(c)
            return
        if not isinstance(node, dict):
            return
        if "/S" in node:
            tags[node["/S"]] = tags.get(node["/S"], 0) + 1
            if node["/S"] == "/Figure":
                alts.append(str(node.get("/Alt", "")))
        if "/K" in node:
            walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return tags, alts


def test_pdf_is_tagged_with_alt_text_findings_first_and_no_jargon(packs):
    for _area, (pack, files) in packs.items():
        reader = PdfReader(io.BytesIO(_file(files, "pdf")))
        root = reader.trailer["/Root"]
        assert root["/MarkInfo"]["/Marked"] and root["/Lang"] == "en-GB"
        assert b"pdfuaid" in root["/Metadata"].get_object().get_data()
        tags, alts = _struct(reader)
        assert tags.get("/H1") == 1 and tags.get("/Table", 0) >= 12 and tags.get("/TH", 0) > 0
        assert alts and all(len(a) > 60 and a != "chart" for a in alts), alts
        assert any("Line chart of grievances each month" in a for a in alts)
        pages = [p.extract_text() for p in reader.pages]
        # Text order on page 1: title, the findings in rank order, then the month's counts.
        first = pages[0].replace("\n", "").replace(" ", "")
        order = [first.index(f"{pack.area_name}:grievances".replace(" ", "")), first.index("Whatthefiguresshow")]
        order += [first.index(f.statement[:40].replace(" ", "")) for f in pack.findings[:3]]
        order.append(first.index(f"Countsfor{pack.month_label}".replace(" ", "")))
        assert order == sorted(order), order
        text = "\n".join(pages)
        for jargon in ("suppression_set", "alarm", "Brookmeyer", "log-log", "is_suppressed"):
            assert jargon not in text, jargon
        # The plain-English notes come last: after every table, ending on the last page.
        assert text.index("How to read this pack") > text.index("Misconduct referrals per 1,000 person-years")
        assert "How findings are chosen" in text and "Charts" in pages[-1]


def test_days_and_person_years_are_whole_numbers(packs):
    for _area, (pack, _) in packs.items():
        for s in sheets(pack):
            for c in s.columns:
                if c.kind in ("days", "person_years", "count"):
                    assert all(not isinstance(v, float) for v in s.column(c.label)), (s.name, c.label)


def test_xlsx_and_ods_bytes_repeat(wh, packs, choice):
    area = choice["busiest"]
    again = build_pack_files(wh, choice["month"], area, ("xlsx", "ods"))
    for ext in ("xlsx", "ods"):
        assert _file(again, ext) == _file(packs[area][1], ext), ext


def test_poisson_trend_matches_an_independent_fit():
    counts = [2, 3, 1, 4, 5, 3, 6, 7, 5, 8, 6, 9, 10]
    slope, p = poisson_trend(counts)
    t = list(range(len(counts)))

    def nll(ab):  # Poisson log-likelihood of log mu = a + b t, fitted by scipy's optimiser
        import math
        return -sum(y * (ab[0] + ab[1] * x) - math.exp(ab[0] + ab[1] * x) for x, y in zip(t, counts, strict=True))

    fit = optimize.minimize(nll, [1.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    import math
    mean = sum(counts) / len(counts)
    null = -sum(y * math.log(mean) - mean for y in counts)
    assert slope == pytest.approx(fit.x[1], abs=1e-5)
    assert p == pytest.approx(stats.chi2.sf(2 * (null - fit.fun), 1), rel=1e-4)
    assert poisson_trend([0] * 13) is None


def test_batch_writes_one_folder_per_area_and_refuses_bad_requests(export_db, choice, tmp_path):
    from datetime import date

    from metrics.warehouse import Warehouse

    with Warehouse(export_db) as wh:
        files = export_packs(wh, choice["month"], area=choice["busiest"], formats=["xlsx", "ods"], out_dir=tmp_path)
        assert sorted(p.name for p in files) == sorted(f"{choice['busiest']}-{choice['month']:%Y-%m}.{e}"
                                                        for e in ("xlsx", "ods"))
        with pytest.raises(ExportError, match="unknown business area 'NOPE'"):
            export_packs(wh, choice["month"], area="NOPE", out_dir=tmp_path)
        with pytest.raises(ExportError, match="no data for 1990-01"):
            export_packs(wh, date(1990, 1, 1), out_dir=tmp_path)


# ---- planted effects at mps ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mps_packs(mps_warehouse):
    from metrics.warehouse import Warehouse

    with Warehouse(mps_warehouse) as wh:
        month = wh.query("select max(month_start) as m from dim_calendar")["m"][0]
        cache = ForceCache()
        areas = [*business_areas(wh)["business_area_code"].to_list(), FORCE]
        yield {a: assemble_pack(wh, month, a, cache=cache) for a in areas}


def test_north_east_page_one_leads_with_its_funnel_position_and_names_women_and_disabled_staff(mps_packs):
    """The planted North East alarm leads; the characteristic differences its protected tables
    support (the release's latest period, counts rounded to 5) follow, with the table's own figures."""
    ne = mps_packs["NE"]
    assert ne.findings[0].theme == "Funnel position"
    assert "above the force's 99.8% limit" in ne.findings[0].statement
    sex = ne.table("raised_by_sex").frame
    female = sex.filter(pl.col("group") == "Female").row(0, named=True)
    women = next(x for x in ne.findings if x.theme == "Rates against the force" and " women (" in x.statement)
    assert f"women ({female['rate_per_1000']:.1f} against" in women.statement
    assert women.p_adjusted < 0.05 and "FY2026/27 to date (Apr-Sep 2026)" in women.statement
    assert any("not disabled" in x.statement for x in ne.findings if x.theme == "Rates against the force")


def test_every_mps_area_lists_only_supported_findings_from_shown_groups(mps_packs):
    for area, pack in mps_packs.items():
        assert pack.findings_note
        ps = [x.p_adjusted for x in pack.findings if x.p_adjusted is not None]
        assert all(p < pack.settings.alpha for p in ps), area
        assert ps == sorted(ps), f"{area}: findings not ranked by strength of evidence"
        hidden = set()
        for t in pack.tables:
            if t.characteristic and "is_suppressed" in t.frame.columns:
                hidden |= set(t.frame.filter(pl.col("is_suppressed").fill_null(False))["group"].to_list())
        for x in pack.findings:
            assert x.test in x.statement, (area, x.statement)
    quiet = [a for a, p in mps_packs.items() if not any(x.theme == "Funnel position" for x in p.findings)]
    assert "NE" not in quiet and len(quiet) >= len(mps_packs) - 3


def test_no_pdf_page_but_the_last_is_half_blank(packs, tmp_path):
    """Rendered as a reader sees it (poppler's pdftoppm): every page but the last has print in its
    lower half, between the running header and footer."""
    import subprocess

    import numpy as np

    for area, (_, files) in packs.items():
        pdf = tmp_path / f"{area}.pdf"
        pdf.write_bytes(_file(files, "pdf"))
        subprocess.run(["pdftoppm", "-r", "20", "-gray", str(pdf), str(tmp_path / area)], check=True)
        pages = sorted(tmp_path.glob(f"{area}-*.pgm"))
        assert len(pages) >= 3
        for page in pages[:-1]:
            raw = page.read_bytes()
            _, w, h, _, _ = raw.split(maxsplit=4)
            w, h = int(w), int(h)
            ink = np.frombuffer(raw[-w * h:], dtype=np.uint8).reshape(h, w) < 200
            body = ink[int(h * 20 / 297):int(h * (1 - 18 / 297))]  # inside the page margins
            lowest = np.where(body.any(axis=1))[0].max() + int(h * 20 / 297)
            assert lowest / h > 0.5, f"{area} {page.name}: the lower half is blank"


def test_north_east_rates_against_the_rest_of_the_force_are_exact_tests_holm_adjusted(mps_packs):
    ne = mps_packs["NE"]
    t = ne.table("raised_by_sex")
    raw = {}
    for g in ("Female", "Male"):
        a = t.frame.filter(pl.col("group") == g).row(0, named=True)
        f = t.force.filter(pl.col("group") == g).row(0, named=True)
        k_rest, e_rest = f["events"] - a["events"], f["exposure"] - a["exposure"]
        # R: poisson.test(c(k_area, k_rest), c(E_area, E_rest)) = binomtest(k_area, k_area + k_rest, E_a / (E_a + E_r))
        raw[g] = stats.binomtest(a["events"], a["events"] + k_rest, a["exposure"] / (a["exposure"] + e_rest)).pvalue
    lo, hi = sorted(raw.values())
    holm = max(min(1.0, 2 * lo), min(1.0, hi))  # R: max(p.adjust(c(lo, hi), "holm"))
    finding = next(x for x in ne.findings if x.theme == "Rates against the force" and "for women" in x.statement)
    assert finding.p_adjusted == pytest.approx(holm) and finding.p_value == pytest.approx(lo)
    assert "and men" in finding.statement


@pytest.fixture(scope="module")
def no_effect_packs(mps_no_effects_warehouse):
    from metrics.warehouse import Warehouse

    with Warehouse(mps_no_effects_warehouse) as wh:
        month = wh.query("select max(month_start) as m from dim_calendar")["m"][0]
        cache = ForceCache()
        areas = [*business_areas(wh)["business_area_code"].to_list(), FORCE]
        yield {a: assemble_pack(wh, month, a, cache=cache) for a in areas}


def test_with_no_planted_effects_north_east_has_no_findings_and_few_areas_have_any(no_effect_packs):
    assert no_effect_packs["NE"].findings == ()
    assert no_effect_packs["NE"].findings_note.startswith("Nothing in North East stands out")
    assert not any(x.theme == "Funnel position" for p in no_effect_packs.values() for x in p.findings)
    # Each pack controls its own family-wise error at 5%: across ~40 packs a few chance findings, not many.
    flagged = [a for a, p in no_effect_packs.items()
               if any(x.theme != "Time to resolve" for x in p.findings)]  # median 70 days < 90 is planted
    assert len(flagged) <= len(no_effect_packs) // 5, flagged
