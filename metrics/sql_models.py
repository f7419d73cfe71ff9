"""The SQL models as files: discovery, their header (purpose, grain, upstream, invariants), the
tables each one reads (from DuckDB's own parse tree, not matched by regex) and the order to build them in.

DuckDB only parses here: ``metrics.warehouse`` runs the models this module finds and orders.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from data_contracts.errors import BlockingError
from metrics import config

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MODEL_PREFIX_RE = re.compile(r"^(stg|fct|dim|int|mart|raw)_", re.I)
LAYERS = ("staging", "marts")


class ModelError(BlockingError):
    """A SQL model that cannot be ordered or run (cycle, missing model, SQL error)."""


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    layer: str  # "staging", "marts" or "benchmarks"
    body: str

    @property
    def rel(self) -> str:
        return f"sql/{self.layer}/{self.path.name}"


@dataclass(frozen=True)
class Header:
    """What a model's leading comment declares: ``-- Grain: a, b (unique)``, ``-- Upstream: x, y``
    and any ``-- Invariant: <SQL condition every row meets>`` lines."""

    purpose: str
    grain: tuple[str, ...]
    upstream: tuple[str, ...]
    invariants: tuple[str, ...]


def read_model(path: Path, layer: str) -> Model:
    name = path.stem
    if not NAME_RE.match(name):
        raise ModelError(str(path), "model_name", f"model file name {name!r} must be lower_snake_case")
    body = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
    if not body:
        raise ModelError(str(path), "model_empty", "the model file is empty")
    return Model(name, path, layer, body)


def discover_models(sql_dir: Path = config.SQL_DIR, layers: Iterable[str] = LAYERS) -> list[Model]:
    models: list[Model] = []
    seen: dict[str, Path] = {}
    for layer in layers:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            if path.stem in seen:
                raise ModelError(str(path), "model_name", f"model {path.stem!r} is defined twice ({seen[path.stem]} and {path})")
            seen[path.stem] = path
            models.append(read_model(path, layer))
    return models


BUILD_ONLY_PREFIXES = ("stg_", "int_")


def build_only(model: Model) -> bool:
    """True for a staging or intermediate model (``stg_``, ``int_``) that nothing but other models
    reads: the build makes it in memory (how_made), and it is never written to the warehouse
    file (as dbt's ephemeral models). A model the dashboard or metrics read says so in its header
    with ``-- Kept: <who reads it>``. The published benchmarks' models are always kept."""
    return (model.layer != "benchmarks" and model.name.startswith(BUILD_ONLY_PREFIXES)
            and "Kept" not in _header_fields(model.body)[1])


def _header_fields(body: str) -> tuple[str, dict[str, list[str]]]:
    """The first line's text and the ``-- Key: value`` lines of the leading comment; a line indented
    past ``--`` continues the one before it, any other comment line is prose."""
    first, fields, last = "", {}, None
    for line in body.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].strip()
        field = re.match(r"^([A-Z][a-z]+): (.*)$", text)
        if not first:
            first = text
        elif line.startswith("--  ") and last is not None:
            last[-1] = f"{last[-1]} {text}"
        elif field:
            last = fields.setdefault(field.group(1), [])
            last.append(field.group(2))
        else:
            last = None
    return first, fields


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in re.split(r",| x ", text) if n.strip())


def read_header(model: Model) -> Header:
    """The model's declared header. Grain is the key list before ``(unique)``."""
    first, fields = _header_fields(model.body)
    grain = re.match(r"^([a-z0-9_, x]+?) \(unique\)", (fields.get("Grain") or [""])[0])
    if not first.startswith(f"{model.name}: ") or grain is None or "Upstream" not in fields:
        raise ModelError(model.rel, "model_header", f"model {model.name} needs a header: '-- {model.name}: purpose', "
                                                    "'-- Grain: key, key (unique)' and '-- Upstream: table, table'")
    upstream = re.sub(r"\([^)]*\)", "", fields["Upstream"][0]).rstrip(".")
    return Header(purpose=first.partition(": ")[2], grain=_names(grain.group(1)), upstream=_names(upstream),
                  invariants=tuple(v.rstrip(".") for v in fields.get("Invariant", [])))


# DuckDB's own parser reads the models (they are DuckDB SQL): ``json_serialize_sql`` gives a SELECT's
# parse tree as JSON: all 32 models in ~0.11 s of CPU with the connection, where sqlglot (pure
# Python, holding the GIL the reading threads need) took ~0.28 s with its import. One in-memory
# connection a process, used under a lock.
_PARSER_LOCK = threading.Lock()  # the connection runs one statement at a time
# Functions whose result can differ between two evaluations of the same rows; current_date and its
# kin parse as bare names (column references), so they are listed too.
_VOLATILE = frozenset({"random", "uuid", "uuidv4", "uuidv7", "gen_random_uuid", "now", "today", "current_date",
                       "current_time", "current_timestamp", "get_current_time", "get_current_timestamp",
                       "transaction_timestamp", "current_localtime", "current_localtimestamp", "localtime",
                       "localtimestamp", "setseed", "nextval"})
