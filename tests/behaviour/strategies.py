"""Hypothesis strategies built from the schema's own column types, and rows valid by the story.

``for_type`` maps a type as the catalog names it (``character varying(255)``, ``text[]``) to
values PostgreSQL accepts for it: text without NUL bytes (PostgreSQL's text cannot hold one),
varchar(n) at most n characters. ``valid_row`` combines those with the story's domains
(enums, ranges, the hash format, role and tenant) into rows every constraint accepts; the
constraint tests then change one rule's columns and predict the answer.
"""

import datetime
import re
import string

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from ironarchive_schema.catalog import pg_catalog

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
#: For properties whose examples share the test's fixtures (``db`` is rolled back after the
#: test, and each example cleans up after itself).
examples_share_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
INTEGER_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": INT32, "bigint": INT64}

#: Characters with case mappings that differ between languages and Unicode versions, mixed
#: into generated text so case-insensitive uniqueness meets them often.
CASE_TRAPS = "ßẞİıIiΣσςǅǆǄKkÅåÉé\u212a\u212bﬀΐ"

CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
#: text has no length limit; examples stay short because length is not what they test.
TEXT_MAX = 100


def text(max_size: int = TEXT_MAX, min_size: int = 0, alphabet=CHARACTERS):
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


def address_like(max_size: int = 255):
    """Text that looks like an e-mail address now and then, with case traps mixed in."""
    alphabet = st.one_of(st.sampled_from(string.ascii_letters + "@.-_" + CASE_TRAPS), CHARACTERS)
    return text(max_size=max_size, min_size=1, alphabet=alphabet)


def case_variant(value: str):
    """``value`` with each character kept, upper-cased or lower-cased (Python's mappings,
    which may change the length: 'ß'.upper() is 'SS')."""
    if not value:
        return st.just(value)
    choices = [st.sampled_from(sorted({c, c.upper(), c.lower()})) for c in value]
    return st.tuples(*choices).map("".join)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | text(20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(10), inner, max_size=3),
    max_leaves=8,
)  # no floats: their decimal round trip through jsonb's numeric is not the schema's concern

SIMPLE_TYPES = {
    "text": text(),
    **{name: st.integers(*bounds) for name, bounds in INTEGER_RANGES.items()},
    "boolean": st.booleans(),
    "uuid": st.uuids(),
    "bytea": st.binary(max_size=64),
    "inet": st.ip_addresses(),
    "jsonb": JSON.map(Jsonb),
    # Python's datetime range (years 1-9999), less two days at each end: offsets of up to a day,
    # and any session time zone, still give values Python can read back.
    "timestamp with time zone": st.datetimes(
        min_value=datetime.datetime(1, 1, 3), max_value=datetime.datetime(9999, 12, 29),
        timezones=st.just(datetime.UTC)),
}


def for_type(pg_type: str):
    varchar = re.fullmatch(r"character varying\((\d+)\)", pg_type)
    if varchar:
        return text(max_size=int(varchar.group(1)))
    if pg_type.endswith("[]"):
        return st.lists(for_type(pg_type[:-2]), max_size=4)
    if pg_type not in SIMPLE_TYPES:
        raise AssertionError(f"no strategy for column type {pg_type!r}: add one to "
                             f"SIMPLE_TYPES in {__name__}")
    return SIMPLE_TYPES[pg_type]


def columns(snapshot: dict, table: str) -> dict[str, dict]:
    return pg_catalog.on_table(snapshot, "columns", table)


def column_type(snapshot: dict, table: str, column: str) -> str:
    return snapshot["columns"][f"{table}.{column}"]["type"]


# --- the story's domains ---------------------------------------------------------------------

ENUMS = {
    ("users", "role"): ("MSP_ADMIN", "TENANT_ADMIN", "USER"),
    ("mailboxes", "mailbox_type"): ("USER", "SHARED", "ROOM", "EQUIPMENT"),
    ("jobs", "type"): ("SYNC_MAILBOX", "SYNC_TENANT", "SYNC_ALL", "EXPORT", "RETENTION_CLEANUP"),
    ("jobs", "status"): ("QUEUED", "RUNNING", "COMPLETED", "FAILED"),
}
SHA256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
#: A SHA-256 digest as bytes: an audit chain's link (D20).
DIGEST = st.binary(min_size=32, max_size=32)

