"""Every page under every role, run headless with AppTest against the small sample warehouse.

Checks: no exception and no error box; the numbers shown are exactly get_table's for the same
filters and role; a staff association sees no person id, no count of 1-4 and no quarantine row;
sign-in maps an email to a role and refuses unknown users.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard import charts
from dashboard.app import ROLE_PAGES
from dashboard.theme import TABLE_COLUMN_LABELS
from metrics.tables import REGISTRY, get_table

ROLES = ("board", "staff_association", "analyst")

# Per page: tables whose number table must match get_table exactly (name, filter change, per_1000).
EXPECTED = {
    "overview": [("grievance_upheld_adjusted", {}, False), ("iopc_status", {}, False),
                 ("misconduct_trend", {"start": None, "end": None}, True)],
    "grievances": [("grievance_outcomes", {}, False), ("grievance_rates", {}, True),
                   ("grievance_independent_assessor", {}, False)],
    "misconduct": [("misconduct_rates", {}, True), ("misconduct_stages", {}, False),
                   ("misconduct_adjusted", {}, True)],
    "recruitment": [("recruitment_funnel", {}, False), ("outreach", {}, False)],
    "stride": [("stride_status", {}, False), ("iopc_status", {}, False)],
    "acting_up": [("acting_up", {}, False), ("acting_up_rationale", {}, False)],
    "spoc": [("spoc_monthly", "last_month", False)],  # the long table under "The numbers"
    "data_quality": [("data_quality", {}, False), ("quarantine_rules", {}, False)],
    "benchmarks": [],  # slices of force_representation: tests/dashboard/test_benchmarks_page.py
}
PERSON_ID = re.compile(r"\bP\d{7}\b")
COUNT_LABELS = {"Number", "Events", "Rows", "People", "Not stated"} | {v for labels in TABLE_COLUMN_LABELS.values()
                                                                   for k, v in labels.items() if k in ("n", "events")}
COUNT_LABELS -= {"Person-years"}  # time in post, not a count of people


def run_page(at, page: str):
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    return at


def assert_clean(at, where: str) -> None:
    assert not at.exception, f"{where}: {[e.message for e in at.exception]}"
    assert not at.error, f"{where}: {[e.value for e in at.error]}"


def shown_frames(at) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def expected_frame(wh, name, change, per_1000, role, default_filters) -> pd.DataFrame:
    f = default_filters
    if role == "staff_association":  # the sidebar offers released periods only, the latest first
        from metrics.release import release_periods

        f = release_periods(wh)[-1].filters
    if change == "last_month":
        f = f.with_(start=f.end)
    else:
        f = f.with_(**change)
    shown, _ = charts.display_frame(get_table(wh, name, f, role=role), per_1000=per_1000, name=name)
    return shown.to_pandas()


def matches(expected: pd.DataFrame, frames: list[pd.DataFrame]) -> bool:
    for got in frames:
        if list(got.columns) != list(expected.columns) or len(got) != len(expected):
            continue
        try:
            pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                          check_dtype=False, check_exact=False, rtol=1e-12)
            return True
        except AssertionError:
            continue
    return False


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_and_shows_get_table_numbers(role, app_env, warehouse, default_filters):
    at = app_env(role)
    at.run()
    assert_clean(at, f"{role} first page")
    for page in ROLE_PAGES[role]:
        run_page(at, page)
        assert_clean(at, f"{role}/{page}")
        assert at.title and at.title[0].value, f"{role}/{page}: no page title"
        frames = shown_frames(at)
        for name, change, per_1000 in EXPECTED[page]:
            if not REGISTRY[name].allowed(role):
                continue  # not in the restricted release: the page leaves it out
            want = expected_frame(warehouse, name, change, per_1000, role, default_filters)
            assert matches(want, frames), f"{role}/{page}: the {name} table differs from get_table"
        text = " ".join(m.value for m in [*at.markdown, *at.caption, *at.subheader, *at.title, *at.info])
        assert "bame" not in text.lower(), f"{role}/{page}: says BAME"
        for m in at.markdown:  # a headline is also one of the sentences under it: said once
            bullets = [line for line in m.value.splitlines() if line.startswith("- ")]
            assert len(bullets) == len(set(bullets)), f"{role}/{page}: a sentence is repeated: {m.value[:200]}"


def test_staff_association_sees_no_person_and_no_small_count(app_env):
    at = app_env("staff_association")
    at.run()
    for page in ROLE_PAGES["staff_association"]:
        run_page(at, page)
        assert_clean(at, page)
        if page == "benchmarks":
            continue  # the Home Office's published tables, shown as published to every role
        for frame in shown_frames(at):
            cols = [str(c) for c in frame.columns]
            assert "person_id" not in [c.lower() for c in cols] and "Row in file" not in cols, f"{page}: {cols}"
            if cols and cols[0] == "Area code" or "Officers in the group" in cols:
                continue  # the funnel's area totals (no breakdown) and officers by ethnic group on 31 March
                # (published to the Home Office every year) are exact by the release's rule
            is_crosstab = cols and cols[0] == "Group" and "Number" not in cols
            for col in cols:
                values = frame[col].tolist()
                assert not any(PERSON_ID.search(str(v)) for v in values), f"{page}: person id in {col}"
                if col in COUNT_LABELS or (is_crosstab and col != "Group"):
                    counts = [int(v) for v in values if re.fullmatch(r"\d+", str(v).strip())]
                    small = [v for v in counts if 1 <= v <= 7 or v % 5]  # hidden below 8, rounded to 5
                    assert not small, f"{page}: visible count(s) {small} in column {col}"
        assert not [s for s in at.subheader if "Quarantined rows" == s.value[:16] and "rule" not in s.value]


def test_staff_association_and_board_do_not_get_analyst_pages(app_env):
    assert "spoc" not in ROLE_PAGES["staff_association"] and "overview" not in ROLE_PAGES["staff_association"]
    assert "spoc" not in ROLE_PAGES["board"]
    at = app_env("staff_association")
    at.run()
    run_page(at, "data_quality")
    assert_clean(at, "data_quality")
    assert "Quarantined rows (analysts only)" not in [s.value for s in at.subheader]
    at_analyst = app_env("analyst")
    at_analyst.run()
    run_page(at_analyst, "data_quality")
    assert "Quarantined rows (analysts only)" in [s.value for s in at_analyst.subheader]


def test_filters_change_the_numbers_to_get_table_for_those_filters(app_env, warehouse, default_filters):
    at = app_env("analyst")
    at.run()
    run_page(at, "grievances")
    at.selectbox(key="period").set_value("all").run()
    at.selectbox(key="characteristic").set_value("sex").run()
    assert_clean(at, "grievances, all years by sex")
    f = default_filters.with_(start=None, end=None, characteristic="sex")
    months = sorted(warehouse.table("dim_calendar")["month_start"].to_list())
    f = f.with_(start=months[0], end=months[-1])
    shown, _ = charts.display_frame(get_table(warehouse, "grievance_outcomes", f, role="analyst"),
                                    name="grievance_outcomes")
    assert set(shown["Group"].to_list()) >= {"Female", "Male"}
    assert matches(shown.to_pandas(), shown_frames(at))


def test_filters_carry_codes_and_show_labels(app_env, warehouse, default_filters):
    """The sidebar's choices are codes (session state, widget values); the label is only shown."""
    at = app_env("analyst")
    at.run()
    run_page(at, "grievances")
    period, worker = at.selectbox(key="period"), at.selectbox(key="worker_type")
    assert period.options == ["Rolling 12 months", "Financial year", "Custom month range", "All years"]
    assert worker.options == ["All worker types", "Police officer", "Police staff", "PCSO", "Special constable"]
    period.set_value("all")
    worker.set_value("STAFF")
    at.run()
    assert_clean(at, "grievances, police staff, all years")
    assert at.session_state["worker_type"] == "STAFF" and at.session_state["period"] == "all"
    assert at.selectbox(key="worker_type").value == "STAFF"
    months = sorted(warehouse.table("dim_calendar")["month_start"].to_list())
    every = default_filters.with_(start=months[0], end=months[-1])
    staff = every.with_(worker_type="Police staff")  # metrics filters on the marts' label
    shown, _ = charts.display_frame(get_table(warehouse, "grievance_outcomes", staff, role="analyst"),
                                    name="grievance_outcomes")
    assert matches(shown.to_pandas(), shown_frames(at))
    everyone, _ = charts.display_frame(get_table(warehouse, "grievance_outcomes", every, role="analyst"),
                                       name="grievance_outcomes")
    assert shown["Closed grievances"].to_list() != everyone["Closed grievances"].to_list()  # it reached the query
    assert "all worker types" not in at.caption[0].value and "Police staff" in " ".join(c.value for c in at.caption)


