"""The CLI on hostile paths and arguments (issue 12): one line naming the cause, exit code 2, and
never a traceback; `build --db` never replaces a file that is not an eqdash warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboard.cli import app

UNWRITABLE = Path("/proc/1")  # a folder even root cannot create files in


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    text = " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, text


@pytest.fixture
def not_duckdb(tmp_path) -> Path:
    path = tmp_path / "eqdash.duckdb"
    path.write_text("person_id,sex\nP0000001,M\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["table", "grievance_rates"], ["export", "--month", "2026-09"], ["serve"]])
def test_a_file_that_is_not_duckdb_is_named_by_every_reader(command, not_duckdb, tmp_path):
    code, text = _run(*command, "--db", str(not_duckdb), *(["--out", str(tmp_path / "o")] if "export" in command else []))
    assert code == 2
    assert text == (f"eqdash: {not_duckdb} is not an eqdash warehouse (not a DuckDB file with build_info); build one "
                    "with eqdash build --db PATH")


def test_a_folder_given_as_the_warehouse_is_named(tmp_path):
    code, text = _run("table", "grievance_rates", "--db", str(tmp_path))
    assert (code, text) == (2, f"eqdash: {tmp_path} is a folder, not a warehouse file; give the .duckdb file (e.g. "
                               f"{tmp_path / 'eqdash.duckdb'})")


def test_serve_on_a_missing_warehouse_says_so_instead_of_building_the_sample(tmp_path):
    missing = tmp_path / "nope.duckdb"
    code, text = _run("serve", "--db", str(missing))
    assert (code, text) == (2, f"eqdash: no warehouse at {missing}. Build it first: eqdash build --data DIR --db "
                               f"{missing} (only the default warehouse is built from the sample on first run)")
    assert not missing.exists()


def test_build_refuses_to_overwrite_an_input_csv(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    target = data / "people.csv"
    before = target.read_bytes()
    code, text = _run("build", "--data", str(data), "--db", str(target))
    assert code == 2
    assert text == (f"eqdash: build stopped, {target} was left as it was. {target}: rule db_path — {target} exists and "
                    "is not an eqdash warehouse; refusing to replace it (choose another --db, or delete the file "
                    "yourself)")
    assert target.read_bytes() == before


def test_build_into_a_folder_or_an_unwritable_place_stops_before_any_work(small_dir, tmp_path):
    code, text = _run("build", "--data", str(small_dir), "--db", str(tmp_path))
    assert (code, text) == (2, f"eqdash: build stopped, {tmp_path} was left as it was. {tmp_path}: rule db_path — "
                               f"{tmp_path} is a directory; give the warehouse file, e.g. {tmp_path / 'eqdash.duckdb'}")
    target = UNWRITABLE / "eq" / "x.duckdb"
    code, text = _run("build", "--data", str(small_dir), "--db", str(target))
    assert (code, text) == (2, f"eqdash: build stopped, {target} was left as it was. {target}: rule db_path — cannot "
                               f"write the warehouse: folder {UNWRITABLE} is not writable")


def test_sample_and_export_into_an_unwritable_folder(small_warehouse):
    target = UNWRITABLE / "out"
    code, text = _run("sample", "--out", str(target))
    assert (code, text) == (2, f"eqdash: --out {target}: cannot write there (folder {UNWRITABLE} is not writable)")
    code, text = _run("export", "--month", "2026-09", "--db", str(small_warehouse), "--out", str(target))
    assert (code, text) == (2, f"eqdash: --out {target}: cannot write there (folder {UNWRITABLE} is not writable)")


def test_a_period_that_ends_before_it_starts_is_refused(small_warehouse):
    code, text = _run("table", "grievance_rates", "--db", str(small_warehouse), "--from", "2025-06", "--to", "2025-01")
    assert (code, text) == (2, "eqdash: --from 2025-06 is later than --to 2025-01")


def test_an_unknown_area_or_worker_type_lists_the_choices(small_warehouse):
    code, text = _run("table", "grievance_rates", "--db", str(small_warehouse), "--area", "XX")
    assert code == 2
    assert text.startswith("eqdash: unknown --area 'XX': choose one of AS, AVIA, AW, CE, CJ, CN, ")
    code, text = _run("table", "grievance_rates", "--db", str(small_warehouse), "--worker-type", "Officer")
    assert (code, text) == (2, "eqdash: unknown --worker-type 'Officer': choose one of 'Police officer', "
                               "'Police staff', 'PCSO', 'Special constable'")
    code, _ = _run("table", "grievance_rates", "--db", str(small_warehouse), "--area", "CN", "--worker-type", "PCSO")
    assert code == 0


def test_build_with_a_missing_mapping_file(small_dir, tmp_path):
    mapping = tmp_path / "none.yaml"
    code, text = _run("build", "--data", str(small_dir), "--db", str(tmp_path / "x.duckdb"), "--mapping", str(mapping))
    assert (code, text) == (2, f"eqdash: build stopped, no warehouse was written. none.yaml: rule mapping — mapping "
                               f"file {mapping} does not exist")


def test_build_prints_the_as_of_date_and_its_source(small_dir, tmp_path):
    code, text = _run("build", "--data", str(small_dir), "--db", str(tmp_path / "x.duckdb"))
    assert code == 0
    assert "As of 2026-10-31 (the extract date in manifest.json): every period ends there." in text


def test_build_of_a_broken_extract_names_the_policy_and_accept_quarantine_overrides(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    people = data / "people.csv"
    lines = people.read_text(encoding="utf-8").splitlines(keepends=True)
    people.write_text("".join(lines + lines[1:]), encoding="utf-8")  # people.csv appended to itself
    db = tmp_path / "x.duckdb"
    code, text = _run("build", "--data", str(data), "--db", str(db))
    assert code == 2
    assert text.startswith("eqdash: build stopped, no warehouse was written. people.csv: rule quarantine_policy — "
                           "every one of its 14,490 rows is quarantined; rule unique on person_id hit 14,490 rows")
    assert not db.exists()
    code, text = _run("build", "--data", str(data), "--db", str(db), "--accept-quarantine")
    assert code == 0
    assert "Built with --accept-quarantine despite: people.csv: every one of its 14,490 rows is quarantined;" in text


def test_build_report_notes_open_end_dates_and_the_data_quality_table_shows_them(small_dir, tmp_path):
    from contract_data import copy_with_open_end_marker

    data = tmp_path / "data"
    copy_with_open_end_marker(small_dir, data)
    db = tmp_path / "x.duckdb"
    code, text = _run("build", "--data", str(data), "--db", str(db))
    assert code == 0
    assert "postings: 1 end_date value(s) 9999-12-31 read as open (no end date)" in text
    code, text = _run("table", "data_quality", "--db", str(db), "--format", "csv")
    assert code == 0
    assert "postings,postings.csv,17717,17717,0,0,1 end_date value(s) 9999-12-31 read as open (no end date)" in text


def test_the_console_build_ends_at_once_with_its_report_whole_and_no_worker_left(tmp_path):
    """`eqdash build` (the console command's own process) skips the interpreter's teardown once the
    warehouse is in place: the report is printed in full, the exit code is 0, the warehouse opens,
    and its great-expectations worker is gone with it."""
    import os
    import subprocess
    import sys
    from importlib.metadata import entry_points

    # the console command must enter through main(), which marks the process as the command's own;
    # `dashboard.cli:app` (as installed before 2 Dec) never skipped the teardown
    assert entry_points(group="console_scripts")["eqdash"].value == "dashboard.cli:main"

    import duckdb
    from contract_data import valid_rows, write_dataset

    data = write_dataset(tmp_path / "data", valid_rows())
    db = tmp_path / "w.duckdb"
    eqdash = Path(sys.executable).with_name("eqdash")
    done = subprocess.run([str(eqdash), "build", "--data", str(data), "--db", str(db), "--as-of", "2026-10-31"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("As of 2026-10-31 (--as-of): every period ends there.")
    assert "Traceback" not in done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from build_info").fetchall() == [(1,)]
    orphans = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"data_contracts.gx_worker" in cmdline and parent != os.getpid():
            orphans.append(pid)
    assert orphans == []


@pytest.mark.parametrize(("argv", "started"), [
    (["/usr/local/bin/eqdash", "build", "--data", "x"], True),
    (["/repo/dashboard/cli.py", "build"], True),  # python -m dashboard.cli build
    (["/usr/local/bin/eqdash", "build", "--help"], False),
    (["/usr/local/bin/eqdash", "table", "grievance_outcomes"], False),
    (["/usr/local/bin/eqdash"], False),
    (["/usr/bin/pytest", "build"], False),  # imported by something else: nothing starts
])
def test_great_expectations_starts_as_the_cli_module_loads_only_for_a_build_command(argv, started):
    """`eqdash build` starts great-expectations' process before typer and the commands are imported
    (its ~2 s import overlaps the start-up); nothing else that imports dashboard.cli starts it."""
    import subprocess
    import sys

    code = (f"import sys; sys.argv = {argv!r}\n"
            "import dashboard.cli\n"
            "from data_contracts import gx_worker\n"
            "print(gx_worker._WORKER is not None and gx_worker._WORKER.alive())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(started)
