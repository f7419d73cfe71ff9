"""The simulation as contract-shaped polars frames: codes for indices, dates for day numbers,
blanks for -1 / NEVER, pseudonymised ids, rows in a fixed order numbered in that order."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.codes import (
    ACTING_OUTCOMES,
    ALLEGATIONS,
    ASSESSORS,
    CARING,
    ENTRY_ROUTES,
    ETHNICITY_CODES,
    FTR_REASONS,
    GRIEVANCE_CATEGORIES,
    GRIEVANCE_OUTCOMES,
    GRIEVANCE_STAGES,
    LEAVING,
    MARITAL,
    MISCONDUCT_OUTCOMES,
    ORIENTATIONS,
    RANKS,
    RELIGIONS,
    ROUTES,
    SEVERITIES,
    SEXES,
    SOURCES,
    STAGES,
    WORKER_TYPES,
    YES_NO,
    YES_NO_NS,
)
from sample_data.profiles import Force
from sample_data.timeline import EPOCH, NEVER, calendar_year


def code_series(values: np.ndarray, codes: tuple[str, ...], name: str) -> pl.Series:
    """Code strings from indices; a negative index is blank."""
    lookup = pl.Series(name, list(codes), dtype=pl.String)
    vals = np.asarray(values, dtype=np.int64)
    s = lookup.gather(np.where(vals < 0, 0, vals)).alias(name)
    return s.set(pl.Series(vals < 0), None) if (vals < 0).any() else s


def date_series(values: np.ndarray, name: str) -> pl.Series:
    vals = np.asarray(values, dtype=np.int64)
    blank = vals >= NEVER
    s = pl.Series(name, np.where(blank, 0, vals) + EPOCH, dtype=pl.Int32).cast(pl.Date)
    return s.set(pl.Series(blank), None) if blank.any() else s


def int_series(values: np.ndarray, name: str) -> pl.Series:
    vals = np.asarray(values, dtype=np.int64)
    s = pl.Series(name, vals, dtype=pl.Int64)
    return s.set(pl.Series(vals < 0), None) if (vals < 0).any() else s


def id_series(prefix: str, numbers: np.ndarray, width: int, name: str) -> pl.Series:
    return pl.select(
        pl.format(f"{prefix}{{}}", pl.lit(pl.Series(numbers, dtype=pl.Int64)).cast(pl.String).str.zfill(width))
    ).to_series().alias(name)


def flag_series(values: np.ndarray, name: str) -> pl.Series:
    return code_series(np.where(np.asarray(values, dtype=bool), 0, 1), YES_NO, name)


def numbered(df: pl.DataFrame, sort_by: list[str], id_col: str, prefix: str, width: int) -> pl.DataFrame:
    """Sort rows deterministically and number them 1..n in that order."""
    df = df.sort(sort_by, maintain_order=True)
    ids = id_series(prefix, np.arange(1, df.height + 1), width, id_col)
    return df.with_columns(ids).select([id_col, *[c for c in df.columns if c != id_col]])


class _Pool:
    """Every force's simulation as one: global person and area indices, and pseudonymised person ids
    (a random sample of 7-digit numbers, so ids carry no order)."""

    def __init__(self, sims: list[dict], forces: list[Force], rng: np.random.Generator) -> None:
        self.sims = sims
        self.forces = forces
        self.p_off = np.cumsum([0] + [len(s["people"].wt) for s in sims])
        self.a_off = np.cumsum([0] + [len(f.areas) for f in forces])
        numbers = rng.choice(10_000_000, size=int(self.p_off[-1]), replace=False)
        self.pid = id_series("P", numbers, 7, "person_id")
        self.area_codes = tuple(a.code for f in forces for a in f.areas)

    def cat(self, key: str, sub: str, offset: str | None = None) -> np.ndarray:
        """One simulated array across forces; person or area indices made global (-1 stays -1)."""
        parts = []
        for i, s in enumerate(self.sims):
            v = s[key][sub] if isinstance(s[key], dict) else getattr(s[key], sub)
            if offset == "person":
                v = np.where(v >= 0, v + self.p_off[i], -1)
            elif offset == "area":
                v = np.where(v >= 0, v + self.a_off[i], -1)
            parts.append(v)
        return np.concatenate(parts)

    def person_ids(self, idx: np.ndarray) -> pl.Series:
        idx = np.asarray(idx, dtype=np.int64)
        s = self.pid.gather(np.where(idx < 0, 0, idx))
        return s.set(pl.Series(idx < 0), None) if (idx < 0).any() else s

    def person_col(self, key: str) -> pl.Series:
        return self.person_ids(self.cat(key, "person", "person"))

    def area_col(self, key: str, sub: str = "area", name: str = "business_area_code") -> pl.Series:
        return code_series(self.cat(key, sub, "area"), self.area_codes, name)

    def codes(self, key: str, sub: str, codes: tuple[str, ...], name: str) -> pl.Series:
        return code_series(self.cat(key, sub), codes, name)

    def dates(self, key: str, sub: str, name: str) -> pl.Series:
        return date_series(self.cat(key, sub), name)

    def flag(self, key: str, sub: str, name: str) -> pl.Series:
        return flag_series(self.cat(key, sub), name)


def build_frames(sims: list[dict], forces: list[Force], rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    """The seven person-level extracts from every force's simulation (rng: ids and tie-breaks)."""
    pool = _Pool(sims, forces, rng)
    return {
        "business_areas": _business_areas(pool),
        "people": _people(pool),
        "postings": _postings(pool),
        "grievances": _grievances(pool),
        "misconduct_cases": _misconduct_cases(pool),
        "applications": _applications(pool, rng),
        "acting_up": _acting_up(pool),
    }


