"""Issue 16, item 5: legal hold, retention and the audit trail, played by the constrained party.

``Compliance`` is a Hypothesis state machine over two tenants, A and B. Its actors are the
tenants' admins (the application's role in ``set_tenant()``'s context), the MSP
(``set_msp_wide()``), the application with no context at all, the retention job
(``purge_expired_emails()`` in any of those contexts, a batch of 1 to 3), and, for hold,
retention and purges, the schema's owner, whom row-level security does not restrict. They
place and lift holds, change retention, receive, delete, soft-delete and restore mail, delete
attachments, mailboxes and whole tenants (cascades), purge expired mail batch by batch, record
actions of their own in a tenant's audit trail, and create a tenant anew where one was
deleted. Mail arrives already old (0 to 3,000 days), so purges have work.

A model predicts every answer (rows affected, SQLSTATE, what a purge removes) and every audit
row. After every step, in this order, each failure naming the tenant or row with want and have:

- ``tenant context refused``: no step of the application outside the MSP context changes any
  tenant's legal_hold or retention_policy_days, and a tenant admin's attempt to change its
  own is refused with IA002 (D18);
- ``held mail stays``: no e-mail or attachment of a tenant under legal hold (before or after
  the step, in the database or by the MSP's decisions as the model keeps them), or that was
  in such a tenant, is gone, newly soft-deleted or rewritten (000007); mail may go once the
  MSP lifted the hold (IA001, D21);
- ``every change recorded``: each tenant's LEGAL_HOLD_* and RETENTION_POLICY_CHANGED rows,
  in chain order, link old to new without a gap and replay to its legal_hold and
  retention_policy_days (D18): no change unrecorded, and no record of a change not made;
- ``chain verifies``: ``verify_audit_chain()`` returns no row (D20);
- ``as modelled``: the step's answer, the rows of both tenants and their audit trails are
  the model's, down to each audit row's old, new, counts and user (D3, D18, D21).

Examples share the test's ``db`` transaction: each sequence runs in a savepoint, rolled back
by ``teardown``, with ``SET CONSTRAINTS ALL IMMEDIATE`` so each audit row is sealed when its
statement ends instead of at a COMMIT that never comes; or (``World.commits``) each action is
a transaction of its own on a database of the test's own. ``checks`` runs a subset (the tests
that show each property can fail select the one they break).

``WithMoves`` and ``WithForgedRecords`` add one action each that the schema gets wrong (held
mail moved out of its tenant, a hold record written by the application): kept out of
``Compliance`` until the schema is fixed, the gaps replayed by xfail tests.
"""

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import psycopg
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from psycopg.types.json import Jsonb

from .tenancy import APP_ROLE

CHECKS = ("tenant context refused", "held mail stays", "every change recorded",
          "chain verifies", "as modelled")
SLOTS = ("A", "B")
MSP = "MSP"
NO_CONTEXT = "app, no context"
#: The schema's owner (the test's superuser), whom row-level security does not restrict.
OWNER = "owner"
ADMINS = {"admin of A": "A", "admin of B": "B"}
#: Who acts, said of the row acted on: the admin of its tenant, the MSP, the other tenant's
#: admin (who must not even see it); steps name them as "admin of A", "MSP", ...
ITS_ADMIN, OTHER_ADMIN = "its admin", "the other admin"
PARTIES = st.sampled_from([ITS_ADMIN, MSP, OTHER_ADMIN])
#: Who tries to govern or purge: also the application without any context, and the owner.
ANYONE = st.sampled_from([ITS_ADMIN, MSP, OTHER_ADMIN, NO_CONTEXT, OWNER])
TENANTS = st.sampled_from(SLOTS)
RETENTION_DAYS = st.sampled_from([1, 30, 365, 2555])
#: Ages in days; an e-mail of age d is also serial seconds older, so d >= retention expires it.
#: Oldest first: Hypothesis's simplest draw is the first, and that one always expires.
AGES = st.sampled_from([3000, 400, 30, 1, 0])
#: What one sync delivers: e-mails as (age in days, number of attachments).
MAIL = st.lists(st.tuples(AGES, st.integers(0, 2)), min_size=1, max_size=4)
#: Which of the mailboxes (e-mails) that exist, in the order they were made, modulo their number.
PICK = st.integers(0, 15)
GOVERNED = ("LEGAL_HOLD_PLACED", "LEGAL_HOLD_LIFTED", "RETENTION_POLICY_CHANGED")
#: The actions only the schema (its triggers) and the owner may write (000004, IA003).
RESERVED = (*GOVERNED, "AUDIT_HISTORY_SEALED")
#: The details an audit row's model predicts, by action (the rest: times, roles).
DETAILS = {**{action: ("column", "old", "new", "context") for action in GOVERNED},
           "RETENTION_PURGE": ("emails", "attachments", "retention_policy_days", "batch_size"),
           "RETENTION_PURGE_HELD": ("retention_policy_days", "batch_size")}


def _id(prefix: int, run: int, number: int) -> str:
    """A readable uuid: the kind in its first digit, the sequence in its second group, a
    counter in its last."""
    return str(uuid.UUID(int=(prefix << 124) | (run << 80) | (0x4000_8000 << 32) | number))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _rows(count: int) -> str:
    return _count(count, "row")


# --- the schema at hand ----------------------------------------------------------------------

@dataclass(frozen=True)
class Features:
    """What the schema under test has (000003's has none of 000004's functions)."""
    purge: bool
    chain: bool
    acting_user: bool
    preserved: bool  # 000007: held mail is not rewritten

    @property
    def reserved(self) -> bool:
        """000004 keeps the schema's own audit actions to the schema (with the chain)."""
        return self.chain

    @classmethod
    def of(cls, db: psycopg.Connection) -> "Features":
        found = db.execute(
            "SELECT to_regprocedure('purge_expired_emails(uuid, integer)') IS NOT NULL, "
            "to_regclass('audit_log_seals') IS NOT NULL, "
            "to_regprocedure('set_acting_user(uuid)') IS NOT NULL, "
            "to_regprocedure('preserve_held_mail()') IS NOT NULL").fetchone()
        return cls(*found)


