-- 000002_tenant_isolation (up): tenant isolation by row-level security, the
-- application's least-privilege role, and legal hold enforced by the schema.
--
-- Spec: issue 8. An MSP's customers must never see each other's archive, and
-- mail under legal hold must not be deleted, whatever the application does.
-- Applied by golang-migrate as ONE multi-statement Exec (one implicit
-- transaction), like 000001.
-- Order: timeouts, tenant context functions, tenant_id on emails and
-- attachments (column, backfill, NOT NULL, composite keys, fill triggers),
-- tenant_id on audit_logs, legal hold, row-level security, the role and its
-- grants.
--
-- Data: emails and attachments are backfilled here with one UPDATE each, in
-- this migration's transaction. On a large production table that would hold
-- ACCESS EXCLUSIVE on emails for the whole rewrite; there the backfill belongs
-- in batches outside a migration (add the column, fill it batch by batch,
-- then a migration that only validates). It is fine here: 000002 ships with
-- the first release, before any archive holds data at scale, and every
-- statement is still bounded by the timeouts below.
--
-- Lint (squawk): the index and constraint changes below are on tables that
-- exist, so squawk asks for CREATE INDEX CONCURRENTLY and for adding NOT NULL
-- through a validated CHECK. Both pay off only when each step is its own short
-- transaction; inside this single transaction the first ALTER TABLE holds
-- ACCESS EXCLUSIVE until COMMIT whatever follows, and CONCURRENTLY cannot run
-- in a transaction at all. The findings are silenced statement by statement
-- (squawk-ignore), for the first-release reason above; so are NOT VALID +
-- VALIDATE, which squawk itself rejects within one transaction.

-- ---------------------------------------------------------------------------
-- Timeouts, for this migration's transaction only
-- ---------------------------------------------------------------------------

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Tenant context: what the application names per transaction
-- ---------------------------------------------------------------------------

-- The application runs SET LOCAL app.tenant_id = '<uuid>' (or SET LOCAL
-- app.msp_wide = 'on') at the start of each transaction. A setting never set
-- reads as NULL, one set earlier in the session and reset reads as '': both
-- mean "no tenant", so every policy matches nothing (fail closed). A value
-- that is not a uuid raises invalid_text_representation: loud, still closed.
CREATE FUNCTION current_tenant_id()
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

-- Only the exact value 'on' counts: anything else, or nothing, is not MSP-wide.
CREATE FUNCTION is_msp_wide()
RETURNS BOOLEAN
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(current_setting('app.msp_wide', TRUE), '') = 'on'
$$;

COMMENT ON FUNCTION is_msp_wide() IS
'True when the transaction runs SET LOCAL app.msp_wide = ''on'': the MSP context, '
'which sees and writes every tenant. Used by every tenant_isolation policy.';

-- ---------------------------------------------------------------------------
-- emails.tenant_id and attachments.tenant_id
-- ---------------------------------------------------------------------------

-- Policies on e-mails and attachments compare a column of the row itself:
-- joining to mailboxes per row would cost every listing a lookup per e-mail.
-- Composite foreign keys keep the copy equal to the mailbox's tenant.

ALTER TABLE emails ADD COLUMN tenant_id UUID;
ALTER TABLE attachments ADD COLUMN tenant_id UUID;

UPDATE emails
SET tenant_id = mailboxes.tenant_id
FROM mailboxes
WHERE emails.mailbox_id = mailboxes.id;

UPDATE attachments
SET tenant_id = emails.tenant_id
FROM emails
WHERE attachments.email_id = emails.id;

-- squawk-ignore adding-not-nullable-field
ALTER TABLE emails ALTER COLUMN tenant_id SET NOT NULL;
-- squawk-ignore adding-not-nullable-field
ALTER TABLE attachments ALTER COLUMN tenant_id SET NOT NULL;

COMMENT ON COLUMN emails.tenant_id IS
'Tenant of the mailbox (copied, kept equal by emails_mailbox_id_tenant_id_fkey); '
'filled from the mailbox when an INSERT leaves it NULL. Row-level security '
'compares it.';
COMMENT ON COLUMN attachments.tenant_id IS
'Tenant of the e-mail (copied, kept equal by attachments_email_id_tenant_id_fkey); '
'filled from the e-mail when an INSERT leaves it NULL. Row-level security '
'compares it.';

-- The targets of the composite foreign keys. id alone is already unique;
-- (id, tenant_id) is what a foreign key on both columns must reference.
ALTER TABLE mailboxes
-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid
ADD CONSTRAINT mailboxes_id_tenant_id_key UNIQUE (id, tenant_id);
ALTER TABLE emails
-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid
ADD CONSTRAINT emails_id_tenant_id_key UNIQUE (id, tenant_id);

