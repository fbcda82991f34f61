"""plpgsql_check on a migrated database, and the project's reviewed exceptions to it.

Tests reach only the paths of a PL/pgSQL function they run. plpgsql_check compiles every
statement of a function against the catalog without running it: a misspelt column, a record
field the trigger's table lacks, a type that does not fit its target, a variable never used,
a hidden cast that keeps an index unused, a query built from a parameter. Every PL/pgSQL
function of schema ``public`` is checked, a trigger function against each table its triggers
are on (with their transition tables), with plpgsql_check's other, extra, performance and
security warnings (compatibility warnings are about PostgreSQL releases older than any a
golang-migrate project here runs).

A finding that is not a defect is accepted in the exceptions file (``PLPGSQL_CHECK_EXCEPTIONS``,
default ``plpgsql_check.yaml``; none when it is absent), like the SQL linters' exceptions:

    exceptions:
      - function: fill_tenant_id_from_parent()   # as the catalog names it: name(arguments)
        table: emails                            # optional: the trigger's table
        line: 18                                 # optional: plpgsql_check's line
        message: record "new" has no field "email_id"   # and/or sqlstate: '42703'
        reason: why this is not a defect, specifically

An exception that covers no finding is stale and fails too, so the file says what is true.

The extension lives in a schema of its own (:data:`SCHEMA`) of the database checked, a copy
of the migrated template, never the template itself.
"""

from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from ironarchive_schema.contract.load import strict_yaml
from ironarchive_schema.errors import ToolchainError

EXTENSION = "plpgsql_check"
#: The schema of the checked database the extension is created in, apart from ``public``.
SCHEMA = "plpgsql_check"

CHECK = f"""
SELECT lineno AS line, statement, sqlstate, message, detail, hint, level, query, context
FROM {SCHEMA}.plpgsql_check_function_tb(
    %(oid)s::pg_catalog.oid::pg_catalog.regprocedure,
    %(relid)s::pg_catalog.oid::pg_catalog.regclass,
    fatal_errors => false,
    other_warnings => true,
    extra_warnings => true,
    performance_warnings => true,
    security_warnings => true,
    oldtable => %(oldtable)s::pg_catalog.name,
    newtable => %(newtable)s::pg_catalog.name)
"""


class ExceptionsError(ToolchainError):
    """The exceptions file cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Use:
    """A table a trigger function's triggers are on, and their transition tables."""

    relid: int
    table: str
    oldtable: str | None = None
    newtable: str | None = None


@dataclass(frozen=True)
class Target:
    """A PL/pgSQL function to check: its key (``name(arguments)``), oid and source."""

    key: str
    oid: int
    source: str
    is_trigger: bool
    uses: tuple[Use, ...]

    def source_line(self, line: int | None) -> str | None:
        """Line ``line`` of the source as plpgsql_check counts (1: the text after ``AS $$``)."""
        lines = self.source.splitlines()
        return lines[line - 1].strip() if line and 0 < line <= len(lines) else None


@dataclass(frozen=True)
class Finding:
    function: str
    table: str | None  # the trigger's table it was checked against
    line: int | None
    level: str  # error, warning, warning extra, performance, security
    sqlstate: str
    message: str
    detail: str | None = None
    hint: str | None = None
    statement: str | None = None
    query: str | None = None
    context: str | None = None

    def __str__(self) -> str:
        on = f" on {self.table}" if self.table else ""
        at = f"line {self.line}" if self.line else "no line"
        return f"{self.function}{on}, {at}: {self.level} {self.sqlstate}: {self.message}"


@dataclass(frozen=True)
class Accepted:
    """A reviewed exception: the finding it covers, and why it is not a defect."""

    function: str
    reason: str
    table: str | None = None
    line: int | None = None
    message: str | None = None
    sqlstate: str | None = None

    def covers(self, finding: Finding) -> bool:
        return (finding.function == self.function
                and self.table in (None, finding.table)
                and self.line in (None, finding.line)
                and self.message in (None, finding.message)
                and self.sqlstate in (None, finding.sqlstate))

    def __str__(self) -> str:
        said = [f"{name} {getattr(self, name)!r}" for name in ("table", "line", "message",
                                                               "sqlstate")
                if getattr(self, name) is not None]
        return f"{self.function}: {', '.join(said)}"


_KEYS = {f.name for f in fields(Accepted)}


