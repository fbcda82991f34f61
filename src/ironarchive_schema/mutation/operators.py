"""Mutation operators over a catalog snapshot (``ironarchive_schema.catalog.pg_catalog.snapshot``).

Each operator reads one section of the snapshot and yields one mutant per object it can
break, as SQL appended to the newest up file. Nothing here names an object of our schema:
a migration that adds a table gets its mutants from the catalog alone.
"""

import re
from collections.abc import Callable, Iterator

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.catalog.pg_catalog import member, qualify
from ironarchive_schema.contract.from_catalog import (
    ACTION_CODES,
    VOLATILITY,
    trigger_when,
)
from ironarchive_schema.mutation.mutant import Mutant, literal, qualified, quote

# A near type for each type: what a careless edit of a migration would write instead.
NEAR_TYPES = {
    "integer": "bigint",
    "bigint": "integer",
    "smallint": "integer",
    "timestamp with time zone": "timestamp without time zone",
    "timestamp without time zone": "timestamp with time zone",
    "text": "character varying(255)",
    "date": "timestamp without time zone",
    "numeric": "double precision",
}
VARCHAR = re.compile(r"character varying\(\d+\)")
ON_DELETE = re.compile(r" ON DELETE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)( \([^)]*\))?")
REFERENCES = re.compile(r"REFERENCES [^(]+\([^)]*\)( MATCH \w+)?")
COMPARISON = re.compile(r"(>=|<=|>|<) (-?\d+)\b")
IN_LIST = re.compile(r"ANY \(ARRAY\[(?P<items>'[^\]]*?)\]")
REGEX = re.compile(r"~ '\^(?P<pattern>(?:[^']|'')*)\$'")


def _columns(snap: dict) -> Iterator[tuple[str, str, dict]]:
    """(table, column name, facts) of every column of a table."""
    tables = set(pg_catalog.tables(snap))
    for key, col in snap["columns"].items():
        if col["table"] in tables:
            yield col["table"], member(key, col), col


def _alter(table: str, action: str) -> str:
    return f"ALTER TABLE {qualified(table)} {action};"


def drop_index(snap: dict) -> Iterator[Mutant]:
    """Every index no constraint owns and that enforces nothing (unique ones: drop_unique)."""
    for key, idx in snap["indexes"].items():
        if idx["constraint"] is None and not idx["unique"]:
            yield Mutant(f"drop_index:{key}", "drop_index", key, f"DROP INDEX {qualified(key)};")


def drop_unique(snap: dict) -> Iterator[Mutant]:
    """Every UNIQUE constraint and every unique index that is not one; CASCADE, because a
    foreign key that references the rule goes with it (PostgreSQL refuses otherwise)."""
    for key, con in snap["constraints"].items():
        if con["type"] == "u":
            yield Mutant(f"drop_unique:{key}", "drop_unique", key,
                         _alter(con["table"],
                                f"DROP CONSTRAINT {quote(member(key, con))} CASCADE"))
    for key, idx in snap["indexes"].items():
        if idx["constraint"] is None and idx["unique"]:
            yield Mutant(f"drop_unique:{key}", "drop_unique", key,
                         f"DROP INDEX {qualified(key)} CASCADE;")


def drop_not_null(snap: dict) -> Iterator[Mutant]:
    """Every NOT NULL but a primary key's (PostgreSQL refuses to drop those)."""
    in_pk = {f"{con['table']}.{column}" for con in snap["constraints"].values()
             if con["type"] == "p" for column in con["columns"]}
    for table, name, col in _columns(snap):
        if not col["nullable"] and f"{table}.{name}" not in in_pk:
            yield Mutant(f"drop_not_null:{table}.{name}", "drop_not_null", f"{table}.{name}",
                         _alter(table, f"ALTER COLUMN {quote(name)} DROP NOT NULL"))


def fk_on_delete(snap: dict) -> Iterator[Mutant]:
    """Every foreign key with each ON DELETE action it does not have.

    SET NULL on a NOT NULL column and SET DEFAULT without a default are accepted by
    PostgreSQL (they fail only when a delete happens), so they are real mutants too.
    """
    for key, con in snap["constraints"].items():
        if con["type"] != "f":
            continue
        bare = ON_DELETE.sub("", con["definition"])
        refs = REFERENCES.search(bare)
        assert refs is not None, f"{key}: a foreign key's definition has REFERENCES"
        for code, action in ACTION_CODES.items():
            if code == con["on_delete"]:
                continue
            definition = f"{bare[:refs.end()]} ON DELETE {action}{bare[refs.end():]}"
            name = quote(member(key, con))
            yield Mutant(f"fk_on_delete:{key}={action}", "fk_on_delete", key,
                         _alter(con["table"], f"DROP CONSTRAINT {name}, "
                                f"ADD CONSTRAINT {name} {definition}"))


