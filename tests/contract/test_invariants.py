"""Invariants every migration must keep, whatever it adds: no object is listed here.

Each rule reads the catalog snapshot and returns one line per offending object. The
naming rules are the ones written down in docs/conventions.md. The second test breaks
each rule on an in-memory copy of the catalog, so no rule can pass by never looking.
"""

import re

import pytest

from ironarchive_schema.catalog import pg_catalog

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
#: PostgreSQL silently truncates identifiers to 63 bytes (NAMEDATALEN - 1).
MAX_IDENTIFIER_BYTES = 63
TIMESTAMP_WITHOUT_TIME_ZONE = re.compile(r"timestamp(\(\d+\))? without time zone")
#: An index scanned backwards serves the opposite direction, NULLS order included.
OPPOSITE = {"ASC": "DESC", "DESC": "ASC", "ASC NULLS FIRST": "DESC NULLS LAST",
            "DESC NULLS LAST": "ASC NULLS FIRST"}


# ---------------------------------------------------------------------------------------
# Reading the snapshot
# ---------------------------------------------------------------------------------------

def _rows(snapshot, section: str, table: str) -> dict[str, dict]:
    """Rows of ``section`` on ``table``, keyed by their own name."""
    return {key.removeprefix(f"{table}."): row for key, row in snapshot[section].items()
            if row["table"] == table}


def _unquote(key: str) -> str:
    return key[1:-1].replace('""', '"') if key.startswith('"') and key.endswith('"') else key


def _columns_in(keys: list[str], columns: list[str]) -> list[str]:
    """The table's columns that index keys mention, in order: plain keys or in expressions."""
    found = []
    for key in keys:
        words = [_unquote(key)] if _unquote(key) in columns else re.findall(r"\w+", key)
        found += [w for w in words if w in columns and w not in found]
    return found


def _functions_in(keys: list[str]) -> list[str]:
    names = []
    for key in keys:
        names += [n for n in re.findall(r"(\w+)\(", key) if n not in names]
    return names


def _column_names(snapshot, table: str) -> list[str]:
    return list(_rows(snapshot, "columns", table))


# ---------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------

def every_table_has_a_primary_key(snapshot) -> list[str]:
    with_key = {con["table"] for con in snapshot["constraints"].values() if con["type"] == "p"}
    return [f"{table}: no primary key" for table in pg_catalog.tables(snapshot)
            if table not in with_key]


def every_foreign_key_has_an_index_led_by_its_columns(snapshot) -> list[str]:
    """Else deleting or updating a referenced row scans the whole referencing table (F6)."""
    problems = []
    for key, fk in sorted(snapshot["constraints"].items()):
        if fk["type"] != "f":
            continue
        width = len(fk["columns"])
        if not any(index["table"] == fk["table"] and index["valid"]
                   and index["predicate"] is None and len(index["keys"]) >= width
                   and {_unquote(k) for k in index["keys"][:width]} == set(fk["columns"])
                   for index in snapshot["indexes"].values()):
            problems.append(f"{key}: no index on {fk['table']} is led by "
                            f"({', '.join(fk['columns'])})")
    return problems


def no_index_duplicates_another(snapshot) -> list[str]:
    """Same table, method, keys (a backward scan serves the opposite order) and predicate,
    whatever their uniqueness: a constraint's own index counts too (F7)."""
    seen, problems = {}, []
    # Constraints' and unique indexes first: the plain index is the one to drop.
    for name, index in sorted(snapshot["indexes"].items(), key=lambda item: (
            item[1]["constraint"] is None, not item[1]["unique"], item[0])):
        orders = index["orders"]
        if orders and orders[0].startswith("DESC"):
            orders = [OPPOSITE[order] for order in orders]
        signature = (index["table"], index["method"], tuple(index["keys"]), tuple(orders),
                     index["predicate"])
        if signature in seen:
            problems.append(f"{index['table']}: {name} duplicates {seen[signature]} "
                            f"(keys {', '.join(index['keys'])}; "
                            f"predicate {index['predicate'] or 'none'})")
        seen.setdefault(signature, name)
    return problems


def no_timestamp_without_time_zone(snapshot) -> list[str]:
    """D1: values from Microsoft Graph are instants; without a zone they shift with TimeZone."""
    return [f"{table}.{name}: {col['type']} (want timestamp with time zone, D1)"
            for table in pg_catalog.tables(snapshot)
            for name, col in _rows(snapshot, "columns", table).items()
            if TIMESTAMP_WITHOUT_TIME_ZONE.match(col["type"])]


