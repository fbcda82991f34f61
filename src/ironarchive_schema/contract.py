"""The schema contract (``contract/schema.yaml``): loading it, and comparing it with the catalog.

People write and review the contract; nothing generates it into place. ``load`` reads it
into plain nested dicts with every fact filled in (the defaults the file may leave out
included), and ``from_catalog`` turns a catalog snapshot into the very same shape. All
comparisons work on those two trees, in memory:

- ``declared(contract)``: one check per declared object (``emails.sent_at``,
  ``fk:attachments.email_id``, ``index:idx_emails_sent_at``, ...): it exists, as stated;
- ``both_ways(contract)``: one check per kind of object (per table where it belongs to
  one): nothing Missing, nothing Extra;
- ``unstated(snapshot)``: what the catalog holds that the contract has no words for
  (views, sequences, disabled triggers, ...), which must therefore not exist;
- ``report(want, have, unstated)``: the difference in the contract's own YAML, for
  ``make schema-diff``.
"""

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import yaml

from .catalog import qualify
from .errors import ToolchainError
from .paths import REPO_ROOT

CONTRACT_FILE = REPO_ROOT / "contract" / "schema.yaml"


class ContractError(ToolchainError):
    """The contract file cannot be read as a contract; the message says where and why."""


# ---------------------------------------------------------------------------------------
# Layout: what the contract may say, and what it may leave out
# ---------------------------------------------------------------------------------------

REQUIRED = object()
NONE = type(None)
TEXT = (str,)
MAYBE_TEXT = (str, NONE)
TEXTS = (list,)  # every list in the contract is a list of text
JSON = (dict, list, str, int, float, bool, NONE)
ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")


@dataclass(frozen=True)
class Field:
    """One value: the YAML types it may have, its default (or REQUIRED), its own layout."""
    types: tuple[type, ...]
    default: object = REQUIRED
    node: "Record | Collection | None" = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """A fixed set of facts about one object, in this order."""
    fields: dict[str, Field]
    flow: bool = False  # written on one line, like {keys: [sent_at DESC]}
    rule: Callable[[dict], str | None] | None = None  # a constraint across facts


@dataclass(frozen=True)
class Collection:
    """Named entries of one kind, each laid out as ``entry`` says."""
    entry: Field


def _one_unique_form(facts: dict) -> str | None:
    if (facts["constraint"] is None) == (facts["index"] is None):
        return "state exactly one of 'constraint' (a UNIQUE constraint) and 'index' (a unique index)"
    if facts["where"] is not None and facts["index"] is None:
        return "'where' needs 'index': a UNIQUE constraint cannot be partial"
    return None


COLUMN = Record({
    "type": Field(TEXT),
    "nullable": Field((bool,)),
    "default": Field(MAYBE_TEXT, None),
    "comment": Field(MAYBE_TEXT),
})
PRIMARY_KEY = Record({"name": Field(TEXT), "columns": Field(TEXTS)}, flow=True)
FOREIGN_KEY = Record({
    "name": Field(TEXT),
    "references": Field(TEXT),
    "on_delete": Field(TEXT, choices=ACTIONS),
    "on_update": Field(TEXT, choices=ACTIONS),
})
UNIQUE = Record({
    "constraint": Field((list, NONE), None),
    "index": Field((list, NONE), None),
    "where": Field(MAYBE_TEXT, None),
}, flow=True, rule=_one_unique_form)
INDEX = Record({
    "keys": Field(TEXTS),
    "where": Field(MAYBE_TEXT, None),
    "method": Field(TEXT, "btree"),
    "include": Field(TEXTS, []),
}, flow=True)
TRIGGER = Record({
    "timing": Field(TEXT, choices=("BEFORE", "AFTER", "INSTEAD OF")),
    "events": Field(TEXTS),
    "level": Field(TEXT, choices=("ROW", "STATEMENT")),
    "function": Field(TEXT),
    "when": Field(MAYBE_TEXT, None),
})
POLICY = Record({
    "command": Field(TEXT, "ALL", choices=("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")),
    "permissive": Field((bool,), True),
    "roles": Field(TEXTS, ["public"]),
    "using": Field(MAYBE_TEXT, None),
    "check": Field(MAYBE_TEXT, None),
})
FUNCTION = Record({
    "returns": Field(TEXT),
    "language": Field(TEXT),
    "volatility": Field(TEXT, choices=("immutable", "stable", "volatile")),
    "parallel": Field(TEXT, "unsafe", choices=("safe", "restricted", "unsafe")),
    "strict": Field((bool,), False),
    "security_definer": Field((bool,), False),
    "config": Field(TEXTS, []),
    "comment": Field(MAYBE_TEXT),
})


