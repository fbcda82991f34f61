-- 000006_retention_index (up): the index retention reads (D21). Alone in its
-- file and CONCURRENTLY: e-mails keep being written while it is built.
-- purge_expired_emails() asks for one tenant's e-mails sent before a date,
-- oldest first; without it each batch walks idx_emails_sent_at past every
-- other tenant's old mail. If the build fails, an INVALID index is left:
-- DROP INDEX CONCURRENTLY it, then migrate-force to 5 and migrate again.
CREATE INDEX CONCURRENTLY idx_emails_tenant_id_sent_at ON emails (tenant_id, sent_at);
