"""The plpgsql_check check's parts that need no server: the exceptions file, what an exception
covers, and what a server without the extension means on each major. The check itself, on a
broken function, is in test_minimal_project.py; on IronArchive's schema it is the built-in
``tests/conftest.py::plpgsql_check``."""

import pytest

from ironarchive_schema.lint.plpgsql_check import (
    Accepted,
    ExceptionsError,
    Finding,
    judge,
    read_exceptions,
)
from ironarchive_schema.plugin.builtins.plpgsql_check import plpgsql_functions, without_extension
from ironarchive_schema.plugin.failure import GateFailure

UNUSED = Finding("touch_note()", "notes", 3, "warning", "00000", 'unused variable "unused"')
NO_FIELD = Finding("touch_note()", "notes", 5, "error", "42703",
                   'record "new" has no field "touched_at"')
ON_TAGS = Finding("touch_note()", "tags", 5, "error", "42703",
                  'record "new" has no field "touched_at"')


def exceptions_file(tmp_path, text: str):
    path = tmp_path / "plpgsql_check.yaml"
    path.write_text(text)
    return path


def test_an_absent_exceptions_file_accepts_nothing_unless_it_was_named(tmp_path):
    assert read_exceptions(tmp_path / "plpgsql_check.yaml") == []
    with pytest.raises(ExceptionsError) as caught:
        read_exceptions(tmp_path / "named.yaml", required=True)
    assert str(caught.value) == (f"{tmp_path / 'named.yaml'}: no such file (the plpgsql_check "
                                 f"exceptions)")


def test_an_exception_is_read_with_every_key(tmp_path):
    path = exceptions_file(tmp_path, "exceptions:\n"
                                     "  - function: touch_note()\n"
                                     "    table: notes\n"
                                     "    line: 5\n"
                                     "    message: record \"new\" has no field \"touched_at\"\n"
                                     "    sqlstate: '42703'\n"
                                     "    reason: >-\n"
                                     "      the UPDATE branch never runs on notes\n")
    assert read_exceptions(path) == [Accepted(
        "touch_note()", "the UPDATE branch never runs on notes", table="notes", line=5,
        message='record "new" has no field "touched_at"', sqlstate="42703")]


@pytest.mark.parametrize(("text", "error"), [
    ("exceptions:\n  - function: touch_note()\n    sqlstate: '00000'\n",
     "exception 1: reason: want text, not empty"),
    ("exceptions:\n  - function: touch_note()\n    sqlstate: '00000'\n    reason: ' '\n",
     "exception 1: reason: want text, not empty"),
    ("exceptions:\n  - function: touch_note()\n    reason: accepted\n",
     "exception 1: want the finding's message or sqlstate"),
    ("exceptions:\n  - function: touch_note()\n    sqlstate: 42703\n    reason: accepted\n",
     "exception 1: sqlstate: want text (quote it), have 42703"),
    ("exceptions:\n  - function: touch_note()\n    line: '5'\n    sqlstate: '42703'\n"
     "    reason: accepted\n", "exception 1: line: want a line number, have '5'"),
    ("exceptions:\n  - function: touch_note()\n    rule: '42703'\n    reason: accepted\n",
     "exception 1: unknown key rule; known: function, line, message, reason, sqlstate, table"),
    ("exceptions:\n  - touch_note()\n",
     "exception 1: want a mapping (function, message or sqlstate, reason)"),
    ("- function: touch_note()\n",
     "want one key, exceptions: a list of the findings accepted"),
    ("exceptions:\n  function: touch_note()\n",
     "exceptions: want a list of the findings accepted"),
], ids=["no-reason", "blank-reason", "no-finding", "unquoted-sqlstate", "line-as-text",
        "unknown-key", "not-a-mapping", "no-exceptions-key", "not-a-list"])
def test_a_wrong_exception_is_one_line_naming_the_file_and_entry(tmp_path, text, error):
    path = exceptions_file(tmp_path, text)
    with pytest.raises(ExceptionsError) as caught:
        read_exceptions(path)
    assert str(caught.value) == f"{path}: {error}"


def test_an_exception_covers_what_it_names_and_a_stale_one_is_returned():
    on_notes = Accepted("touch_note()", "reason", table="notes", sqlstate="42703")
    unused = Accepted("touch_note()", "reason", message='unused variable "unused"', line=3)
    wrong_line = Accepted("touch_note()", "reason", message='unused variable "unused"', line=4)
    other = Accepted("count_notes()", "reason", sqlstate="42703")
    findings = [UNUSED, NO_FIELD, ON_TAGS]
    assert judge("touch_note()", findings, [on_notes, unused, wrong_line, other]) == (
        [ON_TAGS], [wrong_line]), "another table's finding stays; another function's is no one's"
    assert judge("touch_note()", [], [other]) == ([], [])


def test_the_checked_functions_are_the_plpgsql_ones_of_schema_public():
    snapshot = {"functions": {
        "touch_note()": {"language": "plpgsql"},
        "count_notes(tag text)": {"language": "plpgsql"},
        "current_tag()": {"language": "sql"},
        "audit.touch_note()": {"language": "plpgsql"},
    }}
    assert plpgsql_functions(snapshot) == ["count_notes(tag text)", "touch_note()"]


def test_without_the_extension_debians_postgresql_15_fails_saying_how_to_install_it():
    with pytest.raises(GateFailure) as caught:
        without_extension("touch_note()", 15, debian=True)
    assert str(caught.value) == (
        "touch_note(): not checked: Debian's PostgreSQL 15 here has no plpgsql_check "
        "extension: install postgresql-15-plpgsql-check (as root, make postgres does, "
        "changing nothing else installed)")


@pytest.mark.parametrize("major, debian", [(16, True), (17, True), (18, True), (15, False),
                                           (18, False)])
def test_without_the_extension_another_server_is_skipped_naming_it(major, debian):
    """Another major, or a pinned build (the CI workflow's PostgreSQL 15 on Ubuntu)."""
    with pytest.raises(pytest.skip.Exception) as caught:
        without_extension("touch_note()", major, debian=debian)
    build = "Debian's" if debian else "this (not Debian's)"
    assert str(caught.value.msg) == (
        f"plpgsql_check is not available on {build} PostgreSQL {major} (here only Debian's "
        f"PostgreSQL 15 has it): PL/pgSQL not checked on this server")
