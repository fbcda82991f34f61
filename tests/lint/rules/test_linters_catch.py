"""sqlfluff and squawk, as configured, catch what they are there for, at the right line.

The fixtures are small migrations written to a scratch folder; a later migration
(version 000002) runs against the tables of 000001, so ``emails`` already exists.
"""

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint.squawk_check import Squawk

TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


def lint(tool, tmp_path, sql: str, name: str = "000002_x.up.sql") -> list[tuple[int, str]]:
    path = tmp_path / name
    path.write_text(sql, encoding="utf-8")
    return sorted((finding.line, finding.rule) for finding in tool.check(path))


SQLFLUFF_CASES = {
    "lower-case keywords and a tab indent": (
        "create table notes (\n\tid bigint\n);\n", [(1, "CP01"), (2, "CP05"), (2, "LT02")]),
    "a keyword as a column name": (
        "CREATE TABLE notes (date DATE);\n", [(1, "RF04")]),
    "a line over 100 characters": (
        f"COMMENT ON TABLE emails IS '{'x' * 90}';\n", [(1, "LT05")]),
    "a noqa that suppresses nothing": (
        "SELECT 1; -- noqa: RF04\n", [(1, "NOQA")]),
    "a syntax error": (
        "CREATE TABLE notes (id BIGINT;\n", [(1, "PRS")]),
    "the story's keyword-named columns": (
        "CREATE TABLE t (name TEXT, role TEXT, type TEXT, action TEXT, key TEXT, value JSONB);\n"
        'CREATE INDEX idx_t ON t ("timestamp" DESC);\n', []),
}


@pytest.mark.parametrize(("sql", "want"), SQLFLUFF_CASES.values(), ids=SQLFLUFF_CASES.keys())
def test_sqlfluff_catches(sqlfluff, tmp_path, sql, want):
    assert lint(sqlfluff, tmp_path, sql) == want


SQUAWK_CASES = {
    "CREATE INDEX on an existing table without CONCURRENTLY": (
        "000002_x.up.sql", TIMEOUTS + "CREATE INDEX idx_emails_subject ON emails (subject);\n",
        [(3, "require-concurrent-index-creation")]),
    "CREATE INDEX on a table created in the same file": (
        "000002_x.up.sql", TIMEOUTS + "CREATE TABLE notes (id BIGINT);\n"
                                      "CREATE INDEX idx_notes_id ON notes (id);\n", []),
    "no timeouts before taking a lock": (
        "000002_x.up.sql", "ALTER TABLE emails ADD COLUMN note TEXT;\n",
        [(1, "require-lock-timeout"), (1, "require-statement-timeout")]),
    "CONCURRENTLY in a file that runs as one transaction": (
        "000002_x.up.sql", TIMEOUTS + "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON emails (x);\n",
        [(3, "ban-concurrent-index-creation-in-transaction")]),
    "an up file dropping a table": (
        "000002_x.up.sql", TIMEOUTS + "DROP TABLE settings;\n", [(3, "ban-drop-table")]),
    "a down file dropping what its up file added": (
        "000002_x.down.sql", TIMEOUTS + "DROP TABLE notes;\nALTER TABLE emails DROP COLUMN note;\n",
        []),
    "a down file blocking writes with a plain DROP INDEX": (
        "000002_x.down.sql", TIMEOUTS + "DROP INDEX idx_emails_subject;\n",
        [(3, "require-concurrent-index-deletion")]),
    "the story's VARCHAR(n) and INTEGER, in either direction": (
        "000002_x.down.sql", TIMEOUTS + "ALTER TABLE emails ADD COLUMN n INTEGER, "
                                        "ADD COLUMN s VARCHAR(50);\n", []),
    "a constant default, no rewrite on PostgreSQL 15": (
        "000002_x.up.sql",
        TIMEOUTS + "ALTER TABLE emails ADD COLUMN s TEXT NOT NULL DEFAULT 'a';\n", []),
}


@pytest.mark.parametrize(("name", "sql", "want"), SQUAWK_CASES.values(), ids=SQUAWK_CASES.keys())
def test_squawk_catches(squawk, tmp_path, name, sql, want):
    assert lint(squawk, tmp_path, sql, name) == want


def test_squawk_refuses_a_config_key_it_would_ignore(tmp_path):
    config = tmp_path / ".squawk.toml"
    config.write_text('pg_version = "15"\nexclude_rules = ["ban-drop-table"]\n')
    with pytest.raises(ToolchainError, match="unknown keys exclude_rules"):
        Squawk(config)
