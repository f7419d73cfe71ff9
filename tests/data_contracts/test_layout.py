"""How data_contracts is put together: one list of extracts (the contract files, in load order),
great-expectations loaded only when validation runs, and documentation keys in a contract that
validation accepts but does not read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from data_contracts import contract
from data_contracts.contract import CONTRACTS_DIR, EXTRACTS, load_contract, load_contracts
from data_contracts.errors import ContractError
from metrics import config

ROOT = Path(__file__).resolve().parents[2]


def test_the_extracts_list_is_the_contract_files_in_load_order():
    files = sorted(p.stem for p in CONTRACTS_DIR.glob("*.yaml") if p.stem != "codes")
    assert sorted(EXTRACTS) == files and len(EXTRACTS) == len(files) == 10
    assert config.EXTRACTS is contract.EXTRACTS  # one list, not a copy that can drift
    # load order: every extract's references point to an extract listed before it
    assert list(load_contracts(EXTRACTS)) == list(EXTRACTS)
    with pytest.raises(ContractError, match="references 'people', which is not loaded before it"):
        load_contracts(("business_areas", "postings", "people"))


def test_validation_loads_great_expectations_only_when_it_runs():
    code = (
        "import sys\n"
        "import data_contracts.validate, data_contracts.reference_tables, data_contracts.policy\n"
        "print('great_expectations' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_a_column_may_carry_a_description_but_no_other_unknown_key(tmp_path):
    (tmp_path / "codes.yaml").write_text("yes_no: {Y: 'Yes', N: 'No'}\n", encoding="utf-8")
    head = "extract: flags\ndescription: documentation only\ngrain: one row per flag\nprimary_key: [flag_id]\n"
    (tmp_path / "flags.yaml").write_text(
        head + "columns:\n  - {name: flag_id, required: true, description: 'the id'}\n"
        "  - {name: flag, codes: yes_no}\n", encoding="utf-8")
    loaded = load_contract("flags", tmp_path)
    assert loaded.column_names == ("flag_id", "flag") and loaded.primary_key == ("flag_id",)
    (tmp_path / "flags.yaml").write_text(
        head + "columns:\n  - {name: flag_id, required: true, grain: 'one'}\n", encoding="utf-8")
    with pytest.raises(ContractError) as info:
        load_contract("flags", tmp_path)
    assert str(info.value) == "flags.yaml: column 'flag_id' has unknown keys ['grain']"
