"""`eqdash sample`, `eqdash build` and `eqdash benchmark load`: extracts in, a warehouse out, and the
first-run sample warehouse `eqdash serve` builds when there is none."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from dashboard.commands.common import (
    check_writable_folder,
    err,
    exit_at_once,
    fail,
    open_warehouse,
    out,
    parse_date,
    progress_bar,
)
from metrics import config, formats


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
    check_writable_folder(out_dir, "--out")
    try:
        with progress_bar(f"sample {profile}") as progress:
            manifest = generate(profile, seed, out_dir, effects=not no_effects, progress=progress)
        write_style(out_dir, style)
    except OSError as e:
        fail(f"could not write the sample to {out_dir}: {e.strerror or e}")
    rows = manifest.get("rows", {})
    out.print(f"Wrote {len(rows)} extracts ({formats.fmt_int(sum(rows.values()))} rows) to {out_dir}"
              + (f" in the {style} style" if style != "plain" else ""))


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
    keep_staging: bool = typer.Option(False, "--keep-staging", help="Also store the raw_, stg_ and int_ tables the "
                                      "models build from, to trace a number back to its rows (a larger, slower build)"),
) -> None:
    """Validate the extracts against their contracts and build the DuckDB warehouse atomically."""
    from data_contracts import gx_worker

    gx_worker.start()  # first: great-expectations' ~2 s import is the small build's critical path
    from data_contracts.errors import BlockingError
    from metrics.warehouse import build as build_warehouse

    as_of_date = parse_date(as_of, "--as-of") if as_of else None
    try:
        with progress_bar("build") as progress:
            report = build_warehouse(data, db, as_of=as_of_date, progress=progress, mapping_path=mapping,
                                     accept_quarantine=accept_quarantine, keep_staging=keep_staging)
    except BlockingError as e:
        if e.rule == "db_path":
            kept = f"{db} was left as it was"
        else:
            kept = "the previous warehouse is still serving" if db.is_file() else "no warehouse was written"
        fail(f"build stopped, {kept}. {e}")
    except OSError as e:
        fail(f"build stopped: could not write {db}: {e.strerror or e}")
    print_build_report(report)
    exit_at_once()


def print_build_report(report) -> None:
    table = Table(title=f"Build {report.build_id} -> {report.db_path} ({report.seconds:.1f} s)")
    for col in ("extract", "rows read", "accepted", "quarantined"):
        table.add_column(col, justify="left" if col == "extract" else "right")
    for row in report.extracts:
        table.add_row(row["extract"], *(formats.fmt_int(row[c]) for c in ("rows_read", "rows_accepted", "rows_quarantined")))
    out.print(table)
    if report.quarantine_counts:
        q = Table(title="Quarantined rows by rule (see the quarantine table)")
        for col in ("extract", "rule", "rows"):
            q.add_column(col)
        for (extract, rule), n in sorted(report.quarantine_counts.items()):
            q.add_row(extract, rule, formats.fmt_int(n))
        out.print(q)
    if report.as_of is not None:
        out.print(f"As of {report.as_of.isoformat()} ({report.as_of_source}): every period ends there.", highlight=False)
    for row in report.extracts:
        if row.get("notes"):
            out.print(f"  {row['extract']}: {row['notes']}", highlight=False, markup=False)
    for breach in report.accepted_breaches:
        out.print(f"Built with --accept-quarantine despite: {breach}", highlight=False, markup=False)


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
        table.add_row(row["file"], *(formats.fmt_int(row[c]) for c in ("rows_read", "rows_accepted", "rows_quarantined")))
    out.print(table)


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
    from data_contracts import gx_worker

    gx_worker.start()  # great-expectations imports while the sample is generated
    from data_contracts.errors import BlockingError
    from metrics.warehouse import build as build_warehouse
    from sample_data.generate import generate

    err.print(f"No warehouse at {db}: building one from the embedded sample data (profile small).")
    data = config.DEFAULT_SAMPLE_DATA
    try:
        with progress_bar("sample small") as progress:
            generate("small", 2016, data, effects=True, progress=progress)
        with progress_bar("build") as progress:
            report = build_warehouse(data, db, progress=progress)
    except BlockingError as e:
        fail(f"the sample build failed: {e}")
    finally:
        gx_worker.stop()  # the server never validates again: free great-expectations' process
    print_build_report(report)
