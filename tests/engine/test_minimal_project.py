"""The plugin in a project that is not IronArchive: ``examples/minimal``, two migrations, a
contract and a lock, no conftest. Each test runs ``pytest`` in a copy of it, in an
environment built from scratch, on this run's server (``--postgres=url``)."""

import re
import shutil
import subprocess
import sys

import pytest

from commands import environment
from ironarchive_schema.lint import plpgsql_check
from ironarchive_schema.migrate.background import add_migration
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.plugin.builtins.plpgsql_check import (
    installable,
    is_debian_build,
    unavailable,
)
from ironarchive_schema.postgres import admin

EXAMPLE = REPO_ROOT / "examples" / "minimal"
#: What its ini switches on.
CHECKS = {"contract", "invariants", "lifecycle", "faults", "roles", "lock_profile", "blocker",
          "lint", "lock", "mutation"}


@pytest.fixture
def project(tmp_path):
    return shutil.copytree(EXAMPLE, tmp_path / "minimal")


def pytest_in(project, admin_url, *args: str, **values) -> subprocess.CompletedProcess:
    """``pytest ARGS`` in ``project``, as its user runs it, on this run's server."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "--postgres=url",
         f"--database-url={admin_url}", *args],
        cwd=project, env=environment(**values), capture_output=True, text=True, timeout=300)


def checks_run(output: str) -> set[str]:
    return set(re.findall(r"\bpyproject\.toml::(\w+)::", output))


def test_the_example_passes_its_built_in_checks(project, admin_url):
    result = pytest_in(project, admin_url, "-q", "-rA")
    assert result.returncode == 0, result.stdout + result.stderr
    assert checks_run(result.stdout) == CHECKS, result.stdout
    assert re.search(r"\b\d+ passed\b", result.stdout)


def test_its_xdist_workers_get_the_settings_without_the_environment(project, admin_url):
    # The migrations folder is an ini option only; the workers must receive it. (The mutation
    # sample, the slowest check, runs in the test above.)
    result = pytest_in(project, admin_url, "-q", "-n", "2", "-m", "not mutation")
    assert result.returncode == 0, result.stdout + result.stderr


#: A profile registered in the project's conftest, as tests/conftest.py registers its own.
PROFILE_CONFTEST = """from hypothesis import settings

settings.register_profile("tiny", max_examples=3)
"""
PROFILE_TEST = """from hypothesis import settings


def test_the_profile_the_settings_name_is_loaded():
    assert settings.default.max_examples == 3
