"""The compliance trail (issue 16): the audit rows the schema writes itself, the seals of the
hash chain, what verify_audit_chain() finds, and the MSP's hold placed from a session of its
own."""

import psycopg
from psycopg.rows import dict_row

from ironarchive_schema.postgres import admin

#: A SQLSTATE of IronArchive's own class IA: a change of hold or retention outside the MSP.
NOT_MSP = "IA002"
#: The chain of the MSP-level rows (audit_logs.tenant_id NULL).
MSP_CHAIN = "00000000-0000-0000-0000-000000000000"


def seal_now(db: psycopg.Connection) -> None:
    """Seal at each statement, as COMMIT would: a test's transaction never commits."""
    db.execute("SET CONSTRAINTS audit_logs_seal_trigger IMMEDIATE")


def breaks(db: psycopg.Connection, anchors: str | None = None) -> list[tuple]:
    """What verify_audit_chain() finds, as (chain, seq, row, problem)."""
    return [tuple(found) for found in db.execute(
        "SELECT chain_id::text, seq, audit_log_id, problem FROM verify_audit_chain(%s)",
        (anchors,)).fetchall()]


def written_by_schema(db: psycopg.Connection, tenant, *actions: str) -> list[dict]:
    """The tenant's audit rows of ``actions``, oldest first."""
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            'SELECT * FROM audit_logs WHERE tenant_id = %s AND action = ANY(%s) '
            'ORDER BY "timestamp", id', (tenant, list(actions))).fetchall()


def hold_being_placed(url: str, tenant) -> psycopg.Connection:
    """The MSP's hold on ``tenant``, placed in a transaction left open: it takes effect when
    that connection commits."""
    msp = admin.connect(url)
    msp.execute("SELECT set_msp_wide()")
    msp.execute("UPDATE tenants SET legal_hold = true WHERE id = %s", (tenant,))
    return msp
