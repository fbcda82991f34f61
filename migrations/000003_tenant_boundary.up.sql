-- 000003_tenant_boundary (up): the tenant boundary where row-level security
-- does not look: references, unique rules and the pooled session.
--
-- Spec: issue 18, schema-decisions.md F10, F13-F15 and D14-D17. Foreign-key
-- and unique checks bypass policies, and a session-level setting outlives its
-- transaction on a pooled connection; this migration closes those channels.
-- Applied by golang-migrate as ONE multi-statement Exec (one implicit
-- transaction), like 000001 and 000002.
-- Order: timeouts, the rows that would break the new rules (refused, named),
-- the transaction-scoped tenant context (D17), parents found as the caller
-- sees them and a missing one reported as 23503 (D15), references inside a
-- tenant (D14), unique rules scoped by tenant (D16), grants.
--
-- Lint (squawk): as in 000002, constraint and index changes on existing
-- tables inside one transaction are silenced statement by statement; this
-- migration rewrites no table and its indexes are built on tables the first
-- release holds small.

-- ---------------------------------------------------------------------------
-- Timeouts, for this migration's transaction only
-- ---------------------------------------------------------------------------

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Rows that break the new rules: refused before anything changes
-- ---------------------------------------------------------------------------

-- The ADD CONSTRAINTs below would fail on such rows too, but with one key and
-- no count; this names each rule and how many rows break it, and the whole
-- migration rolls back (nothing is half-applied). Fix the rows, then migrate
-- again (make migrate-force to the previous version first, as migrate marks
-- the version dirty).
DO $$
DECLARE
    broken TEXT[] := ARRAY[]::TEXT[];
    rule RECORD;
BEGIN
    FOR rule IN
        SELECT 'jobs.mailbox_id names a mailbox of the job''s own tenant (D14)' AS name,
            count(*) AS rows_breaking
        FROM jobs
        INNER JOIN mailboxes ON jobs.mailbox_id = mailboxes.id
        WHERE jobs.tenant_id IS DISTINCT FROM mailboxes.tenant_id
        UNION ALL
        SELECT 'jobs.user_id names a user of the job''s own tenant or an MSP admin (D14)',
            count(*)
        FROM jobs
        INNER JOIN users ON jobs.user_id = users.id
        WHERE users.tenant_id IS NOT NULL
            AND jobs.tenant_id IS DISTINCT FROM users.tenant_id
        UNION ALL
        SELECT 'audit_logs.user_id names a user of the row''s own tenant or an MSP admin (D14)',
            count(*)
        FROM audit_logs
        INNER JOIN users ON audit_logs.user_id = users.id
        WHERE users.tenant_id IS NOT NULL
            AND audit_logs.tenant_id IS NOT NULL
            AND audit_logs.tenant_id <> users.tenant_id
    LOOP
        IF rule.rows_breaking > 0 THEN
            broken := broken || format('%s: %s rows break it', rule.name, rule.rows_breaking);
        END IF;
    END LOOP;
    IF cardinality(broken) > 0 THEN
        RAISE EXCEPTION '000003_tenant_boundary: existing rows break the new rules: %',
            array_to_string(broken, '; ')
        USING ERRCODE = 'foreign_key_violation',
            HINT = 'Nothing was changed. Correct or remove those rows, then migrate again.';
    END IF;
END;
$$;

-- ---------------------------------------------------------------------------
-- Tenant context for one transaction (D17, F15)
-- ---------------------------------------------------------------------------

-- set_tenant() and set_msp_wide() store the context in one setting,
-- app.tenant_context = '<start of this transaction> <tenant uuid | msp>', with
-- set_config(..., true) (gone at the end of the transaction). The context
-- functions honour it only when that start is the current transaction's: a
-- plain SET (session level) or a value left by an earlier transaction on a
-- pooled connection reads as no context, so every policy matches nothing
-- (fail closed). The 000002 settings app.tenant_id and app.msp_wide are read
-- no more, so an old SET of them, even in this transaction, changes nothing.
-- A parameter names the tenant: no SQL is built by formatting a value into a SET.
CREATE FUNCTION set_tenant(tenant UUID)
RETURNS VOID
LANGUAGE plpgsql
VOLATILE
SET search_path = public, pg_temp
AS $$
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'set_tenant: the tenant id is NULL'
        USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Name the tenant of this transaction, or call set_msp_wide().';
    END IF;
    PERFORM set_config('app.tenant_context',
        extract(EPOCH FROM transaction_timestamp())::TEXT || ' ' || tenant::TEXT, TRUE);
END;
$$;

