"""A catalog snapshot in the contract's shape, and what the contract has no words for."""

import re

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.catalog.pg_catalog import TABLE_KINDS, qualify

VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}
POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
ACTION_CODES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                "d": "SET DEFAULT"}


def from_catalog(snapshot: dict, settings: dict | None, version: int | None) -> dict:
    """The catalog ``snapshot`` (plus the seeded ``settings`` rows) as a contract would say it."""
    tables = {name: _empty_table(snapshot["relations"][name])
              for name in pg_catalog.tables(snapshot)}
    for key, col in snapshot["columns"].items():
        if col["table"] in tables:
            tables[col["table"]]["columns"][pg_catalog.member(key, col)] = {
                "type": col["type"], "nullable": col["nullable"], "default": col["default"],
                "comment": col["comment"]}
    for key, con in snapshot["constraints"].items():
        if con["table"] in tables:
            _add_constraint(tables[con["table"]], pg_catalog.member(key, con), con)
    for name, index in snapshot["indexes"].items():
        if index["table"] in tables and index["constraint"] is None:
            _add_index(tables[index["table"]], name, index)
    for key, trigger in snapshot["triggers"].items():
        if trigger["table"] in tables:
            tables[trigger["table"]]["triggers"][pg_catalog.member(key, trigger)] = {
                "timing": trigger["timing"], "events": trigger["events"],
                "columns": trigger["columns"], "level": trigger["level"],
                "function": f"{qualify(trigger['function_schema'], trigger['function'])}()",
                "arguments": trigger["arguments"],
                "when": trigger_when(trigger["definition"]),
                "constraint": trigger["constraint_timing"]}
    for key, policy in snapshot["policies"].items():
        if policy["table"] in tables:
            tables[policy["table"]]["policies"][pg_catalog.member(key, policy)] = {
                "command": POLICY_COMMANDS[policy["command"]],
                "permissive": policy["permissive"], "roles": policy["roles"],
                "using": policy["using_expr"], "check": policy["check_expr"]}
    functions = {signature: {
        "returns": fn["returns"], "language": fn["language"],
        "volatility": VOLATILITY[fn["volatility"]], "parallel": PARALLEL[fn["parallel"]],
        "strict": fn["strict"],
        "security_definer": fn["security_definer"], "config": fn["config"] or [],
        "comment": fn["comment"]} for signature, fn in snapshot["functions"].items()}
    return {
        "version": version,
        "extensions": {name: ext["installed_in"] for name, ext in snapshot["extensions"].items()},
        "functions": functions,
        "tables": tables,
        "settings": dict(settings or {}),
    }


def trigger_when(definition: str) -> str | None:
    """The WHEN condition of ``pg_get_triggerdef`` output, without its parentheses."""
    match = re.search(r" WHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) ", definition, re.S)
    return match.group(1) if match else None


def _empty_table(relation: dict) -> dict:
    return {"comment": relation["comment"], "columns": {}, "primary_key": None,
            "foreign_keys": {}, "unique": {}, "checks": {}, "indexes": {}, "triggers": {},
            "row_security": relation["row_security"], "policies": {},
            "grants": grants(relation["acl"], relation["owner"])}


#: aclitem letters of a table's privileges, in the order GRANT is usually written.
PRIVILEGES = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "D": "TRUNCATE",
              "x": "REFERENCES", "t": "TRIGGER", "m": "MAINTAIN"}


def grants(acl: list[str] | None, owner: str) -> dict[str, list[str]]:
    """``grantee=privileges/grantor`` items as role: [privilege, ...], the owner's left out
    (the owner's name differs between databases; what it may do is ownership's)."""
    result: dict[str, list[str]] = {}
    for item in acl or []:
        grantee, _, rest = item.partition("=")
        grantee = grantee.strip('"') or "public"
        if grantee == owner:
            continue
        letters = rest.split("/", 1)[0]
        privileges = result.setdefault(grantee, [])
        for letter, name in PRIVILEGES.items():
            at = letters.find(letter)
            if at >= 0:
                grant_option = letters[at + 1:at + 2] == "*"
                privileges.append(f"{name} WITH GRANT OPTION" if grant_option else name)
    return result