@dataclass
class World:
    """What the machines play on: a connection, what its schema has, a tenant secret
    (pgp_sym_encrypt output, made once), and how each action ends. By default (``db``'s
    transaction) each sequence is a savepoint rolled back afterwards, with SET CONSTRAINTS ALL
    IMMEDIATE; with ``commits`` (an autocommit connection to a database of the test's own)
    each action is a transaction of its own, committed, so the deferred seal runs at COMMIT as
    in production, and the sequences' rows stay (ids and addresses carry the sequence's run).

    ``renew_every``: end ``db``'s transaction after that many sequences (their work is undone
    already). Rows a transaction wrote are counted dead only when it ends, so in one long
    transaction autovacuum never reclaims the sequences' rolled-back rows, the tables grow,
    and verify_audit_chain(), which reads them whole after every step, slows down with every
    sequence. Not for a test whose transaction holds work of its own (a disabled trigger)."""
    db: psycopg.Connection
    features: Features
    secret: bytes
    commits: bool = False
    renew_every: int | None = None
    runs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def on(cls, db: psycopg.Connection, commits: bool = False,
           renew_every: int | None = None) -> "World":
        secret = db.execute("SELECT pgp_sym_encrypt('secret', 'encryption_key_from_config')"
                            ).fetchone()
        assert secret is not None
        return cls(db, Features.of(db), secret[0], commits, renew_every)


@dataclass(frozen=True)
class Acting:
    """Who runs an action: the application's role in a tenant's context, the MSP's or none,
    as an application user (set_acting_user(), where the schema has it); or the owner."""
    tenant: str | None = None
    msp_wide: bool = False
    user: str | None = None
    owner: bool = False


def acting_script(world: World, who: Acting, statements: list[tuple[str, tuple]],
                  then: str) -> tuple[str, int]:
    """One simple-protocol script: a savepoint, the role and context, the statements, the
    role and context undone (set with set_config(..., true), they would hold for the rest of
    the test's one transaction, whose start is the stamp the context functions compare), the
    savepoint released, then ``then``; or, with ``world.commits``, BEGIN, the role and
    context, the statements, COMMIT, ``then``. Values are bound by psycopg on the client
    (``mogrify``), so the whole action is one round trip on a shared machine. Returns the
    script and the index of the last statement's result."""
    features = world.features
    bind = psycopg.ClientCursor(world.db).mogrify
    context = ["1"] if who.owner else [bind("set_config('role', %s, true)", (APP_ROLE,))]
    if who.tenant is not None:
        context.append(bind("set_tenant(%s)", (who.tenant,)))
    if who.msp_wide:
        context.append("set_msp_wide()")
    if who.user is not None and features.acting_user:
        context.append(bind("set_acting_user(%s)", (who.user,)))
    begin, end = ("BEGIN", ["COMMIT"]) if world.commits else (
        "SAVEPOINT acting", ["RESET ROLE", "SELECT set_config('app.tenant_context', '', true), "
                             "set_config('app.acting_user', '', true)",
                             "RELEASE SAVEPOINT acting"])
    script = [begin, "SELECT " + ", ".join(context),
              *(bind(statement, params) for statement, params in statements), *end, then]
    return ";\n".join(script), 1 + len(statements)


def undo_script(world: World) -> str:
    """What ends an action that failed: its savepoint, or its transaction, rolled back."""
    return "ROLLBACK" if world.commits else \
        "ROLLBACK TO SAVEPOINT acting; RELEASE SAVEPOINT acting"


def _results(cursor: psycopg.Cursor) -> list[tuple[int, list]]:
    """Each statement's rowcount and rows, of a script."""
    results = []
    while True:
        results.append((cursor.rowcount, cursor.fetchall() if cursor.description else []))
        if not cursor.nextset():
            return results


@dataclass(frozen=True)
class Answer:
    """What the database answered to one action: its last statement's rows, or the error."""
    sqlstate: str | None = None
    message: str | None = None
    rowcount: int = 0
    returned: tuple = ()

    def summary(self) -> str:
        return self.sqlstate if self.sqlstate else _rows(self.rowcount)


# --- the database as read after each step ----------------------------------------------------

SNAPSHOT = """
SELECT
    (SELECT coalesce(jsonb_object_agg(id, jsonb_build_array(legal_hold, retention_policy_days)),
                     '{{}}') FROM tenants WHERE id = ANY(%(tenants)s::uuid[])),
    (SELECT coalesce(jsonb_agg(id), '[]') FROM users WHERE tenant_id = ANY(%(tenants)s::uuid[])),
    (SELECT coalesce(jsonb_agg(id), '[]') FROM mailboxes
     WHERE tenant_id = ANY(%(tenants)s::uuid[])),
    (SELECT coalesce(jsonb_object_agg(id, jsonb_build_array(tenant_id, deleted_at IS NOT NULL,
                                                            file_path)),
                     '{{}}') FROM emails WHERE tenant_id = ANY(%(tenants)s::uuid[])),
    (SELECT coalesce(jsonb_object_agg(id, jsonb_build_array(tenant_id, email_id)), '{{}}')
     FROM attachments WHERE tenant_id = ANY(%(tenants)s::uuid[])),
    (SELECT coalesce(jsonb_agg(jsonb_build_array(entries.tenant_id, entries.action,
                                                 entries.details, entries.user_id)
                               ORDER BY entries.tenant_id, {order}), '[]')
     FROM audit_logs AS entries {seals} WHERE entries.tenant_id = ANY(%(tenants)s::uuid[])),
    {breaks}
"""
#: With the chain (000004 on): audit rows in chain order, and verify_audit_chain()'s breaks.
SNAPSHOT_WITH_CHAIN = SNAPSHOT.format(
    order='seals.seq, entries."timestamp", entries.id',
    seals="LEFT JOIN audit_log_seals AS seals ON seals.audit_log_id = entries.id",
    breaks="(SELECT coalesce(jsonb_agg(to_jsonb(breaks)), '[]') FROM verify_audit_chain() "
           "AS breaks)")
