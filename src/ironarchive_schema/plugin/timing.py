"""Where a pytest run's time went, for the line the suite prints at its end: what the
controlling process spent before the first test (starting the server, migrating the
template), then the tests' own time (setup, call and teardown) by folder of ``tests/``,
summed over the xdist workers, with each folder's share.

With ``RUNTIMES_FILE`` set, each run also appends its account to that file as one JSON
line (and takes the variable out of its environment: a pytest that a test starts is part
of that test's time); ``python -m ironarchive_schema.plugin.timing FILE`` adds up the runs of a
gate (what ``scripts/time-gate`` prints as the share of each part).
"""

import json
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from ironarchive_schema.plugin.collection import CHECKS


class Stopwatch:
    """Named steps of the session's start, in the order they ran, and the time since."""

    def __init__(self, record_to: str | None = None):
        self.started = time.monotonic()
        self.steps: dict[str, float] = {}
        self.record_to = record_to

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextmanager
    def step(self, name: str):
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = time.monotonic() - start


def by_folder(reports) -> Counter:
    """Seconds per folder of ``tests/`` (``contract``, ``behaviour``...) over test reports,
    and per built-in check (``lint (built-in)``: ``tests/conftest.py::lint::...``)."""
    seconds: Counter = Counter()
    for report in reports:
        if getattr(report, "duration", None) is None:
            continue
        path, _, inside = report.nodeid.partition("::")
        parts, check = path.split("/"), inside.split("::", 1)[0]
        if check in CHECKS:
            seconds[f"{check} (built-in)"] += report.duration
        elif len(parts) > 2:
            seconds[parts[1]] += report.duration
    return seconds


def summary(steps: dict[str, float], folders: Counter) -> str:
    total = sum(folders.values()) or 1.0
    start = ", ".join(f"{name} {s:.1f} s" for name, s in steps.items())
    tests = ", ".join(f"{folder} {s:.1f} s ({100 * s / total:.0f} %)"
                      for folder, s in folders.most_common()) or "none ran"
    return f"time by part: {start or 'no server'}; tests, summed over workers: {tests}"


def record(stopwatch: Stopwatch, folders: Counter) -> None:
    """Append this run's account to the stopwatch's file, when it has one."""
    if stopwatch.record_to:
        with open(stopwatch.record_to, "a") as out:
            out.write(json.dumps({"steps": stopwatch.steps, "tests": dict(folders),
                                  "wall": stopwatch.elapsed()}) + "\n")


def table(lines: list[str]) -> list[str]:
    """Markdown: every part of the recorded runs, its seconds and share of their sum."""
    parts: Counter = Counter()
    wall = 0.0
    for line in lines:
        run = json.loads(line)
        parts.update(run["steps"])
        # A folder of tests/ by its path; a built-in check ("lint (built-in)") by its name.
        parts.update({part if part.endswith("(built-in)") else f"tests/{part}": s
                      for part, s in run["tests"].items()})
        wall += run["wall"]
    total = sum(parts.values()) or 1.0
    rows = [f"| {part} | {s:.1f} | {100 * s / total:.0f} % |" for part, s in parts.most_common()]
    return ["| part | seconds, summed over processes | share |", "|---|--:|--:|", *rows,
            f"| all of it, in {len(lines)} pytest runs taking {wall:.0f} s of wall time | "
            f"{total:.1f} | 100 % |"]


if __name__ == "__main__":
    print("\n".join(table(Path(sys.argv[1]).read_text().splitlines())))
