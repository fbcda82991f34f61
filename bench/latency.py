"""Latency of the catalogue's queries as the application runs them, and their plans.

Each query runs once per sampled parameter row, on one connection, like a pooled
application connection: through psycopg's server-side prepared statements
(``prepare=True``) where the application prepares it, so PostgreSQL's plan cache makes
its usual custom-or-generic choice; unprepared (planned for its values) where it does
not. The time is the client's wall time of execute plus fetch (one round trip on
127.0.0.1 included); each execution is followed by a rollback (not timed, and keeping the
connection's prepared statements: ``plans.rollback_keeping_statements``), so writing
queries leave nothing behind and can run again. A first, untimed pass over the same
parameters warms the caches and lets the plan cache settle on its choice.
"""

import statistics
import time
from dataclasses import dataclass

import psycopg

from . import plans
from .queries import Query

#: Lines of EXPLAIN (ANALYZE, BUFFERS) kept in the report.
PLAN_LINES = 30
#: Queries measured this few times (the mailbox delete) warm up with one run, not all.
FEW = 10


@dataclass(frozen=True)
class Latency:
    query: Query
    timings_ms: tuple[float, ...]
    #: EXPLAIN (ANALYZE, BUFFERS) of the probe parameters, as the plan cache chose it.
    analyzed: str
    custom: str
    generic: str
    problems: tuple[str, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def max_ms(self) -> float:
        return max(self.timings_ms)

    @property
    def p95_ms(self) -> float:
        return p95(self.timings_ms)


def p95(values) -> float:
    """The 95th percentile; with under 20 values, the maximum."""
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def before_and_after(latencies: dict[str, list[Latency]]) -> list[tuple[Latency, Latency]]:
    """(before, after) of each query, in the catalogue's order."""
    before = {r.query.name: r for r in latencies["before"]}
    return [(before[after.query.name], after) for after in latencies["after"]]


def timed(conn: psycopg.Connection, query: Query, params: dict) -> float:
    """Milliseconds of one execution with its fetch, then the (untimed) rollback."""
    with conn.cursor() as cur:
        start = time.perf_counter()
        cur.execute(query.sql, params, prepare=query.prepared)
        if cur.description:
            cur.fetchall()
        elapsed = (time.perf_counter() - start) * 1000
    plans.rollback_keeping_statements(conn)
    return elapsed


def _run(conn: psycopg.Connection, query: Query, rows: list[dict]) -> list[float]:
    return [timed(conn, query, params) for params in rows]


def trimmed(lines: list[str], keep: int = PLAN_LINES) -> str:
    if len(lines) <= keep:
        return "\n".join(lines)
    return "\n".join(lines[:keep] + [f"... ({len(lines) - keep} more lines)"])


def measure(conn: psycopg.Connection, query: Query) -> Latency:
    samples = plans.fetch_params(conn, query.samples, query.runs)
    # A first pass brings what the queries touch into memory, as in a server that has
    # been running; without it, whichever index set is measured first pays for the cache.
    _run(conn, query, samples if len(samples) > FEW else samples[:1])
    timings = _run(conn, query, samples)
    probe = plans.fetch_params(conn, query.probe)[0]
    if query.prepared:
        analyzed = plans.explain(conn, query, probe, "auto", "ANALYZE, BUFFERS",
                                 warmup=() if query.writes else samples[:6])
    else:
        analyzed = plans.explain(conn, query, probe, "custom", "ANALYZE, BUFFERS")
    custom = plans.plan_json(conn, query, probe, "custom")
    generic = plans.plan_json(conn, query, probe, "generic")
    # A generic plan matters only where the application prepares the statement.
    checked = (custom, generic) if query.prepared else (custom,)
    issues = dict.fromkeys(issue for plan in checked for issue in plans.problems(query, plan))
    return Latency(query, tuple(timings), trimmed([row[0] for row in analyzed]),
                   plans.outline(custom), plans.outline(generic), tuple(issues))
