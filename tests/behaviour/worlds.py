"""Non-interference (D16): two archives identical for tenant A, different for everyone else.

A case is A's archive, two versions of the other tenants' archives, and operations run in A's
context. The other tenants' rows are drawn from the same small pools as A's (message ids,
mailbox addresses, senders, attachment hashes), so they collide with A's values on purpose,
and their ids from one pool that the operations name too: an id may be B's mailbox in one
world, B's e-mail in the other and nothing in a third. The two things not drawn per world are
what the schema accepts as channels (the contract's ``tenant_boundary``, guarded in
test_non_interference.py): primary keys (the operations insert fresh ids or A's own, never
another tenant's) and users.email (other tenants' users have addresses of their own domain).
MSP admins are no tenant's data: the same one exists in both worlds.

Each world is built and run in a savepoint of one transaction, so ``now()`` is the same in
both, and rolled back. Observed, per operation: the rows returned (sorted when the statement
orders nothing) and affected, or the error's SQLSTATE, message and detail; after all of them,
A's own rows as the owner reads them. The other tenants' rows must come out unchanged too.
"""

import datetime
import hashlib
import re
import uuid
from dataclasses import dataclass

import psycopg
from hypothesis import strategies as st
from psycopg import sql

from bench.queries import QUERIES

from . import rows
from .outcomes import attempt_to
from .tenancy import APP_ROLE, TENANT_COLUMN

A = uuid.UUID("a0000000-0000-4000-8000-000000000000")
OTHER_TENANTS = (uuid.UUID("b0000000-0000-4000-8000-000000000001"),
                 uuid.UUID("b0000000-0000-4000-8000-000000000002"))
MSP_ADMIN = uuid.UUID("c0000000-0000-4000-8000-000000000000")


def _ids(prefix: int, count: int) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(int=(prefix << 124) | (0x4000_8000 << 32) | n) for n in range(count))


#: Ids of A's rows, of the other tenants' rows, and of rows the operations insert.
A_IDS, OTHER_IDS, FRESH_IDS = _ids(0xA, 24), _ids(0xB, 48), _ids(0xF, 6)
MESSAGE_IDS = ("AAMkA-1=", "AAMkA-2=", "aamka-1=", "AAMkA-3=")
ADDRESSES = ("ceo@x.test", "CEO@x.test", "sales@x.test", "ops@x.test")
SENDERS = ("boss@x.test", "Boss@x.test", "spam@y.test")
HASHES = tuple(hashlib.sha256(str(n).encode()).hexdigest() for n in range(3))
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TABLE_ORDER = ("tenants", "users", "mailboxes", "emails", "attachments", "jobs", "audit_logs")


# --- archives --------------------------------------------------------------------------------

@st.composite
def archive(draw, tenant: uuid.UUID, ids, distinct_times: bool) -> dict[str, list[dict]]:
    """One tenant's rows, ``{table: [row, ...]}``, ids taken from ``ids`` in order. A's
    (``distinct_times``) order keys are all different, so an ORDER BY answers one way."""
    next_id = iter(ids).__next__
    times = (lambda n: T0 + datetime.timedelta(hours=n)) if distinct_times else \
        (lambda _n: draw(st.sampled_from([T0, T0 + datetime.timedelta(hours=1)])))
    made = {table: [] for table in TABLE_ORDER}
    made["tenants"].append({
        "id": tenant, "name": f"Tenant {tenant}", "azure_tenant_id": uuid.UUID(int=~tenant.int
                                                                                 & (2**128 - 1)),
        "azure_app_id": tenant, "azure_app_secret": rows.encrypted("secret"),
        "legal_hold": draw(st.booleans())})
    for n in range(draw(st.integers(0, 2))):
        made["users"].append({
            "id": next_id(), "tenant_id": tenant, "email": f"user{n}@{tenant}.test",
            "password_hash": "$2b$12$x", "display_name": f"User {n}",
            "role": draw(st.sampled_from(["TENANT_ADMIN", "USER"]))})
    addresses = draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=2,
                              unique_by=str.lower))
    for address in addresses:
        made["mailboxes"].append({"id": next_id(), "tenant_id": tenant, "email_address": address,
                                  "mailbox_type": "USER"})
    for n, message_id in enumerate(draw(st.lists(st.sampled_from(MESSAGE_IDS), max_size=4,
                                                 unique=True))):
        mailbox = draw(st.sampled_from(made["mailboxes"]))
        made["emails"].append({
            "id": next_id(), "tenant_id": tenant, "mailbox_id": mailbox["id"],
            "message_id": message_id, "sender": draw(st.sampled_from(SENDERS)),
            "sent_at": times(n), "size_bytes": 1, "file_path": f"/data/{message_id}",
            "deleted_at": draw(st.sampled_from([None, T0]))})
    for email in draw(st.lists(st.sampled_from(made["emails"]), max_size=2)) \
            if made["emails"] else []:
        digest = draw(st.sampled_from(HASHES))
        made["attachments"].append({
            "id": next_id(), "tenant_id": tenant, "email_id": email["id"], "filename": "a.pdf",
            "size_bytes": 1, "sha256_hash": digest, "file_path": f"/data/{digest}"})
    users = [None, MSP_ADMIN, *(user["id"] for user in made["users"])]
    for n in range(draw(st.integers(0, 2))):
        mailbox = draw(st.sampled_from([None, *made["mailboxes"]]))
        made["jobs"].append({
            "id": next_id(), "tenant_id": tenant, "mailbox_id": mailbox and mailbox["id"],
            "user_id": draw(st.sampled_from(users)), "created_at": times(n),
            "type": "SYNC_MAILBOX", "status": draw(st.sampled_from(["QUEUED", "RUNNING"]))})
    for n in range(draw(st.integers(0, 2))):
        made["audit_logs"].append({"id": next_id(), "tenant_id": tenant, "action": "LOGIN",
                                   "user_id": draw(st.sampled_from(users)),
                                   "timestamp": times(n)})
    return made


