"""`make check`, the inner loop (issue 15): it selects the newest migration's checks, the
whole-schema checks and the test files changed in the working tree, and never the slow
ones; `make test` stays the gate."""

import subprocess
from pathlib import Path

import pytest

from ironarchive_schema import settings
from ironarchive_schema.cli.inner_loop import changed_test_files, selection
from ironarchive_schema.errors import ToolchainError


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
                   cwd=root, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path) -> Path:
    """A git repository with two migrations and two committed test modules."""
    (tmp_path / "migrations").mkdir()
    for name in ("000001_first", "000002_held_mail"):
        for direction in ("up", "down"):
            (tmp_path / "migrations" / f"{name}.{direction}.sql").write_text("SELECT 1;\n")
    (tmp_path / "tests").mkdir()
    for module in ("test_kept.py", "test_edited.py", "test_gone.py"):
        (tmp_path / "tests" / module).write_text("def test_x():\n    pass\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def config_of(root: Path) -> settings.Settings:
    return settings.resolve(environ={}, env_file=root / "no.env", ini={}, root=root)


def test_the_newest_migration_and_the_whole_schema_checks_are_selected(project):
    expression = selection(config_of(project), [])
    assert expression == ("(000002_held_mail or v000002 or contract or invariants or docs "
                          "or plpgsql_check) and not (blocker or mutation)")


def test_changed_test_modules_are_added_and_deleted_ones_are_not(project):
    (project / "tests" / "test_edited.py").write_text("def test_y():\n    pass\n")
    (project / "tests" / "test_new.py").write_text("def test_z():\n    pass\n")
    (project / "tests" / "helpers.py").write_text("")
    (project / "tests" / "test_gone.py").unlink()
    changed = changed_test_files(project)
    assert changed == ["tests/test_edited.py", "tests/test_new.py"]
    assert "test_edited or test_new" in selection(config_of(project), changed)


def test_a_folder_without_migrations_is_one_line(project):
    for path in (project / "migrations").iterdir():
        path.unlink()
    with pytest.raises(ToolchainError, match="no migration to check"):
        selection(config_of(project), [])
