"""Retention at archive scale (issue 16, D21): the RETENTION_CLEANUP job's loop over
``purge_expired_emails()`` while the application's queries run, and a legal hold placed in
the middle of it.

The job: for each tenant with expired mail (tenant order by id, as a job walks its list),
as the application's role in that tenant's context, one transaction per call: ``SELECT
set_tenant($1)``, ``SELECT * FROM purge_expired_emails($1, batch)`` with every row read
(the files to remove from storage), ``COMMIT``; again until a call returns no row. A held
tenant is called too, as the job does not know: the function records RETENTION_PURGE_HELD
and returns nothing. Each batch's time runs from its first statement to the end of its
COMMIT: every lock it takes (the tenant row FOR SHARE, the e-mails FOR UPDATE, the rows it
deletes, its chain's head at COMMIT) is held at most that long.

Meanwhile the rehearsal's workload (:class:`~ironarchive_schema.rehearsal.workload.Workload`
with the archive's tasks, :mod:`bench.archive`: listing, sender search, job claim, audit
insert, e-mail ingest, each rolled back) runs at its fixed rate for a window before the
purge, during it and a window after; its latencies are split into those three phases as
the rehearsal splits them around a migration. A monitor (the rehearsal's, sampling every
20 ms) records every session waiting for a lock of any kind (a row lock is a wait for a
transaction id, not a relation) and how long the server says it has waited.

The hold: once the job starts the ``HOLD_AT``-th batch of the tenant not on hold with the
fewest expired e-mails that still needs two batches more than that, another session, as the
application in the MSP context, sets that tenant's ``legal_hold`` (D18). Its UPDATE waits
for the batch in flight (FOR SHARE of the tenant row); the job's next call must then find
the hold and stop that tenant: no batch committed after the hold (the tenant's audit
chain orders the commits: each audit row is sealed at its COMMIT) removes an e-mail of it.
"""

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from ironarchive_schema.rehearsal.monitor import Monitor, Snapshot, Waiter
from ironarchive_schema.rehearsal.rehearse import PHASES, Load, PhaseStats, _phase
from ironarchive_schema.rehearsal.workload import APPLICATION_NAME, Workload

from . import MeasurementError
from .isolation import APP_ROLE

BATCH = 1000
#: The batch of the held tenant during which the hold is placed.
HOLD_AT = 3
#: The job's and the hold's connections call themselves this.
PURGER, HOLDER = "bench-retention", "bench-hold"

#: E-mails past their tenant's retention, per tenant, with its hold (owner: every tenant).
CANDIDATES = """
    SELECT t.id, t.legal_hold, t.retention_policy_days,
           (SELECT count(*) FROM emails e
            WHERE e.tenant_id = t.id
              AND e.sent_at < now() - make_interval(days => t.retention_policy_days))
    FROM tenants t ORDER BY t.id"""
_HELD = """
    SELECT coalesce(l.relation::regclass::text, l.locktype), l.mode
    FROM pg_stat_activity AS a JOIN pg_locks AS l ON l.pid = a.pid
    WHERE a.application_name = %s AND a.datname = current_database() AND l.granted
      AND l.locktype = 'relation'"""
#: Every ungranted lock, of any kind: a row lock is waited for as a transaction id.
_WAITERS = """
    SELECT a.pid, a.application_name,
           CASE WHEN l.locktype = 'relation' THEN l.relation::regclass::text
                ELSE l.locktype || coalesce(' of ' || l.relation::regclass::text, '') END,
           l.mode, extract(epoch FROM clock_timestamp() - l.waitstart)::float8,
           pg_blocking_pids(a.pid), left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120)
    FROM pg_stat_activity AS a JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"""
_PIDS = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"


class LockMonitor(Monitor):
    """The rehearsal's monitor with the purge in the migration's place, and waits for
    locks of every kind, not only relations."""

    def sample(self) -> Snapshot:
        conn = self.conn
        at = time.monotonic()
        held = tuple(sorted(conn.execute(_HELD, (PURGER,))))
        purger = {pid for pid, in conn.execute(_PIDS, (PURGER,))}
        waiters = tuple(
            Waiter(pid, application, lock, mode, waited or 0.0, bool(purger & set(blockers)),
                   query)
            for pid, application, lock, mode, waited, blockers, query
            in conn.execute(_WAITERS))
        return Snapshot(at, held, waiters)


@dataclass(frozen=True)
class Batch:
    tenant: str
    at: float  # time.monotonic() at its first statement
    seconds: float  # first statement to the end of COMMIT
    emails: int
    attachments: int


@dataclass(frozen=True)
class Wait:
    ms: float
    application: str
    lock: str
    mode: str
    behind_purge: bool
    query: str


