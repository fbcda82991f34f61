"""The plugin's settings: each one a command-line flag paired with an ini option.

Resolved once per run by :func:`resolve_settings`, in :mod:`ironarchive_schema.settings`'s
order: the flag, then the ini option (``[tool.pytest.ini_options]`` or ``pytest.ini``), then
the environment variable, then the default. Relative paths are under pytest's rootdir, the
project's folder. The plugin reads no ``.env``: a test never sees the database named there.
"""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres.backends import BACKENDS


@dataclass(frozen=True)
class Option:
    setting: str  # the name in settings.DEFAULTS, also the environment variable
    flag: str
    ini: str
    help: str
    choices: tuple[str, ...] | None = None
    ini_type: str | None = None  # "args": a TOML list, or words in a string


OPTIONS = (
    Option("MIGRATIONS_DIR", "--migrations-dir", "migrations_dir",
           "the golang-migrate folder under test (default: migrations)"),
    Option("MIGRATIONS_LOCK", "--migrations-lock", "migrations_lock",
           "the checksum lock of the released migrations (default: migrations.lock)"),
    Option("LOCK_PROFILE", "--lock-profile", "lock_profile",
           "the reviewed locks and rewrites of each migration statement "
           "(default: migrations.locks.yaml)"),
    Option("CONTRACT_FILE", "--contract", "contract_file",
           "the reviewed schema contract (default: contract/schema.yaml)"),
    Option("BUILTIN_CHECKS", "--builtin-checks", "builtin_checks",
           "the built-in checks to run, of contract, invariants, plpgsql_check, lifecycle, "
           "faults, roles, lock_profile, blocker, docs, lint, lock, mutation (default: all; "
           "'none' for none)"),
    Option("INVARIANTS_SKIP", "--invariants-skip", "invariants_skip",
           "invariants of the built-in invariants check to leave out, by rule name"),
    Option("PLPGSQL_CHECK_EXCEPTIONS", "--plpgsql-check-exceptions", "plpgsql_check_exceptions",
           "plpgsql_check's findings accepted, each with its reason "
           "(default: plpgsql_check.yaml, none when it is absent)"),
    Option("MUTATION_SUITES", "--mutation-suites", "mutation_suites",
           "the paths each mutant runs through, catalog checks first (default: the testpaths)",
           ini_type="args"),
    Option("BUILTIN_CHECKS_PATH", "--builtin-checks-path", "builtin_checks_path",
           "the file the built-in checks are collected under, relative to the rootdir "
           "(default: conftest.py in the first testpath, else the ini file)"),
    Option("POSTGRES_BACKEND", "--postgres", "postgres_backend",
           "where PostgreSQL comes from: embedded, url, docker, or none for tests that need "
           "no server (default: url when a database URL is given, else embedded)",
           choices=(*BACKENDS, "none")),
    Option("TEST_DATABASE_URL", "--database-url", "postgres_url",
           "an existing server for --postgres=url: the suite only creates and drops its own "
           "databases there"),
    Option("PG_VERSION", "--pg-version", "postgres_version",
           "the PostgreSQL major to run (Debian's, else its pinned build)"),
    Option("PG_BINDIR", "--pg-bindir", "postgres_bindir",
           "a folder holding initdb, pg_ctl and postgres (wins over --pg-version)"),
    Option("PG_RUN_AS", "--pg-run-as", "postgres_run_as",
           "the account servers run as when the suite runs as root"),
    Option("MIGRATE_BIN", "--migrate-bin", "migrate_bin",
           "a golang-migrate binary of the pinned version (default: built from the pin)"),
    Option("RUNTIMES_FILE", "--runtimes-file", "runtimes_file",
           "a file to append where this run's time went (scripts/time-gate reads it)"),
)

#: Hypothesis's own plugin owns ``--hypothesis-profile``; the ini option and the environment
#: come after it.
HYPOTHESIS = Option("HYPOTHESIS_PROFILE", "--hypothesis-profile", "hypothesis_profile",
                    "the Hypothesis profile the project's conftest loads")

SETTINGS_KEY = pytest.StashKey[settings.Settings]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("migrations", "golang-migrate schema gate")
    for option in OPTIONS:
        group.addoption(option.flag, dest=option.setting.lower(), choices=option.choices,
                        help=f"{option.help} [ini: {option.ini}; env: {option.setting}]")
        parser.addini(option.ini, help=option.help, type=option.ini_type,  # type: ignore[arg-type]
                      default=None)
    parser.addini(HYPOTHESIS.ini, help=HYPOTHESIS.help, default=None)


def project_ini(root: Path) -> dict:
    """``[tool.pytest.ini_options]`` of the project's ``pyproject.toml``, for the commands that
    run outside pytest (``make mutation``), so a setting is stated once for both."""
    try:
        with open(root / "pyproject.toml", "rb") as file:
            return tomllib.load(file).get("tool", {}).get("pytest", {}).get("ini_options", {})
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ToolchainError(f"cannot read {root / 'pyproject.toml'}: {exc}") from exc


def ini_settings(ini: dict) -> dict[str, str | None]:
    """The plugin's options among ``ini``, by setting name (a list joined by spaces)."""
    values = {option.setting: ini.get(option.ini) for option in (*OPTIONS, HYPOTHESIS)}
    return {name: " ".join(map(str, value)) if isinstance(value, list) else value
            for name, value in values.items()}


def resolve_settings(config: pytest.Config) -> settings.Settings:
    command_line = {option.setting: config.getoption(option.setting.lower())
                    for option in OPTIONS}
    command_line[HYPOTHESIS.setting] = config.getoption("hypothesis_profile", None)
    ini = ini_settings({option.ini: config.getini(option.ini) for option in (*OPTIONS, HYPOTHESIS)})
    resolved = settings.resolve(command_line, env_file=Path(os.devnull), ini=ini,
                                root=config.rootpath)
    backend = resolved.get("POSTGRES_BACKEND")
    if backend is not None and backend not in (*BACKENDS, "none"):
        raise pytest.UsageError(
            f"POSTGRES_BACKEND={backend!r} ({resolved.source('POSTGRES_BACKEND')}): want one "
            f"of {', '.join((*BACKENDS, 'none'))}")
    return resolved


def gate_settings(config: pytest.Config) -> settings.Settings:
    """The run's resolved settings (for a conftest's hooks; tests use the fixture)."""
    return config.stash[SETTINGS_KEY]
