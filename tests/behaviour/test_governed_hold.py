"""D18, D19: legal hold and retention are the MSP's to change, each change is in the audit
trail, and the trail's time is the server's.

Played by those the rules constrain: a tenant admin (the application's role in the tenant's
context) trying to lift its own hold or shorten its retention, an application naming its own
audit time. The MSP context and the owner (not under row-level security) pass, and what they
did is written by the schema in the same transaction.
"""

import datetime
import uuid

import pytest

from . import rows
from .compliance import NOT_MSP, written_by_schema
from .outcomes import attempt, describe
from .tenancy import session

#: What a tenant admin would try: each column the hold and retention rules govern.
CHANGES = {
    "lift its own hold": ("legal_hold", True, False),
    "place a hold": ("legal_hold", False, True),
    "shorten its retention": ("retention_policy_days", 2555, 1),
    "lengthen its retention": ("retention_policy_days", 30, 3650),
}


def _tenant(db, column, value) -> dict:
    return rows.tenant(db, **{column: value})


@pytest.mark.parametrize("change", CHANGES)
def test_a_tenant_context_cannot_change_its_hold_or_retention(db, change):
    column, before, after = CHANGES[change]
    tenant = _tenant(db, column, before)["id"]
    with session(db, tenant):
        error = attempt(db, f"UPDATE tenants SET {column} = %s", (after,))
    assert error is not None and error.sqlstate == NOT_MSP, \
        f"{change}: want {NOT_MSP}, have {describe(error)}"
    assert "only the MSP context" in error.diag.message_primary, error.diag.message_primary
    assert "set_msp_wide()" in error.diag.message_hint
    assert rows.read(db, "tenants", "id", tenant)[column] == before
    assert written_by_schema(db, tenant, "LEGAL_HOLD_LIFTED", "RETENTION_POLICY_CHANGED") == []


def test_other_columns_stay_the_tenants_own(db):
    tenant = rows.tenant(db, legal_hold=True)["id"]
    with session(db, tenant):
        assert attempt(db, "UPDATE tenants SET name = 'Renamed', storage_bytes = 7") is None


@pytest.mark.parametrize("change", CHANGES)
def test_the_msp_changes_them_and_the_schema_records_it(db, change):
    column, before, after = CHANGES[change]
    tenant = _tenant(db, column, before)["id"]
    admin = rows.user(db)["id"]  # an MSP admin
    with session(db, msp_wide=True):
        db.execute("SELECT set_acting_user(%s)", (admin,))
        db.execute(f"UPDATE tenants SET {column} = %s WHERE id = %s", (after, tenant))
        recorded = written_by_schema(db, tenant, "LEGAL_HOLD_PLACED", "LEGAL_HOLD_LIFTED",
                                     "RETENTION_POLICY_CHANGED")
    assert len(recorded) == 1 + (column == "legal_hold" and before), recorded
    last = recorded[-1]
    want_action = {True: "LEGAL_HOLD_PLACED", False: "LEGAL_HOLD_LIFTED"}.get(after) \
        if column == "legal_hold" else "RETENTION_POLICY_CHANGED"
    assert (last["action"], last["user_id"]) == (want_action, admin)
    assert {k: last["details"][k] for k in ("column", "old", "new", "context")} == \
        {"column": column, "old": before, "new": after, "context": "msp"}


def test_the_owner_changes_them_and_is_recorded_as_such(db):
    tenant = rows.tenant(db)["id"]
    db.execute("UPDATE tenants SET retention_policy_days = 90 WHERE id = %s", (tenant,))
    (recorded,) = written_by_schema(db, tenant, "RETENTION_POLICY_CHANGED")
    assert recorded["details"]["context"] == "unrestricted role"
    assert recorded["details"]["current_user"] == db.info.user


def test_both_in_one_statement_are_two_records(db):
    tenant = rows.tenant(db)["id"]
    with session(db, msp_wide=True):
        db.execute("UPDATE tenants SET legal_hold = true, retention_policy_days = 10 "
                   "WHERE id = %s", (tenant,))
        actions = [r["action"] for r in written_by_schema(
            db, tenant, "LEGAL_HOLD_PLACED", "RETENTION_POLICY_CHANGED")]
    assert sorted(actions) == ["LEGAL_HOLD_PLACED", "RETENTION_POLICY_CHANGED"]


def test_a_change_that_cannot_be_recorded_does_not_happen(db):
    """Same transaction: an acting user of another tenant fails the audit row (D14, 23503),
    and with it the hold it would have recorded."""
    tenant, other = rows.tenant(db)["id"], rows.tenant(db)["id"]
    stranger = rows.user(db, tenant_id=other)["id"]
    with session(db, msp_wide=True):
        db.execute("SELECT set_acting_user(%s)", (stranger,))
        error = attempt(db, "UPDATE tenants SET legal_hold = true WHERE id = %s", (tenant,))
    assert error is not None and error.sqlstate == "23503", describe(error)
    assert rows.read(db, "tenants", "id", tenant)["legal_hold"] is False


