"""Migrations that fail, are killed, race each other or wait on a lock, on a copy of the
folder under test with one migration added: what the database is left with, and that
golang-migrate's recovery (``force`` the right version, then ``up``) brings it back.

A slow migration is made deterministic by a gate: the test holds an advisory lock that the
migration's second statement waits for, so the test decides when (and whether) the
migration goes on; nothing depends on sleeping long enough.
"""

import time

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate import command as migrate_module
from ironarchive_schema.migrate.background import (
    add_migration,
    advisory_lock_holders,
    copy_migrations,
    finish,
    migrate_lock_key,
    other_backends,
    start,
    terminate,
    wait_for,
)
from ironarchive_schema.migrate.command import MigrateError, Version
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.plugin.builtins.verdicts import expect, same_catalog, same_version
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.postgres import admin

GATE = 4242
PROBES = {"fault_probe_a", "fault_probe_b"}
GATED_UP = f"""CREATE TABLE fault_probe_a (id integer);
SELECT pg_advisory_xact_lock({GATE});
CREATE TABLE fault_probe_b (id integer);
"""
GATED_DOWN = "DROP TABLE fault_probe_b;\nDROP TABLE fault_probe_a;\n"


@pytest.fixture
def migrations_copy(migrations_dir, tmp_path):
    """A copy of the migrations under test; migrate runs as root, so any tmp dir will do."""
    return copy_migrations(migrations_dir, tmp_path / "migrations")


@pytest.fixture
def watch(fresh_db_url):
    """A session of the test's own on the database: observes backends, holds locks."""
    with admin.connect(fresh_db_url, autocommit=True) as conn:
        yield conn


def tables(url: str) -> set[str]:
    return set(pg_catalog.tables(pg_catalog.snapshot_of(url)))


def has_probes(url: str, probes: set[str], title: str) -> None:
    missing = probes - tables(url)
    expect(not missing, f"{title}: tables {', '.join(sorted(missing))} are missing")


def refused(action, title: str, want: str) -> MigrateError:
    """The MigrateError ``action`` raises, saying ``want``."""
    try:
        action()
    except MigrateError as error:
        said = f"{error}\n{error.output or ''}"
        expect(want in said, f"{title}: want migrate to say {want!r}", [("migrate", said)])
        return error
    raise GateFailure(f"{title}: want migrate to fail saying {want!r}; it succeeded")


def test_a_migration_failing_part_way_applies_nothing_and_the_force_path_recovers(
        migrate_on, fresh_db_url, migrations_copy):
    """golang-migrate sends a file as one implicit transaction: the first statement is
    rolled back with the failing second one, and the version is recorded dirty."""
    last_good = newest_version(migrations_copy)
    version = add_migration(migrations_copy, "fails_part_way",
                            up="CREATE TABLE fault_probe_a (id integer);\nSELECT 1 / 0;\n",
                            down="DROP TABLE fault_probe_a;\n")
    migrate = migrate_on(fresh_db_url, migrations_copy)
    before = pg_catalog.snapshot_of(fresh_db_url)

    failed = refused(migrate.up, "up with a file failing part way", "division by zero")
    expect(failed.returncode == 1, f"the failed up: want exit 1, have {failed.returncode}")
    same_version(migrate, Version(version, dirty=True), "after the failed up")
    same_catalog(before, pg_catalog.snapshot_of(fresh_db_url),
                 "statements of the failed file stay (+ left behind)")
    refused(migrate.up, "up on the dirty database", "Dirty database version")

    migrate.force(last_good)
    same_version(migrate, Version(last_good, dirty=False), f"force {last_good}")
    (migrations_copy / f"{version:06d}_fails_part_way.up.sql").write_text(
        "CREATE TABLE fault_probe_a (id integer);\n")
    migrate.up()
    same_version(migrate, Version(version, dirty=False), "up after the fix")
    has_probes(fresh_db_url, {"fault_probe_a"}, "up after the fix")


