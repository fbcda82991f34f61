"""D20: the audit trail is tamper-evident.

Every audit row is sealed into its tenant's hash chain at COMMIT; verify_audit_chain() names
each row where a chain breaks. Played by an owner or superuser, who can switch the triggers
off: whatever they edit, delete, insert or reorder is found, and exported heads prove the
trail only grew, even against one who rewrites a whole chain. D3's one permitted change (a
deleted user's user_id becomes NULL) is not a break.
"""

import json
import uuid

import psycopg
import pytest

from ironarchive_schema.postgres import admin

from . import rows
from .compliance import MSP_CHAIN, breaks, seal_now
from .outcomes import attempt, describe
from .tenancy import session


@pytest.fixture
def trail(db) -> dict:
    """Two tenants' and the MSP's audit rows, sealed; the trail intact."""
    seal_now(db)
    tenants = [rows.tenant(db)["id"] for _ in range(2)]
    users = [rows.user(db, tenant_id=t)["id"] for t in tenants]
    written = [rows.audit_log(db, user_id=users[n % 2], action=f"ACTION_{n}")["id"]
               for n in range(6)]
    written.append(rows.audit_log(db, action="SYSTEM")["id"])
    assert breaks(db) == []
    return {"tenants": tenants, "users": users, "rows": written}


def tamper(db, statement: str, params=()) -> None:
    """As a superuser, with every trigger of the table off (the attack D20 is about)."""
    for table in ("audit_logs", "audit_log_seals"):
        db.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    db.execute(statement, params)
    for table in ("audit_logs", "audit_log_seals"):
        db.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


def seal_of(db, row) -> tuple:
    return db.execute("SELECT chain_id::text, seq FROM audit_log_seals WHERE audit_log_id = %s",
                      (row,)).fetchone()


def test_each_tenant_has_one_chain_numbered_from_one(db, trail):
    chains = db.execute("SELECT chain_id::text, array_agg(seq ORDER BY seq) FROM audit_log_seals "
                        "WHERE audit_log_id = ANY(%s) GROUP BY 1", (trail["rows"],)).fetchall()
    assert sorted(chains) == sorted([(str(t), [1, 2, 3]) for t in trail["tenants"]] +
                                    [(MSP_CHAIN, [1])])


EDITS = {
    "action": "UPDATE audit_logs SET action = 'LOGIN' WHERE id = %s",
    "details": "UPDATE audit_logs SET details = '{\"hits\": 0}' WHERE id = %s",
    "ip_address": "UPDATE audit_logs SET ip_address = '198.51.100.7' WHERE id = %s",
    "timestamp": "UPDATE audit_logs SET \"timestamp\" = '2001-01-01' WHERE id = %s",
    "tenant_id": "UPDATE audit_logs SET tenant_id = NULL WHERE id = %s",
}


@pytest.mark.parametrize("column", EDITS)
def test_an_edited_row_is_named(db, trail, column):
    edited = trail["rows"][2]
    tamper(db, EDITS[column], (edited,))
    chain, seq = seal_of(db, edited)
    assert (chain, seq, edited) in [found[:3] for found in breaks(db)], breaks(db)


def test_a_deleted_row_is_named(db, trail):
    gone = trail["rows"][2]
    chain, seq = seal_of(db, gone)
    tamper(db, "DELETE FROM audit_logs WHERE id = %s", (gone,))
    assert breaks(db) == [(chain, seq, gone, "deleted: the row sealed here is gone")]


def test_an_inserted_row_is_named(db, trail):
    forged = uuid.uuid4()
    tamper(db, "INSERT INTO audit_logs (id, tenant_id, action) VALUES (%s, %s, 'LOGIN')",
           (forged, trail["tenants"][0]))
    assert breaks(db) == [(str(trail["tenants"][0]), None, forged,
                           "inserted: the row is in no chain")]


