"""What every page does with a metric table: fetch it for the session's role, say what it finds
(a short findings table first), draw it with a description, and put its numbers in a table.
Render only: no statistics here."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, data, theme
from metrics import findings, formats
from metrics.config import APPLICANT_CHARACTERISTICS
from metrics.queries import Filters

PAGE_ROWS = 12  # a number table taller than this scrolls inside its frame (the page stays short)


def anchor(name: str) -> str:
    """A section's anchor (the needs-action list links to /<page>#<anchor>)."""
    return name.replace("_", "-")


def fetch(name: str, f: Filters | None = None, *, quiet: bool = False) -> pl.DataFrame | None:
    """The table, or None with a message saying why (role, or a table that could not be computed)."""
    from metrics.queries import FilterError
    from metrics.tables import AccessDenied

    try:
        return data.table(name, f)
    except AccessDenied as e:
        if not quiet:
            st.info(f"Not available for your role: {e}.")
    except FilterError as e:
        if not quiet:
            st.info(str(e))
    except Exception as e:  # a broken table must not take the rest of the page with it
        st.error(f"'{data.spec(name).title}' could not be computed: {type(e).__name__}: {e}")
    return None


def section(name: str, f: Filters | None = None, *,
            chart: Callable[[pl.DataFrame], go.Figure] | None = None,
            sentences: Callable[[pl.DataFrame], list[str] | str] | None = None,
            per_1000: bool = False, title: str | None = None, key: str | None = None,
            expanded: bool = False, crosstab: bool = False, verdicts: str | None = None,
            measure: str | None = None) -> pl.DataFrame | None:
    """One metric table on a page: heading, the findings table (tidy tables with ratios), the
    sentences, then the chart (with its description) and the number table, each folded until opened.

    `verdicts`: "ratio" or "four_fifths" to show the findings table; `measure` names the ratio.
    """
    spec = data.spec(name)
    st.subheader(title or spec.title, anchor=anchor(key or name))
    st.caption(theme.reader_description(name, spec.description))
    frame = fetch(name, f)
    if frame is None:
        return None
    key = key or name
    if verdicts is not None:
        findings_table(frame, key=key, measure=measure or "ratio", four_fifths=verdicts == "four_fifths")
    if sentences is not None:
        say(sentences(frame), label="In words")
    evidence = evidence_lines(frame)
    if evidence:
        say(evidence, label="How sure?")
    percent = False
    if crosstab:
        percent = st.segmented_control("Show", ["% within group", "Counts"], default="% within group",
                                       key=f"view-{key}") != "Counts"
    if chart is not None:
        # Detail after the findings: the chart waits in a closed expander like the numbers, so a page
        # (and plotly's script, on a first visit) costs the browser only what the reader opens.
        with lazy_expander("The chart", expanded=False, key=f"chart-{key}") as box:
            if box.open:
                fig_key = f"{data.filters().characteristic}/{key}" + ("/pct" if percent else "")
                build = (lambda t: chart(t, percent=True)) if percent else chart
                plot(data.figure(name, f, fig_key, build), key=f"chart-{key}")
    if crosstab:
        numbers_crosstab(frame, key=key, expanded=expanded, percent=percent)
    else:
        numbers(frame, key=key, per_1000=per_1000, expanded=expanded, name=name)
    return frame