def _entries(record: Record) -> Field:
    return Field((dict,), node=Collection(Field((dict,), node=record)))


TABLE = Record({
    "comment": Field(MAYBE_TEXT),
    "columns": _entries(COLUMN),
    "primary_key": Field((dict, NONE), None, node=PRIMARY_KEY),
    "foreign_keys": Field((dict,), {}, node=Collection(Field((dict,), node=FOREIGN_KEY))),
    "unique": Field((dict,), {}, node=Collection(Field((dict,), node=UNIQUE))),
    "checks": Field((dict,), {}, node=Collection(Field(TEXT))),
    "indexes": Field((dict,), {}, node=Collection(Field((dict,), node=INDEX))),
    "triggers": Field((dict,), {}, node=Collection(Field((dict,), node=TRIGGER))),
    "row_security": Field((bool,), False),
    "policies": Field((dict,), {}, node=Collection(Field((dict,), node=POLICY))),
    # role: [privilege, ...] beyond the owner's; PUBLIC is "public"
    "grants": Field((dict,), {}, node=Collection(Field(TEXTS))),
})
#: A key or unique rule of a tenant-scoped table that does not include the tenant (D14, D16):
#: why that is accepted, and the test (a pytest node id) that guards the exception.
TENANT_BOUNDARY_EXCEPTION = Record({"reason": Field(TEXT), "guarded_by": Field(TEXT)})
CONTRACT = Field((dict,), node=Record({
    "version": Field((int,)),
    "extensions": Field((dict,), node=Collection(Field(TEXT))),
    "functions": _entries(FUNCTION),
    "tables": _entries(TABLE),
    "settings": Field((dict,), node=Collection(Field(JSON))),
    # "table.constraint or index": people's statement about the catalog, not a catalog fact:
    # checked by the tenant-boundary invariant, never compared with the database.
    "tenant_boundary": Field((dict,), {}, node=Collection(
        Field((dict,), node=TENANT_BOUNDARY_EXCEPTION))),
}))
#: Top-level keys people state about the catalog; ``from_catalog`` does not produce them.
STATEMENTS = ("tenant_boundary",)


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: 5 times faster
    """Safe YAML that refuses a key stated twice (PyYAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ContractError(f"line {key_node.start_mark.line + 1}: {key!r} is stated twice")
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def load(path: Path = CONTRACT_FILE) -> dict:
    """The contract at ``path``, every fact filled in; ContractError says what is wrong."""
    return load_text(path.read_text(), str(path))


def load_text(text: str, where: str = "contract") -> dict:
    try:
        data = yaml.load(text, Loader=_Loader)
    except ContractError as exc:
        raise ContractError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{where}: not valid YAML: {exc}") from None
    return _normalize(data, CONTRACT, where)


def _type_names(types: tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list of text", str: "text", bool: "true or false",
             int: "a whole number", NONE: "null", float: "a number"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _normalize(value, field: Field, where: str):
    # type(), not isinstance(): YAML's true must not pass for a number, nor 1 for true.
    if type(value) not in field.types:
        hint = " (quote it, e.g. 'false')" if str in field.types and value is not None else ""
        raise ContractError(f"{where}: want {_type_names(field.types)}, got {value!r}{hint}")
    if field.types is JSON:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ContractError(f"{where}: not a JSON value: {value!r}") from None
    if isinstance(value, list) and field.types is not JSON:
        if not all(isinstance(item, str) for item in value):
            raise ContractError(f"{where}: every item must be text, got {value!r}")
    if field.choices and value not in field.choices:
        raise ContractError(f"{where}: want one of {', '.join(field.choices)}, got {value!r}")
    node = field.node
    if isinstance(node, Collection):
        for key in value:
            if not isinstance(key, str):
                raise ContractError(f"{where}: name {key!r} must be text (quote it)")
        return {key: _normalize(item, node.entry, f"{where}.{key}") for key, item in value.items()}
    if isinstance(node, Record) and value is not None:
        return _record(value, node, where)
    return value


def _record(value: dict, record: Record, where: str) -> dict:
    unknown = [key for key in value if key not in record.fields]
    if unknown:
        raise ContractError(f"{where}: unknown {', '.join(map(repr, unknown))}; "
                            f"a {where.rsplit('.', 1)[-1]!r} entry may state "
                            f"{', '.join(record.fields)}")
    facts = {}
    for name, field in record.fields.items():
        if name in value:
            facts[name] = _normalize(value[name], field, f"{where}.{name}")
        elif field.default is REQUIRED:
            raise ContractError(f"{where}: '{name}' is required")
        else:
            facts[name] = json.loads(json.dumps(field.default))  # a fresh copy
    problem = record.rule(facts) if record.rule else None
    if problem:
        raise ContractError(f"{where}: {problem}")
    return facts


# ---------------------------------------------------------------------------------------
# The catalog in the contract's shape
# ---------------------------------------------------------------------------------------

#: Relation kinds the contract calls tables (ordinary and partitioned).
TABLE_KINDS = ("r", "p")
VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}
POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
ACTION_CODES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                "d": "SET DEFAULT"}


def from_catalog(snapshot: dict, settings: dict | None, version: int | None) -> dict:
    """The catalog ``snapshot`` (plus the seeded ``settings`` rows) as a contract would say it."""
    tables = {name: _empty_table(rel) for name, rel in snapshot["relations"].items()
              if rel["kind"] in TABLE_KINDS}
    for key, col in snapshot["columns"].items():
        if col["table"] in tables:
            tables[col["table"]]["columns"][key[len(col["table"]) + 1:]] = {
                "type": col["type"], "nullable": col["nullable"], "default": col["default"],
                "comment": col["comment"]}
    for key, con in snapshot["constraints"].items():
        if con["table"] in tables:
            _add_constraint(tables[con["table"]], key[len(con["table"]) + 1:], con)
    for name, index in snapshot["indexes"].items():
        if index["table"] in tables and index["constraint"] is None:
            _add_index(tables[index["table"]], name, index)
    for key, trigger in snapshot["triggers"].items():
        if trigger["table"] in tables:
            tables[trigger["table"]]["triggers"][key[len(trigger["table"]) + 1:]] = {
                "timing": trigger["timing"], "events": trigger["events"],
                "level": trigger["level"],
                "function": f"{qualify(trigger['function_schema'], trigger['function'])}()",
                "when": _trigger_when(trigger["definition"])}
    for key, policy in snapshot["policies"].items():
        if policy["table"] in tables:
            tables[policy["table"]]["policies"][key[len(policy["table"]) + 1:]] = {
                "command": POLICY_COMMANDS[policy["command"]],
                "permissive": policy["permissive"], "roles": policy["roles"],
                "using": policy["using_expr"], "check": policy["check_expr"]}
    functions = {signature: {
        "returns": fn["returns"], "language": fn["language"],
        "volatility": VOLATILITY[fn["volatility"]], "parallel": PARALLEL[fn["parallel"]],
        "strict": fn["strict"],
        "security_definer": fn["security_definer"], "config": fn["config"] or [],
        "comment": fn["comment"]} for signature, fn in snapshot["functions"].items()}
    return {
        "version": version,
        "extensions": {name: ext["installed_in"] for name, ext in snapshot["extensions"].items()},
        "functions": functions,
        "tables": tables,
        "settings": dict(settings or {}),
    }


def _trigger_when(definition: str) -> str | None:
    """The WHEN condition of ``pg_get_triggerdef`` output, without its parentheses."""
    match = re.search(r" WHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) ", definition, re.S)
    return match.group(1) if match else None


def _empty_table(relation: dict) -> dict:
    return {"comment": relation["comment"], "columns": {}, "primary_key": None,
            "foreign_keys": {}, "unique": {}, "checks": {}, "indexes": {}, "triggers": {},
            "row_security": relation["row_security"], "policies": {},
            "grants": grants(relation["acl"], relation["owner"])}


#: aclitem letters of a table's privileges, in the order GRANT is usually written.
PRIVILEGES = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "D": "TRUNCATE",
              "x": "REFERENCES", "t": "TRIGGER", "m": "MAINTAIN"}


def grants(acl: list[str] | None, owner: str) -> dict[str, list[str]]:
    """``grantee=privileges/grantor`` items as role: [privilege, ...], the owner's left out
    (the owner's name differs between databases; what it may do is ownership's)."""
    result: dict[str, list[str]] = {}
    for item in acl or []:
        grantee, _, rest = item.partition("=")
        grantee = grantee.strip('"') or "public"
        if grantee == owner:
            continue
        letters = rest.split("/", 1)[0]
        privileges = result.setdefault(grantee, [])
        for letter, name in PRIVILEGES.items():
            at = letters.find(letter)
            if at >= 0:
                grant_option = letters[at + 1:at + 2] == "*"
                privileges.append(f"{name} WITH GRANT OPTION" if grant_option else name)
    return result


def _add_constraint(table: dict, name: str, con: dict) -> None:
    if con["type"] == "p":
        table["primary_key"] = {"name": name, "columns": con["columns"]}
    elif con["type"] == "f":
        key = ", ".join(con["columns"])
        if key in table["foreign_keys"]:  # a second key on the same columns: report it apart
            key = f"{key} ({name})"
        table["foreign_keys"][key] = {
            "name": name,
            "references": f"{qualify(con['ref_schema'], con['ref_table'])}"
                          f"({', '.join(con['ref_columns'])})",
            "on_delete": ACTION_CODES[con["on_delete"]],
            "on_update": ACTION_CODES[con["on_update"]]}
    elif con["type"] == "u":
        table["unique"][name] = {"constraint": con["columns"], "index": None, "where": None}
    elif con["type"] == "c":
        table["checks"][name] = con["definition"]
    # Other kinds (exclusion, constraint triggers) are reported by unstated().


def _index_keys(index: dict) -> list[str]:
    return [key if order == "ASC" else f"{key} {order}"
            for key, order in zip(index["keys"], index["orders"])]


def _add_index(table: dict, name: str, index: dict) -> None:
    if index["unique"]:
        table["unique"][name] = {"constraint": None, "index": _index_keys(index),
                                 "where": index["predicate"]}
    else:
        table["indexes"][name] = {"keys": _index_keys(index), "where": index["predicate"],
                                  "method": index["method"], "include": index["include"]}


RELATION_KINDS = {"v": "view", "m": "materialized view", "S": "sequence", "f": "foreign table"}
CONSTRAINT_KINDS = {"x": "exclusion constraint", "t": "constraint trigger"}


def unstated(snapshot: dict) -> list[str]:
    """What the catalog holds that the contract cannot state: each must not exist.

    The contract's words imply these: every object lives in schema ``public``; constraints
    are validated and not deferrable; indexes are valid; triggers are enabled; row-level
    security is not forced on the owner; no views, sequences or user-defined types. A
    migration that needs one of them extends the contract's layout first.
    """
    found = [f"{RELATION_KINDS.get(rel['kind'], 'relation kind ' + rel['kind'])} {name}"
             for name, rel in snapshot["relations"].items() if rel["kind"] not in TABLE_KINDS]
    found += [f"row-level security forced on the owner of {name}"
              for name, rel in snapshot["relations"].items() if rel["force_row_security"]]
    found += [f"schema {name}" for name in snapshot["schemas"] if name != "public"]
    found += [f"type {name}" for name in snapshot["types"]]
    found += [f"policy {key} on a relation that is not a table"
              for key, policy in snapshot["policies"].items()
              if snapshot["relations"].get(policy["table"], {}).get("kind") not in TABLE_KINDS]
    for key, con in snapshot["constraints"].items():
        if con["type"] in CONSTRAINT_KINDS:
            found.append(f"{CONSTRAINT_KINDS[con['type']]} {key}")
        if con["deferrable"]:
            found.append(f"deferrable constraint {key}")
        if not con["validated"]:
            found.append(f"constraint {key} is NOT VALID (not yet validated)")
    found += [f"index {name} is invalid (a failed CREATE INDEX CONCURRENTLY?)"
              for name, index in snapshot["indexes"].items() if not index["valid"]]
    found += [f"trigger {key} is not enabled (tgenabled {trigger['enabled']})"
              for key, trigger in snapshot["triggers"].items() if trigger["enabled"] != "O"]
    return found


# ---------------------------------------------------------------------------------------
# Checks: each declared object, and each kind both ways
# ---------------------------------------------------------------------------------------

MISSING = object()


def same(a, b) -> bool:
    """Equal as JSON: unlike ==, true is not 1 and 2555 is not 2555.0."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _get(tree, path: tuple[str, ...]):
    for step in path:
        if not isinstance(tree, dict) or step not in tree:
            return MISSING
        tree = tree[step]
    return tree


