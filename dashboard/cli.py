"""The `eqdash` command line: sample data, warehouse build, metric tables, the app and the packs.

Each command lives in dashboard/commands/ (one module per job); this module only names them.
Bad input ends with one clear line (file, row, column, rule) and exit code 2, never a traceback.
Heavy modules are imported inside commands so `eqdash --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _start_great_expectations_early() -> None:
    """`eqdash build` has great-expectations judge the extracts in a process of its own, whose import
    takes about 2 s of a core. For a build run as a command, that process is started here, before
    typer and the commands are imported and the arguments parsed (about 0.15 s of the one core the
    start-up uses), so the import overlaps them. The build command asks for it again (gx_worker.start
    starts it only once); any other use of this module starts nothing."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program in ("eqdash", "cli.py") and sys.argv[1:2] == ["build"] and not {"-h", "--help"} & set(sys.argv):
        from data_contracts import gx_worker

        gx_worker.start()


_start_great_expectations_early()

import typer  # noqa: E402 - after the early start above

from dashboard.commands import build, common, release, run, tables  # noqa: E402

app = typer.Typer(
    name="eqdash",
    help="Workforce equality and disproportionality analytics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
benchmark_app = typer.Typer(help="The published Home Office and Census benchmark tables.", no_args_is_help=True)
release_app = typer.Typer(help="The protected release staff associations and SPOC packs receive.",
                          no_args_is_help=True)

app.command("sample")(build.sample)
app.command("build")(build.build)
app.add_typer(benchmark_app, name="benchmark")
benchmark_app.command("load")(build.benchmark_load)
app.add_typer(release_app, name="release")
release_app.command("audit")(release.release_audit_cmd)
release_app.command("prepare")(release.release_prepare_cmd)
app.command("table")(tables.table_cmd)
app.command("tables")(tables.tables_cmd)
app.command("serve")(run.serve)
app.command("export")(run.export)


def main() -> None:  # pragma: no cover - console entry point
    common.EXIT_AT_ONCE = True  # this process is the command: a finished build need not tear it down
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