def _plain(text: object) -> str:
    """A group or stage label shown as written, never as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


def evidence_lines(frame: pl.DataFrame, limit: int = 12) -> list[str]:
    """'How sure?': what each comparison that found no difference could have found (the evidence
    column, metrics/power.py), so 'not significant' never reads as 'no difference' by default."""
    if "evidence" not in frame.columns:
        return []
    rows = frame.filter(pl.col("evidence").is_not_null() & ~pl.col("is_significant").fill_null(False))
    if rows.height == 0:
        return []
    where = [c for c in ("stage", "business_area_code", "force") if c in rows.columns]
    parts = []
    for r in rows.head(limit).iter_rows(named=True):
        label = " · ".join(_plain(r[c]) for c in where if r.get(c) is not None)
        parts.append(f"{_plain(r['group'])}{f' ({label})' if label else ''}: {r['evidence']}")
    more = f"; and {rows.height - limit} more in the table" if rows.height > limit else ""
    return ["**How sure?** " + "; ".join(parts) + more]


def findings_table(frame: pl.DataFrame, *, key: str, measure: str, four_fifths: bool = False) -> None:
    """Group, measure, ratio, interval, adjusted p and a verdict in plain words, one row per compared
    group (and stage), before any sentence or chart."""
    rows = []
    for r in frame.iter_rows(named=True):
        if r.get("is_reference"):
            continue
        verdict = findings.verdict(r, four_fifths=four_fifths)
        hidden = verdict == findings.TOO_FEW
        row = {"Group": str(r.get("group"))}
        if r.get("stage") is not None:
            row = {"Stage": str(r["stage"]), **row}
        row.update({
            "Measure": measure,
            "Ratio": formats.DASH if hidden else formats.fmt_ratio(r.get("ratio")),
            "95% interval": formats.DASH if hidden else formats.fmt_interval(r.get("ratio_ci_low"), r.get("ratio_ci_high")),
            "Adjusted p": formats.DASH if hidden else formats.fmt_p(r.get("p_adjusted")),
            "Verdict": verdict,
        })
        rows.append(row)
    if not rows:
        return
    # A plain HTML table: a screen reader reads it as a table, and it costs the browser far less
    # than an interactive grid.
    st.table(pl.DataFrame(rows))


ROW_HEIGHT = 35


def _height(n: int) -> int | str:
    """A table's height: every row up to PAGE_ROWS, then it scrolls inside its frame."""
    return ROW_HEIGHT * (min(n, PAGE_ROWS) + 1) + 3


def needs_action_table(found: Sequence[findings.Finding], *, key: str) -> None:
    """The Board's red flags: one row per finding, ranked by evidence, each linking to its section."""
    st.markdown(f"#### Needs action: {len(found)} finding{'s' if len(found) != 1 else ''}")
    if not found:
        st.write("No significant adverse finding for this selection.")
        return
    rows = []
    for x in found:
        value = formats.DASH
        if x.measure == "share" or x.measure == "% complete":
            value = formats.fmt_pct(x.value, 0 if x.measure == "% complete" else 1)
        elif x.measure == "per 1,000 person-years":
            value = formats.fmt_rate(x.value)
        elif x.value is not None:
            value = formats.fmt_ratio(x.value)
        if x.ci_low is not None and x.ci_high is not None:
            value += f" ({formats.fmt_pct_interval(x.ci_low, x.ci_high) if x.measure == 'share' else formats.fmt_interval(x.ci_low, x.ci_high)})"
        unit = "complete" if x.measure == "% complete" else x.measure
        rows.append({"Finding": f"{x.topic} · {x.group}", "Value (95% interval)": f"{value} {unit}",
                     "p": formats.fmt_p(x.p), "Verdict": x.verdict, "Lead": x.lead or "",
                     "Go to": f"/{x.page}#{x.section}"})
    table = pl.DataFrame(rows)
    st.dataframe(table, hide_index=True, key=key, width="stretch", row_height=COMPACT_ROW,
                 height=COMPACT_ROW * (len(rows) + 1) + 3,
                 column_config={"Go to": st.column_config.LinkColumn("Go to", display_text="Open", width=50),
                                "Finding": st.column_config.TextColumn("Finding", width=300),
                                "Value (95% interval)": st.column_config.TextColumn("Value (95% interval)", width=185),
                                "p": st.column_config.TextColumn("p", width=58),
                                "Verdict": st.column_config.TextColumn("Verdict", width=215),
                                "Lead": st.column_config.TextColumn("Lead", width=125)})
    st.caption("Ranked by evidence: tested findings by p (adjusted for multiple comparisons; one-sided "
               "for targets; a funnel alarm is beyond its 99.8% limit), then recorded STRIDE and IOPC status.")


COMPACT_ROW = 26


def compact_top() -> None:
    """Less empty space above the first element, so the Board's panel fits a 900-pixel screen."""
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:1rem}</style>")


