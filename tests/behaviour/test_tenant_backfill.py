"""Issue 8: migration 000002 on an archive written at version 1.

E-mails and attachments get their mailbox's tenant (two tenants, so a wrong join shows);
audit rows are immutable, so the migration must not rewrite them: same xmin and ctid after
the upgrade, tenant_id NULL, and each still visible to its user's tenant.
"""

from ironarchive_schema.postgres import admin

from .tenancy import session
from .test_lifecycle import SEEDS

TENANTS = ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-0000000000f1")

SECOND_TENANT = """
    INSERT INTO tenants (id, name, azure_tenant_id, azure_app_id, azure_app_secret)
    VALUES ('00000000-0000-4000-8000-0000000000f1', 'Second', gen_random_uuid(),
            gen_random_uuid(), pgp_sym_encrypt('s', 'k'));
    INSERT INTO users (id, email, password_hash, display_name, role, tenant_id)
    VALUES ('00000000-0000-4000-8000-0000000000f2', 'u@second.example', 'h', 'U', 'USER',
            '00000000-0000-4000-8000-0000000000f1');
    INSERT INTO mailboxes (id, tenant_id, email_address, mailbox_type)
    VALUES ('00000000-0000-4000-8000-0000000000f4', '00000000-0000-4000-8000-0000000000f1',
            'info@second.example', 'USER');
    INSERT INTO emails (id, mailbox_id, message_id, sent_at, size_bytes, file_path)
    SELECT gen_random_uuid(), '00000000-0000-4000-8000-0000000000f4', 'second-' || n,
           now(), 1, '/data/x'
    FROM generate_series(1, 3) AS n;
    INSERT INTO attachments (email_id, filename, size_bytes, sha256_hash, file_path)
    SELECT id, 'a.pdf', 1, repeat('cd', 32), '/data/a' FROM emails
    WHERE mailbox_id = '00000000-0000-4000-8000-0000000000f4';
    INSERT INTO audit_logs (user_id, action)
    VALUES ('00000000-0000-4000-8000-0000000000f2', 'LOGIN'), (NULL, 'SYSTEM');
"""


def test_version_1_data_gets_its_tenant_and_audit_rows_are_not_rewritten(empty_db_url,
                                                                         migrate_on):
    migrate = migrate_on(empty_db_url)
    migrate.goto(1)
    with admin.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(SEEDS[1])
        conn.execute(SECOND_TENANT)
        audit_before = conn.execute("SELECT id, xmin::text, ctid::text FROM audit_logs "
                                    "ORDER BY id").fetchall()
    migrate.up()
    with admin.connect(empty_db_url) as conn:
        wrong = conn.execute("""
            SELECT 'emails', e.id FROM emails AS e JOIN mailboxes AS m ON m.id = e.mailbox_id
            WHERE e.tenant_id IS DISTINCT FROM m.tenant_id
            UNION ALL
            SELECT 'attachments', a.id FROM attachments AS a JOIN emails AS e ON e.id = a.email_id
            WHERE a.tenant_id IS DISTINCT FROM e.tenant_id""").fetchall()
        assert wrong == []
        per_tenant = conn.execute("SELECT tenant_id::text, count(*) FROM attachments "
                                  "GROUP BY 1 ORDER BY 1").fetchall()
        assert per_tenant == [(TENANTS[0], 1), (TENANTS[1], 3)]
        audit_after = conn.execute("SELECT id, xmin::text, ctid::text FROM audit_logs "
                                   "WHERE id = ANY(%s) ORDER BY id",
                                   ([row[0] for row in audit_before],)).fetchall()
        assert audit_after == audit_before, "the migration rewrote immutable audit rows"
        added = conn.execute("SELECT action, count(*) FROM audit_logs WHERE NOT id = ANY(%s) "
                             "GROUP BY 1", ([row[0] for row in audit_before],)).fetchall()
        # 000006 seals the history and records it, one summary per chain (here the MSP's).
        assert added == [("AUDIT_HISTORY_SEALED", 1)], added
        assert conn.execute("SELECT count(*) FROM audit_logs WHERE tenant_id IS NOT NULL"
                            ).fetchone() == (0,)
        # Each old row is its user's tenant's; the system row is the MSP's only.
        seen = {}
        for tenant in TENANTS:
            with session(conn, tenant):
                seen[tenant] = conn.execute("SELECT action FROM audit_logs ORDER BY 1"
                                            ).fetchall()
        assert seen == {TENANTS[0]: [("MAILBOX_ADD",)], TENANTS[1]: [("LOGIN",)]}
