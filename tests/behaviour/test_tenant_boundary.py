"""Issue 18 (D14-D17): the tenant boundary where row-level security does not look.

Foreign-key and unique checks bypass policies (F10, F13, F14), and a session-level setting
outlives its transaction on a pooled connection (F15). In tenant A's context, each of those
channels must answer exactly as if tenant B did not exist; and the schema itself, not only
the policies, keeps references inside a tenant.
"""

import re
import uuid

import psycopg
import pytest
from psycopg import sql

from ironarchive_schema.migrate.command import MigrateError
from ironarchive_schema.postgres import admin

from . import rows
from .outcomes import ACCEPTED, attempt_to, describe, outcome
from .tenancy import APP_ROLE, session

#: Each reference between tenant-scoped rows: (table, column, parent table, foreign key,
#: other values the row needs to be valid in tenant A).
REFERENCES = {
    "jobs.mailbox_id": ("jobs", "mailbox_id", "mailboxes", "jobs_mailbox_id_tenant_id_fkey",
                        {"type": "SYNC_MAILBOX"}),
    "jobs.user_id": ("jobs", "user_id", "users", "jobs_user_id_fkey", {"type": "EXPORT"}),
    "audit_logs.user_id": ("audit_logs", "user_id", "users", "audit_logs_user_id_fkey", {}),
    "emails.mailbox_id": ("emails", "mailbox_id", "mailboxes",
                          "emails_mailbox_id_tenant_id_fkey", {}),
    "attachments.email_id": ("attachments", "email_id", "emails",
                             "attachments_email_id_tenant_id_fkey", {}),
}
#: Tables whose rows name their tenant themselves; the others get it from their parent.
NAMES_ITS_TENANT = {"jobs"}
#: Tables with a trigger filling tenant_id from the parent (D15).
FILLED = {"emails": "mailbox_id", "attachments": "email_id", "audit_logs": "user_id"}


@pytest.fixture
def two_tenants(db):
    """Tenants A and B, each with a user, a mailbox, an e-mail; and an MSP admin."""
    made = {}
    for name in "AB":
        tenant = rows.tenant(db)["id"]
        mailbox = rows.mailbox(db, tenant_id=tenant)["id"]
        made[name] = {"tenants": tenant, "users": rows.user(db, tenant_id=tenant)["id"],
                      "mailboxes": mailbox, "emails": rows.email(db, mailbox_id=mailbox)["id"]}
    made["msp_admin"] = rows.user(db)["id"]
    return made


def _insert(db, table: str, tenant, **values) -> str:
    """The answer to inserting a valid row of ``table`` for ``tenant`` with ``values``."""
    if table in NAMES_ITS_TENANT:
        values.setdefault("tenant_id", tenant)
    return describe(attempt_to(db, lambda: rows.new(db, table, **values)))


def _error(db, table: str, tenant, **values) -> psycopg.Error | None:
    if table in NAMES_ITS_TENANT:
        values.setdefault("tenant_id", tenant)
    return attempt_to(db, lambda: rows.new(db, table, **values))


def _shown(error: psycopg.Error | None, named: uuid.UUID) -> tuple:
    """Everything the error tells, with the id the statement itself named left out."""
    if error is None:
        return (ACCEPTED,)
    diag = error.diag
    detail = (diag.message_detail or "").replace(str(named), "<named>")
    return (diag.sqlstate, diag.constraint_name, diag.message_primary, detail)


@pytest.mark.parametrize("reference", REFERENCES)
def test_a_reference_stays_inside_the_tenant(db, two_tenants, reference):
    """In A's context, naming B's row answers exactly like naming a row that does not
    exist: 23503 naming the key, the same message; only the id the statement named differs."""
    table, column, parent, key, values = REFERENCES[reference]
    mine = two_tenants["A"]["tenants"]
    theirs, nowhere = two_tenants["B"][parent], uuid.uuid4()
    with session(db, mine):
        to_theirs = _shown(_error(db, table, mine, **values, **{column: theirs}), theirs)
        to_nowhere = _shown(_error(db, table, mine, **values, **{column: nowhere}), nowhere)
        own = _insert(db, table, mine, **values, **{column: two_tenants["A"][parent]})
    assert to_theirs == to_nowhere, f"{reference}: B's {parent} row vs none"
    assert to_theirs[:2] == ("23503", key), f"{reference}: {to_theirs}"
    assert own == ACCEPTED, f"{reference}: a row of A's own {parent}: {own}"


