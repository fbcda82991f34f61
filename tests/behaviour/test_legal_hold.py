"""Issue 8: mail of a tenant on legal hold cannot be deleted or soft-deleted, by any path.

Each way of losing an e-mail or attachment (deleting it, soft-deleting the e-mail, or deleting
what it hangs on, which cascades) raises SQLSTATE IA001 naming the tenant and the hold, as the
owner and as the application; the same statement succeeds once the hold is lifted, and other
tenants are not affected by one tenant's hold.
"""

import pytest

from . import rows
from .outcomes import attempt
from .tenancy import session

LEGAL_HOLD = "IA001"

#: Each way to lose archived mail: (table, statement, what it names) on the tenant's rows.
WAYS = {
    "delete an attachment": ("DELETE FROM attachments WHERE id = %(attachment)s", "attachments"),
    "delete an e-mail": ("DELETE FROM emails WHERE id = %(email)s", "emails"),
    "soft-delete an e-mail": ("UPDATE emails SET deleted_at = now() WHERE id = %(email)s",
                              "emails"),
    "delete a mailbox (cascades)": ("DELETE FROM mailboxes WHERE id = %(mailbox)s", "mailboxes"),
    "delete the tenant (cascades)": ("DELETE FROM tenants WHERE id = %(tenant)s", "tenants"),
    "retention cleanup of old mail": ("DELETE FROM emails WHERE sent_at < now()", "emails"),
}


def held_archive(db, hold: bool = True) -> dict:
    tenant = rows.tenant(db, legal_hold=hold, name="Contoso GmbH")
    mailbox = rows.mailbox(db, tenant_id=tenant["id"])
    email = rows.email(db, mailbox_id=mailbox["id"])
    attachment = rows.attachment(db, email_id=email["id"])
    return {"tenant": tenant["id"], "mailbox": mailbox["id"], "email": email["id"],
            "attachment": attachment["id"]}


@pytest.fixture
def held(db):
    return held_archive(db)


def _lift(db, tenant) -> None:
    db.execute("UPDATE tenants SET legal_hold = false WHERE id = %s", (tenant,))


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("as_app", [False, True], ids=["owner", "application"])
def test_a_hold_stops_every_way_of_losing_mail(db, held, way, as_app):
    statement, names = WAYS[way]
    if as_app:
        with session(db, held["tenant"]):
            error = attempt(db, statement, held)
    else:
        error = attempt(db, statement, held)
    assert error is not None and error.diag.sqlstate == LEGAL_HOLD, f"{way}: {error!r}"
    message = error.diag.message_primary
    assert "Contoso GmbH" in message and str(held["tenant"]) in message \
        and "legal hold" in message and names in message, message
    # Nothing went: the e-mail and its attachment are there, not soft-deleted.
    assert db.execute("SELECT deleted_at FROM emails WHERE id = %s",
                      (held["email"],)).fetchall() == [(None,)]
    assert db.execute("SELECT count(*) FROM attachments WHERE id = %s",
                      (held["attachment"],)).fetchone() == (1,)


@pytest.mark.parametrize("way", WAYS)
def test_lifting_the_hold_allows_it_again(db, held, way):
    statement, _names = WAYS[way]
    _lift(db, held["tenant"])
    assert attempt(db, statement, held) is None


@pytest.mark.parametrize("way", WAYS)
def test_a_hold_binds_only_its_own_tenant(db, held, way):
    statement, _names = WAYS[way]
    free = held_archive(db, hold=False)
    if way == "retention cleanup of old mail":
        statement = "DELETE FROM emails WHERE sent_at < now() AND mailbox_id = %(mailbox)s"
    assert attempt(db, statement, free) is None


@pytest.mark.parametrize("change", [
    pytest.param("UPDATE emails SET indexed_at = now() WHERE id = %(email)s", id="indexed"),
    pytest.param("UPDATE tenants SET storage_bytes = 1 WHERE id = %(tenant)s", id="tenant row"),
])
def test_a_hold_allows_changes_that_lose_nothing(db, held, change):
    assert attempt(db, change, held) is None


def test_a_soft_deleted_email_can_be_restored_under_hold(db):
    archive = held_archive(db, hold=False)
    db.execute("UPDATE emails SET deleted_at = now() WHERE id = %s", (archive["email"],))
    db.execute("UPDATE tenants SET legal_hold = true WHERE id = %s", (archive["tenant"],))
    assert attempt(db, "UPDATE emails SET deleted_at = NULL WHERE id = %(email)s", archive) is None
    assert attempt(db, "UPDATE emails SET deleted_at = now() WHERE id = %(email)s",
                   archive).diag.sqlstate == LEGAL_HOLD


def test_the_error_says_how_to_lift_the_hold(db, held):
    error = attempt(db, "DELETE FROM emails WHERE id = %(email)s", held)
    assert error.diag.sqlstate == LEGAL_HOLD
    assert "legal_hold = false" in error.diag.message_hint