COMMENT ON FUNCTION set_tenant(tenant UUID) IS
'Names the tenant of the current transaction: SELECT set_tenant($1). Lasts until '
'COMMIT or ROLLBACK; replaces an MSP context. Raises 22004 on NULL.';

CREATE FUNCTION set_msp_wide()
RETURNS VOID
LANGUAGE sql
VOLATILE
SET search_path = public, pg_temp
AS $$
    SELECT set_config('app.tenant_context',
        extract(EPOCH FROM transaction_timestamp())::TEXT || ' msp', TRUE);
$$;

COMMENT ON FUNCTION set_msp_wide() IS
'Makes the current transaction MSP-wide (every tenant): SELECT set_msp_wide(). '
'Lasts until COMMIT or ROLLBACK; replaces a tenant context.';

-- PL/pgSQL, not SQL: an SQL function is inlined, and the planner parses its
-- body again for every custom plan it makes, which cost the application's
-- listing most of its row-level-security overhead (docs/benchmarks.md). The
-- policies call them as (SELECT f()), once per statement, so inlining bought
-- nothing at run time. PARALLEL SAFE: a parallel worker sees the leader's
-- settings and transaction start, and an unsafe function would keep every
-- query under a policy out of parallel plans.
CREATE OR REPLACE FUNCTION current_tenant_id()
RETURNS UUID
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN CASE
        WHEN split_part(current_setting('app.tenant_context', TRUE), ' ', 1)
            = extract(EPOCH FROM transaction_timestamp())::TEXT
            THEN NULLIF(split_part(current_setting('app.tenant_context', TRUE), ' ', 2),
                'msp')::UUID
    END;
END;
$$;

COMMENT ON FUNCTION current_tenant_id() IS
'The tenant named by set_tenant() in this transaction; NULL when none is named '
'(no rows, no writes), including a session-level SET or one left by an earlier '
'transaction. Used by every tenant_isolation policy.';

CREATE OR REPLACE FUNCTION is_msp_wide()
RETURNS BOOLEAN
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN coalesce(current_setting('app.tenant_context', TRUE), '')
        = extract(EPOCH FROM transaction_timestamp())::TEXT || ' msp';
END;
$$;

COMMENT ON FUNCTION is_msp_wide() IS
'True when set_msp_wide() ran in this transaction: the MSP context, which sees '
'and writes every tenant; a session-level SET is ignored. Used by every '
'tenant_isolation policy.';

-- ---------------------------------------------------------------------------
-- Parents found as the caller sees them; a missing one is 23503 (D15, F13)
-- ---------------------------------------------------------------------------

-- Now SECURITY INVOKER: the parent is looked up under the caller's policies,
-- so in tenant A's context a parent of tenant B is as missing as one that
-- does not exist, and both raise the same foreign_key_violation naming the
-- key (before: B's parent filled tenant B and the policy answered 42501,
-- a nonexistent one left NULL and NOT NULL answered 23502). The owner and the
-- MSP context see every parent.
CREATE OR REPLACE FUNCTION fill_tenant_id_from_parent()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'emails' THEN
        NEW.tenant_id := (
            SELECT mailboxes.tenant_id FROM mailboxes
            WHERE mailboxes.id = NEW.mailbox_id
        );
        IF NEW.tenant_id IS NULL THEN
            RAISE EXCEPTION 'insert or update on table "emails" violates foreign key '
                'constraint "emails_mailbox_id_tenant_id_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (mailbox_id)=(%s) is not present in table "mailboxes".',
                    NEW.mailbox_id),
                SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                CONSTRAINT = 'emails_mailbox_id_tenant_id_fkey';
        END IF;
    ELSE
        NEW.tenant_id := (
            SELECT emails.tenant_id FROM emails
            WHERE emails.id = NEW.email_id
        );
        IF NEW.tenant_id IS NULL THEN
            RAISE EXCEPTION 'insert or update on table "attachments" violates foreign key '
                'constraint "attachments_email_id_tenant_id_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (email_id)=(%s) is not present in table "emails".',
                    NEW.email_id),
                SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                CONSTRAINT = 'attachments_email_id_tenant_id_fkey';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION fill_tenant_id_from_parent() IS
'BEFORE INSERT row trigger on emails (attachments): a NULL tenant_id becomes the '
'tenant of the mailbox (e-mail) as the caller sees it; a missing or invisible '
'parent raises 23503 naming the composite foreign key (D15).';

