"""Migration 000007: held mail stays as it was archived, and a hold placed meanwhile holds.

Played by the people the hold constrains: a tenant that rewrites what its held mail says
instead of deleting it (every column of emails and attachments, read from the catalog, so a
column added later is frozen or fails here), an owner who TRUNCATEs, and a delete racing
the MSP's hold (the delete waits for the hold and is then refused; a hold placed later waits
for the delete).
"""

import threading

import psycopg
import pytest
from psycopg import sql

from ironarchive_schema.postgres import admin

from .compliance import hold_being_placed
from .outcomes import ACCEPTED, attempt, describe
from .tenancy import session
from .test_legal_hold import LEGAL_HOLD, held_archive

#: Columns the hold lets change: the indexer's stamp. deleted_at is the soft delete's
#: (refused under hold, its undoing allowed: tests/behaviour/test_legal_hold.py).
MAY_CHANGE = {"emails.indexed_at"}

#: A value unlike the stored one, by the column's type; the hold is checked before any
#: constraint, so a value the constraints would refuse still shows the trigger's answer.
CHANGED = {
    "uuid": "gen_random_uuid()",
    "text": "coalesce({col}, '') || ' (rewritten)'",
    # the same length: the type's length limit is checked before any trigger
    "character varying": "CASE WHEN left({col}, 1) = 'f' THEN 'e' ELSE 'f' END "
                         "|| substr(coalesce({col}, ''), 2)",
    "text[]": "coalesce({col}, '{{}}') || 'rewritten'::text",
    "timestamp with time zone": "coalesce({col}, now()) - interval '1 day'",
    "integer": "{col} + 1",
    "boolean": "NOT {col}",
}


def changed(name: str, column: dict) -> sql.Composable:
    kind = column["type"].split("(")[0]
    assert kind in CHANGED, f"{column['table']}.{name}: no changed value for {kind}"
    return sql.SQL(CHANGED[kind]).format(col=sql.Identifier(name))


@pytest.fixture
def held(db):
    return held_archive(db)


def row_of(table: str, held: dict):
    return held["email"] if table == "emails" else held["attachment"]


def read(db, table: str, row) -> tuple:
    return db.execute(sql.SQL("SELECT to_jsonb(t) FROM {} AS t WHERE id = %s").format(
        sql.Identifier(table)), (row,)).fetchone()


@pytest.mark.parametrize("as_app", [False, True], ids=["owner", "application"])
def test_no_column_of_held_mail_can_be_rewritten(db, held, mail_column, catalog_snapshot, as_app):
    table, name = mail_column.split(".")
    column = catalog_snapshot["columns"][mail_column]
    row = row_of(table, held)
    before = read(db, table, row)
    statement = sql.SQL("UPDATE {} SET {} = {} WHERE id = %s").format(
        sql.Identifier(table), sql.Identifier(name), changed(name, column))
    if as_app:
        with session(db, held["tenant"]):
            error = attempt(db, statement, (row,))
    else:
        error = attempt(db, statement, (row,))
    if mail_column in MAY_CHANGE:
        assert describe(error) == ACCEPTED
        return
    assert error is not None and error.sqlstate == LEGAL_HOLD, \
        f"{mail_column} under hold: want {LEGAL_HOLD}, have {describe(error)}"
    assert "legal hold" in error.diag.message_primary and table in error.diag.message_primary
    assert read(db, table, row) == before


@pytest.mark.parametrize("mail_table", ["emails", "attachments"])
def test_the_error_names_the_rewritten_columns(db, held, mail_table):
    table = mail_table
    error = attempt(db, sql.SQL("UPDATE {} SET file_path = '/dev/null', created_at = now() - "
                                "interval '1 day' WHERE id = %s").format(sql.Identifier(table)),
                    (row_of(table, held),))
    assert describe(error) == f"{LEGAL_HOLD} Tenant \"Contoso GmbH\" ({held['tenant']}) is " \
        f"under legal hold: its {table} cannot be rewritten"
    assert error.diag.message_detail.startswith(f"UPDATE of created_at, file_path on table {table}")
    assert "legal_hold = false" in error.diag.message_hint


@pytest.mark.parametrize("mail_table", ["emails", "attachments"])
def test_writing_the_whole_row_back_changes_only_what_may_change(db, held, mail_table,
                                                                  catalog_snapshot):
    """An ORM that writes every column back, the indexer's stamp changed and the rest as it
    was, keeps working under hold."""
    table = mail_table
    columns = {key.split(".")[1]: c for key, c in catalog_snapshot["columns"].items()
               if c["table"] == table}
    statement = sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
        sql.Identifier(table), sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name),
                                      changed(name, column) if f"{table}.{name}" in MAY_CHANGE
                                      else sql.Identifier(name))
            for name, column in columns.items()))
    assert describe(attempt(db, statement, (row_of(table, held),))) == ACCEPTED


def test_mail_of_a_tenant_not_held_can_be_rewritten(db):
    free = held_archive(db, hold=False)
    assert describe(attempt(db, "UPDATE emails SET body_text = 'corrected' WHERE id = %s",
                            (free["email"],))) == ACCEPTED


