"""The server's prewarm: every table of a role's pages under the default filters, for that role."""

from __future__ import annotations

import polars as pl


def test_prewarm_fetches_each_roles_page_tables_as_that_role(small_warehouse, monkeypatch, default_filters):
    from dashboard import data, prewarm
    from dashboard.app import ROLE_PAGES
    from metrics.tables import get_table
    from metrics.warehouse import Warehouse

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    monkeypatch.setattr(prewarm, "release_decided", lambda: False)
    assert prewarm.default_filters() == default_filters
    # a staff association's first page only: its other pages' years are decided in the background
    want = {(t, v) for page in ROLE_PAGES["staff_association"][:1] for t, v in prewarm.PAGE_TABLES[page]}
    from metrics.tables import REGISTRY

    allowed = {(t, v) for t, v in want if REGISTRY[t].allowed("staff_association")}
    # the tables a staff association may see, of every page it has; those its released period has
    warmed = prewarm.warm(["staff_association"])
    assert 0 < warmed == len(allowed) < len(want)
    # What the prewarm cached is the staff association's (protected) table, not anyone else's.
    f = prewarm.default_filters("staff_association")
    cached = data.table_for_role("grievance_outcome_mix", f, "staff_association")
    with Warehouse(small_warehouse) as wh:
        suppressed = get_table(wh, "grievance_outcome_mix", f, role="staff_association")
        open_table = get_table(wh, "grievance_outcome_mix", f, role="board")
    assert cached.equals(suppressed) and not cached.equals(open_table)
    assert "is_suppressed" in cached.columns and cached["is_suppressed"].dtype == pl.Boolean


def test_every_staff_association_page_is_warmed_once_the_release_is_decided(small_warehouse, monkeypatch):
    """With every year decided (`eqdash release prepare` after the build) the server warms all of a
    staff association's pages, not only the first: no first visit waits for a page's tables."""
    from dashboard import data, prewarm
    from dashboard.app import ROLE_PAGES
    from metrics.tables import REGISTRY

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    asked = []
    monkeypatch.setattr(data, "table_for_role", lambda name, f, role: asked.append((name, role)))
    want = {t for page in ROLE_PAGES["staff_association"] for t, _ in prewarm.PAGE_TABLES[page]
            if REGISTRY[t].allowed("staff_association")}
    first = {t for t, _ in prewarm.PAGE_TABLES[ROLE_PAGES["staff_association"][0]]
             if REGISTRY[t].allowed("staff_association")}
    monkeypatch.setattr(prewarm, "release_decided", lambda: True)
    prewarm.warm(["staff_association"])
    assert {n for n, _ in asked} == want and {r for _, r in asked} == {"staff_association"}
    asked.clear()
    monkeypatch.setattr(prewarm, "release_decided", lambda: False)
    prewarm.warm(["staff_association"])
    assert {n for n, _ in asked} == first < want


def test_release_decided_reads_the_stored_decisions_of_this_build(small_warehouse, tmp_path, monkeypatch):
    """A copy of the warehouse with nothing decided: every family-year is undecided, newest first;
    once each is stored (here as 'nothing to hide', in the copy only) the release is decided."""
    import shutil

    from dashboard import data, prewarm
    from metrics.release import FAMILIES, Release
    from metrics.release_periods import year_blocks
    from metrics.warehouse import Warehouse

    db = tmp_path / "copy.duckdb"
    shutil.copy(small_warehouse, db)
    monkeypatch.setenv("EQDASH_DB", str(db))
    assert prewarm.release_decided() is False
    stamp = db.stat().st_mtime_ns
    assert data.release_pending(str(db), stamp) is True  # a staff association's page says why it waits
    with Warehouse(db) as wh:
        rel = Release(wh)
        years = sorted(year_blocks(wh), reverse=True)
        assert rel.undecided() == [(f, fy) for fy in years for f in FAMILIES]
        for family, fy in rel.undecided()[:-1]:
            rel.decisions.save(family, fy, set(), set())
        assert rel.undecided() == [(list(FAMILIES)[-1], years[-1])]
        rel.decisions.save(*rel.undecided()[0], set(), set())
    assert prewarm.release_decided() is True
    assert data.release_pending(str(db), stamp) is False
    assert (str(db), stamp) in data._DECIDED  # not read again for this build


def test_roles_served_without_sign_in_is_the_one_role(monkeypatch, tmp_path):
    from dashboard import prewarm

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(prewarm, "_app_root", lambda: tmp_path)
    monkeypatch.delenv("EQDASH_ROLE", raising=False)
    assert prewarm.roles_served() == ["staff_association"]
    monkeypatch.setenv("EQDASH_ROLE", "board")
    assert prewarm.roles_served() == ["board"]
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n', encoding="utf-8")
    assert sorted(prewarm.roles_served()) == ["analyst", "board", "staff_association"]


def test_the_release_is_decided_in_a_low_priority_background_process(small_warehouse, monkeypatch):
    """Only when a staff association can visit; `eqdash release prepare` on this warehouse, at nice 19
    and the SCHED_IDLE policy (it runs only when nothing else wants the CPU)."""
    import os
    from pathlib import Path

    from dashboard import prewarm

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    assert prewarm.start_release_prepare(["board"]) is None
    monkeypatch.setattr(prewarm, "release_decided", lambda: True)
    assert prewarm.start_release_prepare(["staff_association"]) is None  # nothing left to decide
    monkeypatch.setattr(prewarm, "release_decided", lambda: False)
    child = prewarm.start_release_prepare(["staff_association"])
    try:
        assert child.args[1:] == ["-m", "dashboard.cli", "release", "prepare", "--quiet", "--db", str(small_warehouse)]
        stat = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == 19  # field 19 of proc(5): nice
        assert int(stat[38]) == os.SCHED_IDLE == 5  # field 41: scheduling policy
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_the_prewarm_says_one_line_and_no_streamlit_warnings(small_warehouse):
    """What `eqdash serve` prints before Streamlit's own lines: the prewarm's one line, without the
    'No runtime found' warning each cache would otherwise log (expected before the runtime exists)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "EQDASH_DB": str(small_warehouse), "EQDASH_ROLE": "analyst", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", "from dashboard import prewarm; prewarm.prewarm()"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("eqdash: prewarmed "), lines[:5]
