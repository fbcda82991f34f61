-- 000006_audit_history_seal (down): the rows written before 000004 leave
-- their chains again (verify_audit_chain() then names them as in no chain).
-- Their AUDIT_HISTORY_SEALED summaries stay, as every audit row does; an up
-- again seals the same history to the same hashes.
--
-- The links are immutable (audit_log_seals_immutable_trigger) to everyone
-- else; this migration lifts that for its own DELETE only, in its own
-- transaction.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

ALTER TABLE audit_log_seals DISABLE TRIGGER audit_log_seals_immutable_trigger;
DELETE FROM audit_log_seals
WHERE seq <= 0;
ALTER TABLE audit_log_seals ENABLE TRIGGER audit_log_seals_immutable_trigger;
