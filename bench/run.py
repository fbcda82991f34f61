"""``python -m bench``: the scale benchmark (issue 7), written to docs/benchmarks.md.

One run: start a throwaway PostgreSQL (``EmbeddedServer``), migrate it with the real
migrate, generate and COPY the data set (measuring ingest with the full schema and bare),
VACUUM ANALYZE, time every catalogue query with the migration's indexes ("after") and the
listing with row-level security on and off, switch to Story 1.2's index set ("before") and
time them again, go back to the migration's indexes and time the application's bulk INSERT
against the owner's COPY; then write the report and plot.
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
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import EmbeddedServer

from . import (
    MeasurementError,
    app_ingest,
    data,
    facts,
    indexsets,
    ingest,
    isolation,
    latency,
    plot,
    report,
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


def benchmark(run: Run, admin_url: str, config: settings.Settings) -> None:
    url = admin.create_database(admin_url, DATABASE)
    log(f"migrating {DATABASE} with the real migrate ({config.migrations_dir})")
    Migrate(url, config.migrations_dir, config).up()
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
        conn.autocommit = False
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    interrupts.install(announce=True)  # Ctrl-C stops and removes its server
    plot.check_available()
    run = Run(command=shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None
                                                            else argv)]),
              scale=args.scale, seed=args.seed, sizes=data.Sizes.at(args.scale),
              started=datetime.datetime.now(datetime.UTC), machine=facts.machine())
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
