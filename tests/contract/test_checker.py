"""The contract checks themselves: they fail when they should, and say precisely why.

Each breakage is made to a copy of the contract's own tree, standing in for a database
that matched it (so these tests hold whatever migrations are under test); every check of
the contract then runs against it, and the lines reported must be exactly the expected
ones: the object named, want and have, and no noise from unrelated checks. That the
catalog is read into that tree faithfully, test_contract.py proves on the real database.
"""

import copy

import pytest

from ironarchive_schema.contract.checks import both_ways, declared, same
from ironarchive_schema.contract.diff import render, report
from ironarchive_schema.contract.from_catalog import grants, unstated
from ironarchive_schema.contract.layout import STATEMENTS
from ironarchive_schema.contract.load import ContractError, load, load_text
from ironarchive_schema.paths import REPO_ROOT

try:
    CONTRACT = load(REPO_ROOT / "contract" / "schema.yaml")  # IronArchive's, as a sample
except ContractError as exc:  # the message says where and why: no traceback
    raise pytest.fail.Exception(str(exc), pytrace=False) from None


def _at(tree: dict, path: tuple[str, ...]) -> dict:
    for step in path:
        tree = tree[step]
    return tree


def _change(*path: str, **facts):
    return lambda tree: _at(tree, path).update(facts)


def _drop(*path: str):
    return lambda tree: _at(tree, path[:-1]).pop(path[-1])


def _add(*path: str, like: str, **facts):
    def add(tree):
        entries = _at(tree, path[:-1])
        entries[path[-1]] = dict(copy.deepcopy(entries[like]), **facts)
    return add


EMAILS = ("tables", "emails")