def _business_areas(pool: _Pool) -> pl.DataFrame:
    spoc = np.concatenate([np.where(s["spoc"] >= 0, s["spoc"] + pool.p_off[i], -1) for i, s in enumerate(pool.sims)])
    return pl.DataFrame([
        pl.Series("business_area_code", pool.area_codes, dtype=pl.String),
        pl.Series("business_area_name", [a.name for f in pool.forces for a in f.areas], dtype=pl.String),
        pl.Series("area_type", [a.area_type for f in pool.forces for a in f.areas], dtype=pl.String),
        pool.person_ids(spoc).alias("spoc_person_id"),
        pl.Series("force_name", [f.name for f in pool.forces for _ in f.areas], dtype=pl.String),
    ]).sort("business_area_code")


def _people(pool: _Pool) -> pl.DataFrame:
    return pl.DataFrame([
        pool.pid,
        pool.codes("people", "wt", WORKER_TYPES, "worker_type"),
        pool.codes("people", "sex", SEXES, "sex"),
        int_series(calendar_year(pool.cat("people", "birth")), "birth_year"),
        pool.codes("chars", "ethnicity", ETHNICITY_CODES, "ethnicity_code"),
        pool.codes("chars", "disability", YES_NO_NS, "disability"),
        pool.codes("chars", "gender_re", YES_NO_NS, "gender_reassignment"),
        pool.codes("chars", "marital", MARITAL, "marital_status"),
        pool.codes("chars", "preg", YES_NO_NS, "pregnancy_maternity"),
        pool.codes("chars", "caring", CARING, "caring_responsibilities"),
        pool.codes("chars", "religion", RELIGIONS, "religion"),
        pool.codes("chars", "orientation", ORIENTATIONS, "sexual_orientation"),
        pool.dates("people", "join", "join_date"),
        pool.dates("people", "leave", "leave_date"),
        pool.codes("people", "reason", LEAVING, "leaving_reason"),
    ]).sort("person_id")


