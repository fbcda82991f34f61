"""Released migrations are exactly what the lock recorded (Flyway's validate): the lock
file is intact, every migration is locked and unchanged, and none locked is missing."""

import pytest

from ironarchive_schema.lint import lock

# pytest calls pytest_generate_tests: per_migration("lock") runs once per file, lock:<name>.
from ironarchive_schema.plugin.builtins.lint import (  # noqa: F401
    no_findings,
    pytest_generate_tests,
)

pytestmark = [pytest.mark.lint, pytest.mark.lock]


@pytest.fixture(scope="module")
def the_lock(gate_settings) -> lock.Lock:
    return lock.read(gate_settings.migrations_lock)


def test_the_lock_file_is_intact(the_lock, gate_settings):
    no_findings(the_lock.findings, str(gate_settings.migrations_lock))


@pytest.mark.per_migration("lock")
def test_a_migration_is_locked_and_unchanged(migration, the_lock):
    no_findings(lock.file_findings(the_lock, migration), migration.name)


def test_no_locked_migration_is_missing(the_lock, migrations_dir, gate_settings):
    no_findings(lock.missing_findings(the_lock, migrations_dir),
                str(gate_settings.migrations_lock))