SNAPSHOT_WITHOUT_CHAIN = SNAPSHOT.format(order='entries."timestamp", entries.id', seals="",
                                         breaks="'[]'::jsonb")


@dataclass(frozen=True)
class Snapshot:
    """The rows of the tenants a sequence made, as the owner reads them."""
    tenants: dict = field(default_factory=dict)      # id -> [legal_hold, retention days]
    users: frozenset = frozenset()
    mailboxes: frozenset = frozenset()
    emails: dict = field(default_factory=dict)       # id -> [tenant id, soft-deleted, file]
    attachments: dict = field(default_factory=dict)  # id -> [tenant id, e-mail id]
    audit: tuple = ()                                # (tenant id, action, details, user id)
    breaks: tuple = ()                               # verify_audit_chain()'s rows

    @staticmethod
    def query(db: psycopg.Connection, tenants: list[str], features: Features) -> str:
        """The query reading the rows of ``tenants`` (values bound: it ends a script)."""
        query = SNAPSHOT_WITH_CHAIN if features.chain else SNAPSHOT_WITHOUT_CHAIN
        return psycopg.ClientCursor(db).mogrify(query, {"tenants": tenants})

    @classmethod
    def of(cls, row: tuple) -> "Snapshot":
        tenants, users, mailboxes, emails, attachments, audit, breaks = row
        return cls(tenants, frozenset(users), frozenset(mailboxes), emails, attachments,
                   tuple(tuple(entry) for entry in audit), tuple(breaks))

    def trail(self, tenant: str) -> list[tuple]:
        return [entry for entry in self.audit if entry[0] == tenant]


# --- the model -------------------------------------------------------------------------------

@dataclass(eq=False)
class Tenant:
    label: str  # A1: the first tenant in slot A; A2 the one created after A1 was deleted
    id: str
    admin: str  # its TENANT_ADMIN user
    hold: bool
    days: int
    exists: bool = True
    created_days: int = 0  # the retention it was created with: not an audit row (D18)


@dataclass(eq=False)
class Mailbox:
    label: str
    id: str
    tenant: Tenant
    exists: bool = True


@dataclass(eq=False)
class Email:
    label: str
    id: str
    tenant: Tenant
    mailbox: Mailbox
    age: int     # days
    serial: int  # seconds older still: no two e-mails are sent at the same instant
    file_path: str  # what the row says: rewriting it is losing the mail as archived
    attachments: list = field(default_factory=list)  # ids
    soft_deleted: bool = False
    exists: bool = True

    def expires_under(self, days: int) -> bool:
        """sent_at = now() - age days - serial seconds < now() - days, exactly when age >=
        days: serial is under a day, and so is the time between receipt and purge when each
        action commits (ages and retentions differ by a day or more)."""
        return self.age >= days


@dataclass(frozen=True)
class Entry:
    """An audit row the model expects: its tenant, action, predicted details and user."""
    tenant: str
    action: str
    details: tuple
    user: str | None


@dataclass(frozen=True)
class Step:
    """One action and its answer, as the failure messages tell it."""
    by: str
    what: str
    want: str
    have: str
    message: str | None = None
    own_change: bool = False  # a tenant admin changing its own tenant's hold or retention

    def __str__(self) -> str:
        why = f" ({self.message})" if self.message else ""
        return f"{self.by} {self.what}: want {self.want}, have {self.have}{why}"


class CheckFailed(AssertionError):
    """One of the properties failed; the message starts with its name."""


@dataclass
class Tally:
    """How many sequences and steps ran, and how each kind of step was answered."""
    sequences: int = 0
    steps: int = 0
    answers: Counter = field(default_factory=Counter)

    #: What a step did, without its rows and values: (pattern, replacement), in order.
    KINDS = ((r" \(.*\)", ""), (r"[AB]\d+\.mailbox\d+", "a mailbox"),
             (r"[AB]\d+\.mail\d+", "an e-mail"), (r"\b[AB]\d+\b", "a tenant"),
             (r"\d+", "n"), (r"with its admin and a mailbox", ""))

    def count(self, by: str, what: str, have: str, held: bool) -> None:
        for pattern, replacement in self.KINDS:
            what = re.sub(pattern, replacement, what)
        who = "admin" if by in ADMINS else by
        if have.startswith("purged "):
            have = "held: purged nothing" if held else \
                "purged nothing" if have == "purged nothing" else "purged mail"
        self.answers[f"{who} {what.strip()} -> {have}"] += 1

    def report(self) -> str:
        lines = [f"{self.sequences} sequences, {self.steps} steps"]
        lines += [f"  {count:6} {answer}" for answer, count in sorted(self.answers.items())]
        return "\n".join(lines)


