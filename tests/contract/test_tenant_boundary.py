"""Issue 18 (D14, D16): every key and unique rule of a tenant-scoped table includes its tenant.

A foreign key without the tenant lets a row of tenant A reference a row of tenant B (F10);
a unique rule without it answers 23505 for a value only another tenant holds (F14). Read
from the catalog, so a table added tomorrow is checked without anyone editing this file.
What does not include the tenant is listed in the contract's ``tenant_boundary`` with the
reason and the test that guards it; a listed exception that no longer exists, no longer
needs listing, or names a test that does not exist is a failure too.
"""

import ast
import copy
import re

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.paths import REPO_ROOT

TENANT_COLUMN = "tenant_id"


def scoped_tables(snapshot) -> dict[str, str]:
    """Each tenant-scoped table and its tenant column: every table with ``tenant_id``, and
    the table ``tenant_id`` references (the tenants themselves), by its referenced column."""
    tables = set(pg_catalog.tables(snapshot))
    scoped = {column["table"]: TENANT_COLUMN for key, column in snapshot["columns"].items()
              if key == f"{column['table']}.{TENANT_COLUMN}" and column["table"] in tables}
    for con in snapshot["constraints"].values():
        if con["type"] == "f" and con["columns"] == [TENANT_COLUMN]:
            scoped.setdefault(con["ref_table"], con["ref_columns"][0])
    return scoped


def rules_without_tenant(snapshot) -> dict[str, str]:
    """``"table.name"``: what it is, for each key or unique rule that leaves the tenant out."""
    scoped, found = scoped_tables(snapshot), {}
    kinds = {"p": "primary key", "u": "unique constraint", "f": "foreign key"}
    for key, con in snapshot["constraints"].items():
        column = scoped.get(con["table"])
        if column and con["type"] in kinds and column not in con["columns"]:
            found[key] = f"{kinds[con['type']]} ({', '.join(con['columns'])})"
    for name, index in snapshot["indexes"].items():
        column = scoped.get(index["table"])
        if column and index["unique"] and index["constraint"] is None and not any(
                column in re.findall(r"\w+", key) for key in index["keys"]):
            found[f"{index['table']}.{name}"] = f"unique index ({', '.join(index['keys'])})"
    return found


def test_id_exists(node_id: str) -> bool:
    """Whether ``path::function[param]`` names a test function in a file, with that id."""
    path, _, rest = node_id.partition("::")
    function, _, param = rest.partition("[")
    file = REPO_ROOT / path
    if not (path.startswith("tests/") and file.is_file() and function):
        return False
    text = file.read_text()
    defined = {node.name for node in ast.walk(ast.parse(text))
               if isinstance(node, ast.FunctionDef)}
    return function in defined and (not param or repr(param.rstrip("]")) in text
                                    or f'"{param.rstrip("]")}"' in text)


test_id_exists.__test__ = False  # a helper, not a test


def boundary_problems(snapshot, exceptions: dict) -> list[str]:
    found = rules_without_tenant(snapshot)
    problems = [f"{key}: {what} of a tenant-scoped table does not include "
                f"{scoped_tables(snapshot)[key.split('.')[0]]} (want it in the key, or the "
                f"contract's tenant_boundary to state why not and which test guards it)"
                for key, what in sorted(found.items()) if key not in exceptions]
    for key, exception in sorted(exceptions.items()):
        if key not in found:
            problems.append(f"tenant_boundary.{key}: no such key or unique rule without the "
                            f"tenant (want the entry removed)")
        if not test_id_exists(exception["guarded_by"]):
            problems.append(f"tenant_boundary.{key}: guarded_by {exception['guarded_by']!r} "
                            f"names no test (want path::function[id] of an existing test)")
    return problems


def test_every_key_and_unique_rule_of_a_tenant_table_includes_the_tenant(catalog_snapshot,
                                                                         contract):
    problems = boundary_problems(catalog_snapshot, contract["tenant_boundary"])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# --- the rule catches what it is for ------------------------------------------------------

GUARD = "tests/contract/test_tenant_boundary.py::test_the_rule_catches_its_breakage[global-unique]"


def _sample() -> dict:
    def constraint(table, kind, columns, references=None, referenced=None):
        return {"table": table, "type": kind, "columns": columns, "ref_table": references,
                "ref_columns": referenced}

    return {
        "relations": {"tenants": {"kind": "r"}, "notes": {"kind": "r"}},
        "columns": {"tenants.id": {"table": "tenants"}, "notes.id": {"table": "notes"},
                    "notes.tenant_id": {"table": "notes"}, "notes.code": {"table": "notes"}},
        "constraints": {
            "tenants.tenants_pkey": constraint("tenants", "p", ["id"]),
            "notes.notes_id_tenant_id_key": constraint("notes", "u", ["id", "tenant_id"]),
            "notes.notes_tenant_id_fkey": constraint("notes", "f", ["tenant_id"], "tenants",
                                                     ["id"]),
        },
        "indexes": {"notes_tenant_id_code_lower_key": {
            "table": "notes", "unique": True, "constraint": None,
            "keys": ["tenant_id", "lower(code::text)"]}},
    }


BREAKAGES = {
    "global-unique": (
        lambda s: s["constraints"].update({"notes.notes_code_key": {
            "table": "notes", "type": "u", "columns": ["code"]}}), {},
        ["notes.notes_code_key: unique constraint (code) of a tenant-scoped table does not "
         "include tenant_id (want it in the key, or the contract's tenant_boundary to state "
         "why not and which test guards it)"]),
    "global-unique-index": (
        lambda s: s["indexes"]["notes_tenant_id_code_lower_key"].update(
            keys=["lower(code::text)"]), {},
        ["notes.notes_tenant_id_code_lower_key: unique index (lower(code::text)) of a "
         "tenant-scoped table does not include tenant_id (want it in the key, or the "
         "contract's tenant_boundary to state why not and which test guards it)"]),
    "tenant-table-key": (
        lambda s: s["constraints"].update({"tenants.tenants_name_key": {
            "table": "tenants", "type": "u", "columns": ["name"]}}), {},
        ["tenants.tenants_name_key: unique constraint (name) of a tenant-scoped table does "
         "not include id (want it in the key, or the contract's tenant_boundary to state why "
         "not and which test guards it)"]),
    "listed": (
        lambda s: s["constraints"].update({"notes.notes_code_key": {
            "table": "notes", "type": "u", "columns": ["code"]}}),
        {"notes.notes_code_key": {"reason": "r", "guarded_by": GUARD}}, []),
    "stale-entry": (
        lambda s: None, {"notes.notes_code_key": {"reason": "r", "guarded_by": GUARD}},
        ["tenant_boundary.notes.notes_code_key: no such key or unique rule without the tenant "
         "(want the entry removed)"]),
    "no-such-test": (
        lambda s: s["constraints"].update({"notes.notes_code_key": {
            "table": "notes", "type": "u", "columns": ["code"]}}),
        {"notes.notes_code_key": {"reason": "r", "guarded_by": "tests/x.py::test_gone"}},
        ["tenant_boundary.notes.notes_code_key: guarded_by 'tests/x.py::test_gone' names no "
         "test (want path::function[id] of an existing test)"]),
}


def test_the_rule_holds_on_the_sample():
    assert boundary_problems(_sample(), {}) == []


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_rule_catches_its_breakage(breakage):
    change, exceptions, want = BREAKAGES[breakage]
    sample = copy.deepcopy(_sample())
    change(sample)
    assert boundary_problems(sample, exceptions) == want
