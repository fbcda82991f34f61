"""The cost of tenant isolation (issue 8): the mailbox listing with row-level security on
against off, on the same data in the same run.

"On" is the application as it must connect: role ``ironarchive_app``, tenant named per
transaction (``SET LOCAL app.tenant_id``), so every row passes the ``tenant_isolation``
policy. "Off" is the table owner, whom the policy does not restrict (ENABLE, not FORCE).
Each side has a connection of its own (a cached plan belongs to the role that planned it),
keeping its prepared statement as a pooled connection does. The two alternate sample by
sample and take turns going first: the second to read a mailbox finds its pages in the
CPU's caches, which made the side always going first look about 10 % slower. Only the
query is timed: naming the tenant happens before the clock starts, once per transaction
as the application does it.

Twice: with the plan cache's own choice (``auto``, what the application gets) and with the
generic plan forced. Most of the policy's cost is planning its quals, which a custom plan
pays on every execution and the generic plan once.
"""

import statistics
from dataclasses import dataclass

import psycopg

from . import latency, plans
from .queries import BY_NAME

APP_ROLE = "ironarchive_app"
QUERY = BY_NAME["mailbox_listing"]
#: The mailboxes of the listing's samples, each with its tenant.
TENANT_OF_MAILBOX = "SELECT tenant_id FROM mailboxes WHERE id = %(mailbox_id)s"
#: The isolation goal of issue 8: the listing with RLS at most this many times slower.
GOAL = 1.2
#: The plan_cache_mode of each measurement (``plans.set_plan_cache_mode``).
MODES = ("auto", "generic")


@dataclass(frozen=True)
class Timings:
    on_ms: tuple[float, ...]
    off_ms: tuple[float, ...]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.on_ms) / statistics.median(self.off_ms)

    @property
    def p95_ratio(self) -> float:
        return latency.p95(self.on_ms) / latency.p95(self.off_ms)


@dataclass(frozen=True)
class Isolation:
    #: By plan mode, in the order of MODES.
    timings: dict[str, Timings]
    plan_on: str
    plan_off: str


def _begin(conn: psycopg.Connection, tenant) -> None:
    if tenant is not None:
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def _time(conn: psycopg.Connection, params: dict, tenant) -> float:
    _begin(conn, tenant)
    return latency.timed(conn, QUERY, params)


def _plan(conn: psycopg.Connection, params: dict, tenant) -> str:
    _begin(conn, tenant)
    lines = [row[0] for row in conn.execute(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + QUERY.sql, params)]
    conn.rollback()
    return "\n".join(lines)


def _timings(url: str, connect, mode: str, samples: list[dict], tenants: list) -> Timings:
    """Both sides over the samples, on fresh connections: a warm-up pass, then the timed one."""
    with connect(url) as owner, connect(url) as app:
        for conn in (owner, app):
            plans.set_plan_cache_mode(conn, mode)
        on, off = [], []
        for timed in (False, True):
            for turn, (params, tenant) in enumerate(zip(samples, tenants)):
                if turn % 2:
                    off_ms, on_ms = _time(owner, params, None), _time(app, params, tenant)
                else:
                    on_ms, off_ms = _time(app, params, tenant), _time(owner, params, None)
                if timed:
                    on.append(on_ms)
                    off.append(off_ms)
    return Timings(tuple(on), tuple(off))


def measure(url: str, connect) -> Isolation:
    """The listing's sampled mailboxes timed in every plan mode, and the probe's plans."""
    with connect(url) as owner:
        samples = plans.fetch_params(owner, QUERY.samples, QUERY.runs)
        probe = plans.fetch_params(owner, QUERY.probe)[0]
        tenants = [owner.execute(TENANT_OF_MAILBOX, params).fetchone()[0]
                   for params in [*samples, probe]]
        owner.rollback()
    timings = {mode: _timings(url, connect, mode, samples, tenants[:-1]) for mode in MODES}
    with connect(url) as owner, connect(url) as app:
        return Isolation(timings, _plan(app, probe, tenants[-1]), _plan(owner, probe, None))