@st.composite
def others(draw) -> list[dict]:
    """The other tenants' archives of one world: none, one or both, ids in a drawn order."""
    ids = iter(draw(st.permutations(OTHER_IDS)))
    tenants = draw(st.lists(st.sampled_from(OTHER_TENANTS), unique=True, max_size=2))
    return [draw(archive(tenant, [next(ids) for _ in range(24)], distinct_times=False))
            for tenant in tenants]


# --- operations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    statement: str
    params: tuple = ()

    def __repr__(self):
        return f"{self.statement} -- {self.params}" if self.params else self.statement


#: What operations name: A's ids, other tenants' ids, fresh ones; tenants; pooled values.
ANY_ID = st.sampled_from(A_IDS[:12] + OTHER_IDS[:24] + FRESH_IDS)
NEW_IDS = FRESH_IDS + A_IDS[:4]  # A's own too: a primary-key conflict with itself
NEW_ID = st.sampled_from(NEW_IDS)
#: A new row's id and its time (sent_at, created_at, "timestamp"): one of its own, so that
#: ORDER BY has no ties, whose order would be the heap's and so depend on other rows.
NEW_ROW = st.sampled_from([(new, T0 - datetime.timedelta(hours=1 + n))
                           for n, new in enumerate(NEW_IDS)])
TENANT = st.sampled_from((A, *OTHER_TENANTS))
USER = st.sampled_from((None, MSP_ADMIN)) | ANY_ID
PARAMETERS = {"mailbox_id": ANY_ID, "user_id": ANY_ID, "tenant_id": TENANT,
              "message_id": st.sampled_from(MESSAGE_IDS), "sender": st.sampled_from(SENDERS),
              "sha256_hash": st.sampled_from(HASHES), "since": st.just(T0),
              "until": st.just(T0 + datetime.timedelta(days=30))}


def _catalogue_query(query):
    names = sorted(set(re.findall(r"%\((\w+)\)s", query.sql)))
    return st.fixed_dictionaries({name: PARAMETERS[name] for name in names}).map(
        lambda params: Operation(query.sql, params))


def _op(statement: str, *params):
    """An operation whose parameters are drawn from ``params`` (a drawn tuple fills several)."""
    def flat(values):
        return tuple(v for value in values
                     for v in (value if isinstance(value, tuple) else (value,)))
    return st.tuples(*params).map(lambda values: Operation(statement, flat(values)))


ON_CONFLICT_EMAIL = ("", " ON CONFLICT (tenant_id, message_id) DO NOTHING",
                     " ON CONFLICT (tenant_id, message_id) DO UPDATE SET subject = 'upserted'")
