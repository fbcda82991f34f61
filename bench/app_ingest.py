"""Bulk ingest as the application (issue 18): its fast path under row-level security
against the owner's COPY, the same number of e-mails into the same table in the same run.

PostgreSQL refuses COPY FROM into a table whose row-level security applies to the caller
(SQLSTATE 0A000), so ``ironarchive_app`` cannot COPY into ``emails``; one small attempt
shows it in every run. The application's fast path is one INSERT per batch that takes one
array per column: ``INSERT INTO emails (...) SELECT ... FROM unnest($1::uuid[], ...)``,
in a transaction that names its tenant with set_tenant().

Each side loads its own fresh mailboxes of one tenant, on top of the whole data set with
the migration's indexes; the rows come from the data set's generator with the same seed
for both, so they differ only in their ids and mailboxes. They are made in memory first,
COPY text for the owner and array literals for the application (not timed: psycopg
adapting 15 Python lists per batch took more than half as long as the server's INSERT, a
cost of this client, not of the schema), so both rates are the server's, parsing text
either way.
Each side loads its rows in two halves, in the order owner, application, application,
owner (ORDER), a CHECKPOINT before each: the owner a half as one COPY in one transaction,
the application BATCH_ROWS rows per transaction, as a sync would commit.
"""

import random
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from . import MeasurementError, isolation
from .data import EMAIL_COLUMNS, NULL, Dataset, Mailbox, chunked, copy_chunks
from .ingest import timed_copy

TABLE = "emails"
#: E-mails each side loads, as a share of the data set's e-mails (at least two batches).
SHARE = 0.05
BATCH_ROWS = 5_000
#: Fresh mailboxes per side; the rows alternate between them, as a sync writes them.
MAILBOXES = 10
#: The tenant both sides load into (the data set's tenant 0).
TENANT = 0
#: The order of the halves: a load finds the index pages the one before it brought into
#: memory, so each side goes first once.
ORDER = ("owner", "app", "app", "owner")
#: COPY FROM under row-level security: feature_not_supported.
COPY_REFUSED = "0A000"
#: The application's goal: its fast path at least this share of the owner's COPY rate.
GOAL = 0.5