def test_reordered_rows_are_named(db, trail):
    """Two links of a chain swap places: both no longer follow what precedes them."""
    first, second = trail["rows"][0], trail["rows"][2]  # seq 1 and 2 of the first tenant
    for row, seq in ((first, 0), (second, 1), (first, 2)):  # through 0: (chain, seq) is unique
        tamper(db, "UPDATE audit_log_seals SET seq = %s WHERE audit_log_id = %s", (seq, row))
    named = {found[2] for found in breaks(db)}
    assert {first, second} <= named, breaks(db)


def test_a_row_and_its_seal_removed_leave_a_gap(db, trail):
    gone = trail["rows"][2]
    chain, seq = seal_of(db, gone)
    tamper(db, "DELETE FROM audit_log_seals WHERE audit_log_id = %s", (gone,))
    tamper(db, "DELETE FROM audit_logs WHERE id = %s", (gone,))
    assert [found[3] for found in breaks(db) if found[0] == chain] == \
        [f"gap: seq {seq + 1} follows seq {seq - 1} (links were removed)"]


def test_the_newest_rows_cut_off_leave_the_head_behind(db, trail):
    last = trail["rows"][4]  # seq 3 of the first tenant, its newest
    chain, seq = seal_of(db, last)
    tamper(db, "DELETE FROM audit_log_seals WHERE audit_log_id = %s", (last,))
    tamper(db, "DELETE FROM audit_logs WHERE id = %s", (last,))
    assert breaks(db) == [(chain, seq, None,
                           f"truncated: the head is seq {seq}, the chain ends at seq {seq - 1}")]


def test_exported_heads_find_a_chain_rewritten_whole(db, trail):
    """One who recomputes every link and the head after a change leaves a chain that verifies
    by itself: the heads exported before prove it is not the one that was."""
    heads = exported_heads(db)
    tenant = str(trail["tenants"][0])
    tamper(db, "UPDATE audit_logs SET action = 'LOGIN' WHERE id = %s", (trail["rows"][0],))
    _rewrite_chain(db, tenant)
    assert [found for found in breaks(db) if found[0] == tenant] == []
    found = breaks(db, heads)
    assert [f[0] for f in found] == [tenant] and "rewritten since exported" in found[0][3], found


def _rewrite_chain(db, chain: str) -> None:
    """Recompute every link of a chain and its head, as an attacker with the schema's own
    functions would."""
    previous = bytes(32)
    for audit_log_id, entry in db.execute(
            'SELECT seals.audit_log_id, audit_log_entry(a.id, seals.user_id, a.tenant_id, '
            'a.action, a.ip_address, a.details, a."timestamp") FROM audit_log_seals AS seals '
            'JOIN audit_logs AS a ON a.id = seals.audit_log_id WHERE seals.chain_id = %s '
            'ORDER BY seals.seq', (chain,)).fetchall():
        previous = db.execute("SELECT audit_chain_link(%s, %s)", (previous, entry)).fetchone()[0]
        tamper(db, "UPDATE audit_log_seals SET chain_hash = %s WHERE audit_log_id = %s",
               (previous, audit_log_id))
    db.execute("UPDATE audit_log_chain_heads SET chain_hash = %s WHERE chain_id = %s",
               (previous, chain))


def exported_heads(db) -> str:
    """audit_chain_heads() as make audit-verify EXPORT= writes them."""
    return json.dumps([{"chain_id": str(c), "seq": s, "chain_hash": h}
                       for c, s, h in db.execute("SELECT * FROM audit_chain_heads()")])


def test_heads_exported_before_hold_while_the_trail_grows(db, trail):
    heads = exported_heads(db)
    rows.audit_log(db, user_id=trail["users"][0])
    assert breaks(db, heads) == []


# --- D3's permitted change --------------------------------------------------------------------

