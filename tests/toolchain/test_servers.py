"""The three PostgreSQL backends (the development database: test_devdb.py)."""

import os
from pathlib import Path

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin, pinned_builds
from ironarchive_schema.postgres.backends import (
    DockerServer,
    EmbeddedServer,
    docker_url,
    postgres_image,
)
from ironarchive_schema.settings import resolve


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for process {pid}")


def test_embedded_server_runs_unprivileged_and_is_removed_on_stop(gate_settings):
    server = EmbeddedServer(gate_settings)
    try:
        with admin.connect(server.admin_url) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            # Read while connected: the backend process ends with the connection.
            assert _uid_of(pid) != 0, "PostgreSQL refuses root: it must not run as root"
            assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert server.base_dir.exists()
    finally:
        server.stop()
    assert not server.base_dir.exists()


def test_docker_without_engine_fails_at_once_with_one_line(gate_settings, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # the docker SDK's
    with pytest.raises(ToolchainError) as caught:
        DockerServer(gate_settings)
    message = str(caught.value)
    assert message.startswith("Docker was asked for (POSTGRES_BACKEND=docker) but no Docker "
                              "engine answers")
    assert "\n" not in message


@pytest.mark.parametrize("major", pinned_builds.pins())
def test_docker_image_is_pinned(gate_settings, major):
    """The Docker backend runs the release of the fetched build of that major, never latest."""
    image, _, tag = postgres_image(gate_settings, major).partition(":")
    assert image == "postgres"
    assert tag == pinned_builds.pins()[major].release and tag.startswith(f"{major}.")


@pytest.mark.parametrize(("pg_version", "major"), [("17", 17), ("", 15)])
def test_docker_image_follows_pg_version_else_debians_major(pg_version, major):
    config = resolve(environ={"PG_VERSION": pg_version}, env_file=Path(os.devnull))
    assert postgres_image(config) == f"postgres:{pinned_builds.pins()[major].release}"


def test_docker_url_and_migrate_command(gate_settings):
    url = docker_url("localhost", 49153)
    assert url == "postgresql://postgres:postgres@localhost:49153/postgres?sslmode=disable"
    migrate = Migrate.in_docker(url, REPO_ROOT / "migrations", gate_settings)
    argv = migrate.argv("up")
    assert argv[:5] == ["docker", "run", "--rm", "-i", "--network"]
    assert argv[argv.index("-e") + 1] == "PGPASSWORD", "the password goes in, off the argv"
    assert "postgres:postgres@" not in " ".join(argv)
    assert f"{REPO_ROOT / 'migrations'}:/migrations:ro" in argv
    assert argv[argv.index("-path") + 1] == "/migrations"
    assert any(a.startswith("migrate/migrate:v4.") for a in argv)
    assert argv[-1] == "up"


def test_existing_server_by_url_creates_and_drops_only_its_own_databases(admin_url):
    with pytest.raises(ValueError):
        admin.drop_database(admin_url, "postgres")
    name = admin.unique_name("mine")
    admin.create_database(admin_url, name)
    admin.drop_database(admin_url, name)
    with admin.connect(admin_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is None
