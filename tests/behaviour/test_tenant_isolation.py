"""Issue 8: row-level security isolates tenants, whatever the application's SQL says.

In a session of ``ironarchive_app`` bound to tenant A, every tenant-scoped table shows exactly
A's rows; B's rows can be neither changed, deleted nor written, and no row of A moves to B;
without a context nothing is visible and nothing can be written; the MSP context sees all.
The examples below are fixed; the properties at the end state the same over generated
multi-tenant archives (``HYPOTHESIS_PROFILE=ci``: at least 10,000 generated archives).
"""


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from . import rows
from .outcomes import ACCEPTED, attempt_to, describe, outcome
from .tenancy import (
    APPEND_ONLY,
    HARMLESS,
    TENANT_COLUMN,
    Shape,
    build,
    new_row,
    session,
    visible,
)

TABLES = list(TENANT_COLUMN)
RLS_DENIED = "42501"  # insufficient_privilege: a policy's WITH CHECK, or no privilege at all
#: Rows that name their tenant through a parent (the fill triggers, audit_logs' user): D15 and
#: D16 refuse another tenant's parent as if it did not exist, foreign_key_violation.
THROUGH_A_PARENT = {"emails", "attachments", "audit_logs"}


def refused(table: str) -> str:
    """The SQLSTATE that refuses a row of ``table`` outside the session's tenant."""
    return "23503" if table in THROUGH_A_PARENT else RLS_DENIED


@pytest.fixture
def archive(db):
    return build(db, [Shape(), Shape(users=2, mailboxes=((2, 0), (1,)), jobs=2, audit_rows=2)])


def sqlstate(answer: str) -> str:
    return answer.split(" ", 1)[0]


# --- the catalog: every tenant-scoped table is covered -----------------------------------------

def test_every_table_with_a_tenant_has_row_level_security(catalog_snapshot):
    """A table added tomorrow with a tenant_id column must come with its policy."""
    scoped = {column["table"] for key, column in catalog_snapshot["columns"].items()
              if key.endswith(".tenant_id")} | {"tenants"}
    policies = {policy["table"] for policy in catalog_snapshot["policies"].values()}
    relations = catalog_snapshot["relations"]
    problems = [f"{table}: row-level security is not enabled" for table in sorted(scoped)
                if not relations[table]["row_security"]]
    problems += [f"{table}: no policy" for table in sorted(scoped) if table not in policies]
    problems += [f"{table}: row-level security is forced, so the migrating owner is restricted"
                 for table in sorted(scoped) if relations[table]["force_row_security"]]
    assert problems == []
    assert scoped == set(TENANT_COLUMN), "tenancy.TENANT_COLUMN must list every scoped table"


# --- reading -----------------------------------------------------------------------------------

@pytest.mark.parametrize("scoped", TABLES)
def test_a_tenant_sees_exactly_its_own_rows(db, archive, scoped):
    for tenant in archive.tenants():
        with session(db, tenant):
            assert visible(db, scoped) == archive.of(scoped, tenant), f"{scoped} as tenant {tenant}"


@pytest.mark.parametrize("scoped", TABLES)
def test_without_a_context_nothing_is_visible(db, archive, scoped):
    with session(db):
        assert visible(db, scoped) == set()


@pytest.mark.parametrize("scoped", TABLES)
def test_an_empty_context_is_no_context(db, archive, scoped):
    """What a setting reads as after SET LOCAL ended in an earlier transaction: ''."""
    with session(db):
        db.execute("SELECT set_config('app.tenant_context', '', true)")
        assert visible(db, scoped) == set()


@pytest.mark.parametrize("scoped", TABLES)
def test_the_msp_context_sees_every_row(db, archive, scoped):
    with session(db, msp_wide=True):
        assert visible(db, scoped) == archive.everything(scoped)


def test_a_tenant_id_that_is_not_a_uuid_is_an_error(db, archive):
    """set_tenant() takes a uuid: anything else is 22P02, and the context stays unnamed."""
    with session(db):
        assert sqlstate(outcome(db, "SELECT set_tenant('not-a-uuid')")) == "22P02"
        assert visible(db, "emails") == set()


def test_audit_rows_from_before_the_migration_are_attributed_through_their_user(db, archive):
    """Rows written before 000002 have tenant_id NULL; a tenant sees those of its users."""
    tenant = archive.tenants()[0]
    user = archive.parents[tenant]["users"][0]
    db.execute("SET LOCAL session_replication_role = replica")  # no fill trigger: an old row
    old = rows.audit_log(db, user_id=user)["id"]
    db.execute("SET LOCAL session_replication_role = origin")
    assert db.execute("SELECT tenant_id FROM audit_logs WHERE id = %s",
                      (old,)).fetchone() == (None,)
    for other in archive.tenants():
        with session(db, other):
            assert (old in visible(db, "audit_logs")) == (other == tenant)


