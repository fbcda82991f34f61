"""D4-D9 and the story's CHECKs, as properties: valid rows are accepted as written, and each
rule rejects exactly the rows that break it, with the right SQLSTATE and constraint name.

Every example runs in a savepoint of the test's transaction and is rolled back, so examples
share the ``parents`` rows without seeing each other's inserts; that is why the
function-scoped-fixture health check is suppressed on purpose.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from ironarchive_schema.catalog import pg_catalog

from . import rows
from .outcomes import ACCEPTED, attempt_to, describe, outcome
from .strategies import (
    ENUMS,
    INTEGER_RANGES,
    SHA256,
    address_like,
    case_variant,
    column_type,
    examples_share_fixtures,
    for_type,
    text,
    valid_row,
)


@pytest.fixture
def parents(db) -> dict:
    """One row of each parent table (two tenants), and a real ciphertext for secrets."""
    tenants = [rows.tenant(db)["id"], rows.tenant(db)["id"]]
    mailbox = rows.mailbox(db, tenant_id=tenants[0])["id"]
    email = rows.email(db, mailbox_id=mailbox)["id"]
    users = [rows.user(db, tenant_id=tenants[0])["id"], rows.user(db)["id"]]
    return {
        "tenants": tenants,
        "users": users,
        # the tenant of each parent row that has one (issue 8: copied into its children)
        "tenant_of": {mailbox: tenants[0], email: tenants[0], users[0]: tenants[0]},
        "mailboxes": [mailbox],
        "emails": [email],
        "secret": db.execute("SELECT pgp_sym_encrypt('app-secret', %s)",
                             (rows.SECRET_KEY,)).fetchone()[0],
    }


def insert_in_savepoint(db, table: str, row: dict) -> str:
    """Insert ``row`` and describe the answer; the row never outlives the example."""
    with db.transaction(force_rollback=True):
        return describe(attempt_to(db, lambda: rows.insert(db, table, **row)))


# --- valid rows ------------------------------------------------------------------------------

def _as_read(value):
    return value.obj if isinstance(value, Jsonb) else value


#: Columns the schema sets on INSERT whatever the row names (D19): checked in the modules named.
SET_BY_THE_SCHEMA = {"audit_logs.timestamp": "test_audit_log.py"}


@examples_share_fixtures
@given(data=st.data())
def test_valid_rows_are_accepted_as_written(db, catalog, parents, table, data):
    row = data.draw(valid_row(catalog, table, parents), label=table)
    with db.transaction(force_rollback=True):
        written = rows.insert(db, table, **row)
    for column in [c for c in row if f"{table}.{c}" in SET_BY_THE_SCHEMA]:
        del row[column], written[column]
    assert {c: _as_read(v) for c, v in row.items()} == written


# --- one rule at a time ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    constraint: str
    table: str
    #: (catalog, parents) -> strategy of {column: value}: values of the rule's columns,
    #: breaking the rule about as often as keeping it
    values: Callable[[dict, dict], st.SearchStrategy]
    #: the story's rule, on a whole row
    holds: Callable[[dict], bool]


def bounded(table: str, column: str, low: int, high: int | None = None):
    """Integers of the column's type: around each bound, beyond it, and anywhere."""
    def values(snapshot, _parents):
        pg_type = column_type(snapshot, table, column)
        smallest, largest = INTEGER_RANGES[pg_type]
        choices = [st.integers(low - 2, low + 2), st.integers(smallest, low - 1)]
        if high is not None:
            choices += [st.integers(high - 2, high + 2), st.integers(high + 1, largest)]
        return st.fixed_dictionaries({column: st.one_of(*choices, for_type(pg_type))})
    return values


def enum(table: str, column: str):
    """The allowed spellings, near misses (lower case, a trailing blank), and any text."""
    def values(snapshot, _parents):
        allowed = st.sampled_from(ENUMS[table, column])
        return st.fixed_dictionaries({column: st.one_of(
            allowed, allowed.map(str.lower), allowed.map(lambda v: v + " "),
            for_type(column_type(snapshot, table, column)))})
    return values