#: Each generated column's type; array columns are flagged, as unnest would flatten them.
COLUMN_TYPES = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory = 'A'
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = %s::regclass AND a.attname = ANY(%s)"""


@dataclass(frozen=True)
class AppIngest:
    rows: int
    batch_rows: int
    copy_s: float
    insert_s: float
    #: SQLSTATE and message of COPY FROM as the application.
    copy_refusal: str

    @property
    def copy_rate(self) -> float:
        return self.rows / self.copy_s

    @property
    def insert_rate(self) -> float:
        return self.rows / self.insert_s

    @property
    def ratio(self) -> float:
        return self.insert_rate / self.copy_rate

    @property
    def within_goal(self) -> bool:
        return self.ratio >= GOAL


def unnest_insert(conn: psycopg.Connection) -> sql.Composed:
    """The INSERT taking one array per column of EMAIL_COLUMNS. An array column
    (``recipients``) travels as text[] of its literals, cast back row by row."""
    types = {name: (type_, is_array) for name, type_, is_array
             in conn.execute(COLUMN_TYPES, (TABLE, list(EMAIL_COLUMNS))).fetchall()}
    conn.rollback()
    names = [sql.Identifier(name) for name in EMAIL_COLUMNS]
    values = [sql.SQL("{}::{}").format(name, sql.SQL(types[column][0]))
              if types[column][1] else name
              for name, column in zip(names, EMAIL_COLUMNS, strict=True)]
    arrays = [sql.SQL("%s::{}[]").format(sql.SQL("text" if types[column][1]
                                                  else types[column][0]))
              for column in EMAIL_COLUMNS]
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS batch ({})").format(
        sql.Identifier(TABLE), sql.SQL(", ").join(names), sql.SQL(", ").join(values),
        sql.SQL(", ").join(arrays), sql.SQL(", ").join(names))


def _rows(dataset: Dataset, mailboxes: list[Mailbox], count: int,
          first: int) -> list[tuple[str, ...]]:
    order = [n % len(mailboxes) for n in range(count)]
    return list(dataset.email_rows(mailboxes, order, first, random.Random(dataset.seed + 7)))


def _batches(rows: list[tuple[str, ...]]) -> list[list[str]]:
    """BATCH_ROWS rows at a time, as one array literal per column."""
    return [[_array_literal(column) for column in zip(*rows[start:start + BATCH_ROWS], strict=True)]
            for start in range(0, len(rows), BATCH_ROWS)]


def _array_literal(fields) -> str:
    """``{"a","b",NULL}`` from COPY text fields: every element quoted, ``\\N`` as NULL."""
    return "{" + ",".join("NULL" if field == NULL else
                          '"' + field.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for field in fields) + "}"


def _add_mailboxes(conn: psycopg.Connection, mailboxes: list[Mailbox]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mailboxes (id, tenant_id, email_address, mailbox_type) "
            "VALUES (%s, %s, %s, 'USER')",
            [(box.id, box.tenant_id, box.address) for box in mailboxes])
    conn.commit()


def _copy_refusal(conn: psycopg.Connection, row: tuple[str, ...], tenant_id: str) -> str:
    """COPY of one row as the application: its SQLSTATE and message, which must be 0A000."""
    try:
        conn.execute(f"SET LOCAL ROLE {isolation.APP_ROLE}")
        conn.execute("SELECT set_tenant(%s)", (tenant_id,))
        copy_chunks(conn, TABLE, EMAIL_COLUMNS, chunked(iter(["\t".join(row)])))
    except psycopg.Error as exc:
        if exc.sqlstate != COPY_REFUSED:
            raise
        return f"{exc.sqlstate}: {exc.diag.message_primary}"
    finally:
        conn.rollback()
    raise MeasurementError(f"COPY into {TABLE} as {isolation.APP_ROLE} was accepted, not "
                           f"refused with {COPY_REFUSED}: is row-level security off?")


def _timed_inserts(owner: psycopg.Connection, app: psycopg.Connection,
                   statement: sql.Composed, batches, tenant_id: str) -> float:
    """The batches as the application, after the owner's CHECKPOINT: seconds."""
    owner.execute("CHECKPOINT")
    owner.commit()
    start = time.perf_counter()
    for batch in batches:
        app.execute("SELECT set_tenant(%s)", (tenant_id,))
        app.execute(statement, batch, prepare=True)
        app.commit()
    return time.perf_counter() - start


def _halves(items: list) -> list[list]:
    return [items[:len(items) // 2], items[len(items) // 2:]]


def measure(url: str, connect, dataset: Dataset) -> AppIngest:
    """The owner's COPY and the application's batched INSERT of as many fresh e-mails, each
    in two halves, in the order ORDER."""
    sizes = dataset.sizes
    count = max(2 * BATCH_ROWS, round(sizes.emails * SHARE))
    owner_boxes = dataset.fresh_mailboxes(sizes.mailboxes, MAILBOXES, TENANT)
    app_boxes = dataset.fresh_mailboxes(sizes.mailboxes + MAILBOXES, MAILBOXES, TENANT)
    copied = list(chunked(map("\t".join, _rows(dataset, owner_boxes, count, sizes.emails))))
    app_rows = _rows(dataset, app_boxes, count, sizes.emails + count)
    parts = {"owner": _halves(copied), "app": _halves(_batches(app_rows))}
    seconds = {"owner": 0.0, "app": 0.0}
    tenant_id = dataset.tenant_ids[TENANT]
    with connect(url) as owner, connect(url) as app:
        statement = unnest_insert(owner)
        _add_mailboxes(owner, owner_boxes + app_boxes)
        refusal = _copy_refusal(owner, app_rows[0], tenant_id)
        # The application's login is a member of the role, not the owner.
        app.execute(f"SET ROLE {isolation.APP_ROLE}")
        app.commit()
        for side in ORDER:
            part = parts[side].pop(0)
            seconds[side] += (timed_copy(owner, TABLE, EMAIL_COLUMNS, part)[1]
                              if side == "owner"
                              else _timed_inserts(owner, app, statement, part, tenant_id))
    return AppIngest(count, BATCH_ROWS, seconds["owner"], seconds["app"], refusal)
