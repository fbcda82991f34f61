"""One problem found in a migration: where it is, which rule, and what to do."""

from dataclasses import dataclass
from pathlib import Path


def display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    path = Path(path)
    cwd = Path.cwd()
    return str(path.relative_to(cwd)) if path.is_absolute() and path.is_relative_to(cwd) \
        else str(path)


@dataclass(frozen=True, order=True)
class Finding:
    path: Path
    line: int
    tool: str  # sqlfluff, squawk, dir, lock
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{display(self.path)}:{self.line}: {self.tool} {self.rule}: {self.message}"

    # In a failed assertion pytest prints the repr: make it the report line.
    __repr__ = __str__


def report(findings: list[Finding]) -> str:
    """One line per finding, in file and line order."""
    return "\n".join(str(finding) for finding in sorted(findings))
