"""The contract checks themselves: they fail when they should, and say precisely why.

Each breakage is made to a copy of a small sample contract (samples/contract.yaml), standing
in for a database that matched it; every check of the contract then runs against it, and the
lines reported must be exactly the expected ones: the object named, want and have, and no
noise from unrelated checks. No database is involved: the checks compare two trees.
"""

import copy
from pathlib import Path

import pytest

from ironarchive_schema.contract.checks import both_ways, declared
from ironarchive_schema.contract.diff import report
from ironarchive_schema.contract.from_catalog import grants, unstated
from ironarchive_schema.contract.load import ContractError, load, load_text

SAMPLE = Path(__file__).parent / "samples" / "contract.yaml"
try:
    CONTRACT = load(SAMPLE)
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


TASKS = ("tables", "tasks")

BREAKAGES = [
    pytest.param(_drop(*TASKS, "indexes", "idx_tasks_due_at"), [
        "index:idx_tasks_due_at: Missing: not in the database",
        "indexes of tasks: Missing: idx_tasks_due_at",
    ], id="dropped index"),
    pytest.param(_change(*TASKS, "foreign_keys", "project_id, account_id",
                         on_delete="RESTRICT"), [
        "fk:tasks.project_id, account_id: on_delete: want CASCADE, have RESTRICT",
    ], id="ON DELETE changed"),
    pytest.param(_change(*TASKS, "columns", "title", nullable=True), [
        "tasks.title: nullable: want false, have true",
    ], id="column made nullable"),
    pytest.param(_change(*TASKS, "columns", "due_at", type="timestamp without time zone"), [
        "tasks.due_at: type: want timestamp with time zone, have timestamp without time zone",
    ], id="column type changed"),
    pytest.param(_add(*TASKS, "columns", "assignee_id", like="project_id"), [
        "columns of tasks: Extra: assignee_id",
    ], id="undeclared column"),
    pytest.param(_add(*TASKS, "indexes", "idx_tasks_title", like="idx_tasks_project_id",
                      keys=["title"]), [
        "indexes of tasks: Extra: idx_tasks_title",
    ], id="undeclared index"),
    pytest.param(_change("settings", cleanup_schedule="0 * * * *"), [
        "setting:cleanup_schedule: value: want 0 3 * * *, have 0 * * * *",
    ], id="seeded setting changed"),
    pytest.param(_change("settings", max_tasks_per_project="500"), [
        'setting:max_tasks_per_project: value: want 500, have "500"',
    ], id="seeded setting became a JSON string"),
    pytest.param(_change(*TASKS, "columns", "due_at", comment=None), [
        "tasks.due_at: comment: want When the task is due; NULL if it has no deadline., "
        "have none",
    ], id="comment removed"),
    pytest.param(_change("tables", "accounts", "unique", "accounts_name_lower_key",
                         index=["name"]), [
        "unique:accounts.accounts_name_lower_key: index: want [lower(name::text)], have [name]",
    ], id="unique rule no longer ignores case"),
    pytest.param(_change("tables", "projects", "triggers", "projects_archived_guard_trigger",
                         events=["UPDATE"]), [
        "trigger:projects.projects_archived_guard_trigger: events: want [UPDATE, DELETE], "
        "have [UPDATE]",
    ], id="trigger event dropped"),
    pytest.param(_change(*TASKS, "checks", tasks_priority_check="CHECK (priority >= 1)"), [
        "check:tasks.tasks_priority_check: definition: want CHECK (priority >= 1 AND "
        "priority <= 5), have CHECK (priority >= 1)",
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
    pytest.param(_change(*TASKS, "triggers", "tasks_account_id_fill_trigger", when=None), [
        "trigger:tasks.tasks_account_id_fill_trigger: when: want new.account_id IS NULL, "
        "have none",
    ], id="trigger condition dropped"),
    pytest.param(_change(*TASKS, row_security=False), [
        "row_security:tasks: enabled: want true, have false",
    ], id="row-level security disabled"),
    pytest.param(_change(*TASKS, "policies", "account_isolation", check="true"), [
        "policy:tasks.account_isolation: check: want (account_id = "
        "(current_setting('app.account_id'::text))::uuid), have true",
    ], id="policy check loosened"),
    pytest.param(_change(*TASKS, "policies", "account_isolation", command="SELECT"), [
        "policy:tasks.account_isolation: command: want ALL, have SELECT",
    ], id="policy narrowed to one command"),
    pytest.param(_drop(*TASKS, "policies", "account_isolation"), [
        "policy:tasks.account_isolation: Missing: not in the database",
        "policies of tasks: Missing: account_isolation",
    ], id="policy dropped"),
    pytest.param(_add(*TASKS, "policies", "everyone", like="account_isolation",
                      using="true"), [
        "policies of tasks: Extra: everyone",
    ], id="undeclared policy"),
    pytest.param(_change("tables", "accounts", "grants",
                         app_user=["SELECT", "INSERT", "UPDATE"]), [
        "grant:accounts.app_user: privileges: want [SELECT, INSERT], "
        "have [SELECT, INSERT, UPDATE]",
    ], id="accounts made updatable by the application role"),
    pytest.param(_change("tables", "settings", "grants", public=["SELECT"]), [
        "grants of settings: Extra: public",
    ], id="undeclared grant to PUBLIC"),
    pytest.param(lambda tree: _at(tree, TASKS).update(
        columns=dict(reversed(_at(tree, TASKS)["columns"].items()))), [
        "columns of tasks: order: want [id, project_id, account_id, title, priority, due_at, "
        "updated_at], have [updated_at, due_at, priority, title, account_id, project_id, id]",
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
    pytest.param(["migrator=arwdDxt/migrator", "app_user=arwd/migrator",
                  "=r/migrator"], "migrator",
                 {"app_user": ["SELECT", "INSERT", "UPDATE", "DELETE"],
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
    _change(*TASKS, "columns", "due_at", type="timestamp without time zone")(database)
    _add(*TASKS, "columns", "assignee_id", like="project_id", nullable=True,
         comment="Account the task is assigned to.")(database)
    _drop(*TASKS, "indexes", "idx_tasks_due_at")(database)
    assert report(CONTRACT, database, []) == (
        "# Add: in the database, not in the contract\n"
        "tables:\n"
        "  tasks:\n"
        "    columns:\n"
        "      assignee_id:\n"
        "        type: uuid\n"
        "        nullable: true\n"
        "        comment: Account the task is assigned to.\n"
        "\n"
        "# Change: the database's value (the contract's after '# contract:')\n"
        "tables:\n"
        "  tasks:\n"
        "    columns:\n"
        "      due_at:\n"
        "        type: timestamp without time zone  # contract: timestamp with time zone\n"
        "\n"
        "# Remove: in the contract, not in the database\n"
        "tables:\n"
        "  tasks:\n"
        "    indexes:\n"
        "      idx_tasks_due_at: {keys: [due_at DESC]}\n"
    )


def test_no_difference_means_an_empty_report():
    assert report(CONTRACT, copy.deepcopy(CONTRACT), []) == ""


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
