"""Valid rows for every table, and whole tables read back to compare before and after.

A factory takes column values as keywords, fills the rest with valid values, and creates the
parent rows it needs unless they are given, so a test states only what matters to it.
Values that must be unique are unique per call, so a factory can run many times in one
transaction. A table without a factory is an error that names it: a new table needs one.
"""

import uuid

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

#: The story's key in its pgp_sym_encrypt example (the application reads it from config).
SECRET_KEY = "encryption_key_from_config"


def insert(db: psycopg.Connection, table: str, **values) -> dict:
    """INSERT one row and return it whole; a value may be SQL (``sql.Composable``)."""
    placeholders = [v if isinstance(v, sql.Composable) else sql.Placeholder()
                    for v in values.values()]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(placeholders))
    params = [v for v in values.values() if not isinstance(v, sql.Composable)]
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def encrypted(secret: str, key: str = SECRET_KEY) -> sql.Composable:
    """The story's way to store a secret: ``pgp_sym_encrypt(secret, key)``."""
    return sql.SQL("pgp_sym_encrypt({}, {})").format(sql.Literal(secret), sql.Literal(key))


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def tenant(db, **values) -> dict:
    tag = _tag()
    return insert(db, "tenants", **{
        "name": f"Tenant {tag}", "azure_tenant_id": uuid.uuid4(), "azure_app_id": uuid.uuid4(),
        "azure_app_secret": encrypted(f"secret-{tag}"), "whitelabel_config": Jsonb({"logo": tag}),
        **values})


def user(db, **values) -> dict:
    """An MSP admin without ``tenant_id``, else a USER of that tenant (D4)."""
    tag = _tag()
    role = "MSP_ADMIN" if values.get("tenant_id") is None else "USER"
    return insert(db, "users", **{
        "email": f"user-{tag}@example.test", "password_hash": f"$2b$12${tag}",
        "display_name": f"User {tag}", "role": role, **values})


def mailbox(db, **values) -> dict:
    if "tenant_id" not in values:
        values["tenant_id"] = tenant(db)["id"]
    tag = _tag()
    return insert(db, "mailboxes", **{
        "email_address": f"mailbox-{tag}@example.test", "display_name": f"Mailbox {tag}",
        "mailbox_type": "USER", **values})


def email(db, **values) -> dict:
    if "mailbox_id" not in values:
        values["mailbox_id"] = mailbox(db)["id"]
    tag = _tag()
    return insert(db, "emails", **{
        "message_id": f"AAMk-{tag}", "subject": f"Subject {tag}", "sender": "a@example.test",
        "recipients": ["b@example.test"], "sent_at": "2026-01-02T03:04:05Z",
        "size_bytes": 1234, "file_path": f"/data/emails/{tag}.json", **values})


def attachment(db, **values) -> dict:
    if "email_id" not in values:
        values["email_id"] = email(db)["id"]
    digest = uuid.uuid4().hex * 2
    return insert(db, "attachments", **{
        "filename": "report.pdf", "content_type": "application/pdf", "size_bytes": 42,
        "sha256_hash": digest, "file_path": f"/data/attachments/{digest[:2]}/{digest}.bin",
        **values})


def job(db, **values) -> dict:
    """A queued SYNC_ALL job without tenant, mailbox or user, unless given."""
    return insert(db, "jobs", **{"type": "SYNC_ALL", "status": "QUEUED",
                                 "metadata": Jsonb({"n": 1}), **values})


def audit_log(db, **values) -> dict:
    """A system action (no user) unless ``user_id`` is given."""
    return insert(db, "audit_logs", **{"action": "LOGIN", "ip_address": "192.0.2.1",
                                       "details": Jsonb({"ok": True}), **values})


def setting(db, **values) -> dict:
    return insert(db, "settings", **{"key": f"test_setting_{_tag()}",
                                     "value": Jsonb({"on": True}), **values})


def audit_log_chain_head(db, **values) -> dict:
    """A chain's head as the seal writes it (D20); a chain of its own unless named."""
    return insert(db, "audit_log_chain_heads", **{
        "chain_id": uuid.uuid4(), "seq": 0, "chain_hash": bytes(32), **values})


def audit_log_seal(db, **values) -> dict:
    """A chain link as the seal writes it (D20), of a chain of its own unless named."""
    return insert(db, "audit_log_seals", **{
        "audit_log_id": uuid.uuid4(), "chain_id": uuid.uuid4(), "seq": 1,
        "chain_hash": bytes(32), **values})


FACTORIES = {"tenants": tenant, "users": user, "mailboxes": mailbox, "emails": email,
             "attachments": attachment, "jobs": job, "audit_logs": audit_log,
             "settings": setting, "audit_log_chain_heads": audit_log_chain_head,
             "audit_log_seals": audit_log_seal}


def new(db, table: str, **values) -> dict:
    """A valid row of ``table`` (any table of the schema)."""
    if table not in FACTORIES:
        raise AssertionError(f"table {table} has no row factory: add one to "
                             f"tests/behaviour/rows.py")
    return FACTORIES[table](db, **values)


# --- whole tables --------------------------------------------------------------------------

def primary_keys(snapshot: dict) -> dict[str, list[str]]:
    """Each base table's primary-key columns, from a catalog snapshot."""
    keys = {con["table"]: con["columns"] for con in snapshot["constraints"].values()
            if con["type"] == "p"}
    missing = [t for t, rel in snapshot["relations"].items() if rel["kind"] == "r"
               and t not in keys]
    assert not missing, f"tables without a primary key cannot be compared by row: {missing}"
    return keys


def key_of(row: dict, columns: list[str]):
    return row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)


def table_rows(db, table: str, key_columns: list[str]) -> dict:
    """Every row of ``table``: ``{primary key: whole row}``."""
    with db.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
        return {key_of(row, key_columns): row for row in cur.fetchall()}


def all_rows(db, snapshot: dict) -> dict[str, dict]:
    """Every row of every base table: ``{table: {primary key: whole row}}``."""
    return {table: table_rows(db, table, columns)
            for table, columns in sorted(primary_keys(snapshot).items())}


def read(db, table: str, column: str, value) -> dict | None:
    """The whole row of ``table`` where ``column = value`` (None if there is none)."""
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("SELECT * FROM {} WHERE {} = %s").format(
            sql.Identifier(table), sql.Identifier(column)), (value,)).fetchone()


def differences(want: dict[str, dict], have: dict[str, dict], names: dict | None = None
                ) -> list[str]:
    """Readable differences between two ``all_rows`` results, table by table.

    ``names`` maps a primary key to a label (``email_a1``) used instead of the raw key.
    """
    names = names or {}
    lines = []
    for table in sorted(want.keys() | have.keys()):
        a, b = want.get(table, {}), have.get(table, {})
        if a == b:
            continue
        lines.append(f"{table}: want {len(a)} rows, have {len(b)}")
        for key in a.keys() - b.keys():
            lines.append(f"  missing {names.get(key, key)}")
        for key in b.keys() - a.keys():
            lines.append(f"  unexpected {names.get(key, key)}")
        for key in a.keys() & b.keys():
            for column in a[key]:
                if a[key][column] != b[key].get(column):
                    lines.append(f"  {names.get(key, key)}.{column}: want {a[key][column]!r}, "
                                 f"have {b[key].get(column)!r}")
    return lines
