"""Where a pytest run's time went, for the line the suite prints at its end: what the
controlling process spent before the first test (starting the server, migrating the
template), then the tests' own time (setup, call and teardown) by folder of ``tests/``,
summed over the xdist workers, with each folder's share."""

import time
from collections import Counter
from contextlib import contextmanager


class Stopwatch:
    """Named steps of the session's start, in the order they ran."""

    def __init__(self):
        self.steps: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = time.monotonic() - start


def by_folder(reports) -> Counter:
    """Seconds per folder of ``tests/`` (``contract``, ``behaviour``...) over test reports."""
    seconds: Counter = Counter()
    for report in reports:
        parts = report.nodeid.split("/")
        if getattr(report, "duration", None) is not None and len(parts) > 2:
            seconds[parts[1]] += report.duration
    return seconds


def summary(steps: dict[str, float], folders: Counter) -> str:
    total = sum(folders.values()) or 1.0
    start = ", ".join(f"{name} {s:.1f} s" for name, s in steps.items())
    tests = ", ".join(f"{folder} {s:.1f} s ({100 * s / total:.0f} %)"
                      for folder, s in folders.most_common())
    return f"time by part: {start or 'no server'}; tests, summed over workers: {tests}"
