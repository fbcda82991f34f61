"""Running the real golang-migrate CLI, always with a timeout.

What its source says and this module relies on:
- everything it prints goes to stderr;
- ``down`` with no argument waits for ``y`` on stdin, so only ``down N`` / ``down -all``
  are sent, and stdin is closed;
- plain ``up`` at the newest version exits 0 ("no change"), ``up 1`` there exits 1;
- a dirty database refuses every command until ``force V``;
- the advisory lock taken while connecting ignores ``-lock-timeout``, so each call gets a
  process timeout of its own.

The password never reaches migrate's command line, which ``ps`` shows to every user of the
machine: it goes in ``PGPASSWORD``, which its driver (lib/pq) reads, in an environment built
from scratch. Everything migrate prints is redacted before anyone sees it.
"""

import contextlib
import copy
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.go_tools import MIGRATE
from ironarchive_schema.migrate import migration_files
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.postgres import urls

DEFAULT_TIMEOUT = 120.0
LOCK_TIMEOUT = 15


class MigrateError(ToolchainError):
    """migrate exited non-zero; carries its exit code and everything it printed."""

    def __init__(self, command: str, returncode: int | None, output: str):
        self.command = command
        self.returncode = returncode
        self.output = output
        reason = summary(output)
        if "SSL is not enabled on the server" in reason:
            reason += " (the server has no TLS: add sslmode=disable to the URL, or enable TLS)"
        status = "timed out" if returncode is None else f"exit {returncode}"
        super().__init__(f"{command} failed ({status}): {reason}")


def summary(output: str) -> str:
    """migrate's error as one line.

    A failed migration prints ``error: migration failed: <why> in line N: <the whole file>
    (details: <the driver's error>)`` over many lines: keep the why, the line and the
    details. Anything else: its last line.
    """
    failed = re.search(r"^error: migration failed: (.*?) in line (\d+): ", output, re.M)
    if failed:
        details = re.search(r"\(details: (.*)\)\s*$", output, re.S)
        return (f"migration failed: {failed.group(1)} in line {failed.group(2)} of the file"
                + (f" (details: {details.group(1).strip()})" if details else ""))
    last = [line for line in output.strip().splitlines() if line.strip()]
    return last[-1] if last else "(no output)"


@dataclass(frozen=True)
class Version:
    number: int | None  # None: no migration applied yet
    dirty: bool

    def __str__(self) -> str:
        if self.number is None:
            return "no migration"
        return f"{self.number}{' (dirty)' if self.dirty else ''}"


