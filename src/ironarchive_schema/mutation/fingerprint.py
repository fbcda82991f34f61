"""What a mutation run depends on besides the mutant: the migrations, the contract, the
project's configuration and suites, and the plugin's own source (its built-in checks). A
run during which any of them changed tested a moving target, so its results do not count
(another engineer's, or a tool's, edit in the working tree)."""

from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.lint.lock import file_hash
from ironarchive_schema.mutation.runner import suites

PACKAGE = Path(__file__).resolve().parents[1]


def fingerprint(config: settings.Settings, testpaths: list[str]) -> dict[str, str]:
    """Path -> sha256 of every file the suites read (``testpaths``: when no suites are set)."""
    files = list(config.migrations_dir.glob("*.sql"))
    watched = [config.contract_file, config.root / "pyproject.toml", PACKAGE,
               *(config.root / suite for suite in suites(config) or testpaths)]
    for path in watched:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and p.suffix != ".pyc"]
    return {str(p): file_hash(p) for p in sorted(set(files))}


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