@pytest.mark.parametrize("reference", REFERENCES)
def test_the_schema_itself_refuses_a_cross_tenant_reference(db, two_tenants, reference):
    """As the owner (no policy applies) and in the MSP context: the key or trigger, not the
    policy, refuses a row of A that names B's row."""
    table, column, parent, key, values = REFERENCES[reference]
    mine, theirs = two_tenants["A"]["tenants"], two_tenants["B"][parent]
    as_owner = _insert(db, table, mine, tenant_id=mine, **values, **{column: theirs})
    with session(db, msp_wide=True):
        as_msp = _insert(db, table, mine, tenant_id=mine, **values, **{column: theirs})
    assert (as_owner, as_msp) == (f"23503 {key}", f"23503 {key}"), reference


@pytest.mark.parametrize("acting", ["jobs", "audit_logs"])
def test_an_msp_admin_may_act_in_any_tenant(db, two_tenants, acting):
    """D14: a job's or an audit row's user is of the row's tenant, or an MSP admin, whom the
    tenant's policy hides but the rule allows."""
    mine = two_tenants["A"]["tenants"]
    values = {"type": "EXPORT"} if acting == "jobs" else {}
    with session(db, mine):
        assert _insert(db, acting, mine, user_id=two_tenants["msp_admin"], **values) == ACCEPTED


@pytest.mark.parametrize("acting", ["jobs", "audit_logs"])
def test_a_tenant_user_is_not_an_msp_level_actor(db, two_tenants, acting):
    """An MSP-level row (tenant_id NULL) naming a tenant's user would attribute the tenant's
    user to every tenant; jobs name their tenant, audit rows get the user's."""
    user = two_tenants["A"]["users"]
    values = {"type": "SYNC_ALL"} if acting == "jobs" else {}
    with session(db, msp_wide=True):
        made = []
        answer = describe(attempt_to(db, lambda: made.append(
            rows.new(db, acting, user_id=user, **values))))
    if acting == "jobs":
        assert answer == "23503 jobs_user_id_fkey"
    else:
        assert answer == ACCEPTED
        assert made[0]["tenant_id"] == two_tenants["A"]["tenants"]


def test_a_job_naming_a_mailbox_names_its_tenant(db, two_tenants):
    """MATCH SIMPLE skips a key with a NULL column: an MSP-level job could name any mailbox."""
    with session(db, msp_wide=True):
        answer = _insert(db, "jobs", None, type="SYNC_MAILBOX", tenant_id=None,
                         mailbox_id=two_tenants["A"]["mailboxes"])
    assert answer == "23514 jobs_mailbox_id_tenant_id_check"


def test_a_user_whose_rows_are_in_its_tenant_does_not_move(db, two_tenants):
    """The other side of the user check: the MSP context moving a user would leave the
    user's jobs and audit rows in the old tenant, naming a user of the new one."""
    a, b = two_tenants["A"], two_tenants["B"]
    idle = rows.user(db, tenant_id=a["tenants"])["id"]
    rows.job(db, type="EXPORT", tenant_id=a["tenants"], user_id=a["users"])
    move = "UPDATE users SET tenant_id = %s WHERE id = %s"
    with session(db, msp_wide=True):
        assert outcome(db, move, (b["tenants"], a["users"])).startswith("23503 ")
        assert outcome(db, move, (b["tenants"], idle)) == ACCEPTED


# --- D15: a missing parent is a foreign-key violation -------------------------------------

@pytest.mark.parametrize("filled", FILLED)
@pytest.mark.parametrize("context", ["owner", "tenant", "msp"])
def test_a_missing_parent_is_a_foreign_key_violation(db, two_tenants, filled, context):
    """F13: before 000003 a missing mailbox left tenant_id NULL: 23502, not 23503."""
    table, column = filled, FILLED[filled]
    key = {"audit_logs": "audit_logs_user_id_fkey"}.get(
        table, f"{table}_{column}_tenant_id_fkey")
    values = {column: uuid.uuid4()}
    if context == "owner":
        answer = _insert(db, table, None, **values)
    else:
        with session(db, two_tenants["A"]["tenants"] if context == "tenant" else None,
                     msp_wide=context == "msp"):
            answer = _insert(db, table, None, **values)
    assert answer == f"23503 {key}", f"{table} as {context}"


# --- D16: unique rules scoped by tenant ---------------------------------------------------

def test_a_message_id_is_unique_within_its_tenant_only(db, two_tenants):
    """F14: B's message id is no concern of A's; A's own twice is."""
    a, b = two_tenants["A"], two_tenants["B"]
    taken = db.execute("SELECT message_id FROM emails WHERE id = %s",
                       (b["emails"],)).fetchone()[0]
    upsert = ("INSERT INTO emails (mailbox_id, tenant_id, message_id, sent_at, size_bytes, "
              "file_path) VALUES (%s, %s, %s, now(), 1, '/x') "
              "ON CONFLICT (tenant_id, message_id) DO NOTHING")
    with session(db, a["tenants"]):
        first = _insert(db, "emails", None, mailbox_id=a["mailboxes"], message_id=taken)
        again = _insert(db, "emails", None, mailbox_id=a["mailboxes"], message_id=taken)
        upserted = db.execute(upsert, (a["mailboxes"], a["tenants"], f"{taken}-new")).rowcount
        upserted_again = db.execute(upsert, (a["mailboxes"], a["tenants"], taken)).rowcount
    assert (first, again) == (ACCEPTED, "23505 emails_tenant_id_message_id_key")
    assert (upserted, upserted_again) == (1, 0)


