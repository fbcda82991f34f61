"""D21: retention removes a tenant's expired mail through one path, purge_expired_emails(), in
bounded batches, never under legal hold, each batch in the audit trail.

A batch is one call in the job's own transaction; the job calls again until no row comes
back. Covered: what expires (soft-deleted mail too) and what does not, attachments with their
e-mails, the files returned, the batch size, a hold (also one turning on and off between
batches, and one placed while a batch runs), retention changed mid-run, and a tenant context
purging another tenant.
"""

import datetime
import threading

import psycopg
import pytest

from ironarchive_schema.postgres import admin

from . import rows
from .compliance import hold_being_placed, written_by_schema
from .outcomes import attempt, describe
from .tenancy import session

NOW = datetime.datetime.now(datetime.UTC)
RETENTION_DAYS = 365


def _archive(db, *, held=False, ages=(10, 400, 500, 600, 3000), soft_deleted=(500,)) -> dict:
    """A tenant keeping mail a year, with one e-mail per age (days) and an attachment on each."""
    tenant = rows.tenant(db, retention_policy_days=RETENTION_DAYS, legal_hold=held)["id"]
    mailbox = rows.mailbox(db, tenant_id=tenant)["id"]
    emails = {}
    for age in ages:
        email = rows.email(db, mailbox_id=mailbox, sent_at=NOW - datetime.timedelta(days=age),
                           deleted_at=NOW if age in soft_deleted else None)
        rows.attachment(db, email_id=email["id"])
        emails[age] = email["id"]
    return {"tenant": tenant, "mailbox": mailbox, "emails": emails}


def purge(db, tenant, batch_size=100) -> list[tuple]:
    return db.execute("SELECT kind, id, file_path FROM purge_expired_emails(%s, %s)",
                      (tenant, batch_size)).fetchall()


def left(db, archive) -> set[int]:
    kept = {r[0] for r in db.execute("SELECT id FROM emails WHERE id = ANY(%s)",
                                     (list(archive["emails"].values()),))}
    return {age for age, email in archive["emails"].items() if email in kept}


def attachments_left(db, archive) -> int:
    return db.execute("SELECT count(*) FROM attachments WHERE email_id = ANY(%s)",
                      (list(archive["emails"].values()),)).fetchone()[0]


def test_expired_mail_goes_with_its_attachments_and_files(db):
    archive = _archive(db)
    removed = purge(db, archive["tenant"])
    assert left(db, archive) == {10} and attachments_left(db, archive) == 1
    kinds = sorted(kind for kind, _, _ in removed)
    assert kinds == ["attachment"] * 4 + ["email"] * 4
    assert all(path.startswith("/data/") for _, _, path in removed), removed
    (batch,) = written_by_schema(db, archive["tenant"], "RETENTION_PURGE")
    assert {k: batch["details"][k] for k in ("emails", "attachments", "retention_policy_days",
                                             "batch_size")} == \
        {"emails": 4, "attachments": 4, "retention_policy_days": RETENTION_DAYS,
         "batch_size": 100}


def test_batches_are_bounded_oldest_first_until_none_is_left(db):
    archive = _archive(db)
    sizes = []
    while removed := purge(db, archive["tenant"], batch_size=3):
        sizes.append(sum(kind == "email" for kind, _, _ in removed))
        if sizes[-1] == 3:
            assert left(db, archive) == {10, 400}, "want the oldest gone first"
    assert sizes == [3, 1]
    assert len(written_by_schema(db, archive["tenant"], "RETENTION_PURGE")) == 2


def test_nothing_goes_under_legal_hold_and_the_attempt_is_recorded(db):
    archive = _archive(db, held=True)
    assert purge(db, archive["tenant"]) == []
    assert left(db, archive) == set(archive["emails"]) and attachments_left(db, archive) == 5
    assert len(written_by_schema(db, archive["tenant"], "RETENTION_PURGE_HELD")) == 1
    assert written_by_schema(db, archive["tenant"], "RETENTION_PURGE") == []


def test_a_hold_between_batches_stops_the_rest_and_its_lifting_resumes(db):
    archive = _archive(db)
    purge(db, archive["tenant"], batch_size=2)
    assert left(db, archive) == {10, 400, 500}
    # The owner changes the hold here: the test's transaction must keep it (the MSP context's
    # own change is test_governed_hold.py's).
    db.execute("UPDATE tenants SET legal_hold = true WHERE id = %s", (archive["tenant"],))
    assert purge(db, archive["tenant"], batch_size=2) == []
    assert left(db, archive) == {10, 400, 500}
    db.execute("UPDATE tenants SET legal_hold = false WHERE id = %s", (archive["tenant"],))
    purge(db, archive["tenant"], batch_size=2)
    assert left(db, archive) == {10}


def test_retention_changed_mid_run_is_the_next_batchs(db):
    archive = _archive(db)
    purge(db, archive["tenant"], batch_size=1)  # the 3000-day-old one
    db.execute("UPDATE tenants SET retention_policy_days = 550 WHERE id = %s",
               (archive["tenant"],))
    while purge(db, archive["tenant"], batch_size=1):
        pass
    assert left(db, archive) == {10, 400, 500}


def test_a_tenant_context_purges_its_own_tenant_only(db):
    mine, theirs = _archive(db), _archive(db)
    with session(db, mine["tenant"]):
        assert len(purge(db, mine["tenant"])) == 8
        error = attempt(db, "SELECT * FROM purge_expired_emails(%s, 10)", (theirs["tenant"],))
    assert error is not None and error.sqlstate == "P0002", describe(error)
    assert left(db, theirs) == set(theirs["emails"])


@pytest.mark.parametrize("batch_size", [0, -1, None, 100_001])
def test_a_batch_size_out_of_bounds_is_refused(db, batch_size):
    archive = _archive(db)
    error = attempt(db, "SELECT * FROM purge_expired_emails(%s, %s)",
                    (archive["tenant"], batch_size))
    assert error is not None and error.sqlstate == "22023", describe(error)
    assert "batch_size must be 1 to 100000" in error.diag.message_primary


def test_a_hold_placed_during_a_batch_waits_for_it(fresh_db_url):
    """The batch reads the hold FOR SHARE: the MSP's hold waits until the batch commits (so
    no batch removes mail after a hold is placed), then the next batch stops."""
    with admin.connect(fresh_db_url) as conn:
        archive = _archive(conn)
        conn.commit()
    with admin.connect(fresh_db_url) as job, admin.connect(fresh_db_url) as msp:
        purge(job, archive["tenant"], batch_size=1)  # the batch's transaction stays open
        msp.execute("SET lock_timeout = '200ms'")
        msp.execute("SELECT set_msp_wide()")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            msp.execute("UPDATE tenants SET legal_hold = true WHERE id = %s",
                        (archive["tenant"],))
        msp.rollback()
        placed = threading.Thread(target=_place_hold, args=(fresh_db_url, archive["tenant"]))
        placed.start()
        job.commit()  # the hold goes through once the batch is done
        placed.join()
        assert purge(job, archive["tenant"], batch_size=1) == []
        assert len(left(job, archive)) == 4


def _place_hold(url: str, tenant) -> None:
    with hold_being_placed(url, tenant) as msp:
        msp.commit()