class Compliance(RuleBasedStateMachine):
    """The actors, the model and the checks (see the module's docstring)."""

    def __init__(self, world: World, checks: tuple[str, ...] = CHECKS,
                 tally: Tally | None = None):
        super().__init__()
        unknown = set(checks) - set(CHECKS)
        assert not unknown, f"no such check: {unknown}"
        self.world, self.checks, self.run = world, checks, next(world.runs)
        self.db, self.features, self.secret = world.db, world.features, world.secret
        self.tally = tally or Tally()
        self.tally.sequences += 1
        self.counter = 0
        self.tenants: dict[str, Tenant] = {}         # by label
        self.slot: dict[str, Tenant] = {}            # each slot's newest tenant
        self.boxes: dict[str, Mailbox] = {}          # by label
        self.mail: dict[str, Email] = {}             # by label
        self.names: dict[str, str] = {}              # id -> label, for messages
        self.trail: list[Entry] = []
        self.steps: list[Step] = []                  # since the last check
        self.history: list[Step] = []                # all of this sequence's
        self.before = self.after = Snapshot()
        self.snapshot: tuple[tuple, str] = ((), "")  # for which tenants, the query
        self.held_before: set[str] = set()
        self.custody: dict[str, set[str]] = {}  # row id -> every tenant it was seen in
        self.cleanup = ExitStack()
        if not world.commits:
            self.cleanup.enter_context(self.db.transaction(force_rollback=True))
            self.db.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self.msp_admin = self._new_id(0x5)
        self.names[self.msp_admin] = "the MSP admin"
        self.db.execute("INSERT INTO users (id, email, password_hash, display_name, role) "
                        "VALUES (%s, %s, '$2b$12$x', 'MSP admin', 'MSP_ADMIN')",
                        (self.msp_admin, f"msp-{self.run}@msp.test"))

    def teardown(self) -> None:
        self.cleanup.close()
        every = self.world.renew_every
        if every and not self.world.commits and self.run % every == 0:
            self.db.rollback()  # the next statement opens a new one (see World)

    # --- acting --------------------------------------------------------------------------

    def _new_id(self, prefix: int) -> str:
        self.counter += 1
        return _id(prefix, self.run, self.counter)

    def _context(self, by: str) -> Acting:
        if by == MSP:
            return Acting(msp_wide=True, user=self.msp_admin)
        if by == NO_CONTEXT:
            return Acting()
        if by == OWNER:
            return Acting(owner=True)
        tenant = self.slot[ADMINS[by]]
        return Acting(tenant=tenant.id, user=tenant.admin)

    @staticmethod
    def _who(by: str, tenant: Tenant) -> str:
        """The actor ``by`` names, for a row of ``tenant``: "admin of A", "MSP", ..."""
        slot = tenant.label[0]
        if by == ITS_ADMIN:
            return f"admin of {slot}"
        if by == OTHER_ADMIN:
            return f"admin of {next(other for other in SLOTS if other != slot)}"
        return by

    def _sees(self, by: str, tenant: Tenant) -> bool:
        """Whether ``by``'s context sees ``tenant``'s rows (and they exist)."""
        if not tenant.exists:
            return False
        return by in (MSP, OWNER) or (by in ADMINS and self.slot[ADMINS[by]] is tenant)

    def _act(self, by: str, statements: list[tuple[str, tuple]]) -> Answer:
        """Run the statements as ``by``, all or none: the last one's rows, or the error. The
        rows the checks read afterwards come back with it (``self.after``)."""
        tenants = tuple(t.id for t in self.tenants.values())
        if self.snapshot[0] != tenants:
            self.snapshot = (tenants, Snapshot.query(self.db, list(tenants), self.features))
        snapshot = self.snapshot[1]
        script, last = acting_script(self.world, self._context(by), statements, then=snapshot)
        try:
            results = _results(self.db.execute(script))
        except psycopg.Error as error:
            results = _results(self.db.execute(f"{undo_script(self.world)}; {snapshot}"))
            self.after = Snapshot.of(results[-1][1][0])
            return Answer(error.diag.sqlstate, error.diag.message_primary)
        self.after = Snapshot.of(results[-1][1][0])
        rowcount, returned = results[last]
        return Answer(rowcount=rowcount, returned=tuple(returned))

    def _record(self, by: str, what: str, want: str, answer: Answer, have: str | None = None,
                own_change: bool = False, held: bool = False) -> None:
        step = Step(by, what, want, have or answer.summary(), answer.message, own_change)
        self.steps.append(step)
        self.history.append(step)
        self.tally.steps += 1
        self.tally.count(by, what, step.have, held)

    def _audit(self, tenant: Tenant, action: str, by: str, **details) -> None:
        user = self._context(by).user
        if not self.features.acting_user:
            user = None
        self.trail.append(Entry(tenant.id, action, tuple(details.items()), user))

    # --- tenants ---------------------------------------------------------------------------

    def _create_tenant(self, slot: str, hold: bool, days: int) -> Mailbox:
        """The MSP registers a tenant with its admin and a first mailbox; a hold it starts
        with is recorded (its retention at creation is part of the creation, not a change)."""
        generation = sum(t.label.startswith(slot) for t in self.tenants.values()) + 1
        tenant = Tenant(f"{slot}{generation}", self._new_id(0xA if slot == "A" else 0xB),
                        self._new_id(0x5), hold, days, created_days=days)
        mailbox = Mailbox(f"{tenant.label}.mailbox1", self._new_id(0xC), tenant)
        self.tenants[tenant.label], self.slot[slot] = tenant, tenant
        self.boxes[mailbox.label] = mailbox
        answer = self._act(MSP, [
            ("INSERT INTO tenants (id, name, azure_tenant_id, azure_app_id, azure_app_secret, "
             "legal_hold, retention_policy_days) VALUES (%s, %s, %s, %s, %s, %s, %s)",
             (tenant.id, f"Tenant {tenant.label}", self._new_id(0x9), self._new_id(0x9),
              self.secret, hold, days)),
            ("INSERT INTO users (id, tenant_id, email, password_hash, display_name, role) "
             "VALUES (%s, %s, %s, '$2b$12$x', %s, 'TENANT_ADMIN')",
             (tenant.admin, tenant.id, f"admin-{self.run}@{tenant.label.lower()}.test",
              f"Admin of {tenant.label}")),
            ("INSERT INTO mailboxes (id, tenant_id, email_address, mailbox_type) "
             "VALUES (%s, %s, %s, 'USER')",
             (mailbox.id, tenant.id, f"{mailbox.label}@{tenant.label.lower()}.test"))])
        self._record(MSP, f"creates tenant {tenant.label} ({'held' if hold else 'not held'}, "
                          f"{_count(days, 'day')}) with its admin and {mailbox.label}", "1 row",
                     answer)
        self.names.update({tenant.id: tenant.label, mailbox.id: mailbox.label,
                           tenant.admin: f"the admin of {tenant.label}"})
        if hold:
            self._audit(tenant, "LEGAL_HOLD_PLACED", MSP, column="legal_hold", old=None,
                        new=True, context="msp")
        return mailbox

    @initialize(hold_a=st.booleans(), days_a=RETENTION_DAYS, mail_a=MAIL,
                hold_b=st.booleans(), days_b=RETENTION_DAYS, mail_b=MAIL)
    def open_archive(self, hold_a, days_a, mail_a, hold_b, days_b, mail_b):
        """The MSP registers tenants A and B; the sync delivers their first mail."""
        for slot, hold, days, mail in (("A", hold_a, days_a, mail_a),
                                       ("B", hold_b, days_b, mail_b)):
            self._receive(ITS_ADMIN, self._create_tenant(slot, hold, days), mail)

    @precondition(lambda self: any(not tenant.exists for tenant in self.slot.values()))
    @rule(hold=st.booleans(), days=RETENTION_DAYS)
    def create_tenant(self, hold, days):
        """In the first slot whose tenant was deleted."""
        self._create_tenant(next(slot for slot in SLOTS if not self.slot[slot].exists),
                            hold, days)

    def _govern(self, by: str, slot: str, hold: bool | None = None,
                days: int | None = None) -> None:
        tenant = self.slot[slot]
        by = self._who(by, tenant)
        wanted = {column: value for column, value in
                  (("legal_hold", hold), ("retention_policy_days", days)) if value is not None}
        now = {"legal_hold": tenant.hold, "retention_policy_days": tenant.days}
        changed = {column: value for column, value in wanted.items() if value != now[column]}
        statement = "UPDATE tenants SET {} WHERE id = %s".format(
            ", ".join(f"{column} = %s" for column in wanted))
        own_change = bool(changed) and by in ADMINS and self._sees(by, tenant)
        if not self._sees(by, tenant):
            want = "0 rows"
        elif by in ADMINS and changed:
            want = "IA002"
        else:
            want = "1 row"
            self._apply(tenant, changed, by)
        answer = self._act(by, [(statement, (*wanted.values(), tenant.id))])
        what = " and ".join(f"{column} of {tenant.label} to {value}"
                            for column, value in wanted.items())
        self._record(by, f"sets {what}", want, answer, own_change=own_change)

    def _apply(self, tenant: Tenant, changed: dict, by: str) -> None:
        """The MSP's (owner's) change, and its audit rows (hold first, as the trigger writes
        them)."""
        context = "msp" if by == MSP else "unrestricted role"
        if "legal_hold" in changed:
            self._audit(tenant, "LEGAL_HOLD_PLACED" if changed["legal_hold"]
                        else "LEGAL_HOLD_LIFTED", by, column="legal_hold", old=tenant.hold,
                        new=changed["legal_hold"], context=context)
            tenant.hold = changed["legal_hold"]
        if "retention_policy_days" in changed:
            self._audit(tenant, "RETENTION_POLICY_CHANGED", by, column="retention_policy_days",
                        old=tenant.days, new=changed["retention_policy_days"], context=context)
            tenant.days = changed["retention_policy_days"]

    @rule(by=ANYONE, tenant=TENANTS, hold=st.booleans())
    def set_legal_hold(self, by, tenant, hold):
        self._govern(by, tenant, hold=hold)

    @rule(by=ANYONE, tenant=TENANTS, days=RETENTION_DAYS)
    def set_retention(self, by, tenant, days):
        self._govern(by, tenant, days=days)

    @rule(by=ANYONE, tenant=TENANTS, hold=st.booleans(), days=RETENTION_DAYS)
    def set_hold_and_retention(self, by, tenant, hold, days):
        self._govern(by, tenant, hold=hold, days=days)

    @rule(by=PARTIES, tenant=TENANTS)
    def delete_tenant(self, by, tenant):
        target = self.slot[tenant]
        by = self._who(by, target)
        want = self._removal(by, target, lambda: self._forget_tenant(target))
        answer = self._act(by, [("DELETE FROM tenants WHERE id = %s", (target.id,))])
        self._record(by, f"deletes tenant {target.label}", want, answer)

    def _removal(self, by: str, tenant: Tenant, forget) -> str:
        """What removing a row of ``tenant`` answers; the model forgets it when it goes."""
        if not self._sees(by, tenant):
            return "0 rows"
        if tenant.hold:
            return "IA001"
        forget()
        return "1 row"

    def _forget_tenant(self, tenant: Tenant) -> None:
        tenant.exists = False
        for mailbox in self.boxes.values():
            if mailbox.tenant is tenant:
                self._forget_mailbox(mailbox)

    def _forget_mailbox(self, mailbox: Mailbox) -> None:
        mailbox.exists = False
        for email in self.mail.values():
            if email.mailbox is mailbox:
                email.exists = False

    # --- mail ----------------------------------------------------------------------------

    def _open_boxes(self) -> list[Mailbox]:
        return [box for box in self.boxes.values() if box.exists]

    def _present_mail(self) -> list[Email]:
        return [mail for mail in self.mail.values() if mail.exists]

    @rule(by=PARTIES, tenant=TENANTS,
          mailbox_type=st.sampled_from(["USER", "SHARED", "ROOM", "EQUIPMENT"]))
    def add_mailbox(self, by, tenant, mailbox_type):
        owner = self.slot[tenant]
        by = self._who(by, owner)
        mailbox = Mailbox(f"{owner.label}.mailbox{self.counter + 1}", self._new_id(0xC), owner)
        if by in ADMINS and self.slot[ADMINS[by]] is not owner:
            want = "42501"  # the row is another tenant's: the policy's WITH CHECK
        else:
            want = "1 row" if owner.exists else "23503"
        answer = self._act(by, [("INSERT INTO mailboxes (id, tenant_id, email_address, "
                                 "mailbox_type) VALUES (%s, %s, %s, %s)",
                                 (mailbox.id, owner.id,
                                  f"{mailbox.label}@{owner.label.lower()}.test", mailbox_type))])
        self._record(by, f"adds {mailbox.label} ({mailbox_type})", want, answer)
        if want == "1 row":
            self.boxes[mailbox.label] = mailbox
            self.names[mailbox.id] = mailbox.label

    @precondition(lambda self: self._open_boxes())
    @rule(by=PARTIES, mailbox=PICK)
    def delete_mailbox(self, by, mailbox):
        boxes = self._open_boxes()
        box = boxes[mailbox % len(boxes)]
        by = self._who(by, box.tenant)
        want = self._removal(by, box.tenant, lambda: self._forget_mailbox(box))
        answer = self._act(by, [("DELETE FROM mailboxes WHERE id = %s", (box.id,))])
        self._record(by, f"deletes {box.label}", want, answer)

    @precondition(lambda self: self._open_boxes())
    @rule(by=PARTIES, mailbox=PICK, mail=MAIL)
    def receive_mail(self, by, mailbox, mail):
        """The sync stores e-mails sent some days ago, with their attachments."""
        boxes = self._open_boxes()
        self._receive(by, boxes[mailbox % len(boxes)], mail)

    def _receive(self, by: str, box: Mailbox, mail: list[tuple[int, int]]) -> None:
        by = self._who(by, box.tenant)
        received, statements = [], []
        for age, attachments in mail:
            serial = self.counter + 1
            label = f"{box.tenant.label}.mail{serial}"
            email = Email(label, self._new_id(0xE), box.tenant, box, age, serial,
                          f"/data/{label}")
            received.append(email)
            statements.append((
                "INSERT INTO emails (id, mailbox_id, message_id, sender, recipients, sent_at, "
                "size_bytes, file_path) VALUES (%s, %s, %s, 'sender@example.test', "
                "ARRAY['recipient@example.test'], "
                "now() - make_interval(days => %s, secs => %s), 1, %s)",
                (email.id, box.id, f"AAMk-{email.label}", age, serial, email.file_path)))
            for number in range(1, attachments + 1):
                attachment = self._new_id(0xF)
                email.attachments.append(attachment)
                self.names[attachment] = f"{email.label}.attachment{number}"
                statements.append((
                    "INSERT INTO attachments (id, email_id, filename, size_bytes, sha256_hash, "
                    "file_path) VALUES (%s, %s, 'a.pdf', 1, %s, %s)",
                    (attachment, email.id, "0" * 64, f"/data/{self.names[attachment]}")))
        want = "1 row" if self._sees(by, box.tenant) else "23503"
        answer = self._act(by, statements)
        self._record(by, "receives " + ", ".join(
            f"{email.label} ({_count(email.age, 'day')} old, "
            f"{_count(len(email.attachments), 'attachment')})"
            for email in received) + f" in {box.label}", want, answer)
        if want == "1 row":
            for email in received:
                self.mail[email.label] = email
                self.names[email.id] = email.label

    def _pick_mail(self, by: str, email: int) -> tuple[str, Email]:
        mail = self._present_mail()
        chosen = mail[email % len(mail)]
        return self._who(by, chosen.tenant), chosen

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK)
    def delete_email(self, by, email):
        by, mail = self._pick_mail(by, email)
        want = self._removal(by, mail.tenant, lambda: setattr(mail, "exists", False))
        answer = self._act(by, [("DELETE FROM emails WHERE id = %s", (mail.id,))])
        self._record(by, f"deletes {mail.label}", want, answer)

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK)
    def soft_delete_email(self, by, email):
        by, mail = self._pick_mail(by, email)
        if not self._sees(by, mail.tenant):
            want = "0 rows"
        elif mail.tenant.hold and not mail.soft_deleted:
            want = "IA001"
        else:
            want, mail.soft_deleted = "1 row", True
        answer = self._act(by, [("UPDATE emails SET deleted_at = now() WHERE id = %s",
                                 (mail.id,))])
        self._record(by, f"soft-deletes {mail.label}", want, answer)

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK)
    def restore_email(self, by, email):
        by, mail = self._pick_mail(by, email)
        if self._sees(by, mail.tenant):
            want, mail.soft_deleted = "1 row", False
        else:
            want = "0 rows"
        answer = self._act(by, [("UPDATE emails SET deleted_at = NULL WHERE id = %s",
                                 (mail.id,))])
        self._record(by, f"restores {mail.label}", want, answer)

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK)
    def rewrite_email(self, by, email):
        """What the row says replaced: the stored file pointed elsewhere."""
        by, mail = self._pick_mail(by, email)
        rewritten = f"{mail.file_path}.rewritten"
        if not self._sees(by, mail.tenant):
            want = "0 rows"
        elif mail.tenant.hold and self.features.preserved:
            want = "IA001"
        else:
            want, mail.file_path = "1 row", rewritten
        answer = self._act(by, [("UPDATE emails SET file_path = %s WHERE id = %s",
                                 (rewritten, mail.id))])
        self._record(by, f"rewrites {mail.label}", want, answer)

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK)
    def delete_attachments(self, by, email):
        by, mail = self._pick_mail(by, email)
        if not self._sees(by, mail.tenant):
            want = "0 rows"
        elif mail.tenant.hold and mail.attachments:
            want = "IA001"
        else:
            want, mail.attachments = _rows(len(mail.attachments)), []
        answer = self._act(by, [("DELETE FROM attachments WHERE email_id = %s", (mail.id,))])
        self._record(by, f"deletes the attachments of {mail.label}", want, answer)

    # --- the application's own audit rows ------------------------------------------------

    @rule(by=ANYONE, tenant=TENANTS, action=st.sampled_from(["LOGIN", "EXPORT"]))
    def log_action(self, by, tenant, action):
        """The application records an action of the acting user in a tenant's trail."""
        self._log(by, tenant, action, {"note": f"{action.lower()} by the application"})

    def _log(self, by: str, slot: str, action: str, details: dict) -> None:
        target = self.slot[slot]
        by = self._who(by, target)
        user = self._context(by).user if self.features.acting_user else None
        if action in RESERVED and by != OWNER and self.features.reserved:
            want = "IA003"  # the schema's own records: its triggers and the owner only
        elif by in (MSP, OWNER) or self._sees(by, target):
            want = "1 row"  # audit rows have no key to their tenant: a deleted one's too
            self._audit(target, action, by, **details)
        elif by in ADMINS and user is not None:
            want = "23503"  # the user is not of the row's tenant, or is gone with its own
        else:
            want = "42501"  # the policy's WITH CHECK
        answer = self._act(by, [("INSERT INTO audit_logs (tenant_id, user_id, action, details) "
                                 "VALUES (%s, %s, %s, %s)",
                                 (target.id, user, action, Jsonb(details)))])
        self._record(by, f"logs {action} in the trail of {target.label}", want, answer)

    # --- retention -------------------------------------------------------------------------

    @precondition(lambda self: self.features.purge)
    @rule(by=ANYONE, tenant=TENANTS, batch_size=st.integers(1, 3))
    def purge(self, by, tenant, batch_size):
        """The retention job: one batch of purge_expired_emails()."""
        target = self.slot[tenant]
        by = self._who(by, target)
        if not self._sees(by, target):
            want = "P0002"
        elif target.hold:
            want = "purged nothing"
            self._audit(target, "RETENTION_PURGE_HELD", by,
                        retention_policy_days=target.days, batch_size=batch_size)
        else:
            expired = sorted((mail for mail in self.mail.values()
                              if mail.tenant is target and mail.exists
                              and mail.expires_under(target.days)),
                             key=lambda mail: (-mail.age, -mail.serial))[:batch_size]
            gone = [mail.id for mail in expired] + [a for mail in expired
                                                     for a in mail.attachments]
            want = self._purged(gone)
            for mail in expired:
                mail.exists = False
            if expired:
                self._audit(target, "RETENTION_PURGE", by, emails=len(expired),
                            attachments=len(gone) - len(expired),
                            retention_policy_days=target.days, batch_size=batch_size)
        answer = self._act(by, [("SELECT kind, id, file_path FROM purge_expired_emails(%s, %s)",
                                 (target.id, batch_size))])
        have = None if answer.sqlstate else self._purged(
            [str(row_id) for _kind, row_id, _path in answer.returned])
        self._record(by, f"purges a batch of {batch_size} of {target.label}", want, answer,
                     have, held=self._sees(by, target) and target.hold)

    def _purged(self, ids: list[str]) -> str:
        return "purged " + (", ".join(sorted(self.names.get(i, i) for i in ids)) or "nothing")

    # --- the checks ------------------------------------------------------------------------

    @invariant()
    def after_every_step(self):
        after = self.after
        held_after = {t.id for t in self.tenants.values() if t.exists and t.hold}
        checks = {"tenant context refused": self._tenant_context_refused,
                  "held mail stays": self._held_mail_stays,
                  "every change recorded": self._every_change_recorded,
                  "chain verifies": self._chain_verifies,
                  "as modelled": self._as_modelled}
        try:
            for name in CHECKS:
                if name in self.checks:
                    problems = checks[name](after, held_after)
                    if problems:
                        raise CheckFailed(f"{name}: " + "\n  ".join(problems)
                                          + "\n  the sequence, the failing step last:\n"
                                          + "\n".join(f"    {number}. {step}" for number, step
                                                       in enumerate(self.history, 1)))
        finally:
            self.before, self.held_before, self.steps = after, held_after, []
            for row, (tenant, *_rest) in [*after.emails.items(), *after.attachments.items()]:
                self.custody.setdefault(row, set()).add(tenant)

    def _name(self, row_id: str) -> str:
        return f"{self.names.get(row_id, 'an unknown row')} ({row_id})"

    def _tenant_context_refused(self, after: Snapshot, _held_after) -> list[str]:
        problems = []
        for step in self.steps:
            if step.by in (MSP, OWNER):
                continue
            if step.own_change and step.have != "IA002":
                problems.append(f"{step}: a tenant context must not change its own tenant's "
                                f"hold or retention (want IA002)")
            for tenant, values in self.before.tenants.items():
                if tenant in after.tenants and after.tenants[tenant] != values:
                    problems.append(
                        f"{step.by} changed tenant {self._name(tenant)}: legal_hold, "
                        f"retention_policy_days want {values}, have {after.tenants[tenant]}")
        return problems

    def _held_mail_stays(self, after: Snapshot, held_after: set) -> list[str]:
        """Held: a row of a tenant under hold, or one that was in such a tenant (moved out of
        it, see WithMoves): a hold covers what was in the tenant until it is lifted."""
        held = self.held_before | held_after | {
            tenant for tenant, (hold, _days) in [*self.before.tenants.items(),
                                                 *after.tenants.items()] if hold}
        problems = []
        for email, (tenant, soft_deleted, file_path) in self.before.emails.items():
            holders = ({tenant} | self.custody.get(email, set())) & held
            if not holders:
                continue
            where = self._held_by(tenant, holders)
            if email not in after.emails:
                problems.append(f"e-mail {self._name(email)} {where}: want it kept, have it "
                                f"deleted")
            elif not soft_deleted and after.emails[email][1]:
                problems.append(f"e-mail {self._name(email)} {where}: want it kept, have it "
                                f"soft-deleted")
            elif after.emails[email][2] != file_path:
                problems.append(f"e-mail {self._name(email)} {where}: want it as archived "
                                f"({file_path}), have it rewritten ({after.emails[email][2]})")
        for attachment, (tenant, _email) in self.before.attachments.items():
            holders = ({tenant} | self.custody.get(attachment, set())) & held
            if holders and attachment not in after.attachments:
                problems.append(f"attachment {self._name(attachment)} "
                                f"{self._held_by(tenant, holders)}: want it kept, have it deleted")
        return problems

    def _held_by(self, tenant: str, holders: set) -> str:
        if tenant in holders:
            return f"of {self._name(tenant)}, under legal hold"
        return (f"of {self._name(tenant)}, moved there from "
                f"{', '.join(map(self._name, sorted(holders)))}, under legal hold")

    def _every_change_recorded(self, after: Snapshot, _held_after) -> list[str]:
        problems = []
        created = {t.id: t.created_days for t in self.tenants.values()}
        for tenant, (hold, days) in after.tenants.items():
            trail = {"legal_hold": [], "retention_policy_days": []}
            for _tenant, action, details, _user in after.trail(tenant):
                if action in GOVERNED:
                    trail[details.get("column")].append((action, details))
            problems += self._replay(tenant, "legal_hold", trail["legal_hold"], hold,
                                     first_olds=(None, False), start=False)
            problems += self._replay(tenant, "retention_policy_days",
                                     trail["retention_policy_days"], days,
                                     first_olds=(created[tenant],), start=created[tenant])
        return problems

    def _replay(self, tenant: str, column: str, rows: list, value, first_olds: tuple,
                start) -> list[str]:
        """One column's rows, old to new: each row's old is the previous row's new (the first
        row's is NULL for a new tenant, or the column's default), and the last new is the
        tenant's value."""
        replayed, olds = start, first_olds
        for number, (action, details) in enumerate(rows, 1):
            if details.get("old") not in olds:
                return [f"tenant {self._name(tenant)}: {column} row {number} ({action}) says "
                        f"old {details.get('old')!r}, the trail before it says "
                        f"{replayed!r}: a change went unrecorded, or a record is not of "
                        f"one"]
            if column == "legal_hold" and action != ("LEGAL_HOLD_PLACED" if details.get("new")
                                                     else "LEGAL_HOLD_LIFTED"):
                return [f"tenant {self._name(tenant)}: {action} records legal_hold "
                        f"{details.get('old')!r} -> {details.get('new')!r}"]
            replayed = details.get("new")
            olds = (replayed,)
        if replayed != value:
            return [f"tenant {self._name(tenant)}: {column} is {value!r}; want the audit trail "
                    f"to end there, have it end at {replayed!r}: a change went unrecorded, or "
                    f"a record is not of one"]
        return []

    def _chain_verifies(self, after: Snapshot, _held_after) -> list[str]:
        return [f"verify_audit_chain(): {found['problem']} (chain {found['chain_id']}, seq "
                f"{found['seq']}, audit row {found['audit_log_id']})" for found in after.breaks]

    def _as_modelled(self, after: Snapshot, _held_after) -> list[str]:
        problems = [str(step) for step in self.steps if step.want != step.have]
        existing = [t for t in self.tenants.values() if t.exists]
        mail = [m for m in self.mail.values() if m.exists]
        want = {
            "tenants": {t.id: [t.hold, t.days] for t in existing},
            "users": {t.admin for t in existing},
            "mailboxes": {m.id for m in self.boxes.values() if m.exists},
            "e-mails (soft-deleted, file)": {m.id: [m.soft_deleted, m.file_path] for m in mail},
            "attachments": {a for m in mail for a in m.attachments},
        }
        have = {
            "tenants": after.tenants, "users": set(after.users),
            "mailboxes": set(after.mailboxes),
            "e-mails (soft-deleted, file)": {e: [soft, path]
                                             for e, (_t, soft, path) in after.emails.items()},
            "attachments": set(after.attachments),
        }
        for table, rows in want.items():
            problems += self._differences(table, rows, have[table])
        problems += self._trail_differences(after)
        return problems

    def _differences(self, table: str, want, have) -> list[str]:
        if want == have:
            return []
        if isinstance(want, set):
            return [f"{table}: want {self._name(row)} {'present' if row in want else 'gone'}, "
                    f"have it {'present' if row in have else 'gone'}" for row in want ^ have]
        return [f"{table}: {self._name(row)} want {want.get(row, 'gone')}, "
                f"have {have.get(row, 'gone')}" for row in want.keys() | have.keys()
                if want.get(row) != have.get(row)]

    def _trail_differences(self, after: Snapshot) -> list[str]:
        users = {self.msp_admin} | {t.admin for t in self.tenants.values() if t.exists}
        problems = []
        for tenant in self.tenants.values():
            want = [(e.action, dict(e.details), e.user if e.user in users else None)
                    for e in self.trail if e.tenant == tenant.id]
            have = [(action, {key: details.get(key) for key in DETAILS.get(action, details)},
                     user) for _tenant, action, details, user in after.trail(tenant.id)]
            if want != have:
                problems.append(f"audit trail of tenant {tenant.label}:\n    want "
                                + "\n         ".join(map(repr, want)) + "\n    have "
                                + "\n         ".join(map(repr, have)))
        return problems