def show(value) -> str:
    """A value as a reviewer reads it: text bare, lists in brackets, JSON for the rest."""
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return f"[{', '.join(value)}]"
    return json.dumps(value)


def _want_have(want, have) -> str:
    shown = show(want), show(have)
    if shown[0] == shown[1]:  # different, yet alike when shown bare (2555 and "2555")
        shown = json.dumps(want), json.dumps(have)
    return f"want {shown[0]}, have {shown[1]}"


@dataclass(frozen=True)
class Declared:
    """One declared object: it exists in the database, and ``facts`` are as stated.

    ``facts`` empty: the object is a plain value (a CHECK's definition, a setting's
    value), named ``value_name`` in messages.
    """
    id: str
    label: str
    path: tuple[str, ...]
    facts: tuple[str, ...] = ()
    value_name: str = ""

    def __str__(self) -> str:
        return self.id

    def problems(self, want_root: dict, have_root: dict) -> list[str]:
        want, have = _get(want_root, self.path), _get(have_root, self.path)
        if have is MISSING or (have is None and self.facts):  # no primary key at all
            return [f"{self.label}: Missing: not in the database"]
        pairs = ([(fact, want[fact], have[fact]) for fact in self.facts] if self.facts
                 else [(self.value_name, want, have)])
        return [f"{self.label}: {fact}: {_want_have(w, h)}"
                for fact, w, h in pairs if not same(w, h)]


