"""D16: what tenant A's context observes does not depend on other tenants' data.

The property (worlds.py builds the cases): two archives identical for A and different for
everyone else, the same operations in A's context, the same observations. Then the proof that
it can fail: on the schema of migration 000002 it finds a difference. Then the channels the
schema accepts (the contract's ``tenant_boundary``), each with the fact that makes it
acceptable.
"""

import uuid

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

from ironarchive_schema.postgres import admin

from . import rows
from .outcomes import attempt
from .strategies import examples_share_fixtures
from .tenancy import TENANT_COLUMN, session
from .worlds import CASES, Unbuildable, difference


@examples_share_fixtures
@given(case=CASES)
def test_tenant_a_observes_the_same_whatever_the_other_tenants_hold(db, case):
    found = difference(db, case)
    assert found is None, f"A's context tells the two worlds apart:\n{found}"


def test_the_property_finds_what_000003_closed(empty_db_url, migrate_on):
    """On 000002's schema (message ids unique across tenants, the session-level SET
    honoured, references unchecked) the property fails: it is not blind."""
    migrate_on(empty_db_url).goto(2)
    with admin.connect(empty_db_url) as conn:
        def tells_apart(case) -> bool:
            try:
                return difference(conn, case) is not None
            except Unbuildable:
                return False

        case = find(CASES, tells_apart,
                    # the first difference, unshrunk: shrinking it takes minutes
                    settings=settings(max_examples=2000, database=None, deadline=None,
                                      phases=[Phase.generate],
                                      suppress_health_check=list(HealthCheck)))
        print(f"a difference on 000002: {difference(conn, case)}")  # -s shows it


# --- the accepted channels -------------------------------------------------------------------

def _answer(db, statement, params) -> tuple:
    error = attempt(db, statement, params)
    return None if error is None else (error.diag.sqlstate, error.diag.message_primary,
                                       error.diag.message_detail)


def _primary_keys(db, catalog_snapshot):
    """A new id that another tenant holds collides exactly as one of A's own does, and the
    answer has no detail (PostgreSQL shows no key of a table under row-level security): an
    existence oracle for ids A already knows, and ids are v4 uuids, drawn at random where
    the INSERT names none."""
    for table, (key,) in rows.primary_keys(catalog_snapshot).items():
        if table not in TENANT_COLUMN or table == "tenants":  # the tenant's own id is the tenant
            continue
        column = catalog_snapshot["columns"][f"{table}.{key}"]
        assert column["default"] == "uuid_generate_v4()", f"{table}.{key}: {column['default']}"
    mine, theirs = rows.tenant(db)["id"], rows.tenant(db)["id"]
    own, other = (rows.mailbox(db, tenant_id=t)["id"] for t in (mine, theirs))
    insert = "INSERT INTO mailboxes (id, tenant_id, email_address, mailbox_type) " \
             "VALUES (%s, %s, 'x@x.test', 'USER')"
    with session(db, mine):
        answers = {name: _answer(db, insert, (key, mine)) for name, key in
                   (("own", own), ("other tenant's", other))}
    want = ("23505", 'duplicate key value violates unique constraint "mailboxes_pkey"', None)
    assert answers == {"own": want, "other tenant's": want}


def _users_email_lower_key(db, _catalog_snapshot):
    """An address taken in another tenant collides as one taken in A's own, with no detail,
    and the other user stays unseen and unchanged."""
    mine, theirs = rows.tenant(db)["id"], rows.tenant(db)["id"]
    taken = {name: rows.user(db, tenant_id=t, email=f"{name}@x.test")
             for name, t in (("own", mine), ("other", theirs))}
    insert = "INSERT INTO users (tenant_id, email, password_hash, display_name, role) " \
             "VALUES (%s, %s, '$2b$12$x', 'New', 'USER')"
    with session(db, mine):
        answers = {name: _answer(db, insert, (mine, f"{name.upper()}@x.test"))
                   for name in taken}
        skipped = {name: db.execute(insert + " ON CONFLICT (lower(email)) DO NOTHING",
                                    (mine, f"{name}@x.test")).rowcount for name in taken}
        seen = db.execute("SELECT id FROM users WHERE id = %s", (taken["other"]["id"],)).fetchall()
    want = ("23505", 'duplicate key value violates unique constraint "users_email_lower_key"',
            None)
    assert answers == {"own": want, "other": want}
    assert (skipped, seen) == ({"own": 0, "other": 0}, [])
    after = db.execute("SELECT * FROM users WHERE id = %s", (taken["other"]["id"],)).fetchone()
    assert after == tuple(taken["other"].values())


def _tenants_azure_tenant_id_key(db, _catalog_snapshot):
    """A tenant context never reaches the key: whatever Azure id it tries, taken by another
    tenant or free, the answer is the same refusal, before the unique check."""
    mine = rows.tenant(db)["id"]
    taken = rows.tenant(db)["azure_tenant_id"]
    update = "UPDATE tenants SET azure_tenant_id = %s WHERE id = %s"
    with session(db, mine):
        answers = {value: _answer(db, update, (value, mine)) for value in (taken, uuid.uuid4())}
    assert set(answers.values()) == {
        ("42501", "only the MSP context can change tenants.azure_tenant_id", None)}, answers


ACCEPTED_CHANNELS = {"primary_keys": _primary_keys,
                     "users_email_lower_key": _users_email_lower_key,
                     "tenants_azure_tenant_id_key": _tenants_azure_tenant_id_key}


@pytest.mark.parametrize("channel", ACCEPTED_CHANNELS)
def test_accepted_channel(db, catalog_snapshot, channel):
    ACCEPTED_CHANNELS[channel](db, catalog_snapshot)
