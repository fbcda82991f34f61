"""Issue 15: the schema stays distributable by tenant on Citus (docs/scale.md), settings aside.

Citus spreads a table over nodes by one column and enforces a key only inside one node's
shard, so (as its documentation and source say, docs/scale.md 2.1) every primary key,
unique rule and exclusion constraint of a distributed table must hold its distribution
column as a column; a foreign key between distributed tables must pair the two distribution
columns at the same position; a foreign key holding a distribution column may not SET NULL or
SET DEFAULT it, nor CASCADE an update; a reference table (a copy on every node) may reference
no distributed table; and no row may have a NULL distribution column.

The contract's ``distribution`` places every table: distributed by ``tenant_id``, or by the
column ``tenant_columns`` names (the tenants' own id, the audit chains' chain_id), or a
reference table with its reason (settings). What blocks that today is listed in
``distribution.blockers``, each with its reason and the change that would lift it; anything
else fails here. Parametrised over the catalog, so a new table or key is a new test id
(``-k emails``); the test that a listed blocker still blocks keeps the list honest.
"""

import copy

import pytest

from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.plugin.session import collection_catalog

TENANT_COLUMN = "tenant_id"
UNIQUE_KINDS = {"p": "primary key", "u": "unique constraint", "x": "exclusion constraint"}
# pg_constraint's action codes that Citus refuses on a key holding the distribution column.
REFUSED_ON_DELETE = {"n": "SET NULL", "d": "SET DEFAULT"}
REFUSED_ON_UPDATE = {**REFUSED_ON_DELETE, "c": "CASCADE"}
LIST_IT = ("; or list it in the contract's distribution.blockers, with why and what a "
           "migration would change")


def placements(snapshot, plan) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each table's distribution column (None for a reference table), and the tables the
    plan cannot place, with why."""
    placed: dict[str, str | None] = {}
    unplaced = {}
    for table in pg_catalog.tables(snapshot):
        column = plan["tenant_columns"].get(table, TENANT_COLUMN)
        if table in plan["reference_tables"]:
            placed[table] = None
        elif f"{table}.{column}" in snapshot["columns"]:
            placed[table] = column
        else:
            unplaced[table] = (
                f"{table}: no place on a cluster: want a {column} column holding the tenant, "
                f"or the contract's distribution.tenant_columns to name the column that holds "
                f"it, or distribution.reference_tables to say why every node keeps a copy")
    return placed, unplaced


def unique_keys(snapshot) -> dict[str, tuple[str, str, list[str]]]:
    """``"table.name"``: (table, what it is, its key columns), for every primary key, unique
    rule and exclusion constraint; a unique index's expressions count as no column."""
    found = {key: (con["table"], UNIQUE_KINDS[con["type"]], con["columns"])
             for key, con in snapshot["constraints"].items() if con["type"] in UNIQUE_KINDS}
    for name, index in snapshot["indexes"].items():
        if index["unique"] and index["constraint"] is None:
            columns = [key.strip('"') for key in index["keys"]]
            found[f"{index['table']}.{name}"] = (index["table"], "unique index", columns)
    return found


def foreign_key_blocker(con, placed) -> str | None:
    """Why Citus would refuse this foreign key under ``placed``, or None."""
    column, referenced = placed.get(con["table"]), placed.get(con["ref_table"])
    have = (f"have ({', '.join(con['columns'])}) -> "
            f"{con['ref_table']}({', '.join(con['ref_columns'])})")
    if column is None:
        if referenced is not None:
            return (f"foreign key of reference table {con['table']} to {con['ref_table']}, "
                    f"distributed by {referenced}: want no such key (Citus has none from a "
                    f"reference table to a distributed one), {have}")
        return None
    if column in con["columns"]:
        actions = []
        if con["on_delete"] in REFUSED_ON_DELETE:
            actions.append(f"ON DELETE {REFUSED_ON_DELETE[con['on_delete']]}")
        if con["on_update"] in REFUSED_ON_UPDATE:
            actions.append(f"ON UPDATE {REFUSED_ON_UPDATE[con['on_update']]}")
        if actions:
            return (f"foreign key holding the distribution column {column}: want no SET NULL, "
                    f"SET DEFAULT or ON UPDATE CASCADE (Citus refuses them on it), have "
                    f"{' and '.join(actions)}")
    if referenced is None:
        return None  # to a reference table: any columns will do
    pairs = list(zip(con["columns"], con["ref_columns"], strict=True))
    if (column, referenced) not in pairs:
        return (f"foreign key between tables distributed by {column} and {referenced}: want "
                f"{column} matched with {con['ref_table']}.{referenced} (Citus keeps keys "
                f"between co-located shards only), {have}")
    return None


