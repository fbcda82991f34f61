"""Plans of the catalogue's queries, as the application gets them, and what is wrong with them.

The application prepares its statements, so PostgreSQL plans each execution either for its
parameter values (a custom plan) or once for all values (a generic plan, which the plan
cache picks after five executions when it looks no worse). Both are looked at here:
``explain(..., mode="custom")`` and ``mode="generic"`` force one or the other through
``plan_cache_mode``; ``mode="auto"`` leaves the choice to PostgreSQL, as in production.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import psycopg
from psycopg import pq, sql
from psycopg.rows import dict_row

from .queries import Query

MODES = ("custom", "generic", "auto")
#: Tables that grow with the archive: never to be read in full by an archive query.
LARGE_TABLES = ("emails", "attachments", "jobs", "audit_logs")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
STATEMENT = "bench_query"


@dataclass(frozen=True)
class Node:
    type: str
    relation: str | None
    index: str | None

    def __str__(self) -> str:
        text = self.type
        if self.index:
            text += f" using {self.index}"
        if self.relation:
            text += f" on {self.relation}"
        return text


def numbered(query: Query) -> tuple[str, list[str]]:
    """The statement with ``$1``, ``$2``... for PREPARE, and the parameter names in order."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return PLACEHOLDER.sub(number, query.sql), names


def prepare(conn: psycopg.Connection, query: Query) -> list[str]:
    """PREPARE the query as ``bench_query`` (replacing an earlier one); its parameter names."""
    text, names = numbered(query)
    if _prepared(conn):
        conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(STATEMENT)))
    conn.execute(sql.SQL("PREPARE {} AS {}").format(sql.Identifier(STATEMENT), sql.SQL(text)))
    return names


def _prepared(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s",
                        (STATEMENT,)).fetchone() is not None


def execute_prepared(conn: psycopg.Connection, names: list[str], params: Mapping,
                     explain: str | None = None, fetch: bool = True) -> list[tuple]:
    """EXECUTE the prepared query with ``params``, optionally under ``EXPLAIN (explain)``."""
    statement = sql.SQL("EXECUTE {}").format(sql.Identifier(STATEMENT))
    if names:
        statement += sql.SQL("({})").format(
            sql.SQL(", ").join(sql.Literal(params[name]) for name in names))
    if explain:
        statement = sql.SQL(f"EXPLAIN ({explain}) ") + statement
    cursor = conn.execute(statement)
    return cursor.fetchall() if fetch and cursor.description else []


def explain(conn: psycopg.Connection, query: Query, params: Mapping, mode: str = "custom",
            options: str = "FORMAT JSON", warmup: Iterable[Mapping] = ()) -> list[tuple]:
    """EXPLAIN (options) of the prepared query with ``params``, planned as ``mode`` says.

    ``warmup`` parameter rows are executed first, each in a transaction rolled back, as an
    application's connection would have run the statement before (in ``auto`` mode the
    plan cache decides on a generic plan from the first five). Everything is rolled back:
    with ANALYZE a writing query really runs, and nothing of it may stay.
    """
    conn.rollback()
    set_plan_cache_mode(conn, mode)
    try:
        names = prepare(conn, query)
        for row in warmup:
            execute_prepared(conn, names, row, fetch=False)
            conn.rollback()
        return execute_prepared(conn, names, params, explain=options)
    finally:
        conn.rollback()
        conn.execute("RESET plan_cache_mode")
        conn.commit()


def set_plan_cache_mode(conn: psycopg.Connection, mode: str) -> None:
    """``plan_cache_mode`` for the session, committed: ``custom`` and ``generic`` force that
    plan, ``auto`` leaves the choice to the plan cache. (SET LOCAL would be undone by the
    rollback after each execution.)"""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    conn.execute(sql.SQL("SET plan_cache_mode = {}").format(
        sql.Literal("auto" if mode == "auto" else f"force_{mode}_plan")))
    conn.commit()


def plan_json(conn: psycopg.Connection, query: Query, params: Mapping,
              mode: str = "custom") -> dict:
    """The top plan node of EXPLAIN (FORMAT JSON)."""
    return explain(conn, query, params, mode)[0][0][0]["Plan"]


def nodes(plan: dict) -> Iterator[Node]:
    """Every node of the plan, depth first."""
    yield Node(plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name"))
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def outline(plan: dict) -> str:
    """The plan on one line, e.g. ``Limit > Index Scan using idx on emails``."""
    return " > ".join(map(str, nodes(plan)))


def problems(query: Query, plan: dict) -> list[str]:
    """What keeps the plan from being "served by its index, no full scan, no sort"."""
    found = list(nodes(plan))
    issues = [f"Seq Scan on {node.relation}" for node in found
              if node.type == "Seq Scan" and node.relation in LARGE_TABLES]
    issues += [f"{node.type} step" for node in found if node.type.endswith("Sort")]
    if query.index and not any(node.index == query.index for node in found):
        issues.append(f"{query.index} not used")
    return issues


def rollback_keeping_statements(conn: psycopg.Connection) -> None:
    """ROLLBACK, sent below psycopg. Its ``rollback()``, and a ROLLBACK statement it
    executes, also deallocate every prepared statement of the connection: each execution
    would be a first one, planned again and never on the plan cache's generic plan, where
    a pooled application connection keeps its statements for its lifetime."""
    result = conn.pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.OperationalError(
            f"ROLLBACK failed: {result.error_message.decode(errors='replace').strip()}")


def fetch_params(conn: psycopg.Connection, statement: str, n: int = 1) -> list[dict]:
    """Parameter rows from a ``samples`` or ``probe`` statement, as dictionaries."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(statement, {"n": n}).fetchall()
    conn.rollback()
    return rows