# --- writing -----------------------------------------------------------------------------------

def _update(table: str, ids, column: str | None = None, value=None) -> tuple:
    column, value = (column, value) if column else HARMLESS[table]
    return (sql.SQL("UPDATE {} SET {} = %s WHERE id = ANY(%s)").format(
        sql.Identifier(table), sql.Identifier(column)), (value, list(ids)))


def _delete(table: str, ids) -> tuple:
    return (sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)),
            (list(ids),))


def rows_changed(db, statement: tuple) -> str | int:
    """How many rows the statement changed, or the error it raised (in a savepoint)."""
    changed = []
    error = attempt_to(db, lambda: changed.append(db.execute(*statement).rowcount))
    return changed[0] if error is None else describe(error)


def _untouchable(table: str, answer) -> bool:
    """0 rows changed; for an append-only table, refused outright."""
    if table in APPEND_ONLY:
        return isinstance(answer, str) and sqlstate(answer) == RLS_DENIED
    return answer == 0


@pytest.mark.parametrize("scoped", TABLES)
def test_another_tenants_rows_can_be_neither_updated_nor_deleted(db, archive, scoped):
    mine, other = archive.tenants()
    theirs = archive.of(scoped, other)
    with session(db, mine):
        updated = rows_changed(db, _update(scoped, theirs))
        deleted = rows_changed(db, _delete(scoped, theirs))
    assert (_untouchable(scoped, updated), _untouchable(scoped, deleted)) == (True, True), \
        f"{scoped}: UPDATE gave {updated}, DELETE gave {deleted}"
    with session(db, mine):  # the control: the same statements reach the tenant's own rows
        if scoped not in APPEND_ONLY:
            assert rows_changed(db, _update(scoped, archive.of(scoped, mine))) == \
                len(archive.of(scoped, mine))


@pytest.mark.parametrize("scoped", TABLES)
def test_a_row_of_another_tenant_cannot_be_written(db, archive, scoped):
    mine, other = archive.tenants()
    with session(db, mine):
        answer = describe(attempt_to(db, lambda: rows.new(
            db, scoped, **new_row(db, scoped, other, archive))))
        own = describe(attempt_to(db, lambda: rows.new(
            db, scoped, **new_row(db, scoped, mine, archive)))) if scoped != "tenants" else None
    assert sqlstate(answer) == refused(scoped), f"{scoped}: a row of another tenant: {answer}"
    if own is not None:
        assert own == ACCEPTED, f"{scoped}: a row of the session's own tenant: {own}"


@pytest.mark.parametrize("scoped", TABLES)
def test_without_a_context_nothing_can_be_written(db, archive, scoped):
    tenant = archive.tenants()[0]
    with session(db):
        answer = describe(attempt_to(db, lambda: rows.new(
            db, scoped, **new_row(db, scoped, tenant, archive))))
    assert sqlstate(answer) == refused(scoped), f"{scoped}: {answer}"


@pytest.mark.parametrize("scoped", TABLES)
def test_a_row_cannot_be_moved_to_another_tenant(db, archive, scoped):
    mine, other = archive.tenants()
    column = TENANT_COLUMN[scoped]
    with session(db, mine):
        answer = rows_changed(db, _update(scoped, archive.of(scoped, mine), column, other))
    assert isinstance(answer, str) and sqlstate(answer) == RLS_DENIED, f"{scoped}: {answer}"


# --- tenant_id filled from the parent ----------------------------------------------------------

@pytest.mark.parametrize("child", ["emails", "attachments"])
def test_a_child_left_without_tenant_gets_its_parents(db, archive, child):
    tenant = archive.tenants()[1]
    with session(db, tenant):
        row = rows.new(db, child, **new_row(db, child, tenant, archive))
        assert row["tenant_id"] == tenant


@pytest.mark.parametrize("child, parent", [("emails", "mailbox_id"),
                                           ("attachments", "email_id")])
def test_a_child_cannot_claim_another_tenant_than_its_parents(db, archive, child, parent):
    """The composite foreign key: the copy of the tenant always equals the parent's."""
    mine, other = archive.tenants()
    answer = describe(attempt_to(db, lambda: rows.new(
        db, child, tenant_id=other, **new_row(db, child, mine, archive))))
    assert answer == f"23503 {child}_{parent}_tenant_id_fkey"