-- The user as the caller sees it, and MSP admins (tenant_id NULL), whom a
-- tenant's policy hides but D14 allows on every tenant's rows. SECURITY
-- DEFINER so the policy cannot hide them; it answers only for MSP admins, so
-- it tells a tenant nothing about another tenant's users. FOR KEY SHARE: with
-- users_id_tenant_id_key, tenant_id is a key column, so the user cannot move
-- to another tenant until the referencing row's transaction ends.
CREATE FUNCTION is_msp_admin(user_id UUID)
RETURNS BOOLEAN
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM users
        WHERE users.id = is_msp_admin.user_id AND users.tenant_id IS NULL
        FOR KEY SHARE
    )
$$;

COMMENT ON FUNCTION is_msp_admin(user_id UUID) IS
'True when the user exists and is an MSP admin (tenant_id NULL), whatever the '
'caller''s policies show; used by check_user_of_tenant().';

REVOKE EXECUTE ON FUNCTION is_msp_admin(user_id UUID) FROM public;

-- SECURITY INVOKER, like fill_tenant_id_from_parent(): a user of another
-- tenant is as missing as one that does not exist.
CREATE OR REPLACE FUNCTION fill_audit_log_tenant_id()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
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
'user_id as the caller sees it, else current_tenant_id(); NULL (MSP-level) when '
'neither is known.';

COMMENT ON COLUMN audit_logs.tenant_id IS
'Tenant the action belongs to; filled on INSERT from the user''s tenant, else the '
'transaction''s set_tenant(). NULL for MSP-level actions and for rows written '
'before migration 000002 (those are attributed through user_id).';

-- ---------------------------------------------------------------------------
-- References stay inside a tenant (D14, F10)
-- ---------------------------------------------------------------------------

-- jobs.mailbox_id: a composite foreign key, as for e-mails. A job naming a
-- mailbox must name its tenant (MATCH SIMPLE skips a key with a NULL column).
ALTER TABLE jobs
-- squawk-ignore constraint-missing-not-valid
ADD CONSTRAINT jobs_mailbox_id_tenant_id_check
CHECK (mailbox_id IS NULL OR tenant_id IS NOT NULL);

-- squawk-ignore ban-drop-constraint
ALTER TABLE jobs DROP CONSTRAINT jobs_mailbox_id_fkey;
ALTER TABLE jobs
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT jobs_mailbox_id_tenant_id_fkey FOREIGN KEY (mailbox_id, tenant_id)
REFERENCES mailboxes (id, tenant_id) ON DELETE CASCADE;

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_jobs_mailbox_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_jobs_mailbox_id ON jobs (mailbox_id, tenant_id);

-- jobs.user_id and audit_logs.user_id: the user is of the row's tenant or an
-- MSP admin, which no composite key can express (an MSP admin's tenant_id is
-- NULL). The single-column keys stay for existence and ON DELETE SET NULL; a
-- trigger adds the tenant, answering exactly like the key does for a missing
-- user. users_id_tenant_id_key makes tenant_id a key column of users, so the
-- FOR KEY SHARE below holds the user's tenant until this transaction ends.
ALTER TABLE users
-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid
ADD CONSTRAINT users_id_tenant_id_key UNIQUE (id, tenant_id);

CREATE FUNCTION check_user_of_tenant()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    user_tenant_id UUID;
BEGIN
    SELECT users.tenant_id INTO user_tenant_id
    FROM users WHERE users.id = NEW.user_id
    FOR KEY SHARE;
    IF FOUND AND (user_tenant_id IS NULL OR user_tenant_id = NEW.tenant_id) THEN
        RETURN NEW;
    END IF;
    IF NOT FOUND AND is_msp_admin(NEW.user_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
        TG_TABLE_NAME, TG_TABLE_NAME || '_user_id_fkey'
    USING ERRCODE = 'foreign_key_violation',
        DETAIL = format('Key (user_id)=(%s) is not present in table "users".', NEW.user_id),
        SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
        CONSTRAINT = TG_TABLE_NAME || '_user_id_fkey';
END;
$$;

COMMENT ON FUNCTION check_user_of_tenant() IS
'BEFORE row trigger on jobs and audit_logs: user_id names a user of the row''s '
'tenant or an MSP admin; otherwise 23503 exactly as <table>_user_id_fkey reports a '
'missing user (D14).';

REVOKE EXECUTE ON FUNCTION check_user_of_tenant() FROM public;

-- Named after the fill trigger (audit_log_...), so it fires after it: BEFORE
-- triggers fire in name order.
CREATE TRIGGER audit_logs_user_tenant_trigger
BEFORE INSERT ON audit_logs
FOR EACH ROW
WHEN (new.user_id IS NOT NULL)
EXECUTE FUNCTION check_user_of_tenant();

CREATE TRIGGER jobs_user_tenant_trigger
BEFORE INSERT OR UPDATE OF user_id, tenant_id ON jobs
FOR EACH ROW
WHEN (new.user_id IS NOT NULL)
EXECUTE FUNCTION check_user_of_tenant();

-- The other side: a user referenced by rows of its tenant does not move to
-- another one (the MSP context could). Rows with tenant_id NULL in audit_logs
-- (written before 000002) are attributed through their user, so they pin the
-- user's tenant too. SECURITY DEFINER: every referencing row counts.
CREATE FUNCTION keep_user_references_in_tenant()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF (NEW.tenant_id IS NOT NULL AND EXISTS (
        SELECT FROM jobs
        WHERE jobs.user_id = NEW.id AND jobs.tenant_id IS DISTINCT FROM NEW.tenant_id
    )) OR EXISTS (
        SELECT FROM audit_logs
        WHERE audit_logs.user_id = NEW.id
            AND (
                (NEW.tenant_id IS NOT NULL AND audit_logs.tenant_id <> NEW.tenant_id)
                OR (audit_logs.tenant_id IS NULL AND OLD.tenant_id IS NOT NULL)
            )
    ) THEN
        RAISE EXCEPTION 'update or delete on table "users" violates foreign key constraint '
            '"jobs_user_id_fkey" or "audit_logs_user_id_fkey"'
        USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (id, tenant_id)=(%s, %s) is still referenced by rows '
                'of tenant %s.', NEW.id, coalesce(NEW.tenant_id::TEXT, 'NULL'),
                coalesce(OLD.tenant_id::TEXT, 'NULL')),
            HINT = 'A user''s jobs and audit rows stay in its tenant: create a new user.';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION keep_user_references_in_tenant() IS
