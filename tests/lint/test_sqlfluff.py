"""Every migration is clean under sqlfluff with the repository's .sqlfluff (style)."""

import pytest


@pytest.mark.per_migration("sqlfluff")
def test_sqlfluff_finds_nothing(migration, sqlfluff, no_findings):
    no_findings(sqlfluff.check(migration))
