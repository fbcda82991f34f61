"""Managed PostgreSQL services give no superuser: the role that owns the database must be able
to run every migration up, down and up again (trusted extensions only). Like a managed
service's master user it may create roles (CREATEROLE), but not databases."""

import secrets

import pytest
from psycopg import sql

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import Version
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.plugin.builtins.verdicts import expect, same_catalog, same_version
from ironarchive_schema.postgres import admin, urls


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
            yield urls.with_user(url, role, password), role
    finally:
        with admin.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_migrations_apply_and_roll_back_as_a_non_superuser_owner(owner_url, migrate_on):
    url, role = owner_url
    migrate = migrate_on(url)
    with admin.connect(url) as conn:
        who = conn.execute("SELECT current_user, rolsuper FROM pg_roles "
                           "WHERE rolname = current_user").fetchone()
        expect(who == (role, False), f"the owner's login: want {role}, no superuser; have {who}")
        empty = pg_catalog.snapshot(conn)

    migrate.up()
    same_version(migrate, Version(newest_version(migrate.migrations_dir), dirty=False),
                 f"up as owner {role}")
    migrated = pg_catalog.snapshot_of(url)
    foreign = {name: rel["owner"] for name, rel in migrated["relations"].items()
               if rel["owner"] != role}
    expect(not foreign, f"up as owner {role}: relations owned by another role",
           [("Owners", "\n".join(f"{name}: {owner}" for name, owner in sorted(foreign.items())))])

    migrate.down("all")
    same_version(migrate, Version(None, dirty=False), f"down all as owner {role}")
    same_catalog(empty, pg_catalog.snapshot_of(url),
                 f"down all as owner {role}: the catalog is not back to the empty database's")
    migrate.up()
    same_catalog(migrated, pg_catalog.snapshot_of(url),
                 f"up again as owner {role}: the catalog differs from the first up's")
