"""A dirty database is reported as what happened: which migration failed, in which
direction, or that migrate was killed; `migrate-status` exits non-zero, and the recovery it
names brings the database back. All with the real migrate, through the Makefile's targets.

golang-migrate alone cannot tell these apart: a failed down of 3 and a failed up of 2 both
leave `2 (dirty)`, and their recoveries differ.
"""

import os
import signal
import subprocess
import threading

import pytest

from commands import cli, environment, make
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.background import (
    add_migration,
    advisory_lock_holders,
    copy_migrations,
    other_backends,
    terminate,
    wait_for,
)
from ironarchive_schema.migrate.command import Version
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.migrate.recovery import EXIT_DIRTY
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin

GATE = 4343


@pytest.fixture
def migrations_copy(migrations_dir, tmp_path):
    return copy_migrations(migrations_dir, tmp_path / "migrations")


@pytest.fixture
def target(fresh_db_url, migrations_copy):
    """``target(make_target, *args)`` on the test's database and migrations_copy."""
    return lambda name, *args: make(name, *args, DATABASE_URL=fresh_db_url,
                                    MIGRATIONS_DIR=migrations_copy)


def status(fresh_db_url, migrations_copy) -> subprocess.CompletedProcess:
    """The CLI behind `make migrate-status`, whose exit code make would turn into 2."""
    return cli("status", DATABASE_URL=fresh_db_url, MIGRATIONS_DIR=migrations_copy)


def start_migrate_up(url: str, migrations_copy) -> subprocess.Popen:
    """`make migrate-up` in the background, in a session of its own (to signal its group);
    its output, stdout and stderr together, on ``stdout``."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "migrate-up"], cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=environment(DATABASE_URL=url, MIGRATIONS_DIR=migrations_copy), start_new_session=True)


# What migrate's Ctrl-C handler logs before it asks the run to stop (internal/cli/main.go).
MIGRATE_STOPPING = "Stopping after this running migration"


def read_until(process: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """The output of ``process`` up to and including the first line holding ``text``."""
    assert process.stdout is not None, "start_migrate_up pipes the output"
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if text in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive() or not lines or text not in lines[-1]:
        raise AssertionError(f"want a line with {text!r} within {timeout} s; have:\n"
                             f"{''.join(lines)}")
    return "".join(lines)


def tables(url: str) -> set[str]:
    return set(pg_catalog.tables(pg_catalog.snapshot_of(url)))


def test_a_failed_up_names_the_migration_and_the_recovery_that_works(fresh_db_url, migrations_copy,
                                                                      target):
    last_good = newest_version(migrations_copy)
    version = add_migration(migrations_copy, "fails_up",
                            up="CREATE TABLE dirty_probe (id integer);\nSELECT 1 / 0;\n",
                            down="DROP TABLE dirty_probe;\n")
    failed = target("migrate-up")
    assert failed.returncode == 2
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: migrate up failed: migration failed: division by zero in line 0 "
                      f"of the file (details: pq: division by zero); the database is dirty at "
                      f"version {version}: make migrate-status says how to recover"], \
        failed.stderr
    assert "SELECT 1 / 0" not in failed.stderr, "the failing file is not repeated"
    report = status(fresh_db_url, migrations_copy)
    assert (report.returncode, report.stdout) == (EXIT_DIRTY, f"version: {version} (dirty)\n")
    assert f"migration {version}'s up failed and was rolled back" in report.stderr
    assert f"`make migrate-force VERSION={last_good}` and `make migrate-up`" in report.stderr
    assert "division by zero" in report.stderr
    assert "make migrate-down" not in report.stderr
    (migrations_copy / f"{version:06d}_fails_up.up.sql").write_text(
        "CREATE TABLE dirty_probe (id int);\n")
    assert target("migrate-force", f"VERSION={last_good}").returncode == 0
    assert target("migrate-up").returncode == 0
    assert status(fresh_db_url, migrations_copy).stdout == f"version: {version}\n"
    assert "dirty_probe" in tables(fresh_db_url)


def test_a_failed_down_is_not_reported_as_a_failed_up_of_the_version_before(
        fresh_db_url, migrations_copy, target):
    below = newest_version(migrations_copy)
    version = add_migration(migrations_copy, "fails_down",
                            up="CREATE TABLE dirty_probe (id integer);\n",
                            down="DROP TABLE dirty_probe;\nSELECT 1 / 0;\n")
    assert target("migrate-up").returncode == 0
    assert target("migrate-down").returncode != 0
    report = status(fresh_db_url, migrations_copy)
    assert (report.returncode, report.stdout) == (EXIT_DIRTY, f"version: {below} (dirty)\n")
    assert f"migration {version}'s down failed and was rolled back: {version} is still " \
           f"applied" in report.stderr
    assert f"`make migrate-force VERSION={version}` and `make migrate-down`" in report.stderr
    assert f"migration {below}'s up failed" not in report.stderr
    assert "dirty_probe" in tables(fresh_db_url)
    (migrations_copy / f"{version:06d}_fails_down.down.sql").write_text("DROP TABLE dirty_probe;\n")
    assert target("migrate-force", f"VERSION={version}").returncode == 0
    assert target("migrate-down").returncode == 0
    assert status(fresh_db_url, migrations_copy).stdout == f"version: {below}\n"
    assert "dirty_probe" not in tables(fresh_db_url)


def test_a_killed_migrate_is_reported_with_both_outcomes_and_the_running_backend(
        migrate_on, fresh_db_url, migrations_copy, target):
    """SIGKILL ends make, the CLI and migrate; migrate's backend carries on at the gate."""
    last_good = newest_version(migrations_copy)
    version = add_migration(
        migrations_copy, "gated", up=f"CREATE TABLE dirty_probe (id integer);\n"
                            f"SELECT pg_advisory_xact_lock({GATE});\n",
        down="DROP TABLE dirty_probe;\n")
    with admin.connect(fresh_db_url, autocommit=True) as watch:
        watch.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        process = start_migrate_up(fresh_db_url, migrations_copy)
        try:
            (backend,) = wait_for("the migration to wait at the gate",
                                  lambda: advisory_lock_holders(watch, GATE, granted=False))
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=30)
        running = status(fresh_db_url, migrations_copy)
        assert running.returncode == EXIT_DIRTY, running.stderr
        refused = target("migrate-up")
        assert refused.returncode == 2
        assert f"backend {backend} holds migrate's lock" in refused.stderr
        assert f"migrate's lock is held by backend {backend}" in running.stderr
        assert f"pg_terminate_backend({backend})" in running.stderr
        terminate(watch, backend)
        assert backend not in [pid for pid, *_ in other_backends(watch)]
    killed = status(fresh_db_url, migrations_copy)
    assert killed.returncode == EXIT_DIRTY
    assert f"migrate was stopped (killed?) while migration {version}'s up ran" in killed.stderr
    assert f"`make migrate-force VERSION={version}`" in killed.stderr
    assert f"`make migrate-force VERSION={last_good}`" in killed.stderr
    assert "dirty_probe" not in tables(fresh_db_url), "terminated: nothing of it is applied"
    (migrations_copy / f"{version:06d}_gated.up.sql").write_text(
        "CREATE TABLE dirty_probe (id int);\n")
    assert target("migrate-force", f"VERSION={last_good}").returncode == 0
    assert target("migrate-up").returncode == 0
    assert migrate_on(fresh_db_url, migrations_copy).version() == Version(version, dirty=False)


