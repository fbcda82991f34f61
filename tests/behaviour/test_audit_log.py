"""D3: audit_logs is append-only. UPDATE, DELETE and TRUNCATE raise restrict_violation (23001)
"Audit logs are immutable"; the one exception is ON DELETE SET NULL of user_id once the user
is gone, which clears user_id and nothing else."""

import datetime
import uuid

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from . import rows
from .outcomes import attempt, describe

IMMUTABLE = "Audit logs are immutable"


def assert_immutable(error, statement: str) -> None:
    want = f"23001 {IMMUTABLE}..."
    assert error is not None, f"{statement}: accepted; want {want}"
    assert error.sqlstate == "23001" and IMMUTABLE in error.diag.message_primary, \
        f"{statement}: want {want}, have {describe(error)}"


def audit_table(db) -> dict:
    return rows.table_rows(db, "audit_logs", ["id"])


@pytest.fixture
def audit_row(db) -> dict:
    """A row with every column set, written by an existing user."""
    return rows.audit_log(db, user_id=rows.user(db)["id"],
                          details=Jsonb({"query": "invoice", "hits": 3}))


def changed_value(db, snapshot: dict, column: str, current):
    """A valid value for ``audit_logs.column`` other than ``current``, so that the UPDATE
    would succeed without the trigger (a new existing parent for a foreign-key column)."""
    for con in snapshot["constraints"].values():
        if con["table"] == "audit_logs" and con["type"] == "f" and con["columns"] == [column]:
            return rows.new(db, con["ref_table"])[con["ref_columns"][0]]
    kind = snapshot["columns"][f"audit_logs.{column}"]["type"]
    if kind == "uuid":
        return uuid.uuid4()
    if kind == "text" or kind.startswith("character varying"):
        return current[:-1] + ("x" if current[-1:] != "x" else "y")
    if kind == "inet":
        return "198.51.100.7"
    if kind == "jsonb":
        return Jsonb({"changed": current})
    if kind == "timestamp with time zone":
        return current - datetime.timedelta(days=1)
    if kind in ("integer", "bigint", "smallint"):
        return current + 1
    if kind == "boolean":
        return not current
    raise AssertionError(f"audit_logs.{column}: no changed value for type {kind}; "
                         f"extend changed_value() in {__name__}")


def test_update_of_each_column_is_rejected(db, catalog_snapshot, audit_row, audit_logs_column):
    value = changed_value(db, catalog_snapshot, audit_logs_column, audit_row[audit_logs_column])
    statement = sql.SQL("UPDATE audit_logs SET {} = %s WHERE id = %s").format(
        sql.Identifier(audit_logs_column))
    error = attempt(db, statement, (value, audit_row["id"]))
    assert_immutable(error, f"UPDATE audit_logs SET {audit_logs_column} = {value!r}")


def test_no_op_update_is_rejected(db, audit_row):
    statement = "UPDATE audit_logs SET action = action WHERE id = %s"
    assert_immutable(attempt(db, statement, (audit_row["id"],)), statement)


def test_delete_is_rejected(db, audit_row):
    statement = "DELETE FROM audit_logs WHERE id = %s"
    assert_immutable(attempt(db, statement, (audit_row["id"],)), statement)
    assert rows.read(db, "audit_logs", "id", audit_row["id"]) == audit_row


@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_logs",
    "TRUNCATE users CASCADE",
    "TRUNCATE tenants CASCADE",
])
def test_truncate_is_rejected_also_through_a_cascade(db, audit_row, statement):
    """F2: row triggers do not fire on TRUNCATE; the statement trigger must. The rows are
    sealed, as those of earlier transactions are (in the transaction that wrote them, their
    pending seals stop a TRUNCATE first: test_truncate_waits_for_no_seal)."""
    rows.audit_log(db, user_id=rows.user(db, tenant_id=rows.tenant(db)["id"])["id"])
    db.execute("SET CONSTRAINTS audit_logs_seal_trigger IMMEDIATE")
    assert_immutable(attempt(db, statement), statement)


def test_truncate_waits_for_no_seal(db, audit_row):
    """Rows not sealed yet (their transaction has not committed) are no way around F2."""
    error = attempt(db, "TRUNCATE audit_logs")
    assert error is not None and error.sqlstate == "55006", describe(error)
    assert rows.read(db, "audit_logs", "id", audit_row["id"]) == audit_row


def test_deleting_a_user_clears_user_id_and_nothing_else(db):
    """F1: the ON DELETE SET NULL action is the one UPDATE the trigger lets through."""
    gone, stays = rows.user(db), rows.user(db)
    for user_id in (gone["id"], gone["id"], stays["id"], None):
        rows.audit_log(db, user_id=user_id)
    before = audit_table(db)
    db.execute("DELETE FROM users WHERE id = %s", (gone["id"],))
    want = {key: {**row, "user_id": None} if row["user_id"] == gone["id"] else row
            for key, row in before.items()}
    assert audit_table(db) == want


def test_hand_written_set_null_is_rejected_while_the_user_exists(db, audit_row):
    statement = "UPDATE audit_logs SET user_id = NULL WHERE id = %s"
    assert_immutable(attempt(db, statement, (audit_row["id"],)), statement)


# A trigger on users that updates audit_logs runs at trigger depth 2, like the foreign key's
# own action. Trigger names sort before "RI_ConstraintTrigger_..." so an AFTER trigger runs
# before the foreign key's SET NULL, while its user_id still points to the deleted user.
NESTED = [
    pytest.param("AFTER", "user_id = NULL", False, id="after-delete-clears-only-user_id"),
    pytest.param("AFTER", "user_id = NULL, action = 'TAMPERED'", True,
                 id="after-delete-also-changes-action"),
    pytest.param("BEFORE", "user_id = NULL", True, id="before-delete-user-still-exists"),
]


@pytest.mark.parametrize(("timing", "assignments", "rejected"), NESTED)
def test_nested_update_passes_only_as_the_set_null_action(db, audit_row, timing, assignments,
                                                          rejected):
    """The exception is narrow: at depth > 1, only clearing user_id of a deleted user."""
    db.execute(f"""
        CREATE FUNCTION pg_temp.clear_audit_user() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE audit_logs SET {assignments} WHERE user_id = OLD.id;
            RETURN OLD;
        END $$;
        CREATE TRIGGER "A_clear_audit_user" {timing} DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION pg_temp.clear_audit_user();
    """)
    statement = f"DELETE FROM users (with a {timing} trigger SET {assignments})"
    error = attempt(db, "DELETE FROM users WHERE id = %s", (audit_row["user_id"],))
    if rejected:
        assert_immutable(error, statement)
    else:
        assert error is None, f"{statement}: want accepted, have {describe(error)}"
        assert rows.read(db, "audit_logs", "id", audit_row["id"]) == {**audit_row,
                                                                      "user_id": None}
