"""The plugin's factories on a folder other than the one under test."""

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.paths import REPO_ROOT

EXAMPLE_MIGRATIONS = REPO_ROOT / "examples" / "minimal" / "migrations"


def test_a_template_migrated_from_another_folder_is_made_once_and_copied(migrated_template,
                                                                          owned_database):
    name = migrated_template(EXAMPLE_MIGRATIONS)
    assert migrated_template(EXAMPLE_MIGRATIONS) == name, "made once per folder and run"
    copy = owned_database(name)
    assert pg_catalog.tables(pg_catalog.snapshot_of(copy)) == ["notes"]


def test_an_owned_database_is_empty_unless_copied_from_a_template(owned_database):
    assert pg_catalog.tables(pg_catalog.snapshot_of(owned_database())) == []
