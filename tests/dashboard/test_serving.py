"""Safe serving: who gets which role (fail closed), the role map, sign-in claims, serving off this
machine, SIGTERM, extract text never rendered as Markdown, and the synthetic-data label."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dashboard import roles, serve, theme

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "app.py"


# ---------------------------------------------------------------------------------------------
# The role map and the signed-in user's claims
# ---------------------------------------------------------------------------------------------

def test_a_string_instead_of_a_list_is_an_error_not_read_letter_by_letter(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("board: chair@force.police.uk\n", encoding="utf-8")
    with pytest.raises(roles.RoleMapError) as e:
        roles.load_role_map(path)
    assert str(e.value) == (f"{path}: 'board' must be a list of emails (e.g. board: [name@force.police.uk]), "
                            "not str 'chair@force.police.uk'")


def test_a_missing_or_broken_role_map_is_a_clear_message(tmp_path):
    with pytest.raises(roles.RoleMapError, match=r"roles.yaml: the role map file does not exist$"):
        roles.load_role_map(tmp_path / "roles.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("board: [a@x.uk\n", encoding="utf-8")
    with pytest.raises(roles.RoleMapError, match=r"bad.yaml: the role map is not valid YAML"):
        roles.load_role_map(bad)
    odd = tmp_path / "odd.yaml"
    odd.write_text("analyst: [not-an-email]\n", encoding="utf-8")
    with pytest.raises(roles.RoleMapError, match=r"'analyst' has entries that are not email addresses: \['not-an-email'\]"):
        roles.load_role_map(odd)


def test_a_role_needs_a_verified_email():
    role_map = {"board": ["chair@x.uk"]}
    assert roles.role_for_user({"email": "chair@x.uk"}, role_map) is None
    assert roles.role_for_user({"email": "chair@x.uk", "email_verified": False}, role_map) is None
    assert roles.role_for_user({"email": "chair@x.uk", "email_verified": "false"}, role_map) is None
    assert roles.role_for_user({"email": "chair@x.uk", "email_verified": True}, role_map) == "board"
    assert roles.role_for_user({"email": "chair@x.uk", "email_verified": "True"}, role_map) == "board"
    # The claim is configurable (eqdash.verified_claim), and an empty one turns the check off.
    assert roles.role_for_user({"email": "chair@x.uk", "xms_edov": True}, role_map, verified_claim="xms_edov") == "board"
    assert roles.role_for_user({"email": "chair@x.uk"}, role_map, verified_claim="") == "board"


def test_without_sign_in_or_a_role_every_visitor_is_the_least_role(monkeypatch):
    monkeypatch.delenv("EQDASH_ROLE", raising=False)
    assert roles.env_role() == "staff_association"
    monkeypatch.setenv("EQDASH_ROLE", "board")
    assert roles.env_role() == "board"


def test_the_app_without_a_role_is_a_staff_association(small_warehouse, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    monkeypatch.delenv("EQDASH_ROLE", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Grievances"  # the staff association's first page
    assert "Signed in as: **Staff association**" in [c.value for c in at.sidebar.caption]


def test_a_broken_role_map_with_sign_in_gives_nobody_a_role(small_warehouse, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))
    monkeypatch.setenv("EQDASH_ROLE", "analyst")
    path = tmp_path / "roles.yaml"
    path.write_text("analyst: everyone@force.police.uk\n", encoding="utf-8")
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://login.example/.well-known/openid-configuration"}
    at.secrets["eqdash"] = {"role_map": str(path)}
    at.user = {"is_logged_in": True, "email": "everyone@force.police.uk", "email_verified": True}
    at.run()
    assert at.title[0].value == "No access"
    assert [e.value for e in at.error] == [
        f"The role map cannot be used, so nobody can be given a role: {path}: 'analyst' must be a list of emails "
        "(e.g. analyst: [name@force.police.uk]), not str 'everyone@force.police.uk'"]


# ---------------------------------------------------------------------------------------------
# eqdash serve: preflight, the command line, SIGTERM
# ---------------------------------------------------------------------------------------------

def test_off_loopback_needs_sign_in_or_an_explicit_role(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "app"
    root.mkdir()
    with pytest.raises(serve.ServeRefused) as e:
        serve.preflight(role=None, address="0.0.0.0", root=root)
    assert str(e.value).startswith("serving on 0.0.0.0 would let anyone who can reach this machine in without "
                                   "signing in: configure sign-in")
    assert serve.preflight(role="board", address="0.0.0.0", root=root) == [
        "serving on 0.0.0.0 WITHOUT sign-in: every visitor who can reach this machine is given the board role"]
    assert serve.preflight(role="analyst", address="127.0.0.1", root=root) == []
    assert serve.preflight(role=None, address="127.0.0.1", root=root) == [
        "no sign-in and no --role: every visitor gets the staff association role (pass --role board or "
        "--role analyst for more)"]
    with pytest.raises(serve.ServeRefused, match="unknown role 'admin'"):
        serve.preflight(role="admin", address="127.0.0.1", root=root)


def test_sign_in_configured_validates_the_role_map_before_starting(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "app"
    (root / ".streamlit").mkdir(parents=True)
    secrets = root / ".streamlit" / "secrets.toml"
    missing = tmp_path / "nowhere" / "roles.yaml"
    secrets.write_text(f'[auth]\nclient_id = "id"\n[eqdash]\nrole_map = "{missing}"\n', encoding="utf-8")
    with pytest.raises(serve.ServeRefused) as e:
        serve.preflight(role=None, address="0.0.0.0", root=root)
    assert str(e.value) == f"{missing}: the role map file does not exist"
    missing.parent.mkdir()
    missing.write_text("board: [chair@force.police.uk]\n", encoding="utf-8")
    assert serve.preflight(role=None, address="0.0.0.0", root=root) == [
        "serving on 0.0.0.0: reachable from other machines; visitors must sign in"]
    secrets.write_text('[auth]\nclient_id = "id"\n', encoding="utf-8")
    with pytest.raises(serve.ServeRefused, match="the secrets have no eqdash.role_map"):
        serve.preflight(role=None, address="127.0.0.1", root=root)


def test_the_server_environment_drops_an_inherited_role_when_none_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("EQDASH_ROLE", "analyst")
    assert "EQDASH_ROLE" not in serve.environment(db=tmp_path / "w.duckdb", role=None)
    assert serve.environment(db=tmp_path / "w.duckdb", role="board")["EQDASH_ROLE"] == "board"


def cli(*args, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_serve_on_all_addresses_without_sign_in_or_role_is_refused(tmp_path, small_warehouse):
    done = cli("serve", "--address", "0.0.0.0", "--db", str(small_warehouse), home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("eqdash: serving on 0.0.0.0 would let anyone who can reach this machine in")
    assert "Traceback" not in done.stderr + done.stdout


def test_sigterm_to_eqdash_serve_stops_streamlit_too(tmp_path, small_warehouse):
    from urllib.request import urlopen

    from chromium_pages import free_port

    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--db", str(small_warehouse),
                             "--role", "board", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)  # to eqdash only, not its process group
        assert proc.wait(timeout=30) == 0
        with pytest.raises(OSError):
            urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# Extract text is escaped; synthetic data is labelled
# ---------------------------------------------------------------------------------------------

IMAGE = "![x](http://127.0.0.1:9/pixel.png) **bold** :red[alarm] $x$"


def test_escape_markdown_leaves_no_link_image_or_directive():
    escaped = theme.escape_markdown(IMAGE)
    assert escaped == r"\!\[x\]\(http\://127\.0\.0\.1\:9/pixel\.png\) \*\*bold\*\* \:red\[alarm\] \$x\$"


@pytest.fixture(scope="module")
def hostile_warehouse(small_dir, tmp_path_factory):
    """The small sample with a STRIDE senior lead and an IOPC lead that are Markdown images."""
    from metrics.warehouse import build

    base = tmp_path_factory.mktemp("hostile")
    data = base / "data"
    shutil.copytree(small_dir, data)
    stride = pl.read_csv(data / "stride_updates.csv", infer_schema_length=0)
    stride = stride.with_columns(pl.when(pl.col("commitment_id") == "11").then(pl.lit(IMAGE))
                                 .otherwise(pl.col("senior_lead")).alias("senior_lead"))
    stride.write_csv(data / "stride_updates.csv")
    build(data, base / "warehouse.duckdb", as_of=date(2026, 11, 1))
    return base / "warehouse.duckdb"


def test_extract_text_reaches_the_page_as_text_never_markdown(hostile_warehouse, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQDASH_DB", str(hostile_warehouse))
    monkeypatch.setenv("EQDASH_ROLE", "board")
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("app_pages/stride.py").run()
    assert not at.exception and not at.error
    markdown = " ".join(m.value for m in [*at.markdown, *at.caption, *at.subheader, *at.title])
    assert "](http" not in markdown and "pixel" not in markdown
    cells = [str(v) for d in at.dataframe for col in d.value.columns for v in d.value[col].tolist()]
    assert IMAGE in cells  # shown verbatim, as text, in the table


@pytest.mark.parametrize("role", ["analyst", "staff_association"])
def test_every_page_says_synthetic_sample_data_and_the_date_its_data_run_to(app_env, role):
    """First, on every page of every role: synthetic, and the as-of date (the samples' extract date,
    31 Oct 2026, tests/conftest.py), after which nothing is counted."""
    at = app_env(role)
    at.run()
    from dashboard.app import ROLE_PAGES

    banner = ("**Synthetic sample data**: generated by eqdash sample (profile small, seed 2016): not real people, "
              "not the force's figures. **Data to 31 Oct 2026**: every period ends there, so the latest year is a "
              "part year.")
    for page in ROLE_PAGES[role]:
        at.switch_page(f"app_pages/{page}.py").run()
        assert banner in [c.value for c in at.caption], page
