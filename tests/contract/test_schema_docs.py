"""docs/schema.md is what the catalog of the migrated database says today."""

import pytest

from ironarchive_schema.catalog import schema_docs


def test_schema_docs_are_current(database):
    want = schema_docs.generate(database)
    path = schema_docs.DOCS_FILE
    have = path.read_text() if path.exists() else ""
    if have != want:
        have_lines, want_lines = have.splitlines(), want.splitlines()
        # strict=False: one file may be longer; then the first line past the shorter differs.
        pairs = zip(have_lines, want_lines, strict=False)
        line = next((n for n, (h, w) in enumerate(pairs, 1) if h != w),
                    min(len(have_lines), len(want_lines)) + 1)
        pytest.fail(f"{path} is stale: run `make schema-docs`. First difference, line {line}:\n"
                    f"  catalog: {_line(want_lines, line)}\n"
                    f"  file:    {_line(have_lines, line)}",
                    pytrace=False)


def _line(lines: list[str], number: int) -> str:
    if number > len(lines):
        return "(end of file)"
    return lines[number - 1] or "(empty line)"
