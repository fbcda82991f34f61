"""A migration that meets a blocker gives up in its own time and leaves nothing behind.

For every file, up or down, that takes SHARE or a stronger mode on a table that existed
before it (traced, :mod:`rehearsal.locks`): at the version it runs from, a session of the
application's kind sits idle in a transaction holding ROW EXCLUSIVE (it wrote, and stalled)
on each such table. Then the real migrate runs the file. It must give up within the file's
own ``lock_timeout`` with a lock timeout, nothing of the file applied and the version dirty;
a reader that arrives while it waits (queued behind its request) must wait no longer than
that; and once the blocker is gone, forcing the version it ran from and running it again
succeeds.
"""

import threading
import time

import pytest
from psycopg import sql

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import MigrateError, Version
from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.plugin.builtins.verdicts import expect, same_catalog, same_version
from ironarchive_schema.plugin.options import gate_settings
from ironarchive_schema.postgres import admin
from ironarchive_schema.rehearsal.locks import MODES

#: The weakest mode a blocker holding ROW EXCLUSIVE holds up.
BLOCKED_FROM = MODES.index("ShareLock")
#: What a process start and a cancelled statement may add to the timeout, in seconds.
MARGIN = 3.0


def _interval_seconds(setting: str) -> float:
    """PostgreSQL's own rendering of a timeout (``5s``, ``1min``, ``250ms``) in seconds."""
    units = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}
    for unit in sorted(units, key=len, reverse=True):
        if setting.endswith(unit):
            return float(setting[:-len(unit)]) * units[unit]
    return float(setting) * 0.001  # a bare number is milliseconds


@pytest.fixture(scope="module")
def blockable(migration_traces) -> dict:
    """File -> (the tables it takes SHARE or stronger on, the lock_timeout then in force)."""
    found = {}
    for name, statements in migration_traces.items():
        for trace in statements:
            tables = sorted(relation for relation, mode in trace.strongest().items()
                            if mode in MODES and MODES.index(mode) >= BLOCKED_FROM)
            if tables:
                found[name] = (tables, trace.lock_timeout)
                break
    return found


def pytest_generate_tests(metafunc):
    if "migration_file" in metafunc.fixturenames:
        files = [path for migration in read(gate_settings(metafunc.config).migrations_dir)
                 for path in (migration.up, migration.down) if path is not None]
        metafunc.parametrize("migration_file", files, ids=[path.name for path in files])


def test_a_migration_behind_an_idle_writer_gives_up_in_its_lock_timeout(
        migration_file, blockable, empty_db_url, migrate_on, migrations_dir):
    name = migration_file.name
    if name not in blockable:
        pytest.skip("takes no lock an idle writer holds up, on a table that existed before")
    tables, lock_timeout = blockable[name]
    expect(lock_timeout not in ("0", "0ms"),
           f"{name}: takes SHARE or stronger on {', '.join(tables)} with no lock_timeout: "
           f"behind an idle writer it would wait for ever, and the application with it",
           [("Fix", "begin the file with SET LOCAL lock_timeout")])
    versions: list[int | None] = [None, *(m.version for m in read(migrations_dir))]
    down = name.endswith(".down.sql")
    version = int(name[:name.index("_")])
    below = versions[versions.index(version) - 1]
    start_at, run, recover = (version, "down", version) if down else (below, "up", below)
    migrate = migrate_on(empty_db_url)
    if start_at is not None:
        migrate.goto(start_at)
    before = pg_catalog.snapshot_of(empty_db_url)
    limit = _interval_seconds(lock_timeout) + MARGIN
    # A writer locks tables (and, as it writes, their indexes): the blocker takes the tables.
    tables = [table for table in tables if before["relations"].get(
        pg_catalog.qualify(*table.split(".", 1)), {}).get("kind") in pg_catalog.TABLE_KINDS]
    if not tables:
        pytest.skip("its first strong lock is on an index alone")

    with admin.connect(empty_db_url) as blocker, \
            admin.connect(empty_db_url, autocommit=True) as watch:
        for table in tables:  # idle in transaction, holding what a writer holds
            blocker.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
                sql.Identifier(*table.split(".", 1))))
        reader = _Reader(empty_db_url, tables[0], watch)
        started = time.monotonic()
        failure = None
        try:
            migrate.run(run, "1")
        except MigrateError as error:
            failure = error
        waited = time.monotonic() - started
        reader.join()
        blocker.rollback()

    expect(failure is not None, f"{name}: ran although a writer held {tables[0]}")
    said = f"{failure}\n{failure.output or ''}" if failure else ""
    expect("lock timeout" in said, f"{name}: want migrate to fail with a lock timeout",
           [("migrate", said)])
    expect(waited <= limit, f"{name}: gave up after {waited:.1f} s, over its lock_timeout "
                            f"{lock_timeout} (+{MARGIN:.0f} s)")
    expect(reader.waited is not None and reader.waited <= limit,
           f"{name}: a reader of {tables[0]} queued behind the migration waited "
           f"{reader.waited} s, over its lock_timeout {lock_timeout}")
    # migrate records the version it was going to: up, the file's own; down, the one below.
    # Below the first migration there is none, and migrate then reads "no migration", its
    # dirty flag lost, although every table of the first migration is still there.
    dirty = Version(version, dirty=True) if not down else \
        Version(below, dirty=below is not None)
    same_version(migrate, dirty, f"{name} after the timeout")
    same_catalog(before, pg_catalog.snapshot_of(empty_db_url),
                 f"{name}: statements of the timed-out file stay (- or + left behind)")

    if recover is None:
        migrate.run("force", "-1")
    else:
        migrate.force(recover)
    migrate.run(run, "1")
    same_version(migrate, Version(below if down else version, dirty=False),
                 f"{name}: force {recover if recover is not None else -1}, then {run}, "
                 f"without the blocker")


class _Reader(threading.Thread):
    """The application reading ``table`` once the migration waits for its lock: queued
    behind it, it runs only when the migration gives up."""

    def __init__(self, url: str, table: str, watch):
        super().__init__(daemon=True)
        self.url, self.table, self.watch = url, table, watch
        self.waited: float | None = None
        self.start()

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while not _migration_waits(self.watch) and time.monotonic() < deadline:
            time.sleep(0.01)
        with admin.connect(self.url, autocommit=True) as conn:
            started = time.monotonic()
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(*self.table.split(".", 1))))
            self.waited = round(time.monotonic() - started, 2)


def _migration_waits(watch) -> bool:
    """A backend other than the blocker's waits for a relation lock: the migration."""
    return bool(watch.execute(
        "SELECT 1 FROM pg_locks WHERE locktype = 'relation' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone())
