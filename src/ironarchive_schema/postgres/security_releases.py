"""PostgreSQL minor releases that fixed row-level-security vulnerabilities, and a warning
for a server older than the fixes of its major (docs/security.md).

The schema's tenant boundary rests on row-level security; on a server without these fixes a
tenant context can read or change what its policies forbid, whatever the schema says.
Sources: the PostgreSQL security pages of each CVE (www.postgresql.org/support/security/).
"""

from dataclasses import dataclass

import psycopg

from ironarchive_schema.postgres import admin


@dataclass(frozen=True)
class Fix:
    cve: str
    summary: str
    #: major -> the first minor release of that major with the fix
    fixed_in: dict[int, int]


RLS_FIXES = (
    Fix("CVE-2023-2455", "row security policies disregard user ID changes after inlining",
        {15: 3, 14: 8, 13: 11}),
    Fix("CVE-2023-39418", "MERGE fails to enforce UPDATE or SELECT row security policies",
        {15: 4}),
    Fix("CVE-2024-10976", "row security below subqueries disregards user ID changes",
        {17: 1, 16: 5, 15: 9, 14: 14, 13: 17}),
    Fix("CVE-2025-8713", "optimizer statistics expose sampled data within a view, partition "
        "or child table", {17: 6, 16: 10, 15: 14, 14: 19, 13: 22}),
)
#: The oldest major these fixes are recorded for; older ones are out of upstream support.
OLDEST_MAJOR = 13


def missing(server_version_num: int) -> list[tuple[Fix, str]]:
    """The fixes a server (``server_version_num``, e.g. 150008) lacks, each with the release
    that has it. A major newer than a fix's list was released with it."""
    major, minor = divmod(server_version_num, 10000)
    return [(fix, f"{major}.{fix.fixed_in[major]}") for fix in RLS_FIXES
            if major in fix.fixed_in and minor < fix.fixed_in[major]]


def warning(server_version_num: int) -> str | None:
    """One line for stderr, or None when the server has every fix."""
    major, minor = divmod(server_version_num, 10000)
    if major < OLDEST_MAJOR:
        return (f"warning: PostgreSQL {major}.{minor} is out of upstream support; its "
                f"row-level security lacks fixes: upgrade to a supported major")
    lacking = missing(server_version_num)
    if not lacking:
        return None
    listed = ", ".join(f"{fix.cve} (fixed in {release})" for fix, release in lacking)
    return (f"warning: PostgreSQL {major}.{minor} lacks row-level-security fixes: {listed}; "
            f"upgrade to the newest {major}.x (docs/security.md)")


def server_warning(url: str) -> str | None:
    """``warning`` for the server at ``url``; None when it cannot be asked (the command then
    reports the connection problem itself)."""
    try:
        with admin.connect(url) as conn:
            number = int(admin.scalar(conn.execute("SHOW server_version_num")))
    except psycopg.Error:
        return None
    return warning(number)
