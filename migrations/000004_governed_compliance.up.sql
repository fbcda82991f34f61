-- 000004_governed_compliance (up): legal hold and retention governed by the
-- MSP and recorded by the schema, audit time from the server's clock, a hash
-- chain over the audit trail, and the one path by which retention removes
-- mail.
--
-- Spec: issue 16, schema-decisions.md F11, F12 and D18-D21. Applied by
-- golang-migrate as ONE multi-statement Exec (one implicit transaction).
-- Order: timeouts, the acting user, governed hold and retention (D18), the
-- audit trail's clock and chain (D19, D20), retention (D21), grants.
--
-- Locks: CREATE TRIGGER holds SHARE ROW EXCLUSIVE on tenants and audit_logs
-- until COMMIT, so nothing here reads those tables: the rows written before
-- this migration are sealed by 000006, which reads them without blocking
-- writers. New tables only otherwise.

-- ---------------------------------------------------------------------------
-- Timeouts, for this migration's transaction only
-- ---------------------------------------------------------------------------

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- The acting user: who the audit rows the schema writes are attributed to
-- ---------------------------------------------------------------------------

-- Like set_tenant() (000003): stamped with this transaction's start, so a
-- value set at session level, or left by an earlier transaction on a pooled
-- connection, reads as nobody.
CREATE FUNCTION set_acting_user(acting_user UUID)
RETURNS VOID
LANGUAGE sql
VOLATILE
SET search_path = public, pg_temp
AS $$
    SELECT set_config('app.acting_user',
        extract(EPOCH FROM transaction_timestamp())::TEXT || ' '
        || coalesce(acting_user::TEXT, ''), TRUE);
$$;

COMMENT ON FUNCTION set_acting_user(acting_user UUID) IS
'Names the application user acting in the current transaction: SELECT '
'set_acting_user($1). The audit rows the schema writes itself (hold, retention, '
'purges) carry it as user_id. Lasts until COMMIT or ROLLBACK.';

CREATE FUNCTION current_acting_user_id()
RETURNS UUID
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN CASE
        WHEN split_part(current_setting('app.acting_user', TRUE), ' ', 1)
            = extract(EPOCH FROM transaction_timestamp())::TEXT
            THEN NULLIF(split_part(current_setting('app.acting_user', TRUE), ' ', 2),
                '')::UUID
    END;
END;
$$;

COMMENT ON FUNCTION current_acting_user_id() IS
'The user named by set_acting_user() in this transaction; NULL when none is named, '
'including a session-level SET or one left by an earlier transaction.';

-- ---------------------------------------------------------------------------
-- Legal hold and retention are governed (D18, F11)
-- ---------------------------------------------------------------------------

