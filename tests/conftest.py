"""The suite's PostgreSQL fixtures: a thin layer over the ``ironarchive_schema`` library.

One server per run, started by the controlling process (the xdist controller, or the only
process), which also migrates one template database with the real migrate binary. Workers
receive both through ``workerinput`` and clone the template:

- ``db``: a connection to this worker's copy, in a transaction rolled back after each test;
- ``fresh_db_url``: a database of its own, copied from the template (~11 ms), for tests
  that must commit;
- ``empty_db_url``: an empty database, for migration lifecycle tests;
- ``catalog_snapshot``: the migrated template's catalog, read once per run.

At the end the controller prints one line saying where the run's time went
(``ironarchive_schema.plugin.timing``; ``RUNTIMES_FILE`` also records it).

Settings (command-line flag, else environment variable):
``--postgres`` / ``POSTGRES_BACKEND`` (embedded, url, docker, none),
``--database-url`` / ``TEST_DATABASE_URL``, ``--migrations-dir`` / ``MIGRATIONS_DIR``.
"""

import os
from pathlib import Path

import pytest

from ironarchive_schema import interrupts
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.migrate.command import Migrate, MigrateError
from ironarchive_schema.paths import migrations_dir
from ironarchive_schema.plugin.timing import Stopwatch, by_folder, record, summary
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import BACKENDS, start_server

STATE = "ironarchive"
STATE_KEY = pytest.StashKey[dict]()
SERVER_KEY = pytest.StashKey[object]()
STOPWATCH_KEY = pytest.StashKey[Stopwatch]()


def pytest_addoption(parser):
    group = parser.getgroup("ironarchive", "IronArchive schema suite")
    group.addoption("--postgres", choices=[*BACKENDS, "none"],
                    default=os.environ.get("POSTGRES_BACKEND"),
                    help="where PostgreSQL comes from (default: url when TEST_DATABASE_URL "
                         "is set, else embedded; none for tests that need no server)")
    group.addoption("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                    help="existing server for --postgres=url; the suite only creates and "
                         "drops its own databases there")
    group.addoption("--migrations-dir", default=os.environ.get("MIGRATIONS_DIR"),
                    help="migrations folder to test (default ./migrations)")


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Ctrl-C or SIGTERM, at any moment from here on: every process stops its children and
    # removes its servers (interrupts.py); the controller says so in one line, no traceback.
    interrupts.install(announce=not _is_worker(config))
    if config.getoption("migrations_dir"):
        os.environ["MIGRATIONS_DIR"] = str(Path(config.getoption("migrations_dir")).resolve())
    if _is_worker(config):
        config.stash[STATE_KEY] = config.workerinput[STATE]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Controller only: start the server, build migrate, migrate the template once."""
    config = session.config
    if _is_worker(config):
        return
    # Plain data: xdist hands it to every worker. ``catalog`` is the migrated template's
    # snapshot, for tests parametrised over the schema at collection time.
    state = {"admin_url": None, "template": None, "template_error": None, "error": None,
             "catalog": None}
    config.stash[STATE_KEY] = state
    stopwatch = config.stash[STOPWATCH_KEY] = Stopwatch(os.environ.pop("RUNTIMES_FILE", None))
    if config.getoption("postgres") == "none":
        state["error"] = "this run has no PostgreSQL server (--postgres=none)"
        return
    try:
        os.environ["MIGRATE_BIN"] = ensure_migrate()
        with stopwatch.step("server start"):
            server = start_server(config.getoption("postgres"), config.getoption("database_url"))
    except ToolchainError as exc:
        pytest.exit(f"error: {exc}", returncode=3)
    config.stash[SERVER_KEY] = server
    state["admin_url"] = server.admin_url
    state.update(_build_template(server.admin_url, stopwatch))


def _build_template(admin_url: str, stopwatch: Stopwatch) -> dict:
    """Migrate a new database to the newest version: its name and catalog, or the error."""
    name = admin.unique_name("template")
    url = admin.create_database(admin_url, name)
    try:
        with stopwatch.step("template migrate"):
            Migrate(url).up()
    except MigrateError as exc:
        admin.drop_database(admin_url, name)
        return {"template_error": f"{exc}\n{exc.output}"}
    with stopwatch.step("catalog snapshot"), admin.connect(url) as conn:
        schema = pg_catalog.snapshot(conn)
    admin.mark_template(admin_url, name)
    return {"template": name, "catalog": schema}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: hand the server and template to each worker."""
    node.workerinput[STATE] = node.config.stash[STATE_KEY]


def pytest_terminal_summary(terminalreporter, config):
    """One line saying where the run's time went (``make test`` prints one per part)."""
    if _is_worker(config) or STOPWATCH_KEY not in config.stash:
        return
    reports = [r for replist in terminalreporter.stats.values() for r in replist]
    stopwatch, folders = config.stash[STOPWATCH_KEY], by_folder(reports)
    terminalreporter.write_line(summary(stopwatch.steps, folders))
    record(stopwatch, folders)


def pytest_unconfigure(config):
    server = config.stash.get(SERVER_KEY, None)
    if _is_worker(config) or server is None:
        return
    state = config.stash[STATE_KEY]
    try:
        if state["template"]:
            admin.drop_database(state["admin_url"], state["template"])
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server_state(pytestconfig) -> dict:
    state = pytestconfig.stash[STATE_KEY]
    if state["error"]:
        pytest.fail(state["error"], pytrace=False)
    return state


@pytest.fixture(scope="session")
def admin_url(server_state) -> str:
    """Maintenance database of the test server: create and drop databases from here."""
    return server_state["admin_url"]


@pytest.fixture(scope="session")
def template_name(server_state) -> str:
    if server_state["template_error"]:
        pytest.fail(f"the migrations in {migrations_dir()} do not apply:\n"
                    f"{server_state['template_error']}", pytrace=False)
    return server_state["template"]


@pytest.fixture(scope="session")
def migrate_on():
    """``migrate_on(url)``: the real migrate bound to ``url`` and the migrations under test."""
    return lambda url: Migrate(url, migrations_dir())


@pytest.fixture(scope="session")
def worker_db_url(admin_url, template_name):
    """This worker's copy of the migrated template, shared by its ``db`` tests."""
    with admin.temporary(admin_url, "worker", template_name) as url:
        yield url


@pytest.fixture(scope="session")
def worker_conn(worker_db_url):
    with admin.connect(worker_db_url) as conn:
        yield conn


@pytest.fixture
def db(worker_conn):
    """A connection inside a transaction that is rolled back after the test. Never commit."""
    yield worker_conn
    worker_conn.rollback()


@pytest.fixture
def fresh_db_url(admin_url, template_name):
    """A migrated database of the test's own, for tests that commit or run migrate."""
    with admin.temporary(admin_url, "fresh", template_name) as url:
        yield url


@pytest.fixture
def empty_db_url(admin_url):
    """An empty database (copy of template0), for migration lifecycle tests."""
    with admin.temporary(admin_url, "empty") as url:
        yield url


@pytest.fixture(scope="session")
def catalog_snapshot(server_state, template_name) -> dict:
    """The catalog of the schema at the newest migration: the template's, which every
    database copied from it shares, read once per run by the controller."""
    return server_state["catalog"]
