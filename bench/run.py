"""``python -m bench``: the scale benchmark (issue 7), written to docs/benchmarks.md.

One run: start a throwaway PostgreSQL (``EmbeddedServer``), migrate it with the real
migrate to the archive's version (``--load-at``, 3: the version before the audit chain of
000004), generate and COPY the data set (measuring ingest with that schema and bare),
VACUUM ANALYZE; time audit inserts of 8 writers without the chain; apply each later
migration to the loaded archive, timed (000004's chain, 000005's index, 000006 sealing the
loaded audit history), the writers with the chain and with its seal trigger off in turn
just before 000006; VACUUM ANALYZE and verify the whole audit trail, timed; time
audit inserts with the chain and verify the trail again; time every catalogue query with
the migration's indexes ("after") and the listing with row-level security on and off,
switch to Story 1.2's index set ("before") and time them again, go back to the
migration's indexes and time the application's bulk INSERT against the owner's COPY; run
the retention job under the application's workload with a legal hold placed in the
middle, and verify once more; then write the report and plot.

The archive is loaded before 000004 as a real one was written: its audit rows keep the
times they were written at (000004 stamps every row inserted after it with the server's
clock) and become the history 000006 seals, as the rehearsal loads its archive just before
the first migration it measures.
"""

import argparse
import datetime
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ironarchive_schema import interrupts, settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import EmbeddedServer
from ironarchive_schema.rehearsal.rehearse import Load

from . import (
    MeasurementError,
    app_ingest,
    archive,
    audit_chain,
    data,
    facts,
    indexsets,
    ingest,
    isolation,
    latency,
    plot,
    report,
    retention,
)
from .queries import QUERIES

#: Set on the benchmark's server on top of the test settings (durability off):
#: memory a production server of this size would have, and no autovacuum racing the
#: measurements (VACUUM ANALYZE runs once, after the load, instead).
TUNING = {
    "shared_buffers": "2GB",
    "effective_cache_size": "12GB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "autovacuum": "off",
}
DATABASE = admin.PREFIX + "bench"
#: The audit writers run with the chain and with its seal trigger off, in turn, just before
#: this migration: the history seal (000006), which seals every row in no chain.
INTERLEAVE_BEFORE = 6


@dataclass(frozen=True)
class Migrated:
    """One migration applied to the loaded archive."""

    name: str
    seconds: float
    wal_bytes: int