# Aggregates whose result cannot depend on the order rows arrive in (count(*) parses as count_star)
_ORDER_FREE_AGGREGATES = frozenset({"max", "min", "count", "count_star"})


@dataclass(frozen=True)
class _Parsed:
    """What the build needs of a model's parse tree, gathered in one walk of it."""

    tables: frozenset[str]  # every table referenced without a schema, CTEs included
    ctes: frozenset[str]
    functions: frozenset[str]  # every function called, scalar or aggregate (not window)
    window: bool
    limit: bool
    sample: bool  # USING SAMPLE / TABLESAMPLE: random rows
    names: frozenset[str]  # every single-part column reference (current_date parses as one)


@lru_cache(maxsize=1)
def _parser():
    """(an in-memory connection that only parses, DuckDB's aggregate function names), made once."""
    import duckdb  # only a build parses SQL; reading a warehouse (the dashboard's path) never does

    con = duckdb.connect(config={"threads": 1})
    aggregates = con.execute("select distinct function_name from duckdb_functions() "
                             "where function_type = 'aggregate'").fetchall()
    return con, frozenset(name for (name,) in aggregates)


def _where(body: str, position: str | None) -> str:
    """'line L, column C' of DuckDB's error position (a byte offset into the SQL)."""
    if not position or not str(position).isdigit():
        return ""
    before = body.encode("utf-8")[: int(position)].decode("utf-8", "replace")
    return f" (line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))})"


def _statement(model: Model) -> dict:
    """DuckDB's parse tree of the model's one SELECT. ModelError (sql_parse) for SQL DuckDB cannot
    parse or that is not exactly one SELECT."""
    import json

    con = _parser()[0]
    with _PARSER_LOCK:
        text = con.execute("select json_serialize_sql(?::varchar, skip_null := true, skip_empty := true)",
                                 [model.body]).fetchall()[0][0]
    tree = json.loads(text)
    if tree.get("error"):
        if tree.get("error_type") == "parser":
            detail = " ".join(str(tree.get("error_message", "")).split())
            raise ModelError(model.rel, "sql_parse", f"model {model.name} could not be parsed: "
                                                     f"{detail[:300]}{_where(model.body, tree.get('position'))}")
        raise ModelError(model.rel, "sql_parse", f"model {model.name} could not be parsed: a model is one SELECT "
                                                 "statement (with ... select ...), and this is not one")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise ModelError(model.rel, "sql_parse", f"model {model.name} could not be parsed: a model is one SELECT "
                                                 f"statement, and this has {len(statements)}")
    return statements[0]


def _nodes(tree):
    """Every object (dict) of a JSON tree, in no particular order."""
    stack: list = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            stack.extend(value for value in node.values() if isinstance(value, dict | list))


@lru_cache(maxsize=256)
def _parse(model: Model) -> _Parsed:
    """The parts of the model's SQL the build needs, from DuckDB's parse tree (parsed once a model)."""
    found: dict[str, set[str]] = {"BASE_TABLE": set(), "FUNCTION": set(), "COLUMN_REF": set(), "cte": set(), "flag": set()}
    for node in _nodes(_statement(model)):
        kind = node.get("class") or node.get("type")
        if kind == "BASE_TABLE" and not node.get("schema_name") and not node.get("catalog_name"):
            found[kind].add(str(node.get("table_name", "")).lower())
        elif kind == "FUNCTION":
            found[kind].add(str(node.get("function_name", "")).lower())
        elif kind == "COLUMN_REF" and len(node.get("column_names", ())) == 1:
            found[kind].add(str(node["column_names"][0]).lower())
        elif kind in ("WINDOW", "LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER"):
            found["flag"].add(kind)
        if node.get("sample"):
            found["flag"].add("sample")
        found["cte"].update(str(cte.get("key", "")).lower() for cte in (node.get("cte_map") or {}).get("map", ()))
    return _Parsed(frozenset(found["BASE_TABLE"]), frozenset(found["cte"]), frozenset(found["FUNCTION"]),
                   "WINDOW" in found["flag"], bool({"LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER"} & found["flag"]),
                   "sample" in found["flag"], frozenset(found["COLUMN_REF"]))


