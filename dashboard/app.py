"""The eqdash Streamlit app: who is looking (role), which pages they get, and the shared filters.

Identity: with an [auth] section in st.secrets the user signs in by OIDC (st.login) and their
email is mapped to a role by the YAML file named in secrets `eqdash.role_map`, only when the identity
provider says the email is verified (the claim in secrets `eqdash.verified_claim`, default
`email_verified`); anyone else sees "no access". Without [auth] (local use) the role is EQDASH_ROLE
(set by `eqdash serve --role`), and without that the least privileged role, staff association: a
missing sign-in configuration never grants more. The role is resolved here once per run and read by
dashboard.data, which passes it to every table fetch.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import data, roles, theme  # noqa: E402
from metrics import formats  # noqa: E402
from metrics.config import CHARACTERISTICS  # noqa: E402
from metrics.queries import Filters  # noqa: E402
from metrics.release import fy_label  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"

# Which pages each role gets, in menu order. Staff associations see outcome tables only; the
# Management Board sees the overview, STRIDE and the aggregate pages; analysts see everything.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "board": ("overview", "grievances", "misconduct", "recruitment", "stride", "acting_up", "benchmarks",
              "data_quality"),
    "staff_association": ("grievances", "misconduct", "recruitment", "acting_up", "stride", "benchmarks",
                          "data_quality"),
    "analyst": ("overview", "grievances", "misconduct", "recruitment", "stride", "acting_up", "spoc",
                "benchmarks", "data_quality"),
}

# The sidebar's choices are codes (in session state and widget keys); the label is only what is shown.
PERIODS = {"rolling_12": "Rolling 12 months", "financial_year": "Financial year", "custom": "Custom month range",
           "all": "All years"}


def role_pages(role: str) -> list:
    """The role's pages in menu order. The first is served at the root; Streamlit reserves but does
    not serve its own path for it ("Page not found"), so a hidden twin of the same script answers the
    deep link /<first page>."""
    names = ROLE_PAGES[role]
    first = names[0]
    pages = [st.Page(str(PAGES_DIR / f"{name}.py"), title=theme.PAGE_TITLES[name],
                     url_path=f"{name}-home" if i == 0 else name, default=i == 0) for i, name in enumerate(names)]
    pages.append(st.Page(str(PAGES_DIR / f"{first}.py"), title=theme.PAGE_TITLES[first], url_path=first,
                         visibility="hidden"))
    return pages


def resolve_role() -> str | None:
    """The session's role, or None when a signed-in user is not in the role map."""
    auth = _auth_settings()
    if auth is None:
        return data.env_role()
    if not st.user.is_logged_in:
        return "login"
    role_map_path = auth.get("role_map")
    if not role_map_path:
        st.error("Sign-in is configured but secrets have no eqdash.role_map: nobody can be given a role.")
        return None
    try:
        role_map = data.load_role_map(role_map_path)
    except roles.RoleMapError as e:
        st.error(f"The role map cannot be used, so nobody can be given a role: {e}")
        return None
    claim = auth.get("verified_claim", roles.DEFAULT_VERIFIED_CLAIM)
    return roles.role_for_user(st.user.to_dict(), role_map, verified_claim=claim)


def _auth_settings() -> dict | None:
    try:
        if "auth" not in st.secrets:
            return None
        return dict(st.secrets.get("eqdash", {}))
    except FileNotFoundError:
        return None
    except Exception as e:  # a malformed secrets file must not silently fall back to a local role
        if type(e).__name__ == "StreamlitSecretNotFoundError":
            return None
        raise


def login_page() -> None:
    st.title("eqdash")
    st.write("Sign in with your force account to see the workforce equality dashboard.")
    st.button("Sign in", on_click=st.login, type="primary")


def no_access_page() -> None:
    st.title("No access")
    auth = _auth_settings()
    email = st.user.get("email") if auth is not None else None
    claim = (auth or {}).get("verified_claim", roles.DEFAULT_VERIFIED_CLAIM)
    if email and claim and not _verified(claim):
        st.text(f"{email} is not verified by the sign-in provider, so it cannot be given a role.")
    else:
        st.text(f"{email or 'This account'} has no role in this dashboard.")
    st.write("Ask the workforce analytics team to add you to the role map (Management Board, staff association "
             "or analyst).")
    if _auth_settings() is not None:
        st.button("Sign out", on_click=st.logout)


def _verified(claim: str) -> bool:
    value = st.user.get(claim)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def restricted_filters(dims: dict) -> Filters:
    """A staff association's filters: a released period (complete financial years, this year to
    its last complete quarter), the whole force, one characteristic. Nothing slides: every table
    is cut from the protected release (metrics/release.py)."""
    periods = {p.financial_year: p for p in dims["release_periods"][::-1]}  # one released period a year
    with st.sidebar:
        st.markdown("### Filters")
        fy = st.selectbox("Period", list(periods), key="release_period", format_func=lambda y: periods[y].label)
        characteristic = st.selectbox("Compare by", list(CHARACTERISTICS), key="characteristic",
                                      format_func=theme.characteristic_label)
    return Filters(start=periods[fy].start, end=periods[fy].end, characteristic=characteristic)


