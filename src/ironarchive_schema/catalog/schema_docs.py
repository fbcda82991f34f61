"""docs/schema.md: the data dictionary and ER diagram, generated from the catalog.

``make schema-docs`` writes it from a freshly migrated database; the suite regenerates it
from its own snapshot and fails when the file differs. Output depends on the catalog
only (no dates, no paths), so the same migrations always give the same bytes.
"""

import json
from pathlib import Path

#: Where the data dictionary lives, under the project's folder.
DOCS_PATH = Path("docs") / "schema.md"

#: Shorter type names for the diagram, where Mermaid allows no spaces.
SHORT_TYPES = {"timestamp with time zone": "timestamptz",
               "timestamp without time zone": "timestamp",
               "character varying": "varchar", "double precision": "float8"}


def generate(schema: dict) -> str:
    """The document for ``schema``, the database as ``contract.from_catalog`` states it."""
    version = schema["version"]
    tables = _parents_first(schema["tables"])
    lines = [
        "# IronArchive schema",
        "",
        "<!-- Generated from the catalog by `make schema-docs`; do not edit. Change the",
        "     migrations (and contract/schema.yaml), then run `make schema-docs`. -->",
        "",
        f"The database after migration {version:06d}: every table and column with its "
        f"comment from the catalog. Reviewed contract: "
        f"[`contract/schema.yaml`](../contract/schema.yaml); naming and invariants: "
        f"[`conventions.md`](conventions.md).",
        "",
        "| table | what it holds |",
        "|---|---|",
        *[f"| [`{name}`](#{name}) | {_cell(schema['tables'][name]['comment'])} |"
          for name in tables],
        "",
        "## Relationships",
        "",
        *_diagram(schema["tables"], tables),
    ]
    for name in tables:
        lines += _table(name, schema["tables"][name])
    lines += _functions(schema["functions"]) + _extensions(schema["extensions"])
    lines += _settings(schema["settings"])
    return "\n".join(lines) + "\n"


def _parents_first(tables: dict) -> list[str]:
    """Tables by level (0: references no other table; n: references one of level n-1),
    then by name, so a referenced table comes before the tables referencing it."""
    parents = {name: {fk["references"].split("(")[0] for fk in table["foreign_keys"].values()}
               & tables.keys() - {name} for name, table in tables.items()}
    levels: dict[str, int] = {}

    def level(name: str, visiting: frozenset = frozenset()) -> int:
        if name not in levels:  # a reference cycle counts as level 0 where it closes
            levels[name] = 1 + max((level(p, visiting | {name}) for p in parents[name]
                                    if p not in visiting), default=-1)
        return levels[name]

    return sorted(tables, key=lambda name: (level(name), name))


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _code(text: str | None) -> str:
    return f"`{_cell(text)}`" if text else ""


def _short_type(type_name: str) -> str:
    for long, short in SHORT_TYPES.items():
        type_name = type_name.replace(long, short)
    return type_name.replace(" ", "_")


def _fk_columns(key: str) -> list[str]:
    """The referencing columns of a foreign key, from its key in the contract's shape."""
    return key.split(" (")[0].split(", ")


def _diagram(tables: dict, order: list[str]) -> list[str]:
    """Mermaid erDiagram: parent ||--o{ child, or |o--o{ when the child's key may be NULL."""
    lines = ["```mermaid", "erDiagram"]
    for name in order:
        table = tables[name]
        for key, fk in table["foreign_keys"].items():
            columns = _fk_columns(key)
            parent = "|o" if any(table["columns"][c]["nullable"] for c in columns) else "||"
            lines.append(f'    {fk["references"].split("(")[0]} {parent}--o{{ {name} : '
                         f'"{", ".join(columns)}"')
    for name in order:
        table = tables[name]
        marks = {column: ["PK"] for column in
                 (table["primary_key"]["columns"] if table["primary_key"] else [])}
        for key in table["foreign_keys"]:
            for column in _fk_columns(key):
                marks.setdefault(column, []).append("FK")
        lines.append(f"    {name} {{")
        lines += [f"        {_short_type(facts['type'])} {column}"
                  f"{' ' + ', '.join(marks[column]) if column in marks else ''}"
                  for column, facts in table["columns"].items()]
        lines.append("    }")
    return lines + ["```"]


def _constraint(timing: str | None) -> str:
    return f"CONSTRAINT ({timing}) " if timing else ""