@dataclass
class Run:
    """Everything one benchmark run measured; ``report`` renders it."""

    command: str
    scale: float
    seed: int
    sizes: data.Sizes
    started: datetime.datetime
    machine: dict[str, str]
    server: dict[str, str] | None = None
    ingested: list[ingest.Ingest] | None = None
    vacuum_s: float = 0.0
    tables: list | None = None
    indexes: list | None = None
    shape: list | None = None
    index_sets: dict[str, dict[str, str | None]] | None = None
    latencies: dict[str, list[latency.Latency]] | None = None
    isolation_cost: isolation.Isolation | None = None
    app_ingested: app_ingest.AppIngest | None = None
    load_at: int = data.LOAD_AT
    migrated: list[Migrated] | None = None
    vacuum_migrated_s: float = 0.0
    #: verify_audit_chain() over the whole trail: when, and what it found.
    verified: list[tuple[str, audit_chain.Verification]] | None = None
    audit_seconds: float = 0.0
    audit_without: list[audit_chain.Throughput] | None = None
    audit_with: list[audit_chain.Throughput] | None = None
    audit_interleaved: list[audit_chain.Throughput] | None = None
    audit_rounds: int = 2
    interleave_before: int = INTERLEAVE_BEFORE
    purge: retention.Retention | None = None
    retention_load: Load | None = None
    retention_batch: int = retention.BATCH
    wall_s: float = 0.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="data size; 1.0 = 2 million e-mails, 1 million attachments and "
                             "audit rows, 100,000 jobs, 10,000 mailboxes, 200 tenants")
    parser.add_argument("--seed", type=int, default=42, help="seed of the data generator")
    parser.add_argument("--doc", default=str(REPO_ROOT / "docs" / "benchmarks.md"),
                        help="report to write (its generated section is replaced)")
    parser.add_argument("--plot", default=str(REPO_ROOT / "docs" / "benchmarks.png"),
                        help="plot image to write")
    parser.add_argument("--load-at", type=int, default=data.LOAD_AT,
                        help="migration version the archive is loaded at; the later ones are "
                             f"applied to it and timed (default {data.LOAD_AT}: before the audit "
                             "chain, so the loaded audit rows are history that 000006 seals)")
    parser.add_argument("--audit-seconds", type=float, default=None,
                        help="seconds of each audit-writer run (4 runs: with and without "
                             "the chain, spread and one tenant; default 15, 3 below scale "
                             "0.5)")
    parser.add_argument("--audit-rounds", type=int, default=2,
                        help="rounds of the audit writers with the chain and with its seal "
                             "trigger off in turn, just before --interleave-before "
                             "(default %(default)s; 0: none)")
    parser.add_argument("--interleave-before", type=int, default=INTERLEAVE_BEFORE,
                        help="the history seal's version: the interleaved rounds run just "
                             f"before it (default {INTERLEAVE_BEFORE})")
    parser.add_argument("--retention-batch", type=int, default=retention.BATCH,
                        help="batch size of the retention job (default %(default)s)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tune(server: EmbeddedServer) -> None:
    with admin.connect(server.admin_url, autocommit=True) as conn:
        for name, value in TUNING.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server.cluster.stop()
    server.cluster.start()


def measure_queries(url: str) -> list[latency.Latency]:
    results = []
    with admin.connect(url) as conn:
        for query in QUERIES:
            result = latency.measure(conn, query)
            log(f"  {query.name}: median {result.median_ms:.2f} ms, p95 {result.p95_ms:.2f} ms"
                + (f"  [{', '.join(result.problems)}]" if result.problems else ""))
            results.append(result)
    return results


def migrate_loaded(url: str, migrate: Migrate, config: settings.Settings,
                   pause: dict | None = None) -> list[Migrated]:
    """Every migration above the database's version, one at a time, timed, with its WAL;
    ``pause[version]()`` runs before the migration of that version (untimed)."""
    current = migrate.version().number or 0
    done = []
    with admin.connect(url, autocommit=True) as conn:
        for migration in read(config.migrations_dir):
            if migration.up is None or migration.version <= current:
                continue
            if pause and migration.version in pause:
                pause[migration.version]()
            wal = admin.scalar(conn.execute("SELECT pg_current_wal_lsn()::text"))
            start = time.perf_counter()
            migrate.up(1)
            seconds = time.perf_counter() - start
            wal_bytes = int(admin.scalar(conn.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal,))))
            done.append(Migrated(migration.up.name, seconds, wal_bytes))
            log(f"  {migration.up.name}: {seconds:.1f} s, {wal_bytes / 2**20:,.0f} MiB of WAL")
    return done


def verify(run: Run, url: str, when: str) -> None:
    with admin.connect(url) as conn:
        result = audit_chain.verify(conn)
    assert run.verified is not None
    run.verified.append((when, result))
    log(f"  verify_audit_chain() {when}: {result.seconds:.1f} s, {result.problem_count} "
        f"problems, {result.rows:,} rows, {result.seals:,} links, {result.chains} chains"
        + ("" if result.intact else f"  [NOT INTACT: {result.problems}]"))


