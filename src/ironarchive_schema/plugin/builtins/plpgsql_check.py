"""plpgsql_check on every PL/pgSQL function of the migrated schema (:mod:`lint.plpgsql_check`):
one test per function of schema ``public``, parametrised over the catalog (ids its name and
arguments: ``-k fill_tenant``), a trigger function checked against each table its triggers
are on. A finding fails its function's test unless the exceptions file
(``PLPGSQL_CHECK_EXCEPTIONS``, default ``plpgsql_check.yaml``) accepts it with a reason, and
an exception that covers no finding fails too.

Tests run the paths of a function they reach; plpgsql_check compiles every statement, so the
branch no test takes is checked as well.

The extension must be on the server. On Debian's PostgreSQL 15, for which Debian packages
it (``postgresql-15-plpgsql-check``, installed by ``make postgres``), a server without it
fails each test in one line saying how to install it. On other servers without it (other
majors, and the pinned builds, e.g. the CI workflow's PostgreSQL 15 on Ubuntu) each test is
skipped with a reason naming the server: not checked there, and the run says so.
"""

import psycopg
import pytest

from ironarchive_schema.lint import plpgsql_check
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.session import collection_catalog
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.binaries import DEBIAN_ROOT
from ironarchive_schema.postgres.install import PLPGSQL_CHECK_HOW, PLPGSQL_CHECK_MAJOR


def pytest_generate_tests(metafunc):
    if "plpgsql_function" in metafunc.fixturenames:
        snapshot = collection_catalog(metafunc.config)
        if snapshot is None:
            # The test still runs, and fails in its database fixture with the reason.
            params = [pytest.param(None, id="no-schema")]
        else:
            params = [pytest.param(key, id=key) for key in plpgsql_functions(snapshot)]
        metafunc.parametrize("plpgsql_function", params)


def plpgsql_functions(snapshot: dict) -> list[str]:
    """The keys of the snapshot's PL/pgSQL functions in schema ``public`` (the snapshot
    qualifies the names of other schemas' functions: ``schema.name(...)``)."""
    return sorted(key for key, row in snapshot["functions"].items()
                  if row["language"] == "plpgsql" and "." not in key.partition("(")[0])


def installable(major: int, debian: bool) -> bool:
    """Whether ``make postgres`` can give this server the extension: Debian's build of the
    major Debian packages it for."""
    return debian and major == PLPGSQL_CHECK_MAJOR


def unavailable(major: int, debian: bool) -> str:
    """Why a server without the extension checks nothing: where it can be installed, how;
    elsewhere that this server has none."""
    if installable(major, debian):
        return (f"Debian's PostgreSQL {major} here has no plpgsql_check extension: "
                f"{PLPGSQL_CHECK_HOW}")
    build = "Debian's" if debian else "this (not Debian's)"
    return (f"plpgsql_check is not available on {build} PostgreSQL {major} (here only Debian's "
            f"PostgreSQL {PLPGSQL_CHECK_MAJOR} has it): PL/pgSQL not checked on this server")


def without_extension(function: str, major: int, debian: bool) -> None:
    """Where the extension can be installed, a server without it fails the test; elsewhere
    the test is skipped, saying so: never a pass that checked nothing."""
    if installable(major, debian):
        raise GateFailure(f"{function}: not checked: {unavailable(major, debian)}")
    pytest.skip(unavailable(major, debian))


def is_debian_build(conn) -> bool:
    """The server's libraries are under Debian's PostgreSQL folder (pg_config, superuser)."""
    try:
        row = conn.execute("SELECT setting FROM pg_catalog.pg_config "
                           "WHERE name = 'PKGLIBDIR'").fetchone()
    except psycopg.Error:  # a --database-url role without the right to read pg_config
        return False
    return bool(row) and row[0].startswith(f"{DEBIAN_ROOT}/")