def test_sign_in_maps_email_to_role_and_refuses_unknown_users(app_env, tmp_path):
    role_map = tmp_path / "roles.yaml"
    role_map.write_text("board: [chair@force.police.uk]\nstaff_association: [bpa@force.police.uk]\n", encoding="utf-8")
    at = app_env("analyst")  # EQDASH_ROLE must be ignored once sign-in is configured
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://login.example/.well-known/openid-configuration"}
    at.secrets["eqdash"] = {"role_map": str(role_map)}
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]
    at.user = {"is_logged_in": True, "email": "someone@force.police.uk"}
    at.run()
    assert at.title[0].value == "No access"
    # In the role map, but the identity provider has not verified the address: no role.
    at.user = {"is_logged_in": True, "email": "Chair@Force.Police.UK"}
    at.run()
    assert at.title[0].value == "No access"
    assert [t.value for t in at.text] == ["Chair@Force.Police.UK is not verified by the sign-in provider, so it "
                                          "cannot be given a role."]
    at.user = {"is_logged_in": True, "email": "Chair@Force.Police.UK", "email_verified": False}
    at.run()
    assert at.title[0].value == "No access"
    at.user = {"is_logged_in": True, "email": "Chair@Force.Police.UK", "email_verified": True}
    at.run()
    assert_clean(at, "board via sign-in")
    assert at.title[0].value == "Overview"
    assert any("Management Board" in c.value for c in at.sidebar.caption)