def test_an_acting_user_set_for_the_session_is_nobody(db):
    """Like the tenant context (D17): a session-level value is not this transaction's."""
    tenant = rows.tenant(db)["id"]
    db.execute("SELECT set_config('app.acting_user', '0 ' || %s, false)",
               (str(rows.user(db)["id"]),))
    with session(db, msp_wide=True):
        db.execute("UPDATE tenants SET legal_hold = true WHERE id = %s", (tenant,))
        (placed,) = written_by_schema(db, tenant, "LEGAL_HOLD_PLACED")
    assert placed["user_id"] is None


def test_a_tenant_created_under_hold_records_the_hold(db):
    tenant = rows.tenant(db, legal_hold=True)["id"]
    (placed,) = written_by_schema(db, tenant, "LEGAL_HOLD_PLACED")
    assert (placed["details"]["old"], placed["details"]["new"]) == (None, True)


# --- D19: the server's time --------------------------------------------------------------------

@pytest.mark.parametrize("as_app", [False, True], ids=["owner", "application"])
@pytest.mark.parametrize("named", ["2001-01-01", "2099-12-31", None])
def test_audit_time_is_the_servers_whatever_the_insert_says(db, as_app, named):
    tenant = rows.tenant(db)["id"]
    before = db.execute("SELECT clock_timestamp()").fetchone()[0]
    row_id = uuid.uuid4()
    insert = 'INSERT INTO audit_logs (id, action, "timestamp") VALUES (%s, \'EXPORT\', %s)'
    if as_app:
        with session(db, tenant):
            db.execute(insert, (row_id, named))
            stored = db.execute('SELECT "timestamp" FROM audit_logs WHERE id = %s',
                                (row_id,)).fetchone()[0]
    else:
        db.execute(insert, (row_id, named))
        stored = rows.read(db, "audit_logs", "id", row_id)["timestamp"]
    after = db.execute("SELECT clock_timestamp()").fetchone()[0]
    assert before <= stored <= after, f"want the server's time ({before}..{after}), have {stored}"
    assert stored > datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


# --- held mail stays in its tenant ------------------------------------------------------------

MOVES = {
    "emails": "UPDATE emails SET mailbox_id = %(mailbox)s, tenant_id = %(tenant)s "
              "WHERE id = %(email)s",
    "attachments": "UPDATE attachments SET email_id = %(email)s, tenant_id = %(tenant)s "
                   "WHERE id = %(attachment)s",
}


@pytest.mark.parametrize("moved", MOVES)
def test_held_mail_cannot_leave_its_tenant(db, moved):
    """The composite keys accept mailbox_id (email_id) and tenant_id changed together, which
    the MSP context may do: a held tenant's mail moved out would escape its hold. The hold
    answers first (a BEFORE trigger), before the e-mail's attachments' key would."""
    held = rows.tenant(db, legal_hold=True)["id"]
    email = rows.email(db, mailbox_id=rows.mailbox(db, tenant_id=held)["id"])["id"]
    attachment = rows.attachment(db, email_id=email)["id"]
    other = rows.tenant(db)["id"]
    target = {"tenant": other, "mailbox": rows.mailbox(db, tenant_id=other)["id"],
              "attachment": attachment}
    target["email"] = email if moved == "emails" else \
        rows.email(db, mailbox_id=target["mailbox"])["id"]
    with session(db, msp_wide=True):
        error = attempt(db, MOVES[moved], target)
    assert error is not None and error.sqlstate == "IA001", describe(error)
    assert "cannot leave it" in error.diag.message_primary


# --- the schema's own records -----------------------------------------------------------------

RESERVED = ["LEGAL_HOLD_PLACED", "LEGAL_HOLD_LIFTED", "RETENTION_POLICY_CHANGED",
            "AUDIT_HISTORY_SEALED"]


@pytest.mark.parametrize("action", RESERVED)
@pytest.mark.parametrize("msp_wide", [False, True], ids=["tenant context", "MSP context"])
def test_the_application_cannot_write_the_schemas_records(db, action, msp_wide):
    """A held tenant writing LEGAL_HOLD_LIFTED into its own trail would read like the
    schema's record of the MSP lifting it."""
    tenant = rows.tenant(db, legal_hold=True)["id"]
    with session(db, None if msp_wide else tenant, msp_wide=msp_wide):
        error = attempt(db, "INSERT INTO audit_logs (tenant_id, action, details) "
                            "VALUES (%s, %s, '{\"old\": true, \"new\": false}')",
                        (tenant, action))
    assert error is not None and error.sqlstate == "IA003", f"{action}: {describe(error)}"
    assert f"audit action {action} is written by the schema only" in error.diag.message_primary


def test_other_actions_stay_the_applications(db):
    tenant = rows.tenant(db)["id"]
    with session(db, tenant):
        assert attempt(db, "INSERT INTO audit_logs (action) VALUES ('LEGAL_HOLD_VIEWED')") \
            is None