BREAKAGES = [
    pytest.param(_drop(*EMAILS, "indexes", "idx_emails_sent_at"), [
        "index:idx_emails_sent_at: Missing: not in the database",
        "indexes of emails: Missing: idx_emails_sent_at",
    ], id="dropped index"),
    pytest.param(_change("tables", "attachments", "foreign_keys", "email_id, tenant_id",
                         on_delete="RESTRICT"), [
        "fk:attachments.email_id, tenant_id: on_delete: want CASCADE, have RESTRICT",
    ], id="ON DELETE changed"),
    pytest.param(_change(*EMAILS, "columns", "sent_at", nullable=True), [
        "emails.sent_at: nullable: want false, have true",
    ], id="column made nullable"),
    pytest.param(_change(*EMAILS, "columns", "sent_at", type="timestamp without time zone"), [
        "emails.sent_at: type: want timestamp with time zone, have timestamp without time zone",
    ], id="column type changed"),
    pytest.param(_add(*EMAILS, "columns", "thread_id", like="mailbox_id"), [
        "columns of emails: Extra: thread_id",
    ], id="undeclared column"),
    pytest.param(_add(*EMAILS, "indexes", "idx_emails_subject", like="idx_emails_sender",
                      keys=["subject"]), [
        "indexes of emails: Extra: idx_emails_subject",
    ], id="undeclared index"),
    pytest.param(_change("settings", sync_schedule="0 * * * *"), [
        "setting:sync_schedule: value: want 0 6,12,18,0 * * *, have 0 * * * *",
    ], id="seeded setting changed"),
    pytest.param(_change("settings", global_retention_policy_days="2555"), [
        'setting:global_retention_policy_days: value: want 2555, have "2555"',
    ], id="seeded setting became a JSON string"),
    pytest.param(_change(*EMAILS, "columns", "sent_at", comment=None), [
        "emails.sent_at: comment: want When the message was sent (UTC instant)., have none",
    ], id="comment removed"),
    pytest.param(_change("tables", "users", "unique", "users_email_lower_key", index=["email"]), [
        "unique:users.users_email_lower_key: index: want [lower(email::text)], have [email]",
    ], id="unique rule no longer ignores case"),
    pytest.param(_change("tables", "audit_logs", "triggers", "audit_log_immutable_trigger",
                         events=["UPDATE"]), [
        "trigger:audit_logs.audit_log_immutable_trigger: events: want [UPDATE, DELETE], "
        "have [UPDATE]",
    ], id="trigger event dropped"),
    pytest.param(_change("tables", "jobs", "checks", jobs_progress_check="CHECK (progress >= 0)"), [
        "check:jobs.jobs_progress_check: definition: want CHECK (progress >= 0 AND "
        "progress <= 100), have CHECK (progress >= 0)",
    ], id="check rule changed"),
    pytest.param(_change("functions", "update_updated_at_column()", volatility="stable"), [
        "function:update_updated_at_column(): volatility: want volatile, have stable",
    ], id="function volatility changed"),
    pytest.param(_add("tables", "notes", like="settings"), [
        "tables: Extra: notes",
    ], id="undeclared table"),
    pytest.param(_change("tables", "settings", primary_key=None), [
        "pk:settings: Missing: not in the database",
    ], id="primary key dropped"),
    pytest.param(_change(*EMAILS, "triggers", "emails_tenant_id_fill_trigger", when=None), [
        "trigger:emails.emails_tenant_id_fill_trigger: when: want new.tenant_id IS NULL, "
        "have none",
    ], id="trigger condition dropped"),
    pytest.param(_change(*EMAILS, row_security=False), [
        "row_security:emails: enabled: want true, have false",
    ], id="row-level security disabled"),
    pytest.param(_change(*EMAILS, "policies", "tenant_isolation",
                         check="is_msp_wide() OR true"), [
        "policy:emails.tenant_isolation: check: want ( SELECT is_msp_wide() AS is_msp_wide) "
        "OR tenant_id = (( SELECT current_tenant_id() AS current_tenant_id)), "
        "have is_msp_wide() OR true",
    ], id="policy lets rows move to another tenant"),
    pytest.param(_change(*EMAILS, "policies", "tenant_isolation", command="SELECT"), [
        "policy:emails.tenant_isolation: command: want ALL, have SELECT",
    ], id="policy narrowed to one command"),
    pytest.param(_drop(*EMAILS, "policies", "tenant_isolation"), [
        "policy:emails.tenant_isolation: Missing: not in the database",
        "policies of emails: Missing: tenant_isolation",
    ], id="policy dropped"),
    pytest.param(_add(*EMAILS, "policies", "everyone", like="tenant_isolation",
                      using="true"), [
        "policies of emails: Extra: everyone",
    ], id="undeclared policy"),
    pytest.param(_change("tables", "audit_logs", "grants",
                         ironarchive_app=["SELECT", "INSERT", "UPDATE"]), [
        "grant:audit_logs.ironarchive_app: privileges: want [SELECT, INSERT], "
        "have [SELECT, INSERT, UPDATE]",
    ], id="audit rows made updatable by the application"),
    pytest.param(_change("tables", "settings", "grants", public=["SELECT"]), [
        "grants of settings: Extra: public",
    ], id="undeclared grant to PUBLIC"),
    pytest.param(lambda tree: _at(tree, EMAILS).update(

        columns=dict(reversed(_at(tree, EMAILS)["columns"].items()))), [
        "columns of emails: order: want [id, mailbox_id, message_id, subject, sender, "
        "recipients, sent_at, body_text, body_html, has_attachments, size_bytes, file_path, "
        "indexed_at, deleted_at, created_at, tenant_id], have [tenant_id, created_at, "
        "deleted_at, indexed_at, "
        "file_path, size_bytes, has_attachments, body_html, body_text, sent_at, recipients, "
        "sender, subject, message_id, mailbox_id, id]",
    ], id="columns reordered"),
]


@pytest.mark.parametrize("breakage, expected", BREAKAGES)
def test_breakage_is_reported_exactly(breakage, expected):
    database = copy.deepcopy(CONTRACT)
    breakage(database)
    reported = [line for check in declared(CONTRACT) + both_ways(CONTRACT)
                for line in check.problems(CONTRACT, database)]
    assert sorted(reported) == sorted(expected)


@pytest.mark.parametrize("acl, owner, expected", [
    pytest.param(None, "migrator", {}, id="never granted"),
    pytest.param(["migrator=arwdDxt/migrator"], "migrator", {}, id="the owner's own"),
    pytest.param(["migrator=arwdDxt/migrator", "ironarchive_app=arwd/migrator",
                  "=r/migrator"], "migrator",
                 {"ironarchive_app": ["SELECT", "INSERT", "UPDATE", "DELETE"],
                  "public": ["SELECT"]}, id="a role and PUBLIC"),
    pytest.param(['"odd role"=r*/migrator'], "migrator",
                 {"odd role": ["SELECT WITH GRANT OPTION"]}, id="quoted, with grant option"),
])
def test_table_privileges_read_as_the_contract_states_them(acl, owner, expected):
    assert grants(acl, owner) == expected


