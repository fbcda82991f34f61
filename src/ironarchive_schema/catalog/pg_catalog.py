"""One read of ``pg_catalog`` into plain, comparable data.

A snapshot is a dict of sections (``extensions``, ``relations``, ``columns``,
``constraints``, ``indexes``, ``triggers``, ``functions``, ``types``, ``policies``,
``schemas``), each mapping a readable key (``emails``, ``emails.sent_at``,
``attachments.attachments_email_id_fkey``, ``idx_emails_sent_at``, ...) to a dict of facts.
Names in schema ``public`` are unqualified; others carry their schema. The queries live in
``sql/*.sql``, one per section.
"""

from importlib import resources

import psycopg
from psycopg.rows import dict_row

from ironarchive_schema.postgres import admin

#: golang-migrate's bookkeeping table: not part of the schema the migrations describe.
MIGRATE_TABLE = "schema_migrations"

SECTIONS = ("schemas", "extensions", "relations", "columns", "constraints", "indexes",
            "triggers", "functions", "types", "policies")


def _query(section: str) -> str:
    return resources.files(__package__).joinpath("sql", f"{section}.sql").read_text()


def qualify(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _key(section: str, row: dict) -> str:
    """Pop the identifying columns off ``row`` and return its key in the snapshot."""
    schema = row.pop("schema", "public")
    name = row.pop("name")
    if "table" in row:
        row["table"] = qualify(schema, row["table"])
    if section in ("schemas", "extensions"):
        return name
    if section == "functions":
        return f"{qualify(schema, name)}({row.pop('arguments')})"
    if section in ("relations", "types", "indexes"):
        return qualify(schema, name)
    return f"{row['table']}.{name}"


def snapshot_of(url: str) -> dict[str, dict[str, dict]]:
    """``snapshot`` of the database at ``url``, on a connection of its own."""
    with admin.connect(url) as conn:
        return snapshot(conn)


#: Relation kinds that are tables: ordinary and partitioned.
TABLE_KINDS = ("r", "p")


def tables(snap: dict) -> list[str]:
    """The tables of a snapshot (ordinary and partitioned; no views, sequences...), by name."""
    return sorted(name for name, rel in snap["relations"].items() if rel["kind"] in TABLE_KINDS)


def member(key: str, row: dict) -> str:
    """The own name of a table's column, constraint, trigger or policy: its key less the
    ``<table>.`` it starts with (the table may be schema-qualified, the name hold dots)."""
    return key[len(row["table"]) + 1:]


def on_table(snap: dict, section: str, table: str) -> dict[str, dict]:
    """A table's entries of ``section`` by their own names (indexes: their keys, which
    carry no table)."""
    return {key if section == "indexes" else member(key, row): row
            for key, row in snap[section].items() if row["table"] == table}


def snapshot(conn: psycopg.Connection, ignore_tables: tuple[str, ...] = (MIGRATE_TABLE,)
             ) -> dict[str, dict[str, dict]]:
    """Read the whole user-visible catalog of the connected database."""
    result: dict[str, dict[str, dict]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for section in SECTIONS:
            cur.execute(_query(section))
            entries = {}
            for row in cur.fetchall():
                key = _key(section, row)
                if (key if section == "relations" else row.get("table")) in ignore_tables:
                    continue
                entries[key] = row
            result[section] = entries
    return result


def settings(conn: psycopg.Connection) -> dict[str, object] | None:
    """The ``settings`` rows, key -> JSON value; ``None`` when there is no such table.

    Data, not structure, so not part of ``snapshot``: the up migration seeds these rows
    and the contract states them.
    """
    with conn.cursor() as cur:
        if admin.scalar(cur.execute("SELECT to_regclass('public.settings')")) is None:
            return None
        return dict(cur.execute(_query("settings_rows")).fetchall())


def diff(want: dict, have: dict) -> list[str]:
    """Readable differences between two snapshots: ``-`` only in want, ``+`` only in have."""
    lines = []
    for section in SECTIONS:
        a, b = want.get(section, {}), have.get(section, {})
        for key in sorted(a.keys() - b.keys()):
            lines.append(f"- {section} {key}")
        for key in sorted(b.keys() - a.keys()):
            lines.append(f"+ {section} {key}")
        for key in sorted(a.keys() & b.keys()):
            for fact in sorted(a[key].keys() | b[key].keys()):
                if a[key].get(fact) != b[key].get(fact):
                    lines.append(f"~ {section} {key}: {fact}: "
                                 f"{a[key].get(fact)!r} -> {b[key].get(fact)!r}")
    return lines
