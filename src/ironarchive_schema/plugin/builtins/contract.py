"""The database at the newest migration is exactly what the contract declares.

Generated from the contract: one test per declared object, and one per kind of object
(per table where it belongs to one) checked both ways, Missing and Extra. Ids name the
object, so ``-k emails`` selects a table: ``emails.sent_at``, ``comment:emails.sent_at``,
``fk:attachments.email_id``, ``index:idx_emails_sent_at``, ``trigger:...``,
``function:...()``, ``row_security:emails``, ``policy:...``, ``grant:...``, ``setting:...``;
both ways: ``tables``, ``columns:emails``, ``indexes:emails``, ...
"""

import pytest

from ironarchive_schema.contract.checks import both_ways, declared, same
from ironarchive_schema.contract.diff import render
from ironarchive_schema.contract.from_catalog import unstated
from ironarchive_schema.contract.layout import STATEMENTS, unstated_statements
from ironarchive_schema.contract.load import load_text
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.fixtures import contract_of

FIX = "edit the contract where the change is intended (`make schema-diff` prints the difference)"


def pytest_generate_tests(metafunc):
    if "check" not in metafunc.fixturenames:
        return
    try:
        contract = contract_of(metafunc.config)
    except GateFailure:
        # One test, whose ``contract`` fixture fails with the reason in one line.
        metafunc.parametrize("check", [pytest.param(None, id="unreadable-contract")])
        return
    every = declared if metafunc.function.__name__.startswith("test_declared") else both_ways
    metafunc.parametrize("check", every(contract), ids=str)


def fail_on(problems: list[str], contract_file) -> None:
    """One line per problem: each names the object and says want and have."""
    if problems:
        raise GateFailure("\n".join(problems), [("Contract", str(contract_file)), ("Fix", FIX)])


def test_declared_object_exists_as_stated(check, contract, catalog_as_contract, gate_settings):
    fail_on(check.problems(contract, catalog_as_contract), gate_settings.contract_file)


def test_nothing_missing_nothing_extra(check, contract, catalog_as_contract, gate_settings):
    fail_on(check.problems(contract, catalog_as_contract), gate_settings.contract_file)


def test_nothing_exists_that_the_contract_cannot_state(catalog_snapshot, gate_settings):
    """Views, sequences, types, disabled triggers...: the contract has no words for them, so
    none may slip in unreviewed."""
    fail_on([f"Extra, and not expressible in the contract: {found}"
             for found in unstated(catalog_snapshot)], gate_settings.contract_file)


def test_contract_describes_the_newest_migration(contract, migrations_dir, gate_settings):
    """A new migration comes with its contract change: at least the version, reviewed."""
    newest = newest_version(migrations_dir)
    if contract["version"] != newest:
        fail_on([f"version: want {newest} (the newest migration in {migrations_dir}), have "
                 f"{contract['version']}"], gate_settings.contract_file)


def test_the_catalog_written_as_a_contract_reads_back_the_same(catalog_as_contract):
    """What ``schema-diff`` writes of this database loads as a contract that states exactly
    that database: the contract's format can say everything the contract checks compare."""
    read_back = load_text(render(catalog_as_contract))
    # People's statements are no catalog fact: the catalog's contract reads back without any.
    statements = {key: read_back.pop(key) for key in STATEMENTS}
    if statements != unstated_statements() or not same(read_back, catalog_as_contract):
        raise GateFailure("the catalog written as a contract does not read back the same", [
            ("Statements read back", str(statements)),
            ("Fix", "the contract's writer (contract/diff.py) and reader (contract/load.py) "
                    "disagree: a fault of the engine, not of the migrations")])