@pytest.mark.parametrize("relation, expected", [
    pytest.param({"kind": "r", "row_security": True, "force_row_security": False}, [],
                 id="enabled: stated by the contract"),
    pytest.param({"kind": "r", "row_security": True, "force_row_security": True},
                 ["row-level security forced on the owner of t"], id="forced: not expressible"),
])
def test_only_forced_row_level_security_is_unstated(relation, expected):
    snapshot = {section: {} for section in ("schemas", "types", "policies", "constraints",
                                            "indexes", "triggers")}
    snapshot["relations"] = {"t": {**relation, "comment": None, "owner": "o", "acl": None}}
    assert unstated(snapshot) == expected


def test_schema_diff_speaks_the_contracts_format():
    """What ``make schema-diff`` prints can be pasted into the contract."""
    database = copy.deepcopy(CONTRACT)
    _change(*EMAILS, "columns", "sent_at", type="timestamp without time zone")(database)
    _add(*EMAILS, "columns", "thread_id", like="mailbox_id", nullable=True,
         comment="Conversation the message belongs to.")(database)
    _drop(*EMAILS, "indexes", "idx_emails_sent_at")(database)
    assert report(CONTRACT, database, []) == (
        "# Add: in the database, not in the contract\n"
        "tables:\n"
        "  emails:\n"
        "    columns:\n"
        "      thread_id:\n"
        "        type: uuid\n"
        "        nullable: true\n"
        "        comment: Conversation the message belongs to.\n"
        "\n"
        "# Change: the database's value (the contract's after '# contract:')\n"
        "tables:\n"
        "  emails:\n"
        "    columns:\n"
        "      sent_at:\n"
        "        type: timestamp without time zone  # contract: timestamp with time zone\n"
        "\n"
        "# Remove: in the contract, not in the database\n"
        "tables:\n"
        "  emails:\n"
        "    indexes:\n"
        "      idx_emails_sent_at: {keys: [sent_at DESC]}\n"
    )


def test_no_difference_means_an_empty_report():
    assert report(CONTRACT, copy.deepcopy(CONTRACT), []) == ""


def test_the_whole_database_written_as_a_contract_reads_back_the_same(catalog_as_contract):
    read_back = load_text(render(catalog_as_contract))
    # People's statements are no catalog fact: the catalog's contract reads back without any.
    statements = {key: read_back.pop(key) for key in STATEMENTS}
    assert statements == dict.fromkeys(STATEMENTS, {})
    assert same(read_back, catalog_as_contract)


HEAD = "version: 1\nextensions: {}\nfunctions: {}\nsettings: {}\n"


@pytest.mark.parametrize("text, message", [
    pytest.param("version: 1\nversion: 2\n", "line 2: 'version' is stated twice",
                 id="key stated twice"),
    pytest.param(HEAD, "contract: 'tables' is required", id="section left out"),
    pytest.param(HEAD + "tables: {t: {comment: c, columns: {c: {type: int, nulable: true, "
                 "comment: c}}}}\n",
                 "contract.tables.t.columns.c: unknown 'nulable'", id="misspelt fact"),
    pytest.param(HEAD + "tables: {t: {comment: c, columns: {c: {type: boolean, nullable: false, "
                 "default: false, comment: c}}}}\n",
                 "contract.tables.t.columns.c.default: want text or null, got False (quote it",
                 id="default not quoted"),
    pytest.param(HEAD + "tables: {t: {comment: c, columns: {}, foreign_keys: {c: {name: n, "
                 "references: t(id), on_delete: CASCADES, on_update: NO ACTION}}}}\n",
                 "contract.tables.t.foreign_keys.c.on_delete: want one of NO ACTION, RESTRICT, "
                 "CASCADE", id="no such ON DELETE action"),
    pytest.param(HEAD + "tables: {t: {comment: c, columns: {}, unique: {u: {constraint: [a], "
                 "index: [b]}}}}\n",
                 "contract.tables.t.unique.u: state exactly one of 'constraint'",
                 id="unique rule of two kinds"),
])
def test_a_malformed_contract_is_refused_with_its_place(text, message):
    with pytest.raises(ContractError) as raised:
        load_text(text)
    assert message in str(raised.value)
