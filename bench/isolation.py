"""The cost of tenant isolation (issue 8): the mailbox listing with row-level security on
against off, on the same data in the same run.

"On" is the application as it must connect: role ``ironarchive_app``, tenant named per
transaction (``SET LOCAL app.tenant_id``), so every row passes the ``tenant_isolation``
policy. "Off" is the table owner, whom the policy does not restrict (ENABLE, not FORCE).
Each side has a connection of its own (a cached plan belongs to the role that planned it);
the two alternate sample by sample, so a drift of the machine's load hits both alike. Only
the query is timed: naming the tenant happens before the clock starts, once per transaction
as the application does it.
"""

import statistics
import time
from dataclasses import dataclass

import psycopg

from . import plans
from .queries import QUERIES

APP_ROLE = "ironarchive_app"
QUERY = next(q for q in QUERIES if q.name == "mailbox_listing")
#: The mailboxes of the listing's samples, each with its tenant.
TENANT_OF_MAILBOX = "SELECT tenant_id FROM mailboxes WHERE id = %(mailbox_id)s"
#: The isolation goal of issue 8: the listing with RLS at most this many times slower.
GOAL = 1.2


@dataclass(frozen=True)
class Isolation:
    on_ms: tuple[float, ...]
    off_ms: tuple[float, ...]
    plan_on: str
    plan_off: str

    @staticmethod
    def _p95(values) -> float:
        return statistics.quantiles(values, n=20, method="inclusive")[18]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.on_ms) / statistics.median(self.off_ms)

    @property
    def p95_ratio(self) -> float:
        return self._p95(self.on_ms) / self._p95(self.off_ms)


def _begin(conn: psycopg.Connection, tenant) -> None:
    if tenant is not None:
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def _time(conn: psycopg.Connection, params: dict, tenant) -> float:
    _begin(conn, tenant)
    with conn.cursor() as cur:
        start = time.perf_counter()
        cur.execute(QUERY.sql, params, prepare=QUERY.prepared)
        cur.fetchall()
        elapsed = (time.perf_counter() - start) * 1000
    conn.rollback()
    return elapsed


def _plan(conn: psycopg.Connection, params: dict, tenant) -> str:
    _begin(conn, tenant)
    lines = [row[0] for row in conn.execute(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + QUERY.sql, params)]
    conn.rollback()
    return "\n".join(lines)


def measure(url: str, connect) -> Isolation:
    """Both sides over the listing's sampled mailboxes: a warm-up pass, then the timed one."""
    with connect(url) as owner, connect(url) as app:
        samples = plans.fetch_params(owner, QUERY.samples, QUERY.runs)
        tenants = [owner.execute(TENANT_OF_MAILBOX, params).fetchone()[0] for params in samples]
        owner.rollback()
        on, off = [], []
        for timed in (False, True):
            for params, tenant in zip(samples, tenants):
                results = (_time(app, params, tenant), _time(owner, params, None))
                if timed:
                    on.append(results[0])
                    off.append(results[1])
        probe = plans.fetch_params(owner, QUERY.probe)[0]
        tenant = owner.execute(TENANT_OF_MAILBOX, probe).fetchone()[0]
        owner.rollback()
        return Isolation(tuple(on), tuple(off), _plan(app, probe, tenant),
                         _plan(owner, probe, None))