"""


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_hypothesis_profile_from_the_environment_reaches_every_process(project, admin_url,
                                                                            workers):
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text(PROFILE_CONFTEST)
    (project / "tests" / "test_profile.py").write_text(PROFILE_TEST)
    result = pytest_in(project, admin_url, "-q", "-n", workers, "-p", "no:cacheprovider",
                       "tests/test_profile.py", HYPOTHESIS_PROFILE="tiny")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_migration_fails_with_one_line_naming_it_and_titled_blocks(project, admin_url):
    up = project / "migrations" / "000002_add_note_tag.up.sql"
    up.write_text(up.read_text().replace("ADD COLUMN tag TEXT", "ADD COLUMN tag TEXTT"))
    result = pytest_in(project, admin_url, "-q", "-x", "-p", "no:xdist",
                       "pyproject.toml::contract")
    assert result.returncode == 1, result.stdout
    assert f"{project / 'migrations'}: the migrations do not apply" in result.stdout
    assert "\nmigrate:\n    " in result.stdout, "the migrate block is titled and indented"
    assert "000002_add_note_tag" in result.stdout and "Traceback" not in result.stdout


def test_an_edited_released_migration_is_named_by_the_lock(project, admin_url):
    down = project / "migrations" / "000001_create_notes.down.sql"
    down.write_text(down.read_text() + "-- edited after release\n")
    result = pytest_in(project, admin_url, "-q", "--postgres=none", "-m", "lint")
    assert result.returncode == 1
    assert "000001_create_notes.down.sql: 1 finding" in result.stdout, result.stdout
    assert "lock edited: released migration changed" in result.stdout


def test_the_command_line_flag_wins_over_the_ini_option(project, admin_url, tmp_path):
    empty = tmp_path / "no-migrations"
    empty.mkdir()
    result = pytest_in(project, admin_url, "-q", f"--migrations-dir={empty}", "-m", "lint",
                       "--postgres=none")
    assert result.returncode == 1
    assert f"{empty}" in result.stdout


def test_the_ini_option_wins_over_the_environment(project, admin_url, tmp_path):
    result = pytest_in(project, admin_url, "-q", "-m", "lint", "--postgres=none",
                       MIGRATIONS_DIR=tmp_path / "nowhere")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(("named", "want"), [("lint", {"lint"}), ("lock contract",
                                                                   {"contract", "lock"})])
def test_the_ini_or_flag_switches_built_in_checks_on_and_off(project, admin_url, named, want):
    result = pytest_in(project, admin_url, "-q", "--collect-only", f"--builtin-checks={named}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert checks_run(result.stdout) == want


def test_an_unknown_built_in_check_is_one_line(project, admin_url):
    result = pytest_in(project, admin_url, "-q", "--collect-only", "--builtin-checks=lnt")
    assert result.returncode != 0
    assert "ERROR: BUILTIN_CHECKS names lnt: the built-in checks are contract, invariants, " \
           "plpgsql_check, lifecycle, faults, roles, lock_profile, blocker, docs, lint, lock, " \
           "mutation (or none)\n" \
           in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_an_invariant_a_new_migration_breaks_names_the_object(project, admin_url):
    add_migration(project / "migrations", "add_note_pinned",
                  up="ALTER TABLE notes ADD COLUMN pinned boolean;\n",
                  down="ALTER TABLE notes DROP COLUMN pinned;\n")
    result = pytest_in(project, admin_url, "-q", "-p", "no:xdist", "pyproject.toml::invariants")
    assert result.returncode == 1, result.stdout
    assert "\nnotes.pinned: nullable boolean (want NOT NULL with a default)\n" in result.stdout
    assert "\nRule:\n    no_nullable_boolean: " in result.stdout
    assert "1 failed" in result.stdout, "the other rules hold"


def test_an_unknown_invariant_to_skip_is_one_line(project, admin_url):
    result = pytest_in(project, admin_url, "-q", "--collect-only", "--invariants-skip=no_nulls")
    assert result.returncode != 0
    assert "ERROR: INVARIANTS_SKIP names no_nulls: the invariants are " in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_migration_only_a_superuser_may_run_fails_the_roles_check(project, admin_url):
    """An event trigger needs a superuser, which a managed service's owner is not."""
    add_migration(project / "migrations", "watch_ddl",
                  up="CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql "
                     "AS $$ BEGIN END $$;\n"
                     "CREATE EVENT TRIGGER note_ddl_trigger ON ddl_command_end "
                     "EXECUTE FUNCTION note_ddl();\n",
                  down="DROP EVENT TRIGGER note_ddl_trigger;\nDROP FUNCTION note_ddl();\n")
    result = pytest_in(project, admin_url, "-q", "-p", "no:xdist", "pyproject.toml::roles")
    assert result.returncode == 1, result.stdout
    assert re.search(r'\nmigrate up failed \(exit 1\): migration failed: permission denied to '
                     r'create event trigger "note_ddl_trigger"', result.stdout), result.stdout
    assert "\nmigrate:\n    1/u create_notes" in result.stdout
    assert "Traceback" not in result.stdout and "command.py:" not in result.stdout


def test_a_new_migration_not_in_the_lock_profile_yet_fails_apart_from_a_changed_one(
        project, admin_url):
    add_migration(project / "migrations", "index_note_tag",
                  up="SET LOCAL lock_timeout = '5s';\nCREATE INDEX idx_notes_tag ON notes (tag);\n",
                  down="SET LOCAL lock_timeout = '5s';\nDROP INDEX idx_notes_tag;\n")
    profile = project / "migrations.locks.yaml"
    profile.write_text(profile.read_text().replace(
        "  '#3 ALTER TABLE NOTES ADD':\n    locks:\n      public.notes: AccessExclusiveLock",
        "  '#3 ALTER TABLE NOTES ADD':\n    locks:\n      public.notes: ShareLock"))
    result = pytest_in(project, admin_url, "-q", "-p", "no:xdist", "pyproject.toml::lock_profile")
    assert result.returncode == 1, result.stdout
    assert "\n000003_index_note_tag.up.sql: not in the profile yet (1 of its statements lock " \
           "or rewrite)\n" in result.stdout
    assert "\n000002_add_note_tag.up.sql #3 ALTER TABLE NOTES ADD: public.notes: want " \
           "ShareLock, have AccessExclusiveLock\n" in result.stdout
    assert "3 failed" in result.stdout, "the new up and down files and the changed one"


def test_a_migration_that_would_wait_for_ever_behind_a_writer_fails_the_blocker_check(
        project, admin_url):
    add_migration(project / "migrations", "add_note_pinned",
                  up="ALTER TABLE notes ADD COLUMN pinned boolean NOT NULL DEFAULT false;\n",
                  down="ALTER TABLE notes DROP COLUMN pinned;\n")
    result = pytest_in(project, admin_url, "-q", "-p", "no:xdist", "pyproject.toml::blocker",
                       "-k", "000003")
    assert result.returncode == 1, result.stdout
    assert "\n000003_add_note_pinned.up.sql: takes SHARE or stronger on public.notes with no " \
           "lock_timeout: behind an idle writer it would wait for ever, and the application " \
           "with it\n" in result.stdout


