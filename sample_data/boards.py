"""Force-level extracts, the same shape in every profile: STRIDE progress, IOPC actions, targets."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.frames import date_series
from sample_data.reference import IOPC_ACTIONS, STRIDE_COMMITMENTS, STRIDE_LEADS
from sample_data.timeline import END, START


def _board_dates(first: str, every_days: int = 42) -> np.ndarray:
    d0 = int((np.datetime64(first, "D") - START) / np.timedelta64(1, "D"))
    return np.arange(d0, END + 1, every_days)


def _progress_rows(rng, dates: np.ndarray, n_milestones: int, finish: int, lag_plan: np.ndarray) -> dict:
    """Percent complete and milestones at each board: planned finish board, lag in milestones met."""
    n = len(dates)
    t = np.arange(n)
    start_pct = int(rng.integers(3, 15))
    due = np.minimum(n_milestones, np.ceil(n_milestones * (t + 1) / (finish + 1))).astype(np.int64)
    met = np.maximum.accumulate(np.maximum(due - lag_plan, 0))
    met = np.minimum(met, due)
    pct = np.round(start_pct + (100 - start_pct) * met / n_milestones).astype(np.int64)
    pct = np.maximum.accumulate(np.minimum(pct, 100))
    gap = due - met
    rag = np.select([(pct == 100) & (gap == 0), gap >= 2, gap == 1], [3, 0, 1], 2)
    return dict(due=due, met=met, pct=pct, rag=rag)


RAG = ("R", "A", "G", "C")
NARRATIVE = {
    0: "Behind plan: {gap} milestones overdue; recovery plan requested by the Management Board.",
    1: "Slightly behind plan: 1 milestone overdue, expected to be recovered by the next board.",
    2: "On track: {met} of {due} milestones met.",
    3: "Complete: all {due} milestones met; moved to business as usual.",
}


def _narratives(rag, gap, met, due) -> list[str]:
    return [NARRATIVE[int(r)].format(gap=int(g), met=int(m), due=int(d)) for r, g, m, d in zip(rag, gap, met, due, strict=True)]


def _progress_frame(rng, dates: np.ndarray, plan: tuple[int, int, np.ndarray], lead: str, ids: dict,
                    extra: dict | None = None) -> pl.DataFrame:
    """One commitment's or action's rows: its ids, then progress at each board (plan: milestones,
    planned finish board, lag in milestones met), the senior lead, any extra columns, the narrative."""
    r = _progress_rows(rng, dates, *plan)
    n = len(dates)
    return pl.DataFrame({
        **ids,
        "board_date": date_series(dates, "board_date"),
        "rag_status": [RAG[i] for i in r["rag"]],
        "percent_complete": r["pct"],
        "milestones_due": r["due"],
        "milestones_met": r["met"],
        "senior_lead": [lead] * n,
        **(extra or {}),
        "narrative": _narratives(r["rag"], r["due"] - r["met"], r["met"], r["due"]),
    })


def stride_updates_frame(rng, effects: bool) -> pl.DataFrame:
    """Progress on the 16 STRIDE commitments at every Management Board from 2021 (effect 7)."""
    dates = _board_dates("2021-01-12")
    n = len(dates)
    in_2024 = dates >= int((np.datetime64("2024-01-01") - START) / np.timedelta64(1, "D"))
    rows = []
    for cid, _, _ in STRIDE_COMMITMENTS:
        n_ms = int(rng.integers(8, 15))
        finish = int(rng.integers(n - 20, n + 15))
        lag = (rng.random(n) < 0.12).astype(np.int64)  # an occasional milestone a board late
        if effects and cid == 11:
            # stalled from 2024: milestones keep falling due, few are met
            # (milestones fall due faster than the lag grows, so the gap is the lag: Red)
            lag = np.where(in_2024, 2 + np.minimum(np.cumsum(in_2024) // 8, 3), lag)
            n_ms, finish = 20, n
        elif effects and cid == 9:
            lag = np.ones(n, dtype=np.int64)
            finish = n + 10
        ids = {"commitment_id": np.full(n, cid, dtype=np.int64)}
        rows.append(_progress_frame(rng, dates, (n_ms, finish, lag), STRIDE_LEADS[cid], ids))
    return pl.concat(rows).sort(["commitment_id", "board_date"])


# IOPC actions planted as overdue (effects=True): recommendation, action number, from board index
OVERDUE_ACTIONS = {(2, 2): 10, (3, 2): 20, (11, 1): 15, (15, 3): 25, (13, 1): 30}


def iopc_actions_frame(rng, effects: bool) -> pl.DataFrame:
    """Progress on the actions for each IOPC recommendation at every board from March 2022 (effect 7)."""
    dates = _board_dates("2022-03-01")
    n = len(dates)
    t = np.arange(n)
    rows = []
    for rec, (lead, actions) in IOPC_ACTIONS.items():
        for a, text in enumerate(actions, start=1):
            n_ms = int(rng.integers(3, 8))
            finish = int(rng.integers(8, n + 5))
            lag = (rng.random(n) < 0.08).astype(np.int64)
            if effects and (rec, a) in OVERDUE_ACTIONS:
                stall = t >= OVERDUE_ACTIONS[(rec, a)]
                lag = np.where(stall, 1 + (t - OVERDUE_ACTIONS[(rec, a)]) // 6, lag)
                finish = max(finish, n + 5)
            ids = {"action_id": [f"R{rec:02d}-{a:02d}"] * n, "recommendation_id": np.full(n, rec, dtype=np.int64)}
            rows.append(_progress_frame(rng, dates, (n_ms, finish, lag), lead, ids, {"action": [text] * n}))
    return pl.concat(rows).sort(["action_id", "board_date"])


def targets_frame() -> pl.DataFrame:
    """The published representation and recruitment targets."""
    src_rep = ("MPS published commitment (response to the IOPC Operation Hotton recommendations and STRIDE): "
               "16% of officers from Black, Asian and Multiple Ethnic Heritage backgrounds by 2022, 28% by 2030")
    src_rec = ("MPS published commitment: about 40% of officer recruits from Black, Asian and Multiple Ethnic "
               "Heritage backgrounds each year to reach 28% of officers by 2030")
    return pl.DataFrame({
        "measure": ["OFFICER_REPRESENTATION", "OFFICER_REPRESENTATION", "RECRUIT_SHARE", "RECRUIT_SHARE"],
        "target_group": ["BLACK_ASIAN_MIXED_OTHER"] * 4,
        "target_date": pl.Series(["2022-03-31", "2030-03-31", "2020-04-01", "2030-03-31"]).str.to_date(),
        "target_share": [0.16, 0.28, 0.40, 0.40],
        "source": [src_rep, src_rep, src_rec, src_rec],
    })
