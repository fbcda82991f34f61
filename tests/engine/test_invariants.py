"""Each invariant catches what it is for, on a small catalog built here rather than read from
a database, so no rule can pass by never looking, whatever migrations a project has."""

import pytest

from ironarchive_schema.catalog.invariants import (
    RULES,
    checks_are_named_table_column_check,
    every_foreign_key_has_an_index_led_by_its_columns,
    every_table_and_column_is_commented,
    every_table_has_a_primary_key,
    foreign_keys_are_named_table_columns_fkey,
    identifiers_are_snake_case_and_not_truncated,
    indexes_are_named_idx_table_leading_column,
    no_index_duplicates_another,
    no_nullable_boolean,
    no_timestamp_without_time_zone,
    primary_keys_are_named_table_pkey,
    triggers_are_named_for_their_job,
    unique_constraints_are_named_table_columns_key,
    unique_indexes_are_named_table_columns_functions_key,
)


def _sample() -> dict:
    """A small catalog, in snapshot form, that keeps every rule: parents and children."""
    def table(comment):
        return {"kind": "r", "comment": comment}

    def column(table_name, type_name, nullable=False):
        return {"table": table_name, "type": type_name, "nullable": nullable,
                "comment": f"A {type_name}."}

    def constraint(table_name, kind, columns):
        return {"table": table_name, "type": kind, "columns": columns}

    def index(table_name, keys, orders=None, unique=False, owner=None, predicate=None):
        return {"table": table_name, "method": "btree", "keys": keys,
                "orders": orders or ["ASC"] * len(keys), "unique": unique,
                "constraint": owner, "predicate": predicate, "valid": True}

    return {
        "relations": {"parents": table("Parents."), "children": table("Children.")},
        "columns": {
            "parents.id": column("parents", "uuid"),
            "parents.code": column("parents", "character varying(20)"),
            "parents.email": column("parents", "character varying(255)"),
            "children.id": column("children", "uuid"),
            "children.parent_id": column("children", "uuid"),
            "children.done": column("children", "boolean"),
            "children.created_at": column("children", "timestamp with time zone"),
            "children.updated_at": column("children", "timestamp with time zone"),
        },
        "constraints": {
            "parents.parents_pkey": constraint("parents", "p", ["id"]),
            "parents.parents_code_key": constraint("parents", "u", ["code"]),
            "children.children_pkey": constraint("children", "p", ["id"]),
            "children.children_parent_id_fkey": constraint("children", "f", ["parent_id"]),
            "children.children_created_at_check": constraint("children", "c", ["created_at"]),
            "children.children_done_after_created_check":
                constraint("children", "c", ["done", "created_at", "updated_at"]),
        },
        "indexes": {
            "parents_pkey": index("parents", ["id"], unique=True, owner="parents_pkey"),
            "parents_code_key": index("parents", ["code"], unique=True, owner="parents_code_key"),
            "parents_email_lower_key": index("parents", ["lower(email::text)"], unique=True),
            "children_pkey": index("children", ["id"], unique=True, owner="children_pkey"),
            "idx_children_parent_id": index("children", ["parent_id", "created_at"],
                                            ["ASC", "DESC"]),
            "idx_children_created_at_open": index("children", ["created_at"],
                                                  predicate="NOT done"),
        },
        "triggers": {
            "children.update_children_updated_at":
                {"table": "children", "function": "update_updated_at_column"},
            "children.child_audit_trigger": {"table": "children", "function": "audit_child"},
        },
        "functions": {"update_updated_at_column()": {}, "audit_child()": {}},
    }


def _set(section, key, **facts):
    return lambda snapshot: snapshot[section][key].update(facts)


def _add(section, key, like, **facts):
    return lambda snapshot: snapshot[section].update({key: dict(snapshot[section][like], **facts)})


def _drop(section, key):
    return lambda snapshot: snapshot[section].pop(key)


