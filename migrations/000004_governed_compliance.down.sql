-- 000004_governed_compliance (down): back to 000003 exactly. The audit rows
-- written while 000004 was applied stay (they are the trail); their chain
-- goes with its tables, and an up again starts new chains.
--
-- Reverse order of the up migration. Plain DROP without IF EXISTS (D11).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

REVOKE ALL ON audit_log_chain_heads, audit_log_seals FROM ironarchive_app;
REVOKE ALL ON FUNCTION audit_log_entry(UUID, UUID, UUID, TEXT, INET, JSONB, TIMESTAMPTZ),
audit_chain_link(BYTEA, TEXT) FROM ironarchive_app;
REVOKE ALL ON FUNCTION verify_audit_chain(JSONB), audit_chain_heads() FROM ironarchive_app;
REVOKE ALL ON FUNCTION purge_expired_emails(UUID, INTEGER) FROM ironarchive_app;
REVOKE ALL ON FUNCTION set_acting_user(UUID), current_acting_user_id() FROM ironarchive_app;

DROP FUNCTION purge_expired_emails(UUID, INTEGER);

DROP FUNCTION audit_chain_heads();
DROP FUNCTION verify_audit_chain(JSONB);
DROP TRIGGER audit_logs_seal_trigger ON audit_logs;
DROP FUNCTION seal_audit_log();
DROP TRIGGER audit_logs_stamp_trigger ON audit_logs;
DROP FUNCTION stamp_audit_log();
DROP FUNCTION audit_chain_link(BYTEA, TEXT);
DROP FUNCTION audit_log_entry(UUID, UUID, UUID, TEXT, INET, JSONB, TIMESTAMPTZ);
DROP TABLE audit_log_seals;
DROP TABLE audit_log_chain_heads;

DROP TRIGGER attachments_legal_hold_move_trigger ON attachments;
DROP TRIGGER emails_legal_hold_move_trigger ON emails;
DROP FUNCTION keep_held_mail_in_its_tenant();

DROP TRIGGER tenants_governance_audit_insert_trigger ON tenants;
DROP TRIGGER tenants_governance_audit_trigger ON tenants;
DROP FUNCTION audit_hold_and_retention();
DROP TRIGGER tenants_governance_trigger ON tenants;
DROP FUNCTION govern_hold_and_retention();

DROP FUNCTION current_acting_user_id();
DROP FUNCTION set_acting_user(UUID);
