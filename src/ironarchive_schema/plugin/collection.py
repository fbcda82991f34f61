"""Collecting the built-in checks, as pytest-alembic does: the checks a run's settings switch
on (``BUILTIN_CHECKS``, default all) are collected under one file of the project
(``BUILTIN_CHECKS_PATH``, default ``conftest.py`` in the first testpath, else the ini file),
one module each:
``tests/conftest.py::contract::test_declared_object_exists_as_stated[emails.sent_at]``.
Each is an ordinary module of tests on the plugin's fixtures (:mod:`.builtins`)."""

import importlib
from pathlib import Path

import pytest

from ironarchive_schema.plugin.options import gate_settings

#: Name -> the module of its tests.
CHECKS = {
    "contract": "ironarchive_schema.plugin.builtins.contract",
    "invariants": "ironarchive_schema.plugin.builtins.invariants",
    "plpgsql_check": "ironarchive_schema.plugin.builtins.plpgsql_check",
    "lifecycle": "ironarchive_schema.plugin.builtins.lifecycle",
    "faults": "ironarchive_schema.plugin.builtins.faults",
    "roles": "ironarchive_schema.plugin.builtins.roles",
    "lock_profile": "ironarchive_schema.plugin.builtins.lock_profile",
    "blocker": "ironarchive_schema.plugin.builtins.blocker",
    "docs": "ironarchive_schema.plugin.builtins.docs",
    "lint": "ironarchive_schema.plugin.builtins.lint",
    "lock": "ironarchive_schema.plugin.builtins.lock",
    "mutation": "ironarchive_schema.plugin.builtins.mutation",
}


def enabled_checks(config: pytest.Config) -> list[str]:
    """The checks switched on, in :data:`CHECKS` order; an unknown name is a usage error."""
    named = gate_settings(config).get("BUILTIN_CHECKS")
    if not named:
        return list(CHECKS)
    wanted = named.replace(",", " ").split()
    if wanted == ["none"]:
        return []
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        raise pytest.UsageError(f"BUILTIN_CHECKS names {', '.join(unknown)}: the built-in "
                                f"checks are {', '.join(CHECKS)} (or none)")
    return [name for name in CHECKS if name in wanted]


def checks_path(config: pytest.Config) -> Path:
    """``BUILTIN_CHECKS_PATH``; else the first testpath's ``conftest.py`` where there is one;
    else the ini file (a project needs no conftest at all)."""
    named = gate_settings(config).get("BUILTIN_CHECKS_PATH")
    if named:
        return (config.rootpath / named).resolve()
    testpaths = config.getini("testpaths")
    conftest = config.rootpath / (testpaths[0] if testpaths else ".") / "conftest.py"
    if conftest.exists() or config.inipath is None:
        return conftest.resolve()
    return config.inipath.resolve()


@pytest.hookimpl(trylast=True)  # after the settings are resolved
def pytest_configure(config):
    """A wrong name among the checks or their settings stops the run here, in one line,
    before anything is collected. A check's module may say what it needs of the settings
    (``check_settings(config)``)."""
    config.addinivalue_line("markers", "builtin: a built-in check of the schema gate")
    config.addinivalue_line("markers", "lint: a check of the migrations' text, with no server "
                                       "(the SQL linters, the folder's rules, the lock)")
    config.addinivalue_line("markers", "lock: the checksum lock of the released migrations")
    config.addinivalue_line("markers", "lock_profile: each migration statement's locks and "
                                       "rewrites against the reviewed profile")
    config.addinivalue_line("markers", "mutation: mutants of the migrations the suites must "
                                       "kill, each in a pytest run of its own")
    config.addinivalue_line("markers", "per_migration(check): run once per migration file, "
                                       "with ids check:<file name>")
    for name in enabled_checks(config):
        check_settings = getattr(importlib.import_module(CHECKS[name]), "check_settings", None)
        if check_settings is not None:
            check_settings(config)


def pytest_collect_file(file_path: Path, parent):
    if file_path.resolve() == checks_path(parent.config):
        return BuiltinChecks.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent):
    """A conftest named on the command line (``pytest tests/conftest.py::lint``) is not also
    imported as a test module: the built-in checks are all that is collected there."""
    if module_path.resolve() == checks_path(parent.config):
        return NothingElse.from_parent(parent, path=module_path)
    return None


class NothingElse(pytest.File):
    def collect(self):
        return []


class BuiltinChecks(pytest.File):
    """The built-in checks' modules, collected under a file of the project."""

    def collect(self):
        for name in enabled_checks(self.config):
            yield BuiltinModule.from_parent(self, path=self.path, name=name,
                                            nodeid=f"{self.nodeid}::{name}")


class BuiltinModule(pytest.Module):
    """One check's module, imported from the plugin rather than from ``path``."""

    def _getobj(self):
        return importlib.import_module(CHECKS[self.name])

    def collect(self):
        self.add_marker("builtin")
        return super().collect()
