-- 000003_tenant_boundary (down): back to the tenant boundary of 000002
-- exactly: the global unique message id, single-column jobs.mailbox_id, no
-- user-tenant checks, SECURITY DEFINER fill triggers, SET LOCAL contexts.
--
-- Reverse order of the up migration. Plain DROP without IF EXISTS (D11).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- Rows the 000002 rules refuse: the same message id in two tenants. Named and
-- counted, and nothing changes, rather than one key in a unique violation.
DO $$
DECLARE
    rows_breaking BIGINT;
BEGIN
    SELECT count(*) INTO rows_breaking
    FROM (
        SELECT message_id FROM emails GROUP BY message_id HAVING count(*) > 1
    ) AS shared;
    IF rows_breaking > 0 THEN
        RAISE EXCEPTION '000003_tenant_boundary down: existing rows break the rules of '
            '000002: emails.message_id unique across all tenants: % message ids are in '
            'more than one tenant', rows_breaking
        USING ERRCODE = 'unique_violation',
            HINT = 'Nothing was changed. Remove the duplicates first, or stay on 000003.';
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION is_msp_admin(user_id UUID) FROM ironarchive_app;
REVOKE ALL ON FUNCTION set_tenant(tenant UUID), set_msp_wide() FROM ironarchive_app;

-- squawk-ignore ban-drop-constraint
ALTER TABLE emails DROP CONSTRAINT emails_tenant_id_message_id_key;
ALTER TABLE emails
-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid
ADD CONSTRAINT emails_message_id_key UNIQUE (message_id);

COMMENT ON COLUMN emails.message_id IS
'Microsoft Graph message ID; globally unique (emails_message_id_key).';

COMMENT ON COLUMN audit_logs.tenant_id IS
'Tenant the action belongs to; filled on INSERT from the user''s tenant, else the '
'transaction''s app.tenant_id. NULL for MSP-level actions and for rows written '
'before migration 000002 (those are attributed through user_id).';

DROP TRIGGER tenants_azure_tenant_id_guard_trigger ON tenants;
DROP FUNCTION keep_azure_tenant_id_msp_only();
DROP TRIGGER users_tenant_references_trigger ON users;
DROP FUNCTION keep_user_references_in_tenant();
DROP TRIGGER jobs_user_tenant_trigger ON jobs;
DROP TRIGGER audit_logs_user_tenant_trigger ON audit_logs;
DROP FUNCTION check_user_of_tenant();
-- squawk-ignore ban-drop-constraint
ALTER TABLE users DROP CONSTRAINT users_id_tenant_id_key;

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_jobs_mailbox_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_jobs_mailbox_id ON jobs (mailbox_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE jobs DROP CONSTRAINT jobs_mailbox_id_tenant_id_fkey;
ALTER TABLE jobs
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT jobs_mailbox_id_fkey FOREIGN KEY (mailbox_id)
REFERENCES mailboxes (id) ON DELETE CASCADE;
-- squawk-ignore ban-drop-constraint
ALTER TABLE jobs DROP CONSTRAINT jobs_mailbox_id_tenant_id_check;

-- The functions of 000002, as 000002 wrote them.
CREATE OR REPLACE FUNCTION fill_audit_log_tenant_id()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF NEW.tenant_id IS NULL THEN
        NEW.tenant_id := coalesce(
            (SELECT users.tenant_id FROM users WHERE users.id = NEW.user_id),
            current_tenant_id()
        );
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION fill_audit_log_tenant_id() IS
'BEFORE INSERT row trigger on audit_logs: a NULL tenant_id becomes the tenant of '
'user_id, else current_tenant_id(); NULL (MSP-level) when neither is known. '
'SECURITY DEFINER so row-level security cannot hide the user.';

DROP FUNCTION is_msp_admin(user_id UUID);

CREATE OR REPLACE FUNCTION fill_tenant_id_from_parent()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF NEW.tenant_id IS NULL THEN
        IF TG_TABLE_NAME = 'emails' THEN
            NEW.tenant_id := (
                SELECT mailboxes.tenant_id FROM mailboxes
                WHERE mailboxes.id = NEW.mailbox_id
            );
        ELSE
            NEW.tenant_id := (
                SELECT emails.tenant_id FROM emails
                WHERE emails.id = NEW.email_id
            );
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION fill_tenant_id_from_parent() IS
'BEFORE INSERT row trigger on emails (attachments): a NULL tenant_id becomes the '
'tenant of the mailbox (e-mail). SECURITY DEFINER so row-level security cannot '
'hide the parent.';

CREATE OR REPLACE FUNCTION is_msp_wide()
RETURNS BOOLEAN
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(current_setting('app.msp_wide', TRUE), '') = 'on'
$$;

COMMENT ON FUNCTION is_msp_wide() IS
'True when the transaction runs SET LOCAL app.msp_wide = ''on'': the MSP context, '
'which sees and writes every tenant. Used by every tenant_isolation policy.';

CREATE OR REPLACE FUNCTION current_tenant_id()
RETURNS UUID
LANGUAGE sql
STABLE
AS $$
    SELECT NULLIF(current_setting('app.tenant_id', TRUE), '')::UUID
$$;

COMMENT ON FUNCTION current_tenant_id() IS
'The tenant named by SET LOCAL app.tenant_id for this transaction; NULL when none '
'is named (no rows, no writes). Raises on a value that is not a uuid. Used by '
'every tenant_isolation policy.';

DROP FUNCTION set_msp_wide();
DROP FUNCTION set_tenant(tenant UUID);
