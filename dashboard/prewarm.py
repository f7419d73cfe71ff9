"""Fill the server's caches when it starts, before the first visitor: the first page is then as
quick as a revisit.

`eqdash serve` runs Streamlit through `python -m dashboard.prewarm run ...`: this module first
imports the heavy modules and fetches, for each role a visitor can have, every table of that
role's pages under the default filters (the role's first page first), then hands the rest of the
command line to Streamlit's own CLI in the same process, so the tables computed here are in the
same st.cache_data caches the pages read (dashboard.data). The server starts listening a few
seconds later (about 3 s at mps); its first visitor waits for none of it. Fetching goes through dashboard.data with the role passed explicitly, so
each role's frame is computed by get_table for that role, exactly as a page would.
"""

from __future__ import annotations

import logging
import os
import sys
import time

# Each page's tables, in page order: (table, filters) where filters is "period" (the sidebar's
# default), "all_years" (the page widens the period) or "all_years_ethnicity".
PAGE_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "overview": (("representation", "all_years"), ("recruit_share", "all_years"),
                 ("misconduct_trend", "all_years_ethnicity"), ("misconduct_rates", "period"),
                 ("misconduct_adjusted", "period"), ("misconduct_stages", "period"),
                 ("grievance_upheld_adjusted", "period"), ("acting_up", "period"), ("recruitment_funnel", "period"),
                 ("grievance_funnel", "period"), ("stride_status", "period"), ("iopc_status", "period")),
    "grievances": tuple((t, "period") for t in (
        "grievance_outcomes", "grievance_discrimination_outcomes", "grievance_upheld_adjusted", "grievance_rates",
        "grievance_resolution_curve", "grievance_resolution", "grievance_categories", "grievance_outcome_mix",
        "grievance_independent_assessor", "grievance_funnel")),
    "misconduct": (("misconduct_rates", "period"), ("misconduct_trend", "all_years"),
                   ("misconduct_adjusted", "period"), ("misconduct_stages", "period"),
                   ("misconduct_outcomes", "period"), ("failed_to_report", "period")),
    "recruitment": (("representation", "all_years"), ("recruit_share", "all_years"),
                    ("recruitment_funnel", "period"), ("outreach", "period"), ("representation_projection", "period")),
    "stride": (("stride_status", "period"), ("stride_history", "period"), ("iopc_status", "period")),
    "acting_up": (("acting_up", "period"), ("acting_up_rationale", "period")),
    "spoc": (),
    "data_quality": (("data_quality", "period"), ("quarantine_rules", "period"), ("not_stated", "period")),
    "benchmarks": (("force_representation", "all_years"),),
}

_LOG = logging.getLogger("eqdash.prewarm")


def default_filters(role: str | None = None):
    """What the sidebar selects on a first visit (dashboard/app.py sidebar_filters): for a staff
    association the latest released period (restricted_filters)."""
    from dashboard import data
    from metrics.config import CHARACTERISTICS
    from metrics.queries import Filters

    if role == "staff_association":
        latest = data.dimensions()["release_periods"][-1]
        start, end = latest.start, latest.end
        return Filters(start=start, end=end, characteristic=next(iter(CHARACTERISTICS)))
    months = data.dimensions()["months"]
    return Filters(start=months[max(len(months) - 12, 0)], end=months[-1], area=None, worker_type=None,
                   characteristic=next(iter(CHARACTERISTICS)))


def roles_served() -> list[str]:
    """The roles a visitor can get: EQDASH_ROLE (or the least role) without sign-in; every role
    with it (the role then comes from the role map)."""
    from dashboard import roles

    secrets = roles.read_secrets(_app_root())
    if "auth" in secrets:
        return ["board", "analyst", "staff_association"]
    return [roles.env_role()]


def warm(role_list: list[str] | None = None) -> int:
    """Fetch every page's tables for each role under the default filters; returns how many."""
    from dashboard import data
    from dashboard.app import ROLE_PAGES

    done = 0
    for role in role_list or roles_served():
        f = default_filters(role)
        variants = {"period": f, "all_years": f.with_(start=None, end=None),
                    "all_years_ethnicity": f.with_(start=None, end=None, characteristic="ethnicity_group")}
        seen = set()
        # A staff association's tables come from the release, whose years are decided by a solve:
        # with every year decided (`eqdash release prepare` after the build) all its pages are warmed;
        # otherwise its first page only, and the other years are decided in the background
        # (start_release_prepare).
        pages = ROLE_PAGES[role]
        if role == "staff_association" and not release_decided():
            pages = pages[:1]
        for page in pages:
            for name, variant in PAGE_TABLES.get(page, ()):
                if (name, variant) in seen or not data.spec(name).allowed(role):
                    continue
                seen.add((name, variant))
                try:
                    data.table_for_role(name, variants[variant], role)
                    done += 1
                except Exception as e:  # a table a page cannot compute says so on the page itself
                    _LOG.info("prewarm %s/%s: %s", role, name, e)
    return done


def release_decided() -> bool:
    """Every year of the served warehouse's release is decided (stored beside it): data's one test,
    on the connection the pages share."""
    from dashboard import data

    path = data.db_path()
    return not data.release_pending(str(path), data._stamp(path))


def start_release_prepare(role_list: list[str] | None = None):
    """When a staff association can visit, decide every year of the release not yet decided in a
    background process on idle CPU time only (`eqdash release prepare`), so no reader waits for a solve;
    it stops with the server. Returns the process, or None when there is nothing to do."""
    import atexit
    import subprocess

    from dashboard import data

    if "staff_association" not in (role_list or roles_served()) or release_decided():
        return None
    child = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "release", "prepare", "--quiet", "--db", str(data.db_path())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        preexec_fn=_background, cwd=_app_root())
    atexit.register(lambda: child.poll() is None and child.terminate())
    return child


def _background() -> None:
    """The preparer runs only on CPU time nothing else wants (Linux SCHED_IDLE; elsewhere the
    lowest nice), so a reader's page is never slowed by the solves behind it."""
    os.nice(19)
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass  # a container refusing the policy: nice 19 still applies


def _app_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def prewarm() -> None:
    """Import the heavy modules and fill the caches, before the server accepts a visitor. Streamlit's
    runtime does not exist yet, so the caches are created on in-memory storage (what the runtime
    uses too) and the server's sessions then find them filled."""
    t0 = time.perf_counter()
    import streamlit  # noqa: F401 - first: importing it sets its loggers' levels, which would undo ours

    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "No runtime found, using MemoryCacheStorageManager": expected here
    try:
        import plotly.graph_objects  # noqa: F401
        import statsmodels.api  # noqa: F401

        import metrics.tables  # noqa: F401

        n = warm()
        print(f"eqdash: prewarmed {n} tables in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        if start_release_prepare() is not None:
            print("eqdash: deciding the release's other years in the background (eqdash release prepare)",
                  file=sys.stderr, flush=True)
    except Exception as e:  # never stop the server: the pages compute what is missing
        print(f"eqdash: prewarm stopped ({type(e).__name__}: {e}); pages compute on first visit", file=sys.stderr,
              flush=True)
    finally:
        quiet.setLevel(level)


def main(argv: list[str]) -> None:
    if os.environ.get("EQDASH_PREWARM", "1") != "0":
        prewarm()
    from streamlit.web import cli

    cli.main(args=argv, prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
