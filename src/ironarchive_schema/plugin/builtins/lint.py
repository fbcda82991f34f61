"""The migrations' text, with no server: golang-migrate's folder rules
(``ironarchive_schema.lint.layout``), sqlfluff with the project's ``.sqlfluff`` (style) and
squawk with its ``.squawk.toml`` (safe on a busy database). Ids name the check and the file:
``-k sqlfluff``, ``-k 000002``."""

from pathlib import Path

import pytest

from ironarchive_schema.lint import layout
from ironarchive_schema.lint.findings import Finding, report
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.options import gate_settings

pytestmark = pytest.mark.lint


def migration_files(config) -> list[Path]:
    folder = gate_settings(config).migrations_dir
    return [file.path for file in layout.scan(folder)[0]] if folder.is_dir() else []


def pytest_generate_tests(metafunc):
    """A test marked ``per_migration(check)`` runs once per file: ``check:<file name>``."""
    marker = metafunc.definition.get_closest_marker("per_migration")
    if marker:
        paths = migration_files(metafunc.config)
        metafunc.parametrize("migration", paths,
                             ids=[f"{marker.args[0]}:{path.name}" for path in paths])


def no_findings(findings: list[Finding], what: str) -> None:
    """Fails naming the file (or folder) once, with one line per finding below."""
    if findings:
        raise GateFailure(f"{what}: {len(findings)} finding{'s' if len(findings) > 1 else ''}",
                          [("Findings (file:line: tool rule: what to do)", report(findings))])


@pytest.fixture(scope="module")
def checked_folder(migrations_dir) -> Path:
    if not migrations_dir.is_dir():
        raise GateFailure(f"{migrations_dir}: the migrations folder does not exist",
                          [("Fix", "--migrations-dir, the migrations_dir ini option, or "
                                   "MIGRATIONS_DIR names it")])
    return migrations_dir


@pytest.fixture(scope="module")
def scanned(checked_folder):
    return layout.scan(checked_folder)


def test_the_folder_holds_only_migration_files(scanned, checked_folder):
    no_findings(layout.stray_findings(scanned[1]), str(checked_folder))


def test_versions_have_six_digits_and_titles_are_snake_case(scanned, checked_folder):
    no_findings(layout.name_findings(scanned[0]), str(checked_folder))


def test_every_up_file_has_its_down_file_and_the_reverse(scanned, checked_folder):
    no_findings(layout.pair_findings(scanned[0]), str(checked_folder))


def test_versions_run_from_000001_without_gaps_or_duplicates(scanned, checked_folder):
    no_findings(layout.sequence_findings(scanned[0]), str(checked_folder))


@pytest.mark.per_migration("empty")
def test_a_migration_has_a_statement(migration):
    no_findings(layout.empty_findings(migration), migration.name)


@pytest.mark.per_migration("transaction-control")
def test_a_migration_leaves_its_transaction_to_golang_migrate(migration):
    no_findings(layout.transaction_findings(migration), migration.name)


@pytest.mark.per_migration("own-file")
def test_what_cannot_run_in_a_transaction_is_alone_in_its_file(migration):
    no_findings(layout.own_file_findings(migration), migration.name)


@pytest.mark.per_migration("sqlfluff")
def test_sqlfluff_finds_nothing(migration, sqlfluff):
    no_findings(sqlfluff.check(migration), migration.name)


@pytest.mark.per_migration("squawk")
def test_squawk_finds_nothing(migration, squawk):
    no_findings(squawk.check(migration), migration.name)
