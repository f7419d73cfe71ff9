"""`eqdash serve` and `eqdash export`: the dashboard, and the monthly SPOC packs as files."""

from __future__ import annotations

from pathlib import Path

import typer

from dashboard.commands.build import ensure_sample_warehouse, outdated
from dashboard.commands.common import (
    check_writable_folder,
    err,
    fail,
    not_a_warehouse,
    open_warehouse,
    out,
    parse_month,
    progress_bar,
)
from metrics import config


def serve(
    role: str = typer.Option(None, "--role", help="board, staff_association or analyst: every visitor's role "
                             "without sign-in (default: staff_association, the least privileged; with sign-in "
                             "the role comes from the OIDC login)"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
    port: int = typer.Option(8501, "--port"),
    address: str = typer.Option("127.0.0.1", "--address", help="Bind address (default: this machine only)"),
) -> None:
    """Start the dashboard; builds the sample warehouse first if there is none."""
    from rich.markup import escape

    from dashboard.serve import ServeRefused, preflight

    try:  # refusals first; warnings once the warehouse is known to be servable
        warnings = preflight(role=role, address=address)
    except ServeRefused as e:
        fail(escape(str(e)))
    if not db.exists():
        if db.resolve() != config.DEFAULT_WAREHOUSE.resolve():
            fail(f"no warehouse at {db}. Build it first: eqdash build --data DIR --db {db} "
                 "(only the default warehouse is built from the sample on first run)")
        ensure_sample_warehouse(db)
    elif (problem := not_a_warehouse(db)) is not None:
        fail(problem)
    elif (stale := outdated(db)) is not None:
        if db.resolve() != config.DEFAULT_WAREHOUSE.resolve():
            fail(stale)
        err.print("The sample warehouse was built by another version of eqdash: rebuilding it.")
        ensure_sample_warehouse(db)
    for warning in warnings:
        err.print(f"[bold yellow]eqdash: warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    from dashboard.serve import run

    raise typer.Exit(run(db=db, role=role, port=port, address=address))


def export(
    month: str = typer.Option(..., "--month", help="The pack's month, YYYY-MM"),
    area: str = typer.Option("all", "--area", help="A business area code, or all (every area plus the force)"),
    formats: str = typer.Option("pdf,xlsx,ods,csv", "--format", help="Comma-separated: pdf, xlsx, ods, csv"),
    out_dir: Path = typer.Option(Path("out/spoc"), "--out", help="Folder for the packs"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
) -> None:
    """Export the monthly SPOC packs (one per business area plus a force-wide pack)."""
    from dashboard.exports.batch import ExportError, export_packs

    month_start = parse_month(month, "--month")
    wanted = [x.strip() for x in formats.split(",") if x.strip()]
    bad = sorted(set(wanted) - {"pdf", "xlsx", "ods", "csv"})
    if bad or not wanted:
        fail(f"--format takes pdf, xlsx, ods and/or csv, not '{formats}'")
    check_writable_folder(out_dir, "--out")
    with open_warehouse(db) as wh:
        try:
            with progress_bar("SPOC packs") as progress:
                written = export_packs(wh, month_start, area=area, formats=wanted, out_dir=out_dir,
                                       progress=progress)
        except ExportError as e:
            fail(str(e))
        except OSError as e:
            fail(f"could not write the packs to {out_dir}: {e.strerror or e}")
    out.print(f"Wrote {len(written)} files to {out_dir}")
