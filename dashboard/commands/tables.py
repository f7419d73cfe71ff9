"""`eqdash table` and `eqdash tables`: a metric table exactly as the dashboard shows it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from dashboard.commands.common import fail, open_warehouse, out, parse_month, write_frame
from metrics import config


def table_cmd(
    name: str = typer.Argument(..., help="A table name: see `eqdash tables`"),
    characteristic: str = typer.Option("ethnicity_group", "--characteristic", "-c", help="Breakdown column"),
    from_month: str = typer.Option(None, "--from", help="First month, YYYY-MM"),
    to_month: str = typer.Option(None, "--to", help="Last month, YYYY-MM"),
    area: str = typer.Option(None, "--area", help="Business area code"),
    worker_type: str = typer.Option(None, "--worker-type", help="e.g. 'Police officer'"),
    period: str = typer.Option(None, "--period", help="A released period, e.g. FY2024/25 (instead of --from/--to)"),
    suppressed: bool = typer.Option(False, "--suppressed", help="The protected release (as staff associations see it)"),
    role: str = typer.Option("analyst", "--role", help="board, staff_association or analyst"),
    fmt: str = typer.Option("text", "--format", help="text, csv or json"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
) -> None:
    """Print a metric table: exactly the numbers the dashboard shows for the same filters."""
    from metrics.queries import FilterError, Filters
    from metrics.tables import AccessDenied, get_table

    if fmt not in ("text", "csv", "json"):
        fail(f"--format must be text, csv or json, not '{fmt}'")
    if period and (from_month or to_month):
        fail("give either --period or --from/--to, not both")
    filters = Filters(
        start=parse_month(from_month, "--from") if from_month else None,
        end=parse_month(to_month, "--to") if to_month else None,
        area=area, worker_type=worker_type, characteristic=characteristic,
    )
    if filters.start and filters.end and filters.start > filters.end:
        fail(f"--from {from_month} is later than --to {to_month}")
    with open_warehouse(db) as wh:
        _check_choices(wh, area, worker_type)
        try:
            if period:
                from metrics.release import period_named

                p = period_named(wh, period)
                filters = filters.with_(start=p.start, end=p.end)
            frame = get_table(wh, name, filters, role=role, suppressed=suppressed)
        except (FilterError, AccessDenied) as e:
            fail(str(e))
    write_frame(frame, fmt)


def _check_choices(wh, area: str | None, worker_type: str | None) -> None:
    """An --area or --worker-type the warehouse does not have is a typo, not an empty table."""
    if area is not None:
        codes = wh.query("select business_area_code as c from stg_business_areas order by 1")["c"].to_list()
        if area not in codes:
            fail(f"unknown --area '{area}': choose one of {', '.join(codes)}")
    if worker_type is not None:
        labels = wh.query("select label as c from ref_codes where code_list = 'worker_type' order by sort_order")["c"].to_list()
        if worker_type not in labels:
            fail(f"unknown --worker-type '{worker_type}': choose one of {', '.join(repr(x) for x in labels)}")


def tables_cmd() -> None:
    """List the metric tables `eqdash table` can print."""
    from metrics.tables import REGISTRY

    t = Table(title="Metric tables")
    t.add_column("name")
    t.add_column("what it shows")
    for spec in REGISTRY.values():
        t.add_row(spec.name, spec.title)
    out.print(t)
