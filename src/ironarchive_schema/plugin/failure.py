"""The one failure type of the built-in checks: a line naming the object that is wrong,
then titled blocks of context (want, have, the command, migrate's output, what to do)."""

import textwrap
from collections.abc import Sequence

import pytest


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A GateFailure reports its own text: the traceback into the check would bury it."""
    report = yield
    if report.failed and call.excinfo is not None \
            and isinstance(call.excinfo.value, GateFailure):
        report.longrepr = str(call.excinfo.value)
    return report