def test_role_for_email():
    from dashboard.data import role_for_email

    mapping = {"analyst": ["a@x.uk", "both@x.uk"], "staff_association": ["both@x.uk"], "board": ["b@x.uk"]}
    assert role_for_email("A@X.uk ", mapping) == "analyst"
    assert role_for_email("both@x.uk", mapping) == "staff_association"  # the more restricted role wins
    assert role_for_email("nobody@x.uk", mapping) is None
    assert role_for_email(None, mapping) is None


def test_role_map_with_an_unknown_role_is_an_error(tmp_path):
    from dashboard.data import load_role_map

    path = tmp_path / "roles.yaml"
    path.write_text("admin: [a@x.uk]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"roles.yaml: unknown role\(s\) \['admin'\]"):
        load_role_map(path)


def test_no_bame_in_the_interface_source():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [*(root / "dashboard").rglob("*.py"), root / "metrics" / "narrative.py", root / "metrics" / "config.py"]
    offenders = [str(p) for p in files if re.search(r"\bBAME\b", p.read_text(encoding="utf-8"))]
    assert not offenders


def plotly_specs(at) -> dict[str, dict]:
    """The page's plotly figures as JSON, by title."""
    import json

    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    return {s["layout"].get("title", {}).get("text", ""): s for s in specs}


def test_not_stated_shares_are_drawn_and_tabled_by_characteristic(app_env):
    """Every row of not_stated is the group 'Not stated': the chart drew all bars on one
    'Not stated' category and the table had no column saying which characteristic a row is."""
    at = app_env("board")
    at.run()
    run_page(at, "data_quality")
    assert_clean(at, "data_quality")
    spec = plotly_specs(at)["Share 'not stated' among people in post"]
    xs = [x for tr in spec["data"] if tr.get("type") == "bar" for x in tr["x"]]
    assert len(xs) >= 5 and len(set(xs)) == len(xs) and "Not stated" not in xs
    assert "Disability" in xs and "Ethnic group" in xs
    table = next(f for f in shown_frames(at) if "Characteristic" in f.columns)
    assert set(table["Group"]) == {"Not stated"} and table["Characteristic"].is_unique


def _say_headline_and_sentences() -> None:
    from dashboard.app_pages import common

    headline = "Black officers and staff were 1.8 times the rate of White officers and staff."
    common.say([headline, "Asian officers and staff were 1.5 times ...", headline, "Mixed ..."])


def test_a_headline_that_is_also_a_group_sentence_is_said_once():
    """At mps (Misconduct, Acting-up) the headline was the most telling group's sentence, and that
    sentence came again in the list below it. The small sample has no significant group, so the
    page test above cannot see it: say() is checked directly."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_say_headline_and_sentences, default_timeout=60).run()
    lines = at.markdown[0].value.splitlines()
    assert len(lines) == 3 and lines[0].startswith("- Black") and len(set(lines)) == 3


def test_dates_in_number_tables_are_shown_as_dates(app_env):
    """board_date is a date: shown as '12 Oct 2026', without the midnight time it got on the way to the browser."""
    at = app_env("board")
    at.run()
    run_page(at, "stride")
    dated = [v for d in at.dataframe if "Board date" in d.value.columns for v in d.value["Board date"]]
    assert dated and all(re.fullmatch(r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}", v)
                         for v in dated), dated[:3]


def test_spoc_month_table_lists_business_areas_in_order(app_env):
    at = app_env("analyst")
    at.run()
    run_page(at, "spoc")
    assert_clean(at, "spoc")
    # The month's wide table (one row per area, a column per measure), not the long one above it.
    wide = next(f for f in shown_frames(at) if {"Business area", "Open at month end"} <= set(f.columns))
    areas = wide["Business area"].tolist()
    assert len(areas) > 5 and areas == sorted(areas)


def test_findings_table_comes_first_with_verdicts_in_plain_words(app_env, warehouse, default_filters):
    """Acting-up: one row per compared group, the verdict as findings.verdict words (four-fifths),
    before the chart and the sentences."""
    from metrics import findings

    at = app_env("board")
    at.run()
    run_page(at, "acting_up")
    assert_clean(at, "acting_up")
    table = at.table[0].value
    assert list(table.columns) == ["Group", "Measure", "Ratio", "95% interval", "Adjusted p", "Verdict"]
    rows = get_table(warehouse, "acting_up", default_filters, role="board")
    want = [(r["group"], findings.verdict(r, four_fifths=True)) for r in rows.iter_rows(named=True)
            if not r["is_reference"]]
    assert list(zip(table["Group"], table["Verdict"], strict=True)) == want
    assert set(table["Measure"]) == {"impact ratio"}
    assert all(p == "–" or p == "< 0.001" or re.fullmatch(r"\d\.\d{3}", p) for p in table["Adjusted p"])


def test_every_crosstab_has_a_percent_within_group_view(app_env, warehouse, default_filters):
    at = app_env("analyst")
    at.run()
    run_page(at, "grievances")
    views = {w.key: w for w in at.segmented_control}
    assert set(views) == {"view-grievance_categories", "view-grievance_outcome_mix"}
    assert all(w.value == "% within group" for w in views.values())
    mix = charts.crosstab_wide(get_table(warehouse, "grievance_outcome_mix", default_filters, role="analyst"),
                               percent=True)
    shown = shown_frames(at)
    assert any(f.equals(mix.to_pandas()) for f in shown)
    for value in at.dataframe:  # every % shown has one decimal
        if "Group" in value.value.columns and value.value.equals(mix.to_pandas()):
            cells = [c for col in mix.columns[1:] for c in mix[col].to_list()]
            assert all(c in (None, "–") or re.fullmatch(r"\d+\.\d%", c) for c in cells), cells
    views["view-grievance_outcome_mix"].set_value("Counts").run()
    counts = charts.crosstab_wide(get_table(warehouse, "grievance_outcome_mix", default_filters, role="analyst"))
    assert any(f.equals(counts.to_pandas()) for f in shown_frames(at))
    titles = [json.loads(e.proto.spec)["layout"]["xaxis"]["title"]["text"] for e in at.get("plotly_chart")
              if "How closed grievances ended" in json.loads(e.proto.spec)["layout"]["title"]["text"]]
    assert titles == ["Grievances closed"]


def test_no_internal_names_in_captions(app_env):
    at = app_env("analyst")
    at.run()
    from metrics.tables import REGISTRY

    internal = re.compile(r"\b(" + "|".join(REGISTRY) + r"|ethnicity_group|GLM|binomial GLM on cells)\b")
    for page in ROLE_PAGES["analyst"]:
        run_page(at, page)
        for c in at.caption:
            assert not internal.search(c.value), f"{page}: {c.value}"


def test_closed_number_tables_are_drawn_only_when_opened(app_env):
    at = app_env("board")
    at.session_state["eqdash_open_numbers"] = False
    at.run()
    run_page(at, "misconduct")
    assert_clean(at, "misconduct")
    # Only the first section's table is open; the others wait until their expander is opened.
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [["Group", "Person-years"]]  # misconduct rates
    assert at.get("plotly_chart") == []  # every chart folded: findings first
    at.session_state["open-misconduct_stages-0"] = True
    at.session_state["open-chart-misconduct_rates-0"] = True
    at.run()
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [["Group", "Person-years"],
                                                                 ["Decision point", "Group"]]
    assert [json.loads(e.proto.spec)["layout"]["title"]["text"] for e in at.get("plotly_chart")] == \
        ["Referrals per 1,000 person-years"]


def test_every_needs_action_link_lands_on_a_heading_of_its_page(app_env):
    """Each finding links to /<page>#<section>: that page has a heading with that anchor."""
    import inspect

    from metrics import findings

    source = inspect.getsource(findings)
    targets = set(re.findall(r'page="(\w+)", section="([\w-]+)"', source))
    targets |= set(re.findall(r'Finding\("(\w+)", "([\w-]+)"', source))
    assert len(targets) == 11, sorted(targets)
    at = app_env("analyst")
    at.run()
    for page in sorted({p for p, _ in targets}):
        run_page(at, page)
        anchors = {h.anchor for h in [*at.subheader, *at.header]}
        for p, section in targets:
            if p == page:
                assert section in anchors, f"/{page}#{section} has no heading: {sorted(anchors)}"


def test_the_data_quality_page_says_each_extracts_notes_with_file_text_escaped(small_dir, tmp_path, monkeypatch):
    """What the build tolerated (an open-end marker, a column not in the contract) is said beside the
    row counts; a header cell from the file is text, never Markdown (no bold, no link)."""
    import polars as pl
    from contract_data import copy_with_open_end_marker
    from streamlit.testing.v1 import AppTest

    from metrics.warehouse import build

    data = tmp_path / "data"
    copy_with_open_end_marker(small_dir, data)
    people = pl.read_csv(data / "people.csv", infer_schema=False)
    people.with_columns(pl.lit("x").alias("**Bold** [link](http://x.example)")).write_csv(data / "people.csv")
    build(data, tmp_path / "eq.duckdb", as_of=None)
    monkeypatch.setenv("EQDASH_DB", str(tmp_path / "eq.duckdb"))
    monkeypatch.setenv("EQDASH_ROLE", "analyst")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py"), default_timeout=600)
    at.run()
    run_page(at, "data_quality")
    assert_clean(at, "data_quality with notes")
    said = [m.value for m in at.markdown if "Noted:" in m.value]
    assert len(said) == 1
    lines = said[0].splitlines()
    assert ("- postings: 17,717 rows read, 17,717 accepted, 0 quarantined. Noted: 1 end\\_date value\\(s\\) "
            "9999\\-12\\-31 read as open \\(no end date\\).") in lines
    assert ("- people: 7,245 rows read, 7,245 accepted, 0 quarantined. Noted: WARNING\\: column\\(s\\) not in the "
            "contract ignored\\: \\*\\*Bold\\*\\* \\[link\\]\\(http\\://x\\.example\\).") in lines
    assert "- grievances: 272 rows read, 272 accepted, 0 quarantined." in lines