def _events(trigger: dict) -> str:
    columns = f" OF {', '.join(trigger['columns'])}" if trigger["columns"] else ""
    return " OR ".join(event + (columns if event == "UPDATE" else "")
                       for event in trigger["events"])


def _call(trigger: dict) -> str:
    arguments = ", ".join(f"'{argument}'" for argument in trigger["arguments"])
    return f"{trigger['function'].removesuffix('()')}({arguments})"


def _when(condition: str | None) -> str:
    return f" WHEN ({condition})" if condition else ""


def _table(name: str, table: dict) -> list[str]:
    lines = ["", f"## {name}", "", _cell(table["comment"]), "",
             "| column | type | null | default | comment |", "|---|---|---|---|---|"]
    lines += [f"| `{column}` | `{facts['type']}` | {'null' if facts['nullable'] else 'not null'}"
              f" | {_code(facts['default'])} | {_cell(facts['comment'])} |"
              for column, facts in table["columns"].items()]
    facts = []
    if table["primary_key"]:
        pk = table["primary_key"]
        facts.append(f"- Primary key `{pk['name']}`: ({', '.join(pk['columns'])})")
    facts += [f"- Foreign key `{fk['name']}`: ({columns}) → `{fk['references']}`, "
              f"ON DELETE {fk['on_delete']}, ON UPDATE {fk['on_update']}"
              for columns, fk in table["foreign_keys"].items()]
    for unique_name, rule in table["unique"].items():
        kind = "constraint" if rule["constraint"] else "index"
        where = f" WHERE {rule['where']}" if rule["where"] else ""
        facts.append(f"- Unique {kind} `{unique_name}`: "
                     f"({', '.join(rule['constraint'] or rule['index'])}){where}")
    facts += [f"- Check `{check}`: {_code(definition)}"
              for check, definition in table["checks"].items()]
    for index_name, index in table["indexes"].items():
        method = "" if index["method"] == "btree" else f" USING {index['method']}"
        include = f" INCLUDE ({', '.join(index['include'])})" if index["include"] else ""
        where = f" WHERE {index['where']}" if index["where"] else ""
        facts.append(f"- Index `{index_name}`:{method} ({', '.join(index['keys'])})"
                     f"{include}{where}")
    facts += [f"- Trigger `{trigger_name}`: {_constraint(t['constraint'])}{t['timing']} "
              f"{_events(t)} FOR EACH {t['level']}{_when(t['when'])} → `{_call(t)}`"
              for trigger_name, t in table["triggers"].items()]
    if table["row_security"]:
        facts.append("- Row-level security enabled")
    for policy_name, p in table["policies"].items():
        kind = "" if p["permissive"] else " RESTRICTIVE"
        using = f" USING ({_code(p['using'])})" if p["using"] else ""
        check = f" WITH CHECK ({_code(p['check'])})" if p["check"] else ""
        facts.append(f"- Policy `{policy_name}`:{kind} FOR {p['command']} "
                     f"TO {', '.join(p['roles'])}{using}{check}")
    facts += [f"- Grant to `{role}`: {', '.join(privileges)}"
              for role, privileges in table["grants"].items()]
    return lines + ([""] + facts if facts else [])


def _functions(functions: dict) -> list[str]:
    if not functions:
        return []
    return ["", "## Functions", "", "| function | returns | language | volatility | comment |",
            "|---|---|---|---|---|",
            *[f"| `{signature}` | `{fn['returns']}` | {fn['language']} | {fn['volatility']}"
              f"{', parallel ' + fn['parallel'] if fn['parallel'] != 'unsafe' else ''}"
              f"{', strict' if fn['strict'] else ''}"
              f"{', security definer' if fn['security_definer'] else ''} | {_cell(fn['comment'])} |"
              for signature, fn in sorted(functions.items())]]


def _extensions(extensions: dict) -> list[str]:
    if not extensions:
        return []
    return ["", "## Extensions", "", "| extension | schema |", "|---|---|",
            *[f"| `{name}` | `{schema}` |" for name, schema in sorted(extensions.items())]]


def _settings(settings: dict) -> list[str]:
    if not settings:
        return []
    return ["", "## Seeded settings", "", "Rows the migrations insert into `settings`.", "",
            "| key | value (JSON) |", "|---|---|",
            *[f"| `{key}` | {_code(json.dumps(value))} |"
              for key, value in sorted(settings.items())]]
