"""IronArchive's migrations with data: rows inserted at a version survive ``up`` to the
newest version, one version at a time (ids ``v000002``...), and up builds the archive's
tables. Up, down and up again restoring the catalog exactly (D11) is the plugin's built-in
``lifecycle`` check."""


from ironarchive_schema.catalog import pg_catalog

# pytest calls it: each test that takes ``migration`` runs once per migration (v000001...).
from ironarchive_schema.plugin.builtins.lifecycle import pytest_generate_tests  # noqa: F401
from ironarchive_schema.postgres import admin

from . import rows

CORE_TABLES = {"tenants", "users", "mailboxes", "emails", "attachments", "jobs", "audit_logs",
               "settings"}


def test_up_on_an_empty_database_builds_the_archives_tables(empty_db_url, migrate_on):
    migrate_on(empty_db_url).up()
    assert CORE_TABLES <= set(pg_catalog.tables(pg_catalog.snapshot_of(empty_db_url)))


# --- data survives later migrations -----------------------------------------------------------

#: Rows valid at a version, in plain SQL written against that version's schema (the row
#: factories follow the newest schema, so they cannot be used here). A version is seeded
#: with the newest seed at or below it; when a migration makes a seed invalid, add a seed
#: for that migration's version. The migrations' own rows (settings, D10) are checked too.
SEEDS = {
    1: """
        INSERT INTO tenants (id, name, azure_tenant_id, azure_app_id, azure_app_secret,
                             retention_policy_days, legal_hold, whitelabel_config, storage_bytes)
        VALUES ('00000000-0000-4000-8000-000000000001', 'Seed tenant',
                '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1',
                pgp_sym_encrypt('seed-secret', 'seed-key'), 365, true,
                '{"logo": "seed.png"}', 1024);
        INSERT INTO users (id, email, password_hash, display_name, role, tenant_id,
                           mfa_secret, mfa_enabled)
        VALUES ('00000000-0000-4000-8000-000000000002', 'Admin@Seed.example', '$2b$12$seed',
                'Seed admin', 'TENANT_ADMIN', '00000000-0000-4000-8000-000000000001',
                'JBSWY3DPEHPK3PXP', true),
               ('00000000-0000-4000-8000-000000000003', 'msp@seed.example', '$2b$12$seed',
                'Seed MSP', 'MSP_ADMIN', NULL, NULL, false);
        INSERT INTO mailboxes (id, tenant_id, email_address, display_name, mailbox_type,
                               sync_enabled, last_sync_at, last_delta_token, email_count,
                               storage_bytes)
        VALUES ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001',
                'Info@Seed.example', 'Info', 'SHARED', true, '2026-01-01T00:00:00Z', 'delta-1',
                1, 2048);
        INSERT INTO emails (id, mailbox_id, message_id, subject, sender, recipients, sent_at,
                            body_text, body_html, has_attachments, size_bytes, file_path,
                            indexed_at)
        VALUES ('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000004',
                'AAMkSeed=', 'Grüße', 'a@seed.example', '{b@seed.example,c@seed.example}',
                '2026-01-02T03:04:05Z', 'Hallo', '<p>Hallo</p>', true, 2048,
                '/data/emails/seed.json', '2026-01-02T04:00:00Z');
        INSERT INTO attachments (id, email_id, filename, content_type, size_bytes,
                                 sha256_hash, file_path)
        VALUES ('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000005',
                'seed.pdf', 'application/pdf', 42, repeat('ab', 32),
                '/data/attachments/ab/seed.bin');
        INSERT INTO jobs (id, type, status, tenant_id, mailbox_id, user_id, progress, metadata,
                          error_message, started_at, completed_at)
        VALUES ('00000000-0000-4000-8000-000000000007', 'SYNC_MAILBOX', 'FAILED',
                '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000004',
                '00000000-0000-4000-8000-000000000002', 40, '{"full": true}', 'throttled',
                '2026-01-02T05:00:00Z', '2026-01-02T05:01:00Z');
        INSERT INTO audit_logs (id, user_id, action, ip_address, details)
        VALUES ('00000000-0000-4000-8000-000000000008', '00000000-0000-4000-8000-000000000002',
                'MAILBOX_ADD', '192.0.2.10', '{"mailbox": "info@seed.example"}');
        INSERT INTO settings (key, value) VALUES ('seed_setting', '{"on": true}');
    """,
}


def seed_for(version: int) -> str:
    return SEEDS[max(v for v in SEEDS if v <= version)]


def all_rows(url: str) -> dict:
    with admin.connect(url) as conn:
        return rows.all_rows(conn, pg_catalog.snapshot(conn))


def test_rows_inserted_at_a_version_survive_up_to_the_newest(empty_db_url, migrate_on,
                                                              migration):
    """Every row present at version N (seeded, or inserted by the migrations) is still there
    at the newest version, with the same values in every column both versions have. A
    migration that drops data on purpose has to say so here."""
    migrate = migrate_on(empty_db_url)
    migrate.goto(migration.version)
    with admin.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(seed_for(migration.version))
    before = all_rows(empty_db_url)
    migrate.up()
    after = all_rows(empty_db_url)
    want, have = {}, {}
    for table, table_rows in before.items():
        want[table], have[table] = {}, {}
        for key, row in table_rows.items():
            now = after.get(table, {}).get(key)
            shared = [column for column in row if now is None or column in now]
            want[table][key] = {column: row[column] for column in shared}
            if now is not None:
                have[table][key] = {column: now[column] for column in shared}
    lost = rows.differences(want, have)
    assert lost == [], f"rows of version {migration.version} changed on the way to the newest"
