"""What a benchmark figure depends on: the machine, the server, and the data's shape."""

import os
import platform
import re
from pathlib import Path

import psycopg

from .plans import LARGE_TABLES

#: Server settings that move the figures; reported as the server had them.
SETTINGS = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
            "random_page_cost", "jit", "max_wal_size", "autovacuum", "fsync",
            "synchronous_commit", "full_page_writes", "plan_cache_mode")

TABLES = ("tenants", "users", "mailboxes", "emails", "attachments", "jobs", "audit_logs")

#: The data's shape, as the queries see it: each a (label, SQL giving one value).
SHAPE = (
    ("e-mails in the largest mailbox", "SELECT max(email_count) FROM mailboxes"),
    ("e-mails in the median mailbox",
     "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY email_count) FROM mailboxes"),
    ("e-mails in the mailbox the delete test removes",
     "SELECT email_count FROM mailboxes ORDER BY abs(email_count - 100000), id LIMIT 1"),
    ("soft-deleted e-mails",
     "SELECT round(100.0 * count(*) FILTER (WHERE deleted_at IS NOT NULL) / count(*), 1) "
     "|| ' %' FROM emails"),
    ("attachment rows repeating an earlier hash",
     "SELECT round(100.0 * (count(*) - count(DISTINCT sha256_hash)) / count(*), 1) || ' %' "
     "FROM attachments"),
    ("QUEUED jobs", "SELECT count(*) FROM jobs WHERE status = 'QUEUED'"),
    ("audit rows of the busiest user",
     "SELECT count(*) FROM audit_logs GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"),
    ("tenants on legal hold", "SELECT count(*) FROM tenants WHERE legal_hold"),
)


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the figures."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict[str, str]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    return {
        "CPU": f"{model.group(1) if model else platform.processor() or 'unknown'}, "
               f"{os.cpu_count()} cores",
        "memory": f"{int(memory.group(1)) / 1024 ** 2:.1f} GiB" if memory else "unknown",
        "system": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()}, psycopg {psycopg.__version__}",
        "load average at the start (1, 5, 15 min)": load(),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def server(conn: psycopg.Connection) -> dict[str, str]:
    facts = {"version": conn.execute("SELECT version()").fetchone()[0]}
    for name in SETTINGS:
        facts[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    conn.rollback()
    return facts


def tables(conn: psycopg.Connection) -> list[tuple[str, int, str, str]]:
    """(table, rows, heap size, size of its indexes) for each table."""
    rows = [conn.execute(
        f"SELECT %s, (SELECT count(*) FROM {name}), "
        "pg_size_pretty(pg_table_size(%s::regclass)), "
        "pg_size_pretty(pg_indexes_size(%s::regclass))", (name, name, name)).fetchone()
        for name in TABLES]
    conn.rollback()
    return rows


def indexes(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(table, index, size) of every index of the large tables: what ingest pays for."""
    rows = conn.execute(
        "SELECT t.relname, i.relname, pg_size_pretty(pg_relation_size(i.oid)) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(%s) "
        "ORDER BY array_position(%s, t.relname::text), pg_relation_size(i.oid) DESC",
        (list(LARGE_TABLES), list(LARGE_TABLES))).fetchall()
    conn.rollback()
    return rows


def shape(conn: psycopg.Connection) -> list[tuple[str, str]]:
    values = [(label, str(conn.execute(statement).fetchone()[0])) for label, statement in SHAPE]
    conn.rollback()
    return values
