"""The SQL gate: every check on every file of the migrations folder under test.

``make lint-sql`` runs the tests of this folder, without a PostgreSQL server
(``--postgres=none``); ``rules/`` proves that each check catches what it is for, and
runs with the rest of the suite. A test marked ``per_migration("tool")`` runs once per
migration file, with ids like ``sqlfluff:000001_initial_schema.up.sql`` (``-k 000002``
selects one migration, ``-k squawk`` one tool).
"""

from pathlib import Path

import pytest

from ironarchive_schema.lint import layout, lock
from ironarchive_schema.lint.findings import Finding, report
from ironarchive_schema.lint.sqlfluff_check import Sqlfluff
from ironarchive_schema.lint.squawk_check import Squawk
from ironarchive_schema.plugin.options import gate_settings


def pytest_configure(config):
    config.addinivalue_line("markers", "per_migration(check): run once per migration file, "
                                       "with ids check:<file name>")


def _migration_files(config) -> list[Path]:
    folder = gate_settings(config).migrations_dir
    return [file.path for file in layout.scan(folder)[0]] if folder.is_dir() else []


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("per_migration")
    if marker:
        paths = _migration_files(metafunc.config)
        metafunc.parametrize("migration", paths,
                             ids=[f"{marker.args[0]}:{path.name}" for path in paths])


@pytest.fixture(scope="session")
def no_findings():
    """``no_findings(findings)``: fails with one line per finding (file:line: tool rule)."""
    def check(findings: list[Finding]) -> None:
        if findings:
            pytest.fail(report(findings), pytrace=False)
    return check


@pytest.fixture(scope="session")
def folder(migrations_dir) -> Path:
    folder = migrations_dir
    if not folder.is_dir():
        pytest.fail(f"migrations folder {folder} does not exist", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def sqlfluff() -> Sqlfluff:
    """sqlfluff started once per run: its start-up costs more than linting a file."""
    return Sqlfluff()


@pytest.fixture(scope="session")
def squawk() -> Squawk:
    return Squawk()


@pytest.fixture(scope="session")
def the_lock(gate_settings) -> lock.Lock:
    return lock.read(gate_settings.migrations_lock)