class Checker:
    """A copy of the migrated template with plpgsql_check in a schema of its own, or the
    reason there is none."""

    def __init__(self, conn, major: int, debian: bool):
        self.conn, self.major, self.debian = conn, major, debian
        self.available = plpgsql_check.available(conn)
        self.error: str | None = None
        self.targets: dict[str, plpgsql_check.Target] = {}
        if self.available:
            try:
                plpgsql_check.create_extension(conn)
            except psycopg.Error as error:  # e.g. a --database-url role that is no superuser
                self.error = (f"CREATE EXTENSION {plpgsql_check.EXTENSION} failed: "
                              f"{error.diag.message_primary or error}")
                return
            self.targets = plpgsql_check.targets(conn)

    def require(self, function: str) -> None:
        if self.error:
            raise GateFailure(f"{function}: not checked: {self.error}")
        if not self.available:
            without_extension(function, self.major, self.debian)


@pytest.fixture(scope="session")
def plpgsql_checker(admin_url, template_name):
    with admin.temporary(admin_url, "plpgsql_check", template_name) as url, \
            admin.connect(url, autocommit=True) as conn:
        yield Checker(conn, conn.info.server_version // 10000, is_debian_build(conn))


@pytest.fixture(scope="session")
def plpgsql_exceptions(gate_settings) -> list[plpgsql_check.Accepted]:
    path = gate_settings.plpgsql_check_exceptions
    try:
        return plpgsql_check.read_exceptions(
            path, required=gate_settings.source("PLPGSQL_CHECK_EXCEPTIONS") != "default")
    except plpgsql_check.ExceptionsError as error:
        raise GateFailure(str(error), [("Fix", FIX.format(path=path))]) from None


FIX = ("change the function in a new migration (a released one cannot change); where a "
       "finding is not a defect, accept it in {path}: function, table (a trigger's), line, "
       "message or sqlstate, and the reason")


def test_plpgsql_check_finds_nothing_unexcepted(plpgsql_function, plpgsql_checker,
                                                plpgsql_exceptions, gate_settings):
    plpgsql_checker.require(plpgsql_function)
    target = plpgsql_checker.targets[plpgsql_function]
    findings = plpgsql_check.check(plpgsql_checker.conn, target)
    unexcepted, stale = plpgsql_check.judge(plpgsql_function, findings, plpgsql_exceptions)
    if unexcepted or stale:
        path = gate_settings.plpgsql_check_exceptions
        raise GateFailure("\n".join([*map(str, unexcepted),
                                     *(f"{e}: the exception in {path} covers no finding"
                                       for e in stale)]), [
            ("Want", f"no plpgsql_check finding, or each accepted in {path} with its reason"),
            ("Have", "\n".join(_have(target, finding) for finding in unexcepted)),
            ("Stale exceptions", "\n".join(f"{e}\n    reason: {e.reason}" for e in stale)),
            ("Fix", FIX.format(path=path) + ("; remove the stale exceptions" if stale else ""))])


def _have(target: plpgsql_check.Target, finding: plpgsql_check.Finding) -> str:
    """A finding with what plpgsql_check says of it, and the source line it points at."""
    on = f" on {finding.table}" if finding.table else ""
    at = f"line {finding.line}" if finding.line else "no line"
    lines = [f"{at}{on} ({finding.statement or 'no statement'}): {finding.level} "
             f"{finding.sqlstate}: {finding.message}"]
    for label, text in (("source", target.source_line(finding.line)),
                        ("detail", finding.detail), ("hint", finding.hint),
                        ("context", finding.context), ("query", finding.query)):
        if text:
            lines.append(f"    {label}: {' '.join(text.split())}")
    return "\n".join(lines)


def test_every_exception_names_a_plpgsql_function_of_the_schema(plpgsql_exceptions,
                                                                catalog_snapshot,
                                                                gate_settings):
    """An exception for a function that is gone (renamed, its arguments changed) would wait
    unnoticed for a function of that name to come back."""
    functions = set(plpgsql_functions(catalog_snapshot))
    gone = [e for e in plpgsql_exceptions if e.function not in functions]
    if gone:
        path = gate_settings.plpgsql_check_exceptions
        raise GateFailure("\n".join(f"{e}: {path} names a function the schema has no "
                                    f"PL/pgSQL function of" for e in gone), [
            ("PL/pgSQL functions", "\n".join(sorted(functions)) or "(none)"),
            ("Fix", "name the function as the catalog does, name(arguments), or remove the "
                    "exception")])
