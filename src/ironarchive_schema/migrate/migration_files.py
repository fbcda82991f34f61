"""The migrations folder as golang-migrate reads it: ``{version}_{title}.{up|down}.sql``."""

import re
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema.errors import ToolchainError

FILE_PATTERN = re.compile(r"^(\d+)_(.+)\.(up|down)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    up: Path | None
    down: Path | None


def read(folder: Path) -> list[Migration]:
    """Migrations in version order; a file migrate would not read is an error."""
    if not folder.is_dir():
        raise ToolchainError(f"migrations folder {folder} does not exist")
    found: dict[int, dict] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise ToolchainError(f"{path}: not a migration file name "
                                 f"(want NNNNNN_title.up.sql or NNNNNN_title.down.sql)")
        version, title, direction = int(match.group(1)), match.group(2), match.group(3)
        entry = found.setdefault(version, {"title": title, "up": None, "down": None})
        if entry[direction] is not None or entry["title"] != title:
            raise ToolchainError(f"{path}: version {version} appears more than once")
        entry[direction] = path
    return [Migration(v, e["title"], e["up"], e["down"]) for v, e in sorted(found.items())]


def newest_version(folder: Path) -> int | None:
    migrations = read(folder)
    return migrations[-1].version if migrations else None
