-- 000002_tenant_isolation (down): removes tenant isolation, the application's
-- role and legal hold, restoring the schema of 000001 exactly.
--
-- Reverse order of the up migration: grants and role, row-level security,
-- legal hold, audit_logs.tenant_id, then emails and attachments back to their
-- single-column keys. Plain DROP without IF EXISTS, as in 000001: a missing
-- object is a loud error, not a silent leftover (D11).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- The application's role
-- ---------------------------------------------------------------------------

REVOKE ALL ON FUNCTION current_tenant_id(), is_msp_wide() FROM ironarchive_app;
REVOKE ALL ON settings FROM ironarchive_app;
REVOKE ALL ON audit_logs FROM ironarchive_app;
REVOKE ALL
ON tenants, users, mailboxes, emails, attachments, jobs
FROM ironarchive_app;
REVOKE ALL ON SCHEMA public FROM ironarchive_app;

-- The role is the cluster's: dropped only when no other database still holds
-- privileges or objects of it (pg_shdepend); the last database to go down
-- takes it. DROP ROLE also ends its members' membership.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM pg_shdepend AS d
        INNER JOIN pg_roles AS r ON d.refobjid = r.oid
        WHERE d.refclassid = 'pg_authid'::REGCLASS
            AND r.rolname = 'ironarchive_app'
            AND d.dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())
    ) THEN
        DROP ROLE ironarchive_app;
    END IF;
END;
$$;

-- ---------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------

DROP POLICY tenant_isolation ON audit_logs;
ALTER TABLE audit_logs DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON jobs;
ALTER TABLE jobs DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON attachments;
ALTER TABLE attachments DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON emails;
ALTER TABLE emails DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON mailboxes;
ALTER TABLE mailboxes DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON tenants;
ALTER TABLE tenants DISABLE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- Legal hold
-- ---------------------------------------------------------------------------

DROP TRIGGER attachments_legal_hold_trigger ON attachments;
DROP TRIGGER emails_legal_hold_trigger ON emails;
DROP TRIGGER mailboxes_legal_hold_trigger ON mailboxes;
DROP TRIGGER tenants_legal_hold_trigger ON tenants;
DROP FUNCTION enforce_legal_hold();

-- ---------------------------------------------------------------------------
-- audit_logs.tenant_id
-- ---------------------------------------------------------------------------

DROP TRIGGER audit_log_tenant_id_fill_trigger ON audit_logs;
DROP FUNCTION fill_audit_log_tenant_id();
-- Catalog-only, like the ADD COLUMN: the immutable rows are not rewritten.
ALTER TABLE audit_logs DROP COLUMN tenant_id;

-- ---------------------------------------------------------------------------
-- emails.tenant_id and attachments.tenant_id
-- ---------------------------------------------------------------------------

DROP TRIGGER attachments_tenant_id_fill_trigger ON attachments;
DROP TRIGGER emails_tenant_id_fill_trigger ON emails;
DROP FUNCTION fill_tenant_id_from_parent();

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_attachments_email_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_attachments_email_id ON attachments (email_id);
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_emails_mailbox_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_emails_mailbox_id ON emails (mailbox_id);

ALTER TABLE attachments DROP CONSTRAINT attachments_email_id_tenant_id_fkey;
ALTER TABLE attachments
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT attachments_email_id_fkey FOREIGN KEY (email_id)
REFERENCES emails (id) ON DELETE CASCADE;

ALTER TABLE emails DROP CONSTRAINT emails_mailbox_id_tenant_id_fkey;
ALTER TABLE emails
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT emails_mailbox_id_fkey FOREIGN KEY (mailbox_id)
REFERENCES mailboxes (id) ON DELETE CASCADE;

ALTER TABLE emails DROP CONSTRAINT emails_id_tenant_id_key;
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_id_tenant_id_key;

ALTER TABLE attachments DROP COLUMN tenant_id;
ALTER TABLE emails DROP COLUMN tenant_id;

DROP FUNCTION is_msp_wide();
DROP FUNCTION current_tenant_id();