def in_enum(table: str, column: str):
    return lambda row: row[column] in ENUMS[table, column]


def hashes(snapshot, _parents):
    """Lower-case hex digests, and digests upper-cased, a digit short, with a foreign
    character, with a newline where the last digit was (PostgreSQL's $ is end of string)."""
    def with_foreign_character(digest):
        return st.tuples(st.integers(0, 63), st.sampled_from("gG x-\n")).map(
            lambda change: digest[:change[0]] + change[1] + digest[change[0] + 1:])
    return st.fixed_dictionaries({"sha256_hash": st.one_of(
        SHA256, SHA256.map(str.upper), SHA256.map(lambda h: h[:-1]),
        SHA256.flatmap(with_foreign_character),
        for_type(column_type(snapshot, "attachments", "sha256_hash")))})


def role_and_tenant(_snapshot, parents):
    """Any role with or without a tenant, and the two ways of breaking D4 on purpose."""
    tenants = st.sampled_from(parents["tenants"])
    free = st.fixed_dictionaries({"role": st.sampled_from(ENUMS["users", "role"]),
                                  "tenant_id": st.none() | tenants})
    msp_with_tenant = tenants.map(lambda tenant: {"role": "MSP_ADMIN", "tenant_id": tenant})
    others_without = st.sampled_from(["TENANT_ADMIN", "USER"]).map(
        lambda role: {"role": role, "tenant_id": None})
    return st.one_of(free, msp_with_tenant, others_without)


def mfa(snapshot, _parents):
    """MFA on or off, with or without a secret, and on without one on purpose."""
    secret = for_type(column_type(snapshot, "users", "mfa_secret"))
    free = st.fixed_dictionaries({"mfa_enabled": st.booleans(), "mfa_secret": st.none() | secret})
    return free | st.just({"mfa_enabled": True, "mfa_secret": None})


def job_times(snapshot, _parents):
    """Either time missing, or completed_at before (down to 1 µs), at or after started_at,
    or both anywhere."""
    times = for_type(column_type(snapshot, "jobs", "started_at"))
    day = 86_400_000_000  # µs; times stay a day inside the range, so a day's offset fits
    offsets = st.one_of(st.sampled_from([-1, 0, 1]), st.integers(-day, -1), st.integers(-day, day))
    related = st.tuples(times, offsets).map(lambda pair: {
        "started_at": pair[0],
        "completed_at": pair[0] + datetime.timedelta(microseconds=pair[1])})
    independent = st.fixed_dictionaries({"started_at": st.none() | times,
                                         "completed_at": st.none() | times})
    return related | independent


def digests(table: str):
    """32 bytes, and a byte short, a byte over, none, and any bytes (D20's links)."""
    def values(snapshot, _parents):
        return st.fixed_dictionaries({"chain_hash": st.one_of(
            st.binary(min_size=32, max_size=32), st.binary(min_size=31, max_size=31),
            st.binary(min_size=33, max_size=33), st.just(b""),
            for_type(column_type(snapshot, table, "chain_hash")))})
    return values


def job_mailbox_and_tenant(_snapshot, parents):
    """D14: a mailbox with or without its tenant, or neither; the user an MSP admin or
    none, whom any tenant (or none) may have, so only the CHECK decides."""
    (mailbox,) = parents["mailboxes"]
    msp_admin = parents["users"][1]
    return st.fixed_dictionaries({
        "mailbox_id": st.sampled_from([None, mailbox]),
        "tenant_id": st.sampled_from([None, parents["tenant_of"][mailbox]]),
        "user_id": st.sampled_from([None, msp_admin])})


