"""Mutants of the down files: each statement of each down file removed, one at a time.

The files are split with the SQL lexer of the lint (``lint.sqltext``), so a semicolon in a
comment, a string or a dollar-quoted body never splits a statement. A statement is removed
with the lines from its first line up to the next statement's first line (its trailing
comments go with it); a file with two statements on one line gets no mutant for those two.
"""

from collections.abc import Iterator
from pathlib import Path

from ironarchive_schema.lint.sqltext import statements
from ironarchive_schema.migrate.migration_files import read
from ironarchive_schema.mutation.mutant import Mutant


def remove_down_statement(migrations_dir: Path) -> Iterator[Mutant]:
    for migration in read(migrations_dir):
        if migration.down is None:
            continue
        text = migration.down.read_text()
        found = statements(text)
        total_lines = len(text.splitlines()) + 1
        for index, stmt in enumerate(found):
            end = found[index + 1].line if index + 1 < len(found) else total_lines
            shares_line = end == stmt.line or (index and found[index - 1].line == stmt.line)
            if shares_line:
                continue
            target = f"{migration.down.name}#{index + 1}"
            yield Mutant(f"remove_down_statement:{target} {' '.join(stmt.words[:5])}",
                         "remove_down_statement", target,
                         down_file=migration.down.name, first_line=stmt.line, end_line=end)
