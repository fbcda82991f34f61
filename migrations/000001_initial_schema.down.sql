-- 000001_initial_schema (down): removes everything the up migration created.
--
-- Reverse order: triggers, trigger functions, tables (children first), the
-- CHECK helper function, extensions. Plain DROP without IF EXISTS or CASCADE
-- on purpose: a missing or unexpectedly dependent object is a loud error,
-- not a silent leftover (D11: after up then down the catalog is as before).
-- Indexes, constraints and comments go with their tables and functions.

-- Timeouts, as in the up migration: DROP TABLE waits for an ACCESS EXCLUSIVE
-- lock, and a waiting lock blocks every later query on the table.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------

DROP TRIGGER audit_log_truncate_trigger ON audit_logs;
DROP TRIGGER audit_log_immutable_trigger ON audit_logs;
DROP TRIGGER update_settings_updated_at ON settings;
DROP TRIGGER update_users_updated_at ON users;

-- ---------------------------------------------------------------------------
-- Trigger functions
-- ---------------------------------------------------------------------------

DROP FUNCTION prevent_audit_log_modification();
DROP FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------
-- Tables, children first
-- ---------------------------------------------------------------------------

DROP TABLE settings;
DROP TABLE audit_logs;
DROP TABLE jobs;
DROP TABLE attachments;
DROP TABLE emails;
DROP TABLE mailboxes;
DROP TABLE users;
DROP TABLE tenants;

-- ---------------------------------------------------------------------------
-- CHECK helper: only now, because tenants_azure_app_secret_check depended on it
-- ---------------------------------------------------------------------------

DROP FUNCTION is_pgp_symmetric_message(BYTEA);

-- ---------------------------------------------------------------------------
-- Extensions, last
-- ---------------------------------------------------------------------------

DROP EXTENSION pgcrypto;
DROP EXTENSION "uuid-ossp";
