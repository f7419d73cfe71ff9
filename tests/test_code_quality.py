"""The code stays one a reader can follow (issue 16): no function more complex than McCabe 10
(ruff's C901), no dead code (vulture, with tests/vulture_whitelist.py for the names it cannot see
used), no module over 400 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["dashboard", "metrics", "data_contracts", "sample_data"]
BIN = Path(sys.executable).parent


def test_no_function_is_more_complex_than_mccabe_10():
    out = subprocess.run([str(BIN / "ruff"), "check", "--select", "C901", "--config", "lint.mccabe.max-complexity=10",
                          "--output-format", "concise", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_dead_code():
    out = subprocess.run([str(BIN / "vulture"), *CODE, "tests/vulture_whitelist.py", "--min-confidence", "60"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for d in CODE for p in (ROOT / d).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
