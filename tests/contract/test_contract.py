"""The database at the newest migration is exactly what contract/schema.yaml declares.

Generated from the contract: one test per declared object, and one per kind of object
(per table where it belongs to one) checked both ways, Missing and Extra. Ids name the
object, so ``-k emails`` selects a table: ``emails.sent_at``, ``comment:emails.sent_at``,
``fk:attachments.email_id``, ``index:idx_emails_sent_at``, ``check:users.users_role_check``,
``trigger:audit_logs.audit_log_immutable_trigger``, ``function:update_updated_at_column()``,
``row_security:emails``, ``policy:emails.tenant_isolation``, ``grant:audit_logs.ironarchive_app``,
``setting:sync_schedule``; both ways: ``tables``, ``columns:emails``, ``indexes:emails``, ...
"""

import pytest

from ironarchive_schema.contract.checks import both_ways, declared
from ironarchive_schema.contract.from_catalog import unstated
from ironarchive_schema.contract.load import CONTRACT_FILE, ContractError, load
from ironarchive_schema.migrate.migration_files import newest_version

try:
    CONTRACT = load()
except ContractError as exc:  # the message says where and why: no traceback
    raise pytest.fail.Exception(str(exc), pytrace=False) from None


def fail_on(problems: list[str]) -> None:
    """Fail with the problems, one per line; they name the object and say want/have, so a
    traceback into the checker would only bury them."""
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("check", declared(CONTRACT), ids=str)
def test_declared_object_exists_as_stated(check, database):
    fail_on(check.problems(CONTRACT, database))


@pytest.mark.parametrize("check", both_ways(CONTRACT), ids=str)
def test_nothing_missing_nothing_extra(check, database):
    fail_on(check.problems(CONTRACT, database))


def test_nothing_exists_that_the_contract_cannot_state(catalog_snapshot):
    """Views, sequences, types, policies, disabled triggers...: the contract has no words
    for them, so none may slip in unreviewed."""
    fail_on([f"Extra, and not expressible in the contract: {found}"
             for found in unstated(catalog_snapshot)])


def test_contract_describes_the_newest_migration(migrations_dir):
    """A new migration comes with its contract change: at least the version, reviewed."""
    newest = newest_version(migrations_dir)
    if CONTRACT["version"] != newest:
        fail_on([f"version: want {newest} (the newest migration in {migrations_dir}), have "
                 f"{CONTRACT['version']} in {CONTRACT_FILE}: update the contract "
                 f"(`make schema-diff` shows how)"])
