"""The pinned golang-migrate CLI, built by ``go_tools.MIGRATE``, then checked before use.

The version and module checksums live in ``tools/migrate/go.mod`` and ``go.sum``; the
binary is built with ``-tags postgres`` into the git-ignored ``.tools/bin``. ``MIGRATE_BIN``
may name another binary, which must report the same version and include the postgres driver.
"""

import re
import subprocess
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.go_tools import MIGRATE


def reported_version(binary: str) -> str:
    """What ``migrate -version`` prints (to stderr, like all of migrate's output)."""
    try:
        out = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise ToolchainError(f"cannot run migrate at {binary}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"{binary} -version did not answer within 30 s") from exc
    if out.returncode != 0:
        return f"(exit {out.returncode})"
    lines = (out.stderr.strip() or out.stdout.strip()).splitlines()
    return lines[-1] if lines else "(no output)"  # e.g. MIGRATE_BIN=/bin/true


def check_binary(binary: str, version: str) -> str:
    """Return ``binary`` when it is migrate ``version`` with the postgres driver."""
    if not Path(binary).exists():
        raise ToolchainError(f"migrate binary {binary} does not exist")
    have = reported_version(binary)
    if have != version:
        raise ToolchainError(
            f"migrate at {binary} reports version {have}; this project pins {version} "
            f"(tools/migrate/go.mod): unset MIGRATE_BIN or rebuild with `make migrate-bin`"
        )
    usage = subprocess.run([binary, "-help"], capture_output=True, text=True, timeout=30)
    drivers = re.search(r"Database drivers: (.*)", usage.stderr + usage.stdout)
    if not drivers or "postgres" not in drivers.group(1).split(", "):
        raise ToolchainError(f"migrate at {binary} was built without the postgres driver "
                             f"(-tags postgres)")
    return binary


def ensure_migrate(config: settings.Settings) -> str:
    """Path to the pinned migrate binary (``MIGRATE_BIN``), building it when it is missing or
    older than its pins."""
    version = MIGRATE.pinned_version()
    explicit = config.get("MIGRATE_BIN")
    if explicit:
        return check_binary(explicit, version)
    return check_binary(str(MIGRATE.ensure(config)), version)
