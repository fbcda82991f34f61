"""Every mutant of a migrations folder, derived from the database it migrates to."""

from pathlib import Path

import psycopg

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.mutation.downfiles import remove_down_statement
from ironarchive_schema.mutation.mutant import Mutant, qualified
from ironarchive_schema.mutation.operators import CATALOG_OPERATORS, seeded_rows

#: Every operator a run can use (seeded_rows yields two kinds of mutant).
OPERATOR_NAMES = (*(op.__name__ for op in CATALOG_OPERATORS), "delete_seeded_row",
                  "change_seeded_row", "remove_down_statement")
# No migration seeds more rows than this into one table; a bigger table is data, not seed.
MAX_SEEDED_ROWS = 50


def seeded(conn: psycopg.Connection, snap: dict) -> dict[str, list[dict]]:
    """Primary-key values of the rows the migrations left in each table with a primary key."""
    found = {}
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for con in snap["constraints"].values():
            if con["type"] != "p" or snap["relations"].get(con["table"], {}).get("kind") != "r":
                continue
            columns = ", ".join(f'"{c}"' for c in con["columns"])
            rows = cur.execute(f"SELECT {columns} FROM {qualified(con['table'])} "
                               f"ORDER BY {columns} LIMIT {MAX_SEEDED_ROWS + 1}").fetchall()
            if 0 < len(rows) <= MAX_SEEDED_ROWS:
                found[con["table"]] = rows
    return found


def derive(conn: psycopg.Connection, migrations_dir: Path) -> list[Mutant]:
    """The mutants of ``migrations_dir``; ``conn`` is a database it migrated to the newest
    version. Sorted by id, which is unique."""
    snap = pg_catalog.snapshot(conn)
    mutants = [m for operator in CATALOG_OPERATORS for m in operator(snap)]
    mutants += seeded_rows(snap, seeded(conn, snap))
    mutants += remove_down_statement(migrations_dir)
    ids = [m.id for m in mutants]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:  # equivalent.yaml and the report are keyed by id
        raise ValueError(f"two mutants share an id: {sorted(duplicates)}")
    return sorted(mutants, key=lambda m: m.id)
