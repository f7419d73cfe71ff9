"""Teams and recruit line managers on postings (supervision ratios, IOPC recommendations 13-14;
sample_data/README.md, "Supervision")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from sample_data.timeline import END, EPOCH, NEVER, financial_year, month_of

TEAM_SIZE = 20  # constables per response team, roughly (two sergeants each in the IOPC report)
HIGH_DEMAND_TEAMS = ("NTE01", "NIGHTS01")  # night-time economy and permanent nights, in every BCU
SUPERVISION_AREA = "AW"  # Central West (Charing Cross is in Westminster): the planted area
RECRUITS_PER_MANAGER = 20  # a line manager per 20 recruits of each join month
SURGE_FY = 2022  # FY2022/23 joiners share one line manager per 1,000 (at least one): planted
SURGE_RECRUITS_PER_MANAGER = 1000
SPREAD = np.linspace(0, 1, 8)  # the days of a posting a sergeant's or inspector's team is judged on
WINDOW = np.arange(EPOCH, EPOCH + END + 1)  # the extract window as epoch days


@dataclass(frozen=True)
class _Postings:
    """The postings' columns as arrays (dates as epoch days, an open end as NEVER)."""

    rank: np.ndarray
    area: np.ndarray
    start: np.ndarray
    end: np.ndarray
    posting_id: np.ndarray
    person: np.ndarray
    force: np.ndarray


def assign_teams(postings: pl.DataFrame, people: pl.DataFrame, areas: pl.DataFrame, seed: int,
                 effects: bool) -> pl.DataFrame:
    """Add team_code, team_type and line_manager_id to the postings. Constables, sergeants and
    inspectors in BCUs are on teams: RESPnn response teams of about TEAM_SIZE constables plus one
    night-time economy and one permanent-nights team per BCU. Constables join a team at random; each
    sergeant and inspector joins the team with the most constables per officer of their rank over
    their posting, so every team keeps its share. A recruit's first posting names a sergeant of the
    same force in post when they join as their line manager. With effects, Central West's night-time
    economy team gets no sergeant, its inspectors keep only 5% of their team roles, and FY2022/23
    recruits share SURGE_RECRUITS_PER_MANAGER per manager.
    Drawn from their own seed, so every other extract is unchanged."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    frame = postings.join(areas.select("business_area_code", "area_type", "force_name"), on="business_area_code",
                          how="left", maintain_order="left")
    c = _Postings(
        rank=frame["rank_grade"].to_numpy(),
        area=frame["business_area_code"].to_numpy(),
        start=frame["start_date"].to_physical().to_numpy(),
        end=frame["end_date"].to_physical().fill_null(NEVER).to_numpy(),
        posting_id=frame["posting_id"].to_numpy(),
        person=frame["person_id"].to_numpy(),
        force=frame["force_name"].to_numpy(),
    )
    team = _teams(rng, c, frame["area_type"].to_numpy() == "BCU", effects)
    # recruits: a constable's first posting, starting on their join date inside the window
    joined = frame.join(people.select("person_id", "join_date"), on="person_id", how="left", maintain_order="left")
    recruit = ((c.rank == "PC") & (joined["start_date"] == joined["join_date"]).fill_null(False).to_numpy()
               & (c.start >= EPOCH))
    manager = _line_managers(rng, c, recruit, effects)
    team_type = [None if t is None else t.split("-", 1)[1].rstrip("0123456789") for t in team]
    return postings.with_columns(
        pl.Series("team_code", team.tolist(), dtype=pl.String),
        pl.Series("team_type", [None if t is None else {"RESP": "RESPONSE"}.get(t, t) for t in team_type],
                  dtype=pl.String),
        pl.Series("line_manager_id", manager.tolist(), dtype=pl.String),
    )


def _teams(rng, c: _Postings, bcu: np.ndarray, effects: bool) -> np.ndarray:
    """Each posting's team code (None off the teams), BCU by BCU in code order."""
    team = np.full(len(c.rank), None, dtype=object)
    in_bcu = np.flatnonzero(bcu)
    by_area = in_bcu[np.argsort(c.area[in_bcu], kind="stable")]
    codes, first = np.unique(c.area[by_area], return_index=True)
    for code, rows in zip(codes, np.split(by_area, first[1:]), strict=True):
        planted = effects and code == SUPERVISION_AREA
        open_pcs = int(((c.rank[rows] == "PC") & (c.end[rows] >= NEVER)).sum())
        teams = [f"RESP{k:02d}" for k in range(1, max(1, round(open_pcs / TEAM_SIZE) - 2) + 1)]
        teams = [f"{code}-{t}" for t in (*teams, *HIGH_DEMAND_TEAMS)]
        pcs = rows[c.rank[rows] == "PC"]
        drawn = rng.integers(len(teams), size=len(pcs))
        team[pcs] = np.array(teams, dtype=object)[drawn]
        pc_team = np.array([teams.index(t) for t in team[pcs]], dtype=np.int64)
        # constables on each team on each day of the window: starts up to it minus ends before it
        on_team = np.array([np.searchsorted(np.sort(c.start[pcs][pc_team == t]), WINDOW, "right")
                            - np.searchsorted(np.sort(c.end[pcs][pc_team == t]), WINDOW, "left")
                            for t in range(len(teams))])  # teams x days
        for r in ("PS", "INSP"):
            barred = teams.index(f"{code}-NTE01") if r == "PS" and planted else None
            _place_supervisors(c, rows[c.rank[rows] == r], teams, on_team, team, barred)
        if planted:
            insp = rows[c.rank[rows] == "INSP"]
            team[insp[rng.random(len(insp)) >= 0.05]] = None
    return team


