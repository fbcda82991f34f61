-- 000001_initial_schema (up): creates the IronArchive core schema.
--
-- Spec: Story 1.2 (shared/seed) as amended by shared/spec/schema-decisions.md
-- (defects F1-F9, decisions D1-D13; the decisions win where they differ).
-- Applied by golang-migrate as ONE multi-statement Exec (one implicit
-- transaction): no BEGIN/COMMIT here and no CREATE INDEX CONCURRENTLY.
-- Order: timeouts, extensions, helper function, tables (parents first)
-- with their indexes and comments, trigger functions, triggers, initial data.
-- Only trusted extensions are used, so a non-superuser database owner can
-- run it (managed PostgreSQL services).
-- Lint (.sqlfluff): the story's column names that are SQL keywords (name,
-- role, type, action, key, value) and the quoted "timestamp" (quoted as
-- PostgreSQL's quote_ident() quotes it) are allowed by name in the config.

-- ---------------------------------------------------------------------------
-- Timeouts, for this migration's transaction only
-- ---------------------------------------------------------------------------

-- A statement waiting for a lock makes every later query on that table wait
-- behind it: after 5 s the migration fails and rolls back instead of stalling
-- the application. SET LOCAL ends with golang-migrate's implicit transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Extensions
-- ---------------------------------------------------------------------------

CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- ---------------------------------------------------------------------------
-- Helper for tenants_azure_app_secret_check (F9, D2)
-- ---------------------------------------------------------------------------

-- pgp_key_id() raises SQLSTATE 39000 ("Wrong key or corrupt data", or
-- "No encryption key found" for an empty value) instead of returning a value
-- on bytes that are not a PGP message. Used directly in a CHECK, plaintext
-- would fail with 39000 and no constraint name; this wrapper turns that error
-- into false, so a bad value is a 23514 check_violation naming the constraint.
-- Only pgcrypto's own error class is caught; anything else stays loud.
-- SET search_path FROM CURRENT pins the schema where pgcrypto was found:
-- pg_dump/pg_restore run with an empty search_path while loading rows into
-- tenants, and an unqualified pgp_key_id() would not resolve there.
-- PARALLEL UNSAFE (the default) because the EXCEPTION block opens a
-- subtransaction.
-- pgp_key_id() reads only the first packet header, so plaintext whose first
-- byte happens to be a tag-3 header (0xC3 is UTF-8's lead byte of e-acute)
-- would pass. pgp_sym_encrypt() always writes a new-format tag-3 packet
-- (0xC3, one-octet length, version 4) followed by an encrypted data packet
-- (tag 18, 0xD2, or tag 9, 0xC9 with disable-mdc): that layout is required too.
CREATE FUNCTION is_pgp_symmetric_message(message BYTEA)
RETURNS BOOLEAN
LANGUAGE plpgsql
IMMUTABLE
STRICT
SET search_path FROM CURRENT
AS $$
DECLARE
    session_key_length INTEGER;
BEGIN
    IF length(message) < 4
        OR get_byte(message, 0) <> 195
        OR get_byte(message, 2) <> 4 THEN
        RETURN FALSE;
    END IF;
    session_key_length := get_byte(message, 1);
    IF session_key_length >= 192
        OR length(message) <= session_key_length + 2
        OR get_byte(message, session_key_length + 2) NOT IN (201, 210) THEN
        RETURN FALSE;
    END IF;
    RETURN pgp_key_id(message) = 'SYMKEY';
EXCEPTION
    WHEN external_routine_invocation_exception THEN
        RETURN FALSE;
END;
$$;

COMMENT ON FUNCTION is_pgp_symmetric_message(BYTEA) IS
'True when the value is a PGP symmetric-key message (pgp_sym_encrypt output), '
'false for anything else, including plaintext and empty values; NULL for NULL. '
'Used by tenants_azure_app_secret_check (F9, D2).';

-- ---------------------------------------------------------------------------
-- tenants
-- ---------------------------------------------------------------------------

CREATE TABLE tenants (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    name VARCHAR(255) NOT NULL,
    azure_tenant_id UUID NOT NULL,
    azure_app_id UUID NOT NULL,
    azure_app_secret BYTEA NOT NULL,
    retention_policy_days INTEGER NOT NULL DEFAULT 2555,
    legal_hold BOOLEAN NOT NULL DEFAULT FALSE,
    whitelabel_config JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    storage_bytes BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    -- D9: one Microsoft 365 tenant is registered once. The constraint's index
    -- is the index on azure_tenant_id (no separate idx_tenants_azure_tenant_id).
    CONSTRAINT tenants_azure_tenant_id_key UNIQUE (azure_tenant_id),
    CONSTRAINT tenants_azure_app_secret_check
    CHECK (is_pgp_symmetric_message(azure_app_secret)),
    CONSTRAINT tenants_retention_policy_days_check
    CHECK (retention_policy_days > 0),
    CONSTRAINT tenants_storage_bytes_check CHECK (storage_bytes >= 0)
);

COMMENT ON TABLE tenants IS
'Microsoft 365 tenants (MSP customers) archived by IronArchive, '
'with their Azure AD app credentials and retention settings.';
COMMENT ON COLUMN tenants.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN tenants.name IS 'Display name of the customer.';
COMMENT ON COLUMN tenants.azure_tenant_id IS
'Azure AD (Entra ID) directory ID of the Microsoft 365 tenant; unique (D9).';
COMMENT ON COLUMN tenants.azure_app_id IS
'Application (client) ID of the Azure AD app used to read mailboxes via Graph.';
COMMENT ON COLUMN tenants.azure_app_secret IS
'Client secret of the Azure AD app, as pgp_sym_encrypt() output; read it with '
'pgp_sym_decrypt(). Plaintext is rejected by tenants_azure_app_secret_check (F9, D2).';
COMMENT ON COLUMN tenants.retention_policy_days IS
'Days an archived e-mail is kept before retention cleanup; > 0; '
'default 2555 (about 7 years).';
COMMENT ON COLUMN tenants.legal_hold IS
'When true, no e-mail of this tenant may be deleted, retention included.';
COMMENT ON COLUMN tenants.whitelabel_config IS
'Optional custom branding (logo, colours, names) as JSON; NULL means default branding.';
COMMENT ON COLUMN tenants.created_at IS 'When the tenant was registered.';
COMMENT ON COLUMN tenants.storage_bytes IS
'Bytes of archive storage used by the tenant, for billing and reporting; >= 0.';

-- ---------------------------------------------------------------------------
-- users
-- ---------------------------------------------------------------------------

CREATE TABLE users (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    role VARCHAR(50) NOT NULL,
    tenant_id UUID,
    mfa_secret VARCHAR(255),
    mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT users_role_check
    CHECK (role IN ('MSP_ADMIN', 'TENANT_ADMIN', 'USER')),
    -- F4, D4: only MSP admins have no tenant, and they never have one.
    CONSTRAINT users_role_tenant_check
    CHECK ((role = 'MSP_ADMIN') = (tenant_id IS NULL)),
    -- D4: MFA cannot be on without a TOTP secret.
    CONSTRAINT users_mfa_secret_check
    CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)
);

-- F3, D4: login is by e-mail, so Boss@x.io and boss@x.io must collide. This
-- index replaces both the story's UNIQUE (email) and idx_users_email (F7).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX idx_users_tenant_id ON users (tenant_id);

COMMENT ON TABLE users IS
'People who log in to IronArchive: MSP admins, tenant admins and tenant users.';
COMMENT ON COLUMN users.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN users.email IS
'Login e-mail address; unique regardless of case (users_email_lower_key).';
COMMENT ON COLUMN users.password_hash IS 'bcrypt hash of the password (cost 12 or more).';
COMMENT ON COLUMN users.display_name IS 'Name shown in the user interface.';
COMMENT ON COLUMN users.role IS
'MSP_ADMIN (all tenants), TENANT_ADMIN (one tenant) or USER (one tenant).';
COMMENT ON COLUMN users.tenant_id IS
'Tenant the user belongs to; NULL exactly when role is MSP_ADMIN (D4).';
COMMENT ON COLUMN users.mfa_secret IS
'TOTP shared secret for multi-factor login; required when mfa_enabled is true.';
COMMENT ON COLUMN users.mfa_enabled IS 'Whether login requires a TOTP code.';
COMMENT ON COLUMN users.created_at IS 'When the user was created.';
COMMENT ON COLUMN users.updated_at IS
'When the row was last updated; set by trigger update_users_updated_at on every UPDATE.';

-- ---------------------------------------------------------------------------
-- mailboxes
-- ---------------------------------------------------------------------------

CREATE TABLE mailboxes (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    tenant_id UUID NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    display_name VARCHAR(255),
    mailbox_type VARCHAR(50) NOT NULL,
    sync_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_sync_at TIMESTAMPTZ,
    last_delta_token TEXT,
    email_count INTEGER NOT NULL DEFAULT 0,
    storage_bytes BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT mailboxes_pkey PRIMARY KEY (id),
    CONSTRAINT mailboxes_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT mailboxes_mailbox_type_check
    CHECK (mailbox_type IN ('USER', 'SHARED', 'ROOM', 'EQUIPMENT')),
    CONSTRAINT mailboxes_email_count_check CHECK (email_count >= 0),
    CONSTRAINT mailboxes_storage_bytes_check CHECK (storage_bytes >= 0)
);

-- D5: an address is unique per tenant regardless of case; replaces the
-- story's UNIQUE (tenant_id, email_address).
CREATE UNIQUE INDEX mailboxes_tenant_id_email_address_lower_key
ON mailboxes (tenant_id, lower(email_address));
CREATE INDEX idx_mailboxes_tenant_id ON mailboxes (tenant_id);
CREATE INDEX idx_mailboxes_sync_enabled ON mailboxes (sync_enabled);

COMMENT ON TABLE mailboxes IS
'Microsoft 365 mailboxes of a tenant that can be archived.';
COMMENT ON COLUMN mailboxes.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN mailboxes.tenant_id IS 'Tenant that owns the mailbox.';
COMMENT ON COLUMN mailboxes.email_address IS
'Primary SMTP address; unique per tenant regardless of case (D5).';
COMMENT ON COLUMN mailboxes.display_name IS 'Display name from Microsoft 365, if any.';
COMMENT ON COLUMN mailboxes.mailbox_type IS
'Exchange mailbox kind: USER, SHARED, ROOM or EQUIPMENT.';
COMMENT ON COLUMN mailboxes.sync_enabled IS 'Whether the mailbox is actively archived.';
COMMENT ON COLUMN mailboxes.last_sync_at IS
'When the last successful sync finished; NULL if never synced.';
COMMENT ON COLUMN mailboxes.last_delta_token IS
'Microsoft Graph delta token for the next incremental sync; NULL forces a full sync.';
COMMENT ON COLUMN mailboxes.email_count IS 'Number of archived e-mails (computed); >= 0.';
COMMENT ON COLUMN mailboxes.storage_bytes IS
'Bytes of archive storage used by the mailbox (computed); >= 0.';
COMMENT ON COLUMN mailboxes.created_at IS 'When the mailbox was added.';

-- ---------------------------------------------------------------------------
-- emails
-- ---------------------------------------------------------------------------

CREATE TABLE emails (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    mailbox_id UUID NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    subject TEXT,
    sender VARCHAR(255),
    recipients TEXT[],
    sent_at TIMESTAMPTZ NOT NULL,
    body_text TEXT,
    body_html TEXT,
    has_attachments BOOLEAN NOT NULL DEFAULT FALSE,
    size_bytes INTEGER NOT NULL,
    file_path TEXT NOT NULL,
    indexed_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT emails_pkey PRIMARY KEY (id),
    CONSTRAINT emails_mailbox_id_fkey FOREIGN KEY (mailbox_id)
    REFERENCES mailboxes (id) ON DELETE CASCADE,
    -- F7: this constraint's index is the index on message_id
    -- (no separate idx_emails_message_id).
    CONSTRAINT emails_message_id_key UNIQUE (message_id),
    CONSTRAINT emails_size_bytes_check CHECK (size_bytes >= 0)
);

CREATE INDEX idx_emails_mailbox_id ON emails (mailbox_id);
CREATE INDEX idx_emails_sent_at ON emails (sent_at DESC);
-- Led by sender (Task 4); mailbox_id and sent_at let "a sender's e-mails in a
-- mailbox, newest first" be read from the index without a sort.
CREATE INDEX idx_emails_sender ON emails (sender, mailbox_id, sent_at DESC);
CREATE INDEX idx_emails_deleted_at ON emails (deleted_at)
WHERE deleted_at IS NULL;
-- D6: serves "WHERE mailbox_id = $1 AND deleted_at IS NULL
-- ORDER BY sent_at DESC LIMIT 50" straight from the index, without a sort.
CREATE INDEX idx_emails_mailbox_id_sent_at_active
ON emails (mailbox_id, sent_at DESC)
WHERE deleted_at IS NULL;

COMMENT ON TABLE emails IS
'Archived e-mail messages (metadata; the raw message is stored on disk).';
COMMENT ON COLUMN emails.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN emails.mailbox_id IS 'Mailbox the message was archived from.';
COMMENT ON COLUMN emails.message_id IS
'Microsoft Graph message ID; globally unique (emails_message_id_key).';
COMMENT ON COLUMN emails.subject IS 'Subject line; NULL if the message has none.';
COMMENT ON COLUMN emails.sender IS 'Sender e-mail address (From).';
COMMENT ON COLUMN emails.recipients IS
'All recipient addresses (To, Cc and Bcc combined).';
COMMENT ON COLUMN emails.sent_at IS 'When the message was sent (UTC instant).';
COMMENT ON COLUMN emails.body_text IS 'Plain-text body, if available (AC6, D2).';
COMMENT ON COLUMN emails.body_html IS 'HTML body, if available (AC6, D2).';
COMMENT ON COLUMN emails.has_attachments IS 'Whether the message has attachments.';
COMMENT ON COLUMN emails.size_bytes IS 'Size of the message in bytes; >= 0.';
COMMENT ON COLUMN emails.file_path IS
'Filesystem path of the stored raw message (JSON file on disk).';
COMMENT ON COLUMN emails.indexed_at IS
'When the message was indexed in Meilisearch; NULL if not indexed yet.';
COMMENT ON COLUMN emails.deleted_at IS
'Soft-delete time; NULL while the message is active.';
COMMENT ON COLUMN emails.created_at IS 'When the message was archived.';

-- ---------------------------------------------------------------------------
-- attachments
-- ---------------------------------------------------------------------------

CREATE TABLE attachments (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    email_id UUID NOT NULL,
    filename VARCHAR(255) NOT NULL,
    content_type VARCHAR(255),
    size_bytes INTEGER NOT NULL,
    sha256_hash VARCHAR(64) NOT NULL,
    file_path TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT attachments_pkey PRIMARY KEY (id),
    CONSTRAINT attachments_email_id_fkey FOREIGN KEY (email_id)
    REFERENCES emails (id) ON DELETE CASCADE,
    CONSTRAINT attachments_size_bytes_check CHECK (size_bytes >= 0),
    -- F5, D7: lower-case hex only, so equal contents give equal strings and
    -- deduplication by hash works.
    CONSTRAINT attachments_sha256_hash_check
    CHECK (sha256_hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX idx_attachments_email_id ON attachments (email_id);
CREATE INDEX idx_attachments_sha256_hash ON attachments (sha256_hash);

COMMENT ON TABLE attachments IS
'Attachments of archived e-mails; files are deduplicated by SHA-256 hash.';
COMMENT ON COLUMN attachments.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN attachments.email_id IS 'E-mail the attachment belongs to.';
COMMENT ON COLUMN attachments.filename IS 'Original file name.';
COMMENT ON COLUMN attachments.content_type IS 'MIME type, if known.';
COMMENT ON COLUMN attachments.size_bytes IS 'Size of the attachment in bytes; >= 0.';
COMMENT ON COLUMN attachments.sha256_hash IS
'SHA-256 of the content, 64 lower-case hex digits; the deduplication key.';
COMMENT ON COLUMN attachments.file_path IS
'Path of the stored file, derived from the hash '
'(/data/attachments/{first 2 hash chars}/{hash}.bin); shared by equal contents.';
COMMENT ON COLUMN attachments.created_at IS 'When the attachment was archived.';

-- ---------------------------------------------------------------------------
-- jobs
-- ---------------------------------------------------------------------------

CREATE TABLE jobs (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL,
    tenant_id UUID,
    mailbox_id UUID,
    user_id UUID,
    progress INTEGER NOT NULL DEFAULT 0,
    metadata JSONB,
    error_message TEXT,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT jobs_mailbox_id_fkey FOREIGN KEY (mailbox_id)
    REFERENCES mailboxes (id) ON DELETE CASCADE,
    CONSTRAINT jobs_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT jobs_type_check CHECK (
        type IN ('SYNC_MAILBOX', 'SYNC_TENANT', 'SYNC_ALL', 'EXPORT', 'RETENTION_CLEANUP')
    ),
    CONSTRAINT jobs_status_check
    CHECK (status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
    CONSTRAINT jobs_progress_check CHECK (progress >= 0 AND progress <= 100),
    -- D7: only checked when both times are set.
    CONSTRAINT jobs_completed_after_started_check
    CHECK (completed_at >= started_at)
);

-- Led by status (Task 4); created_at lets the worker claim the oldest QUEUED
-- job (ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) without a sort.
CREATE INDEX idx_jobs_status ON jobs (status, created_at);
CREATE INDEX idx_jobs_type ON jobs (type);
CREATE INDEX idx_jobs_tenant_id ON jobs (tenant_id);
-- F6: without it, deleting a mailbox scans all of jobs.
CREATE INDEX idx_jobs_mailbox_id ON jobs (mailbox_id);
CREATE INDEX idx_jobs_user_id ON jobs (user_id);
CREATE INDEX idx_jobs_created_at ON jobs (created_at DESC);

COMMENT ON TABLE jobs IS
'Background jobs (sync, export, retention cleanup) and their progress.';
COMMENT ON COLUMN jobs.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN jobs.type IS
'SYNC_MAILBOX, SYNC_TENANT, SYNC_ALL, EXPORT or RETENTION_CLEANUP.';
COMMENT ON COLUMN jobs.status IS 'QUEUED, RUNNING, COMPLETED or FAILED.';
COMMENT ON COLUMN jobs.tenant_id IS
'Tenant the job works on; NULL for jobs across all tenants (e.g. SYNC_ALL).';
COMMENT ON COLUMN jobs.mailbox_id IS
'Mailbox the job works on; NULL unless the job targets one mailbox.';
COMMENT ON COLUMN jobs.user_id IS
'User who started the job; NULL for scheduled jobs or once the user is deleted.';
COMMENT ON COLUMN jobs.progress IS 'Completion in percent, 0 to 100, for the UI.';
COMMENT ON COLUMN jobs.metadata IS
'Job-specific parameters and results as JSON (e.g. export format).';
COMMENT ON COLUMN jobs.error_message IS
'Why the job failed; NULL unless status is FAILED (AC8, D2).';
COMMENT ON COLUMN jobs.started_at IS 'When the job started running; NULL while queued.';
COMMENT ON COLUMN jobs.completed_at IS
'When the job finished (completed or failed); not before started_at.';
COMMENT ON COLUMN jobs.created_at IS 'When the job was queued.';

-- ---------------------------------------------------------------------------
-- audit_logs
-- ---------------------------------------------------------------------------

CREATE TABLE audit_logs (
    id UUID NOT NULL DEFAULT uuid_generate_v4(),
    user_id UUID,
    action VARCHAR(100) NOT NULL,
    ip_address INET,
    details JSONB,
    "timestamp" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT audit_logs_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL
);

-- Led by user_id (Task 4, and the foreign key's index); "timestamp" serves a
-- user's audit trail in a time range, newest first, without a sort.
CREATE INDEX idx_audit_logs_user_id ON audit_logs (user_id, "timestamp" DESC);
CREATE INDEX idx_audit_logs_action ON audit_logs (action);
CREATE INDEX idx_audit_logs_timestamp ON audit_logs ("timestamp" DESC);

COMMENT ON TABLE audit_logs IS
'Append-only audit trail for compliance (GDPR/DSGVO, GoBD); '
'rows cannot be updated, deleted or truncated (D3).';
COMMENT ON COLUMN audit_logs.id IS 'Primary key (UUID v4).';
COMMENT ON COLUMN audit_logs.user_id IS
'User who acted; NULL for system actions or once the user is deleted '
'(ON DELETE SET NULL keeps the row).';
COMMENT ON COLUMN audit_logs.action IS
'What was done, e.g. LOGIN, LOGOUT, SEARCH, EXPORT, CONFIG_CHANGE, TENANT_CREATE, '
'MAILBOX_ADD, USER_CREATE.';
COMMENT ON COLUMN audit_logs.ip_address IS 'Client IP address of the request, if any.';
COMMENT ON COLUMN audit_logs.details IS 'Action-specific details as JSON.';
COMMENT ON COLUMN audit_logs."timestamp" IS 'When the action happened.';

-- ---------------------------------------------------------------------------
-- settings
-- ---------------------------------------------------------------------------

CREATE TABLE settings (
    key VARCHAR(255) NOT NULL,
    value JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

COMMENT ON TABLE settings IS 'Global configuration as a key-value store.';
COMMENT ON COLUMN settings.key IS 'Setting name, e.g. global_retention_policy_days.';
COMMENT ON COLUMN settings.value IS
'Setting value as JSON (number, string, boolean or object).';
COMMENT ON COLUMN settings.updated_at IS
'When the setting was last changed; set by trigger update_settings_updated_at.';

-- ---------------------------------------------------------------------------
-- Trigger functions
-- ---------------------------------------------------------------------------

-- D4: the trigger owns updated_at; whatever the UPDATE wrote is overwritten.
CREATE FUNCTION update_updated_at_column()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION update_updated_at_column() IS
'BEFORE UPDATE row trigger: sets NEW.updated_at to now() (transaction start time), '
'overriding any value written by the statement (D4).';

-- D3 (F1, F2): UPDATE, DELETE and TRUNCATE of audit_logs raise. The one
-- exception is the ON DELETE SET NULL action of audit_logs_user_id_fkey: it
-- runs as an UPDATE from inside the RI trigger (depth > 1), only clears
-- user_id, and the user is already gone. A hand-written UPDATE ... SET
-- user_id = NULL fails (depth 1, or the user still exists).
CREATE FUNCTION prevent_audit_log_modification()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
        IF OLD.user_id IS NOT NULL
            AND NEW.user_id IS NULL
            AND to_jsonb(NEW) - 'user_id' = to_jsonb(OLD) - 'user_id'
            AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = OLD.user_id)
            THEN
            RETURN NEW;
        END IF;
    END IF;

    RAISE EXCEPTION 'Audit logs are immutable and cannot be modified or deleted'
    USING
        ERRCODE = 'restrict_violation',
        DETAIL = format('%s on table %I was rejected by trigger %I.',
            TG_OP, TG_TABLE_NAME, TG_NAME),
        HINT = 'Audit log rows are append-only; only deleting the referenced '
        || 'user may clear user_id (ON DELETE SET NULL).';
END;
$$;

COMMENT ON FUNCTION prevent_audit_log_modification() IS
'Trigger function keeping audit_logs append-only: raises restrict_violation '
'(23001) "Audit logs are immutable" on UPDATE, DELETE and TRUNCATE, except the '
'ON DELETE SET NULL of user_id after the user is deleted (D3).';

-- ---------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------

CREATE TRIGGER update_users_updated_at
BEFORE UPDATE ON users
FOR EACH ROW
EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_settings_updated_at
BEFORE UPDATE ON settings
FOR EACH ROW
EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER audit_log_immutable_trigger
BEFORE UPDATE OR DELETE ON audit_logs
FOR EACH ROW
EXECUTE FUNCTION prevent_audit_log_modification();

-- F2: row triggers do not fire on TRUNCATE, which would wipe the log
-- (also when reached through TRUNCATE users CASCADE).
CREATE TRIGGER audit_log_truncate_trigger
BEFORE TRUNCATE ON audit_logs
FOR EACH STATEMENT
EXECUTE FUNCTION prevent_audit_log_modification();

-- ---------------------------------------------------------------------------
-- Initial data (Task 7, D10): exactly the story's five settings
-- ---------------------------------------------------------------------------

INSERT INTO settings (key, value) VALUES
('global_retention_policy_days', '2555'),
('smtp_config', '{}'),
('notification_channels', '{"email": true, "teams": false, "discord": false}'),
('scheduler_enabled', 'true'),
('sync_schedule', '"0 6,12,18,0 * * *"');
