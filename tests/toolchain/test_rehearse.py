"""``make rehearse``'s command on a copy of migrations/ with one migration under review: an
unsafe one fails the run in one line naming the file, the statement, the lock and the
relation, whether or not the lock profile lists it; its safe rewrite passes. The report is
the project's own: a rehearsal of another folder writes none."""

import sys

import pytest

from commands import run
from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.paths import REPO_ROOT
from rehearsal.examples import SAFE, UNSAFE, with_example

#: What `make rehearse` runs; the plot needs matplotlib (make rehearse installs it), so the
#: command runs as the Makefile calls it but for the plot and the workload's window.
REHEARSE = [sys.executable, "-m", "bench.rehearse", "--plot", "", "--window", "0.5"]
UNSAFE_INDEX = UNSAFE["a plain index on emails"]
SAFE_INDEX = SAFE["an index built concurrently, alone in its file"]


def under_review(migrations_dir) -> int:
    """The version the example takes: the one after the project's newest."""
    return read(migrations_dir)[-1].version + 1


@pytest.fixture
def reports_untouched():
    committed = {path: path.read_bytes() for path in (REPO_ROOT / "docs").glob("rehearsal*")}
    yield
    now = {path: path.read_bytes() for path in (REPO_ROOT / "docs").glob("rehearsal*")}
    assert now == committed, "a rehearsal of another folder rewrote the project's report"


def test_an_unsafe_migration_fails_the_rehearsal_in_one_line(tmp_path, migrations_dir,
                                                             reports_untouched):
    folder = with_example(tmp_path, migrations_dir, UNSAFE_INDEX)
    version = under_review(migrations_dir)
    result = run([*REHEARSE, "--only", str(version)], MIGRATIONS_DIR=folder)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1, f"want one line, have:\n{result.stderr}"
    for part in (f"{version:06d}_index_emails_subject.up.sql:3", UNSAFE_INDEX.statement,
                 UNSAFE_INDEX.lock, UNSAFE_INDEX.relation):
        assert part in errors[0], f"want {part!r} in: {errors[0]}"


def test_its_safe_rewrite_passes(tmp_path, migrations_dir, reports_untouched):
    folder = with_example(tmp_path, migrations_dir, SAFE_INDEX)
    result = run([*REHEARSE, "--only", str(under_review(migrations_dir))], MIGRATIONS_DIR=folder)
    assert result.returncode == 0, result.stderr
    assert "rehearsed 1 migration in" in result.stderr and "0 breaches beyond budget" in \
        result.stderr, result.stderr
