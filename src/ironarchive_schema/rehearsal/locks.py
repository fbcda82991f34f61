"""What each statement of a migration file does to a database: the locks it takes, the
relations it rewrites, the rows it reads and writes, and the timeouts in force (eugene's
trace, measured on a database at the version before the migration).

golang-migrate sends a file to PostgreSQL as one multi-statement query: one implicit
transaction, whose locks are all held until it commits. The trace runs the same statements
one at a time inside one transaction, so that between two of them the backend's own rows
of ``pg_locks`` show what the last one took, ``pg_class.relfilenode`` what it rewrote and
``pg_stat_xact_user_tables`` what it scanned and wrote. It ends with ROLLBACK: it measures,
it does not migrate. A file whose only statement cannot run in a transaction block
(``CREATE INDEX CONCURRENTLY``), which PostgreSQL then runs on its own, is run so too and
watched from a second connection, which sees its locks but not its row counts.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint.layout import outside_transaction
from ironarchive_schema.lint.sqltext import Statement, statements
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.migrate.journal import migrations_table
from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.postgres import admin, urls

#: Relations of these schemas are PostgreSQL's own, which every query reads.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
#: pg_locks' modes, weakest first (PostgreSQL's table-level lock modes).
MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
         "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
#: How often the second connection looks at a statement run on its own.
WATCH_INTERVAL = 0.002
#: The backend that runs a statement on its own calls itself this, so the watcher finds it.
TRACED_APPLICATION_NAME = "rehearsal-traced"

_RELATION_LOCKS = f"""
    SELECT l.relation, n.nspname || '.' || c.relname, l.mode
    FROM pg_locks AS l
    LEFT JOIN pg_class AS c ON c.oid = l.relation
    LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE l.locktype = 'relation' AND l.granted AND l.pid = ANY(%s)
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND coalesce(n.nspname, '') NOT IN {SYSTEM_SCHEMAS}
"""
_RELATIONS = f"""
    SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN {SYSTEM_SCHEMAS}
"""
_RUNNING = """
    SELECT pid, wait_event_type IS NOT DISTINCT FROM 'Lock' FROM pg_stat_activity
    WHERE application_name = %s AND state = 'active' AND position(%s::text IN query) > 0
"""
_TABLES = f"""
    SELECT format('%I.%I', n.nspname, c.relname)
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN {SYSTEM_SCHEMAS}
"""
_BOOKKEEPING = """
    SELECT n.nspname || '.' || c.relname
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass(format('%%I.%%I', coalesce(%s::text, current_schema()), %s::text))
       OR c.oid IN (SELECT indexrelid FROM pg_index
                    WHERE indrelid = to_regclass(format(
                        '%%I.%%I', coalesce(%s::text, current_schema()), %s::text)))
"""
_ROW_COUNTS = """
    SELECT schemaname || '.' || relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0),
           coalesce((SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid))
                     FROM pg_index AS i WHERE i.indrelid = relid), 0)::bigint,
           n_tup_ins, n_tup_upd, n_tup_del
    FROM pg_stat_xact_user_tables
"""
#: Per table and statement: scans, rows read by them (heap rows of sequential scans, index
#: entries of index scans: a key checked through an index reads no heap row), rows written.
ROW_COUNTERS = ("seq_scan", "seq_tup_read", "idx_scan", "idx_tup_read", "inserted", "updated",
                "deleted")
#: Rows read by sequential and index scans, the counters that say how much a statement read.
ROWS_READ = ("seq_tup_read", "idx_tup_read")
#: Parallel workers count their rows in statistics of their own, which the traced backend
#: does not see; the trace runs without them (the locks are the same).
_NO_PARALLEL_WORKERS = """
    SELECT set_config('max_parallel_workers_per_gather', '0', true),
           set_config('max_parallel_maintenance_workers', '0', true)