def no_nullable_boolean(snapshot) -> list[str]:
    """D8: a NULL flag makes WHERE NOT flag miss rows."""
    return [f"{table}.{name}: nullable boolean (want NOT NULL with a default, D8)"
            for table in pg_catalog.tables(snapshot)
            for name, col in _rows(snapshot, "columns", table).items()
            if col["type"] == "boolean" and col["nullable"]]


def every_table_and_column_is_commented(snapshot) -> list[str]:
    """D12: the catalog is the data dictionary."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        if not (snapshot["relations"][table]["comment"] or "").strip():
            problems.append(f"{table}: no comment on the table")
        problems += [f"{table}.{name}: no comment on the column"
                     for name, col in _rows(snapshot, "columns", table).items()
                     if not (col["comment"] or "").strip()]
    return problems


def _misnamed(table: str, name: str, want: str) -> str:
    return f"{table}.{name}: want the name {want}"


def primary_keys_are_named_table_pkey(snapshot) -> list[str]:
    return [_misnamed(table, name, f"{table}_pkey")
            for table in pg_catalog.tables(snapshot)
            for name, con in _rows(snapshot, "constraints", table).items()
            if con["type"] == "p" and name != f"{table}_pkey"]


def _named_table_columns(snapshot, contype: str, suffix: str) -> list[str]:
    """Constraints of ``contype`` not named ``<table>_<columns>_<suffix>``."""
    return [_misnamed(table, name, want)
            for table in pg_catalog.tables(snapshot)
            for name, con in _rows(snapshot, "constraints", table).items()
            if con["type"] == contype
            for want in [f"{table}_{'_'.join(con['columns'])}_{suffix}"] if name != want]


def foreign_keys_are_named_table_columns_fkey(snapshot) -> list[str]:
    return _named_table_columns(snapshot, "f", "fkey")


def unique_constraints_are_named_table_columns_key(snapshot) -> list[str]:
    return _named_table_columns(snapshot, "u", "key")


def unique_indexes_are_named_table_columns_functions_key(snapshot) -> list[str]:
    """users_email_lower_key on (lower(email)): the columns, then the functions applied."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        columns = _column_names(snapshot, table)
        for name, index in _rows(snapshot, "indexes", table).items():
            if index["unique"] and index["constraint"] is None:
                want = "_".join([table, *_columns_in(index["keys"], columns),
                                 *_functions_in(index["keys"]), "key"])
                if name != want:
                    problems.append(_misnamed(table, name, want))
    return problems


def checks_are_named_table_column_check(snapshot) -> list[str]:
    """One column: <table>_<column>_check; several: <table>_<what it ensures>_check."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        for name, con in _rows(snapshot, "constraints", table).items():
            if con["type"] != "c":
                continue
            if len(con["columns"]) == 1:
                want = f"{table}_{con['columns'][0]}_check"
                if name != want:
                    problems.append(_misnamed(table, name, want))
            elif not re.fullmatch(rf"{re.escape(table)}_\w+_check", name):
                problems.append(_misnamed(table, name, f"{table}_<what it ensures>_check"))
    return problems


def indexes_are_named_idx_table_leading_column(snapshot) -> list[str]:
    """idx_<table>_<leading column>, optionally followed by _<more columns or purpose>."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        columns = _column_names(snapshot, table)
        for name, index in _rows(snapshot, "indexes", table).items():
            if index["unique"] or index["constraint"] is not None:
                continue
            lead = (_columns_in(index["keys"][:1], columns) or ["<column>"])[0]
            want = f"idx_{table}_{lead}"
            if name != want and not name.startswith(f"{want}_"):
                problems.append(_misnamed(table, name, f"{want}[_...]"))
    return problems


