"""``make check``: the gate's checks of the migration being written, and nothing slower.

For the person writing one migration (the newest in MIGRATIONS_DIR): in one pytest run, its
lint (sqlfluff, squawk, the folder's rules), its lock entry and lock profile, up/down/up of
its version, the contract (what ``make schema-diff`` compares), the invariants, schema docs
and plpgsql_check on the migrated schema, the contract tests, and every test file changed in
the working tree. Left to ``make test``, which stays the gate: the other migrations' lint and
lifecycle, the blocker (it waits out each file's lock timeout), the faults, the mutation
sample, the rest of the suite and the newest PostgreSQL.
"""

import subprocess
import sys
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.migration_files import read

#: The plugin's checks of the schema as a whole, each cheap: they run whatever changed.
WHOLE_SCHEMA = ("contract", "invariants", "docs", "plpgsql_check")
#: Checks of the newest migration that take longer than the loop allows.
SLOW = ("blocker", "mutation")
#: Always run: the contract's own tests (tests/contract).
TEST_PATHS = ("tests/conftest.py", "tests/contract")


def changed_test_files(root: Path) -> list[str]:
    """Test modules added or modified in the working tree (staged or not), as paths."""
    listed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--",
                             "tests"], cwd=root, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise ToolchainError(f"git status in {root}: {listed.stderr.strip() or 'failed'}")
    paths = [line[3:].split(" -> ")[-1] for line in listed.stdout.splitlines()
             if not line.startswith(" D") and not line.startswith("D ")]
    return sorted(p for p in paths if Path(p).name.startswith("test_") and p.endswith(".py"))


def selection(config: settings.Settings, changed: list[str]) -> str:
    """The ``-k`` expression: the newest migration's tests by its file name and version,
    the whole-schema checks, the changed modules; never the slow ones."""
    migrations = read(config.migrations_dir)
    if not migrations:
        raise ToolchainError(f"{config.migrations_dir}: no migration to check")
    newest = migrations[-1]
    names = [f"{newest.version:06d}_{newest.title}", f"v{newest.version:06d}", *WHOLE_SCHEMA,
             *(Path(path).stem for path in changed)]
    return f"({' or '.join(names)}) and not ({' or '.join(SLOW)})"


def pytest_command(config: settings.Settings) -> list[str]:
    changed = changed_test_files(config.root)
    return [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:randomly", "-q",
            *TEST_PATHS, *changed, "-k", selection(config, changed)]