#: Valid values of the columns a rule restricts, given the parent rows (``parents``).
DOMAINS = {
    ("tenants", "azure_app_secret"): lambda parents: st.just(parents["secret"]),
    ("tenants", "retention_policy_days"): lambda _: st.integers(1, INT32[1]),
    ("tenants", "storage_bytes"): lambda _: st.integers(0, INT64[1]),
    ("mailboxes", "email_count"): lambda _: st.integers(0, INT32[1]),
    ("mailboxes", "storage_bytes"): lambda _: st.integers(0, INT64[1]),
    ("emails", "size_bytes"): lambda _: st.integers(0, INT32[1]),
    ("attachments", "size_bytes"): lambda _: st.integers(0, INT32[1]),
    ("attachments", "sha256_hash"): lambda _: SHA256,
    ("jobs", "progress"): lambda _: st.integers(0, 100),
    ("audit_log_chain_heads", "seq"): lambda _: st.integers(0, INT64[1]),
    ("audit_log_chain_heads", "chain_hash"): lambda _: DIGEST,
    ("audit_log_seals", "chain_hash"): lambda _: DIGEST,
    **{key: (lambda choices: lambda _: st.sampled_from(choices))(values)
       for key, values in ENUMS.items()},
}

MFA_SECRET = "JBSWY3DPEHPK3PXP"


def _repair_users(row: dict, parents: dict) -> dict:
    """D4: only MSP admins lack a tenant; MFA needs a secret."""
    if row["role"] == "MSP_ADMIN":
        row["tenant_id"] = None
    elif row["tenant_id"] is None:
        row["tenant_id"] = parents["tenants"][0]
    if row["mfa_enabled"] and row["mfa_secret"] is None:
        row["mfa_secret"] = MFA_SECRET
    return row


def _repair_jobs(row: dict, _parents: dict) -> dict:
    """D7: a job completes no earlier than it started."""
    if row["started_at"] and row["completed_at"] and row["completed_at"] < row["started_at"]:
        row["started_at"], row["completed_at"] = row["completed_at"], row["started_at"]
    return row


def _tenant_of(parent_column: str):
    """Issue 8: tenant_id is the parent's (composite foreign key)."""
    def repair(row: dict, parents: dict) -> dict:
        row["tenant_id"] = parents["tenant_of"].get(row[parent_column], row["tenant_id"])
        return row
    return repair


def _inside_one_tenant(*parent_columns: str, then=lambda row, _parents: row):
    """D14: every parent that has a tenant has the row's. The first such parent sets
    tenant_id; a later one of another tenant is left out (NULL). MSP admins have no tenant
    and may stand on any row."""
    def repair(row: dict, parents: dict) -> dict:
        fixed = False
        for column in parent_columns:
            tenant = parents["tenant_of"].get(row[column])
            if tenant is None:
                continue
            if not fixed:
                row["tenant_id"], fixed = tenant, True
            elif row["tenant_id"] != tenant:
                row[column] = None
        return then(row, parents)
    return repair


#: Rules between columns of one row: applied after each column got a valid value of its own.
REPAIRS = {"users": _repair_users,
           "jobs": _inside_one_tenant("mailbox_id", "user_id", then=_repair_jobs),
           "emails": _tenant_of("mailbox_id"), "attachments": _tenant_of("email_id"),
           "audit_logs": _inside_one_tenant("user_id")}


def foreign_keys(snapshot: dict, table: str) -> dict[str, str]:
    """``{column: referenced table}`` for the foreign keys of ``table``, by their first column
    (a composite key's other columns are the parent's too: REPAIRS copies them)."""
    return {con["columns"][0]: con["ref_table"] for con in snapshot["constraints"].values()
            if con["table"] == table and con["type"] == "f"}


def valid_row(snapshot: dict, table: str, parents: dict):
    """Rows of ``table`` that every constraint accepts, every column written."""
    references = foreign_keys(snapshot, table)
    fields = {}
    for name, column in columns(snapshot, table).items():
        if name in references:
            assert references[name] in parents, \
                f"{table}.{name}: give the parents fixture a row of {references[name]}"
            values = st.sampled_from(parents[references[name]])
        elif (table, name) in DOMAINS:
            values = DOMAINS[table, name](parents)
        else:
            values = for_type(column["type"])
        fields[name] = st.none() | values if column["nullable"] else values
    repair = REPAIRS.get(table, lambda row, _parents: row)
    return st.fixed_dictionaries(fields).map(lambda row: repair(row, parents))