BREAKAGES = [
    (every_table_has_a_primary_key, _drop("constraints", "children.children_pkey"),
     ["children: no primary key"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _drop("indexes", "idx_children_parent_id"),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _set("indexes", "idx_children_parent_id", predicate="NOT done"),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (every_foreign_key_has_an_index_led_by_its_columns,
     _set("indexes", "idx_children_parent_id", keys=["created_at", "parent_id"]),
     ["children.children_parent_id_fkey: no index on children is led by (parent_id)"]),
    (no_index_duplicates_another,
     _add("indexes", "idx_parents_code", like="parents_code_key", unique=False, constraint=None),
     ["parents: idx_parents_code duplicates parents_code_key (keys code; predicate none)"]),
    (no_index_duplicates_another,
     _add("indexes", "idx_children_parent_id_desc", like="idx_children_parent_id",
          orders=["DESC", "ASC"]),
     ["children: idx_children_parent_id_desc duplicates idx_children_parent_id "
      "(keys parent_id, created_at; predicate none)"]),
    (no_index_duplicates_another,  # another predicate: a different index
     _add("indexes", "idx_children_created_at_done", like="idx_children_created_at_open",
          predicate="done"),
     []),
    (no_timestamp_without_time_zone,
     _set("columns", "children.created_at", type="timestamp(3) without time zone"),
     ["children.created_at: timestamp(3) without time zone (want timestamp with time zone)"]),
    (no_nullable_boolean, _set("columns", "children.done", nullable=True),
     ["children.done: nullable boolean (want NOT NULL with a default)"]),
    (every_table_and_column_is_commented, _set("relations", "children", comment=" "),
     ["children: no comment on the table"]),
    (every_table_and_column_is_commented, _set("columns", "parents.code", comment=None),
     ["parents.code: no comment on the column"]),
    (primary_keys_are_named_table_pkey,
     _add("constraints", "parents.pk_parents", like="parents.parents_pkey"),
     ["parents.pk_parents: want the name parents_pkey"]),
    (foreign_keys_are_named_table_columns_fkey,
     _add("constraints", "children.fk_parent", like="children.children_parent_id_fkey"),
     ["children.fk_parent: want the name children_parent_id_fkey"]),
    (unique_constraints_are_named_table_columns_key,
     _add("constraints", "parents.parents_code_unique", like="parents.parents_code_key"),
     ["parents.parents_code_unique: want the name parents_code_key"]),
    (unique_indexes_are_named_table_columns_functions_key,
     _add("indexes", "parents_email_key", like="parents_email_lower_key"),
     ["parents.parents_email_key: want the name parents_email_lower_key"]),
    (checks_are_named_table_column_check,
     _add("constraints", "children.children_check", like="children.children_created_at_check"),
     ["children.children_check: want the name children_created_at_check"]),
    (checks_are_named_table_column_check,
     _add("constraints", "children.check_done", like="children.children_done_after_created_check"),
     ["children.check_done: want the name children_<what it ensures>_check"]),
    (indexes_are_named_idx_table_leading_column,
     _add("indexes", "children_by_parent", like="idx_children_parent_id"),
     ["children.children_by_parent: want the name idx_children_parent_id[_...]"]),
    (triggers_are_named_for_their_job,
     _add("triggers", "children.set_updated_at", like="children.update_children_updated_at"),
     ["children.set_updated_at: want the name update_children_updated_at"]),
    (triggers_are_named_for_their_job,
     _add("triggers", "children.audit_child", like="children.child_audit_trigger"),
     ["children.audit_child: want the name <subject>_<purpose>_trigger"]),
    (identifiers_are_snake_case_and_not_truncated,
     _add("columns", "children.ParentId", like="children.parent_id"),
     ["column children.ParentId: not lower snake_case"]),
    (identifiers_are_snake_case_and_not_truncated,
     _add("indexes", "idx_children_" + "x" * 50, like="idx_children_parent_id"),
     [f"index idx_children_{'x' * 50}: 63 bytes, the most PostgreSQL keeps; "
      f"it may have been cut short"]),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_invariant_holds_on_the_sample(rule):
    assert rule(_sample()) == []


@pytest.mark.parametrize("rule, breakage, expected", [
    pytest.param(rule, breakage, expected, id=f"{rule.__name__}:{n}")
    for n, (rule, breakage, expected) in enumerate(BREAKAGES, 1)])
def test_invariant_catches_its_breakage(rule, breakage, expected):
    broken = _sample()
    breakage(broken)
    assert rule(broken) == expected
