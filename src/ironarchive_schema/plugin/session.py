"""The run's hooks: settings resolved, the server started and the template migrated once by
the controller, handed to each xdist worker, stopped again; and where the time went."""

import pytest

from ironarchive_schema import interrupts, settings
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.migrate.command import Migrate, MigrateError
from ironarchive_schema.plugin.options import SETTINGS_KEY, add_options, resolve_settings
from ironarchive_schema.plugin.timing import Stopwatch, by_folder, record, summary
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import start_server

#: The key of this plugin's data in xdist's ``workerinput``.
WORKER_INPUT = "migrations_gate"
STATE_KEY = pytest.StashKey[dict]()
SERVER_KEY = pytest.StashKey[object]()
STOPWATCH_KEY = pytest.StashKey[Stopwatch]()


def pytest_addoption(parser):
    add_options(parser)


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Ctrl-C or SIGTERM, at any moment from here on: every process stops its children and
    # removes its servers (interrupts.py); the controller says so in one line, no traceback.
    interrupts.install(announce=not is_worker(config))
    if is_worker(config):
        handed = config.workerinput[WORKER_INPUT]
        config.stash[SETTINGS_KEY] = settings.Settings.from_plain(handed["settings"])
        config.stash[STATE_KEY] = handed["state"]
    else:
        config.stash[SETTINGS_KEY] = resolve_settings(config)
    # In every process: the workers run the examples.
    _load_hypothesis_profile(config.stash[SETTINGS_KEY])


def _load_hypothesis_profile(config: settings.Settings) -> None:
    """The profile the settings name: Hypothesis loads only its own flag's itself."""
    name = config.get("HYPOTHESIS_PROFILE")
    if name and config.source("HYPOTHESIS_PROFILE") != "command line":
        from hypothesis import settings as hypothesis_settings
        from hypothesis.errors import InvalidArgument
        try:
            hypothesis_settings.load_profile(name)
        except InvalidArgument as exc:
            raise pytest.UsageError(f"HYPOTHESIS_PROFILE={name!r} "
                                    f"({config.source('HYPOTHESIS_PROFILE')}): {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Controller only: start the server, build migrate, migrate the template once."""
    config = session.config
    if is_worker(config):
        return
    # Plain data: xdist hands it to every worker. ``catalog`` is the migrated template's
    # snapshot, for tests parametrised over the schema at collection time.
    state = {"admin_url": None, "template": None, "template_error": None, "error": None,
             "catalog": None}
    config.stash[STATE_KEY] = state
    gate = config.stash[SETTINGS_KEY]
    stopwatch = config.stash[STOPWATCH_KEY] = Stopwatch(gate.get("RUNTIMES_FILE"))
    if gate.get("POSTGRES_BACKEND") == "none":
        state["error"] = "this run has no PostgreSQL server (--postgres=none)"
        return
    try:
        gate = gate.with_values("the pinned build", MIGRATE_BIN=ensure_migrate(gate))
        config.stash[SETTINGS_KEY] = gate
        with stopwatch.step("server start"):
            server = start_server(gate)
    except ToolchainError as exc:
        pytest.exit(f"error: {exc}", returncode=3)
    config.stash[SERVER_KEY] = server
    state["admin_url"] = server.admin_url
    state.update(_build_template(gate, server.admin_url, stopwatch))


def _build_template(gate: settings.Settings, admin_url: str, stopwatch: Stopwatch) -> dict:
    """Migrate a new database to the newest version: its name and catalog, or the error."""
    name = admin.unique_name("template")
    url = admin.create_database(admin_url, name)
    try:
        with stopwatch.step("template migrate"):
            Migrate(url, gate.migrations_dir, gate).up()
    except MigrateError as exc:
        admin.drop_database(admin_url, name)
        return {"template_error": f"{exc}\n{exc.output}"}
    with stopwatch.step("catalog snapshot"), admin.connect(url) as conn:
        schema = pg_catalog.snapshot(conn)
    admin.mark_template(admin_url, name)
    return {"template": name, "catalog": schema}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: hand the settings, the server and the template to each worker."""
    node.workerinput[WORKER_INPUT] = {"settings": node.config.stash[SETTINGS_KEY].to_plain(),
                                      "state": node.config.stash[STATE_KEY]}


def pytest_terminal_summary(terminalreporter, config):
    """One line saying where the run's time went (``make test`` prints one per part)."""
    if is_worker(config) or STOPWATCH_KEY not in config.stash:
        return
    reports = [r for replist in terminalreporter.stats.values() for r in replist]
    stopwatch, folders = config.stash[STOPWATCH_KEY], by_folder(reports)
    terminalreporter.write_line(summary(stopwatch.steps, folders))
    record(stopwatch, folders)


def pytest_unconfigure(config):
    server = config.stash.get(SERVER_KEY, None)
    if is_worker(config) or server is None:
        return
    state = config.stash[STATE_KEY]
    try:
        if state["template"]:
            admin.drop_database(state["admin_url"], state["template"])
    finally:
        server.stop()


def collection_catalog(config) -> dict | None:
    """The migrated template's catalog at collection time (for ``pytest_generate_tests``);
    None when this run has no migrated schema."""
    return config.stash[STATE_KEY]["catalog"]
