"""Bad input gets one clear line and loses nothing: URLs, binaries, migrate, folders."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from commands import cli, environment, one_line
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.go_tools import MIGRATE
from ironarchive_schema.migrate import binary, migration_files
from ironarchive_schema.migrate.command import MigrateError
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import binaries
from ironarchive_schema.postgres.cluster import free_port
from ironarchive_schema.settings import Settings, resolve

PINNED = MIGRATE.pinned_version()




def only(**values: str) -> Settings:
    """Settings made of ``values`` alone: no environment, no .env."""
    return resolve(values, environ={}, env_file=Path(os.devnull))


def fake_migrate(tmp_path: Path, version: str, drivers: str = "postgres") -> str:
    script = tmp_path / "migrate"
    script.write_text(f"#!/bin/sh\necho 'Database drivers: {drivers}' >&2\n"
                      f"[ \"$1\" = -version ] && echo {version} >&2\nexit 0\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.parametrize("url, message", [
    ("mysql://root@127.0.0.1/x", "must start with postgres:// or postgresql://"),
    ("postgres://u:secret@127.0.0.1:5432", "names no database"),
    ("postgres://u@127.0.0.1:notaport/x", "invalid port"),
])
def test_malformed_database_url_is_one_line_without_password(url, message):
    result = cli("status", DATABASE_URL=url)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("error: DATABASE_URL") and message in line
    assert "secret" not in line


def test_unreachable_database_is_one_line_from_migrate(migrate_on, tmp_path):
    url = f"postgres://nobody:secret@127.0.0.1:{free_port()}/nothing?sslmode=disable"
    with pytest.raises(MigrateError) as caught:
        migrate_on(url).up()
    assert "connection refused" in one_line(str(caught.value))
    assert caught.value.returncode == 1


def test_a_server_without_tls_gets_a_hint_about_sslmode(admin_url):
    """lib/pq's default sslmode wants TLS, which the local servers do not have."""
    url = admin_url.replace("?sslmode=disable", "")
    result = cli("status", DATABASE_URL=url)
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "SSL is not enabled on the server" in line and "add sslmode=disable" in line


def test_down_refuses_a_remote_database_without_confirm():
    # Refused before any connection is attempted: nothing is sent to that host.
    result = cli("down", "all", DATABASE_URL="postgres://app:secret@db.example.com/ironarchive",
                 CONFIRM="")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "refusing to migrate down" in line and "CONFIRM=1" in line
    assert "secret" not in result.stderr


def test_no_postgres_binaries_lists_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_config
    (tmp_path / "17" / "bin").mkdir(parents=True)
    with pytest.raises(ToolchainError) as caught:
        # No PG_BINDIR, no PG_VERSION (the matrix sets it; a major would be fetched).
        binaries.find_bindir(only(), debian_root=tmp_path)
    message = one_line(str(caught.value))
    assert "pg_config not on PATH" in message
    assert f"{tmp_path}/17/bin lacks initdb, pg_ctl, postgres" in message
    assert "apt-get install postgresql-15" in message


def test_explicit_postgres_bindir_that_lacks_binaries_is_one_line():
    result = cli("pg-bindir", PG_BINDIR="/nonexistent/bin")
    assert result.returncode == 2
    assert "explicit setting: /nonexistent/bin lacks initdb" in one_line(result.stderr)


def test_suite_without_postgres_binaries_stops_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-q", "--postgres=embedded",
         str(REPO_ROOT / "tests" / "toolchain" / "test_urls.py")],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env=environment(PG_BINDIR=tmp_path),
    )
    assert result.returncode == 3
    assert "error: no PostgreSQL server binaries found" in result.stdout + result.stderr


def test_missing_migrate_binary():
    with pytest.raises(ToolchainError, match="migrate binary /nonexistent/migrate does not exist"):
        binary.ensure_migrate(only(MIGRATE_BIN="/nonexistent/migrate"))


def test_wrong_migrate_version(tmp_path):
    with pytest.raises(ToolchainError) as caught:
        binary.ensure_migrate(only(MIGRATE_BIN=fake_migrate(tmp_path, "v4.17.0")))
    assert f"reports version v4.17.0; this project pins {PINNED}" in one_line(str(caught.value))


def test_migrate_without_postgres_driver(tmp_path):
    fake = fake_migrate(tmp_path, PINNED, drivers="mysql, sqlite3")
    with pytest.raises(ToolchainError, match="without the postgres driver"):
        binary.ensure_migrate(only(MIGRATE_BIN=fake))


def test_building_migrate_without_go_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="Go is not installed") as caught:
        MIGRATE.build(only(), PINNED, tmp_path / "migrate")
    one_line(str(caught.value))


def test_the_built_migrate_is_the_pinned_release(gate_settings):
    built = binary.ensure_migrate(gate_settings)
    assert binary.reported_version(built) == PINNED
    assert PINNED.startswith("v4.")


@pytest.mark.parametrize("name", ["0001_x.sql", "000002_add_thing.sql", "notes.txt",
                                  "000002_add_thing.UP.sql"])
def test_malformed_migration_file_name_is_refused(migrate_on, tmp_path, name):
    (tmp_path / "000001_initial.up.sql").write_text("SELECT 1;\n")
    (tmp_path / "000001_initial.down.sql").write_text("SELECT 1;\n")
    (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(ToolchainError, match="not a migration file name"):
        migrate_on("postgres://u@127.0.0.1/x", tmp_path)


def test_one_version_twice_is_refused(tmp_path):
    for name in ("000001_a.up.sql", "000001_a.down.sql", "000001_b.up.sql"):
        (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(ToolchainError) as caught:
        migration_files.read(tmp_path)
    assert one_line(str(caught.value)) == (f"{tmp_path}/000001_b.up.sql: version 1 appears "
                                           f"more than once")


@pytest.mark.parametrize("settings, message", [
    ({"POSTGRES_BACKEND": "bogus"}, "POSTGRES_BACKEND must be one of"),
    ({"POSTGRES_BACKEND": "url"}, "POSTGRES_BACKEND=url needs TEST_DATABASE_URL"),
])
def test_a_bad_backend_for_schema_diff_is_one_line(settings, message):
    result = cli("schema-diff", **settings)
    assert result.returncode == 2
    assert message in one_line(result.stderr)


def test_a_missing_migrations_folder_is_one_line():
    result = cli("up", MIGRATIONS_DIR="/nonexistent/migrations",
                 DATABASE_URL="postgres://u@127.0.0.1/x")
    assert result.returncode == 2
    assert "migrations folder /nonexistent/migrations does not exist" in one_line(result.stderr)


def test_a_migrate_bin_that_cannot_run_is_one_line(tmp_path):
    script = tmp_path / "migrate"
    script.write_text("#!/bin/sh\n")  # not executable
    result = cli("migrate-bin", MIGRATE_BIN=script)
    assert result.returncode == 2
    assert f"cannot run migrate at {script}" in one_line(result.stderr)
