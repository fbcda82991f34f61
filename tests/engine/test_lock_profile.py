"""The lock profile (rehearsal.profile): read back as written, and each difference between the
reviewed profile and a trace said in one line naming the file, the statement, want and have."""

import pytest

from ironarchive_schema.rehearsal.locks import Lock, StatementTrace
from ironarchive_schema.rehearsal.profile import (
    ProfileError,
    differences,
    profile_of,
    read,
    render,
)

FILE = "000002_x.up.sql"


def statement(*words: str, locks=(), rewrites=()) -> StatementTrace:
    return StatementTrace(1, words, 0.001, 0.002, tuple(Lock(*lock) for lock in locks),
                          rewrites, {}, "5s", "1min", in_transaction=True)


TRACES = {FILE: [
    statement("SET", "LOCAL", "LOCK_TIMEOUT"),
    statement("ALTER", "TABLE", "T", "ADD", "COLUMN",
              locks=[("public.t", "AccessShareLock"), ("public.t", "AccessExclusiveLock"),
                     ("public.u", "RowExclusiveLock")]),
    statement("ALTER", "TABLE", "T", "ALTER", "COLUMN", rewrites=("public.t",)),
]}
PROFILE = {FILE: {
    "#2 ALTER TABLE T ADD": {"locks": {"public.t": "AccessExclusiveLock"}},
    "#3 ALTER TABLE T ALTER": {"rewrites": ["public.t"]},
}}


def test_a_profile_states_the_strongest_mode_the_application_notices_and_the_rewrites():
    """SET LOCAL takes nothing: not listed; ROW EXCLUSIVE on u queues no reads or writes."""
    assert profile_of(TRACES) == PROFILE


def test_a_profile_reads_back_as_written(tmp_path):
    path = tmp_path / "migrations.locks.yaml"
    path.write_text(render(PROFILE))
    assert read(path) == PROFILE
    assert differences(read(path), PROFILE, FILE) == []


def _change(entry: str, **facts) -> dict:
    return {FILE: {**PROFILE[FILE], entry: facts}}


def _without(entry: str) -> dict:
    return {FILE: {key: facts for key, facts in PROFILE[FILE].items() if key != entry}}


CASES = {
    "a stronger mode": (
        _change("#2 ALTER TABLE T ADD", locks={"public.t": "ShareLock"}),
        [f"{FILE} #2 ALTER TABLE T ADD: public.t: want ShareLock, have AccessExclusiveLock"]),
    "a lock on another relation": (
        _change("#2 ALTER TABLE T ADD", locks={"public.t": "AccessExclusiveLock",
                                               "public.v": "ShareLock"}),
        [f"{FILE} #2 ALTER TABLE T ADD: public.v: want ShareLock, have none"]),
    "a rewrite": (
        _without("#3 ALTER TABLE T ALTER"),
        [f"{FILE} #3 ALTER TABLE T ALTER: not in the profile: takes no lock, rewrites public.t"]),
    "a statement that takes nothing now": (
        _change("#1 SET LOCAL LOCK_TIMEOUT", locks={"public.t": "ShareLock"}),
        [f"{FILE} #1 SET LOCAL LOCK_TIMEOUT: in the profile, takes and rewrites nothing now "
         f"(or is no longer this statement)"]),
    "a file not in the profile": (
        {}, [f"{FILE}: not in the profile yet (2 of its statements lock or rewrite)"]),
}


@pytest.mark.parametrize(("reviewed", "want"), CASES.values(), ids=CASES.keys())
def test_each_difference_is_one_line_with_want_and_have(reviewed, want):
    assert differences(reviewed, PROFILE, FILE) == want


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("a: {b: 1}\na: {}\n", "line 2: 'a' is stated twice", id="file stated twice"),
    pytest.param("- a\n", "want a mapping of migration file", id="a list"),
    pytest.param("a: [\n", "not valid YAML", id="not YAML"),
])
def test_a_malformed_profile_is_refused_with_its_place(tmp_path, text, message):
    path = tmp_path / "migrations.locks.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        read(path)


def test_no_profile_says_how_to_write_one(tmp_path):
    with pytest.raises(ProfileError, match="no lock profile yet: write it from `make "
                                           "lock-profile`"):
        read(tmp_path / "migrations.locks.yaml")