WRITES = [
    *(_op("INSERT INTO emails (id, sent_at, mailbox_id, message_id, size_bytes, file_path) "
          "VALUES (%s, %s, %s, %s, 1, '/new')" + conflict + " RETURNING id, tenant_id, subject",
          NEW_ROW, ANY_ID, st.sampled_from(MESSAGE_IDS)) for conflict in ON_CONFLICT_EMAIL),
    _op("INSERT INTO emails (id, sent_at, tenant_id, mailbox_id, message_id, size_bytes, "
        "file_path) VALUES (%s, %s, %s, %s, %s, 1, '/new') RETURNING id",
        NEW_ROW, TENANT, ANY_ID, st.sampled_from(MESSAGE_IDS)),
    *(_op("INSERT INTO mailboxes (id, tenant_id, email_address, mailbox_type) "
          "VALUES (%s, %s, %s, 'USER')" + conflict + " RETURNING id",
          NEW_ID, TENANT, st.sampled_from(ADDRESSES))
      for conflict in ("", " ON CONFLICT (tenant_id, lower(email_address)) DO NOTHING")),
    _op("INSERT INTO attachments (id, email_id, filename, size_bytes, sha256_hash, file_path) "
        "VALUES (%s, %s, 'n.pdf', 1, %s, '/new') RETURNING id, tenant_id",
        NEW_ID, ANY_ID, st.sampled_from(HASHES)),
    _op("INSERT INTO jobs (id, created_at, type, status, tenant_id, mailbox_id, user_id) "
        "VALUES (%s, %s, 'EXPORT', 'QUEUED', %s, %s, %s) RETURNING id",
        NEW_ROW, st.sampled_from((A, None)), st.none() | ANY_ID, USER),
    _op('INSERT INTO audit_logs (id, "timestamp", action, user_id) VALUES (%s, %s, \'EXPORT\', %s) '
        "RETURNING id, tenant_id", NEW_ROW, USER),
    *(_op("INSERT INTO users (id, tenant_id, email, password_hash, display_name, role) "
          f"VALUES (%s, %s, %s, '$2b$12$x', 'New', 'USER'){conflict} RETURNING id",
          NEW_ID, TENANT, st.sampled_from([f"user0@{A}.test", f"new@{A}.test"]))
      for conflict in ("", " ON CONFLICT (lower(email)) DO NOTHING")),
    _op("UPDATE emails SET subject = 'changed' WHERE id = %s RETURNING id", ANY_ID),
    _op("UPDATE emails SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL "
        "RETURNING id", ANY_ID),
    _op("UPDATE jobs SET mailbox_id = %s, user_id = %s WHERE id = %s RETURNING id",
        st.none() | ANY_ID, USER, ANY_ID),
    *(_op(f"UPDATE {table} SET tenant_id = %s WHERE id = %s RETURNING id", TENANT, ANY_ID)
      for table in ("users", "mailboxes", "jobs")),
    _op("UPDATE tenants SET azure_tenant_id = %s WHERE id = %s RETURNING id",
        st.sampled_from([uuid.UUID(int=~t.int & (2**128 - 1)) for t in OTHER_TENANTS]), TENANT),
    *(_op(f"DELETE FROM {table} WHERE id = %s RETURNING id", ANY_ID)
      for table in ("emails", "attachments", "mailboxes", "jobs", "users", "audit_logs")),
]
#: The context misused: a session-level SET (000002's settings and 000003's), a reset value,
#: a context forged with an old start, a malformed or NULL tenant.
CONTEXT_MISUSE = [
    *(st.sampled_from(OTHER_TENANTS).map(lambda b, s=statement: Operation(s.format(B=b)))
      for statement in ("SET app.tenant_id = '{B}'", "SET app.tenant_context = '0 {B}'")),
    st.just(Operation("SET app.msp_wide = 'on'")),
    st.just(Operation("SELECT set_config('app.tenant_context', '', true)")),
    st.just(Operation("RESET app.tenant_context")),
    st.just(Operation("SELECT set_tenant('not-a-uuid')")),
    st.just(Operation("SELECT set_tenant(NULL)")),
]
OPERATIONS = st.one_of(*map(_catalogue_query, QUERIES), *WRITES, *CONTEXT_MISUSE)


@dataclass(frozen=True)
class Case:
    mine: dict
    worlds: tuple[list, list]
    others_first: bool
    operations: list


CASES = st.builds(Case, mine=archive(A, A_IDS, distinct_times=True),
                  worlds=st.tuples(others(), others()), others_first=st.booleans(),
                  operations=st.lists(OPERATIONS, min_size=1, max_size=6))


# --- running a world -------------------------------------------------------------------------

