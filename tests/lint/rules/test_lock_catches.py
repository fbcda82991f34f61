"""migrations.lock catches an edited, renamed, deleted or unlocked migration, and a
hand-edited lock; ``make migrate-lock`` (lock.update) adds new migrations only."""

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint import lock
from ironarchive_schema.lint.findings import display

UP, DOWN = "000001_init.up.sql", "000001_init.down.sql"


@pytest.fixture
def locked(write_folder, tmp_path):
    """A folder with one migration, and its lock."""
    folder = write_folder({UP: "CREATE TABLE t (id BIGINT);\n", DOWN: "DROP TABLE t;\n"})
    path = tmp_path / "migrations.lock"
    assert lock.update(folder, path) == [DOWN, UP]
    return folder, path


def all_findings(folder, path) -> list[str]:
    the_lock = lock.read(path)
    found = the_lock.findings + lock.missing_findings(the_lock, folder)
    for file in sorted(folder.iterdir()):
        found += lock.file_findings(the_lock, file)
    return [f"{finding.path.name}:{finding.line}: {finding.tool} {finding.rule}: "
            f"{finding.message}" for finding in found]


def test_a_fresh_lock_passes_and_sha256sum_agrees(locked):
    folder, path = locked
    assert all_findings(folder, path) == []
    lines = path.read_text().splitlines()
    assert lines[3:5] == [f"{lock.file_hash(folder / DOWN)}  {DOWN}",
                          f"{lock.file_hash(folder / UP)}  {UP}"]


def test_an_edited_migration_fails_with_want_and_have(locked):
    folder, path = locked
    want = lock.file_hash(folder / UP)
    (folder / UP).write_text("CREATE TABLE t (id BIGINT, note TEXT);\n")
    have = lock.file_hash(folder / UP)
    assert all_findings(folder, path) == [
        f"{UP}:1: lock edited: released migration changed: want sha256 {want} "
        f"({display(path)}:5), have {have}; never edit a released migration: restore it "
        f"and put the change in a new migration (only if it never left this branch: "
        f"make migrate-lock RELOCK=1)"]


def test_a_renamed_migration_fails_naming_the_old_name(locked):
    folder, path = locked
    (folder / UP).rename(folder / "000001_initial.up.sql")
    assert all_findings(folder, path) == [
        f"000001_initial.up.sql:1: lock renamed: this is the released {UP} "
        f"({display(path)}:5) under a new name; rename it back: a released migration keeps "
        f"its name"]


def test_a_deleted_migration_fails_at_its_lock_line(locked):
    folder, path = locked
    (folder / DOWN).unlink()
    assert all_findings(folder, path) == [
        f"migrations.lock:4: lock deleted: released migration {DOWN} is missing from "
        f"{display(folder)}; restore it: a released migration is never deleted"]


def test_a_new_migration_fails_until_it_is_locked(locked):
    folder, path = locked
    for name in ("000002_add_note.up.sql", "000002_add_note.down.sql"):
        (folder / name).write_text("SELECT 1;\n")
    assert all_findings(folder, path) == [
        f"000002_add_note.{d}.sql:1: lock unlocked: not locked yet: run make migrate-lock "
        f"(a new migration is locked in the change that adds it)" for d in ("down", "up")]
    assert lock.update(folder, path) == ["000002_add_note.down.sql", "000002_add_note.up.sql"]
    assert all_findings(folder, path) == []


HAND_EDITS = {
    "a hash changed to match an edited file": lambda text: text.replace(
        text.splitlines()[4][:64], "0" * 64),
    "an entry dropped": lambda text: "".join(
        line for line in text.splitlines(keepends=True) if not line.endswith(f"{DOWN}\n")),
    "the checksum line dropped": lambda text: text[:text.rindex("lock ")],
}


@pytest.mark.parametrize("edit", HAND_EDITS.values(), ids=HAND_EDITS.keys())
def test_a_hand_edited_lock_fails(locked, edit):
    folder, path = locked
    path.write_text(edit(path.read_text()))
    assert [finding.rule for finding in lock.read(path).findings] == ["checksum"]
    with pytest.raises(ToolchainError, match="refusing to update a damaged lock"):
        lock.update(folder, path)


def test_a_malformed_entry_is_named_even_when_resealed(locked):
    folder, path = locked
    body = path.read_text().rsplit("lock ", 1)[0] + "deadbeef  notes.txt\n"
    path.write_text(body + lock.seal(body))
    assert [str(finding).split(": ", 1)[1] for finding in lock.read(path).findings] == [
        "lock format: not `<sha256>  <migration file>`: 'deadbeef  notes.txt'"]


def test_a_missing_lock_fails(tmp_path):
    the_lock = lock.read(tmp_path / "migrations.lock")
    assert [finding.rule for finding in the_lock.findings] == ["missing"]


def test_update_refuses_to_relock_an_edited_migration(locked):
    folder, path = locked
    before = path.read_text()
    (folder / UP).write_text("CREATE TABLE t (id BIGINT, note TEXT);\n")
    with pytest.raises(ToolchainError, match=rf"(?s)refusing to re-lock.*{UP} changed: want "
                                             rf"sha256 [0-9a-f]{{64}} .*, have [0-9a-f]{{64}}"):
        lock.update(folder, path)
    assert path.read_text() == before


def test_update_refuses_a_deleted_migration(locked):
    folder, path = locked
    (folder / UP).unlink()
    with pytest.raises(ToolchainError, match=rf"{UP} .* is missing: deleted or renamed"):
        lock.update(folder, path)


def test_relock_replaces_an_unreleased_migration(locked):
    folder, path = locked
    (folder / UP).write_text("CREATE TABLE t (id BIGINT, note TEXT);\n")
    assert lock.update(folder, path, relock={1}) == [DOWN, UP]
    assert all_findings(folder, path) == []


def test_relock_refuses_a_version_that_is_not_there(locked):
    folder, path = locked
    with pytest.raises(ToolchainError, match="RELOCK: no migration 000007"):
        lock.update(folder, path, relock={7})


def test_update_refuses_to_lock_a_migration_not_written_yet(locked):
    folder, path = locked
    (folder / "000002_x.up.sql").write_text("-- 000002_x: applies <what and why>.\n")
    (folder / "000002_x.down.sql").write_text("SELECT 1;\n")
    with pytest.raises(ToolchainError, match="000002_x.up.sql:1: dir empty"):
        lock.update(folder, path)


def test_update_without_news_changes_nothing(locked):
    folder, path = locked
    before = path.read_bytes()
    assert lock.update(folder, path) == []
    assert path.read_bytes() == before
