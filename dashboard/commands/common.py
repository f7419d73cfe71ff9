"""What every `eqdash` command shares: the consoles, the progress bar, one clear failure line (exit 2,
never a traceback), opening the warehouse, parsing months and dates, and printing a frame."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
# True in the process of the console command itself (dashboard.cli.main), never under a test's
# CliRunner: there a finished build may end the process at once (exit_at_once)
EXIT_AT_ONCE = False


def exit_at_once() -> None:
    """End the process of a finished command now, without the interpreter's teardown: after a
    `national` build, freeing the modules and objects of a process about to end takes about 0.2 s
    of the user's wait. Everything is done by then (the warehouse renamed into place, the report
    printed); the great-expectations worker is stopped and the consoles flushed first. Only in the
    console command's own process (EXIT_AT_ONCE); anywhere else this does nothing."""
    if not EXIT_AT_ONCE:
        return
    import os

    from data_contracts import gx_worker

    gx_worker.stop()
    for stream in (sys.stdout, sys.stderr):  # where the out and err consoles write
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (`| head`), or a closed stream
            pass
    os._exit(0)


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


def check_writable_folder(folder: Path, option: str) -> None:
    """A folder to write into: it, or the nearest folder above it that exists, must be writable."""
    import os

    if folder.exists() and not folder.is_dir():
        fail(f"{option} {folder} is a file, not a folder")
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        fail(f"{option} {folder}: cannot write there (folder {probe} is not writable)")


@contextmanager
def open_warehouse(db: Path):
    from metrics.warehouse import Warehouse, WarehouseOutdated

    if (problem := not_a_warehouse(db)) is not None:
        fail(problem)
    try:
        wh = Warehouse(db)
    except WarehouseOutdated as e:
        fail(str(e))
    except FileNotFoundError:
        fail(f"no warehouse at {db}. Build it first: eqdash build --data DIR --db {db}")
    with wh:
        yield wh


def not_a_warehouse(db: Path) -> str | None:
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


def parse_month(value: str, option: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        fail(f"{option} must be a month like 2024-03, not '{value}'")
        raise  # unreachable: fail() exits


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-03-31, not '{value}'")
        raise  # unreachable: fail() exits
