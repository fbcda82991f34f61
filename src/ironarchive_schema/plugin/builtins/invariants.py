"""Invariants of the migrated catalog that no contract lists (:mod:`catalog.invariants`):
one test per rule, ids the rule's name, each failure a line per offending object.
``invariants_skip`` leaves rules out by name, for a project whose conventions differ."""

import pytest

from ironarchive_schema.catalog.invariants import BY_NAME
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.options import gate_settings


def rules_in_force(config: pytest.Config) -> list:
    """Every rule but those ``INVARIANTS_SKIP`` names; an unknown name is a usage error."""
    skipped = (gate_settings(config).get("INVARIANTS_SKIP") or "").replace(",", " ").split()
    unknown = [name for name in skipped if name not in BY_NAME]
    if unknown:
        raise pytest.UsageError(f"INVARIANTS_SKIP names {', '.join(unknown)}: the invariants "
                                f"are {', '.join(BY_NAME)}")
    return [rule for name, rule in BY_NAME.items() if name not in skipped]


def check_settings(config: pytest.Config) -> None:
    rules_in_force(config)


def pytest_generate_tests(metafunc):
    if "rule" in metafunc.fixturenames:
        rules = rules_in_force(metafunc.config)
        metafunc.parametrize("rule", rules, ids=[rule.__name__ for rule in rules])


def test_invariant_holds(rule, catalog_snapshot):
    problems = rule(catalog_snapshot)
    if problems:
        raise GateFailure("\n".join(problems), [
            ("Rule", f"{rule.__name__}: {(rule.__doc__ or '').strip()}"),
            ("Fix", "change the migration; or, where the project's convention differs, "
                    "name the rule in invariants_skip")])
