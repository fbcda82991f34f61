"""One mutant: a named change to a copy of the migrations folder."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str  # stable, readable: "<operator>:<target>", the key of equivalent.yaml
    operator: str
    target: str
    sql: str | None = None  # appended to the newest up file
    down_file: str | None = None  # or: this down file loses lines [first_line, end_line)
    first_line: int = 0
    end_line: int = 0


def quote(name: str) -> str:
    """A SQL identifier, always quoted (catalog names may need it)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(key: str) -> str:
    """``schema.name`` or ``name`` (as the catalog keys them) as a quoted SQL name."""
    return ".".join(quote(part) for part in key.split(".", 1))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