def test_a_deleted_users_rows_still_verify(db, trail):
    db.execute("DELETE FROM users WHERE id = %s", (trail["users"][0],))
    assert db.execute("SELECT count(*) FROM audit_logs WHERE id = ANY(%s) AND user_id IS NULL",
                      (trail["rows"],)).fetchone()[0] == 4  # 3 of its rows and the SYSTEM row
    assert breaks(db) == []


def test_user_id_cleared_for_a_user_who_still_exists_is_named(db, trail):
    edited = trail["rows"][0]
    tamper(db, "UPDATE audit_logs SET user_id = NULL WHERE id = %s", (edited,))
    (found,) = breaks(db)
    assert found[2] == edited and found[3].startswith("edited: user_id is NULL, sealed as"), found


# --- the chain's own tables -------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_log_seals SET seq = seq + 100",
    "DELETE FROM audit_log_seals",
    "TRUNCATE audit_log_seals",
])
def test_links_are_as_immutable_as_the_rows(db, trail, statement):
    error = attempt(db, statement)
    assert error is not None and error.sqlstate == "23001", f"{statement}: {describe(error)}"


@pytest.mark.parametrize("statement", [
    "INSERT INTO audit_log_seals (audit_log_id, chain_id, seq, chain_hash) "
    "VALUES (gen_random_uuid(), gen_random_uuid(), 1, sha256(''))",
    "UPDATE audit_log_chain_heads SET seq = 0",
    "DELETE FROM audit_log_chain_heads",
])
def test_the_application_cannot_write_the_chain(db, trail, statement):
    with session(db, msp_wide=True):
        error = attempt(db, statement)
    assert error is not None and error.sqlstate == "42501", f"{statement}: {describe(error)}"


def test_a_tenant_context_cannot_verify_other_tenants(db, trail):
    with session(db, trail["tenants"][0]):
        error = attempt(db, "SELECT * FROM verify_audit_chain()")
        own = db.execute("SELECT DISTINCT chain_id FROM audit_log_seals").fetchall()
    assert error is not None and error.sqlstate == "42501", describe(error)
    assert own == [(trail["tenants"][0],)]


def test_the_msp_context_verifies_as_the_application(db, trail):
    with session(db, msp_wide=True):
        assert breaks(db) == []


# --- many writers, committed ------------------------------------------------------------------

WRITERS = 8
ROWS_PER_WRITER = 40


def test_many_writers_never_fork_lose_or_deadlock(fresh_db_url):
    """Eight sessions commit audit rows at once, each transaction into two chains in its own
    order (the order that deadlocks when locks are taken as rows arrive): every row is
    sealed once, each chain numbered without a gap, and no writer fails."""
    import threading

    with admin.connect(fresh_db_url, autocommit=True) as conn:
        tenants = [rows.tenant(conn)["id"] for _ in range(2)]
    failures: list[str] = []

    def write(n: int) -> None:
        order = tenants if n % 2 else tenants[::-1]
        try:
            with admin.connect(fresh_db_url) as conn:
                for _ in range(ROWS_PER_WRITER):
                    for tenant in order:
                        conn.execute("INSERT INTO audit_logs (tenant_id, action) "
                                     "VALUES (%s, 'LOGIN')", (tenant,))
                    conn.commit()
        except psycopg.Error as exc:
            failures.append(f"writer {n}: {exc.sqlstate} {exc}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with admin.connect(fresh_db_url) as conn:
        per_chain = conn.execute(
            "SELECT chain_id, count(*), min(seq), max(seq) FROM audit_log_seals "
            "WHERE chain_id = ANY(%s) GROUP BY 1", (tenants,)).fetchall()
        assert sorted(count for _, count, _, _ in per_chain) == [WRITERS * ROWS_PER_WRITER] * 2
        assert all((low, high) == (1, count) for _, count, low, high in per_chain), per_chain
        unsealed = conn.execute("SELECT count(*) FROM audit_logs WHERE id NOT IN "
                                "(SELECT audit_log_id FROM audit_log_seals)").fetchone()[0]
        assert unsealed == 0
        assert breaks(conn) == []
