-- 000006_retention_index (down): alone in its file and CONCURRENTLY, as it
-- was built.
DROP INDEX CONCURRENTLY idx_emails_tenant_id_sent_at;
