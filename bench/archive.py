"""IronArchive's archive for the rehearsal (:mod:`ironarchive_schema.rehearsal.rehearse`):
the benchmark's data set, loaded at whatever version the database is at, and the
application's busiest queries as the workload.

The generator writes rows for the newest schema; an earlier version lacks some columns
(``emails.tenant_id`` arrives with 000002), so each table is loaded with the columns it has
now and the migration fills the rest, as it would in production.
"""

from collections.abc import Iterator

import psycopg

from ironarchive_schema.rehearsal.workload import Task

from . import data, plans
from .queries import QUERIES

#: The tables the data set fills, in load order.
TABLES = ("tenants", "users", "mailboxes", "emails", "attachments", "jobs", "audit_logs")
#: Parameter rows each task cycles through.
PARAMS = 200
_BY_NAME = {query.name: query for query in QUERIES}

#: The workload: reads of the web UI, the sync worker's job claim, and the writes every
#: request and every sync make (an audit row, an archived e-mail).
AUDIT_INSERT = """
    INSERT INTO audit_logs (user_id, action, ip_address, details)
    VALUES (%(user_id)s, 'SEARCH', '10.0.0.7', '{"request": "/api/v1/search"}')"""
EMAIL_INGEST = """
    INSERT INTO emails (mailbox_id, message_id, subject, sender, sent_at, size_bytes, file_path)
    VALUES (%(mailbox_id)s, 'rehearsal-' || gen_random_uuid(), 'Rehearsal', 'a@example.com',
            now(), 2048, '/archive/rehearsal.json')"""
USERS = "SELECT id AS user_id FROM users ORDER BY md5(id::text) LIMIT %(n)s"
MAILBOXES = "SELECT id AS mailbox_id FROM mailboxes ORDER BY md5(id::text) LIMIT %(n)s"


class Archive:
    def __init__(self, scale: float, seed: int = 42):
        self.sizes = data.Sizes.at(scale)
        self.seed = seed

    def ready(self, conn: psycopg.Connection) -> bool:
        row = conn.execute("SELECT bool_and(to_regclass(t) IS NOT NULL) "
                           "FROM unnest(%s::text[]) AS t", (list(TABLES),)).fetchone()
        return bool(row and row[0])

    def load(self, conn: psycopg.Connection) -> None:
        conn.autocommit = False
        dataset = data.Dataset(self.sizes, data.encrypted_secrets(conn, self.sizes.tenants),
                               self.seed)
        for table in dataset.tables():
            present = _columns(conn, table.name)
            keep = [i for i, column in enumerate(table.columns) if column in present]
            columns = tuple(table.columns[i] for i in keep)
            chunks = table.chunks() if len(keep) == len(table.columns) else \
                _project(table.chunks(), keep)
            data.copy_chunks(conn, table.name, columns, chunks)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")

    def tasks(self, conn: psycopg.Connection) -> list[Task]:
        def params(statement: str) -> tuple[dict, ...]:
            return tuple(plans.fetch_params(conn, statement, PARAMS))

        listing, sender, claim = (_BY_NAME[name] for name in
                                  ("mailbox_listing", "sender_in_mailbox", "job_claim"))
        return [
            Task("listing", listing.sql, params(listing.samples)),
            Task("sender search", sender.sql, params(sender.samples)),
            Task("job claim", claim.sql, ()),
            Task("audit insert", AUDIT_INSERT, params(USERS)),
            Task("e-mail ingest", EMAIL_INGEST, params(MAILBOXES)),
        ]


def _columns(conn: psycopg.Connection, table: str) -> set[str]:
    return {name for name, in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped", (table,))}


def _project(chunks: Iterator[bytes], keep: list[int]) -> Iterator[bytes]:
    """COPY text chunks with only the fields at ``keep`` (no generated value holds a tab)."""
    for chunk in chunks:
        lines = chunk.decode().splitlines()
        yield ("\n".join("\t".join(fields[i] for i in keep)
                         for fields in (line.split("\t") for line in lines)) + "\n").encode()
