"""The persistent local development database behind ``make migrate-*``.

Used when ``DATABASE_URL`` is set neither on the command line, in the environment nor in
``.env``: a server from local binaries with its data in the git-ignored ``.devdb/`` (or
``DEVDB_DIR``), on a port chosen once and kept in ``port``. ``make db-stop`` stops it; the
data stays.

It is not open to the machine: it listens on 127.0.0.1 only, every connection (TCP and
socket) needs the superuser's password (SCRAM), which is made at random on creation and kept
in ``password`` (mode 600, readable by its owner only), and the socket and its folder are
for the server's own account alone. When we are root, the server runs as an unprivileged
account; where that account cannot reach ``.devdb/`` (a checkout under a private folder such
as /root), the cluster lives in a folder of its own under ``SYSTEM_DIR``, named after the
checkout's ``.devdb/``, and ``.devdb/`` keeps only a note saying where.
"""

import hashlib
import os
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import admin, urls
from ironarchive_schema.postgres.cluster import (
    Cluster,
    account_can,
    free_port,
    server_account,
)

NAME = "ironarchive"
#: The application's login on the development database: a member of ironarchive_app
#: (migration 000002), neither owner nor BYPASSRLS, so row-level security applies to it.
APP_LOGIN = "ironarchive_app_login"
APP_PASSWORD_FILE = "app-password"
SYSTEM_DIR = Path("/var/lib/ironarchive-schema/devdb")
#: Server settings of the development database: its socket is its account's alone.
SERVER_SETTINGS = {"unix_socket_permissions": "0700"}
#: Every connection, socket or TCP, proves the password.
HBA = ("# Written by ironarchive_schema.cli.devdb: every connection needs the password.\n"
       "local all all scram-sha-256\n"
       "host all all 127.0.0.1/32 scram-sha-256\n"
       "host all all ::1/128 scram-sha-256\n")


def cluster_dir(devdb_home: Path, config: settings.Settings) -> Path:
    """Where the cluster's files live: ``devdb_home``, unless the server's account cannot
    reach it; then a folder of its own under SYSTEM_DIR."""
    account = server_account(config)
    existing = next(p for p in [devdb_home, *devdb_home.parents] if p.exists())
    if account is None or account_can(account, "-x", existing):
        return devdb_home
    digest = hashlib.sha256(str(devdb_home).encode()).hexdigest()[:16]
    return SYSTEM_DIR / digest


def _private_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def _password(devdb_home: Path, name: str = "password") -> str:
    """A password (the superuser's, or the application login's), made once; kept readable by
    its owner only."""
    path = devdb_home / name
    if path.exists():
        return path.read_text().strip()
    _private_folder(devdb_home)
    password = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(password + "\n")
    return password


def _require_password(cluster: Cluster, hba: Path) -> None:
    """Close a cluster that trusts local connections (one made before passwords, or by
    initdb's defaults): set the password, allow only password logins, restart so the
    socket's permissions apply too."""
    with admin.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(cluster.superuser), sql.Literal(cluster.password)))
    hba.write_text(HBA)
    cluster.stop()
    cluster.start()


class DevelopmentDatabase:
    """The development cluster of one ``.devdb/`` (or ``DEVDB_DIR``)."""

    def __init__(self, config: settings.Settings):
        self.config = config
        self.home = config.path("DEVDB_DIR", ".devdb")
        self.root = cluster_dir(self.home, config)

    def _cluster(self, port: int | None = None) -> Cluster:
        """The cluster; ``port`` replaces the remembered one."""
        port_file = self.root / "port"
        if port is None:
            port = int(port_file.read_text()) if port_file.exists() else free_port()
        password = _password(self.home)
        cluster = Cluster(self.root, port, self.config, superuser=NAME,
                          server_settings=SERVER_SETTINGS, password=password)
        if not cluster.initialised:
            if self.root != self.home:
                _private_folder(self.home)
                (self.home / "location").write_text(f"{self.root}\n")
            _private_folder(self.root)
            cluster.init()
            (cluster.data_dir / "pg_hba.conf").write_text(HBA)
            self.root.chmod(0o700)
        port_file.write_text(f"{port}\n")
        return cluster

    def url(self) -> str:
        """The URL (with its password) of the development database, starting its server
        when it is not running."""
        cluster = self._cluster()
        if not cluster.is_running():
            try:
                cluster.start()
            except ToolchainError as exc:
                if "could not bind" not in str(exc):
                    raise
                # Something else took the remembered port since: move to a free one.
                cluster = self._cluster(free_port())
                cluster.start()
        hba = cluster.data_dir / "pg_hba.conf"
        if hba.read_text() != HBA:
            _require_password(cluster, hba)
        try:
            with admin.connect(cluster.url(), autocommit=True) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (NAME,)).fetchone():
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
        except psycopg.OperationalError as exc:
            raise ToolchainError(f"cannot connect to the development database in {self.root}: "
                                 f"{urls.redact_text(str(exc).strip(), [cluster.password])}"
                                 ) from exc
        return cluster.url(NAME)

    def app_url(self) -> str | None:
        """The URL (with its password) of the application's login, made or kept in step with
        its password file; None before migrate-up has created the role ironarchive_app."""
        owner_url = self.url()
        password = _password(self.home, APP_PASSWORD_FILE)
        with admin.connect(owner_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'ironarchive_app'"
                                ).fetchone():
                return None
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                  (APP_LOGIN,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}"
                                 ).format(sql.Identifier(APP_LOGIN), sql.Literal(password)))
            conn.execute(sql.SQL("GRANT ironarchive_app TO {}").format(sql.Identifier(APP_LOGIN)))
        return urls.with_user(owner_url, APP_LOGIN, password)

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def app_password_file(self) -> Path:
        return self.home / APP_PASSWORD_FILE

    def stop(self) -> bool:
        """Stop the server if there is one; True when one was running."""
        if not (self.root / "data" / "PG_VERSION").exists():
            return False
        cluster = self._cluster()
        running = cluster.is_running()
        if running:
            cluster.stop()
        return running
