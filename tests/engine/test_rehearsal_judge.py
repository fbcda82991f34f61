"""The rehearsal's budgets file and its judge, on measurements made up for each rule: what
each budget lets through, what it fails and how the one line reads, without a server."""

import pytest

from ironarchive_schema.rehearsal import budgets as budget_file
from ironarchive_schema.rehearsal.budgets import Budgets, BudgetsError
from ironarchive_schema.rehearsal.judge import Measured, judge, milliseconds
from ironarchive_schema.rehearsal.locks import Lock, StatementTrace

FILE = "000004_change.up.sql"


def statement(line: int, words: str, locks=(), rows=None, rewrites=(),
              lock_timeout="2s") -> StatementTrace:
    return StatementTrace(line, tuple(words.split()), 0.01, 0.02,
                          tuple(Lock(relation, mode) for relation, mode in locks),
                          tuple(rewrites), rows or {}, lock_timeout, "5min", True)


def measured(**values) -> Measured:
    return Measured(**{"table_rows": {"public.emails": 50_000}, "exclusive_ms": {},
                       "longest_waits": {}, "errors": (), "failure": None, **values})


INDEX = statement(3, "CREATE INDEX IDX_EMAILS_SUBJECT ON EMAILS SUBJECT",
                  [("public.emails", "ShareLock")],
                  {"public.emails": {"seq_scan": 1, "seq_tup_read": 50_000}})
COMMENT = statement(3, "COMMENT ON COLUMN EMAILS SUBJECT IS",
                    [("public.emails", "ShareUpdateExclusiveLock")])
ADD_COLUMN = statement(3, "ALTER TABLE EMAILS ADD COLUMN X",
                       [("public.emails", "AccessExclusiveLock")])


@pytest.mark.parametrize(("trace", "seen", "want"), [
    ([INDEX], measured(), "000004_change.up.sql:3: CREATE INDEX IDX_EMAILS_SUBJECT ON EMAILS "
     "SUBJECT: holds ShareLock on public.emails while it reads or writes 50,000 of its rows"),
    ([ADD_COLUMN, statement(4, "UPDATE EMAILS SET X 1", [("public.emails", "RowExclusiveLock")],
                            {"public.emails": {"seq_tup_read": 50_000, "updated": 50_000}})],
     measured(), "000004_change.up.sql:4: UPDATE EMAILS SET X 1: holds AccessExclusiveLock on "
     "public.emails (taken at line 3) while it reads or writes 100,000 of its rows"),
    ([ADD_COLUMN], measured(exclusive_ms={"public.emails": 2500.0}),
     "000004_change.up.sql:3: ALTER TABLE EMAILS ADD COLUMN X: held AccessExclusiveLock on "
     "public.emails (50,000 rows) for 2,500 ms"),
    ([INDEX], measured(longest_waits={("public.emails", "RowExclusiveLock"): 2100.0}),
     "000004_change.up.sql:3: CREATE INDEX IDX_EMAILS_SUBJECT ON EMAILS SUBJECT: the workload "
     "waited 2,100 ms for RowExclusiveLock on public.emails behind its ShareLock, over the "
     "budget of 2,000 ms"),
    ([statement(3, "ALTER TABLE EMAILS ADD COLUMN X", [("public.emails", "AccessExclusiveLock")],
                lock_timeout="0")],
     measured(longest_waits={("public.emails", "AccessShareLock"): 40.0}),
     "the workload waited 40 ms for AccessShareLock on public.emails behind its "
     "AccessExclusiveLock, and it runs with no lock_timeout to bound that"),
    ([COMMENT], measured(errors=("canceling statement due to lock timeout",)),
     "000004_change.up.sql: the workload met 1 errors (budget 0), the first: canceling "
     "statement due to lock timeout"),
    ([], measured(failure="migration failed: lock timeout in line 0 of the file"),
     "000004_change.up.sql: migrate failed: migration failed: lock timeout"),
    ([INDEX], measured(failure="migration failed: canceling statement due to statement timeout",
                       failed_statement=(3, "CREATE INDEX IDX_EMAILS_SUBJECT ON EMAILS SUBJECT",
                                         "canceling statement due to statement timeout")),
     "000004_change.up.sql:3: CREATE INDEX IDX_EMAILS_SUBJECT ON EMAILS SUBJECT: does not apply "
     "to the archive: canceling statement due to statement timeout; migrate failed"),
], ids=["reads under a write lock", "under a lock an earlier statement took",
        "access exclusive held too long", "a wait over lock_timeout",
        "any wait without lock_timeout", "a workload error", "migrate failed",
        "the statement that failed"])
def test_each_budget_fails_in_one_line_naming_what_broke_it(trace, seen, want):
    lines = [str(breach) for breach in judge(FILE, trace, seen, Budgets())]
    assert any(want in line for line in lines), f"want {want!r}, have {lines}"


@pytest.mark.parametrize(("trace", "seen"), [
    ([COMMENT], measured(longest_waits={("public.emails", "RowExclusiveLock"): 1500.0})),
    ([statement(3, "ALTER TABLE EMAILS VALIDATE CONSTRAINT C",
                [("public.emails", "ShareUpdateExclusiveLock")],
                {"public.emails": {"seq_tup_read": 50_000}})], measured()),
    ([ADD_COLUMN], measured(exclusive_ms={"public.emails": 30.0})),
    ([ADD_COLUMN], measured(table_rows={"public.emails": 9_000},
                            exclusive_ms={"public.emails": 2500.0})),
], ids=["a wait within lock_timeout", "reading under a lock writers pass",
        "access exclusive held briefly", "access exclusive on a small table"])
def test_within_budget_is_no_breach(trace, seen):
    assert judge(FILE, trace, seen, Budgets()) == []


def test_an_accepted_file_keeps_its_breaches_with_the_reason():
    (breach,) = judge(FILE, [INDEX], measured(), Budgets(accepted={FILE: "released"}))
    assert breach.accepted == "released"


@pytest.mark.parametrize(("setting", "ms"), [("2s", 2000), ("250ms", 250), ("0", 0),
                                              ("1min", 60_000), ("1.5s", 1500)])
def test_durations_read_as_postgresql_shows_them(setting, ms):
    assert milliseconds(setting) == ms


def test_a_missing_budgets_file_means_the_defaults(tmp_path):
    assert budget_file.read(tmp_path / "none.yaml") == Budgets()


def test_the_budgets_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text("workload_wait: 500\nblocking_read_rows: 10\n"
                    "accepted:\n  000002_x.up.sql: released before the rehearsal existed\n")
    assert budget_file.read(path) == Budgets(
        workload_wait_ms=500, blocking_read_rows=10,
        accepted={"000002_x.up.sql": "released before the rehearsal existed"})


@pytest.mark.parametrize(("text", "want"), [
    ("workload_errors: -1\n", "workload_errors: want a whole number >= 0, have -1"),
    ("blocking_rows: 5\n", "unknown budget blocking_rows"),
    ("workload_wait: soon\n", "workload_wait: want 'lock_timeout' or milliseconds"),
    ("accepted:\n  000002_x.up.sql: ''\n", "accepted: want migration file -> the reason"),
    ("- 1\n", "want a mapping of budget -> value"),
])
def test_a_wrong_budgets_file_is_one_line_naming_it(tmp_path, text, want):
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    with pytest.raises(BudgetsError) as error:
        budget_file.read(path)
    assert str(error.value).startswith(f"{path}: ") and want in str(error.value)
    assert "\n" not in str(error.value)
