"""`eqdash release audit` (a year of the protected release audited as an attacker would) and
`eqdash release prepare` (every year decided before a reader asks)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from dashboard.commands.common import fail, open_warehouse, out
from metrics import config, formats


def release_audit_cmd(
    period: str = typer.Option(..., "--period", help="A released period, e.g. FY2024/25: its whole year is audited"),
    area: str = typer.Option("all", "--area", help="all (every business area and the force), a business area "
                                                   "code, or force"),
    exact_bounds: bool = typer.Option(False, "--exact-bounds", help="Solve both bounds of every cell (slower)"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
) -> None:
    """Audit a year of the release as an attacker would: the tightest bounds linear programming can put
    on every hidden count from everything published (every table, characteristic and business area,
    every year-to-date snapshot, and the SPOC packs of each month). Exit 1 if any cell is at risk."""
    import time

    from metrics.queries import FilterError
    from metrics.release import FAMILIES, period_named, release_for
    from metrics.release_audit import mappings_for

    with open_warehouse(db) as wh:
        try:
            p = period_named(wh, period)
        except FilterError as e:
            fail(str(e))
        rel = release_for(wh)
        if area not in ("all", "force") and area not in rel.builder.areas:
            fail(f"unknown business area '{area}': choose all, force or one of {', '.join(rel.builder.areas)}")
        started = time.perf_counter()
        table = Table(title=f"Release audit: {p.label} (every snapshot of FY{p.financial_year}), {db}")
        for col in ("counts", "published", "hidden", "withheld", "checked", "at risk", "solves", "seconds"):
            table.add_column(col, justify="left" if col == "counts" else "right")
        totals = dict(published=0, hidden=0, primary=0, withheld=0, checked=0, risk=0)
        at_risk = []
        mappings = mappings_for(rel.builder)
        for name in FAMILIES:
            at_risk += _audit_family(rel, name, p.financial_year, mappings, area, exact_bounds, table, totals)
        out.print(table)
        _print_summary(totals, at_risk, time.perf_counter() - started)
        if at_risk:
            raise typer.Exit(1)


def _audit_family(rel, name: str, financial_year: int, mappings, area: str, exact_bounds: bool, table: Table,
                  totals: dict[str, int]) -> list:
    """One family's year audited: its row in the table, its counts added to totals; the cells at risk."""
    import time

    from metrics.release import AREA
    from metrics.release_audit import audit_year

    t0 = time.perf_counter()
    year = rel.year(name, financial_year)
    audit = audit_year(year, mappings, exact_bounds=exact_bounds)

    def keep(key, level_at=2, x_at=3):
        if area == "all":
            return True
        if area == "force":
            return key[level_at] != AREA
        return key[level_at] == AREA and key[x_at] == area

    cells = [c for c in year.cells.values() if keep(c.key) and c.status not in ("zero", "exact")]
    targets = [t for t in audit.targets if keep(t.key, *((4, 5) if t.cell is None else (2, 3)))]
    risky = [t for t in targets if t.at_risk]
    hidden = sum(c.is_hidden for c in cells)
    withheld = sum(c.status == "withheld" for c in cells)
    totals["published"] += len(cells)
    totals["hidden"] += hidden
    totals["primary"] += sum(c.status == "primary" for c in cells)
    totals["withheld"] += withheld
    totals["checked"] += len(targets)
    totals["risk"] += len(risky)
    counts = (len(cells), hidden, withheld, len(targets), len(risky), audit.lp_solves)
    table.add_row(name, *map(formats.fmt_int, counts), f"{time.perf_counter() - t0:.1f}")
    return risky


def _print_summary(totals: dict[str, int], at_risk: list, seconds: float) -> None:
    n = max(totals["published"], 1)
    out.print(f"cells checked: {formats.fmt_int(totals['checked'])}; cells at risk: {formats.fmt_int(totals['risk'])}; "
              f"hidden: {formats.fmt_pct(totals['hidden'] / n)} of {formats.fmt_int(totals['published'])} non-zero "
              "counts in breakdowns "
              f"({formats.fmt_pct(totals['primary'] / n)} by the small-count rule alone, "
              f"{formats.fmt_pct((totals['hidden'] - totals['primary']) / n)} more to protect them); "
              f"withheld (not broken down): {formats.fmt_pct(totals['withheld'] / n)}; "
              f"time: {seconds:.1f} s", highlight=False)
    for t in at_risk[:20]:
        out.print(f"AT RISK: {t.key}: true {t.value}, an attacker can pin it to [{t.lo:.2f}, {t.hi:.2f}]",
                  highlight=False)


def release_prepare_cmd(
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
    quiet: bool = typer.Option(False, "--quiet", help="Print only the summary line"),
) -> None:
    """Decide the protection of every year of the release not yet decided for this build (the newest
    first) and store it beside the warehouse, so no staff association waits for a solve. `eqdash
    serve` runs this in the background; run it after `eqdash build` to have every year ready."""
    import time

    from metrics.release import release_for

    def told(family: str, fy: int, seconds: float) -> None:
        if not quiet:
            out.print(f"FY{fy}/{(fy + 1) % 100:02d} {family}: decided in {formats.fmt_decimal(seconds)} s")

    with open_warehouse(db) as wh:
        rel = release_for(wh)
        started = time.perf_counter()
        solved = rel.prepare(on_year=told)
        seconds = formats.fmt_decimal(time.perf_counter() - started)
        out.print(f"release: {solved} family-year(s) decided in {seconds} s; every year is decided, stored at {rel.store}")