@pytest.mark.parametrize("context, want", [
    ("tenant", "42501 only the MSP context can change tenants.azure_tenant_id"),
    ("msp", ACCEPTED)])
def test_only_the_msp_context_changes_an_azure_tenant_id(db, two_tenants, context, want):
    """Whatever value a tenant context names, B's or a fresh one, the answer is the same."""
    a, b = two_tenants["A"]["tenants"], two_tenants["B"]["tenants"]
    b_azure = db.execute("SELECT azure_tenant_id FROM tenants WHERE id = %s", (b,)).fetchone()[0]
    update = "UPDATE tenants SET azure_tenant_id = %s WHERE id = %s"
    with session(db, a if context == "tenant" else None, msp_wide=context == "msp"):
        fresh = outcome(db, update, (uuid.uuid4(), a))
        taken = outcome(db, update, (b_azure, a))
    assert fresh == want
    assert taken == (want if context == "tenant" else "23505 tenants_azure_tenant_id_key")


# --- D17: a context lasts one transaction -------------------------------------------------

@pytest.fixture(scope="module")
def pooled(admin_url, template_name):
    """A committed archive of tenants A and B, and a connection as a pool would keep it: the
    application's role for the whole session, transactions begun and ended by the test."""
    with admin.temporary(admin_url, "pooled", template_name) as url:
        with admin.connect(url) as owner:
            tenants = [rows.tenant(owner)["id"] for _ in "AB"]
            for tenant in tenants:
                rows.mailbox(owner, tenant_id=tenant)
            owner.commit()
        with admin.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
            yield conn, tenants


def _visible_tenants(conn) -> list:
    with conn.transaction():
        return [row[0] for row in conn.execute("SELECT tenant_id FROM mailboxes")]


#: Ways a context can be left on a connection, each run in autocommit (its own transaction
#: or the session), before the next transaction, which names no tenant.
LEFT_BEHIND = {
    "000002's session-level SET": "SET app.tenant_id = '{A}'",
    "000002's session-level set_config": "SELECT set_config('app.tenant_id', '{A}', false)",
    "000002's session-level SET msp_wide": "SET app.msp_wide = 'on'",
    "set_tenant in an earlier transaction": "SELECT set_tenant('{A}')",
    "set_msp_wide in an earlier transaction": "SELECT set_msp_wide()",
    "000002's SET LOCAL in an earlier transaction":
        "BEGIN; SET LOCAL app.tenant_id = '{A}'; COMMIT",
    "set_tenant's form, session-level": "SELECT set_config('app.tenant_context', "
        "extract(EPOCH FROM transaction_timestamp())::TEXT || ' {A}', false)",
    "a forged start time": "SET app.tenant_context = '0 {A}'",
}


@pytest.mark.parametrize("left", LEFT_BEHIND)
def test_a_context_left_on_a_pooled_connection_is_no_context(pooled, left):
    """F15: whoever borrows the connection next sees nothing until it names its tenant."""
    conn, (a, _b) = pooled
    try:
        conn.execute(LEFT_BEHIND[left].format(A=a))
        assert _visible_tenants(conn) == [], left
    finally:
        conn.execute("RESET app.tenant_id; RESET app.msp_wide; RESET app.tenant_context")


def test_set_tenant_names_the_tenant_for_its_transaction_only(pooled):
    conn, (a, b) = pooled
    with conn.transaction():
        conn.execute("SELECT set_tenant(%s)", (a,))
        inside = [row[0] for row in conn.execute("SELECT tenant_id FROM mailboxes")]
        conn.execute("SELECT set_tenant(%s)", (b,))  # the latest call wins
        switched = [row[0] for row in conn.execute("SELECT tenant_id FROM mailboxes")]
    assert (inside, switched, _visible_tenants(conn)) == ([a], [b], [])


@pytest.mark.parametrize("old_style", [
    "SET app.tenant_id = '{B}'", "SET LOCAL app.tenant_id = '{B}'", "SET app.msp_wide = 'on'"])
def test_000002s_settings_change_nothing_after_set_tenant(pooled, old_style):
    """Only set_tenant() and set_msp_wide() name a context, also inside their transaction."""
    conn, (a, b) = pooled
    try:
        with conn.transaction():
            conn.execute("SELECT set_tenant(%s)", (a,))
            conn.execute(old_style.format(B=b))
            seen = [row[0] for row in conn.execute("SELECT tenant_id FROM mailboxes")]
        assert seen == [a], old_style
    finally:
        conn.execute("RESET app.tenant_id; RESET app.msp_wide")


