"""What must hold before ``migrate-up``, ``migrate-down`` or ``migrate-force`` runs migrate.

migrate itself applies whatever it can parse: ``4_x.up.sql``, an up without its down, a
version gap, an edited released migration. These checks refuse such a folder with the
lint's own one-line findings (``make lint-sql`` reports the same lines). A migration that is
not locked yet is the normal state while it is being written, and runs.
"""

from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint import layout, lock
from ironarchive_schema.lint.findings import Finding, report


def folder_findings(folder: Path, lock_path: Path) -> list[Finding]:
    """The folder's rules, and every change to a locked (released) migration."""
    if not folder.is_dir():
        raise ToolchainError(f"migrations folder {folder} does not exist")
    files, strays = layout.scan(folder)
    found = (layout.stray_findings(strays) + layout.name_findings(files)
             + layout.pair_findings(files) + layout.sequence_findings(files))
    for file in files:
        found += (layout.empty_findings(file.path) + layout.transaction_findings(file.path)
                  + layout.own_file_findings(file.path))
    if lock_path.exists():
        released = lock.read(lock_path)
        found += released.findings + lock.missing_findings(released, folder)
        found += [finding for file in files for finding in lock.file_findings(released, file.path)
                  if finding.rule != "unlocked"]
    return found


def check(folder: Path, lock_path: Path, command: str) -> None:
    """Raise, listing every finding, unless the folder may be migrated."""
    found = folder_findings(folder, lock_path)
    if found:
        raise ToolchainError(f"refusing to run {command}: the migrations folder breaks the "
                             f"gate's rules (make lint-sql):\n{report(found)}")
