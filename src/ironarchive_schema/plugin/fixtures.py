"""The plugin's public fixtures and factories.

- ``gate_settings``: the run's resolved settings; ``migrations_dir``: the folder under test;
- ``admin_url``: the test server's maintenance database (create and drop databases there);
- ``template_name``: the database migrated once per run, which every copy is made from;
- ``migrate_on(url, folder=None)``: the real migrate bound to a database and a folder;
- ``migrated_template(folder)``: a template migrated from any folder, once per folder;
- ``owned_database(template=None)``: a database of the test's own (a copy of ``template``,
  else empty), dropped afterwards, for tests that commit, run migrate or need several;
- ``db``: this worker's copy, in a transaction rolled back after each test;
- ``fresh_db_url``: a migrated copy of the test's own (~11 ms); ``empty_db_url``: an empty
  database, for lifecycle tests;
- ``catalog_snapshot``: the migrated template's catalog, read once per run;
- ``contract``: the reviewed contract; ``catalog_as_contract``: the migrated catalog in the
  contract's shape (``seeded_settings``: the rows of a ``settings`` table, where there is one);
- ``sqlfluff``, ``squawk``: the linters with the project's ``.sqlfluff`` and ``.squawk.toml``;
- ``migration_traces``: file name -> the lock trace of each statement (rehearsal.locks),
  every file of the folder traced once per worker on an empty database.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from ironarchive_schema import settings
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.contract.from_catalog import from_catalog
from ironarchive_schema.contract.load import ContractError, load
from ironarchive_schema.lint.sqlfluff_check import Sqlfluff
from ironarchive_schema.lint.squawk_check import Squawk
from ironarchive_schema.migrate.command import Migrate, MigrateError
from ironarchive_schema.migrate.migration_files import newest_version
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.plugin.options import gate_settings as settings_of
from ironarchive_schema.plugin.session import STATE_KEY
from ironarchive_schema.postgres import admin
from ironarchive_schema.rehearsal.locks import StatementTrace, trace_migrations


@pytest.fixture(scope="session")
def gate_settings(pytestconfig) -> settings.Settings:
    """The settings this run resolved once: flag, ini option, environment, default."""
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def migrations_dir(gate_settings) -> Path:
    """The migrations folder under test (``--migrations-dir``, ``migrations_dir``, ...)."""
    return gate_settings.migrations_dir


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
def template_name(server_state, migrations_dir) -> str:
    if server_state["template_error"]:
        raise GateFailure(f"{migrations_dir}: the migrations do not apply", [
            ("migrate", server_state["template_error"]),
            ("Fix", "the failing file is in migrate's last line; the database it ran on was "
                    "a throwaway copy")])
    return server_state["template"]


@pytest.fixture(scope="session")
def migrate_on(gate_settings, migrations_dir) -> Callable[..., Migrate]:
    """``migrate_on(url, folder=None, **options)``: the real migrate bound to ``url`` and
    ``folder`` (default: the migrations under test)."""
    return lambda url, folder=None, **options: Migrate(url, folder or migrations_dir,
                                                       gate_settings, **options)


@pytest.fixture(scope="session")
def migrated_template(admin_url, migrate_on) -> Iterator[Callable[[Path], str]]:
    """``migrated_template(folder)``: the name of a template database migrated up from
    ``folder``, made once per folder and run; a folder that does not apply fails the test."""
    made: dict[Path, str] = {}

    def template(folder: Path) -> str:
        folder = Path(folder).resolve()
        if folder not in made:
            name = admin.unique_name("template")
            url = admin.create_database(admin_url, name)
            try:
                migrate_on(url, folder).up()
            except MigrateError as exc:
                admin.drop_database(admin_url, name)
                raise GateFailure(f"{folder}: the migrations do not apply",
                                  [("migrate", f"{exc}\n{exc.output}")]) from None
            admin.mark_template(admin_url, name)
            made[folder] = name
        return made[folder]

    yield template
    for name in made.values():
        admin.drop_database(admin_url, name)


@pytest.fixture
def owned_database(admin_url) -> Iterator[Callable[..., str]]:
    """``owned_database(template=None, owner=None)``: the URL of a new database of the test's
    own, a copy of ``template`` (else empty), dropped after the test."""
    with ExitStack() as cleanup:
        def database(template: str = "template0", owner: str | None = None) -> str:
            return cleanup.enter_context(admin.temporary(admin_url, "owned", template, owner))
        yield database


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
def fresh_db_url(owned_database, template_name):
    """A migrated database of the test's own, for tests that commit or run migrate."""
    return owned_database(template_name)


@pytest.fixture
def empty_db_url(owned_database):
    """An empty database (copy of template0), for migration lifecycle tests."""
    return owned_database()


@pytest.fixture(scope="session")
def catalog_snapshot(server_state, template_name) -> dict:
    """The catalog of the schema at the newest migration: the template's, which every
    database copied from it shares, read once per run by the controller."""
    return server_state["catalog"]


CONTRACT_KEY = pytest.StashKey[dict | GateFailure]()


def contract_of(config: pytest.Config) -> dict:
    """The reviewed contract (``--contract``, ``contract_file``), every fact filled in: read
    once per process, for collection and for the ``contract`` fixture alike."""
    if CONTRACT_KEY not in config.stash:
        path = settings_of(config).contract_file
        try:
            config.stash[CONTRACT_KEY] = load(path)
        except ContractError as exc:
            config.stash[CONTRACT_KEY] = GateFailure(str(exc), [(
                "Fix", "the message says where; the contract's layout is in "
                       "ironarchive_schema.contract.layout")])
        except OSError as exc:
            config.stash[CONTRACT_KEY] = GateFailure(
                f"{path}: cannot read the contract: {exc.strerror}")
    found = config.stash[CONTRACT_KEY]
    if isinstance(found, GateFailure):
        raise found
    return found


@pytest.fixture(scope="session")
def contract(pytestconfig) -> dict:
    """The reviewed contract, every fact filled in."""
    return contract_of(pytestconfig)


@pytest.fixture(scope="session")
def seeded_settings(worker_db_url) -> dict | None:
    """The ``settings`` rows the migrations seeded, where the schema has that table (data,
    so not in ``catalog_snapshot``)."""
    with admin.connect(worker_db_url) as conn:
        return pg_catalog.settings(conn)


@pytest.fixture(scope="session")
def catalog_as_contract(migrations_dir, catalog_snapshot, seeded_settings) -> dict:
    """The migrated database as the contract would state it: the contract checks compare
    the contract with this."""
    return from_catalog(catalog_snapshot, seeded_settings, newest_version(migrations_dir))


@pytest.fixture(scope="session")
def sqlfluff(gate_settings) -> Sqlfluff:
    """sqlfluff with the project's .sqlfluff, started once per run (its start-up costs more
    than linting a file)."""
    return Sqlfluff(gate_settings.root / ".sqlfluff")


@pytest.fixture(scope="session")
def squawk(gate_settings) -> Squawk:
    """squawk with the project's .squawk.toml."""
    return Squawk(gate_settings.root / ".squawk.toml")


@pytest.fixture(scope="session")
def migration_traces(admin_url, migrate_on) -> dict[str, list[StatementTrace]]:
    with admin.temporary(admin_url, "trace") as url:
        return trace_migrations(url, migrate_on(url))
