"""Running the real golang-migrate CLI, always with a timeout.

What its source says and this module relies on:
- everything it prints goes to stderr;
- ``down`` with no argument waits for ``y`` on stdin, so only ``down N`` / ``down -all``
  are sent, and stdin is closed;
- plain ``up`` at the newest version exits 0 ("no change"), ``up 1`` there exits 1;
- a dirty database refuses every command until ``force V``;
- the advisory lock taken while connecting ignores ``-lock-timeout``, so each call gets a
  process timeout of its own.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import migrations, urls
from .errors import ToolchainError
from .migratebin import ensure_migrate, pinned_version
from .paths import migrations_dir as default_migrations_dir

DEFAULT_TIMEOUT = 120.0
LOCK_TIMEOUT = 15


class MigrateError(ToolchainError):
    """migrate exited non-zero; carries its exit code and everything it printed."""

    def __init__(self, command: str, returncode: int | None, output: str):
        self.command = command
        self.returncode = returncode
        self.output = output
        last = [line for line in output.strip().splitlines() if line.strip()]
        reason = last[-1] if last else "(no output)"
        status = "timed out" if returncode is None else f"exit {returncode}"
        super().__init__(f"{command} failed ({status}): {reason}")


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

    def __init__(self, database_url: str, migrations_dir: Path | None = None,
                 command: list[str] | None = None, path_arg: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.database_url = urls.validate(database_url)
        self.migrations_dir = Path(migrations_dir or default_migrations_dir())
        # migrate silently skips files whose names it cannot parse: refuse them instead.
        migrations.read(self.migrations_dir)
        self.command = command or [ensure_migrate()]
        self.path_arg = path_arg or str(self.migrations_dir)
        self.timeout = timeout

    @classmethod
    def in_docker(cls, database_url: str, migrations_dir: Path, **kwargs) -> "Migrate":
        """migrate from the pinned ``migrate/migrate`` image, the folder mounted read-only."""
        command = ["docker", "run", "--rm", "-i", "--network", "host",
                   "-v", f"{Path(migrations_dir).resolve()}:/migrations:ro",
                   f"migrate/migrate:{pinned_version()}"]
        return cls(database_url, migrations_dir, command=command, path_arg="/migrations",
                   **kwargs)

    def argv(self, *args: str) -> list[str]:
        return [*self.command, "-path", self.path_arg, "-database", self.database_url,
                "-lock-timeout", str(LOCK_TIMEOUT), *args]

    def describe(self, *args: str) -> str:
        """The command line as a person should see it: password redacted."""
        shown = [urls.redact(a) if a == self.database_url else a for a in self.argv(*args)]
        return " ".join(shown)

    def run(self, *args: str, timeout: float | None = None, check: bool = True,
            capture: bool = True) -> subprocess.CompletedProcess:
        """Run ``migrate ARGS``; ``capture=False`` lets its output through to our stderr."""
        timeout = timeout or self.timeout
        try:
            result = subprocess.run(self.argv(*args), stdin=subprocess.DEVNULL,
                                    capture_output=capture, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stderr) + f"\nkilled after {timeout:.0f} s (waiting for a lock?)"
            raise MigrateError(f"migrate {' '.join(args)}", None, output) from exc
        if check and result.returncode != 0:
            raise MigrateError(f"migrate {' '.join(args)}", result.returncode, result.stderr)
        return result

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


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
