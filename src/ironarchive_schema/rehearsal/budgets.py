"""The rehearsal's budgets: a committed file (``REHEARSAL_BUDGETS``, default
``rehearsal.budgets.yaml``) saying what a migration may do to a busy archive, each budget
with a default that holds where the file says nothing.

- ``workload_wait``: no workload query waits for a lock longer than this; ``lock_timeout``
  (the default) means the migration's own lock_timeout, which bounds how long the migration
  itself would wait for the application;
- ``workload_errors``: errors the workload may meet while and after the migration runs;
- ``blocking_read_rows``: a statement may read or write at most this many rows of a table on
  which its transaction holds a lock that queues the application's writes (SHARE or
  stronger): beyond it, every write to that table waits for as long as the reading takes,
  and that grows with the table;
- ``large_table_rows`` and ``access_exclusive_ms``: ACCESS EXCLUSIVE (which queues even
  reads) on a table of more rows than that is held at most so many milliseconds;
- ``accepted``: migration file -> why its breaches are accepted (a released migration
  cannot change; the reason is shown in the report beside each breach it covers).
"""

from dataclasses import dataclass, field
from pathlib import Path

from ironarchive_schema.contract.load import strict_yaml
from ironarchive_schema.errors import ToolchainError

#: ``workload_wait`` that stands for the migration's own lock_timeout.
LOCK_TIMEOUT = "lock_timeout"


class BudgetsError(ToolchainError):
    """The budgets file cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Budgets:
    workload_wait_ms: int | None = None  # None: the migration's lock_timeout
    workload_errors: int = 0
    blocking_read_rows: int = 1000
    large_table_rows: int = 10_000
    access_exclusive_ms: int = 2000
    accepted: dict[str, str] = field(default_factory=dict)


_INTEGERS = ("workload_errors", "blocking_read_rows", "large_table_rows", "access_exclusive_ms")


def read(path: Path) -> Budgets:
    """The budgets of ``path``; the defaults where it is missing or says nothing."""
    if not path.exists():
        return Budgets()
    data = strict_yaml(path.read_text(encoding="utf-8"), str(path), BudgetsError) or {}
    if not isinstance(data, dict):
        raise BudgetsError(f"{path}: want a mapping of budget -> value")
    unknown = sorted(set(data) - {"workload_wait", "accepted", *_INTEGERS})
    if unknown:
        raise BudgetsError(f"{path}: unknown budget {', '.join(unknown)}; known: "
                           f"workload_wait, accepted, {', '.join(_INTEGERS)}")
    values: dict = {}
    for name in _INTEGERS:
        if name in data:
            if not isinstance(data[name], int) or isinstance(data[name], bool) or data[name] < 0:
                raise BudgetsError(f"{path}: {name}: want a whole number >= 0, "
                                   f"have {data[name]!r}")
            values[name] = data[name]
    wait = data.get("workload_wait", LOCK_TIMEOUT)
    if wait != LOCK_TIMEOUT:
        if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
            raise BudgetsError(f"{path}: workload_wait: want {LOCK_TIMEOUT!r} or milliseconds, "
                               f"have {wait!r}")
        values["workload_wait_ms"] = wait
    accepted = data.get("accepted") or {}
    if not isinstance(accepted, dict) or not all(
            isinstance(reason, str) and reason.strip() for reason in accepted.values()):
        raise BudgetsError(f"{path}: accepted: want migration file -> the reason it is "
                           f"accepted (a sentence, not empty)")
    return Budgets(**values, accepted={str(name): reason for name, reason in accepted.items()})
