"""`make migrate-lock`: locks new migrations, refuses to re-lock a changed one."""

import subprocess

import pytest

from commands import make

UP, DOWN = "000001_init.up.sql", "000001_init.down.sql"


@pytest.fixture
def folder_and_make(write_folder, tmp_path):
    """A one-migration folder, and ``make(*args)`` running migrate-lock on it with a lock
    of its own."""
    folder = write_folder({UP: "CREATE TABLE t (id BIGINT);\n", DOWN: "DROP TABLE t;\n"})

    def run(*args: str) -> subprocess.CompletedProcess:
        return make("migrate-lock", *args, MIGRATIONS_DIR=folder,
                    MIGRATIONS_LOCK=tmp_path / "migrations.lock")
    return folder, run


def test_locks_new_migrations_once(folder_and_make):
    _folder, migrate_lock = folder_and_make
    first = migrate_lock()
    assert (first.returncode, first.stdout) == (0, f"locked {DOWN}\nlocked {UP}\n")
    again = migrate_lock()
    assert (again.returncode, again.stdout) == (0, "")
    assert "every migration was locked already" in again.stderr


def test_refuses_a_changed_locked_migration_and_points_to_relock(folder_and_make):
    folder, migrate_lock = folder_and_make
    assert migrate_lock().returncode == 0
    (folder / UP).write_text("CREATE TABLE t (id BIGINT, note TEXT);\n")
    refused = migrate_lock()
    assert refused.returncode != 0
    assert f"{UP} changed: want sha256 " in refused.stderr
    assert "make migrate-lock RELOCK=<its version>" in refused.stderr
    relocked = migrate_lock("RELOCK=000001")
    assert (relocked.returncode, relocked.stdout) == (0, f"locked {DOWN}\nlocked {UP}\n")


def test_relock_takes_versions_only(folder_and_make):
    _folder, migrate_lock = folder_and_make
    result = migrate_lock("RELOCK=init")
    assert result.returncode != 0
    assert "RELOCK must be migration versions like 2 or 000002, got 'init'" in result.stderr
