"""The mutation operators on hand-made catalog facts: each breaks what it names, and only
that, with SQL PostgreSQL accepts (the built-in mutation check applies one of each for real)."""

import pytest

from ironarchive_schema.mutation import operators
from ironarchive_schema.mutation.downfiles import remove_down_statement
from ironarchive_schema.mutation.mutant import Mutant
from ironarchive_schema.mutation.sample import subset
from ironarchive_schema.mutation.workspace import write


def snap(**sections) -> dict:
    empty = {s: {} for s in ("relations", "columns", "constraints", "indexes", "triggers",
                             "functions", "policies")}
    return {**empty, **sections}


def column(table, type_="integer", nullable=False, default=None, comment=None) -> dict:
    return {"table": table, "type": type_, "nullable": nullable, "default": default,
            "identity": None, "generated": None, "comment": comment}


def constraint(table, type_, definition="", columns=(), on_delete=None) -> dict:
    return {"table": table, "type": type_, "definition": definition, "columns": list(columns),
            "on_delete": on_delete, "comment": None}


TABLE = {"t": {"kind": "r", "comment": None}, "v": {"kind": "v", "comment": None}}


@pytest.mark.parametrize("definition, want", [
    ("CHECK (size >= 0)", ["CHECK (size >= -1)"]),
    ("CHECK (days > 0)", ["CHECK (days > -1)"]),
    ("CHECK (p >= 0 AND p <= 100)",
     ["CHECK (p >= -1 AND p <= 100)", "CHECK (p >= 0 AND p <= 101)"]),
    ("CHECK (n < 5)", ["CHECK (n < 6)"]),
    ("CHECK (s::text = ANY (ARRAY['A'::character varying, 'B'::character varying]::text[]))",
     ["CHECK (s::text = ANY (ARRAY['A'::character varying, 'B'::character varying, "
      "'MUTANT'::character varying]::text[]))"]),
    ("CHECK (h::text ~ '^[0-9a-f]{64}$'::text)", ["CHECK (h::text ~ '[0-9a-f]{64}'::text)"]),
    ("CHECK (completed_at >= started_at)", []),
    ("CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)", []),
])
def test_a_check_is_widened_one_step_at_each_bound(definition, want):
    assert [wider for _label, wider in operators.widenings(definition)] == want


def test_each_foreign_key_gets_every_other_on_delete_action_and_keeps_the_rest():
    fk = constraint("t", "f", "FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE DEFERRABLE",
                    on_delete="c")
    mutants = list(operators.fk_on_delete(snap(constraints={"t.t_a_fkey": fk})))
    assert [m.id.rsplit("=", 1)[1] for m in mutants] == [
        "NO ACTION", "RESTRICT", "SET NULL", "SET DEFAULT"]
    assert mutants[2].sql == (
        'ALTER TABLE "t" DROP CONSTRAINT "t_a_fkey", ADD CONSTRAINT "t_a_fkey" '
        "FOREIGN KEY (a) REFERENCES p(id) ON DELETE SET NULL DEFERRABLE;")


def test_not_null_is_dropped_everywhere_but_on_primary_key_columns_and_views():
    facts = snap(relations=TABLE,
                 columns={"t.id": column("t"), "t.n": column("t"),
                          "t.o": column("t", nullable=True), "v.n": column("v")},
                 constraints={"t.t_pkey": constraint("t", "p", columns=["id"])})
    assert [m.target for m in operators.drop_not_null(facts)] == ["t.n"]


def test_no_near_type_for_a_column_a_policy_or_trigger_uses_or_a_type_without_a_neighbour():
    """PostgreSQL refuses to change the type of a column a policy uses, or a trigger in its
    WHEN condition or its UPDATE OF list."""
    facts = snap(relations=TABLE,
                 columns={"t.tenant_id": column("t"), "t.n": column("t"),
                          "t.at": column("t", "timestamp with time zone"),
                          "t.name": column("t", "character varying(64)"),
                          "t.id": column("t", "uuid"), "t.size": column("t"),
                          "t.days": column("t")},
                 policies={"t.p": {"table": "t", "using_expr": "tenant_id = f()",
                                   "check_expr": None}},
                 triggers={
                     "t.of_size": {"table": "t", "columns": ["size"],
                                   "definition": "CREATE TRIGGER of_size BEFORE UPDATE OF "
                                                 "size ON t FOR EACH ROW EXECUTE FUNCTION f()"},
                     "t.on_days": {"table": "t", "columns": [],
                                   "definition": "CREATE TRIGGER on_days AFTER UPDATE ON t "
                                                 "FOR EACH ROW WHEN (old.days IS DISTINCT "
                                                 "FROM new.days) EXECUTE FUNCTION f()"}})
    assert [m.id for m in operators.near_type(facts)] == [
        "near_type:t.n=bigint", "near_type:t.at=timestamp without time zone",
        "near_type:t.name=text"]


