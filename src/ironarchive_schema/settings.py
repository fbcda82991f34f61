"""Every setting of the toolchain, resolved once, in one place.

Precedence, for each setting: the command line (a pytest flag, or ``make NAME=value``), then
the ini options of pytest's configuration (the pytest plugin's ``[tool.pytest.ini_options]``),
then the environment, then the project's ``.env`` file (``ENV_FILE``, default ``.env`` at the
project root; the pytest plugin reads none), then the default. An empty value counts as unset
at every level, as make exports a variable that was never given as empty.

This module is the only reader of ``os.environ`` and of ``.env``. An entry point (the command
line behind the Makefile, the pytest plugin, the benchmark) resolves the settings once and
passes the frozen :class:`Settings` down to everything it calls; nothing below reads them
from anywhere else. The pytest plugin hands them to its xdist workers as plain data
(:meth:`Settings.to_plain`), never through the environment. A child process gets an
environment built from scratch by :func:`child_environment`: the few variables any program
needs to run (``PATH``, ``HOME``, locale, proxies, Go's and npm's caches), then the settings
the caller names, and nothing else, so the runner's ``DATABASE_URL``, ``PG*`` variables or
``MAKEFLAGS`` never reach it.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import REPO_ROOT

#: Variables a child process may need to run at all. None of them names a database, a
#: migrations folder or any other setting of this project.
RUNTIME_VARIABLES = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ",
    "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
    "TMPDIR",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOPROXY", "GOSUMDB", "GONOSUMDB",
    "GOPRIVATE", "GOINSECURE", "GOTOOLCHAIN",
    "npm_config_cache", "NPM_CONFIG_CACHE", "npm_config_registry", "NPM_CONFIG_REGISTRY",
    "npm_config_userconfig", "NPM_CONFIG_USERCONFIG",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR",
    "DOCKER_HOST", "DOCKER_CONFIG",
    "CI",
)

#: Every setting this toolchain reads, with its default (None: none).
DEFAULTS: dict[str, str | None] = {
    "DATABASE_URL": None,
    "CONFIRM": None,
    "FORCE_CLEAN": None,
    "MIGRATIONS_DIR": None,
    "MIGRATIONS_LOCK": None,
    "LOCK_PROFILE": None,
    "REHEARSAL_BUDGETS": None,
    "CONTRACT_FILE": None,
    "BUILTIN_CHECKS": None,
    "INVARIANTS_SKIP": None,
    "PLPGSQL_CHECK_EXCEPTIONS": None,
    "MUTATION_DIR": None,
    "MUTATION_SUITES": None,
    "BUILTIN_CHECKS_PATH": None,
    "DEVDB_DIR": None,
    "PG_BINDIR": None,
    "PG_VERSION": None,
    "PG_RUN_AS": None,
    "MIGRATE_BIN": None,
    "POSTGRES_BACKEND": None,
    "TEST_DATABASE_URL": None,
    "HYPOTHESIS_PROFILE": None,
    "RUNTIMES_FILE": None,
}

#: The settings a process of the suite hands on to a command or an inner suite it runs, so
#: that they use the same binaries: which migrate, which PostgreSQL, which account.
SUITE_SETTINGS = ("MIGRATE_BIN", "PG_BINDIR", "PG_VERSION", "PG_RUN_AS")


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``export`` and quotes allowed, ``#`` comments)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return values
    except OSError as exc:
        raise ToolchainError(f"cannot read {path}: {exc.strerror}") from exc
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class Settings:
    """The resolved settings, and where each came from."""

    values: Mapping[str, str | None]
    sources: Mapping[str, str]
    #: The variables of :data:`RUNTIME_VARIABLES` that were set, for child processes.
    runtime: Mapping[str, str] = field(default_factory=dict)
    #: The PG* variables that were set: libpq and migrate's driver read them.
    libpq: Mapping[str, str] = field(default_factory=dict)
    env_file: Path = REPO_ROOT / ".env"
    #: The project's folder: relative paths and the default locations are under it.
    root: Path = REPO_ROOT

    def get(self, name: str) -> str | None:
        if name not in DEFAULTS:
            raise KeyError(f"{name} is not a setting (settings.DEFAULTS lists them)")
        return self.values.get(name)

    def source(self, name: str) -> str:
        """``command line``, ``ini``, ``environment``, ``.env`` (its path) or ``default``."""
        return self.sources.get(name, "default")

    def path(self, name: str, default: str) -> Path:
        """The setting as a path, relative ones under :attr:`root`; else ``root/default``."""
        return (self.root / (self.get(name) or default)).resolve()

    @property
    def migrations_dir(self) -> Path:
        return self.path("MIGRATIONS_DIR", "migrations")

    @property
    def migrations_lock(self) -> Path:
        return self.path("MIGRATIONS_LOCK", "migrations.lock")

    @property
    def lock_profile(self) -> Path:
        """What each migration statement locks and rewrites, reviewed (rehearsal.profile)."""
        return self.path("LOCK_PROFILE", "migrations.locks.yaml")

    @property
    def rehearsal_budgets(self) -> Path:
        """What a migration may do to a busy archive (rehearsal.budgets)."""
        return self.path("REHEARSAL_BUDGETS", "rehearsal.budgets.yaml")

    @property
    def contract_file(self) -> Path:
        return self.path("CONTRACT_FILE", "contract/schema.yaml")

    @property
    def plpgsql_check_exceptions(self) -> Path:
        """plpgsql_check's findings accepted, each with its reason (lint.plpgsql_check)."""
        return self.path("PLPGSQL_CHECK_EXCEPTIONS", "plpgsql_check.yaml")

    @property
    def mutation_dir(self) -> Path:
        """The project's mutation verdicts: ``equivalent.yaml`` (reviewed), ``killers.json``."""
        return self.path("MUTATION_DIR", "mutation")

    def flag(self, name: str) -> bool:
        """A yes/no setting: ``1``, ``yes`` or ``true`` mean yes."""
        return (self.get(name) or "").strip().lower() in ("1", "yes", "true")

    def with_values(self, source: str, **values: str | None) -> "Settings":
        """A copy with ``values`` set, each recorded as coming from ``source``."""
        for name in values:
            self.get(name)  # refuses a name that is not a setting
        return replace(self, values={**self.values, **values},
                       sources={**self.sources, **dict.fromkeys(values, source)})

    def to_plain(self) -> dict:
        """Plain data (for xdist's ``workerinput``); :meth:`from_plain` rebuilds it."""
        return {"values": dict(self.values), "sources": dict(self.sources),
                "runtime": dict(self.runtime), "libpq": dict(self.libpq),
                "env_file": str(self.env_file), "root": str(self.root)}

    @classmethod
    def from_plain(cls, plain: Mapping) -> "Settings":
        return cls(plain["values"], plain["sources"], plain["runtime"], plain["libpq"],
                   Path(plain["env_file"]), Path(plain["root"]))