def sidebar_filters() -> Filters:
    dims = data.dimensions()
    if data.role() == "staff_association":
        return restricted_filters(dims)
    with st.sidebar:
        st.markdown("### Filters")
        start, end = period_filter(dims)
        areas = dims["areas"]
        area = st.selectbox("Business area", [None, *areas], key="area",
                            format_func=lambda a: "Whole force" if a is None else f"{areas[a]} ({a})")
        workers = data.worker_types()
        worker = st.selectbox("Worker type", [None, *workers], key="worker_type",
                              format_func=lambda w: "All worker types" if w is None else workers[w])
        characteristic = st.selectbox("Compare by", list(CHARACTERISTICS), key="characteristic",
                                      format_func=theme.characteristic_label)
        crossed = st.selectbox("Crossed with", [None, *(c for c in CHARACTERISTICS if c != characteristic)],
                               key="crossed", format_func=lambda c: "Nothing else" if c is None
                               else theme.characteristic_label(c))
    if crossed is not None:  # two characteristics: cells such as "Black x Disabled", and the Overall row
        characteristic = f"{characteristic},{crossed}"
    return Filters(start=start, end=end, area=area, worker_type=data.worker_type_filter(worker),
                   characteristic=characteristic)


def period_filter(dims: dict) -> tuple[date, date]:
    """The period's first and last month, from the period choice (a code) and its own control."""
    months: list[date] = dims["months"]
    period = st.selectbox("Period", list(PERIODS), key="period", format_func=PERIODS.get)
    if period == "rolling_12":
        return months[max(len(months) - 12, 0)], months[-1]
    if period == "financial_year":
        fy = st.selectbox("Financial year", dims["financial_years"][::-1], format_func=fy_label, key="fy")
        in_fy = [m for m in months if (m.year if m.month >= 4 else m.year - 1) == fy]
        return in_fy[0], in_fy[-1]
    if period == "custom":
        return st.select_slider("Months", options=months, value=(months[max(len(months) - 36, 0)], months[-1]),
                                format_func=formats.fmt_month, key="months")
    return months[0], months[-1]


def sidebar_footer(role: str) -> None:
    with st.sidebar:
        st.divider()
        st.caption(f"Signed in as: **{theme.ROLE_LABELS[role]}**")
        try:
            info = data.build_info()
            built = info.get("built_at")
            built = built.strftime("%d %b %Y %H:%M") if hasattr(built, "strftime") else str(built)
            st.caption(f"Warehouse build {info.get('build_id')} · {built}")
        except FileNotFoundError as e:
            st.caption(str(e))
        if role == "staff_association":
            st.caption("Counts are rounded to the nearest 5; counts of 1 to 7, and a few others, are shown as [c], "
                       "so that no one can be identified. Totals with no breakdown are exact.")
        if st.query_params.get("open") == "all" and "eqdash_open_numbers" not in st.session_state:
            st.session_state["eqdash_open_numbers"] = True  # a bookmark that opens everything
        st.toggle("Open every chart and number table", key="eqdash_open_numbers",
                  help="Each section's findings come first; its chart and numbers are drawn when opened. "
                       "This opens them all (so does ?open=all in the address).")
        if _auth_settings() is not None and st.user.is_logged_in:
            st.button("Sign out", on_click=st.logout)


# WCAG 2.2 AA contrast (checked by axe-core in the browser tests): Streamlit draws captions and some
# small text at 60% opacity grey, 3.9:1 on the sidebar; these are at least 4.5:1 on white and grey.
ACCESSIBLE_CSS = """<style>
[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p,
[data-testid='stWidgetLabel'] p, [data-testid='stMetricLabel'] p { color: #4a4a4a !important; opacity: 1 !important; }
.eqdash-synthetic { color: #8a3b00; font-weight: 600; }
</style>"""


def synthetic_banner() -> None:
    """Every page says first the date its data run to (the build's as-of date: every period ends
    there) and, when built from the generator's extracts, that they are synthetic."""
    try:
        info = data.build_info()
    except FileNotFoundError:
        return
    sample, as_of = info.get("synthetic_sample"), info.get("as_of")
    parts = []
    if sample:
        parts.append(f"**Synthetic sample data**: generated by eqdash sample "
                     f"({theme.escape_markdown(str(sample))}): not real people, not the force's figures.")
    if isinstance(as_of, date):
        parts.append(f"**Data to {formats.fmt_date(as_of)}**: every period ends there, so the latest year is a "
                     "part year.")
    if parts:
        st.caption(" ".join(parts))


def main() -> None:
    started = time.perf_counter()  # the server's own run time of this page (record_timing)
    st.set_page_config(page_title="eqdash: workforce equality", layout="wide", initial_sidebar_state="expanded")
    role = resolve_role()
    if role == "login":
        st.navigation([st.Page(login_page, title="Sign in")]).run()
        return
    if role is None:
        st.navigation([st.Page(no_access_page, title="No access")]).run()
        return
    data.set_role(role)
    nav = st.navigation(role_pages(role))
    try:
        data.set_filters(sidebar_filters())
    except FileNotFoundError as e:
        st.error(str(e))
        st.stop()
    sidebar_footer(role)
    st.html(ACCESSIBLE_CSS)
    synthetic_banner()
    nav.run()
    record_timing(role, nav.url_path, time.perf_counter() - started)


def record_timing(role: str, page: str, seconds: float) -> None:
    """With EQDASH_TIMINGS set (the browser benchmark), append each page run's server-side time (the
    whole script run: role, sidebar, page) to that file, one JSON line, beside the browser's felt time."""
    path = os.environ.get("EQDASH_TIMINGS")
    if not path:
        return
    import json

    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"role": role, "page": page or ROLE_PAGES[role][0], "seconds": seconds,
                              "at": time.time()}) + "\n")


# Streamlit (and AppTest) run this file as __main__; importing it (ROLE_PAGES, the benchmarks, the
# server's prewarm thread) must not draw a page.
if __name__ == "__main__":
    main()