-- Only the MSP context (set_msp_wide()) changes them. A tenant context is
-- refused with IA002 (class IA, IronArchive's own; IA001 is the hold itself),
-- whatever the role; so is a role under row-level security without the MSP
-- context. A role that row-level security does not restrict (the owner, a
-- superuser) sees every tenant like the MSP context and passes: its change is
-- recorded like any other, and what it could do besides is what the hash
-- chain below makes visible. A new tenant needs no guard: row-level security
-- lets only the MSP context insert one.
CREATE FUNCTION govern_hold_and_retention()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT is_msp_wide()
        AND (current_tenant_id() IS NOT NULL OR row_security_active('tenants')) THEN
        RAISE EXCEPTION 'only the MSP context can change legal_hold or '
            'retention_policy_days of tenant %', NEW.id
        USING ERRCODE = 'IA002',
            DETAIL = format('legal_hold %s -> %s, retention_policy_days %s -> %s, '
                'refused in the context of tenant %s.',
                OLD.legal_hold, NEW.legal_hold,
                OLD.retention_policy_days, NEW.retention_policy_days,
                coalesce(current_tenant_id()::TEXT, 'none')),
            HINT = 'The MSP changes them: set_msp_wide() in the same transaction; the '
                'change is written to audit_logs.';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION govern_hold_and_retention() IS
'BEFORE UPDATE row trigger on tenants: setting or lifting legal_hold, or changing '
'retention_policy_days, outside the MSP context raises IA002 (D18).';

REVOKE EXECUTE ON FUNCTION govern_hold_and_retention() FROM public;

CREATE TRIGGER tenants_governance_trigger
BEFORE UPDATE ON tenants
FOR EACH ROW
WHEN (
    old.legal_hold IS DISTINCT FROM new.legal_hold
    OR old.retention_policy_days IS DISTINCT FROM new.retention_policy_days
)
EXECUTE FUNCTION govern_hold_and_retention();

-- Each change is an audit row written in the same transaction: which column,
-- old and new value, the context and roles it was made in, and the acting
-- user when the application named one. A tenant created under hold records
-- the hold placed (its retention at creation is the application's
-- TENANT_CREATE). SECURITY INVOKER: the MSP context may write audit rows of
-- every tenant, and the owner is not restricted.
CREATE FUNCTION audit_hold_and_retention()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    made_in JSONB := jsonb_build_object(
        'context', CASE WHEN is_msp_wide() THEN 'msp' ELSE 'unrestricted role' END,
        'current_user', current_user, 'session_user', session_user);
    old_hold BOOLEAN;
    old_days INTEGER;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_hold := OLD.legal_hold;
        old_days := OLD.retention_policy_days;
    END IF;
    IF NEW.legal_hold IS DISTINCT FROM coalesce(old_hold, FALSE) THEN
        INSERT INTO audit_logs (user_id, tenant_id, action, details)
        VALUES (current_acting_user_id(), NEW.id,
            CASE WHEN NEW.legal_hold THEN 'LEGAL_HOLD_PLACED' ELSE 'LEGAL_HOLD_LIFTED' END,
            made_in || jsonb_build_object('column', 'legal_hold',
                'old', old_hold, 'new', NEW.legal_hold));
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.retention_policy_days IS DISTINCT FROM old_days THEN
        INSERT INTO audit_logs (user_id, tenant_id, action, details)
        VALUES (current_acting_user_id(), NEW.id, 'RETENTION_POLICY_CHANGED',
            made_in || jsonb_build_object('column', 'retention_policy_days',
                'old', old_days, 'new', NEW.retention_policy_days));
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_hold_and_retention() IS
'AFTER UPDATE (and AFTER INSERT of a held tenant) row trigger on tenants: writes '
'LEGAL_HOLD_PLACED, LEGAL_HOLD_LIFTED or RETENTION_POLICY_CHANGED to audit_logs with the '
'old and new value, the context and the acting user (D18).';

REVOKE EXECUTE ON FUNCTION audit_hold_and_retention() FROM public;

-- WHEN: the frequent updates of other columns (storage_bytes) pay no call.
CREATE TRIGGER tenants_governance_audit_trigger
AFTER UPDATE ON tenants
FOR EACH ROW
WHEN (
    old.legal_hold IS DISTINCT FROM new.legal_hold
    OR old.retention_policy_days IS DISTINCT FROM new.retention_policy_days
)
EXECUTE FUNCTION audit_hold_and_retention();

CREATE TRIGGER tenants_governance_audit_insert_trigger
AFTER INSERT ON tenants
FOR EACH ROW
WHEN (new.legal_hold)
EXECUTE FUNCTION audit_hold_and_retention();

-- Held mail stays in its tenant. 000002's hold guards deletes and soft
-- deletes; the composite keys let an e-mail (attachment) change mailbox_id
-- (email_id) and tenant_id together, which the MSP context may do, so held
-- mail could leave its tenant and be deleted in another one while the hold
-- stands (found by tests/behaviour/test_compliance_properties.py). IA001,
-- like every other way of losing held mail. SECURITY DEFINER, as
-- enforce_legal_hold(): the held tenant is read whatever the caller sees.
CREATE FUNCTION keep_held_mail_in_its_tenant()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    held_tenant_name tenants.name%TYPE;
BEGIN
    SELECT tenants.name INTO held_tenant_name
    FROM tenants
    WHERE tenants.id = OLD.tenant_id AND tenants.legal_hold;
    IF FOUND THEN
        RAISE EXCEPTION 'Tenant "%" (%) is under legal hold: its % cannot leave it',
            held_tenant_name, OLD.tenant_id, TG_TABLE_NAME
        USING
            ERRCODE = 'IA001',
            DETAIL = format('UPDATE on table %I, row %s, to tenant %s, was rejected by '
                'trigger %I.', TG_TABLE_NAME, OLD.id, NEW.tenant_id, TG_NAME),
            HINT = 'The MSP lifts the hold first (set_msp_wide(), then UPDATE tenants SET '
                'legal_hold = false).';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION keep_held_mail_in_its_tenant() IS
'BEFORE UPDATE row trigger on emails and attachments: a row of a tenant under legal hold '
'moved to another tenant raises IA001 (D18, D21).';

REVOKE EXECUTE ON FUNCTION keep_held_mail_in_its_tenant() FROM public;

CREATE TRIGGER emails_legal_hold_move_trigger
BEFORE UPDATE ON emails
FOR EACH ROW
WHEN (old.tenant_id IS DISTINCT FROM new.tenant_id)
EXECUTE FUNCTION keep_held_mail_in_its_tenant();

CREATE TRIGGER attachments_legal_hold_move_trigger
BEFORE UPDATE ON attachments
FOR EACH ROW
WHEN (old.tenant_id IS DISTINCT FROM new.tenant_id)
EXECUTE FUNCTION keep_held_mail_in_its_tenant();

-- ---------------------------------------------------------------------------
-- The audit trail's clock (D19, F12) and hash chain (D20)
-- ---------------------------------------------------------------------------

-- One chain per tenant (chain_id = audit_logs.tenant_id) and one for the
-- MSP-level rows (tenant_id NULL, chain_id the nil UUID). Per tenant, not
-- global: writers of different tenants never wait for each other, a tenant's
-- chain is verified and exported without reading another tenant's rows (D16),
-- and the chain stays distributable by tenant_id.
CREATE TABLE audit_log_chain_heads (
    chain_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    chain_hash BYTEA NOT NULL,
    CONSTRAINT audit_log_chain_heads_pkey PRIMARY KEY (chain_id),
    CONSTRAINT audit_log_chain_heads_seq_check CHECK (seq >= 0),
    CONSTRAINT audit_log_chain_heads_chain_hash_check CHECK (octet_length(chain_hash) = 32)
);

COMMENT ON TABLE audit_log_chain_heads IS
'The last link of each audit chain; its row lock orders the chain''s writers (D20).';
COMMENT ON COLUMN audit_log_chain_heads.chain_id IS
'The tenant whose audit rows the chain links; the nil UUID for MSP-level rows.';
COMMENT ON COLUMN audit_log_chain_heads.seq IS 'Sequence number of the last link; 0 before any.';
COMMENT ON COLUMN audit_log_chain_heads.chain_hash IS 'SHA-256 of the last link (32 bytes).';

CREATE TABLE audit_log_seals (
    audit_log_id UUID NOT NULL,
    chain_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    user_id UUID,
    chain_hash BYTEA NOT NULL,
    CONSTRAINT audit_log_seals_pkey PRIMARY KEY (audit_log_id),
    CONSTRAINT audit_log_seals_chain_id_seq_key UNIQUE (chain_id, seq),
    CONSTRAINT audit_log_seals_chain_hash_check CHECK (octet_length(chain_hash) = 32)
);

COMMENT ON TABLE audit_log_seals IS
'One link of an audit chain per audit_logs row: chain_hash = SHA-256(previous link''s hash '
'|| the row''s canonical text); append-only like audit_logs (D20).';
COMMENT ON COLUMN audit_log_seals.audit_log_id IS 'The audit_logs row this link seals.';
COMMENT ON COLUMN audit_log_seals.chain_id IS
'The chain: the row''s tenant_id, or the nil UUID for MSP-level rows.';
COMMENT ON COLUMN audit_log_seals.seq IS
'Position in the chain: 1, 2, ... for rows sealed on insert; 0 and below for rows '
'written before 000004 (sealed by 000006).';
COMMENT ON COLUMN audit_log_seals.user_id IS
'user_id as sealed: ON DELETE SET NULL may clear the row''s (D3), never this copy.';
COMMENT ON COLUMN audit_log_seals.chain_hash IS 'SHA-256 of the link (32 bytes).';

-- The text a link hashes: every column of the row as a JSON array, the
-- timestamp as epoch seconds in UTC, so neither TimeZone nor DateStyle changes
-- it. user_id is the sealed copy (see above). A later migration adding a
-- column to audit_logs must decide whether it is sealed.
CREATE FUNCTION audit_log_entry(
    entry_id UUID, sealed_user_id UUID, tenant_id UUID, action TEXT, ip_address INET,
    details JSONB, written_at TIMESTAMPTZ
)
RETURNS TEXT
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT jsonb_build_array(entry_id, sealed_user_id, tenant_id, action,
        ip_address::TEXT, details, extract(EPOCH FROM written_at))::TEXT
$$;

COMMENT ON FUNCTION audit_log_entry(
    entry_id UUID, sealed_user_id UUID, tenant_id UUID, action TEXT, ip_address INET,
    details JSONB, written_at TIMESTAMPTZ
) IS
'The canonical text of an audit row (its columns in table order, user_id as sealed) '
'that its chain link hashes (D20).';

CREATE FUNCTION audit_chain_link(previous BYTEA, entry TEXT)
RETURNS BYTEA
LANGUAGE sql
STABLE
STRICT
PARALLEL SAFE
AS $$
    SELECT sha256(previous || convert_to(entry, 'UTF8'))
$$;

COMMENT ON FUNCTION audit_chain_link(previous BYTEA, entry TEXT) IS
'One link of an audit chain: SHA-256(previous link''s hash || canonical row text); '
'the first link of a chain follows 32 zero bytes (D20).';

-- D19: the server's clock at insert, whatever the INSERT says. Also notes the
-- chain for the seal at COMMIT (below). Named audit_logs_stamp_...: BEFORE
-- triggers fire in name order, so the tenant is filled (audit_log_tenant_id_
-- fill_trigger) before the chain is read from it.
-- The actions that record a change of hold or retention (D18) and the sealed
-- history's summary are the schema's own: only its triggers (this trigger
-- then runs at depth 2 or more) and the owner write them, else IA003. The
-- application could otherwise write LEGAL_HOLD_LIFTED into a held tenant's
-- trail (found by tests/behaviour/test_compliance_properties.py).
CREATE FUNCTION stamp_audit_log()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    noted TEXT := current_setting('ironarchive.audit_chains', TRUE);
    this_transaction TEXT := extract(EPOCH FROM transaction_timestamp())::TEXT;
    chain TEXT := coalesce(NEW.tenant_id, '00000000-0000-0000-0000-000000000000')::TEXT;
BEGIN
    IF NEW.action IN ('LEGAL_HOLD_PLACED', 'LEGAL_HOLD_LIFTED', 'RETENTION_POLICY_CHANGED',
            'AUDIT_HISTORY_SEALED')
        AND pg_trigger_depth() < 2
        AND NOT pg_has_role(current_user,
            (SELECT pg_class.relowner FROM pg_class WHERE pg_class.oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION 'audit action % is written by the schema only', NEW.action
        USING ERRCODE = 'IA003',
            HINT = 'Change the hold or retention itself (the MSP context); the schema '
                'records it.';
    END IF;
    NEW."timestamp" := clock_timestamp();
    IF split_part(coalesce(noted, ''), ' ', 1) IS DISTINCT FROM this_transaction THEN
        noted := this_transaction;
    END IF;
    IF position(chain IN noted) = 0 THEN
        PERFORM set_config('ironarchive.audit_chains', noted || ' ' || chain, TRUE);
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION stamp_audit_log() IS
'BEFORE INSERT row trigger on audit_logs: "timestamp" becomes clock_timestamp() '
'whatever the INSERT says (D19); the schema''s own actions (LEGAL_HOLD_*, '
'RETENTION_POLICY_CHANGED, AUDIT_HISTORY_SEALED) from elsewhere raise IA003; notes the '
'row''s chain for the seal at COMMIT.';

REVOKE EXECUTE ON FUNCTION stamp_audit_log() FROM public;

CREATE TRIGGER audit_logs_stamp_trigger
BEFORE INSERT ON audit_logs
FOR EACH ROW
EXECUTE FUNCTION stamp_audit_log();

-- The seal runs at COMMIT (a deferred constraint trigger), after all of the
-- transaction's other work: the chain's head is locked only from there to
-- the end of COMMIT, so a writer holding it waits for nothing but other
-- heads, and those it takes in one order (every chain the transaction noted,
-- sorted, at its first seal): writers never deadlock on the chain. A writer
-- that rolls back never touched it, so the chain cannot fork or keep a row
-- that is not there. SECURITY DEFINER: the application has no privilege on
-- the chain's tables. NEW is the row as inserted: user_id as it was then.
CREATE FUNCTION seal_audit_log()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    this_transaction TEXT := extract(EPOCH FROM transaction_timestamp())::TEXT;
    chains UUID[];
    chain UUID := coalesce(NEW.tenant_id, '00000000-0000-0000-0000-000000000000');
    head RECORD;
    link BYTEA;
BEGIN
    IF current_setting('ironarchive.audit_chains_locked', TRUE)
        IS DISTINCT FROM this_transaction THEN
        chains := ARRAY(
            SELECT DISTINCT noted::UUID
            FROM unnest(string_to_array(current_setting('ironarchive.audit_chains', TRUE), ' '))
                WITH ORDINALITY AS words (noted, n)
            WHERE n > 1 AND noted <> ''
            UNION
            SELECT chain
            ORDER BY 1
        );
        INSERT INTO audit_log_chain_heads (chain_id, seq, chain_hash)
        SELECT noted, 0, decode(repeat('00', 32), 'hex')
        FROM unnest(chains) AS noted
        ORDER BY noted
        ON CONFLICT (chain_id) DO NOTHING;
        PERFORM FROM audit_log_chain_heads
        WHERE chain_id = ANY(chains)
        ORDER BY chain_id
        FOR UPDATE;
        PERFORM set_config('ironarchive.audit_chains_locked', this_transaction, TRUE);
    ELSE
        INSERT INTO audit_log_chain_heads (chain_id, seq, chain_hash)
        VALUES (chain, 0, decode(repeat('00', 32), 'hex'))
        ON CONFLICT (chain_id) DO NOTHING;
    END IF;

    SELECT audit_log_chain_heads.seq, audit_log_chain_heads.chain_hash INTO head
    FROM audit_log_chain_heads
    WHERE audit_log_chain_heads.chain_id = chain
    FOR UPDATE;
    IF NOT FOUND THEN
        -- REPEATABLE READ or SERIALIZABLE: a head another transaction created
        -- after this one's snapshot is not visible to it.
        RAISE EXCEPTION 'could not seal audit row %: its chain % was started concurrently',
            NEW.id, chain
        USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction.';
    END IF;

    link := audit_chain_link(head.chain_hash, audit_log_entry(NEW.id, NEW.user_id,
        NEW.tenant_id, NEW.action, NEW.ip_address, NEW.details, NEW."timestamp"));
    INSERT INTO audit_log_seals (audit_log_id, chain_id, seq, user_id, chain_hash)
    VALUES (NEW.id, chain, head.seq + 1, NEW.user_id, link);
    UPDATE audit_log_chain_heads
    SET seq = head.seq + 1, chain_hash = link
    WHERE audit_log_chain_heads.chain_id = chain;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION seal_audit_log() IS
'Deferred AFTER INSERT constraint trigger on audit_logs: at COMMIT, appends the row '
'to its tenant''s chain (audit_log_seals) and moves the chain''s head (D20).';

REVOKE EXECUTE ON FUNCTION seal_audit_log() FROM public;

CREATE CONSTRAINT TRIGGER audit_logs_seal_trigger
AFTER INSERT ON audit_logs
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
EXECUTE FUNCTION seal_audit_log();

-- The links are as immutable as the rows they seal (D3's trigger function).
CREATE TRIGGER audit_log_seals_immutable_trigger
BEFORE UPDATE OR DELETE ON audit_log_seals
FOR EACH ROW
EXECUTE FUNCTION prevent_audit_log_modification();

CREATE TRIGGER audit_log_seals_truncate_trigger
BEFORE TRUNCATE ON audit_log_seals
FOR EACH STATEMENT
EXECUTE FUNCTION prevent_audit_log_modification();

-- Verification, end to end, naming each row where a chain breaks (the first
-- of a chain is where it breaks first): a sealed row that is gone, one that
-- was never sealed, one whose text or place no longer matches its link, a
-- gap in the sequence, a head that is not the chain's last link, a user_id
-- changed other than by D3's ON DELETE SET NULL, the history of 000006 that
-- no longer matches what was sealed of it, and exported heads (anchors,
-- [{"chain_id": ..., "seq": ..., "chain_hash": "<hex>"}]) the chain no longer holds.
-- Needs every row: the MSP context or a role row-level security does not
-- restrict.
CREATE FUNCTION verify_audit_chain(anchors JSONB DEFAULT NULL)
RETURNS TABLE (chain_id UUID, seq BIGINT, audit_log_id UUID, problem TEXT)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    -- What the first link of a chain follows: 32 zero bytes (no literal: its reading would
    -- depend on standard_conforming_strings).
    zero CONSTANT BYTEA := decode(repeat('00', 32), 'hex');
BEGIN
    IF row_security_active('audit_logs') AND NOT is_msp_wide() THEN
        RAISE EXCEPTION 'verify_audit_chain() reads every tenant''s chain: call '
            'set_msp_wide() first'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
    WITH links AS (
        SELECT seals.chain_id, seals.seq, seals.audit_log_id, seals.user_id,
            seals.chain_hash,
            lag(seals.seq) OVER chain AS previous_seq,
            lag(seals.chain_hash) OVER chain AS previous_hash,
            entries.id IS NOT NULL AS present,
            entries.user_id AS user_id_now,
            audit_log_entry(entries.id, seals.user_id, entries.tenant_id, entries.action,
                entries.ip_address, entries.details, entries."timestamp") AS entry
        FROM audit_log_seals AS seals
        LEFT JOIN audit_logs AS entries ON seals.audit_log_id = entries.id
        WINDOW chain AS (PARTITION BY seals.chain_id ORDER BY seals.seq)
    ),
    broken_links AS (
        SELECT links.chain_id, links.seq, links.audit_log_id,
            CASE
                WHEN NOT links.present THEN
                    'deleted: the row sealed here is gone'
                WHEN links.previous_seq IS NOT NULL AND links.seq <> 1
                    AND links.seq <> links.previous_seq + 1 THEN
                    format('gap: seq %s follows seq %s (links were removed)',
                        links.seq, links.previous_seq)
                WHEN links.user_id_now IS DISTINCT FROM links.user_id
                    AND NOT (links.user_id_now IS NULL AND NOT EXISTS (
                        SELECT FROM users WHERE users.id = links.user_id)) THEN
                    format('edited: user_id is %s, sealed as %s',
                        coalesce(links.user_id_now::TEXT, 'NULL'),
                        coalesce(links.user_id::TEXT, 'NULL'))
                WHEN links.chain_hash <> audit_chain_link(
                        CASE WHEN links.previous_seq IS NULL OR links.seq = 1
                            THEN zero ELSE links.previous_hash END,
                        links.entry) THEN
                    'edited or reordered: the row or its place no longer matches its link'
            END AS problem
        FROM links
    ),
    last_links AS (
        SELECT DISTINCT ON (seals.chain_id) seals.chain_id, seals.seq, seals.chain_hash
        FROM audit_log_seals AS seals
        WHERE seals.seq > 0
        ORDER BY seals.chain_id, seals.seq DESC
    ),
    histories AS (
        SELECT seals.chain_id, count(*) AS rows_sealed,
            (array_agg(seals.chain_hash ORDER BY seals.seq DESC))[1] AS last_hash,
            max(seals.seq) AS last_seq
        FROM audit_log_seals AS seals
        WHERE seals.seq <= 0
        GROUP BY seals.chain_id
    )
    SELECT broken_links.chain_id, broken_links.seq, broken_links.audit_log_id,
        broken_links.problem
    FROM broken_links
    WHERE broken_links.problem IS NOT NULL
    UNION ALL
    SELECT coalesce(entries.tenant_id, '00000000-0000-0000-0000-000000000000'), NULL,
        entries.id, 'inserted: the row is in no chain'
    FROM audit_logs AS entries
    WHERE NOT EXISTS (
        SELECT FROM audit_log_seals AS seals WHERE seals.audit_log_id = entries.id
    )
    UNION ALL
    SELECT heads.chain_id, heads.seq, NULL,
        format('truncated: the head is seq %s, the chain ends at seq %s',
            heads.seq, coalesce(last_links.seq, 0))
    FROM audit_log_chain_heads AS heads
    LEFT JOIN last_links ON heads.chain_id = last_links.chain_id
    WHERE heads.seq <> coalesce(last_links.seq, 0)
        OR heads.seq > 0 AND heads.chain_hash <> last_links.chain_hash
    UNION ALL
    SELECT histories.chain_id, histories.last_seq, NULL,
        'history: the rows written before 000004 no longer match their sealed summary'
    FROM histories
    WHERE histories.last_seq <> 0 OR NOT EXISTS (
        SELECT FROM audit_logs AS summary
        INNER JOIN audit_log_seals AS summary_seal ON summary.id = summary_seal.audit_log_id
        WHERE summary.action = 'AUDIT_HISTORY_SEALED'
            AND summary_seal.chain_id = histories.chain_id
            AND summary_seal.seq > 0
            AND summary.details ->> 'rows' = histories.rows_sealed::TEXT
            AND summary.details ->> 'hash' = encode(histories.last_hash, 'hex')
    )
    UNION ALL
    SELECT anchor.chain_id, anchor.seq, seals.audit_log_id,
        format('rewritten since exported: the chain no longer holds seq %s with hash %s',
            anchor.seq, anchor.chain_hash)
    FROM jsonb_to_recordset(coalesce(anchors, '[]')) AS anchor (
        chain_id UUID, seq BIGINT, chain_hash TEXT)
    LEFT JOIN audit_log_seals AS seals
        ON anchor.chain_id = seals.chain_id AND anchor.seq = seals.seq
    WHERE anchor.seq > 0
        AND (seals.chain_hash IS NULL OR encode(seals.chain_hash, 'hex') <> anchor.chain_hash)
    ORDER BY 1, 2 NULLS FIRST, 3;
END;
$$;

COMMENT ON FUNCTION verify_audit_chain(anchors JSONB) IS
'Verifies every audit chain end to end; one row per break (chain, seq, row, what), '
'none when the trail is intact; anchors are heads exported earlier, which the chain '
'must still hold (D20). Needs the MSP context.';

-- What to export and keep outside the database (a later verification given
-- it proves the trail only grew since): each chain's head.
CREATE FUNCTION audit_chain_heads()
RETURNS TABLE (chain_id UUID, seq BIGINT, chain_hash TEXT)
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
    SELECT heads.chain_id, heads.seq, encode(heads.chain_hash, 'hex')
    FROM audit_log_chain_heads AS heads
    WHERE heads.seq > 0
    ORDER BY heads.chain_id
$$;

COMMENT ON FUNCTION audit_chain_heads() IS
'Each audit chain''s head (chain_id, seq, hex hash), to export and later give '
'verify_audit_chain() as anchors (D20).';

ALTER TABLE audit_log_chain_heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log_chain_heads
USING ((SELECT is_msp_wide()) OR chain_id = (SELECT current_tenant_id()));

ALTER TABLE audit_log_seals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log_seals
USING ((SELECT is_msp_wide()) OR chain_id = (SELECT current_tenant_id()));

-- ---------------------------------------------------------------------------
-- Retention (D21)
-- ---------------------------------------------------------------------------

-- One batch per call, in the caller's transaction: the RETENTION_CLEANUP job
-- calls it in a transaction of its own, commits, and calls again until it
-- returns no row, so no batch holds its locks for long. Each batch reads the
-- tenant's hold FOR SHARE: a hold placed while a batch runs waits for it, and
-- the next batch stops. E-mails sent before now() minus the retention period
-- go, soft-deleted ones included, oldest first, with their attachments;
-- rows another transaction has locked are left for a later batch. Returns
-- the files to remove from storage (attachments' files may be shared: their
-- sha256_hash says which). SECURITY INVOKER: the caller's context decides
-- which tenant it may purge.
CREATE FUNCTION purge_expired_emails(tenant UUID, batch_size INTEGER DEFAULT 1000)
RETURNS TABLE (kind TEXT, id UUID, file_path TEXT)
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    retention_days INTEGER;
    held BOOLEAN;
    cutoff TIMESTAMPTZ;
    purged_emails UUID[];
    email_paths TEXT[];
    purged_attachments UUID[];
    attachment_paths TEXT[];
BEGIN
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'purge_expired_emails: batch_size must be 1 to 100000, not %',
            coalesce(batch_size::TEXT, 'NULL')
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT tenants.retention_policy_days, tenants.legal_hold INTO retention_days, held
    FROM tenants
    WHERE tenants.id = tenant
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purge_expired_emails: tenant % does not exist or is not in '
            'this transaction''s context', tenant
        USING ERRCODE = 'no_data_found';
    END IF;
    IF held THEN
        INSERT INTO audit_logs (user_id, tenant_id, action, details)
        VALUES (current_acting_user_id(), tenant, 'RETENTION_PURGE_HELD',
            jsonb_build_object('retention_policy_days', retention_days,
                'batch_size', batch_size));
        RETURN;
    END IF;
    cutoff := now() - make_interval(days => retention_days);

    SELECT array_agg(emails.id ORDER BY emails.sent_at), array_agg(emails.file_path ORDER BY emails.sent_at)
    INTO purged_emails, email_paths
    FROM (
        SELECT candidates.id, candidates.file_path, candidates.sent_at
        FROM emails AS candidates
        WHERE candidates.tenant_id = tenant AND candidates.sent_at < cutoff
        ORDER BY candidates.sent_at
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    ) AS emails;
    IF purged_emails IS NULL THEN
        RETURN;
    END IF;

    WITH gone AS (
        DELETE FROM attachments
        WHERE attachments.tenant_id = tenant AND attachments.email_id = ANY(purged_emails)
        RETURNING attachments.id, attachments.file_path
    )
    SELECT array_agg(gone.id), array_agg(gone.file_path)
    INTO purged_attachments, attachment_paths
    FROM gone;
    DELETE FROM emails WHERE emails.tenant_id = tenant AND emails.id = ANY(purged_emails);

    INSERT INTO audit_logs (user_id, tenant_id, action, details)
    VALUES (current_acting_user_id(), tenant, 'RETENTION_PURGE',
        jsonb_build_object('emails', cardinality(purged_emails),
            'attachments', coalesce(cardinality(purged_attachments), 0),
            'retention_policy_days', retention_days, 'batch_size', batch_size,
            'sent_before', extract(EPOCH FROM cutoff)));

    RETURN QUERY
    SELECT 'email', purged.id, purged.file_path
    FROM unnest(purged_emails, email_paths) AS purged (id, file_path)
    UNION ALL
    SELECT 'attachment', purged.id, purged.file_path
    FROM unnest(purged_attachments, attachment_paths) AS purged (id, file_path);
END;
$$;

COMMENT ON FUNCTION purge_expired_emails(tenant UUID, batch_size INTEGER) IS
'One retention batch (D21): removes up to batch_size of the tenant''s e-mails sent '
'before its retention period, with their attachments, unless the tenant is under legal '
'hold; records the batch in audit_logs (RETENTION_PURGE, or RETENTION_PURGE_HELD) and '
'returns the files to remove. Call it in its own transaction until it returns no row.';

-- ---------------------------------------------------------------------------
-- The application's role
-- ---------------------------------------------------------------------------

GRANT EXECUTE ON FUNCTION set_acting_user(UUID), current_acting_user_id() TO ironarchive_app;
GRANT EXECUTE ON FUNCTION purge_expired_emails(UUID, INTEGER) TO ironarchive_app;
GRANT EXECUTE ON FUNCTION verify_audit_chain(JSONB), audit_chain_heads() TO ironarchive_app;
GRANT EXECUTE ON FUNCTION audit_log_entry(UUID, UUID, UUID, TEXT, INET, JSONB, TIMESTAMPTZ),
audit_chain_link(BYTEA, TEXT) TO ironarchive_app;
-- Read in the MSP context to verify and export; written only by the seal.
GRANT SELECT ON audit_log_chain_heads, audit_log_seals TO ironarchive_app;
