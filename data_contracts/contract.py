"""Load the YAML data contracts and the shared code lists into typed, checked objects.

A contract (``<extract>.yaml``) lists the extract's columns (type, required, pattern, code list,
min/max, not_future, references), its primary key and its cross-column rules. ``codes.yaml``
holds every code list. Loading checks the contracts against each other, so a typo in a contract
fails here with a ContractError rather than as a puzzling validation result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from data_contracts.errors import ContractError

# libyaml's safe loader when PyYAML has it (the wheels do): the same documents, parsed in C. The
# contracts are read at every build, and the pure-Python loader took 0.19 s of a national build.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    """A contract-folder YAML file, read safely (no Python objects)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader

CONTRACTS_DIR = Path(__file__).resolve().parent
# The extracts, in load order (referenced extracts first): one <extract>.yaml contract each. The one
# list every package reads (metrics.config.EXTRACTS, the sample generator, the tests).
EXTRACTS: tuple[str, ...] = (
    "business_areas",
    "people",
    "postings",
    "grievances",
    "misconduct_cases",
    "applications",
    "acting_up",
    "stride_updates",
    "iopc_actions",
    "targets",
)
# More than this share of an extract's rows quarantined blocks the build, unless its contract says otherwise.
DEFAULT_QUARANTINE_THRESHOLD = 0.05
COLUMN_TYPES = ("string", "integer", "number", "date")
# check kind -> the YAML keys naming its two columns, in message order
RULE_CHECKS: dict[str, tuple[str, str]] = {
    "date_order": ("later", "earlier"),
    "not_greater": ("smaller", "larger"),
    "both_or_neither": ("columns", "columns"),
}


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    group: str | None = None
    worker_type: str | None = None
    sort_order: int = 0


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    required: bool = False
    pattern: str | None = None
    codes: str | None = None
    references: tuple[str, str] | None = None  # (extract, column)
    min: float | None = None
    max: float | None = None
    not_future: bool = False
    open_end: bool = False  # an end date: blank, an open-end marker or a date after the as-of date = still open
    min_date: date | None = None  # the plausible floor of a date column (DEFAULT_MIN_DATE unless given)
    may_be_absent: bool = False  # added to the contract later: an extract without the column reads it as blank


@dataclass(frozen=True)
class Rule:
    name: str
    check: str
    columns: tuple[str, str]  # date_order: (later, earlier); not_greater: (smaller, larger)


@dataclass(frozen=True)
class Contract:
    extract: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default=())
    quarantine_threshold: float = DEFAULT_QUARANTINE_THRESHOLD  # more than this share quarantined blocks the build
    required_extract: bool = True  # an extract quarantined whole always blocks
    spells: tuple[str, str, str] | None = None  # (person, start, end): dated spells that may not overlap
    within_service: tuple[str, str] | None = None  # (start, end) must lie within the person's service

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@cache
def load_codes(directory: Path = CONTRACTS_DIR) -> dict[str, dict[str, Code]]:
    """Every code list: list name -> code -> Code (label, group, worker type, sort order)."""
    path = directory / "codes.yaml"
    raw = read_yaml(path)
    lists: dict[str, dict[str, Code]] = {}
    for list_name, entries in raw.items():
        if not isinstance(entries, dict) or not entries:
            raise ContractError(f"{path.name}: code list {list_name!r} must be a non-empty mapping")
        codes: dict[str, Code] = {}
        for position, (code, spec) in enumerate(entries.items(), start=1):
            if isinstance(code, bool) or not isinstance(code, str | int):
                # YAML turns unquoted yes/no/on/off into booleans: insist on strings
                raise ContractError(f"{path.name}: code {code!r} in {list_name} is not a string; quote it")
            code = str(code)  # numeric ids (STRIDE commitments, IOPC recommendations) compare as text
            if isinstance(spec, dict):
                codes[code] = Code(
                    code=code,
                    label=str(spec["label"]),
                    group=spec.get("group"),
                    worker_type=spec.get("worker_type"),
                    sort_order=int(spec.get("order", position)),
                )
            else:
                codes[code] = Code(code=code, label=str(spec), sort_order=position)
        lists[list_name] = codes
    return lists


# Dates before this are placeholders or typos (1900-01-01 is the classic default of HR systems).
DEFAULT_MIN_DATE = date(1950, 1, 1)


def _as_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# Column keys that document the contract for its readers and are not read by validation (likewise the
# top-level description and grain).
_DOC_KEYS = {"description"}


