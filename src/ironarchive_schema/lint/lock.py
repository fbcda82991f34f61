"""``migrations.lock``: the SHA-256 of every released migration file.

Like Flyway's ``validate`` or Atlas's ``atlas.sum``: a migration that has run anywhere
must never change, because a database that already ran it will not run it again. The
lock records each file's hash; the gate fails when a locked file is edited, renamed or
deleted, and when a migration is not locked yet (a change that adds a migration locks
it too). The lock's last line is the SHA-256 of everything above it, so a hand edit of
the lock (a hash "fixed" to match an edited file, a line dropped in a merge) is caught
as well, and two branches that each lock a new migration conflict in git.

The entry lines have ``sha256sum``'s format, so ``sha256sum -c`` can check them too.
"""

import hashlib
import re
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint import layout
from ironarchive_schema.lint.findings import Finding, display
from ironarchive_schema.migrate.migration_files import FILE_PATTERN

TOOL = "lock"
HEADER = (
    "# migrations.lock: the SHA-256 of every released migration file in migrations/.\n"
    "# Checked by `make lint-sql`; `make migrate-lock` adds new migrations. Never edit it\n"
    "# by hand: the last line is the SHA-256 of the lines above it.\n"
)
ENTRY = re.compile(r"([0-9a-f]{64})  (\S+)")
SEAL = re.compile(r"lock ([0-9a-f]{64})")


def locked_version(name: str) -> int:
    """The version of a locked file's name: read() locks only migration files' names."""
    match = FILE_PATTERN.fullmatch(name)
    assert match is not None, f"{name} is not a migration file's name"
    return int(match.group(1))


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seal(content: str) -> str:
    return f"lock {hashlib.sha256(content.encode()).hexdigest()}\n"


@dataclass(frozen=True)
class Entry:
    name: str
    sha256: str
    line: int  # in the lock file


@dataclass
class Lock:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # about the lock file itself

    def where(self, entry: Entry) -> str:
        return f"{display(self.path)}:{entry.line}"


def read(path: Path) -> Lock:
    """The lock's entries, and a finding for each way the file itself is damaged."""
    lock = Lock(path)
    if not path.exists():
        lock.findings.append(Finding(path, 1, TOOL, "missing",
                                     "no lock file: run make migrate-lock to create it"))
        return lock
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    body = "".join(lines[:-1])
    sealed = SEAL.fullmatch(lines[-1].rstrip("\n")) if lines else None
    if not sealed:
        lock.findings.append(Finding(path, len(lines) or 1, TOOL, "checksum",
                                     "the last line must be `lock <sha256 of the lines above>`; "
                                     "restore the file from git, then run make migrate-lock"))
    elif seal(body) != lines[-1]:
        lock.findings.append(Finding(
            path, len(lines), TOOL, "checksum",
            f"the lock was edited by hand: want {seal(body).strip()} (the lines above), "
            f"have {lines[-1].strip()}; restore it from git, then run make migrate-lock"))
    for number, line in enumerate(lines[:-1] if sealed else lines, start=1):
        text = line.rstrip("\n")
        if text.startswith("#"):
            continue
        entry = ENTRY.fullmatch(text)
        if not entry or not FILE_PATTERN.fullmatch(entry.group(2)):
            lock.findings.append(Finding(path, number, TOOL, "format",
                                         f"not `<sha256>  <migration file>`: {text!r}"))
        elif entry.group(2) in lock.entries:
            lock.findings.append(Finding(path, number, TOOL, "format",
                                         f"{entry.group(2)} is locked twice"))
        else:
            lock.entries[entry.group(2)] = Entry(entry.group(2), entry.group(1), number)
    return lock


def file_findings(lock: Lock, path: Path) -> list[Finding]:
    """Is ``path`` exactly what was locked under its name?"""
    have = file_hash(path)
    entry = lock.entries.get(path.name)
    if entry and entry.sha256 == have:
        return []
    if entry:
        version = locked_version(path.name)
        return [Finding(path, 1, TOOL, "edited",
                        f"released migration changed: want sha256 {entry.sha256} "
                        f"({lock.where(entry)}), have {have}; never edit a released "
                        f"migration: restore it and put the change in a new migration (only "
                        f"if it never left this branch: make migrate-lock RELOCK={version})")]
    for old in lock.entries.values():
        if old.sha256 == have and not (path.parent / old.name).exists():
            return [Finding(path, 1, TOOL, "renamed",
                            f"this is the released {old.name} ({lock.where(old)}) under a new "
                            f"name; rename it back: a released migration keeps its name")]
    return [Finding(path, 1, TOOL, "unlocked",
                    "not locked yet: run make migrate-lock (a new migration is locked in the "
                    "change that adds it)")]


def missing_findings(lock: Lock, folder: Path) -> list[Finding]:
    """Locked migrations that are gone (a rename is reported on the new file instead)."""
    files, _strays = layout.scan(folder)
    present = {file.path.name: file_hash(file.path) for file in files}
    renamed = set(present.values())
    return [Finding(lock.path, entry.line, TOOL, "deleted",
                    f"released migration {entry.name} is missing from {display(folder)}; "
                    f"restore it: a released migration is never deleted")
            for entry in lock.entries.values()
            if entry.name not in present and entry.sha256 not in renamed]


def update(folder: Path, path: Path, relock: Set[int] = frozenset()) -> list[str]:
    """Lock every migration of ``folder`` not locked yet; returns the names added.

    Refuses (ToolchainError) when the lock is damaged, or when a locked migration was
    changed, renamed or deleted, unless its version is in ``relock``: for a migration
    that has never left this branch, whose entries are then replaced.
    """
    lock = read(path) if path.exists() else Lock(path)
    if lock.findings:
        raise ToolchainError(f"refusing to update a damaged lock:\n"
                             f"{chr(10).join(map(str, lock.findings))}")
    files, _strays = layout.scan(folder)
    unknown = relock - {file.version for file in files}
    if unknown:
        raise ToolchainError(f"RELOCK: no migration {', '.join(f'{v:06d}' for v in unknown)} "
                             f"in {folder}")
    kept = {name: entry for name, entry in lock.entries.items()
            if locked_version(name) not in relock}
    problems = []
    for name, entry in kept.items():
        current = folder / name
        if not current.is_file():
            problems.append(f"{name} ({lock.where(entry)}) is missing: deleted or renamed")
        elif (have := file_hash(current)) != entry.sha256:
            problems.append(f"{name} changed: want sha256 {entry.sha256} "
                            f"({lock.where(entry)}), have {have}")
    if problems:
        raise ToolchainError(
            "refusing to re-lock released migrations:\n  " + "\n  ".join(problems)
            + "\nRestore them. Only for a migration that has never left this branch (never "
              "applied anywhere else): make migrate-lock RELOCK=<its version>.")
    new = [file for file in files if file.path.name not in kept]
    empty = [finding for file in new for finding in layout.empty_findings(file.path)]
    if empty:
        raise ToolchainError("write these migrations before locking them:\n"
                             + "\n".join(map(str, empty)))
    lines = {name: f"{entry.sha256}  {name}\n" for name, entry in kept.items()}
    lines |= {file.path.name: f"{file_hash(file.path)}  {file.path.name}\n" for file in new}
    content = HEADER + "".join(lines[name] for name in sorted(lines))
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(content + seal(content), encoding="utf-8")
    temporary.replace(path)
    return sorted(file.path.name for file in new)