@dataclass(frozen=True)
class BothWays:
    """One kind of object (of one table): the database holds exactly the declared names."""
    id: str
    label: str
    path: tuple[str, ...]
    ordered: bool = False

    def __str__(self) -> str:
        return self.id

    def problems(self, want_root: dict, have_root: dict) -> list[str]:
        want, have = _get(want_root, self.path), _get(have_root, self.path)
        if have is MISSING:
            return [f"{self.label}: Missing: table {self.path[1]} is not in the database"]
        missing = [name for name in want if name not in have]
        extra = [name for name in have if name not in want]
        lines = [f"{self.label}: {what}: {', '.join(names)}"
                 for what, names in (("Missing", missing), ("Extra", extra)) if names]
        if self.ordered and not lines and list(want) != list(have):
            lines.append(f"{self.label}: order: {_want_have(list(want), list(have))}")
        return lines


def _record_facts(record: Record, *leave_out: str) -> tuple[str, ...]:
    return tuple(name for name in record.fields if name not in leave_out)


def declared(contract: dict) -> list[Declared]:
    """One check per object the contract declares, with ids that ``-k`` can select by table."""
    checks = [Declared(f"extension:{name}", f"extension:{name}", ("extensions", name),
                       value_name="schema") for name in contract["extensions"]]
    checks += [Declared(f"function:{sig}", f"function:{sig}", ("functions", sig),
                        _record_facts(FUNCTION)) for sig in contract["functions"]]
    for t, table in contract["tables"].items():
        at = ("tables", t)
        checks.append(Declared(f"comment:{t}", t, at, ("comment",)))
        if table["primary_key"] is not None:
            checks.append(Declared(f"pk:{t}", f"pk:{t}", (*at, "primary_key"),
                                   _record_facts(PRIMARY_KEY)))
        for c in table["columns"]:
            path = (*at, "columns", c)
            checks.append(Declared(f"{t}.{c}", f"{t}.{c}", path, _record_facts(COLUMN, "comment")))
            checks.append(Declared(f"comment:{t}.{c}", f"{t}.{c}", path, ("comment",)))
        for kind, prefix, record in (("foreign_keys", "fk", FOREIGN_KEY),
                                     ("unique", "unique", UNIQUE),
                                     ("triggers", "trigger", TRIGGER)):
            checks += [Declared(f"{prefix}:{t}.{name}", f"{prefix}:{t}.{name}",
                                (*at, kind, name), _record_facts(record))
                       for name in table[kind]]
        checks += [Declared(f"check:{t}.{name}", f"check:{t}.{name}", (*at, "checks", name),
                            value_name="definition") for name in table["checks"]]
        checks += [Declared(f"index:{name}", f"index:{name}", (*at, "indexes", name),
                            _record_facts(INDEX)) for name in table["indexes"]]
        checks.append(Declared(f"row_security:{t}", f"row_security:{t}", (*at, "row_security"),
                               value_name="enabled"))
        checks += [Declared(f"policy:{t}.{name}", f"policy:{t}.{name}", (*at, "policies", name),
                            _record_facts(POLICY)) for name in table["policies"]]
        checks += [Declared(f"grant:{t}.{role}", f"grant:{t}.{role}", (*at, "grants", role),
                            value_name="privileges") for role in table["grants"]]
    checks += [Declared(f"setting:{key}", f"setting:{key}", ("settings", key),
                        value_name="value") for key in contract["settings"]]
    return checks


