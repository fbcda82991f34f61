"""The lock trace (rehearsal.locks): what each statement of a file takes, rewrites and
touches, on a table of 50,000 rows, and the database left as it was."""

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.background import add_migration, copy_migrations
from ironarchive_schema.migrate.command import Version
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin
from ironarchive_schema.rehearsal.locks import TraceError, trace_file, trace_migrations

ROWS = 50_000
TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


@pytest.fixture
def table_db(empty_db_url):
    with admin.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, c text NOT NULL)")
        conn.execute("INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, %s) AS i",
                     (ROWS,))
        conn.execute("ANALYZE t")
    return empty_db_url


def traced(url, tmp_path, sql: str):
    path = tmp_path / "000002_change.up.sql"
    path.write_text(sql)
    return trace_file(url, path)


# the file, then what its last statement takes (strongest mode per relation) and rewrites
CASES = {
    "a plain index blocks writes": (
        TIMEOUTS + "CREATE INDEX idx_t_c ON t (c);\n",
        {"public.t": "ShareLock"}, ()),
    "a type change rewrites the table and its indexes": (
        TIMEOUTS + "ALTER TABLE t ALTER COLUMN id TYPE bigint;\n",
        {"public.t": "AccessExclusiveLock", "public.t_pkey": "AccessExclusiveLock"},
        ("public.t", "public.t_pkey")),
    "a column without a default rewrites nothing": (
        TIMEOUTS + "ALTER TABLE t ADD COLUMN d integer;\n",
        {"public.t": "AccessExclusiveLock"}, ()),
    "a volatile default rewrites": (
        TIMEOUTS + "ALTER TABLE t ADD COLUMN d double precision DEFAULT random();\n",
        {"public.t": "AccessExclusiveLock", "public.t_pkey": "AccessExclusiveLock"},
        ("public.t", "public.t_pkey")),
    "a row update takes a row lock mode": (
        TIMEOUTS + "UPDATE t SET c = 'x' WHERE id <= 10;\n",
        {"public.t": "RowExclusiveLock", "public.t_pkey": "RowExclusiveLock"}, ()),
}


@pytest.mark.parametrize(("sql", "takes", "rewrites"), CASES.values(), ids=CASES.keys())
def test_each_statement_shows_what_it_takes_and_rewrites(table_db, tmp_path, sql, takes,
                                                         rewrites):
    before = pg_catalog.snapshot_of(table_db)
    *settings, change = traced(table_db, tmp_path, sql)
    assert [(s.line, s.locks) for s in settings] == [(1, ()), (2, ())], "SET LOCAL locks nothing"
    assert (change.line, change.strongest(), change.rewrites) == (3, takes, rewrites)
    assert (change.lock_timeout, change.statement_timeout) == ("5s", "1min")
    assert change.in_transaction and change.held_seconds >= change.seconds
    assert pg_catalog.diff(before, pg_catalog.snapshot_of(table_db)) == [], "the trace applied"


def test_rows_read_and_written_are_counted_per_statement(table_db, tmp_path):
    scan, update = traced(table_db, tmp_path, "SELECT count(*) FROM t;\n"
                                               "UPDATE t SET c = 'x' WHERE c <> 'x';\n")
    assert scan.rows == {"public.t": {"seq_scan": 1, "seq_tup_read": ROWS}}
    assert update.rows["public.t"]["updated"] == ROWS
    assert scan.held_seconds > update.held_seconds, "a lock is held from its statement on"


def test_rows_read_through_an_index_are_counted_as_its_entries(table_db, tmp_path):
    _, scan = traced(table_db, tmp_path, "SET LOCAL enable_seqscan = off;\n"
                                         "SELECT count(*) FROM t WHERE id > 0;\n")
    assert scan.rows["public.t"]["idx_tup_read"] in (ROWS, ROWS + 1), \
        "one entry a row (and the one past the end)"
    assert "seq_tup_read" not in scan.rows["public.t"]


def test_a_parallel_scan_is_counted_whole(table_db, tmp_path):
    """Parallel workers keep statistics of their own: the trace runs without them."""
    _, scan = traced(table_db, tmp_path, "SET LOCAL parallel_setup_cost = 0;\n"
                                         "SET LOCAL min_parallel_table_scan_size = 0;\n"
                                         "SELECT count(*) FROM t;\n")[1:]
    assert scan.rows["public.t"]["seq_tup_read"] == ROWS


def test_locks_a_statement_already_holds_are_not_counted_again(table_db, tmp_path):
    first, second = traced(table_db, tmp_path, "LOCK TABLE t IN SHARE MODE;\n"
                                                "CREATE INDEX idx_t_c ON t (c);\n")
    assert first.strongest() == {"public.t": "ShareLock"}
    assert "public.t" not in second.strongest()


def test_a_statement_that_cannot_run_in_a_transaction_is_watched_as_it_runs(table_db,
                                                                            tmp_path):
    (alone,) = traced(table_db, tmp_path, "CREATE INDEX CONCURRENTLY idx_t_c ON t (c);\n")
    assert not alone.in_transaction
    assert alone.strongest()["public.t"] == "ShareUpdateExclusiveLock"
    assert alone.rows == {} and alone.rewrites == ()


def test_a_failing_statement_names_its_file_and_line(table_db, tmp_path):
    with pytest.raises(TraceError) as failed:
        traced(table_db, tmp_path, "SELECT 1;\n\nSELECT 1 / 0;\n")
    assert str(failed.value) == ("000002_change.up.sql:3: SELECT failed: division by zero")
    assert (failed.value.line, failed.value.reason) == (3, "division by zero")
    assert [statement.line for statement in failed.value.partial] == [1, 3], \
        "the trace up to the failure, the failing statement last"


def test_every_file_of_a_folder_is_traced_at_the_version_before_it(empty_db_url, migrate_on):
    migrate = migrate_on(empty_db_url, REPO_ROOT / "examples" / "minimal" / "migrations")
    traces = trace_migrations(empty_db_url, migrate)
    assert list(traces) == ["000001_create_notes.up.sql", "000001_create_notes.down.sql",
                            "000002_add_note_tag.up.sql", "000002_add_note_tag.down.sql"]
    add_tag, drop_tag = traces["000002_add_note_tag.up.sql"][-1], \
        traces["000002_add_note_tag.down.sql"][-1]
    assert add_tag.strongest() == {"public.notes": "AccessExclusiveLock"}
    assert drop_tag.strongest() == {"public.notes": "AccessExclusiveLock"}
    assert migrate.version() == Version(2, dirty=False)


def test_a_file_that_runs_alone_is_traced_as_migrate_applies_it(empty_db_url, migrate_on,
                                                                 tmp_path):
    """It cannot be rolled back: its trace is migrate's run (up, and down then up again)."""
    folder = copy_migrations(REPO_ROOT / "examples" / "minimal" / "migrations",
                             tmp_path / "migrations")
    add_migration(folder, "index_tags", up="CREATE INDEX CONCURRENTLY idx_tag ON notes (tag);\n",
                  down="DROP INDEX CONCURRENTLY idx_tag;\n")
    migrate = migrate_on(empty_db_url, folder)
    traces = trace_migrations(empty_db_url, migrate)
    (build,) = traces["000003_index_tags.up.sql"]
    (drop,) = traces["000003_index_tags.down.sql"]
    assert not build.in_transaction and build.strongest() == {
        "public.notes": "ShareUpdateExclusiveLock"}
    assert not drop.in_transaction and drop.strongest()["public.notes"] == \
        "ShareUpdateExclusiveLock"
    assert migrate.version() == Version(3, dirty=False)