@pytest.mark.parametrize("orphan", ["terminated", "left-to-finish"])
def test_a_killed_migrate_leaves_all_or_nothing_and_the_recovery_fixes_it(
        migrate_on, fresh_db_url, migrations_copy, watch, orphan):
    """SIGKILL kills the client, not its backend: the backend goes on with the migration
    (and keeps migrate's lock) until it ends or is terminated. Terminated, nothing of the
    file is applied; left to finish, all of it is committed. Either way the version is
    dirty, and which version to force depends on which of the two happened."""
    last_good = newest_version(migrations_copy)
    version = add_migration(migrations_copy, "gated", up=GATED_UP, down=GATED_DOWN)
    migrate = migrate_on(fresh_db_url, migrations_copy)
    before = pg_catalog.snapshot_of(fresh_db_url)
    watch.execute("SELECT pg_advisory_lock(%s)", (GATE,))
    process = start(migrate, "up")
    try:
        (backend,) = wait_for("the migration to wait at the gate",
                              lambda: advisory_lock_holders(watch, GATE, granted=False))
        process.kill()
        finish(process)
    finally:
        process.kill()
    expect(backend in [pid for pid, *_ in other_backends(watch)],
           f"the killed migrate's backend {backend} did not outlive it")
    holders = advisory_lock_holders(watch, migrate_lock_key(fresh_db_url), granted=True)
    expect(holders == [backend], f"migrate's lock: want held by its backend {backend}, "
                                 f"have {holders}")

    if orphan == "terminated":
        terminate(watch, backend)
        watch.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        same_catalog(before, pg_catalog.snapshot_of(fresh_db_url),
                     "the killed, terminated migration left a trace (+)")
        recover_to = last_good
    else:
        watch.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        wait_for("the orphaned backend to finish",
                 lambda: backend not in [pid for pid, *_ in other_backends(watch)])
        has_probes(fresh_db_url, PROBES, "the orphan left to finish commits the whole file")
        recover_to = version
    same_version(migrate, Version(version, dirty=True), "after the killed migrate")

    migrate.force(recover_to)
    migrate.up()
    same_version(migrate, Version(version, dirty=False), f"force {recover_to}, then up")
    has_probes(fresh_db_url, PROBES, f"force {recover_to}, then up")


def test_two_migrate_up_at_once_both_end_clean_one_having_waited(migrate_on, fresh_db_url,
                                                                  migrations_copy, watch):
    version = add_migration(migrations_copy, "gated", up=GATED_UP, down=GATED_DOWN)
    migrate = migrate_on(fresh_db_url, migrations_copy)
    key = migrate_lock_key(fresh_db_url)
    watch.execute("SELECT pg_advisory_lock(%s)", (GATE,))
    processes = [start(migrate, "up"), start(migrate, "up")]
    try:
        # One holds migrate's lock and waits at the gate; the other waits for migrate's lock.
        wait_for("one migrate at the gate and one queued for migrate's lock", lambda: (
            len(advisory_lock_holders(watch, GATE, granted=False)) == 1
            and len(advisory_lock_holders(watch, key, granted=False)) == 1))
        holder = advisory_lock_holders(watch, key, granted=True)
        at_gate = advisory_lock_holders(watch, GATE, granted=False)
        expect(holder == at_gate, f"migrate's lock: want held by the migrate at the gate "
                                  f"{at_gate}, have {holder}")
        watch.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        results = [finish(process) for process in processes]
    finally:
        for process in processes:
            process.kill()
    outputs = [("migrate", f"exit {code}: {output}") for code, output in results]
    expect([code for code, _ in results] == [0, 0], "two migrate up at once: want both to "
                                                    "exit 0", outputs)
    said = sorted("no change" if "no change" in output else "applied" for _, output in results)
    expect(said == ["applied", "no change"], "two migrate up at once: want one to apply and "
                                             "one to find no change", outputs)
    same_version(migrate, Version(version, dirty=False), "after two migrate up at once")


def test_a_migrate_blocked_on_its_lock_is_killed_by_our_timeout(migrate_on, migrations_dir,
                                                                 fresh_db_url, watch,
                                                                 monkeypatch):
    """The lock migrate takes while connecting ignores -lock-timeout (here 1 s): only the
    process timeout (here 2 s) ends the wait. Its backend stays queued for the lock."""
    monkeypatch.setattr(migrate_module, "LOCK_TIMEOUT", 1)
    migrate = migrate_on(fresh_db_url, timeout=2)
    key = migrate_lock_key(fresh_db_url)
    watch.execute("SELECT pg_advisory_lock(%s)", (key,))
    started = time.monotonic()
    timed_out = refused(migrate.version, "migrate version behind a held lock", "timed out")
    waited = time.monotonic() - started
    expect("-lock-timeout 1" in migrate.describe("version"),
           "migrate is not given -lock-timeout", [("Command", migrate.describe("version"))])
    expect(timed_out.returncode is None, f"migrate behind a held lock: want killed by the "
                                         f"timeout, have exit {timed_out.returncode}",
           [("migrate", timed_out.output or "")])
    expect(waited >= 2, f"migrate behind a held lock gave up after {waited:.1f} s, before "
                        f"its 2 s timeout")
    (orphan,) = advisory_lock_holders(watch, key, granted=False)
    terminate(watch, orphan)
