"""The helpers the malformed-extract tests share: validate up to an extract (asserting every row
is accounted for), list the quarantined (rule, column, source_row), count, expect a block, rewrite."""

from __future__ import annotations

import pytest
from contract_data import AS_OF

from data_contracts.errors import BlockingError
from data_contracts.validate import ValidationResult, validate_dataset
from metrics.config import EXTRACTS


def run(data_dir, upto: str = "targets") -> ValidationResult:
    """Validate the extracts up to and including ``upto`` (references need the earlier ones)."""
    result = validate_dataset(data_dir, EXTRACTS[: EXTRACTS.index(upto) + 1], as_of=AS_OF)
    for r in result.extracts.values():  # every test: nothing lost, nothing counted twice
        assert r.rows_read == r.rows_accepted + r.rows_quarantined
        assert r.rows_quarantined == r.quarantine["source_row"].n_unique()
    return result


def failures(result: ValidationResult, extract: str) -> list[tuple[str, str, int]]:
    q = result.extracts[extract].quarantine
    return sorted(zip(q["rule"], q["column_name"], q["source_row"], strict=True))


def counts(result: ValidationResult, extract: str) -> tuple[int, int, int]:
    r = result.extracts[extract]
    return r.rows_read, r.rows_accepted, r.rows_quarantined


def blocked(data_dir, upto: str = "targets") -> BlockingError:
    with pytest.raises(BlockingError) as info:
        run(data_dir, upto)
    return info.value


def rewrite(data_dir, extract: str, text: str | bytes) -> None:
    path = data_dir / f"{extract}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
