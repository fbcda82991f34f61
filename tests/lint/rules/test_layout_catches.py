"""Each folder rule catches what it is for, and names the file, line and rule."""

import pytest

from ironarchive_schema.lint import layout
from ironarchive_schema.migrate import migration_files

OK = "SELECT 1;\n"


def pair(name: str, up: str = OK, down: str = OK) -> dict[str, str]:
    return {f"{name}.up.sql": up, f"{name}.down.sql": down}


def findings_of(folder, rule) -> list[str]:
    files, strays = layout.scan(folder)
    check = {
        "stray": lambda: layout.stray_findings(strays),
        "names": lambda: layout.name_findings(files),
        "pair": lambda: layout.pair_findings(files),
        "sequence": lambda: layout.sequence_findings(files),
    }[rule]
    return sorted(f"{finding.path.name}:{finding.line}: {finding.tool} {finding.rule}: "
                  f"{finding.message}" for finding in check())


FOLDER_CASES = {
    "a missing down file": (
        {**pair("000001_a"), "000002_b.up.sql": OK}, "pair",
        ["000002_b.up.sql:1: dir pair: no 000002_b.down.sql: every migration needs both its "
         "up and its down file"]),
    "a missing up file": (
        {**pair("000001_a"), "000002_b.down.sql": OK}, "pair",
        ["000002_b.down.sql:1: dir pair: no 000002_b.up.sql: every migration needs both its "
         "up and its down file"]),
    "a gap in the versions": (
        {**pair("000001_a"), **pair("000003_c")}, "sequence",
        [f"000003_c.{d}.sql:1: dir sequence: missing version 000002 before 000003 (versions "
         f"run from 000001 without gaps)" for d in ("down", "up")]),
    "versions not starting at 000001": (
        pair("000002_b"), "sequence",
        [f"000002_b.{d}.sql:1: dir sequence: missing version 000001 before 000002 (versions "
         f"run from 000001 without gaps)" for d in ("down", "up")]),
    "two migrations with one version": (
        {**pair("000001_a"), **pair("000001_b")}, "sequence",
        [f"000001_{t}.{d}.sql:1: dir duplicate: version 1 is used by 2 migrations: "
         f"000001_a, 000001_b; give each its own version" for t in "ab" for d in ("down", "up")]),
    "a version without six digits": (
        pair("01_a"), "names",
        [f"01_a.{d}.sql:1: dir version-digits: version '01' must have 6 digits (want 000001)"
         for d in ("down", "up")]),
    "a title that is not snake_case": (
        pair("000001_AddQuota"), "names",
        [f"000001_AddQuota.{d}.sql:1: dir snake-case: title 'AddQuota' is not snake_case "
         f"(lower-case words joined by _, like add_mailbox_quota)" for d in ("down", "up")]),
    "anything but migration files": (
        {**pair("000001_a"), "README.md": "", ".sqlfluff": "", "old/": ""}, "stray",
        [f"{name}:1: dir stray: not a migration file (want NNNNNN_snake_case_title.up.sql or "
         f".down.sql); nothing else belongs in the migrations folder"
         for name in (".sqlfluff", "README.md", "old")]),
}


@pytest.mark.parametrize(("files", "rule", "want"), FOLDER_CASES.values(),
                         ids=FOLDER_CASES.keys())
def test_folder_rule_catches(write_folder, files, rule, want):
    assert findings_of(write_folder(files), rule) == want


@pytest.mark.parametrize("rule", ["stray", "names", "pair", "sequence"])
def test_folder_rules_pass_a_good_folder(write_folder, rule):
    assert findings_of(write_folder({**pair("000001_a"), **pair("000002_add_x")}), rule) == []