"""


@dataclass(frozen=True)
class Lock:
    relation: str  # schema.name
    mode: str  # as pg_locks names it: AccessExclusiveLock, ShareLock, ...


@dataclass(frozen=True)
class StatementTrace:
    line: int  # where the statement starts in its file
    words: tuple[str, ...]  # its first words, as sqltext reads them
    seconds: float  # how long it ran
    held_seconds: float  # from its start until the end of the file's transaction
    # What it took that others can wait for: locks on relations that existed before the
    # file, which the transaction did not hold before this statement.
    locks: tuple[Lock, ...]
    rewrites: tuple[str, ...]  # relations it gave a new file (a rewrite, or TRUNCATE)
    rows: dict[str, dict[str, int]]  # table -> counter -> change (none for a watched one)
    lock_timeout: str
    statement_timeout: str
    in_transaction: bool  # False: run on its own, watched from a second connection

    def strongest(self) -> dict[str, str]:
        """Relation -> the strongest mode this statement took on it."""
        strongest: dict[str, str] = {}
        for lock in self.locks:  # in _lock_order: weakest first on each relation
            strongest[lock.relation] = lock.mode
        return strongest


class TraceError(ToolchainError):
    """A statement of the traced file failed: the file would not apply. ``line``, ``words``
    and ``reason`` name the statement and PostgreSQL's error; ``partial`` holds the trace of
    the statements before it and of it, up to the failure."""

    def __init__(self, path: Path, statement: Statement, reason: str,
                 partial: list["StatementTrace"] | None = None):
        super().__init__(f"{path.name}:{statement.line}: {' '.join(statement.words[:4])} "
                         f"failed: {reason}")
        self.line = statement.line
        self.words = statement.words
        self.reason = reason
        self.partial = partial or []


Relations = dict[int, tuple[str, int]]  # oid -> (schema.name, relfilenode)


def _relations(conn: psycopg.Connection) -> Relations:
    return {oid: (name, node) for oid, name, node in conn.execute(_RELATIONS)}


def _locks(conn: psycopg.Connection, pids: list[int], existing: Relations) -> set[Lock]:
    """The locks backends ``pids`` hold on relations of ``existing``: the ones other sessions
    can see. A relation the migration creates (a new table or index, the transient copy of
    a rewrite) is invisible to them until COMMIT, so its locks block nobody. One it dropped
    since is named as it was."""
    return {Lock(name or existing[oid][0], mode)
            for oid, name, mode in conn.execute(_RELATION_LOCKS, (pids,)) if oid in existing}


def _rewritten(before: Relations, after: Relations) -> tuple[str, ...]:
    """Relations that have a new file under the same name: rewritten in place (a new
    relfilenode), or dropped and built again (an index of a column whose type changed)."""
    files = {name: (oid, node) for oid, (name, node) in before.items() if node}
    return tuple(sorted(name for oid, (name, node) in after.items()
                        if name in files and files[name] != (oid, node)))


def _row_counts(conn: psycopg.Connection) -> dict[str, tuple[int, ...]]:
    return {table: tuple(counts) for table, *counts in conn.execute(_ROW_COUNTS)}


def _row_changes(before: dict[str, tuple[int, ...]], after: dict[str, tuple[int, ...]]
                 ) -> dict[str, dict[str, int]]:
    changes = {}
    for table, counts in after.items():
        earlier = before.get(table, (0,) * len(ROW_COUNTERS))
        changed = {name: have - had
                   for name, have, had in zip(ROW_COUNTERS, counts, earlier, strict=True)
                   if have != had}
        if changed:
            changes[table] = changed
    return changes


def _timeouts(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute("SELECT current_setting('lock_timeout'), "
                       "current_setting('statement_timeout')").fetchone()
    assert row is not None
    return row[0], row[1]


def first_line(error: Exception) -> str:
    """The first line of an error's message (PostgreSQL's own), else its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def runs_alone(path: Path) -> bool:
    """Whether ``path`` is one statement that cannot run in a transaction block."""
    found = statements(path.read_text(encoding="utf-8"))
    return len(found) == 1 and outside_transaction(found[0]) is not None


def trace_file(url: str, path: Path, apply_alone: Callable[[], object] | None = None,
               application_name: str = TRACED_APPLICATION_NAME) -> list[StatementTrace]:
    """The trace of each statement of ``path`` on the database at ``url``, left unchanged;
    a file that :func:`runs_alone` is applied, by ``apply_alone`` where given, whose
    connection calls itself ``application_name`` (the watcher finds it by that name)."""
    text = path.read_text(encoding="utf-8")
    found = statements(text)
    if runs_alone(path):
        sql = text[found[0].start:found[0].end]
        return [_trace_alone(url, path, found[0], sql, apply_alone or _applier(url, sql),
                             application_name)]
    traced: list[tuple[Statement, float, float, set[Lock], tuple[str, ...], dict,
                       tuple[str, str]]] = []

    def traces(ended: float) -> list[StatementTrace]:
        return [StatementTrace(statement.line, statement.words, round(seconds, 4),
                               round(ended - started, 4), tuple(sorted(new, key=_lock_order)),
                               rewrites, rows, lock_timeout, statement_timeout,
                               in_transaction=True)
                for statement, started, seconds, new, rewrites, rows, (lock_timeout,
                                                                       statement_timeout)
                in traced]

    with admin.connect(url) as conn:  # psycopg opens the transaction at the first statement
        pids = [conn.info.backend_pid]
        conn.execute(_NO_PARALLEL_WORKERS)
        existing = _relations(conn)
        held, nodes, counts = _locks(conn, pids, existing), existing, _row_counts(conn)
        for statement in found:
            started = time.monotonic()
            try:
                conn.execute(text[statement.start:statement.end], prepare=False)
            except psycopg.Error as error:
                # What the statement held until it failed, as far as the rows it had taken
                # before it are concerned; its own locks are gone with the error.
                failed_at = time.monotonic()
                conn.rollback()
                traced.append((statement, started, failed_at - started, set(), (), {},
                               traced[-1][-1] if traced else ("", "")))
                raise TraceError(path, statement, first_line(error),
                                 traces(failed_at)) from None
            seconds = time.monotonic() - started
            now_held, now_nodes, now_counts = _locks(conn, pids, existing), _relations(conn), \
                _row_counts(conn)
            traced.append((statement, started, seconds, now_held - held,
                           _rewritten(nodes, now_nodes), _row_changes(counts, now_counts),
                           _timeouts(conn)))
            held, nodes, counts = now_held, now_nodes, now_counts
        ended = time.monotonic()
        conn.rollback()
    return traces(ended)