RULES = [
    Rule("tenants_retention_policy_days_check", "tenants",
         bounded("tenants", "retention_policy_days", 0), lambda r: r["retention_policy_days"] > 0),
    Rule("tenants_storage_bytes_check", "tenants",
         bounded("tenants", "storage_bytes", 0), lambda r: r["storage_bytes"] >= 0),
    Rule("users_role_check", "users", enum("users", "role"), in_enum("users", "role")),
    Rule("users_role_tenant_check", "users", role_and_tenant,
         lambda r: (r["role"] == "MSP_ADMIN") == (r["tenant_id"] is None)),
    Rule("users_mfa_secret_check", "users", mfa,
         lambda r: not r["mfa_enabled"] or r["mfa_secret"] is not None),
    Rule("mailboxes_mailbox_type_check", "mailboxes", enum("mailboxes", "mailbox_type"),
         in_enum("mailboxes", "mailbox_type")),
    Rule("mailboxes_email_count_check", "mailboxes",
         bounded("mailboxes", "email_count", 0), lambda r: r["email_count"] >= 0),
    Rule("mailboxes_storage_bytes_check", "mailboxes",
         bounded("mailboxes", "storage_bytes", 0), lambda r: r["storage_bytes"] >= 0),
    Rule("emails_size_bytes_check", "emails",
         bounded("emails", "size_bytes", 0), lambda r: r["size_bytes"] >= 0),
    Rule("attachments_size_bytes_check", "attachments",
         bounded("attachments", "size_bytes", 0), lambda r: r["size_bytes"] >= 0),
    Rule("attachments_sha256_hash_check", "attachments", hashes,
         lambda r: re.fullmatch("[0-9a-f]{64}", r["sha256_hash"]) is not None),
    Rule("jobs_type_check", "jobs", enum("jobs", "type"), in_enum("jobs", "type")),
    Rule("jobs_status_check", "jobs", enum("jobs", "status"), in_enum("jobs", "status")),
    Rule("jobs_progress_check", "jobs", bounded("jobs", "progress", 0, 100),
         lambda r: 0 <= r["progress"] <= 100),
    Rule("jobs_mailbox_id_tenant_id_check", "jobs", job_mailbox_and_tenant,
         lambda r: r["mailbox_id"] is None or r["tenant_id"] is not None),
    Rule("jobs_completed_after_started_check", "jobs", job_times,
         lambda r: None in (r["started_at"], r["completed_at"])
         or r["completed_at"] >= r["started_at"]),
    Rule("audit_log_chain_heads_seq_check", "audit_log_chain_heads",
         bounded("audit_log_chain_heads", "seq", 0), lambda r: r["seq"] >= 0),
    Rule("audit_log_chain_heads_chain_hash_check", "audit_log_chain_heads",
         digests("audit_log_chain_heads"), lambda r: len(r["chain_hash"]) == 32),
    Rule("audit_log_seals_chain_hash_check", "audit_log_seals",
         digests("audit_log_seals"), lambda r: len(r["chain_hash"]) == 32),
]

#: CHECK constraints whose properties live in another module.
CHECKED_ELSEWHERE = {"tenants.tenants_azure_app_secret_check": "test_secrets.py"}


def test_every_check_constraint_has_a_rule(catalog_snapshot):
    checks = {key for key, con in catalog_snapshot["constraints"].items() if con["type"] == "c"}
    covered = {f"{r.table}.{r.constraint}" for r in RULES} | CHECKED_ELSEWHERE.keys()
    assert sorted(checks - covered) == [], "CHECK constraints without a rule in RULES"
    assert sorted(covered - checks) == [], "rules for CHECK constraints the schema lacks"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.constraint)
@examples_share_fixtures
@given(data=st.data())
def test_rule_rejects_exactly_the_violating_rows(db, catalog, parents, rule, data):
    row = data.draw(valid_row(catalog, rule.table, parents), label="valid row")
    changes = data.draw(rule.values(catalog, parents), label=f"{rule.constraint} columns")
    row.update(changes)
    broken = {f"23514 {r.constraint}" for r in RULES if r.table == rule.table and not r.holds(row)}
    have = insert_in_savepoint(db, rule.table, row)
    event(have)  # --hypothesis-show-statistics: how often each answer was tried
    if broken:
        assert have in broken, f"{changes}: want one of {sorted(broken)}, have {have}"
    else:
        assert have == ACCEPTED, f"{changes}: want accepted, have {have}"


#: NOT NULL columns that a BEFORE INSERT trigger fills when NULL (issue 8), and raises 23503
#: when there is no parent to fill from (D15; test_tenant_boundary.py proves both): only an
#: UPDATE, which the trigger leaves alone, reaches their NOT NULL.
FILLED_ON_INSERT = {"emails.tenant_id", "attachments.tenant_id"}


