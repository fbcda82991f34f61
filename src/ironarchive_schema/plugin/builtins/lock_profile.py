"""Each migration file locks and rewrites what the lock profile states (``LOCK_PROFILE``,
:mod:`rehearsal.profile`): every file of the folder traced once per worker on an empty
database, each up file at the version before it, each down file at its own; one test per
file (ids the file's name), a file the profile does not list yet failing apart from one
that changed."""

import pytest

from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.options import gate_settings
from ironarchive_schema.rehearsal.profile import ProfileError, differences, profile_of
from ironarchive_schema.rehearsal.profile import read as read_profile

pytestmark = pytest.mark.lock_profile

FIX = ("review what changed; where it is intended, put what `make lock-profile` prints for "
       "this file into the profile")


def pytest_generate_tests(metafunc):
    if "migration_file" in metafunc.fixturenames:
        names = [path.name for migration in read(gate_settings(metafunc.config).migrations_dir)
                 for path in (migration.up, migration.down) if path is not None]
        metafunc.parametrize("migration_file", names, ids=names)


@pytest.fixture(scope="module")
def traced_profile(migration_traces) -> dict:
    return profile_of(migration_traces)


@pytest.fixture(scope="module")
def reviewed_profile(gate_settings) -> dict:
    try:
        return read_profile(gate_settings.lock_profile)
    except ProfileError as error:
        raise GateFailure(str(error), [("Fix", "write it from `make lock-profile`, reviewed")]
                          ) from None


def test_a_migration_locks_and_rewrites_what_the_profile_states(
        migration_file, traced_profile, reviewed_profile, gate_settings):
    problems = differences(reviewed_profile, traced_profile, migration_file)
    if problems:
        raise GateFailure("\n".join(problems), [("Profile", str(gate_settings.lock_profile)),
                                                ("Fix", FIX)])


def test_the_profile_lists_no_file_the_folder_lacks(reviewed_profile, migrations_dir,
                                                   gate_settings):
    files = {path.name for migration in read(migrations_dir)
             for path in (migration.up, migration.down) if path is not None}
    stale = sorted(set(reviewed_profile) - files)
    if stale:
        raise GateFailure(f"{gate_settings.lock_profile}: lists files that are not in "
                          f"{migrations_dir}: {', '.join(stale)}",
                          [("Fix", "remove them from the profile")])