def test_an_audit_row_gets_the_tenant_of_its_user_else_of_the_session(db, archive):
    mine, _other = archive.tenants()
    with session(db, mine):
        by_user = rows.audit_log(db, user_id=archive.parents[mine]["users"][0])
        by_system = rows.audit_log(db)
        assert (by_user["tenant_id"], by_system["tenant_id"]) == (mine, mine)


# --- properties over generated archives --------------------------------------------------------

#: Generated archives per property: the ci and thorough profiles (100 examples and more, CI)
#: reach 4 x 2,500 = 10,000; the current profile is loaded before tests are collected.
THOROUGH = settings().max_examples >= 100
EXAMPLES = 2500 if THOROUGH else 5

SHAPES = st.builds(
    Shape,
    users=st.integers(1, 2),
    mailboxes=st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=2).map(tuple),
                       min_size=1, max_size=2).map(tuple),
    jobs=st.integers(0, 2),
    audit_rows=st.integers(0, 2),
)
ARCHIVES = st.lists(SHAPES, min_size=2, max_size=4)
property_settings = settings(max_examples=EXAMPLES,
                             suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow])


@property_settings
@given(shapes=ARCHIVES, msp_rows=st.booleans(), data=st.data())
def test_property_each_context_sees_exactly_its_rows(db, shapes, msp_rows, data):
    with db.transaction(force_rollback=True):
        archive = build(db, shapes, msp_rows)
        tenant = data.draw(st.sampled_from([*archive.tenants(), None, "msp"]), label="context")
        with session(db, None if tenant == "msp" else tenant, msp_wide=tenant == "msp"):
            leaks = {table: visible(db, table) ^ (
                archive.everything(table) if tenant == "msp" else
                archive.of(table, tenant) if tenant else set()) for table in TABLES}
    assert {table: ids for table, ids in leaks.items() if ids} == {}


def _contents(db) -> dict[str, tuple]:
    """Each table's row count and a digest of all its rows, as its owner sees them."""
    return {table: db.execute(sql.SQL("SELECT count(*), md5(string_agg(t::text, '' "
                                      "ORDER BY t.id)) FROM {} AS t").format(
        sql.Identifier(table))).fetchone() for table in TABLES}


@property_settings
@given(shapes=ARCHIVES, data=st.data())
def test_property_other_tenants_rows_cannot_be_changed(db, shapes, data):
    with db.transaction(force_rollback=True):
        archive = build(db, shapes)
        tenant = data.draw(st.sampled_from(archive.tenants()), label="tenant")
        others = {table: archive.everything(table) - archive.of(table, tenant)
                  for table in TABLES}
        before = _contents(db)
        with session(db, tenant):
            answers = {table: (rows_changed(db, _update(table, others[table])),
                               rows_changed(db, _delete(table, others[table])))
                       for table in TABLES}
        # Nothing else changed either: seen again through the owner.
        after = _contents(db)
    assert {t: a for t, a in answers.items() if not all(_untouchable(t, x) for x in a)} == {}
    assert after == before


@property_settings
@given(shapes=ARCHIVES, data=st.data())
def test_property_rows_of_other_tenants_cannot_be_written(db, shapes, data):
    with db.transaction(force_rollback=True):
        archive = build(db, shapes, msp_rows=False)
        tenant, other = data.draw(st.permutations(archive.tenants()), label="tenants")[:2]
        table = data.draw(st.sampled_from(TABLES), label="table")
        with session(db, tenant):
            answer = describe(attempt_to(db, lambda: rows.new(
                db, table, **new_row(db, table, other, archive))))
    assert sqlstate(answer) == refused(table), f"{table}: {answer}"


@property_settings
@given(shapes=ARCHIVES, data=st.data())
def test_property_no_row_moves_to_another_tenant(db, shapes, data):
    with db.transaction(force_rollback=True):
        archive = build(db, shapes, msp_rows=False)
        tenant, other = data.draw(st.permutations(archive.tenants()), label="tenants")[:2]
        with session(db, tenant):
            answers = {table: rows_changed(db, _update(table, archive.of(table, tenant),
                                                       TENANT_COLUMN[table], other))
                       for table in TABLES if archive.of(table, tenant)}
    assert {t: a for t, a in answers.items()
            if not (isinstance(a, str) and sqlstate(a) == RLS_DENIED)} == {}