TRUNCATED = ["tenants", "mailboxes", "emails", "attachments"]


@pytest.mark.parametrize("truncated", TRUNCATED)
def test_no_table_holding_mail_is_truncated_while_a_tenant_is_held(fresh_db_url, truncated):
    """Committed first: TRUNCATE refuses a table with trigger events pending in its own
    transaction (55006) before any trigger could answer."""
    with admin.connect(fresh_db_url) as conn:
        held = held_archive(conn)
        held_archive(conn, hold=False)
        conn.commit()
        error = attempt(conn, sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(truncated)))
        assert error is not None and error.sqlstate == LEGAL_HOLD, describe(error)
        assert error.diag.message_primary.endswith(f"{truncated} cannot be truncated"), \
            error.diag.message_primary
        assert "1 tenant(s) under legal hold" in error.diag.message_detail
        assert conn.execute("SELECT count(*) FROM emails WHERE id = %s",
                            (held["email"],)).fetchone() == (1,)


def test_truncate_works_once_no_tenant_is_held(db, held):
    db.execute("UPDATE tenants SET legal_hold = false WHERE id = %s", (held["tenant"],))
    assert describe(attempt(db, "TRUNCATE attachments")) == ACCEPTED


# --- a hold placed while mail is being lost ---------------------------------------------------

#: Each way to lose or rewrite the archive's mail, against a hold committed meanwhile.
RACES = {
    "delete an e-mail": "DELETE FROM emails WHERE id = %(email)s",
    "soft-delete an e-mail": "UPDATE emails SET deleted_at = now() WHERE id = %(email)s",
    "rewrite an e-mail": "UPDATE emails SET body_text = '' WHERE id = %(email)s",
    "delete an attachment": "DELETE FROM attachments WHERE id = %(attachment)s",
    "delete a mailbox (cascades)": "DELETE FROM mailboxes WHERE id = %(mailbox)s",
    "truncate the e-mails": "TRUNCATE emails CASCADE",
}


@pytest.fixture
def committed_archive(fresh_db_url) -> dict:
    with admin.connect(fresh_db_url) as conn:
        archive = held_archive(conn, hold=False)
        conn.commit()
    return archive


@pytest.mark.parametrize("race", RACES)
def test_a_loss_waits_for_a_hold_being_placed_and_is_refused(fresh_db_url, committed_archive,
                                                              race):
    statement = RACES[race]
    msp = hold_being_placed(fresh_db_url, committed_archive["tenant"])
    with msp, admin.connect(fresh_db_url) as tenant_admin:
        tenant_admin.execute("SET lock_timeout = '200ms'")
        error = attempt(tenant_admin, statement, committed_archive)
        assert isinstance(error, psycopg.errors.LockNotAvailable), describe(error)
        tenant_admin.execute("SET lock_timeout = 0")
        answers: list = []
        waiting = threading.Thread(
            target=lambda: answers.append(attempt(tenant_admin, statement, committed_archive)))
        waiting.start()
        msp.commit()
        waiting.join()
        assert describe(answers[0]).startswith(LEGAL_HOLD), f"{race}: {describe(answers[0])}"


def test_a_repeatable_read_delete_that_read_before_the_hold_fails_to_serialise(
        fresh_db_url, committed_archive):
    with admin.connect(fresh_db_url) as tenant_admin:
        tenant_admin.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        tenant_admin.execute("SELECT count(*) FROM emails")  # its snapshot: no hold
        with hold_being_placed(fresh_db_url, committed_archive["tenant"]) as msp:
            msp.commit()
        error = attempt(tenant_admin, RACES["delete an e-mail"], committed_archive)
        assert describe(error).startswith("40001"), describe(error)


def test_a_hold_waits_for_a_delete_in_progress(fresh_db_url, committed_archive):
    """The other order: the hold waits for the delete's transaction, so no e-mail is deleted
    after the hold's audit row says it was placed."""
    with admin.connect(fresh_db_url) as tenant_admin, admin.connect(fresh_db_url) as msp:
        tenant_admin.execute(RACES["delete an e-mail"], committed_archive)
        msp.execute("SET lock_timeout = '200ms'")
        msp.execute("SELECT set_msp_wide()")
        error = attempt(msp, "UPDATE tenants SET legal_hold = true WHERE id = %(tenant)s",
                        committed_archive)
        assert isinstance(error, psycopg.errors.LockNotAvailable), describe(error)


def test_the_indexer_does_not_wait_for_the_tenant_row(fresh_db_url, committed_archive):
    """Only a change that could lose mail locks the tenant row: setting indexed_at does not
    wait for an MSP transaction that holds the tenant row."""
    with hold_being_placed(fresh_db_url, committed_archive["tenant"]) as msp, \
            admin.connect(fresh_db_url) as indexer:
        indexer.execute("SET lock_timeout = '200ms'")
        assert describe(attempt(indexer, "UPDATE emails SET indexed_at = now() WHERE id = "
                                "%(email)s", committed_archive)) == ACCEPTED
        msp.rollback()