@dataclass
class Hold:
    tenant: str
    candidates: int  # its expired e-mails before the job
    requested: float = 0.0  # time.monotonic() when the UPDATE was sent
    committed: float = 0.0
    # By the order of commits in the tenant's audit chain:
    emails_before: int = 0  # of its e-mails purged by batches committed before the hold
    emails_after: int = 0  # by batches committed after it: must be 0
    calls_after: int = 0  # calls for it committed after the hold
    held_rows: int = 0  # its RETENTION_PURGE_HELD audit rows after the hold
    left: int = 0  # its expired e-mails left after the job

    @property
    def update_ms(self) -> float:
        return (self.committed - self.requested) * 1000

    @property
    def stopped(self) -> bool:
        return self.emails_after == 0 and self.calls_after >= 1 and self.held_rows >= 1 \
            and self.left > 0


@dataclass
class Retention:
    batch_size: int
    tenants: int  # called by the job
    held_tenants: int  # of those, on legal hold from the start
    candidates: int  # expired e-mails of the tenants not held, before the job
    started: float = 0.0
    ended: float = 0.0
    batches: list[Batch] = field(default_factory=list)
    hold: Hold | None = None
    phases: dict[str, PhaseStats] = field(default_factory=dict)
    by_task: dict[str, dict[str, PhaseStats]] = field(default_factory=dict)
    waits: list[Wait] = field(default_factory=list)  # longest per session, longest first
    left: int = 0  # expired e-mails of the tenants not held, after the job
    purge_rows: int = 0  # RETENTION_PURGE audit rows written

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def emails(self) -> int:
        return sum(b.emails for b in self.batches)

    @property
    def attachments(self) -> int:
        return sum(b.attachments for b in self.batches)

    @property
    def working(self) -> list[Batch]:
        return [b for b in self.batches if b.emails]

    @property
    def longest(self) -> Batch:
        return max(self.batches, key=lambda b: b.seconds)

    @property
    def median_batch_ms(self) -> float:
        return statistics.median(b.seconds for b in self.working) * 1000

    @property
    def workload_errors(self) -> dict[str, int]:
        return {phase: stats.errors for phase, stats in self.phases.items()}


def _connect(url: str, connect, name: str) -> psycopg.Connection:
    conn = connect(url)
    conn.execute("SELECT set_config('application_name', %s, false)", (name,))
    conn.execute(f"SET ROLE {APP_ROLE}")
    conn.commit()
    return conn


def _purge(conn: psycopg.Connection, tenant: str, batch_size: int) -> Batch:
    at = time.monotonic()
    conn.execute("SELECT set_tenant(%s)", (tenant,))
    kinds = Counter(kind for kind, _id, _path in conn.execute(
        "SELECT kind, id, file_path FROM purge_expired_emails(%s, %s)", (tenant, batch_size)))
    conn.commit()
    return Batch(tenant, at, time.monotonic() - at, kinds["email"], kinds["attachment"])


def _place_hold(url: str, connect, hold: Hold, go: threading.Event, delay: list[float],
                failed: list[BaseException]) -> None:
    try:
        go.wait()
        time.sleep(delay[0])
        with _connect(url, connect, HOLDER) as conn:
            hold.requested = time.monotonic()
            conn.execute("SELECT set_msp_wide()")
            conn.execute("UPDATE tenants SET legal_hold = true WHERE id = %s", (hold.tenant,))
            conn.commit()
            hold.committed = time.monotonic()
    except BaseException as exc:  # reported by the job's thread
        failed.append(exc)
        go.set()


def _job(url: str, connect, result: Retention, tenants: list[str], batch_size: int,
         log) -> None:
    hold = result.hold
    go = threading.Event()
    delay = [0.0]
    failed: list[BaseException] = []
    holder = threading.Thread(target=_place_hold, args=(url, connect, hold, go, delay, failed),
                              daemon=True, name="hold") if hold else None
    if holder:
        holder.start()
    with _connect(url, connect, PURGER) as conn:
        result.started = time.monotonic()
        for tenant in tenants:
            done = 0
            while True:
                if hold and tenant == hold.tenant and done == HOLD_AT - 1 and not go.is_set():
                    # Mid-batch: half the typical batch after it starts.
                    working = [b.seconds for b in result.batches if b.emails]
                    delay[0] = statistics.median(working) / 2 if working else 0.0
                    go.set()
                batch = _purge(conn, tenant, batch_size)
                result.batches.append(batch)
                done += 1
                if not batch.emails and not batch.attachments:
                    break
            purged = sum(b.emails for b in result.batches if b.tenant == tenant)
            log(f"  tenant {tenant}: {purged:,} e-mails in {done - 1} batches")
        result.ended = time.monotonic()
    if holder:
        go.set()
        holder.join()
        if failed:
            raise MeasurementError(f"placing the legal hold failed: {failed[0]}")


