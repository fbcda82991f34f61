"""What the contract may say, and what it may leave out: the layout of ``contract/schema.yaml``.

Each fact is a :class:`Field` (its YAML types, its default, its own layout); a table, a
column or an index is a :class:`Record` of fields; named entries form a :class:`Collection`.
"""

from collections.abc import Callable
from dataclasses import dataclass

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
        return ("state exactly one of 'constraint' (a UNIQUE constraint) and 'index' "
                "(a unique index)")
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
    # UPDATE OF's columns: the trigger fires only for an UPDATE naming one of them.
    "columns": Field(TEXTS, []),
    "level": Field(TEXT, choices=("ROW", "STATEMENT")),
    "function": Field(TEXT),
    "arguments": Field(TEXTS, []),
    "when": Field(MAYBE_TEXT, None),
    # A CONSTRAINT trigger's timing; a plain trigger has none.
    "constraint": Field(MAYBE_TEXT, None, choices=(
        "NOT DEFERRABLE", "DEFERRABLE INITIALLY IMMEDIATE", "DEFERRABLE INITIALLY DEFERRED")),
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
#: A key, or a tenant column that may be NULL, that keeps its table from being distributed by
#: its tenant (docs/scale.md): why it is so today, and what a migration would change.
DISTRIBUTION_BLOCKER = Record({"reason": Field(TEXT), "change": Field(TEXT)})
#: How each table would be placed on a Citus cluster (docs/scale.md): distributed by the column
#: that holds its tenant (``tenant_id`` unless ``tenant_columns`` names another), or a
#: reference table (shared data, a copy on every node); and what blocks that today.
DISTRIBUTION = Record({
    "tenant_columns": Field((dict,), {}, node=Collection(Field(TEXT))),  # table: column
    "reference_tables": Field((dict,), {}, node=Collection(Field(TEXT))),  # table: reason
    "blockers": Field((dict,), {}, node=Collection(Field((dict,), node=DISTRIBUTION_BLOCKER))),
})
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
    # The same kind of statement, checked by the distribution invariant
    # (tests/contract/test_distribution.py).
    "distribution": Field((dict,), {"tenant_columns": {}, "reference_tables": {},
                                    "blockers": {}}, node=DISTRIBUTION),
}))
#: Top-level keys people state about the catalog; ``from_catalog`` does not produce them.
STATEMENTS = ("tenant_boundary", "distribution")


def unstated_statements() -> dict:
    """What each statement reads as when the contract leaves it out."""
    assert isinstance(CONTRACT.node, Record)
    return {key: CONTRACT.node.fields[key].default for key in STATEMENTS}
