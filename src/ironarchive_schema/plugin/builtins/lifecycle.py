"""Every migration of the folder through the real migrate, one version at a time, so a
migration added tomorrow is checked by the same tests (ids ``v000002``...):

- up then down restores the catalog exactly, and up again repeats the schema;
- the whole set up, down and up again gives the identical catalog;
- up on an empty database reaches the newest version clean; up at the newest is no change.
"""

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import Version
from ironarchive_schema.migrate.migration_files import newest_version, read
from ironarchive_schema.plugin.builtins.verdicts import same_catalog, same_version
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.options import gate_settings


def version_id(migration) -> str:
    return f"v{migration.version:06d}"


def pytest_generate_tests(metafunc):
    """Each test that takes ``migration`` runs once per migration of the folder under test."""
    if "migration" in metafunc.fixturenames:
        migrations = read(gate_settings(metafunc.config).migrations_dir)
        metafunc.parametrize("migration", migrations, ids=[version_id(m) for m in migrations])


def test_down_undoes_up_one_version_at_a_time(empty_db_url, migrate_on, migrations_dir,
                                              migration):
    migrate = migrate_on(empty_db_url)
    migrations = read(migrations_dir)
    index = migrations.index(migration)
    previous = migrations[index - 1].version if index else None
    if previous is not None:
        migrate.goto(previous)
    before = pg_catalog.snapshot_of(empty_db_url)
    name = f"{migration.version:06d}_{migration.title}"
    migrate.up(1)
    same_version(migrate, Version(migration.version, dirty=False), f"{name}: up")
    after_up = pg_catalog.snapshot_of(empty_db_url)
    migrate.down(1)
    same_version(migrate, Version(previous, dirty=False), f"{name}: down")
    same_catalog(before, pg_catalog.snapshot_of(empty_db_url),
                 f"{name}: down does not undo up (- gone, + left behind)",
                 f"make {name}.down.sql drop exactly what its up file creates")
    migrate.up(1)
    same_catalog(after_up, pg_catalog.snapshot_of(empty_db_url),
                 f"{name}: up after down builds another schema (- first up, + second)",
                 f"make {name}.down.sql restore exactly what its up file changes")


def test_up_on_an_empty_database_reaches_the_newest_version_clean(empty_db_url, migrate_on):
    migrate = migrate_on(empty_db_url)
    migrate.up()
    same_version(migrate, Version(newest_version(migrate.migrations_dir), dirty=False),
                 "up on an empty database")


def test_all_up_all_down_all_up_gives_identical_catalogs(empty_db_url, migrate_on):
    """After up then down the catalog is what it was; up again gives the same schema."""
    migrate = migrate_on(empty_db_url)
    empty = pg_catalog.snapshot_of(empty_db_url)
    migrate.up()
    migrated = pg_catalog.snapshot_of(empty_db_url)
    migrate.down("all")
    same_version(migrate, Version(None, dirty=False), "down -all")
    same_catalog(empty, pg_catalog.snapshot_of(empty_db_url), "down -all leaves a trace",
                 "each down file drops what its up file creates")
    migrate.up()
    same_catalog(migrated, pg_catalog.snapshot_of(empty_db_url),
                 "up again builds another schema", "each down file restores what its up "
                                                   "file changes")


def test_plain_up_at_the_newest_version_is_no_change(fresh_db_url, migrate_on):
    migrate = migrate_on(fresh_db_url)
    output = migrate.up()
    if "no change" not in output:
        raise GateFailure("up at the newest version changed something", [("migrate", output)])
    version = migrate.version()
    result = migrate.run("up", "1", check=False)
    if result.returncode != 1:
        raise GateFailure(f"migrate up 1 at the newest version: want exit 1, have "
                          f"{result.returncode}")
    same_version(migrate, version, "migrate up 1 at the newest version")
