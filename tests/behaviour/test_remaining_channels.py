"""The channels docs/security.md lists as remaining, measured: what the application's role,
in tenant A's context, learns of tenant B's rows outside any query result. Each test pins
what PostgreSQL does today, so a change (a channel closed or opened) fails here and the
document is revisited."""

import pytest

from . import rows
from .tenancy import session

#: B's e-mails, a third of them from one sender.
B_EMAILS = 3000


@pytest.fixture
def analysed(db):
    """Tenants A (empty) and B (a mailbox of B_EMAILS e-mails), emails analysed; rolled back
    with the test, statistics included (pg_statistic is transactional)."""
    mine, theirs = rows.tenant(db)["id"], rows.tenant(db)["id"]
    mailbox = rows.mailbox(db, tenant_id=theirs)["id"]
    db.execute("INSERT INTO emails (mailbox_id, message_id, sender, sent_at, size_bytes, "
               "file_path) SELECT %s, 'm' || g, CASE WHEN g %% 3 = 0 THEN 'ceo@rival.test' "
               "ELSE 'x' || g || '@b.test' END, now(), 1, '/p' "
               "FROM generate_series(1, %s) g", (mailbox, B_EMAILS))
    db.execute("ANALYZE emails")
    return mine, mailbox



def test_column_statistics_are_hidden_from_the_application(db, analysed):
    """pg_stats shows no row of a table whose row-level security applies to the reader."""
    mine, _mailbox = analysed
    with session(db, mine):
        assert db.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'emails'"
                          ).fetchone()[0] == 0


def test_explain_estimates_show_how_common_a_value_is_in_every_tenant(db, analysed):
    """Remaining: the planner uses the statistics of all rows; EXPLAIN's estimate for a
    sender only B has is B's count, for an unknown sender about 1."""
    mine, _mailbox = analysed
    query = "SELECT id FROM emails WHERE sender = %s"
    with session(db, mine):
        frequent = db.execute("EXPLAIN " + query, ("ceo@rival.test",)).fetchall()
        unknown = db.execute("EXPLAIN " + query, ("nobody@rival.test",)).fetchall()
    rows_of = [int(line[0].split("rows=")[1].split()[0]) for plan in (frequent, unknown)
               for line in plan[:1]]
    assert rows_of[0] > B_EMAILS / 10 and rows_of[1] < 10, (frequent, unknown)


def test_table_size_counters_count_every_tenant(db, analysed):
    """Remaining: pg_class.reltuples and the relation's size are the whole table's."""
    mine, _mailbox = analysed
    with session(db, mine):
        visible = db.execute("SELECT count(*) FROM emails").fetchone()[0]
        reltuples = db.execute("SELECT reltuples FROM pg_class WHERE relname = 'emails'"
                               ).fetchone()[0]
    assert visible == 0 and reltuples >= B_EMAILS
