"""One PostgreSQL data directory and its server process, started from local binaries.

PostgreSQL refuses to run as root, so when this process is root the server runs as an
unprivileged account (``PG_RUN_AS``, else ``postgres``, else ``nobody``).
"""

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres.admin import wait_ready
from ironarchive_schema.postgres.binaries import find_bindir

#: Settings for throwaway test servers: durability off, enough connections for xdist.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_account(config: settings.Settings) -> pwd.struct_passwd | None:
    """The account the server runs as, or None to run as the current (non-root) user."""
    if os.geteuid() != 0:
        return None
    wanted = config.get("PG_RUN_AS")
    for name in ([wanted] if wanted else ["postgres", "nobody"]):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ToolchainError(
        f"running as root and no unprivileged account to run PostgreSQL as "
        f"(tried {wanted or 'postgres, nobody'}); set PG_RUN_AS to an existing user"
    )


def account_can(account: pwd.struct_passwd, test_flag: str, path: Path) -> bool:
    """``test FLAG PATH`` as ``account``: can it write (``-w``) or enter (``-x``) ``path``,
    through every parent folder on the way?"""
    probe = subprocess.run(["test", test_flag, str(path)], user=account.pw_uid,
                           group=account.pw_gid, extra_groups=[])
    return probe.returncode == 0


class Cluster:
    """A data directory under ``base_dir`` served on 127.0.0.1:``port`` with trust auth."""

    def __init__(self, base_dir: Path, port: int, config: settings.Settings,
                 superuser: str = "postgres", bindir: Path | None = None,
                 server_settings: dict[str, str] | None = None, password: str | None = None):
        """``config`` names the binaries and the account; ``server_settings`` go to
        postgresql.conf. ``password``: the superuser's, with password authentication on TCP
        and socket; without it every local connection is trusted (throwaway test servers)."""
        self.password = password
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self.port = port
        self.superuser = superuser
        self.bindir = bindir or find_bindir(config)
        self.server_settings = server_settings or {}
        self.account = server_account(config)

    def url(self, dbname: str = "postgres") -> str:
        login = self.superuser + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgresql://{login}@127.0.0.1:{self.port}/{dbname}?sslmode=disable"

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        account = self.account  # None: as this process's own user (None is run's default)
        try:
            return subprocess.run(
                [str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                timeout=timeout, cwd=self.base_dir,
                user=None if account is None else account.pw_uid,
                group=None if account is None else account.pw_gid,
                extra_groups=None if account is None else [],
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"{args[0]} did not finish within {timeout:.0f} s") from exc

    def _give_to_account(self) -> None:
        if self.account is None:
            return
        os.chown(self.base_dir, self.account.pw_uid, self.account.pw_gid)
        if not account_can(self.account, "-w", self.base_dir):
            raise ToolchainError(
                f"PostgreSQL runs as {self.account.pw_name!r} (PostgreSQL refuses root), which "
                f"cannot write {self.base_dir}: put it where that account can reach"
            )

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_account()
        auth = ["--auth=trust"]
        password_file = self.base_dir / "initdb-password"
        if self.password:
            # initdb reads it as the server's account; it is removed again at once.
            password_file.write_text(self.password + "\n")
            password_file.chmod(0o600)
            if self.account is not None:
                os.chown(password_file, self.account.pw_uid, self.account.pw_gid)
            auth = ["--auth=scram-sha-256", f"--pwfile={password_file}"]
        try:
            result = self._run(
                "initdb", "-D", str(self.data_dir), "-U", self.superuser, *auth,
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
                timeout=120,
            )
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ToolchainError(f"initdb failed: {_last_line(result.stderr)}")

    def is_running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), timeout=30).returncode == 0

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait, up to ``timeout`` seconds, until it answers a query."""
        options = [f"-p {self.port}", f"-k {self.base_dir}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in self.server_settings.items()]
        result = self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
            "-w", "-t", str(int(timeout)), "-o", " ".join(options), timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise ToolchainError(
                f"PostgreSQL did not start on port {self.port}: {self.log_tail() or result.stderr}"
            )
        wait_ready(self.url(), timeout)

    def stop(self) -> None:
        if not self.data_dir.exists():
            return
        for mode in ("fast", "immediate"):
            result = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w",
                               "-t", "30", timeout=40)
            if result.returncode == 0 or "Is server running?" in result.stderr:
                return

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def remove(base_dir: Path) -> None:
    shutil.rmtree(base_dir, ignore_errors=True)