class WithMoves(Compliance):
    """The machine with one more action: an e-mail moved to another mailbox, of its own
    tenant or (the MSP's context can) of the other one. The MSP moving held mail of a tenant
    on hold into another tenant, to delete it there, is what this machine found before 000004
    refused it (IA001; test_compliance_properties.py replays it)."""

    @precondition(lambda self: self._present_mail())
    @rule(by=PARTIES, email=PICK, mailbox=PICK)
    def move_email(self, by, email, mailbox):
        by, mail = self._pick_mail(by, email)
        boxes = self._open_boxes()
        box = boxes[mailbox % len(boxes)]
        what = f"moves {mail.label} from {mail.mailbox.label} to {box.label}"
        if not self._sees(by, mail.tenant):
            want = "0 rows"
        elif by in ADMINS and box.tenant is not mail.tenant:
            want = "42501"  # the moved row is another tenant's: the policy's WITH CHECK
        elif box.tenant is not mail.tenant and mail.tenant.hold:
            want = "IA001"  # held mail stays in its tenant (000004)
        elif box.tenant is not mail.tenant and mail.attachments:
            want = "23503"  # its attachments keep (email_id, tenant_id)
        else:
            want, mail.mailbox, mail.tenant = "1 row", box, box.tenant
        answer = self._act(by, [("UPDATE emails SET mailbox_id = %s, tenant_id = %s "
                                 "WHERE id = %s", (box.id, box.tenant.id, mail.id))])
        self._record(by, what, want, answer)


class WithForgedRecords(Compliance):
    """The machine with one more action: the application writes, in its context, a row with
    the action and details of the schema's own hold records. It found a tenant on hold
    putting a LEGAL_HOLD_LIFTED of its own in its trail, sealed like the real ones, before
    000004 kept those actions to the schema (IA003; test_compliance_properties.py replays
    it)."""

    @rule(by=ANYONE, tenant=TENANTS, hold=st.booleans())
    def record_a_hold_change(self, by, tenant, hold):
        self._log(by, tenant, "LEGAL_HOLD_PLACED" if hold else "LEGAL_HOLD_LIFTED",
                  {"column": "legal_hold", "old": not hold, "new": hold, "context": "msp"})
