"""The rules of the migrations folder that no SQL linter knows.

golang-migrate reads ``{version}_{title}.{up|down}.sql`` and sends each file to
PostgreSQL as one multi-statement query, which runs as one implicit transaction. So:

- the folder holds migration files only, every up file has its down file and the
  reverse, versions have six digits and run 000001, 000002, ... without a gap or a
  duplicate, and titles are snake_case (what ``make migrate-create`` writes);
- every file holds at least one statement besides its ``SET LOCAL`` timeouts;
- no statement controls the transaction (``BEGIN``, ``COMMIT``, ...): golang-migrate
  owns it, and a ``COMMIT`` part-way would make half a migration permanent;
- a statement that cannot run inside a transaction block (``CREATE INDEX
  CONCURRENTLY``, ``VACUUM``, ...) is the only statement of its file: PostgreSQL runs
  a one-statement query outside any transaction block. Such statements would
  otherwise only work with golang-migrate's ``x-multi-statement`` mode, which splits
  files on every semicolon and gives up the one-transaction guarantee.
"""

import re
from pathlib import Path

from ironarchive_schema.lint.findings import Finding
from ironarchive_schema.lint.sqltext import Statement, statements
from ironarchive_schema.migrate.migration_files import MigrationFile, entries

TOOL = "dir"
VERSION_DIGITS = 6
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")

TRANSACTION_CONTROL = (
    ("BEGIN",), ("START", "TRANSACTION"), ("COMMIT",), ("END",), ("ROLLBACK",),
    ("ABORT",), ("SAVEPOINT",), ("RELEASE",), ("PREPARE", "TRANSACTION"),
)

# Statements PostgreSQL 15 refuses inside a transaction block, by their first words
# (checked on a PostgreSQL 15 server; DROP SUBSCRIPTION from its manual). ALTER TYPE ...
# ADD VALUE is not one of them since PostgreSQL 12; only using the new value in the same
# transaction fails, which applying the migrations (the schema suite) shows.
NO_TRANSACTION_BLOCK = (
    ("CREATE", "INDEX", "CONCURRENTLY"), ("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"),
    ("DROP", "INDEX", "CONCURRENTLY"), ("VACUUM",), ("DISCARD", "ALL"),
    ("CREATE", "DATABASE"), ("DROP", "DATABASE"),
    ("CREATE", "TABLESPACE"), ("DROP", "TABLESPACE"), ("ALTER", "SYSTEM"),
    # DROP SUBSCRIPTION only when the subscription has a replication slot, the usual case.
    ("CREATE", "SUBSCRIPTION"), ("DROP", "SUBSCRIPTION"),
)
REINDEX_OUTSIDE_TRANSACTION = {"CONCURRENTLY", "SCHEMA", "DATABASE", "SYSTEM"}


def scan(folder: Path) -> tuple[list[MigrationFile], list[Path]]:
    """The migration files of ``folder`` in name order, and everything else in it."""
    files, strays = [], []
    for path, file in entries(folder):
        if file and path.is_file():
            files.append(file)
        else:
            strays.append(path)
    return files, strays


def _finding(path: Path, rule: str, message: str, line: int = 1) -> Finding:
    return Finding(path, line, TOOL, rule, message)


def stray_findings(strays: list[Path]) -> list[Finding]:
    return [_finding(path, "stray", "not a migration file (want NNNNNN_snake_case_title.up.sql "
                                    "or .down.sql); nothing else belongs in the migrations folder")
            for path in strays]


def name_findings(files: list[MigrationFile]) -> list[Finding]:
    found = []
    for file in files:
        if len(file.digits) != VERSION_DIGITS:
            found.append(_finding(file.path, "version-digits",
                                  f"version {file.digits!r} must have {VERSION_DIGITS} digits "
                                  f"(want {file.version:0{VERSION_DIGITS}d})"))
        if not SNAKE_CASE.fullmatch(file.title):
            found.append(_finding(file.path, "snake-case",
                                  f"title {file.title!r} is not snake_case "
                                  f"(lower-case words joined by _, like add_mailbox_quota)"))
    return found


def pair_findings(files: list[MigrationFile]) -> list[Finding]:
    names = {file.path.name for file in files}
    return [_finding(file.path, "pair", f"no {file.counterpart()}: every migration needs both "
                                        f"its up and its down file")
            for file in files if file.counterpart() not in names]


def sequence_findings(files: list[MigrationFile]) -> list[Finding]:
    """Versions 1, 2, 3, ... each used by one migration (one title), none skipped."""
    found = []
    by_version: dict[int, list[MigrationFile]] = {}
    for file in files:
        by_version.setdefault(file.version, []).append(file)
    for version, group in by_version.items():
        migrations = sorted({f"{file.digits}_{file.title}" for file in group})
        if len(migrations) > 1:
            found += [_finding(file.path, "duplicate",
                               f"version {version} is used by {len(migrations)} migrations: "
                               f"{', '.join(migrations)}; give each its own version")
                      for file in group]
    previous = 0
    for version in sorted(by_version):
        if version != previous + 1:
            missing = ", ".join(f"{v:06d}" for v in range(previous + 1, version))
            found += [_finding(file.path, "sequence",
                               f"missing version {missing} before {version:06d} "
                               f"(versions run from 000001 without gaps)")
                      for file in by_version[version]]
        previous = version
    return found


def read_statements(path: Path) -> list[Statement]:
    return statements(path.read_text(encoding="utf-8"))


def empty_findings(path: Path) -> list[Finding]:
    """A file with no statement but its ``SET LOCAL`` timeouts (what ``make migrate-create``
    writes) has not been written yet."""
    found = read_statements(path)
    if any(not statement.starts_with("SET", "LOCAL") for statement in found):
        return []
    what = "only SET LOCAL timeouts" if found else "only comments or blank lines"
    return [_finding(path, "empty", f"no SQL statement but {what}: write the migration")]


def transaction_findings(path: Path) -> list[Finding]:
    return [_finding(path, "transaction-control",
                     f"{' '.join(control)}: golang-migrate runs the file as one transaction of "
                     f"its own; a migration must not begin, end or split it", statement.line)
            for statement in read_statements(path)
            for control in TRANSACTION_CONTROL if statement.starts_with(*control)]


def outside_transaction(statement: Statement) -> str | None:
    """What makes ``statement`` unable to run in a transaction block, or None."""
    for head in NO_TRANSACTION_BLOCK:
        if statement.starts_with(*head):
            return " ".join(head)
    words = set(statement.words)
    if statement.starts_with("REINDEX") and REINDEX_OUTSIDE_TRANSACTION & words:
        return "REINDEX " + " ".join(sorted(REINDEX_OUTSIDE_TRANSACTION & words))
    if statement.starts_with("ALTER", "TABLE") and {"DETACH", "CONCURRENTLY"} <= words:
        return "DETACH PARTITION CONCURRENTLY"
    if statement.starts_with("ALTER", "DATABASE") and {"SET", "TABLESPACE"} <= words:
        return "ALTER DATABASE SET TABLESPACE"
    if statement.words in (("CLUSTER",), ("CLUSTER", "VERBOSE")):
        return "CLUSTER of every table"
    return None


def own_file_findings(path: Path) -> list[Finding]:
    found = read_statements(path)
    if len(found) < 2:
        return []
    return [_finding(path, "own-file",
                     f"{what} cannot run inside a transaction block, and golang-migrate runs "
                     f"this file's {len(found)} statements as one transaction: give it a "
                     f"migration file of its own, as its only statement", statement.line)
            for statement in found if (what := outside_transaction(statement))]