def drop_check(snap: dict) -> Iterator[Mutant]:
    for key, con in snap["constraints"].items():
        if con["type"] == "c":
            yield Mutant(f"drop_check:{key}", "drop_check", key,
                         _alter(con["table"], f"DROP CONSTRAINT {quote(member(key, con))}"))


def widenings(definition: str) -> Iterator[tuple[str, str]]:
    """(label, wider definition) for each bound of a CHECK that can be loosened by one step:
    a number compared with ``>= > <= <`` moves one outward, an ``IN`` list gains a value, an
    anchored regular expression loses its anchors."""
    for match in COMPARISON.finditer(definition):
        op, number = match.group(1), int(match.group(2))
        wider = number - 1 if op in (">=", ">") else number + 1
        yield (f"{op}{number}->{wider}",
               f"{definition[:match.start()]}{op} {wider}{definition[match.end():]}")
    for match in IN_LIST.finditer(definition):
        first = match.group("items").split(",")[0]
        extra = re.sub(r"^'(?:[^']|'')*'", "'MUTANT'", first)  # same cast as the first item
        yield ("in+MUTANT",
               f"{definition[:match.end('items')]}, {extra}{definition[match.end('items'):]}")
    for match in REGEX.finditer(definition):
        yield ("regex-unanchored",
               f"{definition[:match.start()]}~ '{match.group('pattern')}'"
               f"{definition[match.end():]}")


def widen_check(snap: dict) -> Iterator[Mutant]:
    for key, con in snap["constraints"].items():
        if con["type"] != "c":
            continue
        name = quote(member(key, con))
        for label, definition in widenings(con["definition"]):
            yield Mutant(f"widen_check:{key}:{label}", "widen_check", key,
                         _alter(con["table"], f"DROP CONSTRAINT {name}, "
                                f"ADD CONSTRAINT {name} {definition}"))


def drop_trigger(snap: dict) -> Iterator[Mutant]:
    for key, trg in snap["triggers"].items():
        yield Mutant(f"drop_trigger:{key}", "drop_trigger", key,
                     f"DROP TRIGGER {quote(member(key, trg))} "
                     f"ON {qualified(trg['table'])};")


def passthrough_trigger_function(snap: dict) -> Iterator[Mutant]:
    """Every trigger function's body replaced by one that lets every row through unchanged.

    Only the body changes: language, volatility, SECURITY DEFINER and SET options are kept.
    """
    levels: dict[str, set[str]] = {}
    for trg in snap["triggers"].values():
        name = qualify(trg["function_schema"], trg["function"])
        levels.setdefault(f"{name}()", set()).add(trg["level"])
    for key, fn in snap["functions"].items():
        if fn["returns"] != "trigger":
            continue
        # Statement-level triggers have no row: NEW and OLD are NULL there anyway.
        result = "NULL" if levels.get(key) == {"STATEMENT"} else "COALESCE(NEW, OLD)"
        options = [VOLATILITY[fn["volatility"]].upper()]
        if fn["security_definer"]:
            options.append("SECURITY DEFINER")
        for setting in fn["config"] or ():
            option, _, value = setting.partition("=")
            # proconfig keeps a list setting (search_path) as its items, already quoted.
            options.append(f"SET {option} = {value if ',' in value else literal(value)}")
        yield Mutant(f"passthrough_trigger_function:{key}", "passthrough_trigger_function", key,
                     f"CREATE OR REPLACE FUNCTION {qualified(key[:-2])}() RETURNS trigger "
                     f"LANGUAGE plpgsql {' '.join(options)} "
                     f"AS $mutant$ BEGIN RETURN {result}; END $mutant$;")


def _near_type(type_: str) -> str | None:
    if VARCHAR.fullmatch(type_):
        return "text"
    return NEAR_TYPES.get(type_)


def _fixed_type_words(snap: dict) -> dict[str, set[str]]:
    """Per table, the words of its policies' expressions and its triggers' WHEN conditions,
    and its triggers' UPDATE OF columns: PostgreSQL refuses to change the type of a column a
    policy or a trigger uses, so those columns get no near_type mutant."""
    words: dict[str, set[str]] = {}
    for pol in snap["policies"].values():
        text = f"{pol['using_expr'] or ''} {pol['check_expr'] or ''}"
        words.setdefault(pol["table"], set()).update(re.findall(r"\w+", text))
    for trigger in snap["triggers"].values():
        words.setdefault(trigger["table"], set()).update(
            trigger["columns"], re.findall(r"\w+", trigger_when(trigger["definition"]) or ""))
    return words