def test_null_is_rejected_in_every_not_null_column(db, catalog_snapshot, not_null_column):
    """23502 naming the column, also where the column has a default. The row is a copy of a
    valid one with only that column NULL (PostgreSQL checks NOT NULL before uniqueness)."""
    table = catalog_snapshot["columns"][not_null_column]["table"]
    column = pg_catalog.member(not_null_column, catalog_snapshot["columns"][not_null_column])
    if not_null_column in SET_BY_THE_SCHEMA:
        # The schema's value replaces a NULL too, so NOT NULL is never reached (D19).
        written = rows.new(db, table, **{column: None})
        assert written[column] is not None, f"{not_null_column}: NULL was stored"
        return
    row = rows.new(db, table)
    (key,) = rows.primary_keys(catalog_snapshot)[table]
    if not_null_column in FILLED_ON_INSERT:
        statement = sql.SQL("UPDATE {table} SET {column} = NULL WHERE {key} = %s").format(
            table=sql.Identifier(table), column=sql.Identifier(column),
            key=sql.Identifier(key))
    else:
        names = list(row)
        values = [sql.NULL if c == column else sql.Identifier(c) for c in names]
        statement = sql.SQL("INSERT INTO {table} ({names}) SELECT {values} FROM {table} "
                            "WHERE {key} = %s").format(
            table=sql.Identifier(table), key=sql.Identifier(key),
            names=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=sql.SQL(", ").join(values))
    assert outcome(db, statement, (row[key],)) == f"23502 {table}.{column}"


# --- uniqueness ------------------------------------------------------------------------------

def lower(db, value: str) -> str:
    """PostgreSQL's lower(), which follows the database's LC_CTYPE, not Python's str.lower."""
    return db.execute("SELECT lower(%s)", (value,)).fetchone()[0]


def variant_or_other(first: str):
    """Mostly a case variant of ``first`` (within varchar(255)), sometimes another address."""
    return st.one_of(case_variant(first).filter(lambda value: len(value) <= 255),
                     address_like(255))


@examples_share_fixtures
@given(data=st.data())
def test_users_email_is_unique_regardless_of_case(db, data):
    """D4 (F3): a second user collides exactly when lower() of the addresses is equal;
    for ASCII that is every case variant (Boss@x.io and boss@x.io)."""
    first = data.draw(address_like(255), label="email")
    second = data.draw(variant_or_other(first), label="second email")
    collide = lower(db, first) == lower(db, second)
    event(f"collide: {collide}")
    if (first + second).isascii() and first.lower() == second.lower():
        assert collide, f"PostgreSQL's lower() must fold ASCII: {first!r} vs {second!r}"
    with db.transaction(force_rollback=True):
        rows.user(db, email=first)
        have = describe(attempt_to(db, lambda: rows.user(db, email=second)))
    assert have == ("23505 users_email_lower_key" if collide else ACCEPTED), (first, second)


@examples_share_fixtures
@given(data=st.data())
def test_mailbox_address_is_unique_per_tenant_regardless_of_case(db, parents, data):
    """D5: the same address in another tenant is fine; in the same tenant it collides
    exactly when lower() of the addresses is equal."""
    first = data.draw(address_like(255), label="address")
    second = data.draw(variant_or_other(first), label="second address")
    mine, other = parents["tenants"]
    collide = lower(db, first) == lower(db, second)
    with db.transaction(force_rollback=True):
        rows.mailbox(db, tenant_id=mine, email_address=first)
        elsewhere = describe(attempt_to(
            db, lambda: rows.mailbox(db, tenant_id=other, email_address=second)))
        same_tenant = describe(attempt_to(
            db, lambda: rows.mailbox(db, tenant_id=mine, email_address=second)))
    assert elsewhere == ACCEPTED, (first, second)
    want = "23505 mailboxes_tenant_id_email_address_lower_key" if collide else ACCEPTED
    assert same_tenant == want, (first, second)