def resolve(command_line: Mapping[str, str | None] | None = None,
            environ: Mapping[str, str] | None = None,
            env_file: Path | None = None,
            ini: Mapping[str, str | None] | None = None,
            root: Path = REPO_ROOT) -> Settings:
    """Resolve every setting once: command line, ini, environment, ``.env``, default.

    ``environ`` defaults to this process's environment; ``env_file`` to ``ENV_FILE`` (from
    the command line or ``environ``), else ``.env`` under ``root``.
    """
    environ = dict(os.environ if environ is None else environ)
    command_line = {k: v for k, v in (command_line or {}).items() if v}
    ini = {k: v for k, v in (ini or {}).items() if v}
    env_file = Path(env_file or command_line.get("ENV_FILE") or environ.get("ENV_FILE")
                    or root / ".env")
    dotenv = read_dotenv(env_file)
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for name, default in DEFAULTS.items():
        for source, layer in (("command line", command_line), ("ini", ini),
                              ("environment", environ), (str(env_file), dotenv)):
            if layer.get(name):
                values[name], sources[name] = layer[name], source
                break
        else:
            values[name] = default
    runtime = {name: environ[name] for name in RUNTIME_VARIABLES if environ.get(name)}
    libpq = {name: value for name, value in environ.items() if name.startswith("PG") and value}
    return Settings(values, sources, runtime, libpq, env_file, Path(root).resolve())


def suite_environment(settings: Settings, **values: str | os.PathLike | None) -> dict[str, str]:
    """:func:`child_environment` with the :data:`SUITE_SETTINGS` of ``settings`` first."""
    return child_environment(settings, **{
        **{name: settings.get(name) for name in SUITE_SETTINGS}, **values})


def child_environment(settings: Settings, **values: str | os.PathLike | None) -> dict[str, str]:
    """An environment for a child process, built from scratch.

    The runtime variables of ``settings``, then exactly the ``values`` given (None or empty
    leaves one out). ``MAKEFLAGS`` and ``MAKELEVEL`` are never inherited, so a setting
    given to an outer make cannot override what is passed to an inner one.
    """
    env = dict(settings.runtime)
    for name, value in values.items():
        if value is not None and str(value) != "":
            env[name] = str(value)
    return env


if __name__ == "__main__":
    # `python -m ironarchive_schema.settings NAME`: exit 0 when the setting is set. The
    # Makefile asks this (fast: no database driver is imported) whether DATABASE_URL is.
    import sys

    sys.exit(0 if resolve().get(sys.argv[1]) else 1)
