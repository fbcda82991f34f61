"""Task 3 and D3: what deleting a row does to the rows that reference it.

Two views. Per foreign key (read from the catalog, so a new one is a new test): a parent and
one child; deleting the parent removes the child (CASCADE) or clears its column and nothing
else (SET NULL), as the story says. Per business deletion (a tenant, a mailbox, an e-mail, a
user): in a small archive of two tenants, exactly the named rows go, the named columns become
NULL, and every other row of every table stays as it was.
"""

import pytest
from psycopg import sql

from ironarchive_schema.catalog import pg_catalog

from . import rows
from .outcomes import ACCEPTED, attempt_to, describe, outcome

#: ON DELETE of each foreign key: the story's Task 3 and "Foreign Key Cascade Rules", D3.
ON_DELETE = {
    "users.users_tenant_id_fkey": "CASCADE",
    "mailboxes.mailboxes_tenant_id_fkey": "CASCADE",
    # Issue 8: composite, so an e-mail (attachment) has its mailbox's (e-mail's) tenant.
    "emails.emails_mailbox_id_tenant_id_fkey": "CASCADE",
    "attachments.attachments_email_id_tenant_id_fkey": "CASCADE",
    "jobs.jobs_tenant_id_fkey": "CASCADE",
    # D14: composite, so a job's mailbox is of the job's tenant.
    "jobs.jobs_mailbox_id_tenant_id_fkey": "CASCADE",
    "jobs.jobs_user_id_fkey": "SET NULL",
    "audit_logs.audit_logs_user_id_fkey": "SET NULL",
}


def _reference(foreign_key, parent: dict) -> dict:
    """The child's key columns, pointing at ``parent`` (several for a composite key)."""
    return {column: parent[ref_column] for column, ref_column
            in zip(foreign_key["columns"], foreign_key["ref_columns"], strict=True)}


def _parent_and_child(db, foreign_key) -> tuple[dict, dict]:
    parent = rows.new(db, foreign_key["ref_table"])
    child = rows.new(db, foreign_key["table"], **_reference(foreign_key, parent))
    return parent, child


def test_deleting_the_parent_removes_or_keeps_the_child(db, catalog_snapshot, foreign_key):
    action = ON_DELETE.get(foreign_key["key"])
    assert action, f"foreign key {foreign_key['key']} has no expectation in ON_DELETE"
    parent, child = _parent_and_child(db, foreign_key)
    keys = rows.primary_keys(catalog_snapshot)
    parent_table, child_table = foreign_key["ref_table"], foreign_key["table"]
    before = rows.all_rows(db, catalog_snapshot)
    (parent_key,), (child_key,) = keys[parent_table], keys[child_table]
    deleted = outcome(db, sql.SQL("DELETE FROM {} WHERE {} = %s").format(
        sql.Identifier(parent_table), sql.Identifier(parent_key)), (parent[parent_key],))
    assert deleted == ACCEPTED, f"{foreign_key['key']}: deleting the parent: {deleted}"

    want = {table: dict(table_rows) for table, table_rows in before.items()}
    del want[parent_table][parent[parent_key]]
    if action == "CASCADE":
        del want[child_table][child[child_key]]
    else:
        want[child_table][child[child_key]] = {**child, foreign_key["columns"][0]: None}
    names = {parent[parent_key]: f"parent {parent_table}", child[child_key]: f"child {child_table}"}
    assert rows.differences(want, rows.all_rows(db, catalog_snapshot), names) == [], \
        f"{foreign_key['key']}: deleting the parent must {action} the child, nothing else"


def test_a_child_needs_an_existing_parent(db, foreign_key):
    """The reference is enforced: a value no parent has is 23503 naming the foreign key."""
    ref_column = foreign_key["ref_columns"][0]
    parent = rows.new(db, foreign_key["ref_table"])
    db.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
        sql.Identifier(foreign_key["ref_table"]), sql.Identifier(ref_column)),
        (parent[ref_column],))
    error = attempt_to(db, lambda: rows.new(db, foreign_key["table"],
                                            **_reference(foreign_key, parent)))
    constraint = pg_catalog.member(foreign_key["key"], foreign_key)
    assert describe(error) == f"23503 {constraint}"


# --- business deletions in a small archive ---------------------------------------------------

