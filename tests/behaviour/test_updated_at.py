"""D4: every UPDATE sets updated_at to now(), whatever the statement writes into it.

now() is the start time of the test's transaction, so each row is first inserted with an
updated_at long in the past (INSERT does not fire the trigger): only the trigger can turn it
into now(). Parametrised over every table with an updated_at column, so a new one is covered.
"""

import datetime

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from . import rows
from .outcomes import ACCEPTED, outcome

PAST = datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
FUTURE = datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)

#: Per table: a column other than updated_at, and a new value for it.
OTHER_COLUMN = {
    "users": ("display_name", "Renamed"),
    "settings": ("value", Jsonb({"changed": True})),
}

#: Stands for the other column's new value in a statement's parameters.
NEW = object()

#: SET clauses ({other} is the other column) and their parameters.
STATEMENTS = [
    pytest.param("{other} = %s", (NEW,), id="other-column"),
    pytest.param("{other} = {other}", (), id="no-op"),
    pytest.param("updated_at = %s", (PAST,), id="explicit-old-value"),
    pytest.param("updated_at = %s", (FUTURE,), id="explicit-future-value"),
    pytest.param("updated_at = NULL", (), id="explicit-null"),
    pytest.param("updated_at = %s, {other} = %s", (PAST, NEW), id="old-value-and-other-column"),
]


@pytest.mark.parametrize(("assignments", "params"), STATEMENTS)
def test_update_sets_updated_at_to_now(db, catalog_snapshot, updated_at_table, assignments,
                                       params):
    table = updated_at_table
    assert table in OTHER_COLUMN, f"{table}.updated_at: add {table} to OTHER_COLUMN"
    other, new_value = OTHER_COLUMN[table]
    row = rows.new(db, table, updated_at=PAST)
    assert row["updated_at"] == PAST, "INSERT keeps the written updated_at"
    key = rows.primary_keys(catalog_snapshot)[table][0]
    statement = sql.SQL("UPDATE {table} SET " + assignments + " WHERE {key} = %s").format(
        table=sql.Identifier(table), key=sql.Identifier(key), other=sql.Identifier(other))
    shown = f"{table}: UPDATE ... SET {assignments.format(other=other)}"
    answer = outcome(db, statement, [new_value if p is NEW else p for p in params] + [row[key]])
    assert answer == ACCEPTED, f"{shown}: {answer}"
    now = db.execute("SELECT now()").fetchone()[0]
    assert rows.read(db, table, key, row[key])["updated_at"] == now, \
        f"{shown} must set updated_at = now()"