def near_type(snap: dict) -> Iterator[Mutant]:
    fixed = _fixed_type_words(snap)
    for table, name, col in _columns(snap):
        wanted = _near_type(col["type"])
        if wanted is None or col["generated"] or name in fixed.get(table, ()):
            continue
        yield Mutant(f"near_type:{table}.{name}={wanted}", "near_type", f"{table}.{name}",
                     _alter(table, f"ALTER COLUMN {quote(name)} TYPE {wanted}"))


def _other_default(col: dict) -> str | None:
    """A different default of the same type, or None when there is no obvious one."""
    default, type_ = col["default"], col["type"]
    if type_ == "boolean":
        return f"NOT ({default})"
    if type_ in ("integer", "bigint", "smallint", "numeric"):
        return f"({default}) + 1"
    if type_.startswith("timestamp"):
        return f"({default}) - interval '1 day'"
    if type_ == "text" or VARCHAR.fullmatch(type_):
        return "'MUTANT'"
    return None


def change_default(snap: dict) -> Iterator[Mutant]:
    """Every default dropped, and changed to another value where the type suggests one."""
    for table, name, col in _columns(snap):
        if col["default"] is None or col["identity"] or col["generated"]:
            continue
        column = quote(name)
        yield Mutant(f"change_default:{table}.{name}=none", "change_default", f"{table}.{name}",
                     _alter(table, f"ALTER COLUMN {column} DROP DEFAULT"))
        other = _other_default(col)
        if other is not None:
            yield Mutant(f"change_default:{table}.{name}=other", "change_default",
                         f"{table}.{name}",
                         _alter(table, f"ALTER COLUMN {column} SET DEFAULT {other}"))


COMMENT_TARGETS = {
    "relations": lambda key, row: f"{'VIEW' if row['kind'] == 'v' else 'TABLE'} {qualified(key)}"
    if row["kind"] in ("r", "p", "v") else None,
    "columns": lambda key, row:
        f"COLUMN {qualified(row['table'])}.{quote(member(key, row))}",
    "constraints": lambda key, row:
        f"CONSTRAINT {quote(member(key, row))} ON {qualified(row['table'])}",
    "indexes": lambda key, row: f"INDEX {qualified(key)}",
    "triggers": lambda key, row:
        f"TRIGGER {quote(member(key, row))} ON {qualified(row['table'])}",
    "functions": lambda key, row:
        f"FUNCTION {qualified(key[:key.index('(')])}{key[key.index('('):]}",
    "policies": lambda key, row:
        f"POLICY {quote(member(key, row))} ON {qualified(row['table'])}",
}


def drop_comment(snap: dict) -> Iterator[Mutant]:
    for section, target in COMMENT_TARGETS.items():
        for key, row in snap[section].items():
            what = target(key, row) if row.get("comment") else None
            if what:
                yield Mutant(f"drop_comment:{section}:{key}", "drop_comment", key,
                             f"COMMENT ON {what} IS NULL;")


def _changed(column: str, type_: str) -> str | None:
    """An expression giving the column a different value of its type, or None."""
    col = quote(column)
    if type_ == "boolean":
        return f"NOT {col}"
    if type_ in ("integer", "bigint", "smallint", "numeric"):
        return f"{col} + 1"
    if type_ == "jsonb":
        return f"jsonb_build_array({col})"
    if type_ == "text" or VARCHAR.fullmatch(type_):
        return f"{col} || 'X'"
    return None


def seeded_rows(snap: dict, rows: dict[str, list[dict]]) -> Iterator[Mutant]:
    """Every row the migrations seed, deleted; and changed in its first changeable column.

    ``rows`` maps a table to its rows' primary-key values (``seeded(conn, snap)``).
    """
    for table, keys in rows.items():
        pk = next(con["columns"] for con in snap["constraints"].values()
                  if con["table"] == table and con["type"] == "p")
        changeable = [(name, _changed(name, col["type"])) for t, name, col in _columns(snap)
                      if t == table and name not in pk and _changed(name, col["type"])]
        for values in keys:
            where = " AND ".join(f"{quote(c)}::text = {literal(str(values[c]))}" for c in pk)
            label = ",".join(str(values[c]) for c in pk)
            yield Mutant(f"delete_seeded_row:{table}:{label}", "delete_seeded_row",
                         f"{table}:{label}", f"DELETE FROM {qualified(table)} WHERE {where};")
            if changeable:
                column, expression = changeable[0]
                yield Mutant(f"change_seeded_row:{table}:{label}.{column}", "change_seeded_row",
                             f"{table}:{label}",
                             f"UPDATE {qualified(table)} SET {quote(column)} = {expression} "
                             f"WHERE {where};")


CATALOG_OPERATORS: tuple[Callable[[dict], Iterator[Mutant]], ...] = (
    drop_index, drop_not_null, fk_on_delete, drop_check, drop_unique, widen_check,
    drop_trigger, passthrough_trigger_function, near_type, change_default, drop_comment,
)