def blockers(snapshot, plan) -> dict[str, str]:
    """``"table.key"`` or ``"table.column"``: what keeps it from distributing, want and have."""
    placed, _ = placements(snapshot, plan)
    found = {}
    for table, column in placed.items():
        if column is not None and snapshot["columns"][f"{table}.{column}"]["nullable"]:
            found[f"{table}.{column}"] = (
                f"distribution column of {table}: want NOT NULL (Citus refuses a row whose "
                f"distribution column is NULL), have nullable")
    for key, (table, what, columns) in unique_keys(snapshot).items():
        column = placed.get(table)
        if column is not None and column not in columns:
            found[key] = (f"{what} of {table}, distributed by {column}: want {column} among "
                          f"its columns (Citus checks a unique rule within one shard only), "
                          f"have ({', '.join(columns)})")
    for key, con in snapshot["constraints"].items():
        if con["type"] == "f" and con["table"] in placed and con["ref_table"] in placed:
            why = foreign_key_blocker(con, placed)
            if why:
                found[key] = why
    return found


def problems(snapshot, plan, objects) -> list[str]:
    """The failures of these objects (tables, keys, columns): unplaced, or blocking and not
    listed in the plan's blockers."""
    _, unplaced = placements(snapshot, plan)
    found = blockers(snapshot, plan)
    lines = [unplaced[name] for name in objects if name in unplaced]
    return lines + [f"{name}: {found[name]}{LIST_IT}" for name in objects
                    if name in found and name not in plan["blockers"]]


def stale_entries(snapshot, plan) -> list[str]:
    """Entries of the plan that name nothing there is, or a blocker that no longer blocks."""
    tables = set(pg_catalog.tables(snapshot))
    lines = [f"distribution.{part}.{table}: no such table (want the entry removed)"
             for part in ("tenant_columns", "reference_tables") for table in plan[part]
             if table not in tables]
    found = blockers(snapshot, plan)
    return lines + [f"distribution.blockers.{name}: blocks nothing (want the entry removed)"
                    for name in plan["blockers"] if name not in found]


def table_objects(snapshot, table) -> list[str]:
    """What a table's own test covers: its place, and each of its columns (a nullable
    distribution column is one)."""
    return [table, *(f"{table}.{name}" for name in pg_catalog.on_table(snapshot, "columns", table))]


def key_objects(snapshot) -> list[str]:
    return sorted({*unique_keys(snapshot), *(key for key, con in snapshot["constraints"].items()
                                             if con["type"] == "f")})


def pytest_generate_tests(metafunc):
    snapshot = collection_catalog(metafunc.config)
    for name, objects in (("table", pg_catalog.tables), ("key", key_objects)):
        if name in metafunc.fixturenames:
            ids = objects(snapshot) if snapshot is not None else ["no-schema"]
            metafunc.parametrize(name, ids)


def fail_on(lines: list[str]) -> None:
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def test_each_table_has_a_place_on_a_cluster(table, catalog_snapshot, contract):
    fail_on(problems(catalog_snapshot, contract["distribution"],
                     table_objects(catalog_snapshot, table)))


def test_each_key_keeps_its_table_distributable(key, catalog_snapshot, contract):
    fail_on(problems(catalog_snapshot, contract["distribution"], [key]))


def test_every_listed_blocker_still_blocks(catalog_snapshot, contract):
    fail_on(stale_entries(catalog_snapshot, contract["distribution"]))


# --- the rule catches what it is for ------------------------------------------------------

def _sample() -> dict:
    """A tenant, its notes (distributed by tenant_id), their tags, and a reference table."""
    def column(table, nullable=False):
        return {"table": table, "nullable": nullable}

    def constraint(table, kind, columns, references=None, referenced=(), on_delete="a"):
        return {"table": table, "type": kind, "columns": columns, "ref_table": references,
                "ref_columns": list(referenced), "on_delete": on_delete, "on_update": "a"}

    return {
        "relations": {name: {"kind": "r"} for name in ("tenants", "notes", "tags", "colours")},
        "columns": {key: column(key.split(".")[0]) for key in (
            "tenants.id", "notes.id", "notes.tenant_id", "notes.code", "tags.tenant_id",
            "tags.note_id", "colours.name")},
        "constraints": {
            "tenants.tenants_pkey": constraint("tenants", "p", ["id"]),
            "notes.notes_pkey": constraint("notes", "p", ["tenant_id", "id"]),
            "notes.notes_tenant_id_fkey": constraint("notes", "f", ["tenant_id"], "tenants",
                                                     ["id"], on_delete="c"),
            "tags.tags_note_fkey": constraint("tags", "f", ["tenant_id", "note_id"], "notes",
                                              ["tenant_id", "id"], on_delete="c"),
            "colours.colours_pkey": constraint("colours", "p", ["name"]),
        },
        "indexes": {"notes_tenant_id_code_lower_key": {
            "table": "notes", "unique": True, "constraint": None,
            "keys": ["tenant_id", "lower(code::text)"]}},
    }