def measure(url: str, connect, tasks, load: Load, log, batch_size: int = BATCH) -> Retention:
    with connect(url) as conn:
        rows = conn.execute(CANDIDATES).fetchall()
    due = [(str(t), held, days, n) for t, held, days, n in rows if n]
    if not any(not held for _t, held, _d, _n in due):
        raise MeasurementError("no tenant that is not on legal hold has expired mail")
    result = Retention(batch_size, len(due), sum(1 for d in due if d[1]),
                       sum(n for _t, held, _d, n in due if not held))
    # The hold's tenant: the one not held with the fewest expired e-mails that still needs
    # two batches more than HOLD_AT, so the hold lands mid-tenant and costs the job little.
    enough = [d for d in due if not d[1] and d[3] > batch_size * (HOLD_AT + 1)]
    target = min(enough, key=lambda d: (d[3], d[0])) if enough else None
    if target:
        result.hold = Hold(target[0], target[3])
    log(f"  {len(due)} tenants with expired mail ({result.held_tenants} on legal hold), "
        f"{result.candidates:,} expired e-mails of the others; batches of {batch_size:,}"
        + (f"; hold on {target[0]} in its batch {HOLD_AT}" if target else ""))
    with connect(url, autocommit=True) as watcher:
        monitor = LockMonitor(watcher)
        with Workload(lambda: connect(url), tasks, load.connections, load.rate,
                      load.statement_timeout_ms) as workload:
            time.sleep(load.window_s)
            with monitor:
                _job(url, connect, result, [d[0] for d in due], batch_size, log)
            time.sleep(load.window_s)
        samples = list(workload.samples)
    result.phases = {phase: PhaseStats.of(
        [s for s in samples if _phase(s.at, result.started, result.ended) == phase])
        for phase in PHASES}
    for task in dict.fromkeys(s.task for s in samples):
        result.by_task[task] = {phase: PhaseStats.of(
            [s for s in samples if s.task == task
             and _phase(s.at, result.started, result.ended) == phase]) for phase in PHASES}
    result.waits = _longest_waits(monitor.snapshots)
    with connect(url) as conn:
        after = {str(t): n for t, _held, _d, n in conn.execute(CANDIDATES).fetchall()}
        result.left = sum(after[t] for t, held, _d, _n in due if not held)
        result.purge_rows = conn.execute(
            "SELECT count(*) FROM audit_logs WHERE action = 'RETENTION_PURGE'").fetchone()[0]
        if result.hold:
            _check_hold(conn, result)
    return result


def _check_hold(conn: psycopg.Connection, result: Retention) -> None:
    hold = result.hold
    assert hold is not None
    if not hold.committed:
        raise MeasurementError("the legal hold was never placed")
    # The order of commits, from the server: the tenant's chain seals each audit row at
    # its transaction's COMMIT, under the chain head's lock, so seq orders the hold's
    # LEGAL_HOLD_PLACED among the job's RETENTION_PURGE and RETENTION_PURGE_HELD rows
    # (clocks of two client threads would not, on a busy machine).
    rows = conn.execute(
        "SELECT a.action, s.seq, coalesce((a.details ->> 'emails')::int, 0) "
        "FROM audit_logs AS a JOIN audit_log_seals AS s ON s.audit_log_id = a.id "
        "WHERE a.tenant_id = %s AND a.action IN ('LEGAL_HOLD_PLACED', 'RETENTION_PURGE', "
        "'RETENTION_PURGE_HELD') ORDER BY s.seq", (hold.tenant,)).fetchall()
    placed = max((seq for action, seq, _n in rows if action == "LEGAL_HOLD_PLACED"),
                 default=None)
    if placed is None:
        raise MeasurementError(f"no LEGAL_HOLD_PLACED row of tenant {hold.tenant}")
    hold.emails_before = sum(n for action, seq, n in rows
                             if action == "RETENTION_PURGE" and seq < placed)
    hold.emails_after = sum(n for action, seq, n in rows
                            if action == "RETENTION_PURGE" and seq > placed)
    hold.calls_after = sum(1 for action, seq, _n in rows
                           if action != "LEGAL_HOLD_PLACED" and seq > placed)
    hold.held_rows = sum(1 for action, seq, _n in rows
                         if action == "RETENTION_PURGE_HELD" and seq > placed)
    hold.left = conn.execute(
        "SELECT count(*) FROM emails e JOIN tenants t ON t.id = e.tenant_id WHERE t.id = %s "
        "AND e.sent_at < now() - make_interval(days => t.retention_policy_days)",
        (hold.tenant,)).fetchone()[0]
    conn.rollback()


def _longest_waits(snapshots: list[Snapshot]) -> list[Wait]:
    """Each waiting session's longest wait (pid, lock), longest first."""
    longest: dict[tuple[int, str], Wait] = {}
    for snapshot in snapshots:
        for w in snapshot.waiters:
            wait = Wait(w.waited_s * 1000, w.application, w.relation, w.mode,
                        w.behind_migration, w.query)
            key = (w.pid, w.relation)
            if key not in longest or wait.ms > longest[key].ms:
                longest[key] = wait
    return sorted(longest.values(), key=lambda w: -w.ms)


def workload_waits(result: Retention) -> list[Wait]:
    return [w for w in result.waits if w.application == APPLICATION_NAME]
