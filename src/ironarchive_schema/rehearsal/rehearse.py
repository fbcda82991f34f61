"""The rehearsal: every migration applied by the real migrate to a loaded archive while the
application's workload runs, measured, and judged against the budgets.

The project supplies the archive (:class:`Archive`: when its tables exist, how to fill them,
the workload's queries on the data); the rehearsal migrates a database from empty, one
migration at a time. Once the archive's tables exist it is loaded, once; from then on each
migration is, in turn:

1. traced on the archive, rolled back (:func:`.locks.trace_file`): what each statement
   locks and how many rows it reads and writes;
2. rehearsed: the workload runs ``window`` seconds, migrate applies the migration (its
   connection named so the monitor can tell it apart), the workload runs ``window`` seconds
   more; the monitor samples the migration's locks and the sessions waiting meanwhile;
3. judged (:mod:`.judge`).

A migration before the archive can be loaded (the one that creates its tables) is applied
and timed, with no workload: there is nothing yet for the application to query.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import psycopg

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.command import Migrate, MigrateError
from ironarchive_schema.migrate.migration_files import Migration, read
from ironarchive_schema.postgres import admin, urls
from ironarchive_schema.rehearsal.budgets import Budgets
from ironarchive_schema.rehearsal.judge import Breach, Measured, blame, judge
from ironarchive_schema.rehearsal.locks import StatementTrace, TraceError, runs_alone, trace_file
from ironarchive_schema.rehearsal.monitor import MIGRATE_APPLICATION_NAME, Monitor, Snapshot
from ironarchive_schema.rehearsal.workload import APPLICATION_NAME, Sample, Task, Workload

PHASES = ("before", "during", "after")
_TABLE_ROWS = """
    SELECT n.nspname || '.' || c.relname, greatest(c.reltuples, 0)::bigint
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'i') AND n.nspname NOT IN ('pg_catalog', 'information_schema',
                                                             'pg_toast')
"""


class Archive(Protocol):
    """What a project brings to the rehearsal."""

    def ready(self, conn: psycopg.Connection) -> bool:
        """Whether the tables the archive fills exist at the database's version."""

    def load(self, conn: psycopg.Connection) -> None:
        """Fill them (the columns of this version), commit and ANALYZE."""

    def tasks(self, conn: psycopg.Connection) -> list[Task]:
        """The workload's queries with parameter rows drawn from the data."""


@dataclass(frozen=True)
class Load:
    """How hard the workload pushes, and how long it runs around each migration."""

    connections: int = 4
    rate: float = 80.0  # queries a second, all connections together
    window_s: float = 3.0
    statement_timeout_ms: int = 30_000


@dataclass(frozen=True)
class PhaseStats:
    queries: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @classmethod
    def of(cls, samples: list[Sample]) -> "PhaseStats":
        latencies = sorted(s.latency_ms for s in samples) or [0.0]
        p99 = latencies[-1] if len(latencies) < 100 else \
            statistics.quantiles(latencies, n=100, method="inclusive")[98]
        return cls(len(samples), statistics.median(latencies), p99, latencies[-1],
                   sum(1 for s in samples if s.error))


@dataclass
class Rehearsal:
    """One migration's rehearsal: what it did, what the workload saw, and the breaches."""

    file: str
    seconds: float
    wal_bytes: int
    trace: list[StatementTrace] = field(default_factory=list)
    phases: dict[str, PhaseStats] = field(default_factory=dict)
    blocked_sessions: int = 0
    longest_wait: tuple[float, str, str] | None = None  # ms, relation, blamed statement
    breaches: list[Breach] = field(default_factory=list)
    loaded: bool = True  # False: run before the archive existed, no workload
    # For the timeline, all on time.monotonic()'s clock: when migrate started and ended.
    started: float = 0.0
    ended: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def failed(self) -> list[Breach]:
        return [b for b in self.breaches if not b.accepted]


def _wal(conn: psycopg.Connection) -> str:
    return admin.scalar(conn.execute("SELECT pg_current_wal_lsn()::text"))


def _wal_since(conn: psycopg.Connection, start: str) -> int:
    return int(admin.scalar(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)",
                                         (start,))))


def _apply(migrate: Migrate) -> str | None:
    """migrate up 1; its error, or None."""
    try:
        migrate.up(1)
        return None
    except MigrateError as error:
        return str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)


def _measured(rows: dict[str, int], snapshots: list[Snapshot], samples: list[Sample],
              interval: float, failure: str | None, failed: TraceError | None) -> Measured:
    exclusive: dict[str, list[float]] = {}
    for snapshot in snapshots:
        for relation, mode in snapshot.migration_locks:
            if mode == "AccessExclusiveLock":
                exclusive.setdefault(relation, []).append(snapshot.at)
    waits: dict[tuple[str, str], float] = {}
    for snapshot in snapshots:
        for waiter in snapshot.waiters:
            if waiter.application == APPLICATION_NAME:
                key = (_qualified(waiter.relation), waiter.mode)
                waits[key] = max(waits.get(key, 0.0), waiter.waited_s * 1000)
    return Measured(
        table_rows=rows,
        exclusive_ms={relation: (max(seen) - min(seen) + interval) * 1000
                      for relation, seen in exclusive.items()},
        longest_waits=waits,
        errors=tuple(s.error for s in samples if s.error),
        failure=failure,
        failed_statement=(failed.line, " ".join(failed.words[:6]), failed.reason)
        if failed else None)


