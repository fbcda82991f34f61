-- 000007_held_mail_preserved (down): back to 000006 exactly: held mail can
-- be rewritten and truncated again, and enforce_legal_hold() reads the hold
-- without a lock, as 000002 wrote it.
--
-- Reverse order of the up migration. Plain DROP without IF EXISTS (D11).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP TRIGGER attachments_legal_hold_truncate_trigger ON attachments;
DROP TRIGGER emails_legal_hold_truncate_trigger ON emails;
DROP TRIGGER mailboxes_legal_hold_truncate_trigger ON mailboxes;
DROP TRIGGER tenants_legal_hold_truncate_trigger ON tenants;
DROP FUNCTION refuse_truncate_under_hold();

DROP TRIGGER attachments_legal_hold_rewrite_trigger ON attachments;
DROP TRIGGER emails_legal_hold_rewrite_trigger ON emails;
DROP FUNCTION preserve_held_mail();

-- 000002's enforce_legal_hold() and its comment, as they were.
CREATE OR REPLACE FUNCTION enforce_legal_hold()
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
