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


def migrate_failure(error: MigrateError) -> GateFailure:
    """A migrate that failed under a built-in check: its line, then what migrate printed."""
    return GateFailure(str(error), [("migrate", error.output)])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A GateFailure reports its own text: the traceback into the check would bury it. Under a
    built-in check a failed migrate is reported so too; a project's own test keeps pytest's
    report of it."""
    report = yield
    if report.failed and call.excinfo is not None:
        error = call.excinfo.value
        if isinstance(error, GateFailure):
            report.longrepr = str(error)
        elif isinstance(error, MigrateError) and item.get_closest_marker("builtin"):
            report.longrepr = str(migrate_failure(error))
    return report
