-- 000007_held_mail_preserved (up): mail under legal hold stays as it was
-- archived, and a hold placed while mail is being deleted holds.
--
-- Spec: issue 16 (mail is never destroyed under legal hold), D18, D21.
-- 000002 stops deleting and soft-deleting held mail, 000004 moving it to
-- another tenant; three ways around them remained:
-- 1. an UPDATE rewrote held mail in place (body_text, file_path, subject,
--    an attachment's sha256_hash or file_path): the row stayed, what it
--    said did not;
-- 2. enforce_legal_hold() read the hold without a lock: a DELETE or soft
--    delete that read "no hold" committed after a hold placed meanwhile;
-- 3. TRUNCATE fires no row trigger: the owner emptied held mail.
--
-- Locks: CREATE TRIGGER holds SHARE ROW EXCLUSIVE on tenants, mailboxes,
-- emails and attachments until COMMIT (writers wait, readers do not);
-- catalog changes only, no table is read or rewritten.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- (2) Deleting held mail: the hold is read FOR SHARE
-- ---------------------------------------------------------------------------

-- As 000002's, but the tenant row is locked FOR SHARE before its hold is
-- read: a hold being placed is waited for and then seen (READ COMMITTED
-- reads the newest row version; REPEATABLE READ and SERIALIZABLE fail with
-- 40001), and a hold placed later waits for this transaction. Only a
-- delete or a soft delete takes the lock; other UPDATEs return at once.
-- The HINT names the MSP, who alone lifts a hold since 000004.
CREATE OR REPLACE FUNCTION enforce_legal_hold()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    held_tenant_id UUID;
    held_tenant_name tenants.name%TYPE;
    held BOOLEAN;
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

    SELECT tenants.name, tenants.legal_hold INTO held_tenant_name, held
    FROM tenants
    WHERE tenants.id = held_tenant_id
    FOR SHARE;

    IF held THEN
        RAISE EXCEPTION 'Tenant "%" (%) is under legal hold: its % cannot be %',
            held_tenant_name, held_tenant_id, TG_TABLE_NAME,
            CASE WHEN TG_OP = 'UPDATE' THEN 'soft-deleted' ELSE 'deleted' END
        USING
            ERRCODE = 'IA001',
            DETAIL = format('%s on table %I, row %s, was rejected by trigger %I.',
                TG_OP, TG_TABLE_NAME, OLD.id, TG_NAME),
            HINT = 'The MSP lifts the hold first (set_msp_wide(), then UPDATE tenants SET '
                'legal_hold = false).';
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
'included), and on a soft delete (deleted_at from NULL to a value) of its e-mails; '
'the tenant row is read FOR SHARE, so a hold placed concurrently is not missed.';

-- ---------------------------------------------------------------------------
-- (1) Rewriting held mail
-- ---------------------------------------------------------------------------

-- Fires on an UPDATE naming any column but those the trigger passes as its
-- arguments (emails: indexed_at, which the indexer sets, and deleted_at,
-- which enforce_legal_hold() governs). The column lists are what keep the
-- indexer's UPDATEs free of the tenant lock; tests/behaviour check them
-- against the catalog, so a column added later is frozen or fails the
-- suite. A column named but left as it was is no change: ORMs that SET
-- every column still work under hold.
CREATE FUNCTION preserve_held_mail()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    held_tenant_name tenants.name%TYPE;
    held BOOLEAN;
    rewritten TEXT;
BEGIN
    SELECT tenants.name, tenants.legal_hold INTO held_tenant_name, held
    FROM tenants
    WHERE tenants.id = OLD.tenant_id
    FOR SHARE;

    IF held THEN
        SELECT string_agg(quote_ident(archived.key), ', ' ORDER BY archived.key)
        INTO rewritten
        FROM jsonb_each(to_jsonb(OLD) - coalesce(TG_ARGV, '{}')) AS archived
        WHERE archived.value IS DISTINCT FROM to_jsonb(NEW) -> archived.key;
        IF rewritten IS NOT NULL THEN
            RAISE EXCEPTION 'Tenant "%" (%) is under legal hold: its % cannot be rewritten',
                held_tenant_name, OLD.tenant_id, TG_TABLE_NAME
            USING
                ERRCODE = 'IA001',
                DETAIL = format('UPDATE of %s on table %I, row %s, was rejected by trigger %I.',
                    rewritten, TG_TABLE_NAME, OLD.id, TG_NAME),
                HINT = 'The MSP lifts the hold first (set_msp_wide(), then UPDATE tenants SET '
                    'legal_hold = false).';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION preserve_held_mail() IS
'BEFORE UPDATE row trigger on emails and attachments: changing what a row of a tenant '
'under legal hold says (any column but the trigger''s arguments) raises IA001; the tenant '
'row is read FOR SHARE, so a hold placed concurrently is not missed.';

REVOKE EXECUTE ON FUNCTION preserve_held_mail() FROM public;

CREATE TRIGGER emails_legal_hold_rewrite_trigger
BEFORE UPDATE OF id, tenant_id, mailbox_id, message_id, subject, sender, recipients, sent_at,
body_text, body_html, has_attachments, size_bytes, file_path, created_at ON emails
FOR EACH ROW
EXECUTE FUNCTION preserve_held_mail('indexed_at', 'deleted_at');

CREATE TRIGGER attachments_legal_hold_rewrite_trigger
BEFORE UPDATE OF id, tenant_id, email_id, filename, content_type, size_bytes, sha256_hash,
file_path, created_at ON attachments
FOR EACH ROW
EXECUTE FUNCTION preserve_held_mail();

-- ---------------------------------------------------------------------------
-- (3) TRUNCATE
-- ---------------------------------------------------------------------------

-- Statement level: TRUNCATE has no rows to look at, so while any tenant is
-- held no table holding mail is truncated, CASCADE included (its triggers
-- fire for every table it reaches). SHARE on tenants: a hold being placed
-- is waited for, a later one waits for this TRUNCATE.
CREATE FUNCTION refuse_truncate_under_hold()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    held_tenant_name tenants.name%TYPE;
    held_tenant_id UUID;
    held_tenants BIGINT;
BEGIN
    LOCK TABLE tenants IN SHARE MODE;
    SELECT tenants.name, tenants.id, count(*) OVER ()
    INTO held_tenant_name, held_tenant_id, held_tenants
    FROM tenants
    WHERE tenants.legal_hold
    ORDER BY tenants.name, tenants.id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Tenant "%" (%) is under legal hold: % cannot be truncated',
            held_tenant_name, held_tenant_id, TG_TABLE_NAME
        USING
            ERRCODE = 'IA001',
            DETAIL = format('TRUNCATE of table %I was rejected by trigger %I: %s tenant(s) '
                'under legal hold.', TG_TABLE_NAME, TG_NAME, held_tenants),
            HINT = 'DELETE the rows of tenants not under hold instead.';
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION refuse_truncate_under_hold() IS
'BEFORE TRUNCATE statement trigger on tenants, mailboxes, emails and attachments: '
'raises IA001 while any tenant is under legal hold (TRUNCATE fires no row trigger).';

REVOKE EXECUTE ON FUNCTION refuse_truncate_under_hold() FROM public;

CREATE TRIGGER tenants_legal_hold_truncate_trigger
BEFORE TRUNCATE ON tenants
FOR EACH STATEMENT
EXECUTE FUNCTION refuse_truncate_under_hold();

CREATE TRIGGER mailboxes_legal_hold_truncate_trigger
BEFORE TRUNCATE ON mailboxes
FOR EACH STATEMENT
EXECUTE FUNCTION refuse_truncate_under_hold();

CREATE TRIGGER emails_legal_hold_truncate_trigger
BEFORE TRUNCATE ON emails
FOR EACH STATEMENT
EXECUTE FUNCTION refuse_truncate_under_hold();

CREATE TRIGGER attachments_legal_hold_truncate_trigger
BEFORE TRUNCATE ON attachments
FOR EACH STATEMENT
EXECUTE FUNCTION refuse_truncate_under_hold();
