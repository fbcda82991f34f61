"""Managed PostgreSQL services give no superuser: the application's role owns its database
and must be able to run every migration up, down and up again (trusted extensions only).
Like a managed service's master user, it has CREATEROLE: migration 000002 creates the
application's role ironarchive_app when the cluster does not have it yet."""

import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from psycopg import sql

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import Version
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.postgres import admin


def with_login(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}:"
                                            f"{quote(password, safe='')}@{host}"))


@pytest.fixture
def owner_url(admin_url):
    """A database owned by a new LOGIN NOSUPERUSER NOCREATEDB CREATEROLE role, and the URL
    that logs in as it. Roles are cluster-wide and xdist workers share the cluster, so the
    name is unique and the role is dropped afterwards."""
    with admin.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles "
                            "WHERE rolname = current_user").fetchone()[0]:
            pytest.skip("the test server's role may not create roles")
        role, password = admin.unique_name("owner"), secrets.token_urlsafe(16)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB CREATEROLE "
                             "PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    try:
        with admin.temporary(admin_url, "owned", owner=role) as url:
            yield with_login(url, role, password), role
    finally:
        with admin.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_migrations_apply_and_roll_back_as_a_non_superuser_owner(owner_url, migrate_on):
    url, role = owner_url
    migrate = migrate_on(url)
    with admin.connect(url) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (role, False)
        empty = pg_catalog.snapshot(conn)

    migrate.up()
    assert migrate.version() == Version(newest_version(migrate.migrations_dir), dirty=False)
    migrated = pg_catalog.snapshot_of(url)
    owners = {name: rel["owner"] for name, rel in migrated["relations"].items()}
    assert set(owners.values()) == {role}, owners

    migrate.down("all")
    assert migrate.version() == Version(None, dirty=False)
    assert pg_catalog.diff(empty, pg_catalog.snapshot_of(url)) == []
    migrate.up()
    assert pg_catalog.diff(migrated, pg_catalog.snapshot_of(url)) == []
