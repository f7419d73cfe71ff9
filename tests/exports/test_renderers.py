"""The renderers on a hand-made pack (no warehouse): fixed workbook metadata and zip timestamps,
hidden counts as "<5" / "[c]", an empty month said plainly, and charts without dates."""

from __future__ import annotations

import io
import zipfile

from handmade import MONTH, handmade_pack
from xlsx_read import read_xlsx

from dashboard.exports import charts
from dashboard.exports.csvs import render_csvs
from dashboard.exports.pdf import render_html
from dashboard.exports.xlsx import render_xlsx


def test_xlsx_bytes_are_fixed_by_the_pack_alone():
    a, b = render_xlsx(handmade_pack()), render_xlsx(handmade_pack())
    assert a == b
    z = zipfile.ZipFile(io.BytesIO(a))
    assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = z.read("docProps/core.xml").decode()
    assert "<dcterms:created xsi:type=\"dcterms:W3CDTF\">2026-11-01T09:30:00Z</dcterms:created>" in core


def test_hidden_counts_show_their_marker_and_never_the_number():
    pack = handmade_pack()
    book = read_xlsx(render_xlsx(pack))
    summary = book["Summary"]
    # month: raised 12, closed 3 (hidden), open 31, overdue 2 (hidden)
    assert [summary[(5 + i, 1)] for i in range(4)] == [12.0, "<5", 31.0, "<5"]
    trend = render_csvs(pack)["trend.csv"].decode().splitlines()
    closed = [r for r in trend if ",n_closed," in r]
    assert f"{MONTH},n_closed,Grievances closed,,n_closed,<5,true" in closed
    # the closed series over 12 months is a published total: a second month is hidden with it
    assert sum(1 for r in closed if ",[c],true" in r) == 1


def test_an_empty_month_is_said_plainly():
    pack = handmade_pack(empty=True)
    html = render_html(pack)
    assert "No grievances were raised, closed or open in Central West (BCU01) in September 2026." in html
    assert [pack.headline_display[m] for m in pack.headline_display] == ["0", "0", "0", "0"]


def test_svg_charts_are_deterministic_and_undated():
    trend = handmade_pack().table("trend").frame
    a, b = charts.trend_chart(trend), charts.trend_chart(trend)
    assert a == b
    assert "<dc:date>" not in a
    # black-and-white: the four series differ by marker and dash, not only colour
    assert a.count("stroke-dasharray") >= 3
