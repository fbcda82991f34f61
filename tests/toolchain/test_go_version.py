"""The pinned migrate and the Go that builds it: one stated minimum, clear errors.

The minimum Go is the highest ``go`` line of tools/*/go.mod; every message and the README
must say that one (issue 13: README 1.25, an error 1.24 and go.mod 1.24.0 disagreed).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate import binary
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.settings import child_environment, resolve

PINNED = binary.pinned_version()


def one_line(message: str) -> str:
    assert "\n" not in message.strip(), f"want one line, have:\n{message}"
    return message.strip()


def release(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def highest_go_line() -> str:
    """Read here independently of the code under test."""
    lines = [re.search(r"(?m)^go (\S+)$", go_mod.read_text()).group(1)
             for go_mod in (REPO_ROOT / "tools").glob("*/go.mod")]
    assert len(lines) >= 2, "tools/migrate and tools/actionlint each pin a go line"
    return max(lines, key=release)


MINIMUM = highest_go_line()


def environment(tmp_path: Path, **values) -> dict[str, str]:
    """From scratch: never the runner's .env or settings."""
    return child_environment(resolve(env_file=tmp_path / "no.env"), **values)


def test_the_code_reads_the_minimum_from_the_go_mod_files():
    assert binary.go_minimum() == MINIMUM


def test_the_code_takes_the_highest_go_line_by_release_not_by_text(tmp_path):
    for tool, line in (("a", "1.9.3"), ("b", "1.25.11"), ("c", "1.25.2"), ("d", "")):
        (tmp_path / tool).mkdir()
        (tmp_path / tool / "go.mod").write_text(f"module x/{tool}\n\n{line and 'go ' + line}\n")
    assert binary.go_minimum(tmp_path) == "1.25.11"


def test_the_readme_states_the_minimum_of_the_go_mod_files():
    readme = (REPO_ROOT / "README.md").read_text()
    stated = re.findall(r"Go ≥ (\S+?),", readme)
    assert stated == [MINIMUM], f"README says Go ≥ {stated}; tools/*/go.mod need {MINIMUM}"


def test_building_migrate_without_go_names_the_minimum(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError) as caught:
        binary.build(resolve(environ={}, env_file=Path(os.devnull)), PINNED, tmp_path / "migrate")
    assert f"install Go >= {MINIMUM}," in one_line(str(caught.value))


def test_the_makefile_names_the_minimum_when_go_is_missing(tmp_path):
    # -n prints the actionlint rule's recipe, with make's variables expanded, running nothing.
    result = subprocess.run(["make", "-n", "-B", "actionlint-bin"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH=os.environ["PATH"]))
    assert result.returncode == 0, result.stderr
    (check,) = [line for line in result.stdout.splitlines() if "command -v go" in line]
    assert f'"error: Go >= {MINIMUM} is needed once to build actionlint' in check


def tool_bin(tmp_path: Path, *real: str) -> Path:
    """A PATH of its own: links to the ``real`` programs and a fake apt-get that fails."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in real:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed")
        (folder / name).symlink_to(found)
    fake(folder, "apt-get", "exit 1")
    return folder


def fake(folder: Path, name: str, body: str) -> None:
    """A program that logs its arguments to ``folder/<name>.log``, then runs ``body``."""
    (folder / name).write_text(f'#!/bin/sh\necho "$@" >> "{folder}/{name}.log"\n{body}\n')
    (folder / name).chmod(0o755)


def test_ci_names_the_minimum_when_go_is_missing(tmp_path):
    folder = tool_bin(tmp_path, "dirname", "sed", "sort", "tail", "git")
    (folder / "python3").symlink_to(os.path.realpath(sys.executable))  # not a pyenv shim
    fake(folder, "make", "exit 0")  # never reached without go; a real one would run the gate
    result = subprocess.run([shutil.which("bash"), str(REPO_ROOT / ".ci" / "run")],
                            capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH=folder))
    assert result.returncode == 1
    assert one_line(result.stderr) == (
        f"error: Go >= {MINIMUM} is needed once to build the pinned migrate and actionlint "
        f"(tools/*/go.mod)")
    assert not (folder / "apt-get.log").exists() and not (folder / "make.log").exists()


@pytest.mark.parametrize(("impostor", "reports"), [("/bin/true", "(no output)"),
                                                   ("/bin/false", "(exit 1)")])
def test_a_migrate_bin_that_is_not_migrate_is_one_line(impostor, reports):
    # MIGRATE_BIN=/bin/true printed an IndexError traceback.
    with pytest.raises(ToolchainError) as caught:
        binary.check_binary(impostor, PINNED)
    assert one_line(str(caught.value)).startswith(
        f"migrate at {impostor} reports version {reports}; this project pins {PINNED}")


def test_the_cli_says_so_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ironarchive_schema", "migrate-bin"], cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
        env=environment(tmp_path, PATH=os.environ["PATH"], MIGRATE_BIN="/bin/true",
                        ENV_FILE=tmp_path / "no.env", PYTHONPATH=REPO_ROOT / "src"))
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("error: migrate at /bin/true reports version ")
