"""A mutant written out: a copy of the migrations folder with the one change applied."""

import shutil
from pathlib import Path

from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.mutation.mutant import Mutant


def write(mutant: Mutant, migrations_dir: Path, into: Path) -> Path:
    """Copy ``migrations_dir`` into the new folder ``into`` and apply ``mutant`` there."""
    shutil.copytree(migrations_dir, into)
    if mutant.sql is not None:
        newest = read(into)[-1].up
        assert newest is not None, f"{into}: the newest migration has no up file"
        with newest.open("a") as up:
            up.write(f"\n-- mutant {mutant.id}\n{mutant.sql}\n")
    else:
        assert mutant.down_file is not None, f"{mutant.id}: neither SQL nor a down file"
        down = into / mutant.down_file
        lines = down.read_text().splitlines(keepends=True)
        down.write_text("".join(lines[:mutant.first_line - 1] + lines[mutant.end_line - 1:]))
    return into