@examples_share_fixtures
@given(data=st.data())
def test_message_id_is_unique_per_tenant_and_case_sensitive(db, parents, data):
    """D16: Graph message IDs are case-sensitive (base64): only an identical ID collides,
    and only inside one tenant; another tenant may archive the same ID."""
    first = data.draw(text(max_size=255, min_size=1), label="message_id")
    second = data.draw(variant_or_other(first), label="second message_id")
    mailbox = parents["mailboxes"][0]
    with db.transaction(force_rollback=True):
        elsewhere = rows.mailbox(db, tenant_id=parents["tenants"][1])["id"]
        rows.email(db, mailbox_id=mailbox, message_id=first)
        other_tenant = describe(attempt_to(
            db, lambda: rows.email(db, mailbox_id=elsewhere, message_id=second)))
        same_tenant = describe(attempt_to(
            db, lambda: rows.email(db, mailbox_id=mailbox, message_id=second)))
    assert other_tenant == ACCEPTED, (first, second)
    assert same_tenant == ("23505 emails_tenant_id_message_id_key" if first == second
                           else ACCEPTED), (first, second)


SPELLINGS = [str, lambda u: str(u).upper(), lambda u: u.hex, lambda u: "{" + str(u) + "}"]


@examples_share_fixtures
@given(azure_tenant_id=st.uuids(), spelling=st.sampled_from(SPELLINGS), other=st.uuids())
def test_azure_tenant_id_is_unique_in_every_spelling(db, azure_tenant_id, spelling, other):
    """D9: one Microsoft 365 tenant once, however its ID is written; another ID is fine."""
    with db.transaction(force_rollback=True):
        rows.tenant(db, azure_tenant_id=azure_tenant_id)
        again = describe(attempt_to(db, lambda: rows.tenant(
            db, azure_tenant_id=sql.Literal(spelling(azure_tenant_id)) + sql.SQL("::uuid"))))
        different = describe(attempt_to(db, lambda: rows.tenant(db, azure_tenant_id=other)))
    assert again == "23505 tenants_azure_tenant_id_key"
    assert different == ("23505 tenants_azure_tenant_id_key" if other == azure_tenant_id
                         else ACCEPTED)


# What lower() makes of non-ASCII letters, observed on PostgreSQL 15 with LC_CTYPE C.UTF-8
# (glibc): simple one-to-one case mappings, no full case folding, no language rules.
CASE_FINDINGS = [
    pytest.param("élodie@x.fr", "ÉLODIE@X.FR", True, id="latin-accents-fold"),
    pytest.param("straße@x.de", "STRASSE@X.DE", False, id="sharp-s-is-not-ss"),
    pytest.param("ß@x.de", "ẞ@x.de", True, id="capital-sharp-s-folds"),
    pytest.param("ı@x.tr", "I@x.tr", False, id="dotless-i-is-not-I"),
    pytest.param("i@x.tr", "İ@x.tr", True, id="dotted-capital-I-lowers-to-i"),
    pytest.param("i\u0307@x.tr", "İ@x.tr", False, id="i-combining-dot-is-not-dotted-I"),
    pytest.param("οδος@x.gr", "ΟΔΟΣ@x.gr", False, id="final-sigma-is-not-sigma"),
    pytest.param("οδοσ@x.gr", "ΟΔΟΣ@x.gr", True, id="sigma-folds"),
    pytest.param("k@x.io", "\u212a@x.io", True, id="kelvin-sign-is-k"),
]


@pytest.mark.parametrize(("first", "second", "collide"), CASE_FINDINGS)
def test_case_insensitive_uniqueness_of_non_ascii_addresses(db, first, second, collide):
    ctype = db.execute("SELECT datctype FROM pg_database WHERE datname = current_database()"
                       ).fetchone()[0]
    if ctype != "C.UTF-8":
        pytest.skip(f"findings recorded for LC_CTYPE C.UTF-8, this database has {ctype}")
    rows.user(db, email=first)
    want = "23505 users_email_lower_key" if collide else ACCEPTED
    assert describe(attempt_to(db, lambda: rows.user(db, email=second))) == want
