"""migrate as a background process, and what its backends do seen from another session: for
the checks that kill, race or block migrate (the built-in ``faults``) and tests of a
project's own recovery. Copies of the migrations folder with a migration added, migrate's
advisory lock, and waiting (with a deadline) for what other backends are doing."""

import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from ironarchive_schema.migrate import journal
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.migrate.migration_files import newest_version


def migrate_lock_key(database_url: str, schema: str = "public",
                     table: str = "schema_migrations") -> int:
    """The pg_advisory_lock key golang-migrate takes on ``database_url``."""
    return journal.lock_key(database_url, schema, table)


def copy_migrations(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def add_migration(folder: Path, title: str, up: str, down: str) -> int:
    """Write the next version's pair into ``folder``; return its version."""
    version = (newest_version(folder) or 0) + 1
    (folder / f"{version:06d}_{title}.up.sql").write_text(up)
    (folder / f"{version:06d}_{title}.down.sql").write_text(down)
    return version


def start(migrate: Migrate, *args: str) -> subprocess.Popen:
    """migrate in the background; the caller waits for it with a timeout."""
    return subprocess.Popen(migrate.argv(*args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=migrate.environment())


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    """Wait for a background migrate; kill it if it outlives ``timeout``."""
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate(timeout=10)
        raise AssertionError(f"migrate still running after {timeout} s:\n{stderr}") from None
    return process.returncode, stderr


def wait_for(what: str, probe, timeout: float = 20, interval: float = 0.02):
    """Call ``probe`` until it returns something truthy; return that, or fail after
    ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def other_backends(conn: psycopg.Connection) -> list[tuple]:
    """(pid, state, wait_event_type, query) of every other session on this database."""
    return conn.execute(
        "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' ORDER BY pid").fetchall()


def advisory_lock_holders(conn: psycopg.Connection, key: int, granted: bool) -> list[int]:
    """Backends holding (``granted``) or waiting for (not ``granted``) an advisory lock.

    A bigint key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
    """
    return [pid for (pid,) in conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid::bigint * 4294967296 + objid::bigint = %s AND granted = %s",
        (key, granted)).fetchall()]


def terminate(conn: psycopg.Connection, pid: int, timeout: float = 20) -> None:
    """pg_terminate_backend, then wait until the backend is gone."""
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_for(f"backend {pid} to exit", lambda: pid not in [b[0] for b in other_backends(conn)],
             timeout)
