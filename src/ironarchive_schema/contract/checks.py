"""One check per declared object, and one per kind of object both ways (nothing Missing,
nothing Extra), both on the two trees ``load`` and ``from_catalog`` produce."""

import json
from dataclasses import dataclass

from ironarchive_schema.contract.layout import (
    COLUMN,
    FOREIGN_KEY,
    FUNCTION,
    INDEX,
    POLICY,
    PRIMARY_KEY,
    TRIGGER,
    UNIQUE,
    Record,
)

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
