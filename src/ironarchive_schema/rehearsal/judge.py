"""A rehearsed migration against its budgets (:mod:`.budgets`): each breach one line naming
the file, the statement, the lock and the relation.

What the migration did comes from two measurements of the same archive: the trace (its
statements one at a time, rolled back: which locks each takes, the rows it reads and
writes) and migrate's real run under the workload (how long its locks were held, who waited
and for how long, what the workload met). A breach seen in the run is blamed on the first
statement whose lock conflicts with what the workload asked for.
"""

import re
from dataclasses import dataclass

from ironarchive_schema.rehearsal.budgets import Budgets
from ironarchive_schema.rehearsal.locks import MODES, ROWS_READ, StatementTrace

#: PostgreSQL's table-level lock conflicts: mode -> the modes it conflicts with.
CONFLICTS = {
    "AccessShareLock": {"AccessExclusiveLock"},
    "RowShareLock": {"ExclusiveLock", "AccessExclusiveLock"},
    "RowExclusiveLock": {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                         "AccessExclusiveLock"},
    "ShareUpdateExclusiveLock": {"ShareUpdateExclusiveLock", "ShareLock",
                                 "ShareRowExclusiveLock", "ExclusiveLock",
                                 "AccessExclusiveLock"},
    "ShareLock": {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                  "ExclusiveLock", "AccessExclusiveLock"},
    "ShareRowExclusiveLock": {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
                              "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"},
    "ExclusiveLock": set(MODES) - {"AccessShareLock"},
    "AccessExclusiveLock": set(MODES),
}
#: The weakest mode that queues the application's writes (INSERT, UPDATE, DELETE).
BLOCKS_WRITES = MODES.index("ShareLock")
_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class Breach:
    file: str
    line: int  # of the statement to blame; 0: the file as a whole
    statement: str  # its first words
    rule: str  # the budget it breaks
    message: str
    accepted: str | None = None  # why the budgets file accepts it

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: {self.statement}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Measured:
    """What migrate's run under the workload showed (see :mod:`.rehearse`)."""

    table_rows: dict[str, int]  # schema.name -> rows before the migration
    exclusive_ms: dict[str, float]  # relation -> ms the migration held ACCESS EXCLUSIVE
    longest_waits: dict[tuple[str, str], float]  # (relation, mode asked) -> longest wait, ms
    errors: tuple[str, ...]  # the workload's errors while and after it ran
    failure: str | None  # migrate's error, if it failed
    #: The statement that failed, where the trace on the archive saw it fail too: its line,
    #: first words and PostgreSQL's error (migrate names no line of a multi-statement file).
    failed_statement: tuple[int, str, str] | None = None


def milliseconds(setting: str) -> float:
    """A duration as ``current_setting`` shows it (``5s``, ``250ms``, ``0``) in ms."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?", setting.strip())
    if not match:
        raise ValueError(f"not a duration: {setting!r}")
    return float(match[1]) * _UNITS_MS[match[2] or "ms"]


def _words(trace: StatementTrace) -> str:
    return " ".join(trace.words[:6])


def blame(trace: list[StatementTrace], relation: str, asked: str) -> StatementTrace | None:
    """The first statement whose lock on ``relation`` conflicts with mode ``asked``."""
    for statement in trace:
        mode = statement.strongest().get(relation)
        if mode and mode in CONFLICTS.get(asked, set(MODES)):
            return statement
    return None


def _breach(file: str, statement: StatementTrace | None, rule: str, message: str) -> Breach:
    if statement is None:
        return Breach(file, 0, "", rule, message)
    return Breach(file, statement.line, _words(statement), rule, message)


def reads_under_write_lock(file: str, trace: list[StatementTrace], budgets: Budgets
                           ) -> list[Breach]:
    """Statements that read or write more than ``blocking_read_rows`` rows of a table on
    which their transaction holds SHARE or stronger (taken by them or an earlier statement)."""
    held: dict[str, tuple[str, StatementTrace]] = {}
    breaches = []
    for statement in trace:
        if not statement.in_transaction:
            continue
        for relation, mode in statement.strongest().items():
            had = held.get(relation)
            if mode in MODES and (had is None or MODES.index(mode) > MODES.index(had[0])):
                held[relation] = (mode, statement)
        for table, counts in statement.rows.items():
            touched = sum(counts.get(name, 0) for name in
                          (*ROWS_READ, "inserted", "updated", "deleted"))
            mode, taken_by = held.get(table, ("", statement))
            if touched > budgets.blocking_read_rows and mode and \
                    MODES.index(mode) >= BLOCKS_WRITES:
                by = "" if taken_by is statement else f" (taken at line {taken_by.line})"
                rewriting = " and rewrites it" if table in statement.rewrites else ""
                breaches.append(_breach(
                    file, statement, "blocking_read_rows",
                    f"holds {mode} on {table}{by} while it reads or writes {touched:,} of its "
                    f"rows{rewriting}: the application's writes to {table} wait as long (budget "
                    f"{budgets.blocking_read_rows:,} rows)"))
    return breaches


def judge(file: str, trace: list[StatementTrace], measured: Measured, budgets: Budgets
          ) -> list[Breach]:
    """Every breach of ``budgets`` by migration ``file``."""
    breaches = []
    if measured.failed_statement:
        line, words, reason = measured.failed_statement
        breaches.append(Breach(file, line, words, "migrate",
                               f"does not apply to the archive: {reason}; migrate failed and "
                               f"left the database dirty at this version"))
    elif measured.failure:
        breaches.append(Breach(file, 0, "", "migrate", f"migrate failed: {measured.failure}"))
    breaches += reads_under_write_lock(file, trace, budgets)
    for relation, held_ms in sorted(measured.exclusive_ms.items()):
        rows = measured.table_rows.get(relation, 0)
        if rows > budgets.large_table_rows and held_ms > budgets.access_exclusive_ms:
            breaches.append(_breach(
                file, blame(trace, relation, "AccessShareLock"), "access_exclusive_ms",
                f"held AccessExclusiveLock on {relation} ({rows:,} rows) for {held_ms:,.0f} ms: "
                f"even reads of it wait (budget {budgets.access_exclusive_ms:,} ms over "
                f"{budgets.large_table_rows:,} rows)"))
    timeouts = [milliseconds(s.lock_timeout) for s in trace if s.in_transaction]
    lock_timeout = max(timeouts, default=0.0)
    limit = budgets.workload_wait_ms if budgets.workload_wait_ms is not None else lock_timeout
    for (relation, asked), waited in sorted(measured.longest_waits.items()):
        if limit and waited <= limit:
            continue
        bound = (f"over the budget of {limit:,.0f} ms" if limit else
                 "and it runs with no lock_timeout to bound that")
        culprit = blame(trace, relation, asked)
        lock = f" behind its {culprit.strongest()[relation]}" if culprit else ""
        breaches.append(_breach(
            file, culprit, "workload_wait",
            f"the workload waited {waited:,.0f} ms for {asked} on {relation}{lock}, {bound}"))
    if len(measured.errors) > budgets.workload_errors:
        breaches.append(Breach(
            file, 0, "", "workload_errors",
            f"the workload met {len(measured.errors)} errors (budget {budgets.workload_errors}), "
            f"the first: {measured.errors[0]}"))
    accepted = budgets.accepted.get(file)
    if accepted:
        breaches = [Breach(b.file, b.line, b.statement, b.rule, b.message, accepted)
                    for b in breaches]
    return breaches
