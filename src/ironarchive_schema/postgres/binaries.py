"""Finding the PostgreSQL server binaries (initdb, pg_ctl, postgres).

Order: an explicit setting (argument or ``PG_BINDIR``); else, when ``PG_VERSION`` names a
major, Debian's ``/usr/lib/postgresql/<major>/bin`` if it is there, else the pinned build of
that major (``pinned_builds``, fetched on first use); else ``pg_config --bindir``, then Debian's
layout ``/usr/lib/postgresql/N/bin``, newest N first. When nothing fits, the error lists
every place that was tried.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import pinned_builds

REQUIRED = ("initdb", "pg_ctl", "postgres")
DEBIAN_ROOT = Path("/usr/lib/postgresql")


def _missing(bindir: Path) -> list[str]:
    return [name for name in REQUIRED if not os.access(bindir / name, os.X_OK)]


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip())


def _debian_bindirs(debian_root: Path) -> list[Path]:
    versions = [p for p in debian_root.glob("*") if re.fullmatch(r"\d+", p.name)]
    return [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]


def requested_major(config: settings.Settings) -> int | None:
    """The major ``PG_VERSION`` names, None when it is unset or empty."""
    version = config.get("PG_VERSION")
    if not version:
        return None
    if not re.fullmatch(r"\d+", version.strip()):
        raise ToolchainError(f"PG_VERSION must be a PostgreSQL major such as 17, "
                             f"got {version.strip()!r}")
    return int(version)


def _bindir_of_major(major: int, debian_root: Path) -> Path:
    """Debian's binaries of that major when installed, else its pinned build."""
    debian = debian_root / str(major) / "bin"
    if not _missing(debian):
        return debian
    return pinned_builds.ensure(major)


def find_bindir(config: settings.Settings, explicit: str | os.PathLike | None = None,
                debian_root: Path = DEBIAN_ROOT) -> Path:
    """The first directory holding initdb, pg_ctl and postgres: ``explicit``, else
    ``PG_BINDIR``, else ``PG_VERSION``'s, else pg_config's or Debian's newest."""
    explicit = explicit or config.get("PG_BINDIR")
    major = None if explicit else requested_major(config)
    if major is not None:
        return _bindir_of_major(major, debian_root)
    candidates: list[tuple[str, Path | None]]  # None: pg_config is not on PATH
    if explicit:
        candidates = [("explicit setting", Path(explicit))]
    else:
        candidates = []
        from_pg_config = _pg_config_bindir()
        candidates.append(("pg_config --bindir", from_pg_config))
        candidates += [("Debian layout", path) for path in _debian_bindirs(debian_root)]
    tried = []
    for source, bindir in candidates:
        if bindir is None:
            tried.append(f"{source}: pg_config not on PATH")
            continue
        missing = _missing(bindir)
        if not missing:
            return bindir
        tried.append(f"{source}: {bindir} lacks {', '.join(missing)}")
    if not explicit and not _debian_bindirs(debian_root):
        tried.append(f"Debian layout: no {debian_root}/N/bin")
    raise ToolchainError(
        "no PostgreSQL server binaries found (tried "
        + "; ".join(tried)
        + "). Install them (Debian: apt-get install postgresql-15) or set PG_BINDIR."
    )


def server_version(bindir: Path) -> str:
    """The server's version as ``postgres --version`` prints it, e.g. ``15.18``."""
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
    )
    match = re.search(r"(\d+(?:\.\d+)+)", out.stdout)
    if out.returncode != 0 or not match:
        raise ToolchainError(f"{bindir / 'postgres'} --version failed: {out.stderr.strip()}")
    return match.group(1)
