"""What a database's migration state means, and what to do about it.

``migrate-status`` and the refusals of ``migrate-up``/``-down`` explain a dirty database
from the journal (``journal.py``): which migration failed, in which direction, or that
migrate was killed; with no usable record, both readings and both recoveries.
"""

from dataclasses import dataclass

from ironarchive_schema.migrate.command import Version
from ironarchive_schema.migrate.journal import Journal

#: Exit codes of ``migrate-status`` (documented in README.md and docs/bad-inputs.md).
EXIT_DIRTY = 3
EXIT_SKIPPED = 4


@dataclass(frozen=True)
class Neighbours:
    """The versions of the migrations folder, to name the one before and after another."""

    versions: list[int]

    def before(self, version: int) -> int:
        """The migration before ``version``, ``-1`` (no migration) for the first."""
        earlier = [v for v in self.versions if v < version]
        return earlier[-1] if earlier else -1

    def after(self, version: int) -> int | None:
        later = [v for v in self.versions if v > version]
        return later[0] if later else None


def _failed_up(version: int, folder: Neighbours) -> list[str]:
    previous = folder.before(version)
    return [f"migration {version}'s up failed and was rolled back: nothing of {version} is "
            f"applied.",
            f"Fix {version}'s up file, then `make migrate-force VERSION={previous}` and "
            f"`make migrate-up`."]


def _failed_down(version: int, folder: Neighbours) -> list[str]:
    undone = folder.after(version)
    if undone is None:
        return []
    return [f"migration {undone}'s down failed and was rolled back: {undone} is still applied.",
            f"Fix {undone}'s down file, then `make migrate-force VERSION={undone}` and "
            f"`make migrate-down`."]


def _consistent(journal: Journal | None, version: int) -> dict | None:
    """The journal's last command, if it can have left ``version`` dirty."""
    last = journal.last if journal else None
    if not last or last.get("command") not in ("up", "down"):
        return None
    start, target = last.get("from"), last.get("to")
    start = -1 if start is None else start
    target = -1 if target is None else target
    if last["command"] == "up" and start < version <= target:
        return last
    if last["command"] == "down" and target <= version < start:
        return last
    return None


def explain_dirty(version: Version, journal: Journal | None, folder: Neighbours,
                  running_pid: int | None) -> list[str]:
    """Lines saying what failed and how to recover."""
    number = version.number
    if running_pid is not None:
        return [f"version {number} is dirty and migrate's lock is held by backend "
                f"{running_pid}: a migration is still running (a killed migrate's backend "
                f"carries on).",
                f"Wait for it, or stop it (SELECT pg_terminate_backend({running_pid});), then "
                f"`make migrate-status` again."]
    # Only a dirty version is explained without a running migration, and migrate's table
    # holds a version whenever it says dirty.
    assert number is not None, "a dirty database is at some version"
    last = _consistent(journal, number)
    if last and last.get("state") == "failed":
        lines = _failed_up(number, folder) if last["command"] == "up" \
            else _failed_down(number, folder)
        if lines:
            error = last.get("error")
            return lines + ([f"migrate said: {error}"] if error else [])
    if last and last.get("state") == "running":
        if last["command"] == "up":
            previous = folder.before(number)
            return [f"migrate was stopped (killed?) while migration {number}'s up ran; its "
                    f"file was then either committed whole or rolled back whole.",
                    f"If {number}'s objects exist: `make migrate-force VERSION={number}`; if "
                    f"not: `make migrate-force VERSION={previous}`; then `make migrate-up`."]
        undone = folder.after(number)
        return [f"migrate was stopped (killed?) while migration {undone}'s down ran; it was "
                f"then either committed whole or rolled back whole.",
                f"If {undone}'s objects are gone: `make migrate-force VERSION={number}`; if "
                f"they remain: `make migrate-force VERSION={undone}`."]
    lines = [f"version {number} is dirty, and no record says how (migrated outside "
             f"make migrate-*?). Either:"]
    lines += ["- " + line for line in _failed_up(number, folder)]
    down = _failed_down(number, folder)
    if down:
        lines += ["or:"] + ["- " + line for line in down]
    lines.append(f"Look for {number}'s objects to tell which.")
    return lines


def skipped(journal: Journal | None, version: Version, folder: Neighbours) -> list[int]:
    """Versions below the current one that were never applied (added later)."""
    if journal is None or version.number is None or journal.last is None:
        return []
    applied = set(journal.applied)
    recorded = journal.last.get("version")
    if recorded is not None and recorded < version.number:
        # Migrated outside make migrate-* since: assume those versions applied.
        applied |= {v for v in folder.versions if recorded < v <= version.number}
    return [v for v in folder.versions if v < version.number and v not in applied]
