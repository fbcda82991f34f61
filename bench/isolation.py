"""The cost of tenant isolation (issue 8): the mailbox listing with row-level security on
against off, on the same data in the same run.

"On" is the application as it must connect since migration 000003: role
``ironarchive_app``, tenant named per transaction with ``SELECT set_tenant($1)``, so every
row passes the ``tenant_isolation`` policy. "Off" is the table owner, whom the policy does
not restrict (ENABLE, not FORCE). Both sides start their transaction the same way before
the clock starts (the owner calls set_tenant() too, which changes nothing for it): the
role is the only difference, and neither side's timing includes psycopg's BEGIN. Each side
has a connection of its own (a cached plan belongs to the role that planned it), keeping
its prepared statement as a pooled connection does.

The untimed first pass fetches every sample's rows on both sides and stops the run unless
they are the same: 000003 ignores a context set any other way, and a policy that matches
nothing would make the "on" side fast and wrong. The timed pass alternates sample by sample
and takes turns going first: the second to read a mailbox finds its pages in the CPU's
caches, which made the side always going first look about 10 % slower.

Once with custom plans forced and once with the generic plan forced (``plan_cache_mode``):
the plan cache's own choice for a prepared statement is one of the two.
"""

import statistics
from dataclasses import dataclass

import psycopg

from . import MeasurementError, latency, plans
from .queries import BY_NAME

APP_ROLE = "ironarchive_app"
QUERY = BY_NAME["mailbox_listing"]
#: The mailboxes of the listing's samples, each with its tenant.
TENANT_OF_MAILBOX = "SELECT tenant_id FROM mailboxes WHERE id = %(mailbox_id)s"
#: The isolation goal of issue 8: the listing with RLS at most this many times slower,
#: at the median and the p95, in every plan mode.
GOAL = 1.2
#: The plan_cache_mode of each measurement (``plans.set_plan_cache_mode``).
MODES = ("custom", "generic")


@dataclass(frozen=True)
class Timings:
    on_ms: tuple[float, ...]
    off_ms: tuple[float, ...]
    #: Rows the samples returned, the same on both sides (checked).
    rows: int

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.on_ms) / statistics.median(self.off_ms)

    @property
    def p95_ratio(self) -> float:
        return latency.p95(self.on_ms) / latency.p95(self.off_ms)

    @property
    def within_goal(self) -> bool:
        return self.median_ratio <= GOAL and self.p95_ratio <= GOAL


@dataclass(frozen=True)
class Isolation:
    #: By plan mode, in the order of MODES.
    timings: dict[str, Timings]
    #: EXPLAIN (ANALYZE, BUFFERS) of the probe mailbox by plan mode: (on, off).
    plans: dict[str, tuple[str, str]]

    @property
    def within_goal(self) -> bool:
        return all(timings.within_goal for timings in self.timings.values())


def _begin(conn: psycopg.Connection, tenant, app: bool) -> None:
    if app:
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
    conn.execute("SELECT set_tenant(%s)", (tenant,))


def _time(conn: psycopg.Connection, params: dict, tenant, app: bool) -> float:
    _begin(conn, tenant, app)
    return latency.timed(conn, QUERY, params)


def _rows(conn: psycopg.Connection, params: dict, tenant, app: bool) -> list[tuple]:
    _begin(conn, tenant, app)
    with conn.cursor() as cur:
        rows = cur.execute(QUERY.sql, params, prepare=QUERY.prepared).fetchall()
    plans.rollback_keeping_statements(conn)
    return rows


def _same_rows(app: psycopg.Connection, owner: psycopg.Connection, params: dict,
               tenant) -> int:
    """The sample's row count, after checking the policy lets the application see them all."""
    on, off = _rows(app, params, tenant, True), _rows(owner, params, tenant, False)
    if on != off:
        raise MeasurementError(
            f"{QUERY.name} for mailbox {params['mailbox_id']} returned {len(on)} rows as "
            f"{APP_ROLE} after set_tenant('{tenant}') but {len(off)} as the owner: the "
            "tenant context did not take effect, so row-level security on and off would "
            "not be doing the same work")
    return len(off)


def _plan(conn: psycopg.Connection, params: dict, tenant, app: bool, mode: str) -> str:
    plans.set_plan_cache_mode(conn, mode)
    _begin(conn, tenant, app)
    names = plans.prepare(conn, QUERY)
    lines = plans.execute_prepared(conn, names, params, explain="ANALYZE, BUFFERS")
    conn.rollback()
    return "\n".join(row[0] for row in lines)


def _timings(url: str, connect, mode: str, samples: list[dict], tenants: list) -> Timings:
    """Both sides over the samples, on fresh connections: the checking pass, then the timed one."""
    with connect(url) as owner, connect(url) as app:
        for conn in (owner, app):
            plans.set_plan_cache_mode(conn, mode)
        rows = sum(_same_rows(app, owner, params, tenant)
                   for params, tenant in zip(samples, tenants, strict=True))
        on, off = [], []
        for turn, (params, tenant) in enumerate(zip(samples, tenants, strict=True)):
            if turn % 2:
                off.append(_time(owner, params, tenant, False))
                on.append(_time(app, params, tenant, True))
            else:
                on.append(_time(app, params, tenant, True))
                off.append(_time(owner, params, tenant, False))
    return Timings(tuple(on), tuple(off), rows)


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
        explained = {mode: (_plan(app, probe, tenants[-1], True, mode),
                            _plan(owner, probe, tenants[-1], False, mode)) for mode in MODES}
    return Isolation(timings, explained)
