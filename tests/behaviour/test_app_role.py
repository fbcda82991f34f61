"""Issue 8: least privilege. The application connects through ``ironarchive_app``: not the
owner, no DDL, audit rows append-only, settings' values editable but not its keys; and the
role, which belongs to the whole cluster, comes and goes with the last database carrying it.
"""

import secrets

import pytest
from psycopg import sql

from ironarchive_schema.postgres import admin, urls
from ironarchive_schema.postgres.backends import EmbeddedServer

from . import rows
from .outcomes import ACCEPTED, outcome
from .tenancy import APP_ROLE, session

DENIED = "42501"

#: What the application must never do, each as the application in the MSP context (so no
#: policy hides the rows: what stops it is the missing privilege).
FORBIDDEN = {
    "update an audit row": "UPDATE audit_logs SET action = 'TAMPERED'",
    "delete an audit row": "DELETE FROM audit_logs",
    "truncate the audit log": "TRUNCATE audit_logs",
    "truncate e-mails": "TRUNCATE emails CASCADE",
    "create a table": "CREATE TABLE app_scratch (id integer PRIMARY KEY)",
    "create a function": "CREATE FUNCTION app_scratch() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
    "add a column": "ALTER TABLE emails ADD COLUMN app_scratch integer",
    "drop a table": "DROP TABLE settings",
    "turn row-level security off": "ALTER TABLE emails DISABLE ROW LEVEL SECURITY",
    "drop a policy": "DROP POLICY tenant_isolation ON emails",
    "drop a trigger": "DROP TRIGGER emails_legal_hold_trigger ON emails",
    "add a setting": "INSERT INTO settings (key, value) VALUES ('app_scratch', '1')",
    "remove a setting": "DELETE FROM settings",
}


@pytest.mark.parametrize("action", FORBIDDEN)
def test_the_application_may_not(db, action):
    rows.audit_log(db)
    with session(db, msp_wide=True):
        answer = outcome(db, FORBIDDEN[action])
    assert answer.split(" ", 1)[0] == DENIED, f"{action}: {answer}"


def test_the_application_cannot_grant_itself_more(db):
    """A GRANT without the grant option is a warning, not an error: what counts is after."""
    with session(db, msp_wide=True):
        db.execute("GRANT UPDATE, DELETE, TRUNCATE ON audit_logs TO ironarchive_app")
        assert db.execute("SELECT has_table_privilege(current_user, 'audit_logs', "
                          "'UPDATE, DELETE, TRUNCATE')").fetchone() == (False,)


@pytest.mark.parametrize("action", [
    "UPDATE settings SET value = '30' WHERE key = 'global_retention_policy_days'",
    "INSERT INTO audit_logs (action) VALUES ('CONFIG_CHANGE')",
    "SELECT * FROM settings",
])
def test_the_application_may(db, action):
    with session(db, msp_wide=True):
        assert outcome(db, action) == ACCEPTED


def test_the_application_deleting_a_user_keeps_the_users_audit_rows(db):
    """D3's one exception, ON DELETE SET NULL, still works when the application deletes
    the user: the foreign key's action runs as the owner, whom the policies do not hide."""
    tenant = rows.tenant(db)["id"]
    user = rows.user(db, tenant_id=tenant)["id"]
    audit = rows.audit_log(db, user_id=user)["id"]
    with db.transaction():
        db.execute(f"SET LOCAL ROLE {APP_ROLE}")
        db.execute("SELECT set_tenant(%s)", (tenant,))
        assert db.execute("DELETE FROM users WHERE id = %s", (user,)).rowcount == 1
        db.execute("RESET ROLE")
    assert db.execute("SELECT user_id, tenant_id FROM audit_logs WHERE id = %s",
                      (audit,)).fetchone() == (None, tenant)


def test_turning_row_security_off_fails_closed(db):
    """row_security = off makes a query that a policy would filter fail, never bypass it."""
    with session(db, msp_wide=True):
        db.execute("SET LOCAL row_security = off")
        assert outcome(db, "SELECT * FROM emails").split(" ", 1)[0] == DENIED


def test_the_role_is_neither_owner_nor_privileged(db):
    assert db.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls, rolinherit "
        "FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() == (
        False, False, False, False, False, True)
    owned = db.execute("SELECT relname FROM pg_class WHERE relowner = "
                       "(SELECT oid FROM pg_roles WHERE rolname = %s)", (APP_ROLE,)).fetchall()
    assert owned == []


# --- the role across databases -------------------------------------------------------------

def _role_exists(admin_url: str) -> bool:
    with admin.connect(admin_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s",
                            (APP_ROLE,)).fetchone() == (1,)


@pytest.fixture(scope="module")
def own_cluster(gate_settings):
    """A server of its own: the suite's shared one always has databases carrying the role."""
    server = EmbeddedServer(gate_settings)
    try:
        yield server.admin_url
    finally:
        server.stop()


def test_the_role_lives_as_long_as_a_database_carries_it(own_cluster, migrate_on):
    """Migrated by a non-superuser owner with CREATEROLE, as on a managed service: up in two
    databases creates the role once; down in one keeps it for the other; down in the last
    drops it; up again brings it back."""
    owner, password = "ironarchive_test_owner", secrets.token_urlsafe(16)
    with admin.connect(own_cluster, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
            sql.Identifier(owner), sql.Literal(password)))
    databases = [urls.with_user(admin.create_database(own_cluster, admin.unique_name("role"),
                                                 owner=owner), owner, password)
            for _ in range(2)]
    first, second = (migrate_on(url) for url in databases)
    assert not _role_exists(own_cluster)
    first.up()
    second.up()
    assert _role_exists(own_cluster)
    first.down("all")
    assert _role_exists(own_cluster), "down in one database dropped the role the other uses"
    second.down("all")
    assert not _role_exists(own_cluster), "down in the last database left the role behind"
    first.up()
    assert _role_exists(own_cluster)