def both_ways(contract: dict) -> list[BothWays]:
    """Per kind (and table): nothing Missing, nothing Extra; a table's columns also in order."""
    checks = [BothWays("extensions", "extensions", ("extensions",)),
              BothWays("functions", "functions", ("functions",)),
              BothWays("tables", "tables", ("tables",))]
    for t in contract["tables"]:
        at = ("tables", t)
        checks.append(BothWays(f"columns:{t}", f"columns of {t}", (*at, "columns"), ordered=True))
        checks += [BothWays(f"{kind}:{t}", f"{label} of {t}", (*at, kind))
                   for kind, label in (("foreign_keys", "foreign keys"),
                                       ("unique", "unique rules"), ("checks", "checks"),
                                       ("indexes", "indexes"), ("triggers", "triggers"),
                                       ("policies", "policies"), ("grants", "grants"))]
    checks.append(BothWays("settings", "settings rows", ("settings",)))
    return checks


# ---------------------------------------------------------------------------------------
# The difference as contract YAML (make schema-diff)
# ---------------------------------------------------------------------------------------

class Changed(NamedTuple):
    new: object  # the database's value
    old: object  # the contract's value


def _compare(want, have, field: Field):
    """``(add, change, remove)`` partial trees; each None when there is nothing to say."""
    node = field.node
    if isinstance(node, Collection):
        add = {k: v for k, v in have.items() if k not in want}
        remove = {k: v for k, v in want.items() if k not in have}
        change = {}
        for key in want.keys() & have.keys():
            sub = _compare(want[key], have[key], node.entry)
            for tree, part in zip((add, change, remove), sub):
                if part is not None:
                    tree.setdefault(key, part)
        change = {k: change[k] for k in want if k in change}  # the contract's order
        return add or None, change or None, remove or None
    if isinstance(node, Record) and want is not None and have is not None:
        trees = ({}, {}, {})
        for name, sub_field in node.fields.items():
            for tree, part in zip(trees, _compare(want[name], have[name], sub_field)):
                if part is not None:
                    tree[name] = part
        return tuple(tree or None for tree in trees)
    return None, (None if same(want, have) else Changed(have, want)), None


