"""The migrations folder keeps golang-migrate's rules (see ironarchive_schema.lint.layout)."""

import pytest

from ironarchive_schema.lint import layout


@pytest.fixture(scope="module")
def scanned(folder):
    return layout.scan(folder)


def test_the_folder_holds_only_migration_files(scanned, no_findings):
    no_findings(layout.stray_findings(scanned[1]))


def test_versions_have_six_digits_and_titles_are_snake_case(scanned, no_findings):
    no_findings(layout.name_findings(scanned[0]))


def test_every_up_file_has_its_down_file_and_the_reverse(scanned, no_findings):
    no_findings(layout.pair_findings(scanned[0]))


def test_versions_run_from_000001_without_gaps_or_duplicates(scanned, no_findings):
    no_findings(layout.sequence_findings(scanned[0]))


@pytest.mark.per_migration("empty")
def test_a_migration_has_a_statement(migration, no_findings):
    no_findings(layout.empty_findings(migration))


@pytest.mark.per_migration("transaction-control")
def test_a_migration_leaves_its_transaction_to_golang_migrate(migration, no_findings):
    no_findings(layout.transaction_findings(migration))


@pytest.mark.per_migration("own-file")
def test_what_cannot_run_in_a_transaction_is_alone_in_its_file(migration, no_findings):
    no_findings(layout.own_file_findings(migration))
