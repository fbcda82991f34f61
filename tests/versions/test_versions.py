"""What differs between PostgreSQL majors, and how the suite reads each major the same.

These run on the major of this run's server (PG_VERSION); `make test-matrix` runs them on
each pinned major. docs/versions.md lists every difference found and the test showing it.
"""

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.contract.from_catalog import from_catalog, unstated


@pytest.fixture
def major(db) -> int:
    return db.info.server_version // 10000


def test_the_server_under_test_is_the_major_asked_for(major, gate_settings):
    """The matrix proves nothing unless each run really talks to the major it names."""
    want = gate_settings.get("PG_VERSION")
    if not want or gate_settings.get("TEST_DATABASE_URL"):
        pytest.skip("PG_VERSION names no major for this run's server")
    assert major == int(want)


def test_not_null_is_read_as_column_nullability_on_every_major(catalog_snapshot):
    """PostgreSQL 18 also records each NOT NULL as a constraint (contype 'n'); the snapshot
    keeps it where every major has it, in the column, so snapshots compare across majors."""
    assert [key for key, con in catalog_snapshot["constraints"].items()
            if con["type"] == "n"] == []
    assert catalog_snapshot["columns"]["emails.sent_at"]["nullable"] is False
    assert catalog_snapshot["columns"]["emails.deleted_at"]["nullable"] is True


def test_not_valid_not_null_is_reported_from_postgresql_18(db, major):
    """18 can add NOT NULL ... NOT VALID: the column then reads NOT NULL although old rows may
    hold NULLs, so that constraint stays in the snapshot and the contract refuses it."""
    if major < 18:
        pytest.skip(f"NOT NULL ... NOT VALID is new in PostgreSQL 18; this server is {major}")
    db.execute("ALTER TABLE emails ADD CONSTRAINT emails_deleted_at_not_null "
               "NOT NULL deleted_at NOT VALID")
    snapshot = pg_catalog.snapshot(db)
    assert snapshot["constraints"]["emails.emails_deleted_at_not_null"]["validated"] is False
    assert ("constraint emails.emails_deleted_at_not_null is NOT VALID (not yet validated)"
            in unstated(snapshot))


def test_pgcrypto_is_the_version_its_major_ships_and_the_contract_names_no_version(
        catalog_snapshot, major):
    """pgcrypto is 1.3 up to PostgreSQL 17 and 1.4 from 18 (CREATE EXTENSION takes the
    default version): the contract states where an extension lives, not its version."""
    assert catalog_snapshot["extensions"]["pgcrypto"]["version"] == ("1.4" if major >= 18
                                                                     else "1.3")
    stated = from_catalog(catalog_snapshot, None, None)["extensions"]
    assert stated["pgcrypto"] == "public"
