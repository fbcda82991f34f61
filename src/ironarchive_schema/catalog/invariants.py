"""Invariants every migration must keep, whatever it adds: no object is named here.

Each rule reads a catalog snapshot and returns one line per offending object, naming it and
saying what is wrong. The naming rules are PostgreSQL's own defaults (``<table>_pkey``,
``<table>_<columns>_fkey``, ``_key``, ``_check``) plus ``idx_<table>_<leading column>`` for
plain indexes and ``update_<table>_updated_at`` for the updated_at trigger; a project whose
conventions differ leaves rules out by name (the built-in check's ``invariants_skip``).
"""

import re

from ironarchive_schema.catalog import pg_catalog

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
#: PostgreSQL silently truncates identifiers to 63 bytes (NAMEDATALEN - 1).
MAX_IDENTIFIER_BYTES = 63
TIMESTAMP_WITHOUT_TIME_ZONE = re.compile(r"timestamp(\(\d+\))? without time zone")
#: An index scanned backwards serves the opposite direction, NULLS order included.
OPPOSITE = {"ASC": "DESC", "DESC": "ASC", "ASC NULLS FIRST": "DESC NULLS LAST",
            "DESC NULLS LAST": "ASC NULLS FIRST"}



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
    return list(pg_catalog.on_table(snapshot, "columns", table))



def every_table_has_a_primary_key(snapshot) -> list[str]:
    with_key = {con["table"] for con in snapshot["constraints"].values() if con["type"] == "p"}
    return [f"{table}: no primary key" for table in pg_catalog.tables(snapshot)
            if table not in with_key]


def every_foreign_key_has_an_index_led_by_its_columns(snapshot) -> list[str]:
    """Else deleting or updating a referenced row scans the whole referencing table."""
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
    whatever their uniqueness: a constraint's own index counts too."""
    seen: dict[tuple, str] = {}
    problems: list[str] = []
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
    """Stored instants without a zone shift with the session's TimeZone."""
    return [f"{table}.{name}: {col['type']} (want timestamp with time zone)"
            for table in pg_catalog.tables(snapshot)
            for name, col in pg_catalog.on_table(snapshot, "columns", table).items()
            if TIMESTAMP_WITHOUT_TIME_ZONE.match(col["type"])]


def no_nullable_boolean(snapshot) -> list[str]:
    """A NULL flag makes ``WHERE NOT flag`` miss rows."""
    return [f"{table}.{name}: nullable boolean (want NOT NULL with a default)"
            for table in pg_catalog.tables(snapshot)
            for name, col in pg_catalog.on_table(snapshot, "columns", table).items()
            if col["type"] == "boolean" and col["nullable"]]


def every_table_and_column_is_commented(snapshot) -> list[str]:
    """The catalog is the data dictionary (``\\d+`` shows it, the generated docs read it)."""
    problems = []
    for table in pg_catalog.tables(snapshot):
        if not (snapshot["relations"][table]["comment"] or "").strip():
            problems.append(f"{table}: no comment on the table")
        problems += [f"{table}.{name}: no comment on the column"
                     for name, col in pg_catalog.on_table(snapshot, "columns", table).items()
                     if not (col["comment"] or "").strip()]
    return problems


def _misnamed(table: str, name: str, want: str) -> str:
    return f"{table}.{name}: want the name {want}"


def primary_keys_are_named_table_pkey(snapshot) -> list[str]:
    return [_misnamed(table, name, f"{table}_pkey")
            for table in pg_catalog.tables(snapshot)
            for name, con in pg_catalog.on_table(snapshot, "constraints", table).items()
            if con["type"] == "p" and name != f"{table}_pkey"]


def _named_table_columns(snapshot, contype: str, suffix: str) -> list[str]:
    """Constraints of ``contype`` not named ``<table>_<columns>_<suffix>``."""
    return [_misnamed(table, name, want)
            for table in pg_catalog.tables(snapshot)
            for name, con in pg_catalog.on_table(snapshot, "constraints", table).items()
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
        for name, index in pg_catalog.on_table(snapshot, "indexes", table).items():
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
        for name, con in pg_catalog.on_table(snapshot, "constraints", table).items():
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
        for name, index in pg_catalog.on_table(snapshot, "indexes", table).items():
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
        for name, trigger in pg_catalog.on_table(snapshot, "triggers", table).items():
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
                  for name in pg_catalog.on_table(snapshot, section, table)]
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

#: Name -> rule.
BY_NAME = {rule.__name__: rule for rule in RULES}
