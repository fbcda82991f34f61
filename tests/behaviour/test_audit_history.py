"""The audit rows written before 000004 join their chains (000006), and the chain lives
through the migrations' lifecycle with data: up seals the history without rewriting a row,
an edit of the history or of its sealed summary is found, a deleted user's history still
verifies (D3), down takes the chain away and leaves every audit row as it was, and up again
seals every row there is (the summaries of the first up included) as the new history."""

import pytest

from ironarchive_schema.postgres import admin

from .compliance import MSP_CHAIN, breaks

TENANT = "00000000-0000-4000-8000-0000000000a1"
USER = "00000000-0000-4000-8000-0000000000a2"
#: At version 3: a tenant with a user, its rows, and MSP-level rows, with the times the
#: application chose then (000004 takes that choice away).
HISTORY = f"""
    INSERT INTO tenants (id, name, azure_tenant_id, azure_app_id, azure_app_secret)
    VALUES ('{TENANT}', 'Contoso', gen_random_uuid(), gen_random_uuid(),
            pgp_sym_encrypt('secret', 'key'));
    INSERT INTO users (id, tenant_id, email, password_hash, display_name, role)
    VALUES ('{USER}', '{TENANT}', 'ceo@contoso.test', '$2b$12$x', 'CEO', 'USER');
    INSERT INTO audit_logs (user_id, action, "timestamp")
    SELECT '{USER}', 'LOGIN', now() - n * interval '1 day' FROM generate_series(1, 30) AS n;
    INSERT INTO audit_logs (action, "timestamp")
    SELECT 'SYSTEM', '2020-01-01'::timestamptz + n * interval '1 hour'
    FROM generate_series(1, 20) AS n;
"""


@pytest.fixture
def upgraded(empty_db_url, migrate_on):
    migrate = migrate_on(empty_db_url)
    migrate.goto(3)
    with admin.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(HISTORY)
        before = conn.execute("SELECT id, xmin::text, ctid::text FROM audit_logs "
                              "ORDER BY id").fetchall()
    migrate.up()
    return {"url": empty_db_url, "migrate": migrate, "before": before}


def _audit_rows(conn, ids) -> list:
    return conn.execute("SELECT id, xmin::text, ctid::text FROM audit_logs WHERE id = ANY(%s) "
                        "ORDER BY id", ([row[0] for row in ids],)).fetchall()


def test_the_history_is_sealed_without_rewriting_a_row(upgraded):
    with admin.connect(upgraded["url"]) as conn:
        assert _audit_rows(conn, upgraded["before"]) == upgraded["before"]
        assert breaks(conn) == []
        history = conn.execute(
            "SELECT chain_id::text, count(*), min(seq), max(seq) FROM audit_log_seals "
            "WHERE seq <= 0 GROUP BY 1 ORDER BY 1").fetchall()
        # The user's rows got its tenant from 000002's fill trigger; the SYSTEM rows none.
        assert history == sorted([(MSP_CHAIN, 20, -19, 0), (TENANT, 30, -29, 0)])
        summaries = conn.execute("SELECT coalesce(tenant_id::text, 'msp'), details ->> 'rows' "
                                 "FROM audit_logs WHERE action = 'AUDIT_HISTORY_SEALED' "
                                 "ORDER BY 1").fetchall()
        assert summaries == sorted([("msp", "20"), (TENANT, "30")])


@pytest.mark.parametrize("edit", [
    "UPDATE audit_logs SET action = 'LOGOUT' WHERE id = (SELECT audit_log_id FROM "
    f"audit_log_seals WHERE seq = -10 AND chain_id = '{TENANT}')",
    "UPDATE audit_logs SET details = jsonb_set(details, '{rows}', '29') "
    f"WHERE action = 'AUDIT_HISTORY_SEALED' AND tenant_id = '{TENANT}'",
], ids=["a history row", "the history's summary"])
def test_an_edit_of_the_history_is_found(upgraded, edit):
    with admin.connect(upgraded["url"]) as conn:
        conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER ALL")
        conn.execute(edit)
        conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER ALL")
        assert breaks(conn) != [], "the edit went unnoticed"


def test_a_deleted_users_history_still_verifies(upgraded):
    with admin.connect(upgraded["url"]) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (USER,))
        conn.commit()
        assert breaks(conn) == []


def test_down_leaves_the_rows_and_up_again_seals_them_all(upgraded):
    upgraded["migrate"].goto(3)
    with admin.connect(upgraded["url"]) as conn:
        assert _audit_rows(conn, upgraded["before"]) == upgraded["before"]
        assert conn.execute("SELECT to_regclass('audit_log_seals')").fetchone() == (None,)
    upgraded["migrate"].up()
    with admin.connect(upgraded["url"]) as conn:
        assert breaks(conn) == []
        assert conn.execute("SELECT count(*) FROM audit_log_seals WHERE seq <= 0").fetchone() \
            == (len(upgraded["before"]) + 2,)  # with the two summaries of the first up


def test_000006s_down_unseals_the_history_only(upgraded):
    """000006's down: the history leaves its chains (each such row is named as in no chain),
    the rows sealed on insert keep theirs."""
    upgraded["migrate"].goto(5)
    with admin.connect(upgraded["url"]) as conn:
        found = breaks(conn)
        live = conn.execute("SELECT count(*) FROM audit_log_seals WHERE seq > 0").fetchone()[0]
    history = {row[0] for row in upgraded["before"]}
    assert {f[2] for f in found} == history, found
    assert {f[3] for f in found} == {"inserted: the row is in no chain"}
    assert live == 2  # the summaries, sealed into the live chains