def test_set_msp_wide_replaces_a_tenant_context(pooled):
    conn, (a, b) = pooled
    with conn.transaction():
        conn.execute("SELECT set_tenant(%s)", (a,))
        conn.execute("SELECT set_msp_wide()")
        seen = sorted(row[0] for row in conn.execute("SELECT tenant_id FROM mailboxes"))
    assert seen == sorted([a, b])


@pytest.mark.parametrize("argument, want", [
    (None, "22004 set_tenant: the tenant id is NULL"),
    ("not-a-uuid", "22P02 invalid input syntax for type uuid: \"not-a-uuid\""),
    ("", "22P02 invalid input syntax for type uuid: \"\""),
])
def test_set_tenant_refuses_what_is_not_a_tenant_id(db, argument, want):
    with session(db):
        assert outcome(db, "SELECT set_tenant(%s::uuid)", (argument,)) == want


# --- the migration refuses rows that break its rules --------------------------------------

A, B = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
BROKEN_AT_VERSION_2 = f"""
    INSERT INTO tenants (id, name, azure_tenant_id, azure_app_id, azure_app_secret)
    VALUES ('{A}', 'A', gen_random_uuid(), gen_random_uuid(), pgp_sym_encrypt('s', 'k')),
           ('{B}', 'B', gen_random_uuid(), gen_random_uuid(), pgp_sym_encrypt('s', 'k'));
    INSERT INTO mailboxes (id, tenant_id, email_address, display_name, mailbox_type)
    VALUES ('00000000-0000-4000-8000-0000000000b1', '{B}', 'b@b.example', 'B', 'USER');
    INSERT INTO users (id, tenant_id, email, password_hash, display_name, role)
    VALUES ('00000000-0000-4000-8000-0000000000b2', '{B}', 'u@b.example', 'x', 'U', 'USER');
    INSERT INTO jobs (type, status, tenant_id, mailbox_id)
    VALUES ('EXPORT', 'QUEUED', '{A}', '00000000-0000-4000-8000-0000000000b1'),
           ('EXPORT', 'QUEUED', '{A}', '00000000-0000-4000-8000-0000000000b1');
    INSERT INTO jobs (type, status, tenant_id, user_id)
    VALUES ('EXPORT', 'QUEUED', '{A}', '00000000-0000-4000-8000-0000000000b2');
    INSERT INTO audit_logs (action, tenant_id, user_id)
    VALUES ('EXPORT', '{A}', '00000000-0000-4000-8000-0000000000b2');
"""


def test_rows_breaking_the_new_rules_make_the_migration_fail_whole(empty_db_url, migrate_on):
    """Each rule named with its count; nothing of 000003 applied (the rows stay as they were)."""
    migrate = migrate_on(empty_db_url)
    migrate.goto(2)
    with admin.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(BROKEN_AT_VERSION_2)
    with pytest.raises(MigrateError) as failed:
        migrate.up()
    message = str(failed.value)
    for rule, count in [("jobs.mailbox_id names a mailbox of the job's own tenant", 2),
                        ("jobs.user_id names a user of the job's own tenant", 1),
                        ("audit_logs.user_id names a user of the row's own tenant", 1)]:
        assert re.search(re.escape(rule) + r".*?: " + str(count) + " rows break it", message), \
            f"want the rule {rule!r} with {count} rows in: {message}"
    with admin.connect(empty_db_url) as conn:
        applied = conn.execute("SELECT to_regprocedure('set_tenant(uuid)') IS NOT NULL, "
                               "(SELECT count(*) FROM jobs)").fetchone()
    assert applied == (False, 3)


def test_down_refuses_message_ids_shared_by_tenants_and_changes_nothing(fresh_db_url,
                                                                         migrate_on):
    """000002 had one message id once in the archive: going back with one id archived by
    two tenants (allowed since 000003) fails whole, with the count, and 000003 stays."""
    with admin.connect(fresh_db_url) as conn:
        for _tenant in "AB":
            mailbox = rows.mailbox(conn)["id"]
            for message_id in ("AAMk-shared-1", "AAMk-shared-2"):
                rows.email(conn, mailbox_id=mailbox, message_id=message_id)
        conn.commit()
    migrate = migrate_on(fresh_db_url)
    migrate.goto(3)
    with pytest.raises(MigrateError) as failed:
        migrate.down(1)
    assert "2 message ids are in more than one tenant" in str(failed.value), str(failed.value)
    with admin.connect(fresh_db_url) as conn:
        kept = conn.execute("SELECT to_regprocedure('set_tenant(uuid)') IS NOT NULL, "
                            "(SELECT count(*) FROM emails)").fetchone()
    assert kept == (True, 4)
