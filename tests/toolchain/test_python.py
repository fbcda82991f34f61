"""The minimum Python: stated once (pyproject's requires-python), and proven where it is.

Debian 12's own python3 is 3.11.2, older than tarfile's data filter (3.11.4), and must run
the whole gate (test_pgdist.py runs the fetch under it); CI runs the gate on it when it is
the system's python3.
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.settings import child_environment, resolve

MINIMUM = re.fullmatch(r">=(\d+\.\d+)", tomllib.loads(
    (REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]).group(1)
SYSTEM_PYTHON = Path("/usr/bin/python3")


def environment(tmp_path: Path, **values) -> dict[str, str]:
    """From scratch: never the runner's .env or settings."""
    return child_environment(resolve(env_file=tmp_path / "no.env"), **values)


def fake(folder: Path, name: str, body: str) -> Path:
    """A program that logs its arguments to ``folder/<name>.log``, then runs ``body``."""
    (folder / name).write_text(f'#!/bin/sh\necho "$@" >> "{folder}/{name}.log"\n{body}\n')
    (folder / name).chmod(0o755)
    return folder / name


def test_the_readme_states_pyprojects_minimum():
    stated = re.findall(r"Python ≥ (\S+?),", (REPO_ROOT / "README.md").read_text())
    assert stated == [MINIMUM]


def test_bootstrap_refuses_an_older_python_in_one_line(tmp_path):
    # A stand-in for an older Python: it fails the version check, as 3.10 would.
    older = fake(tmp_path, "python3.10", "exit 1")
    result = subprocess.run([REPO_ROOT / "scripts" / "bootstrap-venv", older, tmp_path / "venv"],
                            capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH="/usr/bin:/bin"))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: Python >= {MINIMUM} is needed (tried '{older}'); "
                                     f"set PYTHON=/path/to/python{MINIMUM}")
    assert not (tmp_path / "venv").exists(), "nothing is created"


def system_python_meets_the_minimum() -> bool:
    check = f"import sys; sys.exit(sys.version_info < ({MINIMUM.replace('.', ', ')},))"
    return SYSTEM_PYTHON.exists() and subprocess.run([SYSTEM_PYTHON, "-c", check],
                                                     timeout=30).returncode == 0


def test_ci_runs_the_gate_on_the_system_python(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("dirname", "sed", "git"):
        (folder / name).symlink_to(shutil.which(name) or pytest.skip(f"no {name}"))
    (folder / "python3").symlink_to(os.path.realpath(sys.executable))  # not a pyenv shim
    fake(folder, "apt-get", "exit 1")
    fake(folder, "go", "exit 0")
    fake(folder, "make", "exit 0")  # stands in for the whole gate
    result = subprocess.run([shutil.which("bash"), REPO_ROOT / ".ci" / "run"],
                            capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH=folder))
    assert result.returncode == 0, result.stderr
    python = SYSTEM_PYTHON if system_python_meets_the_minimum() else "python3"
    assert (folder / "make.log").read_text() == f"test PYTHON={python}\n"
    assert not (folder / "apt-get.log").exists()