-- The composite keys replace the single-column ones (same ON DELETE CASCADE).
-- Not NOT VALID + VALIDATE: inside one transaction VALIDATE holds the locks
-- of the ADD until COMMIT anyway, so the split would only add a statement.
-- squawk-ignore ban-drop-constraint
ALTER TABLE emails DROP CONSTRAINT emails_mailbox_id_fkey;
ALTER TABLE emails
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT emails_mailbox_id_tenant_id_fkey FOREIGN KEY (mailbox_id, tenant_id)
REFERENCES mailboxes (id, tenant_id) ON DELETE CASCADE;

-- squawk-ignore ban-drop-constraint
ALTER TABLE attachments DROP CONSTRAINT attachments_email_id_fkey;
ALTER TABLE attachments
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
ADD CONSTRAINT attachments_email_id_tenant_id_fkey FOREIGN KEY (email_id, tenant_id)
REFERENCES emails (id, tenant_id) ON DELETE CASCADE;

-- F6: a foreign key needs an index led by its columns, or deleting a mailbox
-- (e-mail) scans all e-mails (attachments). The old single-column indexes are
-- widened to the new keys under their names.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_emails_mailbox_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_emails_mailbox_id ON emails (mailbox_id, tenant_id);
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_attachments_email_id;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_attachments_email_id ON attachments (email_id, tenant_id);

-- Existing INSERTs name only mailbox_id (email_id): the trigger copies the
-- parent's tenant into a NULL tenant_id, before row-level security's WITH
-- CHECK sees the row. SECURITY DEFINER (owned by the migrating role, which
-- row-level security does not restrict): run as the application, a parent
-- hidden by its policy would leave tenant_id NULL and the INSERT would fail
-- with a misleading not-null error instead of the policy's. A parent of
-- another tenant fills that tenant, which the policy then rejects. search_path
-- is pinned so a caller's objects cannot stand in for mailboxes or emails.
CREATE FUNCTION fill_tenant_id_from_parent()
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

REVOKE EXECUTE ON FUNCTION fill_tenant_id_from_parent() FROM public;

-- WHEN: an INSERT that names tenant_id (bulk loads should) pays no function
-- call; the condition is checked without entering PL/pgSQL.
CREATE TRIGGER emails_tenant_id_fill_trigger
BEFORE INSERT ON emails
FOR EACH ROW
WHEN (new.tenant_id IS NULL)
EXECUTE FUNCTION fill_tenant_id_from_parent();

CREATE TRIGGER attachments_tenant_id_fill_trigger
BEFORE INSERT ON attachments
FOR EACH ROW
WHEN (new.tenant_id IS NULL)
EXECUTE FUNCTION fill_tenant_id_from_parent();

-- ---------------------------------------------------------------------------
-- audit_logs.tenant_id
-- ---------------------------------------------------------------------------

-- Audit rows are immutable (D3): ADD COLUMN without a default only changes the
-- catalog, no row is rewritten, so the rows written before this migration keep
-- tenant_id NULL. Their policy attributes them through their user (see
-- tenant_isolation on audit_logs). No foreign key: the row must outlive its
-- tenant unchanged, and ON DELETE SET NULL would be a modification.
ALTER TABLE audit_logs ADD COLUMN tenant_id UUID;

COMMENT ON COLUMN audit_logs.tenant_id IS
'Tenant the action belongs to; filled on INSERT from the user''s tenant, else the '
'transaction''s app.tenant_id. NULL for MSP-level actions and for rows written '
'before migration 000002 (those are attributed through user_id).';

-- SECURITY DEFINER for the same reason as fill_tenant_id_from_parent(): the
-- user's row must be found whatever the caller's policies show.
CREATE FUNCTION fill_audit_log_tenant_id()
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

REVOKE EXECUTE ON FUNCTION fill_audit_log_tenant_id() FROM public;

CREATE TRIGGER audit_log_tenant_id_fill_trigger
BEFORE INSERT ON audit_logs
FOR EACH ROW
WHEN (new.tenant_id IS NULL)
EXECUTE FUNCTION fill_audit_log_tenant_id();

-- ---------------------------------------------------------------------------
-- Legal hold
-- ---------------------------------------------------------------------------