PLAN = {"tenant_columns": {"tenants": "id"}, "reference_tables": {"colours": "shared"},
        "blockers": {}}
LISTED = {"reason": "r", "change": "c"}


def _add(key, **facts):
    def change(sample):
        table = key.split(".")[0]
        sample["constraints"][key] = {"table": table, "on_delete": "a", "on_update": "a",
                                      "ref_table": None, "ref_columns": [], **facts}
    return change


BREAKAGES = {
    "global-unique": (
        _add("notes.notes_code_key", type="u", columns=["code"]), {},
        ["notes.notes_code_key: unique constraint of notes, distributed by tenant_id: want "
         "tenant_id among its columns (Citus checks a unique rule within one shard only), "
         f"have (code){LIST_IT}"]),
    "tenant-in-an-expression-only": (
        lambda s: s["indexes"]["notes_tenant_id_code_lower_key"].update(
            keys=["lower(tenant_id::text)", "code"]), {},
        ["notes.notes_tenant_id_code_lower_key: unique index of notes, distributed by "
         "tenant_id: want tenant_id among its columns (Citus checks a unique rule within one "
         f"shard only), have (lower(tenant_id::text), code){LIST_IT}"]),
    "not-co-located": (
        _add("tags.tags_note_id_fkey", type="f", columns=["note_id", "tenant_id"],
             ref_table="notes", ref_columns=["tenant_id", "id"]), {},
        ["tags.tags_note_id_fkey: foreign key between tables distributed by tenant_id and "
         "tenant_id: want tenant_id matched with notes.tenant_id (Citus keeps keys between "
         "co-located shards only), have (note_id, tenant_id) -> notes(tenant_id, id)"
         f"{LIST_IT}"]),
    "set-null-on-the-tenant": (
        lambda s: s["constraints"]["tags.tags_note_fkey"].update(on_delete="n"), {},
        ["tags.tags_note_fkey: foreign key holding the distribution column tenant_id: want no "
         "SET NULL, SET DEFAULT or ON UPDATE CASCADE (Citus refuses them on it), have ON "
         f"DELETE SET NULL{LIST_IT}"]),
    "reference-to-distributed": (
        _add("colours.colours_tenant_fkey", type="f", columns=["name"], ref_table="tenants",
             ref_columns=["id"]), {},
        ["colours.colours_tenant_fkey: foreign key of reference table colours to tenants, "
         "distributed by id: want no such key (Citus has none from a reference table to a "
         f"distributed one), have (name) -> tenants(id){LIST_IT}"]),
    "nullable-tenant": (
        lambda s: s["columns"]["notes.tenant_id"].update(nullable=True), {},
        ["notes.tenant_id: distribution column of notes: want NOT NULL (Citus refuses a row "
         f"whose distribution column is NULL), have nullable{LIST_IT}"]),
    "no-place": (
        lambda s: s["relations"].update(labels={"kind": "r"}), {},
        ["labels: no place on a cluster: want a tenant_id column holding the tenant, or the "
         "contract's distribution.tenant_columns to name the column that holds it, or "
         "distribution.reference_tables to say why every node keeps a copy"]),
    "listed": (
        _add("notes.notes_code_key", type="u", columns=["code"]),
        {"notes.notes_code_key": LISTED}, []),
}

STALE = {
    "blocks-nothing": ({"blockers": {"notes.notes_pkey": LISTED}},
                       ["distribution.blockers.notes.notes_pkey: blocks nothing (want the "
                        "entry removed)"]),
    "no-such-table": ({"reference_tables": {"colours": "shared", "gone": "shared"}},
                      ["distribution.reference_tables.gone: no such table (want the entry "
                       "removed)"]),
}


def everything(snapshot) -> list[str]:
    return [name for table in pg_catalog.tables(snapshot)
            for name in table_objects(snapshot, table)] + key_objects(snapshot)


def test_the_rule_holds_on_the_sample():
    sample = _sample()
    assert problems(sample, PLAN, everything(sample)) == []
    assert stale_entries(sample, PLAN) == []


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_rule_catches_its_breakage(breakage):
    change, listed, want = BREAKAGES[breakage]
    sample = copy.deepcopy(_sample())
    change(sample)
    assert problems(sample, {**PLAN, "blockers": listed}, everything(sample)) == want


@pytest.mark.parametrize("stale", STALE)
def test_a_stale_entry_is_caught(stale):
    plan, want = STALE[stale]
    assert stale_entries(_sample(), {**PLAN, **plan}) == want