def test_the_rules_and_migrate_read_the_same_files(write_folder):
    """One listing (migration_files.entries): what the rules call a migration file is what
    the migrate commands read; a hidden file or a subfolder is a stray to the rules only."""
    folder = write_folder({**pair("000001_a"), **pair("000002_add_x"), ".sqlfluff": "", "old/": ""})
    files, strays = layout.scan(folder)
    read = migration_files.read(folder)
    assert sorted(file.path for file in files) == sorted(
        path for migration in read for path in (migration.up, migration.down))
    assert [(m.version, m.title) for m in read] == [(1, "a"), (2, "add_x")]
    assert [path.name for path in strays] == [".sqlfluff", "old"]


# file content -> (check, [(line, rule)])
FILE_CASES = {
    "an empty file": ("", layout.empty_findings, [(1, "empty")]),
    "a file of comments": ("-- TODO\n/* later */\n", layout.empty_findings, [(1, "empty")]),
    "a statement": ("-- why\nSELECT 1;\n", layout.empty_findings, []),
    "only the timeouts, as make migrate-create writes it": (
        "-- 000003_x: applies <what and why>.\nSET LOCAL lock_timeout = '5s';\n"
        "SET LOCAL statement_timeout = '60s';\n", layout.empty_findings, [(1, "empty")]),
    "the timeouts and a statement": (
        "SET LOCAL lock_timeout = '5s';\nSELECT 1;\n", layout.empty_findings, []),
    "BEGIN and COMMIT": (
        "BEGIN;\nCREATE TABLE t (id BIGINT);\nCOMMIT;\n", layout.transaction_findings,
        [(1, "transaction-control"), (3, "transaction-control")]),
    "START TRANSACTION, SAVEPOINT, ROLLBACK, END": (
        "START TRANSACTION;\nSAVEPOINT s;\nROLLBACK TO s;\nEND;\n", layout.transaction_findings,
        [(1, "transaction-control"), (2, "transaction-control"), (3, "transaction-control"),
         (4, "transaction-control")]),
    "PL/pgSQL BEGIN ... END and a comment saying COMMIT": (
        "-- no COMMIT here\nCREATE FUNCTION f() RETURNS TRIGGER LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RETURN NEW;\nEND;\n$$;\n", layout.transaction_findings, []),
    "CREATE INDEX CONCURRENTLY after SET LOCAL": (
        "SET LOCAL lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY i ON emails (subject);\n",
        layout.own_file_findings, [(2, "own-file")]),
    "DROP INDEX CONCURRENTLY beside another drop": (
        "DROP INDEX CONCURRENTLY i;\nDROP INDEX CONCURRENTLY j;\n", layout.own_file_findings,
        [(1, "own-file"), (2, "own-file")]),
    "VACUUM and REINDEX CONCURRENTLY in one file": (
        "VACUUM emails;\nREINDEX TABLE CONCURRENTLY emails;\n", layout.own_file_findings,
        [(1, "own-file"), (2, "own-file")]),
    "CREATE INDEX CONCURRENTLY alone, with comments": (
        "-- own file: CONCURRENTLY cannot run in a transaction\n"
        "CREATE INDEX CONCURRENTLY i ON emails (subject);\n", layout.own_file_findings, []),
    "a plain CREATE INDEX among other statements": (
        "SET LOCAL lock_timeout = '5s';\nCREATE INDEX i ON emails (subject);\n",
        layout.own_file_findings, []),
}


@pytest.mark.parametrize(("sql", "check", "want"), FILE_CASES.values(), ids=FILE_CASES.keys())
def test_file_rule(tmp_path, sql, check, want):
    path = tmp_path / "000002_x.up.sql"
    path.write_text(sql, encoding="utf-8")
    assert [(finding.line, finding.rule) for finding in check(path)] == want


def test_an_own_file_finding_says_what_and_why(tmp_path):
    path = tmp_path / "000002_x.up.sql"
    path.write_text("SET LOCAL lock_timeout = '5s';\nVACUUM emails;\n", encoding="utf-8")
    assert [finding.message for finding in layout.own_file_findings(path)] == [
        "VACUUM cannot run inside a transaction block, and golang-migrate runs this file's 2 "
        "statements as one transaction: give it a migration file of its own, as its only "
        "statement"]
