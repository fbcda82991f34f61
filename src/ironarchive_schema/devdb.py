"""The persistent local development database behind ``make migrate-*``.

Used when ``DATABASE_URL`` is set neither in the environment nor in ``.env``: a server from
local binaries with its data in the git-ignored ``.devdb/`` (or ``DEVDB_DIR``), on a port
chosen once and kept in ``.devdb/port``. ``make db-stop`` stops it; the data stays.
"""

import os
from pathlib import Path

import psycopg
from psycopg import sql

from .cluster import Cluster, free_port
from .errors import ToolchainError
from .paths import REPO_ROOT

NAME = "ironarchive"


def base_dir() -> Path:
    return Path(os.environ.get("DEVDB_DIR") or REPO_ROOT / ".devdb").resolve()


def _cluster(port: int | None = None) -> Cluster:
    """The cluster in ``base_dir()``; ``port`` replaces the remembered port."""
    root = base_dir()
    port_file = root / "port"
    if port is None:
        port = int(port_file.read_text()) if port_file.exists() else free_port()
    cluster = Cluster(root, port, superuser=NAME)
    if not cluster.initialised:
        cluster.init()
    port_file.write_text(f"{port}\n")
    return cluster


def url() -> str:
    """The URL of the development database, starting its server when it is not running."""
    cluster = _cluster()
    if not cluster.is_running():
        try:
            cluster.start()
        except ToolchainError as exc:
            if "could not bind" not in str(exc):
                raise
            # Something else took the remembered port since: move to a free one.
            cluster = _cluster(free_port())
            cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (NAME,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    return cluster.url(NAME)


def stop() -> bool:
    """Stop the server if there is one; True when one was running."""
    if not (base_dir() / "data" / "PG_VERSION").exists():
        return False
    cluster = _cluster()
    running = cluster.is_running()
    if running:
        cluster.stop()
    return running
