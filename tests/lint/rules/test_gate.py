"""`make lint-sql` on a broken copy of the migrations under test fails, naming each defect.

The defects are new migrations after the newest one, plus an edit to the released
000001: a new index on an existing table without CONCURRENTLY, lower-case keywords with
a tab indent, a missing down file, and a gap in the versions.
"""

import shutil

import pytest

from commands import make
from ironarchive_schema.lint import layout

TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


def defects(newest: int) -> tuple[dict[str, str], dict[str, str]]:
    """(files to add, the finding each must cause) for versions after ``newest``."""
    index, notes, note = (f"{newest + n:06d}" for n in (1, 2, 4))  # newest + 3 is the gap
    files = {
        f"{index}_index_emails_subject.up.sql":
            TIMEOUTS + "CREATE INDEX idx_emails_subject ON emails (subject);\n",
        f"{index}_index_emails_subject.down.sql": "DROP INDEX CONCURRENTLY idx_emails_subject;\n",
        f"{notes}_add_notes.up.sql": "create table notes (\n\tid bigint\n);\n",
        f"{note}_add_note.up.sql": TIMEOUTS + "ALTER TABLE emails ADD COLUMN note TEXT;\n",
        f"{note}_add_note.down.sql": TIMEOUTS + "ALTER TABLE emails DROP COLUMN note;\n",
    }
    want = {
        "an edited released migration":
            "000001_initial_schema.up.sql:1: lock edited: released migration changed: want ",
        "CREATE INDEX without CONCURRENTLY":
            f"{index}_index_emails_subject.up.sql:3: squawk require-concurrent-index-creation: ",
        "lower-case keywords":
            f"{notes}_add_notes.up.sql:1: sqlfluff CP01: Keywords must be upper case.",
        "a tab indent": f"{notes}_add_notes.up.sql:2: sqlfluff LT02: Expected indent of 4 spaces.",
        "a missing down file":
            f"{notes}_add_notes.up.sql:1: dir pair: no {notes}_add_notes.down.sql",
        "a gap in the versions": f"{note}_add_note.up.sql:1: dir sequence: "
                                 f"missing version {newest + 3:06d} before {note}",
        "a migration not locked yet":
            f"{note}_add_note.up.sql:1: lock unlocked: not locked yet: run make migrate-lock",
    }
    return files, want


DEFECTS = tuple(defects(0)[1])


@pytest.fixture(scope="module")
def defects_after_newest(migrations_dir) -> tuple[dict[str, str], dict[str, str]]:
    newest = max((file.version for file in layout.scan(migrations_dir)[0]), default=0) \
        if migrations_dir.is_dir() else 0
    return defects(newest)


@pytest.fixture(scope="module")
def broken_gate(migrations_dir, defects_after_newest, tmp_path_factory):
    files, _want = defects_after_newest
    copy = tmp_path_factory.mktemp("gate") / "migrations"
    shutil.copytree(migrations_dir, copy)
    with (copy / "000001_initial_schema.up.sql").open("a") as released:
        released.write("-- edited after release\n")
    for name, sql in files.items():
        (copy / name).write_text(sql)
    # MIGRATIONS_DIR goes in the environment, as an outer `make test-schema
    # MIGRATIONS_DIR=...` would pass it: the environment built from scratch leaves that
    # make's MAKEFLAGS out, so the outer value cannot win over this one.
    return copy, make("lint-sql", MIGRATIONS_DIR=copy)


def test_the_gate_fails(broken_gate):
    _copy, result = broken_gate
    assert result.returncode != 0, result.stdout


@pytest.mark.parametrize("defect", DEFECTS)
def test_the_gate_names_the_defect(broken_gate, defects_after_newest, defect):
    copy, result = broken_gate
    line = defects_after_newest[1][defect]
    assert f"{copy}/{line}" in result.stdout, result.stdout
