"""Migrations through the real migrate binary on a fresh database: up, down, up again."""

from ironarchive_schema import catalog, databases
from ironarchive_schema.migrate import Version
from ironarchive_schema.migrations import newest_version

CORE_TABLES = {"tenants", "users", "mailboxes", "emails", "attachments", "jobs", "audit_logs",
               "settings"}


def _snapshot(url: str) -> dict:
    with databases.connect(url) as conn:
        return catalog.snapshot(conn)


def test_up_on_fresh_database_reaches_newest_version_clean(empty_db_url, migrate_on):
    migrate = migrate_on(empty_db_url)
    migrate.up()
    assert migrate.version() == Version(newest_version(migrate.migrations_dir), dirty=False)
    tables = {name for name, rel in _snapshot(empty_db_url)["relations"].items()
              if rel["kind"] == "r"}
    assert CORE_TABLES <= tables


def test_down_leaves_no_trace_and_up_again_is_identical(empty_db_url, migrate_on):
    """D11: after up then down the catalog is what it was; up again gives the same schema."""
    migrate = migrate_on(empty_db_url)
    before = _snapshot(empty_db_url)
    migrate.up()
    after_up = _snapshot(empty_db_url)
    migrate.down("all")
    assert migrate.version() == Version(None, dirty=False)
    assert catalog.diff(before, _snapshot(empty_db_url)) == []
    migrate.up()
    assert catalog.diff(after_up, _snapshot(empty_db_url)) == []


def test_plain_up_at_newest_version_is_no_change(fresh_db_url, migrate_on):
    migrate = migrate_on(fresh_db_url)
    assert "no change" in migrate.up()
    version = migrate.version()
    result = migrate.run("up", "1", check=False)
    assert result.returncode == 1, "migrate up 1 at the newest version exits 1"
    assert migrate.version() == version