class Unbuildable(Exception):
    """The schema refuses the world itself (000002: a message id in two tenants)."""


def _build(db: psycopg.Connection, archives: list[dict]) -> None:
    try:
        _insert_all(db, archives)
    except psycopg.Error as error:
        raise Unbuildable(str(error)) from error


def _insert_all(db: psycopg.Connection, archives: list[dict]) -> None:
    rows.insert(db, "users", id=MSP_ADMIN, email="msp@msp.test", password_hash="$2b$12$x",
                display_name="MSP admin", role="MSP_ADMIN")
    for table in TABLE_ORDER:
        for made in archives:
            for row in made[table]:
                rows.insert(db, table, **row)


#: What each table's rows are compared by, in order: by id, but audit rows by the time the
#: server wrote them and without it (D19: its clock, not the data) or the id (the rows the
#: schema writes itself, D18, draw a random one), so two runs of one world compare equal.
COMPARED = {table: (sql.SQL("to_jsonb(t) - 'azure_app_secret'"), sql.SQL("id"))
            for table in TENANT_COLUMN}
COMPARED["audit_logs"] = (sql.SQL("to_jsonb(t) - 'id' - 'timestamp'"),
                          sql.SQL('"timestamp", id'))


def tenant_rows(db: psycopg.Connection, tenants) -> dict[str, list]:
    """Every row of ``tenants`` in every table, as the owner reads it (the secret's ciphertext,
    salted anew by each encryption, left out), as COMPARED says."""
    return {table: [r[0] for r in db.execute(sql.SQL(
        "SELECT {} FROM {} t WHERE {} = ANY(%s) ORDER BY {}"
    ).format(COMPARED[table][0], sql.Identifier(table), sql.Identifier(column),
             COMPARED[table][1]), (list(tenants),))]
        for table, column in TENANT_COLUMN.items()}


def observe(db: psycopg.Connection, operation: Operation) -> tuple:
    """What A's context sees of one operation (in a savepoint: an error undoes only it)."""
    done = []
    error = attempt_to(db, lambda: done.append(db.execute(operation.statement,
                                                          operation.params or None)))
    if error is not None:
        diag = error.diag
        return ("error", diag.sqlstate, diag.message_primary, diag.message_detail)
    cursor = done[0]
    returned = cursor.fetchall() if cursor.description else None
    if returned and "ORDER BY" not in operation.statement:
        returned = sorted(returned, key=repr)
    return ("done", cursor.rowcount, returned)


def name_the_tenant(db: psycopg.Connection, tenant: uuid.UUID) -> None:
    """The application's way for the schema at hand: set_tenant() since 000003, before it
    000002's SET LOCAL (as a parameter, through set_config)."""
    if db.execute("SELECT to_regprocedure('set_tenant(uuid)') IS NOT NULL").fetchone()[0]:
        db.execute("SELECT set_tenant(%s)", (tenant,))
    else:
        db.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


@dataclass(frozen=True)
class Observed:
    operations: list
    mine_after: dict
    others_unchanged: bool


def run_world(db: psycopg.Connection, case: Case, world: int) -> Observed:
    others_ = case.worlds[world]
    with db.transaction(force_rollback=True):
        _build(db, [*others_, case.mine] if case.others_first else [case.mine, *others_])
        other_ids = [made["tenants"][0]["id"] for made in others_]
        others_before = tenant_rows(db, other_ids)
        db.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(APP_ROLE)))
        name_the_tenant(db, A)
        seen = [observe(db, operation) for operation in case.operations]
        db.execute("RESET ROLE")
        return Observed(seen, tenant_rows(db, [A]), tenant_rows(db, other_ids) == others_before)


def difference(db: psycopg.Connection, case: Case) -> str | None:
    """The first thing A's context sees differently in the two worlds, or None."""
    with db.transaction(force_rollback=True):  # one transaction: the same now() in both
        first, second = run_world(db, case, 0), run_world(db, case, 1)
    for operation, one, two in zip(case.operations, first.operations, second.operations,
                                   strict=True):
        if one != two:
            return f"{operation!r}\n  world 1: {one}\n  world 2: {two}"
    if first.mine_after != second.mine_after:
        return f"A's own rows afterwards differ:\n  world 1: {first.mine_after}\n" \
               f"  world 2: {second.mine_after}"
    for n, observed in enumerate((first, second), 1):
        if not observed.others_unchanged:
            return f"world {n}: the operations in A's context changed another tenant's rows"
    return None
