"""Ingest rate: COPY into the real tables, and into bare copies of the two big ones.

Each table's rows are generated into memory first (timed on their own), so the COPY rate
is the server's, not Python's. E-mails and attachments are loaded twice from the same
bytes: into a bare copy (``CREATE TABLE ... (LIKE t INCLUDING DEFAULTS)``: columns,
NOT NULL and defaults, no primary key, no other index, no CHECK, no foreign key), then into
the real table with the full schema. A CHECKPOINT before each load starts both from the
same state.
"""

import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .data import Dataset, copy_chunks

#: Tables measured both with the full schema and bare.
BARE = ("emails", "attachments")


@dataclass(frozen=True)
class Ingest:
    table: str
    rows: int
    generate_s: float
    full_s: float
    bare_s: float | None

    @property
    def full_rate(self) -> float:
        return self.rows / self.full_s

    @property
    def bare_rate(self) -> float | None:
        return self.rows / self.bare_s if self.bare_s else None

    @property
    def generate_rate(self) -> float:
        return self.rows / self.generate_s


def timed_copy(conn: psycopg.Connection, table: str, columns, chunks) -> tuple[int, float]:
    """COPY the chunks after a CHECKPOINT, committed: (rows, seconds)."""
    conn.execute("CHECKPOINT")
    conn.commit()
    start = time.perf_counter()
    rows = copy_chunks(conn, table, columns, chunks)
    conn.commit()
    return rows, time.perf_counter() - start


def _bare_copy(conn: psycopg.Connection, table: str, columns, chunks) -> float:
    bare = f"bench_{table}_bare"
    conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
        sql.Identifier(bare), sql.Identifier(table)))
    conn.commit()
    try:
        return timed_copy(conn, bare, columns, chunks)[1]
    finally:
        conn.rollback()
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(bare)))
        conn.commit()


def ingest(conn: psycopg.Connection, dataset: Dataset, log=print) -> list[Ingest]:
    """Load every table of ``dataset``, in foreign-key order; the measurements per table."""
    results = []
    for table in dataset.tables():
        start = time.perf_counter()
        chunks = list(table.chunks())
        generate_s = time.perf_counter() - start
        bare_s = _bare_copy(conn, table.name, table.columns, chunks) \
            if table.name in BARE else None
        rows, full_s = timed_copy(conn, table.name, table.columns, chunks)
        del chunks
        results.append(Ingest(table.name, rows, generate_s, full_s, bare_s))
        log(f"  {table.name}: {rows:,} rows, {rows / full_s:,.0f} rows/s"
            + (f" (bare: {rows / bare_s:,.0f} rows/s)" if bare_s else ""))
    return results
