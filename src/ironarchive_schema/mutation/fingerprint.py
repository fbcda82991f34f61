"""What a mutation run depends on besides the mutant: the migrations, the contract and the
tests. A run during which any of them changed tested a moving target, so its results do not
count (another engineer's, or a tool's, edit in the working tree)."""

from pathlib import Path

from ironarchive_schema.lint.lock import file_hash

# tests/conftest.py: the built-in checks are collected there.
WATCHED = ("contract", "tests/conftest.py", "tests/contract", "tests/behaviour",
           "src/ironarchive_schema")


def fingerprint(repo_root: Path, migrations_dir: Path) -> dict[str, str]:
    """Path -> sha256 of every file the suites read."""
    files = [p for p in migrations_dir.glob("*.sql")]
    for watched in WATCHED:
        path = repo_root / watched
        files += [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and p.suffix != ".pyc"]
    return {str(p): file_hash(p) for p in sorted(files)}


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
