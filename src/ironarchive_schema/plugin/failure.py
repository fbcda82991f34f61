"""The one failure type of the built-in checks: a line naming the object that is wrong,
then titled blocks of context (want, have, the command, migrate's output, what to do)."""

import textwrap
from collections.abc import Sequence

import pytest

from ironarchive_schema.migrate.command import MigrateError


class GateFailure(AssertionError):
    """``GateFailure("emails.sent_at: want NOT NULL, have NULL", [("Fix", "...")])``."""

    def __init__(self, message: str, context: Sequence[tuple[str, str]] = ()):
        super().__init__(message)
        self.message = message
        self.context = [(title, text) for title, text in context if text]

    def __str__(self) -> str:
        blocks = [f"\n{title}:\n{textwrap.indent(text.rstrip(), '    ')}"
                  for title, text in self.context]
        return "\n".join([self.message, *blocks])


def as_gate_failure(error: BaseException) -> GateFailure | None:
    """A built-in check's verdict, or a migrate that failed under it (its line, then what
    migrate printed); anything else keeps pytest's own report."""
    if isinstance(error, GateFailure):
        return error
    if isinstance(error, MigrateError):
        return GateFailure(str(error), [("migrate", error.output)])
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A built-in check reports its failure's own text: the traceback into the check would
    bury it. A project's own tests report a GateFailure so too."""
    report = yield
    if report.failed and call.excinfo is not None:
        failure = as_gate_failure(call.excinfo.value) if item.get_closest_marker("builtin") \
            else call.excinfo.value if isinstance(call.excinfo.value, GateFailure) else None
        if failure is not None:
            report.longrepr = str(failure)
    return report
