"""The samples the generator's tests read: generated once per test session (about 2 s each)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_checks import SEED

from sample_data.generate import generate


@pytest.fixture(scope="session")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate("small", SEED, out)
    return out


@pytest.fixture(scope="session")
def mps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mps")
    generate("mps", SEED, out)
    return out


@pytest.fixture(scope="session")
def mps_null(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mps_null")
    generate("mps", SEED, out, effects=False)
    return out