def tables_read(model: Model) -> set[str]:
    """Every table the model's SELECT reads (its CTEs and schema-qualified names excluded), from
    DuckDB's parse tree."""
    parsed = _parse(model)
    return {t for t in parsed.tables if t} - parsed.ctes


def repeatable(model: Model) -> bool:
    """True if the model gives the same rows however often it is worked out: no window function,
    LIMIT, sample of rows, volatile function (random, uuid, now, current_date) or aggregate whose result can depend
    on the order rows arrive in (only max, min and count are allowed: a parallel sum of doubles,
    first() or string_agg() can differ; the aggregates are DuckDB's own list). Such a model may be a
    view that several models read."""
    parsed = _parse(model)
    aggregates = _parser()[1]
    return not (parsed.window or parsed.limit or parsed.sample
                or (parsed.functions & aggregates) - _ORDER_FREE_AGGREGATES
                or (parsed.functions | parsed.names) & _VOLATILE)


def dependencies(models: list[Model], known_tables: Iterable[str]) -> dict[str, set[str]]:
    """Each model's upstream models; a read of an unknown model-like table is an error naming the file."""
    by_name = {m.name for m in models}
    known = {t.lower() for t in known_tables}
    deps: dict[str, set[str]] = {}
    for m in models:
        tables = tables_read(m)
        for ref in sorted(tables - by_name - known):
            if _MODEL_PREFIX_RE.match(ref):
                raise ModelError(m.rel, "missing_model",
                                 f"model {m.name} reads {ref}, which is neither a model (sql/staging, sql/marts) nor a loaded table")
        deps[m.name] = (tables & by_name) - {m.name}
    return deps


def order_models(models: list[Model], known_tables: Iterable[str], *, deps: dict[str, set[str]] | None = None
                 ) -> list[Model]:
    """Models in dependency order: a depth-first topological sort that, when free to choose, takes
    staging before marts and then the name. A cycle is a one-line error naming the models in it.
    ``deps``: dependencies(models, known_tables), when the caller has worked it out already."""
    by_name = {m.name: m for m in models}
    deps = dependencies(models, known_tables) if deps is None else deps

    def key(name: str) -> tuple[bool, str]:
        return by_name[name].layer != "staging", name

    ordered: list[Model] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name):], name]
            raise ModelError(by_name[name].rel, "model_cycle", f"models depend on each other in a cycle: {' -> '.join(cycle)}")
        if state.get(name) != 2:
            state[name] = 1
            for dep in sorted(deps[name], key=key):
                visit(dep, [*trail, name])
            state[name] = 2
            ordered.append(by_name[name])

    for name in sorted(by_name, key=key):
        visit(name, [])
    return ordered


# How a model is made (how_made): a table in the warehouse file; a temporary view (per connection);
# a table in the build's in-memory catalog, which every connection of the build reads and nothing
# writes to the file (model_runner.py attaches it).
STORED, VIEW, BUILD_TABLE = "stored", "view", "build table"
BUILD_CATALOG = "eqdash_build"


def how_made(model: Model, keep_staging: bool) -> str:
    """STORED: a table in the warehouse file. A build-only model (build_only) not kept is never
    written to the file (writing is most of what a build costs): an ``int_`` model is a BUILD_TABLE
    (in memory, gone when the build ends), a staging model a VIEW over the accepted rows, worked out
    where a mart reads it, when it gives the same rows every time (repeatable; at national a view is
    0.4 s quicker than a stored copy), else a BUILD_TABLE."""
    if keep_staging or not build_only(model):
        return STORED
    return VIEW if model.layer == "staging" and repeatable(model) else BUILD_TABLE


@dataclass(frozen=True)
class ModelPlan:
    """The models in build order, how each is made (how_made), the models each reads and the code
    version: everything a build needs from the SQL files. The build works it out on a helper thread
    while the extracts are validated."""

    models: tuple[Model, ...]
    creates: tuple[str, ...]
    needs: tuple[frozenset[str], ...]
    version: str = ""


def plan_models(models: list[Model], known_tables, *, keep_staging: bool = True, version: str = "") -> ModelPlan:
    deps = dependencies(models, known_tables)
    ordered = order_models(models, known_tables, deps=deps)
    return ModelPlan(tuple(ordered), tuple(how_made(m, keep_staging) for m in ordered),
                     tuple(frozenset(deps[m.name]) for m in ordered), version)


def code_version(sql_dir: Path, contracts_dir: Path) -> str:
    """A digest of every SQL model and contract: a warehouse built by other ones must be rebuilt."""
    digest = hashlib.sha256()
    for path in sorted([*sql_dir.glob("*/*.sql"), *contracts_dir.glob("*.yaml"), *contracts_dir.glob("reference/*.yaml")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