def triggers_are_named_for_their_job(snapshot) -> list[str]:
    """update_<table>_updated_at for update_updated_at_column(); else
    <subject>_<purpose>_trigger."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        for name, trigger in _rows(snapshot, "triggers", table).items():
            if trigger["function"] == "update_updated_at_column":
                if name != f"update_{table}_updated_at":
                    problems.append(_misnamed(table, name, f"update_{table}_updated_at"))
            elif not name.endswith("_trigger"):
                problems.append(_misnamed(table, name, "<subject>_<purpose>_trigger"))
    return problems


def identifiers_are_snake_case_and_not_truncated(snapshot) -> list[str]:
    """Lower snake_case needs no quoting. A name of 63 bytes may be one PostgreSQL cut
    short without a word (a NOTICE at most), and the next migration misses it."""
    tables = pg_catalog.tables(snapshot)
    named = [(f"table {table}", table) for table in tables]
    for section in ("columns", "constraints", "triggers"):
        named += [(f"{section[:-1]} {table}.{name}", name) for table in tables
                  for name in _rows(snapshot, section, table)]
    named += [(f"index {name}", name) for name in snapshot["indexes"]]
    named += [(f"function {signature}", signature.split("(")[0])
              for signature in snapshot["functions"]]
    problems = []
    for what, name in named:
        if not IDENTIFIER.fullmatch(name):
            problems.append(f"{what}: not lower snake_case")
        if len(name.encode()) >= MAX_IDENTIFIER_BYTES:
            problems.append(f"{what}: {len(name.encode())} bytes, the most PostgreSQL keeps; "
                            f"it may have been cut short")
    return problems


RULES = [every_table_has_a_primary_key, every_foreign_key_has_an_index_led_by_its_columns,
         no_index_duplicates_another, no_timestamp_without_time_zone, no_nullable_boolean,
         every_table_and_column_is_commented, primary_keys_are_named_table_pkey,
         foreign_keys_are_named_table_columns_fkey,
         unique_constraints_are_named_table_columns_key,
         unique_indexes_are_named_table_columns_functions_key,
         checks_are_named_table_column_check, indexes_are_named_idx_table_leading_column,
         triggers_are_named_for_their_job, identifiers_are_snake_case_and_not_truncated]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_invariant_holds(rule, catalog_snapshot):
    problems = rule(catalog_snapshot)
    if problems:  # each line names the object and what is wrong: no traceback needed
        pytest.fail("\n".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------
# Each rule catches what it is for
# ---------------------------------------------------------------------------------------

def _sample() -> dict:
    """A small catalog, in snapshot form, that keeps every rule: parents and children.

    Built here rather than read from the database, so these tests hold whatever
    migrations are under test.
    """
    def table(comment):
        return {"kind": "r", "comment": comment}

    def column(table_name, type_name, nullable=False):
        return {"table": table_name, "type": type_name, "nullable": nullable,
                "comment": f"A {type_name}."}

    def constraint(table_name, kind, columns):
        return {"table": table_name, "type": kind, "columns": columns}

    def index(table_name, keys, orders=None, unique=False, owner=None, predicate=None):
        return {"table": table_name, "method": "btree", "keys": keys,
                "orders": orders or ["ASC"] * len(keys), "unique": unique,
                "constraint": owner, "predicate": predicate, "valid": True}

    return {
        "relations": {"parents": table("Parents."), "children": table("Children.")},
        "columns": {
            "parents.id": column("parents", "uuid"),
            "parents.code": column("parents", "character varying(20)"),
            "parents.email": column("parents", "character varying(255)"),
            "children.id": column("children", "uuid"),
            "children.parent_id": column("children", "uuid"),
            "children.done": column("children", "boolean"),
            "children.created_at": column("children", "timestamp with time zone"),
            "children.updated_at": column("children", "timestamp with time zone"),
        },
        "constraints": {
            "parents.parents_pkey": constraint("parents", "p", ["id"]),
            "parents.parents_code_key": constraint("parents", "u", ["code"]),
            "children.children_pkey": constraint("children", "p", ["id"]),
            "children.children_parent_id_fkey": constraint("children", "f", ["parent_id"]),
            "children.children_created_at_check": constraint("children", "c", ["created_at"]),
            "children.children_done_after_created_check":
                constraint("children", "c", ["done", "created_at", "updated_at"]),
        },
        "indexes": {
            "parents_pkey": index("parents", ["id"], unique=True, owner="parents_pkey"),
            "parents_code_key": index("parents", ["code"], unique=True, owner="parents_code_key"),
            "parents_email_lower_key": index("parents", ["lower(email::text)"], unique=True),
            "children_pkey": index("children", ["id"], unique=True, owner="children_pkey"),
            "idx_children_parent_id": index("children", ["parent_id", "created_at"],
                                            ["ASC", "DESC"]),
            "idx_children_created_at_open": index("children", ["created_at"],
                                                  predicate="NOT done"),
        },
        "triggers": {
            "children.update_children_updated_at":
                {"table": "children", "function": "update_updated_at_column"},
            "children.child_audit_trigger": {"table": "children", "function": "audit_child"},
        },
        "functions": {"update_updated_at_column()": {}, "audit_child()": {}},
    }


def _set(section, key, **facts):
    return lambda snapshot: snapshot[section][key].update(facts)


def _add(section, key, like, **facts):
    return lambda snapshot: snapshot[section].update({key: dict(snapshot[section][like], **facts)})


def _drop(section, key):
    return lambda snapshot: snapshot[section].pop(key)


BREAKAGES = [
    (every_table_has_a_primary_key, _drop("constraints", "children.children_pkey"),
     ["children: no primary key"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _drop("indexes", "idx_children_parent_id"),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _set("indexes", "idx_children_parent_id", predicate="NOT done"),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _set("indexes", "idx_children_parent_id", keys=["created_at", "parent_id"]),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (no_index_duplicates_another,
     _add("indexes", "idx_parents_code", like="parents_code_key", unique=False, constraint=None),
     ["parents: idx_parents_code duplicates parents_code_key (keys code; predicate none)"]),
    (no_index_duplicates_another,
     _add("indexes", "idx_children_parent_id_desc", like="idx_children_parent_id",
          orders=["DESC", "ASC"]),
     ["children: idx_children_parent_id_desc duplicates idx_children_parent_id "
      "(keys parent_id, created_at; predicate none)"]),
    (no_index_duplicates_another,  # another predicate: a different index
     _add("indexes", "idx_children_created_at_done", like="idx_children_created_at_open",
          predicate="done"),
     []),
    (no_timestamp_without_time_zone,
     _set("columns", "children.created_at", type="timestamp(3) without time zone"),
     ["children.created_at: timestamp(3) without time zone (want timestamp with time zone, D1)"]),
    (no_nullable_boolean, _set("columns", "children.done", nullable=True),
     ["children.done: nullable boolean (want NOT NULL with a default, D8)"]),
    (every_table_and_column_is_commented, _set("relations", "children", comment=" "),
     ["children: no comment on the table"]),
    (every_table_and_column_is_commented, _set("columns", "parents.code", comment=None),
     ["parents.code: no comment on the column"]),
    (primary_keys_are_named_table_pkey,
     _add("constraints", "parents.pk_parents", like="parents.parents_pkey"),
     ["parents.pk_parents: want the name parents_pkey"]),
    (foreign_keys_are_named_table_columns_fkey,
     _add("constraints", "children.fk_parent", like="children.children_parent_id_fkey"),
     ["children.fk_parent: want the name children_parent_id_fkey"]),
    (unique_constraints_are_named_table_columns_key,
     _add("constraints", "parents.parents_code_unique", like="parents.parents_code_key"),
     ["parents.parents_code_unique: want the name parents_code_key"]),
    (unique_indexes_are_named_table_columns_functions_key,
     _add("indexes", "parents_email_key", like="parents_email_lower_key"),
     ["parents.parents_email_key: want the name parents_email_lower_key"]),
    (checks_are_named_table_column_check,
     _add("constraints", "children.children_check", like="children.children_created_at_check"),
     ["children.children_check: want the name children_created_at_check"]),
    (checks_are_named_table_column_check,
     _add("constraints", "children.check_done", like="children.children_done_after_created_check"),
     ["children.check_done: want the name children_<what it ensures>_check"]),
    (indexes_are_named_idx_table_leading_column,
     _add("indexes", "children_by_parent", like="idx_children_parent_id"),
     ["children.children_by_parent: want the name idx_children_parent_id[_...]"]),
    (triggers_are_named_for_their_job,
     _add("triggers", "children.set_updated_at", like="children.update_children_updated_at"),
     ["children.set_updated_at: want the name update_children_updated_at"]),
    (triggers_are_named_for_their_job,
     _add("triggers", "children.audit_child", like="children.child_audit_trigger"),
     ["children.audit_child: want the name <subject>_<purpose>_trigger"]),
    (identifiers_are_snake_case_and_not_truncated,
     _add("columns", "children.ParentId", like="children.parent_id"),
     ["column children.ParentId: not lower snake_case"]),
    (identifiers_are_snake_case_and_not_truncated,
     _add("indexes", "idx_children_" + "x" * 50, like="idx_children_parent_id"),
     [f"index idx_children_{'x' * 50}: 63 bytes, the most PostgreSQL keeps; "
      f"it may have been cut short"]),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_invariant_holds_on_the_sample(rule):
    assert rule(_sample()) == []


@pytest.mark.parametrize("rule, breakage, expected", [
    pytest.param(rule, breakage, expected, id=f"{rule.__name__}:{n}")
    for n, (rule, breakage, expected) in enumerate(BREAKAGES, 1)])
def test_invariant_catches_its_breakage(rule, breakage, expected):
    broken = _sample()
    breakage(broken)
    assert rule(broken) == expected