# --- plpgsql_check (issue 16) -------------------------------------------------------------

#: A migration with PL/pgSQL that compiles but is broken: a column that does not exist, a
#: field the trigger's table lacks (found only against that table), a variable never used,
#: a function that reads nothing it may change declared VOLATILE (a performance warning), a
#: trigger function no trigger uses (nothing to check it against).
BROKEN_PLPGSQL = """\
CREATE FUNCTION count_untagged_notes() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM notes WHERE tagg IS NULL);
END
$$;
CREATE FUNCTION touch_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unused integer;
BEGIN
    NEW.touched_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER notes_touch_trigger BEFORE UPDATE ON notes
FOR EACH ROW EXECUTE FUNCTION touch_note();
CREATE FUNCTION forgotten_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END
$$;
"""


@pytest.fixture
def plpgsql_project(project, admin_url):
    """The example with :data:`BROKEN_PLPGSQL` added, on a server that has plpgsql_check (or
    on Debian's PostgreSQL 15, where its absence must fail the check)."""
    with admin.connect(admin_url, autocommit=True) as conn:
        major, debian = conn.info.server_version // 10000, is_debian_build(conn)
        if not plpgsql_check.available(conn) and not installable(major, debian):
            pytest.skip(unavailable(major, debian))
    add_migration(project / "migrations", "note_functions", up=BROKEN_PLPGSQL,
                  down="DROP FUNCTION forgotten_trigger();\nDROP TRIGGER notes_touch_trigger ON "
                       "notes;\nDROP FUNCTION touch_note();\nDROP FUNCTION "
                       "count_untagged_notes();\n")
    return project


def test_broken_plpgsql_fails_the_plpgsql_check_naming_function_line_and_finding(
        plpgsql_project, admin_url):
    result = pytest_in(plpgsql_project, admin_url, "-q", "-p", "no:xdist",
                       "--builtin-checks=plpgsql_check", "pyproject.toml::plpgsql_check")
    assert result.returncode == 1, result.stdout
    assert "\ncount_untagged_notes(), line 3: error 42703: column \"tagg\" does not exist\n" \
           in result.stdout, result.stdout
    assert "\ntouch_note() on notes, line 5: error 42703: record \"new\" has no field " \
           "\"touched_at\"\n" in result.stdout, "checked against the trigger's table"
    assert "\ntouch_note() on notes, line 3: warning 00000: unused variable \"unused\"\n" \
           in result.stdout, "warnings are on"
    assert "\ncount_untagged_notes(), no line: performance 00000: routine is marked as " \
           "VOLATILE" in result.stdout, "performance warnings are on"
    assert "\nforgotten_trigger(), no line: error 22023: missing trigger relation\n" \
           in result.stdout, "a trigger function no trigger uses is checked against nothing"
    assert "\nWant:\n    no plpgsql_check finding, or each accepted in " in result.stdout
    assert "\nHave:\n    line 3 on notes (DECLARE): " in result.stdout
    assert "\n    line 5 on notes (assignment): error 42703: record \"new\" has no field " \
           "\"touched_at\"\n        source: NEW.touched_at := now();\n" in result.stdout
    assert "3 failed, 1 passed" in result.stdout, "one test per function, and the exceptions'"
    assert "Traceback" not in result.stdout


def test_a_finding_accepted_with_its_reason_passes_and_a_stale_exception_fails(
        plpgsql_project, admin_url):
    (plpgsql_project / "plpgsql_check.yaml").write_text(
        "exceptions:\n"
        "  - function: touch_note()\n"
        "    table: notes\n"
        "    message: record \"new\" has no field \"touched_at\"\n"
        "    reason: the example's own finding, accepted to test the exceptions\n"
        "  - function: touch_note()\n"
        "    sqlstate: '00000'\n"
        "    reason: the unused variable, accepted likewise\n"
        "  - function: forgotten_trigger()\n"
        "    sqlstate: '22023'\n"
        "    reason: kept for a trigger of a later migration, say\n"
        "  - function: count_untagged_notes()\n"
        "    line: 2\n"
        "    message: column \"tagg\" does not exist\n"
        "    reason: the wrong line, so it covers nothing\n")
    result = pytest_in(plpgsql_project, admin_url, "-q", "-p", "no:xdist",
                       "--builtin-checks=plpgsql_check", "pyproject.toml::plpgsql_check")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 3 passed" in result.stdout, "touch_note() passes with its exceptions"
    assert "\ncount_untagged_notes(): line 2, message 'column \"tagg\" does not exist': the " \
           f"exception in {plpgsql_project / 'plpgsql_check.yaml'} covers no finding\n" \
           in result.stdout
    assert "\nStale exceptions:\n" in result.stdout

