"""Behaviour suite: parameters read from the catalog, a savepoint-ready ``db``.

Parameters from the catalog: a test that takes one of the arguments in ``CATALOG_PARAMETERS``
is parametrised over the schema itself (the migrated template, read once per process at
collection time), so a column, foreign key or table added by a new migration is a new test
id (``-k audit_logs.action``) without anyone editing a list.
"""

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.plugin.session import collection_catalog

#: argument name -> the (id, value) pairs it takes, from a catalog snapshot.
CATALOG_PARAMETERS = {
    # every column of audit_logs, by name
    "audit_logs_column": lambda s: [(f"audit_logs.{name}", name)
                                    for name in pg_catalog.on_table(s, "columns", "audit_logs")],
    # every foreign key, as its constraint entry plus its key "table.constraint"
    "foreign_key": lambda s: [(key, {"key": key, **con}) for key, con in s["constraints"].items()
                              if con["type"] == "f"],
    # every table with an updated_at column
    "updated_at_table": lambda s: [(t, t) for t in pg_catalog.tables(s)
                                   if f"{t}.updated_at" in s["columns"]],
    # every NOT NULL column, as "table.column"
    "not_null_column": lambda s: [(key, key) for key, c in s["columns"].items()
                                  if not c["nullable"]
                                  and s["relations"][c["table"]]["kind"] == "r"],
    # every column of the tables that hold archived mail, as "table.column"
    "mail_column": lambda s: [(key, key) for key, c in s["columns"].items()
                              if c["table"] in ("emails", "attachments")],
    # every base table
    "table": lambda s: [(t, t) for t in pg_catalog.tables(s)],
}


def pytest_generate_tests(metafunc):
    wanted = [name for name in CATALOG_PARAMETERS if name in metafunc.fixturenames]
    if not wanted:
        return
    snapshot = collection_catalog(metafunc.config)
    for name in wanted:
        if snapshot is None:
            # The test still runs, and fails in its database fixture with the reason.
            params = [pytest.param(None, id="no-schema")]
        else:
            params = [pytest.param(value, id=ident)
                      for ident, value in CATALOG_PARAMETERS[name](snapshot)]
        metafunc.parametrize(name, params)


@pytest.fixture
def db(db):
    """The shared ``db``, its transaction already open.

    ``db.transaction()`` then always makes a savepoint inside the test's transaction (never a
    transaction of its own, which would commit): each rejected statement, and each Hypothesis
    example, is tried in a savepoint and rolled back to it.
    """
    db.execute("SELECT 1")
    return db


class Catalog(dict):
    """A catalog snapshot that prints as one line: Hypothesis prints every argument of a
    failing example, and the whole catalog would bury the example."""

    def __repr__(self) -> str:
        return f"<catalog snapshot: {len(self['columns'])} columns>"


@pytest.fixture(scope="session")
def catalog(catalog_snapshot) -> Catalog:
    """``catalog_snapshot`` for Hypothesis tests (short in failure reports)."""
    return Catalog(catalog_snapshot)
