-- 000006_audit_history_seal (up): the audit rows written before 000004 join
-- their chains (D20), without closing the trail to writers.
--
-- Spec: issue 16. 000004 seals every row inserted from its COMMIT on; the
-- rows older than it are sealed here, in a transaction of their own that
-- only reads audit_logs (ACCESS SHARE: the application keeps writing; its
-- new rows are sealed by their own trigger). Each chain's history takes the
-- links 0, -1, -2, ... before the live ones (1, 2, ...), ordered by
-- "timestamp" and id, from 32 zero bytes; a summary row, AUDIT_HISTORY_SEALED,
-- with the history's row count and last hash is then sealed into the live
-- chain, so verify_audit_chain() finds an edit of the history, or of its
-- summary. A row that is in no chain when this runs is history: from 000004
-- on only a role that can disable triggers can write one.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

-- The chain's running hash over ordered rows, for this transaction only.
CREATE AGGREGATE pg_temp.audit_chain (TEXT)(
    SFUNC = audit_chain_link,
    STYPE = bytea,
    INITCOND = '\x0000000000000000000000000000000000000000000000000000000000000000'
);

INSERT INTO audit_log_seals (audit_log_id, chain_id, seq, user_id, chain_hash)
SELECT
    history.id,
    history.chain_id,
    history.place - history.rows_in_chain AS seq,
    history.user_id,
    history.chain_hash
FROM (
    SELECT
        entries.id,
        coalesce(entries.tenant_id, '00000000-0000-0000-0000-000000000000') AS chain_id,
        entries.user_id,
        row_number() OVER chain AS place,
        count(*) OVER (
            PARTITION BY coalesce(entries.tenant_id, '00000000-0000-0000-0000-000000000000')
        ) AS rows_in_chain,
        pg_temp.audit_chain(audit_log_entry(
            entries.id, entries.user_id, entries.tenant_id, entries.action,
            entries.ip_address, entries.details, entries."timestamp"
        )) OVER chain AS chain_hash
    FROM audit_logs AS entries
    WHERE
        NOT EXISTS (
            SELECT FROM audit_log_seals AS seals
            WHERE seals.audit_log_id = entries.id
        )
    WINDOW chain AS (
        PARTITION BY coalesce(entries.tenant_id, '00000000-0000-0000-0000-000000000000')
        ORDER BY entries."timestamp", entries.id
        ROWS UNBOUNDED PRECEDING
    )
) AS history;

INSERT INTO audit_logs (tenant_id, action, details)
SELECT
    nullif(seals.chain_id, '00000000-0000-0000-0000-000000000000') AS tenant_id,
    'AUDIT_HISTORY_SEALED' AS action,
    jsonb_build_object(
        'chain_id', seals.chain_id,
        'rows', count(*),
        'hash', encode((array_agg(seals.chain_hash ORDER BY seals.seq DESC))[1], 'hex'),
        'migration', '000006_audit_history_seal'
    ) AS details
FROM audit_log_seals AS seals
WHERE seals.seq <= 0
GROUP BY seals.chain_id;

-- This transaction's own temporary aggregate: no client can depend on it.
-- squawk-ignore ban-drop-function
DROP AGGREGATE pg_temp.audit_chain(TEXT);
