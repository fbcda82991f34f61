"""squawk's findings beside the trace, statement by statement: where squawk warns and the
measurements show no risk, and where they show one squawk did not name.

squawk reads each file as the project wrote it but for its ``-- squawk-ignore`` comments
(a released file silences, statement by statement, what it accepted): the table sets what
squawk guesses from the text beside what the trace measured, not what the project chose.

A statement is a measured risk where the rehearsal blames a breach on it, or where it reads
or writes more than ``blocking_read_rows`` rows of a table its transaction holds SHARE or
stronger on (the judge's rule, applied to the trace whatever the file's acceptance). A
finding belongs to the statement whose text holds its line.
"""

import re
import tempfile
from pathlib import Path

from ironarchive_schema.lint.findings import Finding
from ironarchive_schema.lint.squawk_check import Squawk
from ironarchive_schema.rehearsal.budgets import Budgets
from ironarchive_schema.rehearsal.judge import reads_under_write_lock
from ironarchive_schema.rehearsal.rehearse import Rehearsal


def _owner(lines: list[int], line: int) -> int:
    """The start line of the statement holding ``line``: the last start at or before it."""
    starts = [start for start in lines if start <= line]
    return starts[-1] if starts else line


_SILENCED = re.compile(r"--\s*squawk-ignore\b.*$", re.MULTILINE)


def unsilenced_findings(squawk: Squawk, path: Path) -> list[Finding]:
    """squawk's findings on ``path`` with its squawk-ignore comments left out (the lines
    stay where they are, so a finding's line is the file's)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        copy.write_text(_SILENCED.sub("--", path.read_text(encoding="utf-8")),
                        encoding="utf-8")
        return squawk.check(copy)


def rows(results: list[Rehearsal], migrations_dir: Path, budgets: Budgets
         ) -> list[tuple[str, int, str, str, str, str]]:
    """(file, line, statement, squawk's rules, the measured risk, the reading)."""
    squawk = Squawk()
    table = []
    for result in results:
        if not result.trace:
            continue
        starts = [statement.line for statement in result.trace]
        words = {statement.line: " ".join(statement.words[:6]) for statement in result.trace}
        findings: dict[int, list[Finding]] = {}
        for finding in unsilenced_findings(squawk, migrations_dir / result.file):
            findings.setdefault(_owner(starts, finding.line), []).append(finding)
        risks: dict[int, list[str]] = {}
        for breach in [*result.breaches,
                       *reads_under_write_lock(result.file, result.trace, budgets)]:
            if breach.line and breach.message not in risks.get(breach.line, []):
                risks.setdefault(breach.line, []).append(breach.message)
        for line in sorted(findings.keys() | risks.keys()):
            rules = ", ".join(sorted({f.rule for f in findings.get(line, [])}))
            risk = "; ".join(risks.get(line, []))
            reading = ("agree" if rules and risk else
                       "squawk warns, the trace shows no risk" if rules else
                       "the trace shows a risk squawk did not name")
            table.append((result.file, line, words.get(line, ""), rules, risk, reading))
    return table


def section(results: list[Rehearsal], migrations_dir: Path, budgets: Budgets) -> list[str]:
    found = rows(results, migrations_dir, budgets)
    lines = ["## Static against measured", "",
             "squawk (`.squawk.toml`, as `make lint-sql` runs it, but without the files' "
             "`squawk-ignore` comments) beside the trace on the archive. A disagreement is "
             "either a warning the measurements do not bear out "
             "(the lock is on a relation the file creates, or held for no reading at all) or "
             "a risk measured that squawk's rules do not describe.", ""]
    if not found:
        return [*lines, "squawk and the trace agree: neither names a statement."]
    lines += ["| migration | line | statement | squawk | measured risk | reading |",
              "|---|--:|---|---|---|---|"]
    lines += [f"| {file} | {line} | {words} | {rules or '-'} | {risk or 'none'} | {reading} |"
              for file, line, words, rules, risk, reading in found]
    return lines
