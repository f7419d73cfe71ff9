"""The `eqdash` command line: sample data, warehouse build, metric tables, the app and the packs.

Bad input ends with one clear line (file, row, column, rule) and exit code 2, never a traceback.
Heavy modules are imported inside commands so `eqdash --help` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metrics import config

app = typer.Typer(
    name="eqdash",
    help="Workforce equality and disproportionality analytics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by the `progress(step, done, total)` callbacks the library takes."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not _force_progress(),
    ) as bar:
        task = bar.add_task(description, total=None, step="")

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, step=step)

        yield update


def _force_progress() -> bool:
    import os

    return os.environ.get("EQDASH_PROGRESS") == "1"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    err.print(f"[bold red]eqdash:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def sample(
    profile: str = typer.Option("small", help="small (fast tests), mps (~46k people) or national (43 forces)"),
    seed: int = typer.Option(2016, help="Same seed, same bytes"),
    out_dir: Path = typer.Option(config.DEFAULT_SAMPLE_DATA, "--out", help="Folder for the CSV extracts"),
    no_effects: bool = typer.Option(False, "--no-effects", help="Treat every group alike (no planted effects)"),
    style: str = typer.Option("plain", "--style", help="plain (the contracts' own columns and codes) or hr-export "
                              "(an HR system's column names, words and date formats; build it with "
                              "--mapping sample_data/hr-export-mapping.yaml)"),
) -> None:
    """Generate realistic synthetic extracts with the planted effects documented in sample_data/README.md."""
    from sample_data.generate import PROFILES, generate
    from sample_data.hr_export import STYLES, write_style

    if profile not in PROFILES:
        fail(f"unknown profile '{profile}': choose one of {', '.join(PROFILES)}")
    if style not in STYLES:
        fail(f"unknown style '{style}': choose one of {', '.join(STYLES)}")
    _check_writable_folder(out_dir, "--out")
    try:
        with progress_bar(f"sample {profile}") as progress:
            manifest = generate(profile, seed, out_dir, effects=not no_effects, progress=progress)
        write_style(out_dir, style)
    except OSError as e:
        fail(f"could not write the sample to {out_dir}: {e.strerror or e}")
    rows = manifest.get("rows", {})
    out.print(f"Wrote {len(rows)} extracts ({sum(rows.values()):,} rows) to {out_dir}"
              + (f" in the {style} style" if style != "plain" else ""))


def _check_writable_folder(folder: Path, option: str) -> None:
    """A folder to write into: it, or the nearest folder above it that exists, must be writable."""
    import os

    if folder.exists() and not folder.is_dir():
        fail(f"{option} {folder} is a file, not a folder")
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        fail(f"{option} {folder}: cannot write there (folder {probe} is not writable)")


@app.command()
def build(
    data: Path = typer.Option(config.DEFAULT_SAMPLE_DATA, "--data", help="Folder with one CSV per extract"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file to (re)write atomically"),
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD: the analysis edge. Every period ends there, later "
                              "end dates are still open, later events are 'in the future' (default: the extract "
                              "date in manifest.json, else the latest event date)"),
    mapping: Path = typer.Option(None, "--mapping", help="YAML file mapping an HR export's columns, words and date "
                                 "formats to the contracts (see sample_data/hr-export-mapping.yaml)"),
    accept_quarantine: bool = typer.Option(False, "--accept-quarantine", help="Build even when more than the allowed "
                                           "share of an extract, a whole extract or a whole column is quarantined "
                                           "(recorded in build_info)"),
) -> None:
    """Validate the extracts against their contracts and build the DuckDB warehouse atomically."""
    from data_contracts.errors import BlockingError
    from metrics.warehouse import build as build_warehouse

    as_of_date = _parse_date(as_of, "--as-of") if as_of else None
    try:
        with progress_bar("build") as progress:
            report = build_warehouse(data, db, as_of=as_of_date, progress=progress, mapping_path=mapping,
                                     accept_quarantine=accept_quarantine)
    except BlockingError as e:
        if e.rule == "db_path":
            kept = f"{db} was left as it was"
        else:
            kept = "the previous warehouse is still serving" if db.is_file() else "no warehouse was written"
        fail(f"build stopped, {kept}. {e}")
    except OSError as e:
        fail(f"build stopped: could not write {db}: {e.strerror or e}")
    print_build_report(report)


def print_build_report(report) -> None:
    table = Table(title=f"Build {report.build_id} -> {report.db_path} ({report.seconds:.1f} s)")
    for col in ("extract", "rows read", "accepted", "quarantined"):
        table.add_column(col, justify="left" if col == "extract" else "right")
    for row in report.extracts:
        table.add_row(row["extract"], f"{row['rows_read']:,}", f"{row['rows_accepted']:,}", f"{row['rows_quarantined']:,}")
    out.print(table)
    if report.quarantine_counts:
        q = Table(title="Quarantined rows by rule (see the quarantine table)")
        for col in ("extract", "rule", "rows"):
            q.add_column(col)
        for (extract, rule), n in sorted(report.quarantine_counts.items()):
            q.add_row(extract, rule, f"{n:,}")
        out.print(q)
    if report.as_of is not None:
        out.print(f"As of {report.as_of.isoformat()} ({report.as_of_source}): every period ends there.", highlight=False)
    for row in report.extracts:
        if row.get("notes"):
            out.print(f"  {row['extract']}: {row['notes']}", highlight=False, markup=False)
    for breach in report.accepted_breaches:
        out.print(f"Built with --accept-quarantine despite: {breach}", highlight=False, markup=False)


benchmark_app = typer.Typer(help="The published Home Office and Census benchmark tables.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("load")
def benchmark_load(
    reference: Path = typer.Option(config.REFERENCE_DIR, "--reference",
                                   help="Folder with the Home Office workforce table(s) and the census table (CSV)"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file to update atomically"),
) -> None:
    """Validate the published reference tables and load them into the warehouse (replacing any loaded before)."""
    from data_contracts.errors import BlockingError
    from metrics.warehouse import load_benchmarks

    if not db.exists():
        fail(f"no warehouse at {db}. Build it first: eqdash build --data DIR --db {db}")
    try:
        load_benchmarks(reference, db)
    except BlockingError as e:
        fail(f"benchmark load stopped, the warehouse is unchanged. {e}")
    with open_warehouse(db) as wh:
        audit = wh.table("benchmark_audit")
    table = Table(title=f"Benchmarks loaded from {reference} -> {db}")
    for col in ("file", "rows read", "accepted", "quarantined"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for row in audit.iter_rows(named=True):
        table.add_row(row["file"], f"{row['rows_read']:,}", f"{row['rows_accepted']:,}", f"{row['rows_quarantined']:,}")
    out.print(table)


release_app = typer.Typer(help="The protected release staff associations and SPOC packs receive.",
                          no_args_is_help=True)
app.add_typer(release_app, name="release")


@release_app.command("audit")
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
    from metrics.release import AREA, FAMILIES, period_named, release_for
    from metrics.release_audit import audit_year, mappings_for

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
            t0 = time.perf_counter()
            year = rel.year(name, p.financial_year)
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
            at_risk += risky
            table.add_row(name, f"{len(cells):,}", f"{hidden:,}", f"{withheld:,}", f"{len(targets):,}",
                          f"{len(risky):,}", f"{audit.lp_solves:,}", f"{time.perf_counter() - t0:.1f}")
        out.print(table)
        n = max(totals["published"], 1)
        out.print(f"cells checked: {totals['checked']:,}; cells at risk: {totals['risk']:,}; "
                  f"hidden: {totals['hidden'] / n:.1%} of {totals['published']:,} non-zero counts in breakdowns "
                  f"({totals['primary'] / n:.1%} by the small-count rule alone, "
                  f"{(totals['hidden'] - totals['primary']) / n:.1%} more to protect them); "
                  f"withheld (not broken down): {totals['withheld'] / n:.1%}; "
                  f"time: {time.perf_counter() - started:.1f} s", highlight=False)
        for t in at_risk[:20]:
            out.print(f"AT RISK: {t.key}: true {t.value}, an attacker can pin it to [{t.lo:.2f}, {t.hi:.2f}]",
                      highlight=False)
        if at_risk:
            raise typer.Exit(1)


@app.command("table")
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
        start=_parse_month(from_month, "--from") if from_month else None,
        end=_parse_month(to_month, "--to") if to_month else None,
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


@app.command("tables")
def tables_cmd() -> None:
    """List the metric tables `eqdash table` can print."""
    from metrics.tables import REGISTRY

    t = Table(title="Metric tables")
    t.add_column("name")
    t.add_column("what it shows")
    for spec in REGISTRY.values():
        t.add_row(spec.name, spec.title)
    out.print(t)


@app.command()
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
    elif (problem := _not_a_warehouse(db)) is not None:
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


def outdated(db: Path) -> str | None:
    """Why the warehouse at db cannot be served by this version of eqdash, or None if it can."""
    from metrics.warehouse import Warehouse, WarehouseOutdated

    try:
        Warehouse(db).close()
    except WarehouseOutdated as e:
        return str(e)
    return None


def ensure_sample_warehouse(db: Path) -> None:
    """First run: generate the small sample extracts and build a warehouse from them."""
    from data_contracts.errors import BlockingError
    from metrics.warehouse import build as build_warehouse
    from sample_data.generate import generate

    err.print(f"No warehouse at {db}: building one from the embedded sample data (profile small).")
    data = config.DEFAULT_SAMPLE_DATA
    with progress_bar("sample small") as progress:
        generate("small", 2016, data, effects=True, progress=progress)
    try:
        with progress_bar("build") as progress:
            report = build_warehouse(data, db, progress=progress)
    except BlockingError as e:
        fail(f"the sample build failed: {e}")
    print_build_report(report)


@app.command()
def export(
    month: str = typer.Option(..., "--month", help="The pack's month, YYYY-MM"),
    area: str = typer.Option("all", "--area", help="A business area code, or all (every area plus the force)"),
    formats: str = typer.Option("pdf,xlsx,ods,csv", "--format", help="Comma-separated: pdf, xlsx, ods, csv"),
    out_dir: Path = typer.Option(Path("out/spoc"), "--out", help="Folder for the packs"),
    db: Path = typer.Option(config.DEFAULT_WAREHOUSE, "--db", help="The warehouse file"),
) -> None:
    """Export the monthly SPOC packs (one per business area plus a force-wide pack)."""
    from dashboard.exports.batch import ExportError, export_packs

    month_start = _parse_month(month, "--month")
    wanted = [x.strip() for x in formats.split(",") if x.strip()]
    bad = sorted(set(wanted) - {"pdf", "xlsx", "ods", "csv"})
    if bad or not wanted:
        fail(f"--format takes pdf, xlsx, ods and/or csv, not '{formats}'")
    _check_writable_folder(out_dir, "--out")
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


@contextmanager
def open_warehouse(db: Path):
    from metrics.warehouse import Warehouse, WarehouseOutdated

    if (problem := _not_a_warehouse(db)) is not None:
        fail(problem)
    try:
        wh = Warehouse(db)
    except WarehouseOutdated as e:
        fail(str(e))
    except FileNotFoundError:
        fail(f"no warehouse at {db}. Build it first: eqdash build --data DIR --db {db}")
    with wh:
        yield wh


def _not_a_warehouse(db: Path) -> str | None:
    """Why ``db`` cannot be opened as a warehouse (a folder, not DuckDB, unreadable), or None."""
    from metrics.warehouse import is_warehouse

    if not db.exists():
        return None  # the callers say how to build one
    if db.is_dir():
        return f"{db} is a folder, not a warehouse file; give the .duckdb file (e.g. {db / 'eqdash.duckdb'})"
    try:
        ok = is_warehouse(db)
    except OSError as e:
        return f"cannot read {db}: {e.strerror or e}"
    if not ok:
        return f"{db} is not an eqdash warehouse (not a DuckDB file with build_info); build one with eqdash build --db PATH"
    return None


def write_frame(frame, fmt: str) -> None:
    import polars as pl

    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=60,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            out.print(str(frame), highlight=False, soft_wrap=True)


def _parse_month(value: str, option: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        fail(f"{option} must be a month like 2024-03, not '{value}'")
        raise  # unreachable: fail() exits


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-03-31, not '{value}'")
        raise  # unreachable: fail() exits


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