def test_a_trigger_function_becomes_a_pass_through_keeping_its_options():
    facts = snap(
        triggers={"t.trg": {"table": "t", "function_schema": "public", "function": "f",
                            "level": "ROW"},
                  "t.stmt": {"table": "t", "function_schema": "public", "function": "g",
                             "level": "STATEMENT"}},
        functions={
            "f()": {"returns": "trigger", "volatility": "v", "security_definer": True,
                    "config": ["search_path=public, pg_temp"]},
            "g()": {"returns": "trigger", "volatility": "v", "security_definer": False,
                    "config": None},
            "h(x integer)": {"returns": "boolean", "volatility": "i", "security_definer": False,
                             "config": None}})
    f, g = operators.passthrough_trigger_function(facts)
    assert f.sql == ('CREATE OR REPLACE FUNCTION "f"() RETURNS trigger LANGUAGE plpgsql VOLATILE '
                     "SECURITY DEFINER SET search_path = public, pg_temp "
                     "AS $mutant$ BEGIN RETURN COALESCE(NEW, OLD); END $mutant$;")
    assert "RETURN NULL;" in g.sql


def test_defaults_are_dropped_and_changed_where_the_type_has_an_obvious_other_value():
    facts = snap(relations=TABLE, columns={
        "t.flag": column("t", "boolean", default="false"),
        "t.id": column("t", "uuid", default="gen_random_uuid()"),
        "t.none": column("t")})
    assert {m.id: m.sql for m in operators.change_default(facts)} == {
        "change_default:t.flag=none": 'ALTER TABLE "t" ALTER COLUMN "flag" DROP DEFAULT;',
        "change_default:t.flag=other":
            'ALTER TABLE "t" ALTER COLUMN "flag" SET DEFAULT NOT (false);',
        "change_default:t.id=none": 'ALTER TABLE "t" ALTER COLUMN "id" DROP DEFAULT;'}


def test_seeded_rows_are_deleted_and_changed_by_primary_key():
    facts = snap(relations=TABLE,
                 columns={"t.key": column("t", "text"), "t.value": column("t", "jsonb")},
                 constraints={"t.t_pkey": constraint("t", "p", columns=["key"])})
    delete, change = operators.seeded_rows(facts, {"t": [{"key": "it's"}]})
    assert delete.sql == """DELETE FROM "t" WHERE "key"::text = 'it''s';"""
    assert change.sql == ("""UPDATE "t" SET "value" = jsonb_build_array("value") """
                          """WHERE "key"::text = 'it''s';""")


def test_only_commented_objects_lose_their_comment():
    facts = snap(relations={"t": {"kind": "r", "comment": "rows"},
                            "s": {"kind": "S", "comment": "x"}},
                 columns={"t.a": column("t", comment="a"), "t.b": column("t")},
                 functions={"f(x integer)": {"comment": "does f"}})
    assert sorted(m.sql for m in operators.drop_comment(facts)) == [
        'COMMENT ON COLUMN "t"."a" IS NULL;', 'COMMENT ON FUNCTION "f"(x integer) IS NULL;',
        'COMMENT ON TABLE "t" IS NULL;']


DOWN = """-- a comment; with a semicolon
SET LOCAL lock_timeout = '5s';
DROP FUNCTION f();  -- trailing; comment

CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
    RETURN 1; -- not the end
END
$body$;
DROP TABLE t;
"""


@pytest.fixture
def scratch_migrations(tmp_path):
    source = tmp_path / "migrations"
    source.mkdir()
    (source / "000001_a.up.sql").write_text("SELECT 1;\n")
    (source / "000001_a.down.sql").write_text("SELECT 1;\n")
    (source / "000002_b.up.sql").write_text("SELECT 2;\n")
    (source / "000002_b.down.sql").write_text(DOWN)
    return source


def test_down_files_split_into_statements_past_comments_and_dollar_quotes(scratch_migrations):
    mutants = [m for m in remove_down_statement(scratch_migrations)
               if m.down_file == "000002_b.down.sql"]
    assert [(m.target, m.first_line, m.end_line) for m in mutants] == [
        ("000002_b.down.sql#1", 2, 3), ("000002_b.down.sql#2", 3, 5),
        ("000002_b.down.sql#3", 5, 10), ("000002_b.down.sql#4", 10, 11)]


def test_a_down_mutant_removes_exactly_its_statement(scratch_migrations, tmp_path):
    third = [m for m in remove_down_statement(scratch_migrations)
             if m.target == "000002_b.down.sql#3"][0]
    copy = write(third, scratch_migrations, tmp_path / "copy")
    assert (copy / "000002_b.down.sql").read_text() == DOWN.replace(
        DOWN[DOWN.index("CREATE FUNCTION"):DOWN.index("DROP TABLE")], "")
    # the original is untouched
    assert (scratch_migrations / "000002_b.down.sql").read_text() == DOWN


def test_an_up_mutant_is_appended_to_the_newest_up_file_only(scratch_migrations, tmp_path):
    copy = write(Mutant("op:x", "op", "x", sql="DROP INDEX x;"), scratch_migrations,
                 tmp_path / "copy")
    assert (copy / "000002_b.up.sql").read_text() == "SELECT 2;\n\n-- mutant op:x\nDROP INDEX x;\n"
    assert (copy / "000001_a.up.sql").read_text() == "SELECT 1;\n"


def test_the_subset_takes_the_first_non_equivalent_mutant_of_each_operator():
    mutants = [Mutant(i, i.split(":")[0], i) for i in ("b:2", "a:2", "b:1", "a:1")]
    assert [m.id for m in subset(mutants, {"a:1": "because"})] == ["a:2", "b:1"]
