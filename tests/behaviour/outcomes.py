"""What the database answered to one statement, as a short comparable string.

``"accepted"``, or the error as ``"SQLSTATE constraint"`` (``"23514 users_role_check"``), or
``"SQLSTATE table.column"`` for a NOT NULL violation, or ``"SQLSTATE message"`` when the error
names no object. Tests compare it with ``==``, so a failure shows want and have side by side.
"""

from collections.abc import Callable

import psycopg

ACCEPTED = "accepted"


def describe(error: psycopg.Error | None) -> str:
    if error is None:
        return ACCEPTED
    diag = error.diag
    if diag.constraint_name:
        return f"{diag.sqlstate} {diag.constraint_name}"
    if diag.column_name:
        return f"{diag.sqlstate} {diag.table_name}.{diag.column_name}"
    return f"{diag.sqlstate} {diag.message_primary}"


def attempt(db: psycopg.Connection, query, params=None) -> psycopg.Error | None:
    """Run ``query`` in a savepoint: None if it succeeded (the savepoint is kept), else the
    error (the savepoint is rolled back, the test's transaction goes on)."""
    return attempt_to(db, lambda: db.execute(query, params))


def attempt_to(db: psycopg.Connection, action: Callable[[], object]) -> psycopg.Error | None:
    """``attempt`` for any database work, e.g. a row factory."""
    try:
        with db.transaction():
            action()
    except psycopg.Error as error:
        return error
    return None


def outcome(db: psycopg.Connection, query, params=None) -> str:
    return describe(attempt(db, query, params))