'AFTER UPDATE OF tenant_id row trigger on users: refuses (23503) to move a user '
'whose jobs or audit rows belong to its tenant (D14).';

REVOKE EXECUTE ON FUNCTION keep_user_references_in_tenant() FROM public;

CREATE TRIGGER users_tenant_references_trigger
AFTER UPDATE OF tenant_id ON users
FOR EACH ROW
WHEN (old.tenant_id IS DISTINCT FROM new.tenant_id)
EXECUTE FUNCTION keep_user_references_in_tenant();

-- ---------------------------------------------------------------------------
-- Unique rules scoped by tenant (D16, F14)
-- ---------------------------------------------------------------------------

-- A global UNIQUE (message_id) answered 23505 for a message id that only
-- another tenant holds: an existence oracle across tenants. The same message
-- can legitimately reach two tenants (one mail sent to both).
-- squawk-ignore ban-drop-constraint
ALTER TABLE emails DROP CONSTRAINT emails_message_id_key;
ALTER TABLE emails
-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid
ADD CONSTRAINT emails_tenant_id_message_id_key UNIQUE (tenant_id, message_id);

COMMENT ON COLUMN emails.message_id IS
'Microsoft Graph message ID; unique within its tenant '
'(emails_tenant_id_message_id_key, D16).';

-- tenants.azure_tenant_id stays unique across tenants (one Azure AD tenant is
-- one IronArchive tenant), but only the MSP context may change it: a tenant
-- context setting another tenant's (discoverable) Azure id would learn from
-- the 23505 that the other is a customer too. The caller's own row-level
-- security decides (SECURITY INVOKER): the owner and the MSP context pass.
CREATE FUNCTION keep_azure_tenant_id_msp_only()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF row_security_active('tenants') AND NOT is_msp_wide() THEN
        RAISE EXCEPTION 'only the MSP context can change tenants.azure_tenant_id'
        USING ERRCODE = 'insufficient_privilege',
            HINT = 'Call set_msp_wide() in the transaction that changes it.';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION keep_azure_tenant_id_msp_only() IS
'BEFORE UPDATE OF azure_tenant_id row trigger on tenants: a tenant context changing '
'it gets 42501, whatever value it names, so the unique key answers nothing (D16).';

REVOKE EXECUTE ON FUNCTION keep_azure_tenant_id_msp_only() FROM public;

CREATE TRIGGER tenants_azure_tenant_id_guard_trigger
BEFORE UPDATE OF azure_tenant_id ON tenants
FOR EACH ROW
WHEN (old.azure_tenant_id IS DISTINCT FROM new.azure_tenant_id)
EXECUTE FUNCTION keep_azure_tenant_id_msp_only();

-- ---------------------------------------------------------------------------
-- The application's role
-- ---------------------------------------------------------------------------

GRANT EXECUTE ON FUNCTION set_tenant(tenant UUID), set_msp_wide() TO ironarchive_app;
-- check_user_of_tenant() runs as the caller; it answers only "is an MSP admin".
GRANT EXECUTE ON FUNCTION is_msp_admin(user_id UUID) TO ironarchive_app;
