"""The development database behind `make migrate-*`: each test gets one of its own, in its
own folder, and proves it is not open to the machine: a password on TCP and on the socket,
a socket only its account can use, and it works from a checkout under a private folder."""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest

import commands
from commands import cli
from ironarchive_schema import interrupts
from ironarchive_schema.cli.devdb import NAME, DevelopmentDatabase
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import stop_at_once
from ironarchive_schema.postgres.cluster import Cluster, free_port


@pytest.fixture
def devdb_dir():
    """``DEVDB_DIR`` for one test, under a folder the server's account can enter; its
    server is stopped and everything removed afterwards, also on an interrupt."""
    places: list[Path] = []

    def clean_up():
        for place in places:
            stop_at_once(place)
            shutil.rmtree(place, ignore_errors=True)
    with interrupts.deferred():  # no interrupt between making the folder and registering it
        scratch = Path(tempfile.mkdtemp(prefix="ironarchive-devdb-test-"))
        places.append(scratch)
        handle = interrupts.register(clean_up, f"stopped and removed the development "
                                               f"database of a test in {scratch}")
    scratch.chmod(0o755)
    folder = scratch / "devdb"
    try:
        yield folder, places
    finally:
        clean_up()
        handle.done()


def devdb_at(folder: Path) -> DevelopmentDatabase:
    """The development database of ``folder``, with the suite's server binaries and account."""
    return DevelopmentDatabase(commands.RUNNER.with_values("the test", DEVDB_DIR=str(folder)))


def url_of(folder: Path) -> str:
    """The URL the CLI uses (with the password, which only its owner can read)."""
    return devdb_at(folder).url()


def test_development_database_starts_migrates_and_stops(devdb_dir):
    folder, _places = devdb_dir
    up = cli("up", DEVDB_DIR=folder)
    assert up.returncode == 0, up.stderr
    assert "local development database" in up.stderr
    status = cli("status", DEVDB_DIR=folder)
    assert status.returncode == 0 and status.stdout.startswith("version: "), status.stderr
    assert "(dirty)" not in status.stdout
    down = cli("down", "all", DEVDB_DIR=folder)  # its own database: no CONFIRM
    assert down.returncode == 0, down.stderr
    assert cli("status", DEVDB_DIR=folder).stdout.strip() == "version: no migration"
    start = cli("db", "start", DEVDB_DIR=folder)
    assert start.returncode == 0 and start.stdout.startswith("postgresql://ironarchive@")
    assert (folder / "password").read_text().strip() not in start.stdout + start.stderr
    stop = cli("db", "stop", DEVDB_DIR=folder)
    assert stop.returncode == 0 and "stopped" in stop.stderr
    assert (folder / "data" / "PG_VERSION").exists(), "stopping keeps the data"


def test_development_database_needs_its_password_on_tcp_and_the_socket(devdb_dir):
    folder, _places = devdb_dir
    url = url_of(folder)
    password_file = folder / "password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password_file.stat().st_uid == os.geteuid()
    port = int((folder / "port").read_text())
    for conninfo in (f"host=127.0.0.1 port={port} user={NAME} dbname={NAME}",
                     f"host=127.0.0.1 port={port} user={NAME} dbname={NAME} password=wrong",
                     f"host={folder} port={port} user={NAME} dbname={NAME} password=wrong"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(conninfo, connect_timeout=5).close()
    with admin.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == NAME
    (socket,) = folder.glob(".s.PGSQL.*[0-9]")
    assert stat.S_IMODE(socket.stat().st_mode) & 0o077 == 0, "the socket is its owner's alone"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_development_database_made_open_by_an_older_toolchain_is_closed(devdb_dir):
    """A `.devdb/` from before passwords trusted every local connection."""
    folder, _places = devdb_dir
    old = Cluster(folder, free_port(), commands.RUNNER, superuser=NAME)
    old.init()
    (folder / "port").write_text(f"{old.port}\n")
    url_of(folder)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"host=127.0.0.1 port={old.port} user={NAME} dbname=postgres",
                        connect_timeout=5).close()
    assert cli("status", DEVDB_DIR=folder).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another account")
def test_development_database_works_from_a_checkout_in_a_private_folder(devdb_dir):
    """As root in a checkout under a mode-700 folder (what mktemp -d and /root give), the
    server's account cannot reach `.devdb/`: the cluster goes to a folder of its own."""
    folder, places = devdb_dir
    private = folder.parent / "private"
    private.mkdir(mode=0o700)
    checkout_devdb = private / "checkout" / ".devdb"
    database = devdb_at(checkout_devdb)
    places.insert(0, database.root)
    assert not database.root.is_relative_to(private)
    up = cli("up", DEVDB_DIR=checkout_devdb)
    assert up.returncode == 0, up.stderr
    assert (checkout_devdb / "location").read_text().strip() == str(database.root)
    assert stat.S_IMODE((checkout_devdb / "password").stat().st_mode) == 0o600
    assert cli("db", "stop", DEVDB_DIR=checkout_devdb).returncode == 0


def test_db_start_gives_the_applications_login_once_migrated(devdb_dir):
    """Issue 18: a login of ironarchive_app, so a developer tries the schema as the
    application does, under row-level security (it sees no tenant's rows until set_tenant)."""
    folder, _places = devdb_dir
    before = cli("db", "start", DEVDB_DIR=folder)
    assert before.returncode == 0 and "comes after make migrate-up" in before.stderr
    assert cli("up", DEVDB_DIR=folder).returncode == 0
    start = cli("db", "start", DEVDB_DIR=folder)
    app_password = (folder / "app-password").read_text().strip()
    assert stat.S_IMODE((folder / "app-password").stat().st_mode) == 0o600
    assert app_password not in start.stdout + start.stderr
    (line,) = [line for line in start.stderr.splitlines() if line.startswith("application")]
    shown = line.split(": ", 1)[1]
    assert shown.startswith("postgresql://ironarchive_app_login@"), line
    with admin.connect(shown, password=app_password) as conn:
        facts = conn.execute("SELECT current_user, pg_has_role('ironarchive_app', 'MEMBER'), "
                             "rolbypassrls, rolsuper FROM pg_roles "
                             "WHERE rolname = current_user").fetchone()
        owner = devdb_at(folder).url()
        with admin.connect(owner) as owner_conn:
            owner_conn.execute("INSERT INTO tenants (name, azure_tenant_id, azure_app_id, "
                               "azure_app_secret) VALUES ('T', gen_random_uuid(), "
                               "gen_random_uuid(), pgp_sym_encrypt('s', 'k'))")
            owner_conn.commit()
        visible = conn.execute("SELECT count(*) FROM tenants").fetchone()[0]
    assert facts == ("ironarchive_app_login", True, False, False)
    assert visible == 0, "row-level security applies to the application's login"