class Migrate:
    """migrate bound to one database and one migrations folder."""

    def __init__(self, database_url: str, migrations_dir: Path, config: settings.Settings,
                 command: list[str] | None = None, path_arg: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, environ: Mapping[str, str] | None = None):
        """``config`` names the migrate binary (``MIGRATE_BIN``, else the pinned build).
        ``environ``: the variables migrate runs with (default: only those any program needs,
        ``settings.RUNTIME_VARIABLES``); the password is added from the URL."""
        self.database_url = urls.validate(database_url)
        self.environ = dict(config.runtime if environ is None else environ)
        self.migrations_dir = Path(migrations_dir)
        # migrate silently skips files whose names it cannot parse: refuse them instead.
        migration_files.read(self.migrations_dir)
        self.command = command or [ensure_migrate(config)]
        self.path_arg = path_arg or str(self.migrations_dir)
        self.timeout = timeout
        #: The last line migrate printed when the last run failed.
        self.last_error: str | None = None

    @classmethod
    def in_docker(cls, database_url: str, migrations_dir: Path, config: settings.Settings,
                  **kwargs) -> "Migrate":
        """migrate from the pinned ``migrate/migrate`` image, the folder mounted read-only."""
        # -e NAME passes the variable's value from docker's environment: the password too.
        command = ["docker", "run", "--rm", "-i", "--network", "host", "-e", "PGPASSWORD",
                   "-v", f"{Path(migrations_dir).resolve()}:/migrations:ro",
                   f"migrate/migrate:{MIGRATE.pinned_version()}"]
        return cls(database_url, migrations_dir, config, command=command, path_arg="/migrations",
                   **kwargs)

    def with_url(self, database_url: str) -> "Migrate":
        """The same migrate and folder on another URL (the same server, other parameters)."""
        other = copy.copy(self)
        other.database_url = urls.validate(database_url)
        return other

    def argv(self, *args: str) -> list[str]:
        return [*self.command, "-path", self.path_arg,
                "-database", urls.without_password(self.database_url),
                "-lock-timeout", str(LOCK_TIMEOUT), *args]

    def describe(self, *args: str) -> str:
        """The command line as it runs: it holds no password."""
        return " ".join(self.argv(*args))

    def environment(self) -> dict[str, str]:
        env = dict(self.environ)
        password = urls.password(self.database_url)
        if password is not None:
            env["PGPASSWORD"] = password
        return env

    def redact(self, text: str) -> str:
        return urls.redact_text(text, urls.passwords(self.database_url))

    def run(self, *args: str, timeout: float | None = None, check: bool = True,
            capture: bool = True) -> subprocess.CompletedProcess:
        """Run ``migrate ARGS``; ``capture=False`` also passes its output, redacted, to our
        stderr line by line as it comes. ``stderr`` of the result is redacted too."""
        timeout = timeout or self.timeout
        lines: list[str] = []
        with subprocess.Popen(self.argv(*args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=self.environment()) as process:
            assert process.stderr is not None, "stderr=PIPE gives the process a stderr pipe"
            # migrate prints a line at a time; a watchdog enforces the deadline meanwhile.
            timer = _Watchdog(process, timeout)
            _running.add(process)
            try:
                failing = False
                for line in process.stderr:
                    line = self.redact(line)
                    lines.append(line)
                    # Progress passes through; an error is summed up by the caller instead
                    # (it repeats the whole failing file).
                    failing = failing or line.startswith("error: ")
                    if not capture and not failing:
                        print(line, end="", file=sys.stderr, flush=True)
            finally:
                timer.cancel()
            returncode = process.wait()
            _running.discard(process)
        output = "".join(lines)
        self.last_error = summary(output) if returncode else None
        if timer.fired:
            output += f"\nkilled after {timeout:.0f} s (waiting for a lock?)"
            raise MigrateError(f"migrate {' '.join(args)}", None, output)
        if check and returncode != 0:
            raise MigrateError(f"migrate {' '.join(args)}", returncode, output)
        return subprocess.CompletedProcess(self.argv(*args), returncode, "", output)

    def up(self, steps: int | None = None) -> str:
        return self.run("up", *([str(steps)] if steps else [])).stderr

    def down(self, steps: int | str = 1) -> str:
        """``steps`` is a count or ``"all"``; never the prompting bare ``down``."""
        if steps == "all":
            return self.run("down", "-all").stderr
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"down needs a positive count or 'all', not {steps!r}")
        return self.run("down", str(steps)).stderr

    def goto(self, version: int) -> str:
        return self.run("goto", str(version)).stderr

    def force(self, version: int) -> str:
        return self.run("force", str(version)).stderr

    def version(self) -> Version:
        result = self.run("version", check=False)
        if result.returncode != 0:
            if "no migration" in result.stderr:
                return Version(None, False)
            raise MigrateError("migrate version", result.returncode, result.stderr)
        match = re.search(r"^(\d+)( \(dirty\))?\s*$", result.stderr, re.MULTILINE)
        if not match:
            raise MigrateError("migrate version", 0, f"unexpected output: {result.stderr}")
        return Version(int(match.group(1)), bool(match.group(2)))


#: The migrate processes running now, for ``stop_gracefully``.
_running: set[subprocess.Popen] = set()


def stop_gracefully() -> None:
    """Ask every running migrate to stop after the migration it is applying (SIGINT, which
    migrate answers with "Stopping after this running migration ..."), rather than killing
    it mid-file: a killed migrate leaves its backend running and the database dirty."""
    for process in list(_running):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)


class _Watchdog:
    """Kills ``process`` once ``timeout`` seconds have passed, unless cancelled first."""

    def __init__(self, process: subprocess.Popen, timeout: float):
        self.fired = False
        self._process = process
        self._timer = threading.Timer(timeout, self._kill)
        self._timer.daemon = True
        self._timer.start()

    def _kill(self) -> None:
        self.fired = True
        self._process.kill()

    def cancel(self) -> None:
        self._timer.cancel()
