"""The audit trail's hash chain (issue 16, D19-D20) at archive scale: audit-insert throughput
with and without the chain, and the verification of the whole trail.

Writers: ``WRITERS`` threads, each with a connection of its own that logs in as the table
owner and becomes the application's role for the session (``SET ROLE ironarchive_app``, as
a pooled login granted that role is). Each transaction is the application's audit write:
``SELECT set_tenant($1)``, one ``INSERT INTO audit_logs``, ``COMMIT``; the user is one of
the tenant's own (D14), taken in turn, so no user's trail grows out of its shape. They run
``seconds`` at full speed (no think time, READ COMMITTED, the application's level), in two
shapes: spread, writer ``i`` on tenant ``i`` (the usual case: every writer on its own
chain), and all on one tenant (the worst case for a per-tenant chain: every COMMIT waits
for the chain's head). Each transaction's time and its COMMIT's time are kept (the seal
runs in COMMIT: a deferred constraint trigger), and every error is counted by SQLSTATE;
a deadlock (40P01) or serialization failure (40001) would be the chain's doing.

"Without the chain" is the same archive at the version before 000004, measured before
000004 is applied (the benchmark loads the archive there): it is the schema the
application writes to today, and the rows it writes become history that 000006 seals,
so the trail stays whole. (Disabling ``audit_logs_seal_trigger`` after 000004 would
leave rows that are in no chain, which verify_audit_chain() rightly reports; the
comparison would then need those rows removed with triggers off, i.e. tampering.) The
difference between the two is everything 000004 puts on an audit INSERT: the stamp
trigger (clock_timestamp(), noting the chain) and the seal at COMMIT.

Those two are measured minutes apart (the migrations run between them), and on a shared
machine the load moves meanwhile. So the chain is also measured against itself switched
off, in turn (:func:`interleaved`): where 000004 is applied but the history not yet
sealed, the writers run with ``audit_logs_seal_trigger`` enabled and disabled,
alternately, each shape in rounds whose order swaps; the rows written with it disabled
are in no chain until the history seal takes them, like every row older than it.
"""

import os
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from . import MeasurementError
from .isolation import APP_ROLE

WRITERS = 8
SHAPES = ("spread", "one tenant")
#: The issue's goal: with the chain at least this share of the rate without it.
GOAL = 0.5
#: SQLSTATEs the chain must never cause.
DEADLOCK, SERIALIZATION = "40P01", "40001"
INSERT = """
    INSERT INTO audit_logs (user_id, action, ip_address, details)
    VALUES (%(user_id)s, 'SEARCH', '10.0.0.7',
            jsonb_build_object('request', '/api/v1/search', 'bench', %(run)s::text))"""
#: Whether an audit INSERT is sealed: the seal trigger exists and is enabled.
SEALING = """
    SELECT coalesce((SELECT tgenabled <> 'D' FROM pg_trigger
                     WHERE tgname = 'audit_logs_seal_trigger'
                       AND tgrelid = 'audit_logs'::regclass), false)"""
SEAL_TRIGGER = """
    SELECT oid FROM pg_trigger
    WHERE tgname = 'audit_logs_seal_trigger' AND tgrelid = 'audit_logs'::regclass"""
#: Non-admin users of each tenant (D14: an audit row's user is of its tenant).
USERS = """
    SELECT tenant_id, array_agg(id ORDER BY id)
    FROM users WHERE tenant_id = ANY(%s) AND role <> 'MSP_ADMIN'
    GROUP BY tenant_id"""
#: The tenants the writers use: the first WRITERS in a fixed order, each with a user.
TENANTS = """
    SELECT t.id FROM tenants t
    WHERE EXISTS (SELECT FROM users u WHERE u.tenant_id = t.id AND u.role <> 'MSP_ADMIN')
    ORDER BY md5(t.id::text) LIMIT %s"""


