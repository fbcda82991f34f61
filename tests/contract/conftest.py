"""Fixtures of the contract suite: the migrated database, once per worker, as plain data."""

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.contract.from_catalog import from_catalog
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.postgres import admin


@pytest.fixture(scope="session")
def seeded_settings(worker_db_url) -> dict | None:
    """The ``settings`` rows the migrations seeded (data, so not in ``catalog_snapshot``)."""
    with admin.connect(worker_db_url) as conn:
        return pg_catalog.settings(conn)


@pytest.fixture(scope="session")
def database(migrations_dir, catalog_snapshot, seeded_settings) -> dict:
    """The migrated database as the contract would state it: every test compares with this."""
    return from_catalog(catalog_snapshot, seeded_settings, newest_version(migrations_dir))
