"""Every migration is safe to run on a busy database, by squawk with .squawk.toml."""

import pytest


@pytest.mark.per_migration("squawk")
def test_squawk_finds_nothing(migration, squawk, no_findings):
    no_findings(squawk.check(migration))