def _postings(pool: _Pool) -> pl.DataFrame:
    postings = pl.DataFrame([
        pool.person_col("spells"),
        pool.area_col("spells"),
        pool.codes("spells", "rank", RANKS, "rank_grade"),
        pool.dates("spells", "start", "start_date"),
        pool.dates("spells", "end", "end_date"),
    ])
    return numbered(postings, ["person_id", "start_date"], "posting_id", "S", 8)


def _events(pool: _Pool, key: str, day_name: str, columns: list[pl.Series], tie: str, id_col: str,
            prefix: str) -> pl.DataFrame:
    """An event extract: its id, the person, business area and day, then `columns`; rows in order of
    day, person and the `tie` column, numbered in that order."""
    frame = pl.DataFrame([pool.person_col(key), pool.area_col(key), pool.dates(key, "day", day_name), *columns])
    return numbered(frame, [day_name, "person_id", tie], id_col, prefix, 7)


def _grievances(pool: _Pool) -> pl.DataFrame:
    return _events(pool, "grievances", "raised_date", [
        pool.codes("grievances", "category", GRIEVANCE_CATEGORIES, "category"),
        pool.codes("grievances", "stage", GRIEVANCE_STAGES, "stage"),
        pool.codes("grievances", "assessor", ASSESSORS, "assessor_type"),
        pool.codes("grievances", "outcome", GRIEVANCE_OUTCOMES, "outcome"),
        pool.dates("grievances", "outcome_day", "outcome_date"),
        int_series(pool.cat("grievances", "score"), "satisfaction_score"),
    ], "category", "grievance_id", "G")


def _misconduct_cases(pool: _Pool) -> pl.DataFrame:
    return _events(pool, "cases", "referral_date", [
        pool.codes("cases", "source", SOURCES, "source"),
        pool.codes("cases", "allegation", ALLEGATIONS, "allegation_type"),
        pool.codes("cases", "severity", SEVERITIES, "severity"),
        pool.flag("cases", "investigated", "is_investigated"),
        pool.codes("cases", "route", ROUTES, "route"),
        pool.codes("cases", "outcome", MISCONDUCT_OUTCOMES, "outcome"),
        pool.dates("cases", "outcome_day", "outcome_date"),
        pool.flag("cases", "ftr", "failed_to_report"),
        pool.codes("cases", "ftr_reason", FTR_REASONS, "failed_to_report_reason"),
    ], "allegation_type", "case_id", "C")


def _applications(pool: _Pool, rng: np.random.Generator) -> pl.DataFrame:
    apps = pl.DataFrame([
        pool.dates("apps", "day", "applied_date"),
        pool.codes("apps", "route", ENTRY_ROUTES, "entry_route"),
        pool.codes("apps", "sex", SEXES, "sex"),
        pool.codes("apps", "ethnicity", ETHNICITY_CODES, "ethnicity_code"),
        pool.flag("apps", "heard", "heard_via_outreach"),
        pool.flag("apps", "spoke_only", "spoke_only_to_outreach"),
        pool.area_col("apps", "outreach_bcu", "outreach_bcu_code"),
        pool.codes("apps", "stage", STAGES, "furthest_stage"),
        pool.person_col("apps").alias("person_id"),
    ])
    # a hidden random key breaks ties between otherwise identical applications, reproducibly
    apps = apps.with_columns(pl.Series("_key", rng.permutation(apps.height)))
    return numbered(apps, ["applied_date", "_key"], "application_id", "R", 8).drop("_key")


def _acting_up(pool: _Pool) -> pl.DataFrame:
    return _events(pool, "acting", "decision_date", [
        pool.codes("acting", "rank", RANKS, "substantive_rank"),
        pool.codes("acting", "acting", RANKS, "acting_rank"),
        code_series(np.where(pool.cat("acting", "selected"), 0, 1), ACTING_OUTCOMES, "outcome"),
        int_series(pool.cat("acting", "duration"), "duration_days"),
        pool.flag("acting", "qualified", "is_qualified"),
        pool.flag("acting", "rationale", "has_rationale"),
    ], "substantive_rank", "decision_id", "D")
