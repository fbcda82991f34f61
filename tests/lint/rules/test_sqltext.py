"""Splitting a migration into statements as PostgreSQL's lexer would (lint.sqltext)."""

import itertools

import pytest

from ironarchive_schema.lint.sqltext import statements

# sql, then each statement as (line, its unquoted words outside strings and bodies)
CASES = {
    "semicolons end statements": (
        "CREATE TABLE t (id BIGINT);\nSELECT 1;\n",
        [(1, "CREATE TABLE T ID BIGINT"), (2, "SELECT")]),
    "the last statement needs no semicolon": (
        "SELECT 1;\nSELECT 2", [(1, "SELECT"), (2, "SELECT")]),
    "comments and lone semicolons are no statements": (
        "-- BEGIN;\n/* COMMIT; */\n;\n  ;\n", []),
    "block comments nest": (
        "/* a /* COMMIT; */ still; a comment */ SELECT 1;", [(1, "SELECT")]),
    "strings hide semicolons and words": (
        "SELECT 'BEGIN; COMMIT;', 'it''s';\nSELECT 2;", [(1, "SELECT"), (2, "SELECT")]),
    "escape strings end at an unescaped quote": (
        "SELECT E'\\'; COMMIT; \\\\';\nEND;", [(1, "SELECT"), (2, "END")]),
    "quoted identifiers are not words": (
        'SELECT "begin;" FROM t;', [(1, "SELECT FROM T")]),
    "a dollar-quoted body hides PL/pgSQL's BEGIN and COMMIT": (
        "CREATE FUNCTION f() RETURNS TRIGGER LANGUAGE plpgsql AS $$\nBEGIN\n    COMMIT;\n"
        "END;\n$$;\nSELECT 1;",
        [(1, "CREATE FUNCTION F RETURNS TRIGGER LANGUAGE PLPGSQL AS"), (6, "SELECT")]),
    "a tagged dollar quote may contain $$": (
        "DO $fn$ BEGIN RAISE NOTICE '$$;'; END $fn$;\nBEGIN;", [(1, "DO"), (2, "BEGIN")]),
    "a parameter is not a dollar quote": (
        "PREPARE q AS SELECT $1;\nCOMMIT;", [(1, "PREPARE Q AS SELECT"), (2, "COMMIT")]),
    "a $ inside a name is part of the name": (
        "SELECT a$b$c;\nCOMMIT;", [(1, "SELECT A$B$C"), (2, "COMMIT")]),
    "semicolons inside parentheses": (
        "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\nEND;",
        [(1, "CREATE RULE R AS ON INSERT TO T DO ALSO SELECT SELECT"), (2, "END")]),
    "a BEGIN ATOMIC body ends at its own END, CASE included": (
        "CREATE OR REPLACE FUNCTION f() RETURNS INT LANGUAGE sql\nBEGIN ATOMIC\n"
        "    SELECT CASE WHEN TRUE THEN 1 END;\n    SELECT 2;\nEND;\nCOMMIT;",
        [(1, "CREATE OR REPLACE FUNCTION F RETURNS INT LANGUAGE SQL BEGIN ATOMIC "
             "SELECT CASE WHEN TRUE THEN END SELECT END"), (6, "COMMIT")]),
    "lines are counted through multi-line comments and strings": (
        "/*\n\n*/ SELECT '\n\n';\n\n-- x\nSELECT 2;", [(3, "SELECT"), (8, "SELECT")]),
}


@pytest.mark.parametrize(("sql", "want"), CASES.values(), ids=CASES.keys())
def test_statements(sql, want):
    assert [(statement.line, " ".join(statement.words)) for statement in statements(sql)] == want


@pytest.mark.parametrize("sql", [case[0] for case in CASES.values()], ids=CASES.keys())
def test_each_statement_is_its_text_without_the_semicolon(sql):
    """What a statement's offsets cut out is the statement itself: splitting the text again
    finds it alone, and nothing but blank space, comments and semicolons lies between."""
    found = statements(sql)
    for statement in found:
        text = sql[statement.start:statement.end]
        assert [again.words for again in statements(text)] == [statement.words], text
        assert not text.rstrip().endswith(";"), text
    between = "".join(sql[a.end:b.start] for a, b in itertools.pairwise(found))
    assert statements(between.replace(";", " ")) == [], between
