"""The queries the archive runs against this schema: one definition of each, used by the
scale benchmark (``python -m bench``) and by the plan regression tests
(``tests/performance/test_plans.py``).

Each query is written as the application sends it: a prepared statement with parameters
(``%(name)s``, psycopg's placeholders; the Go backend's pgx prepares statements too).
Beside it:

- ``samples``: SQL giving ``%(n)s`` parameter rows, deterministic, mixing hot values
  (drawn from the rows, so big mailboxes and busy users come up as often as they are used)
  with cold ones (drawn uniformly, so the long tail of small mailboxes comes up too);
- ``probe``: SQL giving the one parameter row most likely to lead the planner astray (the
  largest mailbox, its most frequent sender, the busiest user): the plan shown in the
  report and checked by the plan tests;
- ``index``: the index that must serve it (and no large table may be scanned in full,
  no sort may be needed: ``plans.problems``).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    sql: str
    samples: str
    probe: str
    index: str | None
    #: True for statements that change rows: each run is rolled back.
    writes: bool = False
    #: The application prepares it, so the plan cache may switch it to a generic plan
    #: (and the plan tests check that plan too). False: it is sent unprepared (pgx:
    #: QueryExecModeExec), planned for its values every time.
    prepared: bool = True
    #: Executions measured by the benchmark (each with the next sampled parameter row).
    runs: int = 400
    #: Part of the gate's plan regression tests.
    plan_test: bool = True


LARGEST_MAILBOX = "SELECT id FROM mailboxes ORDER BY email_count DESC, id LIMIT 1"
#: Every tenant, in a fixed shuffled order, repeated until there are %(n)s rows.
TENANTS = """
    SELECT t.id AS tenant_id
    FROM tenants t, generate_series(1, %(n)s / (SELECT count(*) FROM tenants) + 1)
    ORDER BY md5(t.id::text) LIMIT %(n)s"""
#: The tenant with the most e-mails that is not on legal hold.
BIGGEST_TENANT = """
    SELECT m.tenant_id FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id
    WHERE NOT t.legal_hold
    GROUP BY m.tenant_id ORDER BY sum(m.email_count) DESC, m.tenant_id LIMIT 1"""

#: The mailbox closest to 100,000 e-mails whose tenant is not on legal hold.
DELETABLE_MAILBOX = """
    SELECT m.id AS mailbox_id FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id
    WHERE NOT t.legal_hold
    ORDER BY abs(m.email_count - 100000), m.id LIMIT 1"""

QUERIES = (
    Query(
        name="mailbox_listing",
        title="a mailbox's newest 50 active e-mails",
        sql="""
            SELECT id, message_id, subject, sender, sent_at, has_attachments, size_bytes
            FROM emails
            WHERE mailbox_id = %(mailbox_id)s AND deleted_at IS NULL
            ORDER BY sent_at DESC
            LIMIT 50""",
        samples="""
            (SELECT mailbox_id FROM emails TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
             LIMIT %(n)s / 2)
            UNION ALL
            (SELECT id FROM mailboxes ORDER BY md5(id::text) LIMIT %(n)s - %(n)s / 2)""",
        probe=f"SELECT ({LARGEST_MAILBOX}) AS mailbox_id",
        index="idx_emails_mailbox_id_sent_at_active",
    ),
    Query(
        name="message_id_lookup",
        title="lookup by message_id in a tenant (is this Graph message archived?)",
        # D16: message ids are unique per tenant, and the application always knows its
        # tenant (it is the one set_tenant() named).
        sql="""
            SELECT id, mailbox_id, sent_at, deleted_at
            FROM emails
            WHERE tenant_id = %(tenant_id)s AND message_id = %(message_id)s""",
        # Half are archived already, half are new (a sync asks about both).
        samples="""
            (SELECT tenant_id, message_id
             FROM emails TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
             LIMIT %(n)s / 2)
            UNION ALL
            (SELECT t.tenant_id, 'AAMkA' || md5(g::text) || 'AAA='
             FROM generate_series(1, %(n)s - %(n)s / 2) g,
                 LATERAL (SELECT id AS tenant_id FROM tenants
                          ORDER BY md5(id::text || g) LIMIT 1) t)""",
        probe="SELECT tenant_id, message_id FROM emails ORDER BY id LIMIT 1",
        index="emails_tenant_id_message_id_key",
    ),
    Query(
        name="sender_in_mailbox",
        title="a sender's e-mails in a mailbox, newest 50",
        sql="""
            SELECT id, message_id, subject, sent_at
            FROM emails
            WHERE mailbox_id = %(mailbox_id)s AND sender = %(sender)s AND deleted_at IS NULL
            ORDER BY sent_at DESC
            LIMIT 50""",
        samples="""
            (SELECT mailbox_id, sender FROM emails TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
             LIMIT %(n)s / 2)
            UNION ALL
            (SELECT m.id, (SELECT e.sender FROM emails e WHERE e.mailbox_id = m.id
                           ORDER BY e.id LIMIT 1)
             FROM mailboxes m ORDER BY md5(m.id::text) LIMIT %(n)s - %(n)s / 2)""",
        probe=f"""
            SELECT mailbox_id, sender FROM emails
            WHERE mailbox_id = ({LARGEST_MAILBOX})
            GROUP BY mailbox_id, sender ORDER BY count(*) DESC, sender LIMIT 1""",
        index="idx_emails_sender",
    ),
    Query(
        name="attachment_dedup",
        title="attachment deduplication: an existing file_path for a hash",
        sql="""
            SELECT file_path
            FROM attachments
            WHERE sha256_hash = %(sha256_hash)s
            LIMIT 1""",
        # Half are contents seen before (popular files come up often), half are new.
        samples="""
            (SELECT sha256_hash FROM attachments TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
             LIMIT %(n)s / 2)
            UNION ALL
            (SELECT encode(sha256(('new-' || g)::bytea), 'hex')
             FROM generate_series(1, %(n)s - %(n)s / 2) g)""",
        # A new content: the common case, and the one a full scan would make slowest.
        probe="SELECT encode(sha256('never-seen'::bytea), 'hex') AS sha256_hash",
        index="idx_attachments_sha256_hash",
    ),
    Query(
        name="job_claim",
        title="claim the oldest QUEUED job (FOR UPDATE SKIP LOCKED)",
        sql="""
            UPDATE jobs SET status = 'RUNNING', started_at = now()
            WHERE id = (
                SELECT id FROM jobs
                WHERE status = 'QUEUED'
                ORDER BY created_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
            RETURNING id, type, tenant_id, mailbox_id""",
        samples="SELECT FROM generate_series(1, %(n)s)",
        probe="SELECT",
        index="idx_jobs_status",
        writes=True,
    ),
    Query(
        name="audit_trail",
        title="a user's audit trail in a 30-day range, newest 100",
        sql="""
            SELECT "timestamp", action, ip_address, details
            FROM audit_logs
            WHERE user_id = %(user_id)s
              AND "timestamp" >= %(since)s AND "timestamp" < %(until)s
            ORDER BY "timestamp" DESC
            LIMIT 100""",
        # Windows of 30 days anywhere in the two years the log holds.
        samples="""
            SELECT user_id, now() - (mod(k, 24) * 30 + 30) * interval '1 day' AS since,
                   now() - mod(k, 24) * 30 * interval '1 day' AS until
            FROM (SELECT user_id, row_number() OVER () AS k
                  FROM ((SELECT user_id FROM audit_logs TABLESAMPLE BERNOULLI (1) REPEATABLE (7)
                         WHERE user_id IS NOT NULL LIMIT %(n)s / 2)
                        UNION ALL
                        (SELECT id FROM users ORDER BY md5(id::text)
                         LIMIT %(n)s - %(n)s / 2)) picked) numbered""",
        probe="""
            SELECT user_id, now() - interval '90 days' AS since, now() AS until
            FROM audit_logs WHERE user_id IS NOT NULL
            GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1""",
        index="idx_audit_logs_user_id",
        # A generic plan guesses that 0.5 % of a user's rows fall between two parameters
        # and, with many rows per user, prefers a bitmap scan of the whole range plus a
        # sort to the ordered index scan: 100 times slower for a busy user
        # (docs/benchmarks.md). Custom plans always take the index in order.
        prepared=False,
    ),
    Query(
        name="retention_candidates",
        title="a tenant's retention candidates (next batch of 1,000)",
        # LATERAL with its own LIMIT: one index range per mailbox of the tenant, whatever
        # the plan. The plain join below lets the planner hash-join a full scan instead.
        sql="""
            SELECT c.id
            FROM tenants t
            JOIN mailboxes m ON m.tenant_id = t.id
            CROSS JOIN LATERAL (
                SELECT e.id
                FROM emails e
                WHERE e.mailbox_id = m.id
                  AND e.deleted_at IS NULL
                  AND e.sent_at < now() - make_interval(days => t.retention_policy_days)
                LIMIT 1000) c
            WHERE t.id = %(tenant_id)s AND NOT t.legal_hold
            LIMIT 1000""",
        samples=TENANTS,
        probe=BIGGEST_TENANT,
        index="idx_emails_mailbox_id_sent_at_active",
        runs=200,
    ),
    Query(
        name="retention_candidates_join",
        title="the same as a plain join, planned for each tenant (for comparison)",
        # Unprepared, as a cleanup job's one-off query (or a prepared statement's first
        # five runs) is: for a tenant with few candidates the custom plan hash-joins a
        # full scan of emails, betting that LIMIT stops it early.
        sql="""
            SELECT e.id
            FROM tenants t
            JOIN mailboxes m ON m.tenant_id = t.id
            JOIN emails e ON e.mailbox_id = m.id
            WHERE t.id = %(tenant_id)s
              AND NOT t.legal_hold
              AND e.deleted_at IS NULL
              AND e.sent_at < now() - make_interval(days => t.retention_policy_days)
            LIMIT 1000""",
        samples=TENANTS,
        probe=BIGGEST_TENANT,
        index="idx_emails_mailbox_id_sent_at_active",
        prepared=False,
        runs=200,
        plan_test=False,
    ),
    Query(
        name="mailbox_delete",
        title="delete the mailbox closest to 100,000 e-mails (cascade), rolled back",
        sql="DELETE FROM mailboxes WHERE id = %(mailbox_id)s",
        # Of a tenant not on legal hold: a held tenant's mailbox cannot be deleted (000002).
        samples=f"""
            SELECT m.mailbox_id FROM ({DELETABLE_MAILBOX}) m,
                             generate_series(1, %(n)s)""",
        probe=DELETABLE_MAILBOX,
        # The cascade runs inside foreign-key triggers, whose scans EXPLAIN does not show:
        # the plan tests leave it out; the benchmark reports the trigger times.
        index=None,
        writes=True,
        runs=5,
        plan_test=False,
    ),
)

BY_NAME = {query.name: query for query in QUERIES}