def read_exceptions(path: Path, *, required: bool = False) -> list[Accepted]:
    """The reviewed exceptions of ``path``; none when it does not exist and is not
    ``required`` (named by a setting rather than the default)."""
    if not path.exists():
        if required:
            raise ExceptionsError(f"{path}: no such file (the plpgsql_check exceptions)")
        return []
    data = strict_yaml(path.read_text(encoding="utf-8"), str(path), ExceptionsError) or {}
    if not isinstance(data, dict) or set(data) - {"exceptions"}:
        raise ExceptionsError(f"{path}: want one key, exceptions: a list of the findings "
                              f"accepted")
    entries = data.get("exceptions") or []
    if not isinstance(entries, list):
        raise ExceptionsError(f"{path}: exceptions: want a list of the findings accepted")
    return [_accepted(entry, f"{path}: exception {number}")
            for number, entry in enumerate(entries, 1)]


def _accepted(entry: object, where: str) -> Accepted:
    if not isinstance(entry, dict):
        raise ExceptionsError(f"{where}: want a mapping (function, message or sqlstate, "
                              f"reason)")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ExceptionsError(f"{where}: unknown key {', '.join(map(str, unknown))}; known: "
                              f"{', '.join(sorted(_KEYS))}")
    for name in ("function", "reason"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise ExceptionsError(f"{where}: {name}: want text, not empty")
    if entry.get("message") is None and entry.get("sqlstate") is None:
        raise ExceptionsError(f"{where}: want the finding's message or sqlstate")
    for name in ("table", "message", "sqlstate"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise ExceptionsError(f"{where}: {name}: want text (quote it), have "
                                  f"{entry[name]!r}")
    line = entry.get("line")
    if line is not None and (type(line) is not int or line < 1):
        raise ExceptionsError(f"{where}: line: want a line number, have {line!r}")
    text = {name: entry[name].strip() if entry.get(name) is not None else None
            for name in ("table", "message", "sqlstate")}
    return Accepted(entry["function"].strip(), entry["reason"].strip(), line=line, **text)


def available(conn: psycopg.Connection) -> bool:
    """Whether the server has the extension's files (``CREATE EXTENSION`` would find it)."""
    return conn.execute("SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = %s",
                        (EXTENSION,)).fetchone() is not None


def create_extension(conn: psycopg.Connection) -> None:
    """The extension, in its own schema of the connected database (autocommit)."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION} SCHEMA {SCHEMA}")


def targets(conn: psycopg.Connection) -> dict[str, Target]:
    """Every PL/pgSQL function of schema ``public``, by key."""
    query = resources.files("ironarchive_schema.catalog").joinpath(
        "sql", "plpgsql_functions.sql").read_text()
    with conn.cursor(row_factory=dict_row) as cur:
        return {row["key"]: Target(row["key"], row["oid"], row["source"], row["is_trigger"],
                                   tuple(Use(**use) for use in row["uses"]))
                for row in cur.execute(query).fetchall()}


def check(conn: psycopg.Connection, target: Target) -> list[Finding]:
    """plpgsql_check's findings on ``target`` (autocommit ``conn``): a trigger function on
    each of its tables; an error plpgsql_check raises is a finding too (a trigger function
    no trigger uses has no table to be checked against)."""
    uses: tuple[Use | None, ...] = target.uses if target.is_trigger and target.uses else (None,)
    found = []
    for use in uses:
        table = use.table if use else None
        parameters = {"oid": target.oid, "relid": use.relid if use else 0,
                      "oldtable": use.oldtable if use else None,
                      "newtable": use.newtable if use else None}
        try:
            with conn.cursor(row_factory=dict_row) as cur:
                rows = cur.execute(CHECK, parameters).fetchall()
        except psycopg.Error as error:
            diag = error.diag
            found.append(Finding(target.key, table, None, "error", diag.sqlstate or "",
                                 diag.message_primary or str(error), diag.message_detail,
                                 diag.message_hint))
            continue
        found += [Finding(target.key, table, **row) for row in rows]
    return sorted(found, key=lambda f: (f.table or "", f.line or 0, f.message))


def judge(function: str, findings: list[Finding], exceptions: list[Accepted]
          ) -> tuple[list[Finding], list[Accepted]]:
    """Of ``function``'s findings, those no exception covers; of its exceptions, those that
    cover no finding (stale)."""
    own = [e for e in exceptions if e.function == function]
    return ([f for f in findings if not any(e.covers(f) for e in own)],
            [e for e in own if not any(e.covers(f) for f in findings)])
