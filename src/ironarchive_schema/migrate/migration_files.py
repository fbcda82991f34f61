"""The migrations folder as golang-migrate reads it: ``{version}_{title}.{up|down}.sql``.

The one listing of the folder and parse of its names: ``read`` builds the migrations on
it (and raises), the folder's lint rules (``lint.layout``) their findings.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema.errors import ToolchainError

FILE_PATTERN = re.compile(r"^(\d+)_(.+)\.(up|down)\.sql$")


@dataclass(frozen=True)
class MigrationFile:
    """A path whose name parses as a migration file's."""

    path: Path
    digits: str  # the version as written, e.g. "000002"
    title: str
    direction: str  # "up" or "down"

    @property
    def version(self) -> int:
        return int(self.digits)

    def counterpart(self) -> str:
        other = "down" if self.direction == "up" else "up"
        return f"{self.digits}_{self.title}.{other}.sql"


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    up: Path | None
    down: Path | None


def parse(path: Path) -> MigrationFile | None:
    """``path`` as a migration file, or None when its name is not a migration file's."""
    match = FILE_PATTERN.match(path.name)
    return MigrationFile(path, *match.groups()) if match else None


def entries(folder: Path) -> list[tuple[Path, MigrationFile | None]]:
    """Everything in ``folder`` in name order, each parsed; which entries count (a folder,
    a hidden file) is the caller's rule."""
    return [(path, parse(path)) for path in sorted(folder.iterdir())]


def read(folder: Path) -> list[Migration]:
    """Migrations in version order; a file migrate would not read is an error."""
    if not folder.is_dir():
        raise ToolchainError(f"migrations folder {folder} does not exist")
    found: dict[int, dict] = {}
    for path, file in entries(folder):
        if path.is_dir() or path.name.startswith("."):
            continue
        if file is None:
            raise ToolchainError(f"{path}: not a migration file name "
                                 f"(want NNNNNN_title.up.sql or NNNNNN_title.down.sql)")
        entry = found.setdefault(file.version, {"title": file.title, "up": None, "down": None})
        if entry[file.direction] is not None or entry["title"] != file.title:
            raise ToolchainError(f"{path}: version {file.version} appears more than once")
        entry[file.direction] = path
    return [Migration(v, e["title"], e["up"], e["down"]) for v, e in sorted(found.items())]


def newest_version(folder: Path) -> int | None:
    migrations = read(folder)
    return migrations[-1].version if migrations else None