def _column(extract: str, spec: dict) -> Column:
    known = {f for f in Column.__dataclass_fields__} | _DOC_KEYS
    unknown = set(spec) - known
    if unknown:
        raise ContractError(f"{extract}.yaml: column {spec.get('name')!r} has unknown keys {sorted(unknown)}")
    references = spec.get("references")
    if references is not None:
        target, _, target_column = str(references).partition(".")
        if not target_column:
            raise ContractError(f"{extract}.yaml: references must be '<extract>.<column>', got {references!r}")
        references = (target, target_column)
    return Column(
        name=spec["name"],
        type=spec.get("type", "string"),
        required=bool(spec.get("required", False)),
        pattern=spec.get("pattern"),
        codes=spec.get("codes"),
        references=references,
        min=spec.get("min"),
        max=spec.get("max"),
        not_future=bool(spec.get("not_future", False)),
        open_end=bool(spec.get("open_end", False)),
        min_date=_as_date(spec.get("min_date")),
        may_be_absent=bool(spec.get("may_be_absent", False)),
    )


def _rule(extract: str, spec: dict) -> Rule:
    check = spec.get("check")
    if check not in RULE_CHECKS:
        raise ContractError(f"{extract}.yaml: rule {spec.get('name')!r} has unknown check {check!r}")
    first, second = RULE_CHECKS[check]
    if check == "both_or_neither":
        cols = tuple(spec[first])
        if len(cols) != 2:
            raise ContractError(f"{extract}.yaml: rule {spec['name']!r} needs exactly two columns")
    else:
        cols = (spec[first], spec[second])
    return Rule(name=spec["name"], check=check, columns=cols)  # type: ignore[arg-type]


def load_contract(extract: str, directory: Path = CONTRACTS_DIR) -> Contract:
    path = directory / f"{extract}.yaml"
    if not path.exists():
        raise ContractError(f"no contract for extract {extract!r} ({path})")
    raw = read_yaml(path)
    if raw.get("extract") != extract:
        raise ContractError(f"{path.name}: 'extract' is {raw.get('extract')!r}, expected {extract!r}")
    columns = tuple(_column(extract, c) for c in raw["columns"])
    contract = Contract(
        extract=extract,
        primary_key=tuple(raw["primary_key"]),
        columns=columns,
        rules=tuple(_rule(extract, r) for r in raw.get("rules", []) or []),
        quarantine_threshold=float(raw.get("quarantine_threshold", DEFAULT_QUARANTINE_THRESHOLD)),
        required_extract=bool(raw.get("required", True)),
        spells=tuple(raw["spells"]) if raw.get("spells") else None,  # type: ignore[arg-type]
        within_service=tuple(raw["within_service"]) if raw.get("within_service") else None,  # type: ignore[arg-type]
    )
    _check_contract(contract, load_codes(directory))
    return contract


def _check_contract(contract: Contract, codes: dict[str, dict[str, Code]]) -> None:
    name = f"{contract.extract}.yaml"
    seen: set[str] = set()
    for col in contract.columns:
        if col.name in seen:
            raise ContractError(f"{name}: column {col.name!r} listed twice")
        seen.add(col.name)
        _check_column(name, col, codes)
    _check_names(name, seen, contract)


def _check_names(name: str, seen: set[str], contract: Contract) -> None:
    """Every column the spells, the primary key and the rules name is a column of the contract."""
    for col_name in (*(contract.spells or ()), *(contract.within_service or ())):
        if col_name not in seen:
            raise ContractError(f"{name}: spells/within_service names unknown column {col_name!r}")
    for key in contract.primary_key:
        if key not in seen:
            raise ContractError(f"{name}: primary key column {key!r} is not a column")
    for rule in contract.rules:
        for col_name in rule.columns:
            if col_name not in seen:
                raise ContractError(f"{name}: rule {rule.name!r} names unknown column {col_name!r}")


def _check_column(name: str, col: Column, codes: dict[str, dict[str, Code]]) -> None:
    if col.type not in COLUMN_TYPES:
        raise ContractError(f"{name}: column {col.name!r} has unknown type {col.type!r}")
    if col.codes is not None and col.codes not in codes:
        raise ContractError(f"{name}: column {col.name!r} uses unknown code list {col.codes!r}")
    if (col.min is not None or col.max is not None) and col.type not in ("integer", "number"):
        raise ContractError(f"{name}: column {col.name!r} has min/max but is not numeric")
    if (col.not_future or col.open_end or col.min_date) and col.type != "date":
        raise ContractError(f"{name}: column {col.name!r} has a date rule but is not a date")


def load_contracts(extracts: Iterable[str], directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """The contracts for ``extracts`` in load order; references must point to an earlier extract."""
    contracts: dict[str, Contract] = {}
    for extract in extracts:
        contract = load_contract(extract, directory)
        for col in contract.columns:
            if col.references is None:
                continue
            target, target_column = col.references
            if target not in contracts:
                raise ContractError(
                    f"{extract}.yaml: column {col.name!r} references {target!r}, which is not loaded before it"
                )
            if target_column not in contracts[target].column_names:
                raise ContractError(f"{extract}.yaml: column {col.name!r} references unknown column {target}.{target_column}")
        contracts[extract] = contract
    return contracts