def _add_constraint(table: dict, name: str, con: dict) -> None:
    if con["type"] == "p":
        table["primary_key"] = {"name": name, "columns": con["columns"]}
    elif con["type"] == "f":
        key = ", ".join(con["columns"])
        if key in table["foreign_keys"]:  # a second key on the same columns: report it apart
            key = f"{key} ({name})"
        table["foreign_keys"][key] = {
            "name": name,
            "references": f"{qualify(con['ref_schema'], con['ref_table'])}"
                          f"({', '.join(con['ref_columns'])})",
            "on_delete": ACTION_CODES[con["on_delete"]],
            "on_update": ACTION_CODES[con["on_update"]]}
    elif con["type"] == "u":
        table["unique"][name] = {"constraint": con["columns"], "index": None, "where": None}
    elif con["type"] == "c":
        table["checks"][name] = con["definition"]
    # Exclusion constraints are reported by unstated(); a constraint trigger is stated
    # with its trigger.


def _index_keys(index: dict) -> list[str]:
    return [key if order == "ASC" else f"{key} {order}"
            for key, order in zip(index["keys"], index["orders"], strict=True)]


def _add_index(table: dict, name: str, index: dict) -> None:
    if index["unique"]:
        table["unique"][name] = {"constraint": None, "index": _index_keys(index),
                                 "where": index["predicate"]}
    else:
        table["indexes"][name] = {"keys": _index_keys(index), "where": index["predicate"],
                                  "method": index["method"], "include": index["include"]}


RELATION_KINDS = {"v": "view", "m": "materialized view", "S": "sequence", "f": "foreign table"}
CONSTRAINT_KINDS = {"x": "exclusion constraint"}
#: pg_constraint's entry of a CONSTRAINT trigger, stated with the trigger (its timing too).
TRIGGER_CONSTRAINT = "t"


def unstated(snapshot: dict) -> list[str]:
    """What the catalog holds that the contract cannot state: each must not exist.

    The contract's words imply these: every object lives in schema ``public``; constraints
    are validated and not deferrable (but constraint triggers, whose timing their trigger
    states); indexes are valid; triggers are enabled; row-level
    security is not forced on the owner; no views, sequences or user-defined types. A
    migration that needs one of them extends the contract's layout first.
    """
    found = [f"{RELATION_KINDS.get(rel['kind'], 'relation kind ' + rel['kind'])} {name}"
             for name, rel in snapshot["relations"].items() if rel["kind"] not in TABLE_KINDS]
    found += [f"row-level security forced on the owner of {name}"
              for name, rel in snapshot["relations"].items() if rel["force_row_security"]]
    found += [f"schema {name}" for name in snapshot["schemas"] if name != "public"]
    found += [f"type {name}" for name in snapshot["types"]]
    found += [f"policy {key} on a relation that is not a table"
              for key, policy in snapshot["policies"].items()
              if snapshot["relations"].get(policy["table"], {}).get("kind") not in TABLE_KINDS]
    for key, con in snapshot["constraints"].items():
        if con["type"] in CONSTRAINT_KINDS:
            found.append(f"{CONSTRAINT_KINDS[con['type']]} {key}")
        if con["deferrable"] and con["type"] != TRIGGER_CONSTRAINT:
            found.append(f"deferrable constraint {key}")
        if not con["validated"]:
            found.append(f"constraint {key} is NOT VALID (not yet validated)")
    found += [f"index {name} is invalid (a failed CREATE INDEX CONCURRENTLY?)"
              for name, index in snapshot["indexes"].items() if not index["valid"]]
    found += [f"trigger {key} is not enabled (tgenabled {trigger['enabled']})"
              for key, trigger in snapshot["triggers"].items() if trigger["enabled"] != "O"]
    return found