-- Raises legal_hold_violation (SQLSTATE IA001, class IA: IronArchive's own)
-- when a row of a tenant on legal hold would be deleted, or an e-mail
-- soft-deleted (deleted_at from NULL to a value). Deleting a tenant first
-- removes the tenant row and only then cascades, when the hold can no longer
-- be read: so tenants (and mailboxes, for the clearer error) are guarded
-- themselves. SECURITY DEFINER: run as the application, a tenant row hidden
-- by row-level security would read as "no hold" and let the delete through
-- (fail open). A tenant that is not found is one being deleted right now,
-- whose own guard already passed.
CREATE FUNCTION enforce_legal_hold()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    held_tenant_id UUID;
    held_tenant_name TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NOT (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL) THEN
            RETURN NEW;
        END IF;
    END IF;

    IF TG_TABLE_NAME = 'tenants' THEN
        held_tenant_id := OLD.id;
    ELSE
        held_tenant_id := OLD.tenant_id;
    END IF;

    SELECT tenants.name INTO held_tenant_name
    FROM tenants
    WHERE tenants.id = held_tenant_id AND tenants.legal_hold;

    IF FOUND THEN
        RAISE EXCEPTION 'Tenant "%" (%) is under legal hold: its % cannot be %',
            held_tenant_name, held_tenant_id, TG_TABLE_NAME,
            CASE WHEN TG_OP = 'UPDATE' THEN 'soft-deleted' ELSE 'deleted' END
        USING
            ERRCODE = 'IA001',
            DETAIL = format('%s on table %I, row %s, was rejected by trigger %I.',
                TG_OP, TG_TABLE_NAME, OLD.id, TG_NAME),
            HINT = 'Lift the hold (UPDATE tenants SET legal_hold = false) first.';
    END IF;

    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;

COMMENT ON FUNCTION enforce_legal_hold() IS
'Trigger function raising SQLSTATE IA001 "Tenant ... is under legal hold" on '
'DELETE of a held tenant, or of its mailboxes, e-mails or attachments (cascades '
'included), and on a soft delete (deleted_at from NULL to a value) of its e-mails.';

REVOKE EXECUTE ON FUNCTION enforce_legal_hold() FROM public;

CREATE TRIGGER tenants_legal_hold_trigger
BEFORE DELETE ON tenants
FOR EACH ROW
EXECUTE FUNCTION enforce_legal_hold();

CREATE TRIGGER mailboxes_legal_hold_trigger
BEFORE DELETE ON mailboxes
FOR EACH ROW
EXECUTE FUNCTION enforce_legal_hold();

CREATE TRIGGER emails_legal_hold_trigger
BEFORE UPDATE OR DELETE ON emails
FOR EACH ROW
EXECUTE FUNCTION enforce_legal_hold();

CREATE TRIGGER attachments_legal_hold_trigger
BEFORE DELETE ON attachments
FOR EACH ROW
EXECUTE FUNCTION enforce_legal_hold();

-- ---------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------

-- ENABLE, not FORCE: the owner (the migrating role) is not restricted, so
-- migrations, backfills, foreign-key actions and the SECURITY DEFINER
-- functions above see every row. Every other role, the application's
-- included, sees and writes only what tenant_isolation allows. USING and
-- WITH CHECK are the same: a row of tenant A cannot be moved to tenant B.
-- Rows with tenant_id NULL (MSP admins in users, MSP-level jobs) match only
-- the MSP context. The functions are wrapped in scalar subqueries: each is
-- then evaluated once per statement (an InitPlan), not once per row, and
-- tenant_id is compared with a constant (measured in docs/benchmarks.md).

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
USING ((SELECT is_msp_wide()) OR id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR id = (SELECT current_tenant_id()));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
USING ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

ALTER TABLE mailboxes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mailboxes
USING ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

ALTER TABLE emails ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON emails
USING ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attachments
USING ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
USING ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()))
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

-- Rows written before this migration have tenant_id NULL: a tenant sees them
-- when their user is one of its users (users' own policy applies inside the
-- subquery). Rows of deleted users and MSP-level rows stay MSP-only.
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_logs
USING (
    (SELECT is_msp_wide())
    OR tenant_id = (SELECT current_tenant_id())
    OR (
        tenant_id IS NULL
        AND user_id IN (
            SELECT users.id FROM users
            WHERE users.tenant_id = (SELECT current_tenant_id())
        )
    )
)
WITH CHECK ((SELECT is_msp_wide()) OR tenant_id = (SELECT current_tenant_id()));

-- ---------------------------------------------------------------------------
-- The application's role
-- ---------------------------------------------------------------------------

-- NOLOGIN: the application's login roles are made members of it
-- (GRANT ironarchive_app TO <login>). Roles belong to the cluster, not the
-- database: another database of the cluster may have created it already, or
-- be creating it right now (hence the duplicate handlers). Needs CREATEROLE
-- (a managed service's master user has it) or an existing role.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ironarchive_app') THEN
        CREATE ROLE ironarchive_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END;
$$;

-- Not the owner, so row-level security applies to it; no CREATE on the schema
-- (PostgreSQL 15 and later grant PUBLIC none on public), so no DDL.
GRANT USAGE ON SCHEMA public TO ironarchive_app;
GRANT SELECT, INSERT, UPDATE, DELETE
ON tenants, users, mailboxes, emails, attachments, jobs
TO ironarchive_app;
-- Append-only (D3): no UPDATE, DELETE or TRUNCATE, besides the trigger.
GRANT SELECT, INSERT ON audit_logs TO ironarchive_app;
-- The admin interface edits settings (CONFIG_CHANGE); the keys themselves are
-- fixed by migrations (D10), so no INSERT or DELETE.
GRANT SELECT, UPDATE ON settings TO ironarchive_app;
GRANT EXECUTE ON FUNCTION current_tenant_id(), is_msp_wide() TO ironarchive_app;