def test_dirty_without_a_record_names_both_readings(fresh_db_url, migrations_copy):
    """Dirtied by migrate run by hand: no journal says which way it failed."""
    below = newest_version(migrations_copy)
    with admin.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET dirty = true")
    report = status(fresh_db_url, migrations_copy)
    assert report.returncode == EXIT_DIRTY
    assert "no record says how" in report.stderr
    assert f"migration {below}'s up failed" in report.stderr


def test_make_migrate_status_fails_on_a_dirty_database(fresh_db_url, migrations_copy, target):
    """A script running `make migrate-status` sees the failure too (make says 2)."""
    with admin.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET dirty = true")
    result = target("migrate-status")
    assert result.returncode == 2 and "(dirty)" in result.stdout


@pytest.mark.parametrize(("signum", "to_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["Ctrl-C to the group", "SIGTERM to make alone"])
def test_an_interrupted_migrate_up_stops_after_the_migration_it_is_applying(
        migrate_on, fresh_db_url, migrations_copy, signum, to_group):
    """Not killed mid-file (its backend would carry on, the database dirty): migrate is asked
    to stop after the running migration, which commits; the next one is not started."""
    gated = add_migration(
        migrations_copy, "gated", up=f"SELECT pg_advisory_xact_lock({GATE});\n"
                            f"CREATE TABLE dirty_probe (id integer);\n",
        down="DROP TABLE dirty_probe;\n")
    add_migration(migrations_copy, "after", up="CREATE TABLE dirty_after (id integer);\n",
                  down="DROP TABLE dirty_after;\n")
    with admin.connect(fresh_db_url, autocommit=True) as watch:
        watch.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        process = start_migrate_up(fresh_db_url, migrations_copy)
        try:
            wait_for("the migration to wait at the gate",
                     lambda: advisory_lock_holders(watch, GATE, granted=False))
            if to_group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            # Signals arrive when the kernel and Go's runtime get to them: the gate opens only
            # once migrate has said it will stop, or a busy machine lets it finish the gated
            # migration first and rightly start the next one.
            output = read_until(process, MIGRATE_STOPPING)
            watch.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
            output += process.communicate(timeout=60)[0]
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    lines = [line for line in output.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1 and f"the database is at version {gated}" in lines[0], output
    assert "Traceback" not in output
    assert migrate_on(fresh_db_url, migrations_copy).version() == Version(gated, dirty=False)
    assert {"dirty_probe"} <= tables(fresh_db_url) and "dirty_after" not in tables(fresh_db_url)
    report = status(fresh_db_url, migrations_copy)
    assert report.returncode == 0, report.stderr