def _child(field: Field, key: str) -> Field:
    node = field.node
    return node.entry if isinstance(node, Collection) else node.fields[key]


def _pruned(value, field: Field):
    """A record without the facts that equal their default, as people write it."""
    if isinstance(field.node, Record) and isinstance(value, dict):
        fields = field.node.fields
        return {k: v for k, v in value.items()
                if isinstance(v, Changed) or fields[k].default is REQUIRED
                or not same(v, fields[k].default)}
    return value


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: one call per scalar adds up


def _flow(value) -> str:
    """``value`` as YAML inside a flow collection (the strictest quoting)."""
    text = yaml.dump([value], Dumper=_Dumper, default_flow_style=True, sort_keys=False,
                     allow_unicode=True, width=2**30)
    return text.strip()[1:-1]


def _block(value) -> str:
    """``value`` as the value of a block mapping entry: text quoted only where YAML needs it."""
    if not isinstance(value, str):
        return _flow(value)
    text = yaml.dump({"k": value}, Dumper=_Dumper, default_flow_style=False,
                     allow_unicode=True, width=2**30)
    return text.rstrip("\n")[3:]  # k: ...


WIDTH = 92


def _item(key: str, value, field: Field, indent: int) -> list[str]:
    pad, name = "  " * indent, _flow(key)
    if isinstance(value, Changed):
        return [f"{pad}{name}: {_flow(_pruned(value.new, field))}"
                f"  # contract: {_flow(_pruned(value.old, field))}"]
    node, value = field.node, _pruned(value, field)
    if isinstance(value, dict) and value and (
            isinstance(node, Collection) or (isinstance(node, Record) and (
                not node.flow or any(isinstance(v, Changed) for v in value.values())))):
        lines = [f"{pad}{name}:"]
        for sub_key, sub_value in value.items():
            lines += _item(sub_key, sub_value, _child(field, sub_key), indent + 1)
        return lines
    line = f"{pad}{name}: {_block(value)}"
    if (isinstance(value, str) and len(line) > WIDTH and value == " ".join(value.split())):
        # Folded: its line breaks read back as single spaces, which is all the text has.
        inner = "  " * (indent + 1)
        return [f"{pad}{name}: >-"] + textwrap.wrap(
            value, WIDTH, initial_indent=inner, subsequent_indent=inner,
            break_long_words=False, break_on_hyphens=False)
    return [line]


def render(tree: dict, field: Field = CONTRACT) -> str:
    """A (partial) contract tree as the contract's YAML."""
    lines = []
    for key, value in tree.items():
        lines += _item(key, value, _child(field, key), 0)
    return "\n".join(lines) + "\n"


def report(want: dict, have: dict, unstated_objects: list[str]) -> str:
    """What to change in the contract so it says what the database has; "" when equal."""
    have = {**have, **{key: want[key] for key in STATEMENTS}}
    add, change, remove = _compare(want, have, CONTRACT)
    parts = []
    if add:
        parts.append("# Add: in the database, not in the contract\n" + render(add))
    if change:
        parts.append("# Change: the database's value (the contract's after '# contract:')\n"
                     + render(change))
    if remove:
        parts.append("# Remove: in the contract, not in the database\n" + render(remove))
    if unstated_objects:
        parts.append("# Not expressible in the contract (so not allowed; see unstated() in "
                     "contract.py):\n" + "".join(f"#   {o}\n" for o in unstated_objects))
    return "\n".join(parts)