def _lock_order(lock: Lock) -> tuple[str, int]:
    """By relation, then weakest first (a mode of no table lock, SIReadLock, last)."""
    return lock.relation, MODES.index(lock.mode) if lock.mode in MODES else len(MODES)


def _applier(url: str, sql: str) -> Callable[[], object]:
    """Run ``sql`` on a connection of its own, named for the watcher."""
    def apply() -> None:
        with admin.connect(url, autocommit=True,
                           application_name=TRACED_APPLICATION_NAME) as conn:
            conn.execute(sql, prepare=False)
    return apply


def _trace_alone(url: str, path: Path, statement: Statement, sql: str,
                 apply: Callable[[], object], application_name: str) -> StatementTrace:
    """Apply a statement that cannot run in a transaction as PostgreSQL runs it, alone, and
    collect the locks its backend holds, seen from a second connection as it runs.

    A statement on an empty table ends within milliseconds, before any watcher could look.
    So a third connection first holds ROW EXCLUSIVE on every table, as a writing
    application would: the concurrent builds and drops wait for such transactions once they
    hold their own lock, the watcher sees it, and the gate opens. migrate's own table is
    left out of the gate and of the trace: its bookkeeping is not the migration's."""
    seen: set[Lock] = set()
    with admin.connect(url, autocommit=True) as watcher, admin.connect(url) as gate:
        bookkeeping = set(_bookkeeping(watcher, url))
        existing = {oid: relation for oid, relation in _relations(watcher).items()
                    if relation[0] not in bookkeeping}
        tables = [name for name, in watcher.execute(_TABLES) if name not in bookkeeping]
        if tables:
            gate.execute(f"LOCK TABLE {', '.join(tables)} IN ROW EXCLUSIVE MODE")
        timeouts = _timeouts(watcher)
        done = threading.Event()
        failure: list[Exception] = []

        def run() -> None:
            try:
                apply()
            except Exception as error:  # noqa: BLE001 - handed to the tracing thread
                failure.append(error)
            finally:
                done.set()

        started = time.monotonic()
        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        while not done.is_set():
            # Only while the backend runs the statement: not migrate's own bookkeeping.
            running = watcher.execute(_RUNNING, (application_name, sql)).fetchall()
            seen |= _locks(watcher, [pid for pid, _ in running], existing)
            if any(waiting for _, waiting in running) and not gate.closed:
                gate.close()
            done.wait(WATCH_INTERVAL)
        runner.join()
        seconds = time.monotonic() - started
        if failure:
            error = failure[0]
            raise TraceError(path, statement, first_line(error)) from error
        rewrites = _rewritten(existing, _relations(watcher))
    lock_timeout, statement_timeout = timeouts
    return StatementTrace(statement.line, statement.words, round(seconds, 4), round(seconds, 4),
                          tuple(sorted(seen, key=_lock_order)), rewrites, {}, lock_timeout,
                          statement_timeout, in_transaction=False)


def _bookkeeping(conn: psycopg.Connection, url: str) -> list[str]:
    """migrate's table for ``url`` and its indexes, as schema.name."""
    schema, table = migrations_table(url)
    return [name for name, in conn.execute(_BOOKKEEPING, (schema, table) * 2)]


def trace_migrations(url: str, migrate: Migrate) -> dict[str, list[StatementTrace]]:
    """File name -> trace, for every file of ``migrate``'s folder, on the empty database at
    ``url``: each up file at the version before it, each down file at its own version (after
    its up file ran through migrate). The database ends at the newest version. A file that
    runs alone is traced as migrate applies it, watched through its URL's application_name."""
    traces: dict[str, list[StatementTrace]] = {}
    watched = migrate.with_url(urls.with_parameter(migrate.database_url, "application_name",
                                                   TRACED_APPLICATION_NAME))
    for migration in read(migrate.migrations_dir):
        if migration.up is not None and runs_alone(migration.up):
            traces[migration.up.name] = trace_file(url, migration.up,
                                                   lambda: watched.up(1))
        else:
            if migration.up is not None:
                traces[migration.up.name] = trace_file(url, migration.up)
            migrate.up(1)
        if migration.down is not None:
            # A down file that runs alone is applied by its trace: migrate goes up again.
            alone = runs_alone(migration.down)
            traces[migration.down.name] = trace_file(
                url, migration.down, (lambda: watched.down(1)) if alone else None)
            if alone:
                migrate.up(1)
    return traces