def _place_supervisors(c: _Postings, ranked: np.ndarray, teams: list[str], on_team: np.ndarray,
                       team: np.ndarray, barred: int | None) -> None:
    """In start order, each posting of one rank to the team with the most constables per officer of
    the rank over the days of the posting inside the window (8 days spread across it); never to the
    barred team (planted: no sergeant of its own). Writes into team."""
    first_day, last_day = int(WINDOW[0]), int(WINDOW[-1])
    ranked = ranked[np.lexsort((c.posting_id[ranked], c.start[ranked]))]  # in start order
    held_start, held_end = c.start[ranked], c.end[ranked]
    held_team = np.zeros(len(ranked), dtype=np.int64)
    for j, i in enumerate(ranked):
        if c.end[i] < first_day:  # over before the window: no month counts it
            held_team[j] = j % len(teams)
            team[i] = teams[held_team[j]]
            continue
        lo = max(c.start[i], first_day)
        days = (lo + (max(min(c.end[i], last_day), first_day) - lo) * SPREAD).astype(np.int64)
        held_rows, held_days = np.nonzero((held_start[:j, None] <= days) & (held_end[:j, None] >= days))
        held = np.bincount(held_team[held_rows] * len(days) + held_days,
                           minlength=len(teams) * len(days)).reshape(len(teams), len(days))
        score = ((on_team[:, days - first_day] + 1) / (held + 1)).sum(axis=1)
        if barred is not None:
            score[barred] = -np.inf
        k = int(np.argmax(score))
        held_team[j] = k
        team[i] = teams[k]


def _line_managers(rng, c: _Postings, recruit: np.ndarray, effects: bool) -> np.ndarray:
    """A sergeant of the same force in post on the cohort's first day for each recruit's first
    posting: one per RECRUITS_PER_MANAGER recruits of a join month (planted: the FY2022/23 surge
    shares one per SURGE_RECRUITS_PER_MANAGER)."""
    manager = np.full(len(c.rank), None, dtype=object)
    fy = financial_year(c.start - EPOCH)
    month = month_of(c.start - EPOCH)
    for f in sorted(set(c.force[recruit])):
        sergeants = np.flatnonzero((c.rank == "PS") & (c.force == f))
        cohorts: dict[tuple, list[int]] = {}
        for i in np.flatnonzero(recruit & (c.force == f)):
            key = ("surge", SURGE_FY) if effects and fy[i] == SURGE_FY else ("month", int(month[i]))
            cohorts.setdefault(key, []).append(int(i))
        for key, members in sorted(cohorts.items()):
            members = sorted(members, key=lambda i: (c.start[i], c.person[i]))
            first_day = c.start[members[0]]
            available = sergeants[(c.start[sergeants] <= first_day) & (c.end[sergeants] >= first_day)]
            if not len(available):
                continue
            per = SURGE_RECRUITS_PER_MANAGER if key[0] == "surge" else RECRUITS_PER_MANAGER
            k = min(len(available), max(1, -(-len(members) // per)))
            chosen = c.person[np.sort(rng.choice(available, size=k, replace=False))]
            for j, i in enumerate(members):
                manager[i] = chosen[j % k]
    return manager
