"""Fixtures of the contract suite: the migrated database, once per worker, as plain data."""

import pytest

from ironarchive_schema import catalog, contract, databases
from ironarchive_schema.migrations import newest_version
from ironarchive_schema.paths import migrations_dir


@pytest.fixture(scope="session")
def seeded_settings(worker_db_url) -> dict | None:
    """The ``settings`` rows the migrations seeded (data, so not in ``catalog_snapshot``)."""
    with databases.connect(worker_db_url) as conn:
        return catalog.settings(conn)


@pytest.fixture(scope="session")
def database(catalog_snapshot, seeded_settings) -> dict:
    """The migrated database as the contract would state it: every test compares with this."""
    return contract.from_catalog(catalog_snapshot, seeded_settings,
                                 newest_version(migrations_dir()))