def percentile(values, q: int) -> float:
    """The q-th percentile (1..99); the maximum when there are too few values for it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    if len(ordered) < 100 // (100 - q):
        return ordered[-1]
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]


@dataclass(frozen=True)
class Throughput:
    chain: bool
    shape: str
    version: int
    tenants: int
    writers: int
    seconds: float
    rows: int  # committed, counted by the writers and checked in the table
    commit_ms: tuple[float, ...]
    transaction_ms: tuple[float, ...]
    errors: dict[str, int]  # SQLSTATE -> count
    client_cpu_s: float  # CPU time of this Python process during the run
    seal_trigger: bool  # the trigger exists (disabled when ``chain`` is False)
    load: tuple[float, float]  # the machine's 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    def commit_p(self, q: int) -> float:
        return percentile(self.commit_ms, q)

    def transaction_p(self, q: int) -> float:
        return percentile(self.transaction_ms, q)

    @property
    def chain_errors(self) -> int:
        return self.errors.get(DEADLOCK, 0) + self.errors.get(SERIALIZATION, 0)


@dataclass(frozen=True)
class Verification:
    seconds: float
    problems: tuple[tuple, ...]  # verify_audit_chain()'s rows, the first few
    problem_count: int
    rows: int  # audit_logs
    seals: int  # audit_log_seals
    chains: int

    @property
    def intact(self) -> bool:
        return self.problem_count == 0 and self.rows == self.seals


def verify(conn: psycopg.Connection) -> Verification:
    """verify_audit_chain() over the whole trail, timed, with the rows and links counted
    (as the owner, whom row-level security does not restrict)."""
    conn.commit()
    start = time.perf_counter()
    problems = conn.execute("SELECT * FROM verify_audit_chain()").fetchall()
    seconds = time.perf_counter() - start
    rows, seals, chains = conn.execute(
        "SELECT (SELECT count(*) FROM audit_logs), (SELECT count(*) FROM audit_log_seals), "
        "(SELECT count(*) FROM audit_log_chain_heads)").fetchone() or (0, 0, 0)
    conn.rollback()
    return Verification(seconds, tuple(problems[:5]), len(problems), rows, seals, chains)


@dataclass
class _Writer:
    tenant: str
    users: list[str]
    commit_ms: list[float] = field(default_factory=list)
    transaction_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    rows: int = 0


def _write(conn: psycopg.Connection, writer: _Writer, run: str, start: threading.Barrier,
           stop: threading.Event) -> None:
    users = writer.users
    n = 0
    start.wait()
    while not stop.is_set():
        began = time.perf_counter()
        try:
            conn.execute("SELECT set_tenant(%s)", (writer.tenant,))
            conn.execute(INSERT, {"user_id": users[n % len(users)], "run": run})
            committing = time.perf_counter()
            conn.commit()
        except psycopg.Error as exc:
            writer.errors[exc.sqlstate or type(exc).__name__] += 1
            conn.rollback()
            continue
        ended = time.perf_counter()
        writer.commit_ms.append((ended - committing) * 1000)
        writer.transaction_ms.append((ended - began) * 1000)
        writer.rows += 1
        n += 1


def measure(url: str, connect, chain: bool, shape: str, seconds: float,
            writers: int = WRITERS) -> Throughput:
    """``writers`` concurrent audit writers for ``seconds`` in ``shape``."""
    with connect(url) as conn:
        version = int(conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])
        has_chain = conn.execute(SEALING).fetchone()[0]
        if has_chain != chain:
            raise MeasurementError(f"audit writers {'with' if chain else 'without'} the chain "
                                   f"asked for at version {version}, where audit rows are "
                                   f"{'' if has_chain else 'not '}sealed")
        seal_trigger = conn.execute(SEAL_TRIGGER).fetchone() is not None
        tenants = [row[0] for row in conn.execute(TENANTS, (writers,))]
        if shape == "one tenant":
            tenants = tenants[:1]
        users = dict(conn.execute(USERS, (tenants,)).fetchall())
    run = f"{'chain' if chain else 'no chain'}, {shape}, {time.time():.0f}"
    crew = [_Writer(str(tenants[i % len(tenants)]),
                    [str(u) for u in users[tenants[i % len(tenants)]]])
            for i in range(writers)]
    connections = [connect(url) for _ in crew]
    try:
        for conn in connections:
            conn.execute(f"SET ROLE {APP_ROLE}")
            conn.commit()
        start = threading.Barrier(writers + 1)
        stop = threading.Event()
        threads = [threading.Thread(target=_write, args=(conn, writer, run, start, stop),
                                    daemon=True, name=f"audit-writer-{i}")
                   for i, (conn, writer) in enumerate(zip(connections, crew, strict=True))]
        for thread in threads:
            thread.start()
        cpu = time.process_time()
        load_before = os.getloadavg()[0]
        start.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu
        load = (load_before, os.getloadavg()[0])
    finally:
        for conn in connections:
            conn.close()
    rows = sum(w.rows for w in crew)
    with connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM audit_logs WHERE details ->> 'bench' = %s",
                              (run,)).fetchone()[0]
    if stored != rows:
        raise MeasurementError(f"the audit writers committed {rows} rows but audit_logs holds "
                               f"{stored} of the run")
    errors: Counter = Counter()
    for writer in crew:
        errors.update(writer.errors)
    return Throughput(chain, shape, version, len(tenants), writers, elapsed, rows,
                      tuple(t for w in crew for t in w.commit_ms),
                      tuple(t for w in crew for t in w.transaction_ms),
                      dict(errors), cpu, seal_trigger, load)


def measure_shapes(url: str, connect, chain: bool, seconds: float, log) -> list[Throughput]:
    results = []
    for shape in SHAPES:
        result = measure(url, connect, chain, shape, seconds)
        log(f"  {'with' if chain else 'without'} the chain, {shape} ({result.tenants} "
            f"tenants): {result.rate:,.0f} rows/s, COMMIT p50 {result.commit_p(50):.2f} ms "
            f"p99 {result.commit_p(99):.2f} ms, errors {result.errors or 'none'}, load "
            f"{result.load[0]:.1f} -> {result.load[1]:.1f}")
        results.append(result)
    return results


def interleaved(url: str, connect, seconds: float, rounds: int, log) -> list[Throughput]:
    """With and without the chain in turn on one database, ``rounds`` times per shape, the
    order swapped each round, so a change of the machine's load hits both alike. Without
    = ``audit_logs_seal_trigger`` disabled (``ALTER TABLE ... DISABLE TRIGGER``): run
    where 000004 is applied and the history not yet sealed, so the history seal takes the
    rows written without it into the chain, as it takes every row in no chain."""
    results = []
    try:
        for number in range(rounds):
            for shape in SHAPES:
                for chain in (True, False) if number % 2 == 0 else (False, True):
                    with connect(url, autocommit=True) as conn:
                        conn.execute("ALTER TABLE audit_logs "
                                     f"{'ENABLE' if chain else 'DISABLE'} "
                                     "TRIGGER audit_logs_seal_trigger")
                    result = measure(url, connect, chain, shape, seconds)
                    log(f"  round {number + 1}, {shape}, "
                        f"{'with the chain' if chain else 'seal trigger off'}: "
                        f"{result.rate:,.0f} rows/s, COMMIT p50 {result.commit_p(50):.2f} ms, "
                        f"errors {result.errors or 'none'}")
                    results.append(result)
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_seal_trigger")
    return results


def paired(results: list[Throughput]) -> dict[str, list[float]]:
    """Per shape, with / without in each round of :func:`interleaved`."""
    out: dict[str, list[float]] = {}
    for shape in SHAPES:
        runs = [t for t in results if t.shape == shape]
        pairs = zip(runs[0::2], runs[1::2], strict=True)
        out[shape] = [(a.rate / b.rate) if a.chain else (b.rate / a.rate) for a, b in pairs]
    return out


def ratios(without: list[Throughput], with_chain: list[Throughput]) -> dict[str, float]:
    """With / without the chain, per shape."""
    base = {t.shape: t.rate for t in without}
    return {t.shape: t.rate / base[t.shape] for t in with_chain if t.shape in base}