def benchmark(run: Run, admin_url: str, config: settings.Settings) -> None:
    url = admin.create_database(admin_url, DATABASE)
    migrate = Migrate(url, config.migrations_dir, config)
    log(f"migrating {DATABASE} with the real migrate ({config.migrations_dir}) to version "
        f"{run.load_at}, where the archive is loaded")
    migrate.goto(run.load_at)
    with admin.connect(url) as conn:
        run.server = facts.server(conn)
        log(f"loading scale {run.scale} with COPY")
        dataset = data.Dataset(run.sizes, data.encrypted_secrets(conn, run.sizes.tenants),
                               run.seed)
        run.ingested = ingest.ingest(conn, dataset, log)
        conn.autocommit = True
        start = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        run.vacuum_s = time.perf_counter() - start
    log(f"audit writers without the chain (version {run.load_at}), "
        f"{audit_chain.WRITERS} writers, {run.audit_seconds:g} s each")
    run.audit_without = audit_chain.measure_shapes(url, admin.connect, False,
                                                   run.audit_seconds, log)
    log("the later migrations on the loaded archive")

    def interleave() -> None:
        log(f"audit writers with the chain and with its seal trigger off, in turn, "
            f"{run.audit_rounds} rounds of {run.audit_seconds:g} s")
        run.audit_interleaved = audit_chain.interleaved(url, admin.connect, run.audit_seconds,
                                                        run.audit_rounds, log)
        for shape, each in audit_chain.paired(run.audit_interleaved).items():
            log(f"  {shape}: with / without the chain by round "
                + ", ".join(f"{r:.2f}x" for r in each))

    run.migrated = migrate_loaded(url, migrate, config,
                                  {run.interleave_before: interleave}
                                  if run.audit_rounds else None)
    run.verified = []
    with admin.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        run.vacuum_migrated_s = time.perf_counter() - start
    verify(run, url, "after the migrations")
    # Right after the migrations, as close in time to the runs without the chain as they
    # allow: the machine is shared, and its load moves the rates.
    log(f"audit writers with the chain, {audit_chain.WRITERS} writers, "
        f"{run.audit_seconds:g} s each")
    run.audit_with = audit_chain.measure_shapes(url, admin.connect, True, run.audit_seconds,
                                                log)
    for shape, ratio in audit_chain.ratios(run.audit_without, run.audit_with).items():
        log(f"  {shape}: with / without the chain {ratio:.2f}x")
    verify(run, url, "after the audit writers")
    with admin.connect(url) as conn:
        run.tables = facts.tables(conn)
        run.indexes = facts.indexes(conn)
        run.shape = facts.shape(conn)
        after = indexsets.definitions(conn)
    run.index_sets = {"before": indexsets.STORY, "after": after}
    run.latencies = {}
    log("queries with the migration's indexes (after)")
    run.latencies["after"] = measure_queries(url)
    log("the listing with row-level security on (application role) and off (owner)")
    run.isolation_cost = isolation.measure(url, admin.connect)
    for mode, cost in run.isolation_cost.timings.items():
        log(f"  {mode} plan: on/off median {cost.median_ratio:.2f}x, p95 {cost.p95_ratio:.2f}x")
    log("queries with Story 1.2's indexes (before)")
    with admin.connect(url) as conn:
        indexsets.apply(conn, indexsets.STORY)
    run.latencies["before"] = measure_queries(url)
    log("bulk ingest as the application against the owner's COPY, the migration's indexes "
        "again")
    with admin.connect(url) as conn:
        indexsets.apply(conn, after)
    run.app_ingested = bulk = app_ingest.measure(url, admin.connect, dataset)
    log(f"  owner COPY {bulk.copy_rate:,.0f} rows/s, application INSERT ... unnest "
        f"{bulk.insert_rate:,.0f} rows/s ({bulk.ratio:.2f}x); COPY as the application: "
        f"{bulk.copy_refusal}")
    run.retention_load = load = Load(window_s=10.0 if run.scale >= 0.5 else 3.0)
    log(f"retention under the application's workload ({load.connections} connections, "
        f"{load.rate:g} queries/s)")
    with admin.connect(url) as conn:
        tasks = archive.Archive(run.scale, run.seed).tasks(conn)
    run.purge = kept = retention.measure(url, admin.connect, tasks, load, log,
                                             run.retention_batch)
    log(f"  {kept.emails:,} e-mails and {kept.attachments:,} attachments in "
        f"{kept.seconds:.1f} s ({kept.emails / kept.seconds:,.0f} e-mails/s); longest batch "
        f"{kept.longest.seconds * 1000:,.0f} ms; hold stopped the job: "
        f"{kept.hold.stopped if kept.hold else 'no hold placed'}")
    verify(run, url, "after retention")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    interrupts.install(announce=True)  # Ctrl-C stops and removes its server
    plot.check_available()
    run = Run(command=shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None
                                                            else argv)]),
              scale=args.scale, seed=args.seed, sizes=data.Sizes.at(args.scale),
              started=datetime.datetime.now(datetime.UTC), machine=facts.machine(),
              load_at=args.load_at,
              audit_seconds=args.audit_seconds if args.audit_seconds is not None else
              (15.0 if args.scale >= 0.5 else 3.0),
              retention_batch=args.retention_batch, audit_rounds=args.audit_rounds,
              interleave_before=args.interleave_before)
    start = time.monotonic()
    log("starting PostgreSQL")
    # Like the suite, the benchmark reads no .env: its server and database are its own.
    config = settings.resolve(env_file=Path(os.devnull))
    server = EmbeddedServer(config)
    try:
        tune(server)
        benchmark(run, server.admin_url, config)
    except (psycopg.Error, ToolchainError, MeasurementError) as exc:
        log(f"error: {exc}")
        return 1
    finally:
        server.stop()
    run.wall_s = time.monotonic() - start
    run.machine["load average at the end (1, 5, 15 min)"] = facts.load()
    plot.write(run, args.plot)
    report.write(run, args.doc, args.plot)
    log(f"done in {run.wall_s:.0f} s: {args.doc}, {args.plot}")
    return 0
