"""What the ``migrate-*`` targets did to a database, kept in the database itself.

golang-migrate records one version and a dirty flag, and sets the flag to the *target*
version before it runs a file: after ``down`` from 3 failed, it says ``2 (dirty)``, exactly
what a failed ``up`` to 2 says, though the recoveries differ (force 3 against force 1). It
keeps no history either, so a version added later below the current one is never applied
and nothing says so.

So every ``migrate-*`` command records, in the comment of migrate's own table
(``schema_migrations``; no object is added to the schema), the command it is about to run
and then how it ended, plus the versions applied so far. ``migrate-status`` reads it back.
A comment is used because it travels with the database, is owned by the role that owns
migrate's table, and is invisible to the application and the contract.
"""

import json
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

from ironarchive_schema.postgres import admin, urls

MARK = "ironarchive-schema journal"
#: golang-migrate v4.20.1, database/util.go: advisoryLockIDSalt.
LOCK_SALT = 1486364155


@dataclass
class Journal:
    applied: list[int] = field(default_factory=list)
    #: The last command: {"command", "from", "to", "state": running|failed|done, "error"}.
    last: dict | None = None

    def dump(self) -> str:
        return json.dumps({"mark": MARK, "applied": sorted(set(self.applied)),
                           "last": self.last}, sort_keys=True)


def migrations_table(url: str) -> tuple[str | None, str]:
    """``(schema, table)`` of migrate's table for ``url``; schema None: the current one.

    ``x-migrations-table`` renames it; with ``x-migrations-table-quoted`` it may name a
    schema as ``"schema"."table"`` (golang-migrate's postgres driver).
    """
    query = dict(parse_qsl(urlsplit(url).query))
    table = query.get("x-migrations-table") or "schema_migrations"
    if query.get("x-migrations-table-quoted", "").lower() in ("1", "true") and "." in table:
        schema, _, name = table.partition(".")
        return schema.strip('"'), name.strip('"')
    return None, table.strip('"')


def _qualified(conn: psycopg.Connection, url: str) -> tuple[str, str]:
    schema, table = migrations_table(url)
    if schema is None:
        schema = admin.scalar(conn.execute("SELECT current_schema()"))
    return schema, table


def read(url: str) -> Journal | None:
    """The journal of ``url``'s database; None where migrate's table or the journal is not."""
    with admin.connect(url, autocommit=True) as conn:
        schema, table = _qualified(conn, url)
        row = conn.execute(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relname = %s", (schema, table)).fetchone()
    if not row or not row[0]:
        return None
    try:
        data = json.loads(row[0])
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("mark") != MARK:
        return None
    return Journal([int(v) for v in data.get("applied") or []], data.get("last"))


def write(url: str, journal: Journal) -> None:
    """Replace the journal; raises psycopg.Error when the role may not comment the table."""
    with admin.connect(url, autocommit=True) as conn:
        schema, table = _qualified(conn, url)
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
            sql.Identifier(schema, table), sql.Literal(journal.dump())))


def lock_key(url: str, schema: str, table: str) -> int:
    """The advisory lock key golang-migrate holds while it works on ``url``.

    database/postgres/postgres.go passes the URL's path ("/name") as the database name;
    database/util.go GenerateAdvisoryLockId joins schema, table and that name with NUL bytes
    and multiplies their CRC-32 by the salt, as a uint32.
    """
    name = "/" + urls.database_name(url)
    joined = "\x00".join([schema, table, name]).encode()
    return zlib.crc32(joined) * LOCK_SALT % 2**32


def running_migration(url: str) -> int | None:
    """The pid of a backend that holds migrate's lock on this database, if any."""
    with admin.connect(url, autocommit=True) as conn:
        schema, table = _qualified(conn, url)
        key = lock_key(url, schema, table)
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((classid::bigint << 32) | objid::bigint) = %s AND pid <> pg_backend_pid()",
            (key,)).fetchone()
    return row[0] if row else None


def recorded_version(url: str) -> tuple[int, bool] | None:
    """``(version, dirty)`` as migrate's table holds it, read without migrate's lock (which a
    running migration holds); None where no migration is recorded."""
    with admin.connect(url, autocommit=True) as conn:
        schema, table = _qualified(conn, url)
        name = sql.Identifier(schema, table)
        if admin.scalar(conn.execute("SELECT to_regclass(%s)", (name.as_string(conn),))) is None:
            return None
        row = conn.execute(sql.SQL("SELECT version, dirty FROM {} LIMIT 1").format(name)
                           ).fetchone()
    return (int(row[0]), bool(row[1])) if row else None
