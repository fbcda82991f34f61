"""Issue 8: sessions of the application's role in a tenant context, and a small archive of
several tenants whose every row's tenant is known (the oracle the isolation tests compare to).

The ``db`` connection is a superuser, the owner of every table, which row-level security does
not restrict (ENABLE, not FORCE): rows are made and checked through it. ``session`` switches
to ``ironarchive_app`` for one savepoint, as the application would connect, and names the
tenant the way the application must: ``SELECT set_tenant(%s)`` (or ``set_msp_wide()``) inside
the transaction (migration 000003, D17).
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from . import rows

APP_ROLE = "ironarchive_app"

#: Each tenant-scoped table and the column naming its tenant.
TENANT_COLUMN = {"tenants": "id", "users": "tenant_id", "mailboxes": "tenant_id",
                 "emails": "tenant_id", "attachments": "tenant_id", "jobs": "tenant_id",
                 "audit_logs": "tenant_id"}
#: A column each table lets the application change without meaning anything (for UPDATEs).
HARMLESS = {"tenants": ("name", "renamed"), "users": ("display_name", "renamed"),
            "mailboxes": ("display_name", "renamed"), "emails": ("subject", "renamed"),
            "attachments": ("filename", "renamed.pdf"), "jobs": ("progress", 99),
            "audit_logs": ("action", "TAMPERED")}
#: What the application may not do at all (privileges, before any policy): D3.
APPEND_ONLY = {"audit_logs"}


@contextmanager
def session(db: psycopg.Connection, tenant=None, msp_wide: bool = False):
    """The application's role for one savepoint, bound to ``tenant`` (or MSP-wide, or to
    nothing); everything done inside is rolled back with the savepoint."""
    with db.transaction(force_rollback=True):
        db.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(APP_ROLE)))
        if tenant is not None:
            db.execute("SELECT set_tenant(%s)", (tenant,))
        if msp_wide:
            db.execute("SELECT set_msp_wide()")
        yield


def visible(db: psycopg.Connection, table: str) -> set:
    return {row[0] for row in db.execute(
        sql.SQL("SELECT id FROM {}").format(sql.Identifier(table))).fetchall()}


@dataclass
class Archive:
    """Rows made, as ``{table: {id: tenant id or None (MSP-level)}}``, and per tenant one row
    of each parent table to hang new rows on."""
    owner: dict = field(default_factory=lambda: {table: {} for table in TENANT_COLUMN})
    parents: dict = field(default_factory=dict)

    def add(self, table: str, row: dict, tenant) -> dict:
        self.owner[table][row["id"]] = tenant
        return row

    def of(self, table: str, tenant) -> set:
        return {key for key, owner in self.owner[table].items() if owner == tenant}

    def everything(self, table: str) -> set:
        return set(self.owner[table])

    def tenants(self) -> list:
        return list(self.owner["tenants"])


@dataclass(frozen=True)
class Shape:
    """How much of each kind one tenant has (drawn by Hypothesis in the property tests)."""
    users: int = 1
    mailboxes: tuple[tuple[int, ...], ...] = ((1,),)  # per mailbox, per e-mail: attachments
    jobs: int = 1
    audit_rows: int = 1


def build(db: psycopg.Connection, shapes: list[Shape], msp_rows: bool = True) -> Archive:
    """Tenants of the given shapes, plus an MSP admin, an MSP-level job and audit row."""
    archive = Archive()
    for shape in shapes:
        tenant = archive.add("tenants", rows.tenant(db), None)["id"]
        archive.owner["tenants"][tenant] = tenant
        users = [archive.add("users", rows.user(db, tenant_id=tenant), tenant)["id"]
                 for _ in range(shape.users)]
        mailboxes = []
        for emails in shape.mailboxes:
            mailbox = archive.add("mailboxes", rows.mailbox(db, tenant_id=tenant), tenant)["id"]
            mailboxes.append(mailbox)
            for attachments in emails:
                email = archive.add("emails", rows.email(db, mailbox_id=mailbox), tenant)["id"]
                for _ in range(attachments):
                    archive.add("attachments", rows.attachment(db, email_id=email), tenant)
        for number in range(shape.jobs):
            mailbox = mailboxes[number % len(mailboxes)] if mailboxes else None
            archive.add("jobs", rows.job(db, type="SYNC_TENANT", tenant_id=tenant,
                                         mailbox_id=mailbox), tenant)
        for number in range(shape.audit_rows):
            # Alternately by a user of the tenant and by the system in the tenant's name.
            user = users[number % len(users)] if users and number % 2 == 0 else None
            archive.add("audit_logs", rows.audit_log(db, user_id=user, tenant_id=tenant), tenant)
        archive.parents[tenant] = {"users": users, "mailboxes": mailboxes}
    if msp_rows:
        admin = archive.add("users", rows.user(db), None)["id"]
        archive.add("jobs", rows.job(db), None)
        archive.add("audit_logs", rows.audit_log(db, user_id=admin), None)
    return archive


def new_row(db: psycopg.Connection, table: str, tenant, archive: Archive) -> dict:
    """A new row of ``table`` belonging to ``tenant``, its parents taken from ``archive``
    (made as needed, through the owner, before the caller switches role)."""
    if table == "tenants":
        return {"id": tenant}  # the tenant itself: inserting "a row of tenant B" is B
    if table in ("users", "jobs", "mailboxes"):
        return {"tenant_id": tenant}
    if table == "emails":
        return {"mailbox_id": archive.parents[tenant]["mailboxes"][0]}
    if table == "attachments":
        return {"email_id": next(iter(archive.of("emails", tenant)))}
    return {"user_id": archive.parents[tenant]["users"][0]}  # audit_logs