def _qualified(relation: str) -> str:
    """``regclass::text`` leaves out a schema on the search path: name it as pg_locks does."""
    return relation if "." in relation else f"public.{relation}"


class Rehearser:
    """Rehearses the migrations of ``migrate``'s folder on the database at ``url``, from its
    version on (empty, or a copy of an archive a rehearser loaded)."""

    def __init__(self, url: str, migrate: Migrate, archive: Archive, budgets: Budgets,
                 load: Load = Load(), log: Callable[[str], None] = lambda _: None):
        self.url = url
        self.archive = archive
        self.budgets = budgets
        self.load = load
        self.log = log
        self.migrate = migrate
        self.watched = migrate.with_url(urls.with_parameter(
            migrate.database_url, "application_name", MIGRATE_APPLICATION_NAME))

    def run(self, measure: Callable[[Migration], bool] = lambda _: True,
            loaded: bool = False) -> list[Rehearsal]:
        """A rehearsal of each migration above the database's version that ``measure``
        selects; the others are applied. ``loaded``: the archive is in the database already
        (a copy of one this rehearser loaded), so it is not loaded again."""
        current = self.migrate.version()
        if current.dirty:
            raise ToolchainError(f"the rehearsal's database is dirty at version {current}")
        results = []
        for migration in read(self.migrate.migrations_dir):
            if migration.up is None or migration.version <= (current.number or 0):
                continue
            if not measure(migration):
                self.migrate.up(1)
                continue
            # Loaded just before the first migration measured: the migrations before it
            # run on the empty tables, as they did when the archive was young.
            with admin.connect(self.url, autocommit=True) as conn:
                if not loaded and self.archive.ready(conn):
                    self.log("loading the archive")
                    self.archive.load(conn)
                    loaded = True
            self.log(f"rehearsing {migration.up.name}")
            result = self.rehearse(migration.up.name, migration) if loaded else \
                self.unloaded(migration.up.name)
            results.append(result)
            if any(b.rule == "migrate" for b in result.breaches):
                break  # the database is dirty: nothing after it can run
        return results

    def load_at_newest(self) -> None:
        """Migrate the database to the newest version and load the archive there: a
        template for rehearsals of migrations added after it (``run(loaded=True)``)."""
        self.migrate.up()
        with admin.connect(self.url, autocommit=True) as conn:
            self.archive.load(conn)

    def unloaded(self, name: str) -> Rehearsal:
        with admin.connect(self.url, autocommit=True) as conn:
            wal = _wal(conn)
            started = time.monotonic()
            failure = _apply(self.watched)
            seconds = time.monotonic() - started
            result = Rehearsal(name, seconds, _wal_since(conn, wal), loaded=False)
        if failure:
            result.breaches.append(Breach(name, 0, "", "migrate", f"migrate failed: {failure}"))
        return result

    def rehearse(self, name: str, migration: Migration) -> Rehearsal:
        assert migration.up is not None
        path = migration.up
        # A file that runs alone cannot be rolled back: the trace is taken of migrate's run.
        alone = runs_alone(path)
        trace: list[StatementTrace] = []
        failed: TraceError | None = None  # the statement that failed in the trace
        if not alone:
            try:
                trace = trace_file(self.url, path)
            except TraceError as error:
                trace, failed = error.partial, error
        with admin.connect(self.url, autocommit=True) as conn, \
                admin.connect(self.url, autocommit=True) as watcher:
            rows: dict[str, int] = dict(conn.execute(_TABLE_ROWS).fetchall())
            tasks = self.archive.tasks(conn)
            monitor = Monitor(watcher)
            with Workload(lambda: admin.connect(self.url), tasks, self.load.connections,
                          self.load.rate, self.load.statement_timeout_ms) as workload:
                time.sleep(self.load.window_s)
                wal = _wal(conn)
                started = time.monotonic()
                with monitor:
                    if alone:
                        failure = None
                        try:
                            trace = trace_file(self.url, path, lambda: self.watched.up(1),
                                               MIGRATE_APPLICATION_NAME)
                        except TraceError as error:
                            failure, failed = error.reason, error
                    else:
                        failure = _apply(self.watched)
                ended = time.monotonic()
                wal_bytes = _wal_since(conn, wal)
                time.sleep(self.load.window_s)
            samples = list(workload.samples)
        result = Rehearsal(name, ended - started, wal_bytes, trace, started=started,
                           ended=ended, samples=samples,
                           snapshots=monitor.snapshots)
        result.phases = {
            phase: PhaseStats.of([s for s in samples if _phase(s.at, started, ended) == phase])
            for phase in PHASES}
        after = [s for s in samples if s.at >= started]
        measured = _measured(rows, monitor.snapshots, after, monitor.interval, failure,
                             failed if failure else None)
        result.blocked_sessions = len({w.pid for s in monitor.snapshots for w in s.waiters
                                       if w.application == APPLICATION_NAME})
        if measured.longest_waits:
            (relation, asked), waited = max(measured.longest_waits.items(),
                                            key=lambda item: item[1])
            culprit = blame(trace, relation, asked)
            result.longest_wait = (waited, relation, f"line {culprit.line}: "
                                   f"{' '.join(culprit.words[:6])}" if culprit else "")
        result.breaches = judge(name, trace, measured, self.budgets)
        return result


def _phase(at: float, started: float, ended: float) -> str:
    return "before" if at < started else "during" if at < ended else "after"
