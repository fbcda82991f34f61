"""Released migrations are exactly what migrations.lock recorded (Flyway's validate)."""

import pytest

from ironarchive_schema.lint import lock


def test_the_lock_file_is_intact(the_lock, no_findings):
    no_findings(the_lock.findings)


@pytest.mark.per_migration("lock")
def test_a_migration_is_locked_and_unchanged(migration, the_lock, no_findings):
    no_findings(lock.file_findings(the_lock, migration))


def test_no_locked_migration_is_missing(the_lock, folder, no_findings):
    no_findings(lock.missing_findings(the_lock, folder))
