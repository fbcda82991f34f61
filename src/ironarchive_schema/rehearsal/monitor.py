"""What a second connection sees while a migration runs: the locks the migration's backend
holds, and the sessions waiting for a lock, for how long and behind whom.

One sample every ``interval`` seconds. A waiting session is read from its ungranted row of
``pg_locks``: the relation and mode it asks for and ``waitstart`` (PostgreSQL 14 and up), so
its wait is measured by the server, not by the sampling. ``pg_blocking_pids`` says who holds
it up: the migration itself, or a session queued behind the migration's request.
"""

import threading
import time
from dataclasses import dataclass, field

import psycopg

from ironarchive_schema.rehearsal.locks import SYSTEM_SCHEMAS

#: migrate's connection calls itself this (``application_name`` in its URL).
MIGRATE_APPLICATION_NAME = "rehearsal-migrate"

_MIGRATE_LOCKS = f"""
    SELECT n.nspname || '.' || c.relname, l.mode
    FROM pg_stat_activity AS a
    JOIN pg_locks AS l ON l.pid = a.pid
    JOIN pg_class AS c ON c.oid = l.relation
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE a.application_name = %s AND a.datname = current_database()
      AND l.locktype = 'relation' AND l.granted AND n.nspname NOT IN {SYSTEM_SCHEMAS}
"""
_WAITERS = """
    SELECT a.pid, a.application_name, l.relation::regclass::text, l.mode,
           extract(epoch FROM clock_timestamp() - l.waitstart)::float8,
           pg_blocking_pids(a.pid), left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120)
    FROM pg_stat_activity AS a
    JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted AND l.locktype = 'relation'
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""
_PIDS = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"


@dataclass(frozen=True)
class Waiter:
    pid: int
    application: str
    relation: str
    mode: str  # the mode it asks for
    waited_s: float  # since its wait started, as the server counts
    behind_migration: bool  # the migration's backend is among the sessions it waits for
    query: str


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic
    migration_locks: tuple[tuple[str, str], ...]  # (relation, mode) the migration holds
    waiters: tuple[Waiter, ...]


@dataclass
class Monitor:
    """Samples into :attr:`snapshots` from a thread of its own, between ``with`` and its end."""

    conn: psycopg.Connection
    interval: float = 0.02
    snapshots: list[Snapshot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="monitor")

    def __enter__(self) -> "Monitor":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.snapshots.append(self.sample())
            self._stop.wait(self.interval)

    def sample(self) -> Snapshot:
        conn = self.conn
        at = time.monotonic()
        locks = tuple(sorted(conn.execute(_MIGRATE_LOCKS, (MIGRATE_APPLICATION_NAME,))))
        migration = {pid for pid, in conn.execute(_PIDS, (MIGRATE_APPLICATION_NAME,))}
        waiters = tuple(
            Waiter(pid, application, relation, mode, waited or 0.0,
                   bool(migration & set(blockers)), query)
            for pid, application, relation, mode, waited, blockers, query
            in conn.execute(_WAITERS))
        return Snapshot(at, locks, waiters)