def plot(fig: go.Figure, *, key: str) -> None:
    st.plotly_chart(fig, config=charts.PLOTLY_CONFIG, key=key, width="stretch", alt=charts.describe(fig))


def say(lines: list[str] | str | None, *, label: str | None = None) -> None:
    if not lines:
        return
    if isinstance(lines, str):
        lines = [lines]
    # A headline is also one of the group sentences below it: say it once, first.
    text = "\n".join(f"- {line}" for line in dict.fromkeys(lines))
    if label is None or len(lines) <= 2:
        st.markdown(text)
        return
    with st.expander(label):
        st.markdown(text)


def numbers(frame: pl.DataFrame, *, key: str, per_1000: bool = False, expanded: bool = False,
            label: str = "The numbers", name: str | None = None) -> None:
    """The frame as a table with labels naming each quantity, in the one number style."""
    with lazy_expander(label, expanded=expanded, key=key) as box:
        if box.open:
            numbers_table(frame, key=key, per_1000=per_1000, name=name)


def numbers_table(frame: pl.DataFrame, *, key: str, per_1000: bool = False, name: str | None = None) -> None:
    shown, _ = charts.display_frame(frame, per_1000=per_1000, name=name)
    st.dataframe(shown, hide_index=True, key=f"table-{key}", width="stretch", placeholder=formats.DASH,
                 height=_height(shown.height), row_height=ROW_HEIGHT)


def numbers_crosstab(frame: pl.DataFrame, *, key: str, expanded: bool = False, percent: bool = False) -> None:
    """A group x category table, one row per group (hidden cells as '<5' or '[c]'): counts, or the
    % within each group."""
    wide = charts.crosstab_wide(frame, percent=percent)
    with lazy_expander("The numbers" + (" (% within group)" if percent else ""), expanded=expanded, key=key) as box:
        if box.open:
            st.dataframe(wide, hide_index=True, key=f"table-{key}", width="stretch", placeholder=formats.DASH,
                         height=_height(wide.height), row_height=ROW_HEIGHT)


OPEN_ALL_KEY = "eqdash_open_numbers"  # the sidebar's "Open every chart and number table" (or ?open=all)


def lazy_expander(label: str, *, expanded: bool, key: str):
    """An expander whose table or chart is drawn only while it is open (a collapsed grid or chart
    still costs the browser its full weight). Opening it reruns the page, which is quick: the data
    are cached. The sidebar's "Open every chart and number table" (or ?open=all in the address)
    opens them all, e.g. for a screen reader or a print."""
    open_all = bool(st.session_state.get(OPEN_ALL_KEY))
    box = st.expander(label, expanded=expanded or open_all, key=f"open-{key}-{int(open_all)}", on_change="rerun")
    return _Opened(box, open_all)


class _Opened:
    def __init__(self, box, open_all: bool):
        self.box, self.open = box, bool(open_all or box.open)

    def __enter__(self):
        self.box.__enter__()
        return self

    def __exit__(self, *exc):
        return self.box.__exit__(*exc)


def period_caption(f: Filters) -> None:
    dims = data.dimensions()
    area = "whole force" if f.area is None else dims["areas"].get(f.area, f.area)
    when = "all years" if f.start is None else f"{f.start:%b %Y} to {f.end:%b %Y}"
    who = f.worker_type or "all worker types"
    st.caption(theme.escape_markdown(f"{when} · {area} · {who} · compared by "
                                     f"{theme.characteristic_label(f.characteristic).lower()}"))


def applicant_filters(f: Filters) -> Filters:
    """Applications record only ethnicity and sex: other breakdowns fall back to ethnic group."""
    if all(part in APPLICANT_CHARACTERISTICS for part in f.characteristic.split(",")):
        return f
    st.info(f"Applications record only ethnicity and sex, not {theme.characteristic_label(f.characteristic).lower()}: "
            "recruitment is compared by ethnic group.")
    return f.with_(characteristic="ethnicity_group")


def stages(frame: pl.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["stage"].to_list())) if "stage" in frame.columns else []
