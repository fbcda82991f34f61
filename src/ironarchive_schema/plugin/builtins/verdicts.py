"""The built-in checks' verdicts: each raises :class:`GateFailure`, one line naming what is
wrong, then titled blocks."""

from collections.abc import Sequence

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import Migrate, Version
from ironarchive_schema.plugin.failure import GateFailure


def expect(holds: bool, message: str, context: Sequence[tuple[str, str]] = ()) -> None:
    if not holds:
        raise GateFailure(message, context)


def same_catalog(want: dict, have: dict, title: str, fix: str = "") -> None:
    differences = pg_catalog.diff(want, have)
    expect(not differences, title, [("Differences", "\n".join(differences)), ("Fix", fix)])


def same_version(migrate: Migrate, want: Version, title: str) -> None:
    have = migrate.version()
    expect(have == want, f"{title}: want version {want}, have {have}")
