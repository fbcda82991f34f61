-- 000005_retention_index (down): alone in its file and CONCURRENTLY, as it
-- was built. No SET LOCAL timeouts, as in the up file: SHARE UPDATE
-- EXCLUSIVE blocks no read or write.
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY idx_emails_tenant_id_sent_at;
