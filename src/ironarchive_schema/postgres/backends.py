"""PostgreSQL for the test suite, three ways behind one small interface.

Every backend gives an ``admin_url`` (a maintenance database where the suite may create
and drop its own databases) and ``stop()``:

- ``embedded`` (default): a throwaway server from local binaries in a temporary folder;
- ``url``: an existing server named by a URL; nothing is started or stopped;
- ``docker``: a pinned ``postgres`` image through testcontainers.
"""

import signal
import tempfile
import time
from pathlib import Path
from typing import Protocol

from ironarchive_schema import interrupts, settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import pinned_builds, urls
from ironarchive_schema.postgres.admin import wait_ready
from ironarchive_schema.postgres.binaries import requested_major
from ironarchive_schema.postgres.cluster import (
    TEST_SETTINGS,
    Cluster,
    free_port,
    remove,
)

#: The major the Docker backend runs without ``PG_VERSION``: Debian's, like the embedded one.
DEFAULT_MAJOR = 15


def postgres_image(config: settings.Settings, major: int | None = None) -> str:
    """The pinned ``postgres`` image of ``major`` (default ``PG_VERSION``, else Debian's).

    The same release as the pinned build of that major (tools/postgres/versions.toml), so
    both backends test one version; never ``latest``.
    """
    if major is None:
        major = requested_major(config) or DEFAULT_MAJOR
    return f"postgres:{pinned_builds.build_for(major).release}"
BACKENDS = ("embedded", "url", "docker")


def stop_at_once(base_dir: Path, timeout: float = 10) -> None:
    """Stop at once every process working in ``base_dir``, then remove the folder.

    For an interrupt, at any moment of a server's life: initdb, ``pg_ctl`` and every
    PostgreSQL process have their current directory inside the server's folder
    (``Cluster._run``'s ``cwd``, the data directory), also before ``postmaster.pid``
    exists. A postmaster gets SIGQUIT, which is what ``pg_ctl stop -m immediate`` sends: its
    backends go with it, and it removes its socket, lock file and shared memory. Any other
    process (initdb, pg_ctl) gets SIGKILL, and so does whatever is left after half of
    ``timeout``. Also for the development database's folder (``DEVDB_DIR``).
    """
    start = time.monotonic()
    signalled: set[int] = set()
    while time.monotonic() - start < timeout:
        pids = interrupts.working_in(base_dir)
        if not pids:
            break
        late = time.monotonic() - start > timeout / 2
        for pid in pids:
            if late:
                interrupts.send(pid, signal.SIGKILL)
            elif pid not in signalled:
                signalled.add(pid)
                if interrupts.name(pid) != "postgres":
                    interrupts.send(pid, signal.SIGKILL)
                elif interrupts.name(interrupts.parent(pid)) != "postgres":
                    interrupts.send(pid, signal.SIGQUIT)  # a postmaster, or initdb's backend
                else:  # a backend: its postmaster ends it
                    signalled.discard(pid)
        time.sleep(0.02)
    remove(base_dir)


class Server(Protocol):
    admin_url: str

    def stop(self) -> None: ...


class EmbeddedServer:
    """initdb + pg_ctl in a temporary folder on a free port; removed again by ``stop``.

    From the moment the folder exists until ``stop`` has removed it, an interrupt
    (``interrupts.install``) stops the server at once and removes the folder.
    """

    def __init__(self, config: settings.Settings, bindir: Path | None = None,
                 startup_timeout: float = 60):
        self.config = config
        with interrupts.deferred():
            self.base_dir = Path(tempfile.mkdtemp(prefix="ironarchive-pg-"))
            self._interrupt = interrupts.register(
                self.abort, f"stopped and removed the test server {self.base_dir}")
        try:
            self._start(bindir, startup_timeout)
        except BaseException:
            self.abort()
            raise
        self.admin_url = self.cluster.url()

    def _start(self, bindir: Path | None, startup_timeout: float) -> None:
        last_error: ToolchainError | None = None
        for _attempt in range(3):  # another process may take the free port first
            self.cluster = Cluster(self.base_dir, free_port(), self.config, bindir=bindir,
                                   server_settings=TEST_SETTINGS)
            if not self.cluster.initialised:
                self.cluster.init()
            try:
                self.cluster.start(startup_timeout)
                return
            except ToolchainError as exc:
                last_error = exc
                if "could not bind" not in str(exc) and "in use" not in str(exc):
                    raise
        assert last_error is not None, "each attempt either returned or failed on its port"
        raise last_error

    def stop(self) -> None:
        try:
            self.cluster.stop()
        finally:
            remove(self.base_dir)
            self._interrupt.done()

    def abort(self) -> None:
        """Stop every process of this server at once (SIGQUIT, as ``pg_ctl stop -m
        immediate``) and remove its folder: for an interrupt or a failed start."""
        try:
            stop_at_once(self.base_dir)
        finally:
            self._interrupt.done()


class ExistingServer:
    """A server someone else runs. The suite only creates and drops its own databases."""

    def __init__(self, url: str):
        self.admin_url = urls.validate(url, "TEST_DATABASE_URL")

    def stop(self) -> None:
        pass


class DockerServer:
    """The pinned ``postgres`` image via testcontainers; fails at once without a Docker engine."""

    def __init__(self, config: settings.Settings):
        image = postgres_image(config)
        try:
            import docker
            from testcontainers.community.postgres import PostgresContainer
        except ImportError as exc:
            raise ToolchainError(f"Docker backend needs testcontainers installed: {exc}") from exc
        try:
            docker.from_env(timeout=5).ping()
        except Exception as exc:  # the docker SDK raises several unrelated types here
            raise ToolchainError(
                f"Docker was asked for (POSTGRES_BACKEND=docker) but no Docker engine answers: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from exc
        self.container = PostgresContainer(image, username="postgres", password="postgres",
                                           dbname="postgres", driver=None)
        self.container.start()
        self.admin_url = docker_url(self.container.get_container_host_ip(),
                                    self.container.get_exposed_port(5432))
        # Ready when a query over TCP answers, not when a log line appears.
        wait_ready(self.admin_url, timeout=60)

    def stop(self) -> None:
        self.container.stop()


def docker_url(host: str, port: int | str) -> str:
    return f"postgresql://postgres:postgres@{host}:{port}/postgres?sslmode=disable"


def start_server(config: settings.Settings) -> Server:
    """Start (or attach to) the server ``config`` asks for: ``POSTGRES_BACKEND``, else
    ``url`` when ``TEST_DATABASE_URL`` is set, else ``embedded``."""
    url = config.get("TEST_DATABASE_URL")
    backend = config.get("POSTGRES_BACKEND") or ("url" if url else "embedded")
    if backend == "embedded":
        return EmbeddedServer(config)
    if backend == "url":
        if not url:
            raise ToolchainError("POSTGRES_BACKEND=url needs TEST_DATABASE_URL")
        return ExistingServer(url)
    if backend == "docker":
        return DockerServer(config)
    raise ToolchainError(f"POSTGRES_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