def build_archive(db) -> dict[str, tuple[str, object]]:
    """Two tenants with users, mailboxes, e-mails, attachments, jobs and audit rows, an MSP
    admin, and cross-links that make SET NULL visible: ``{label: (table, id)}``."""
    made: dict[str, tuple[str, dict]] = {}

    def add(label, table, **values):
        made[label] = (table, rows.new(db, table, **values))
        return made[label][1]["id"]

    for t in ("a", "b"):
        tenant = add(f"tenant_{t}", "tenants")
        add(f"admin_{t}", "users", tenant_id=tenant, role="TENANT_ADMIN")
        add(f"user_{t}", "users", tenant_id=tenant)
        for m in ("1", "2"):
            mailbox = add(f"mailbox_{t}{m}", "mailboxes", tenant_id=tenant)
            for e in ("x", "y"):
                email = add(f"email_{t}{m}{e}", "emails", mailbox_id=mailbox)
                add(f"attachment_{t}{m}{e}", "attachments", email_id=email)
        add(f"job_sync_tenant_{t}", "jobs", type="SYNC_TENANT", tenant_id=tenant,
            user_id=made[f"admin_{t}"][1]["id"])
        add(f"job_sync_mailbox_{t}1", "jobs", type="SYNC_MAILBOX", tenant_id=tenant,
            mailbox_id=made[f"mailbox_{t}1"][1]["id"], user_id=made[f"user_{t}"][1]["id"])
        for who in ("admin", "user"):
            add(f"audit_{who}_{t}", "audit_logs", user_id=made[f"{who}_{t}"][1]["id"])
    add("msp_admin", "users")
    add("audit_msp_admin", "audit_logs", user_id=made["msp_admin"][1]["id"])
    add("audit_system", "audit_logs")
    add("job_sync_all", "jobs", user_id=made["msp_admin"][1]["id"])
    # A tenant's export started by the MSP admin: SET NULL, not CASCADE, on his delete.
    add("job_export_a_by_msp_admin", "jobs", type="EXPORT", tenant_id=made["tenant_a"][1]["id"],
        user_id=made["msp_admin"][1]["id"])
    return {label: (table, row["id"]) for label, (table, row) in made.items()}


def _tenant_rows(t: str) -> set[str]:
    return {f"tenant_{t}", f"admin_{t}", f"user_{t}", f"mailbox_{t}1", f"mailbox_{t}2",
            f"job_sync_tenant_{t}", f"job_sync_mailbox_{t}1",
            *_mailbox_rows(f"{t}1"), *_mailbox_rows(f"{t}2")}


def _mailbox_rows(m: str) -> set[str]:
    return {f"mailbox_{m}", *_email_rows(f"{m}x"), *_email_rows(f"{m}y")}


def _email_rows(e: str) -> set[str]:
    return {f"email_{e}", f"attachment_{e}"}


#: (deleted row, rows removed with it, (row, column) pairs that become NULL).
DELETIONS = [
    pytest.param("tenant_a", _tenant_rows("a") | {"job_export_a_by_msp_admin"},
                 {("audit_admin_a", "user_id"), ("audit_user_a", "user_id")}, id="tenant"),
    pytest.param("mailbox_a1", _mailbox_rows("a1") | {"job_sync_mailbox_a1"}, set(),
                 id="mailbox"),
    pytest.param("email_a1x", _email_rows("a1x"), set(), id="email"),
    pytest.param("user_a", {"user_a"},
                 {("audit_user_a", "user_id"), ("job_sync_mailbox_a1", "user_id")}, id="user"),
    pytest.param("admin_a", {"admin_a"},
                 {("audit_admin_a", "user_id"), ("job_sync_tenant_a", "user_id")},
                 id="tenant-admin"),
    pytest.param("msp_admin", {"msp_admin"},
                 {("audit_msp_admin", "user_id"), ("job_sync_all", "user_id"),
                  ("job_export_a_by_msp_admin", "user_id")}, id="msp-admin"),
]


@pytest.mark.parametrize(("deleted", "removed", "nulled"), DELETIONS)
def test_deleting_removes_and_keeps_exactly_what_the_story_says(db, catalog_snapshot, deleted,
                                                                removed, nulled):
    archive = build_archive(db)
    unknown = (removed | {label for label, _ in nulled}) - archive.keys()
    assert deleted in removed and not unknown, f"labels not in the archive: {unknown}"
    before = rows.all_rows(db, catalog_snapshot)
    table, key = archive[deleted]
    answer = outcome(db, sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)),
                     (key,))
    assert answer == ACCEPTED, f"deleting {deleted}: {answer}"

    want = {t: dict(table_rows) for t, table_rows in before.items()}
    for label in removed:
        t, k = archive[label]
        del want[t][k]
    for label, column in nulled:
        t, k = archive[label]
        want[t][k] = {**want[t][k], column: None}
    names = {k: label for label, (_, k) in archive.items()}
    assert rows.differences(want, rows.all_rows(db, catalog_snapshot), names) == []
