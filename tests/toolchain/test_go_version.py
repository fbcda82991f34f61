"""The pinned Go tools (migrate, actionlint) and the Go that builds them: one builder,
one stated minimum, clear errors.

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

from ironarchive_schema import go_tools
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.go_tools import ACTIONLINT, MIGRATE
from ironarchive_schema.migrate import binary
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.settings import Settings, child_environment, resolve

PINNED = MIGRATE.pinned_version()
BUILD_WAIT = go_tools.BUILD_TIMEOUT + 60


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
    assert go_tools.go_minimum() == MINIMUM


def test_the_code_takes_the_highest_go_line_by_release_not_by_text(tmp_path):
    for tool, line in (("a", "1.9.3"), ("b", "1.25.11"), ("c", "1.25.2"), ("d", "")):
        (tmp_path / tool).mkdir()
        (tmp_path / tool / "go.mod").write_text(f"module x/{tool}\n\n{line and 'go ' + line}\n")
    assert go_tools.go_minimum(tmp_path) == "1.25.11"


def test_the_readme_states_the_minimum_of_the_go_mod_files():
    readme = (REPO_ROOT / "README.md").read_text()
    stated = re.findall(r"Go ≥ (\S+?),", readme)
    assert stated == [MINIMUM], f"README says Go ≥ {stated}; tools/*/go.mod need {MINIMUM}"


def no_settings() -> Settings:
    return resolve(environ={}, env_file=Path(os.devnull))


def test_building_migrate_without_go_names_the_minimum(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError) as caught:
        MIGRATE.build(no_settings(), PINNED, tmp_path / "migrate")
    assert f"install Go >= {MINIMUM}," in one_line(str(caught.value))


def test_building_actionlint_without_go_names_the_minimum(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    version = ACTIONLINT.pinned_version()
    with pytest.raises(ToolchainError) as caught:
        ACTIONLINT.build(no_settings(), version, tmp_path / "actionlint")
    assert one_line(str(caught.value)) == (
        f"Go is not installed: it is needed once to build the pinned actionlint {version} "
        f"(install Go >= {MINIMUM})")


def make_variables(tmp_path: Path, *names: str) -> list[str]:
    """What the Makefile's variables ``names`` expand to, running no recipe but the one
    that prints them."""
    shown = " ".join(f"$({name})" for name in names)
    result = subprocess.run(["make", "--no-print-directory", "--eval", f"shown: ; @echo {shown}",
                             "shown"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH=os.environ["PATH"]))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_makefile_names_the_binaries_the_builder_builds(tmp_path):
    want = [str(tool.binary(tool.pinned_version()).relative_to(REPO_ROOT))
            for tool in (MIGRATE, ACTIONLINT)]
    assert make_variables(tmp_path, "MIGRATE_PINNED", "ACTIONLINT_PINNED") == want


@pytest.mark.parametrize("target", ["migrate-bin", "actionlint-bin"])
def test_the_makefile_builds_through_the_one_builder(tmp_path, target):
    # -n prints the rule's recipe, with make's variables expanded, running nothing.
    result = subprocess.run(["make", "-n", "-W", f"tools/{target.removesuffix('-bin')}/go.mod",
                             target], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            env=environment(tmp_path, PATH=os.environ["PATH"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f".venv/bin/python -m ironarchive_schema {target}"]


def fake_go(folder: Path, body: str) -> Path:
    """A ``go`` that logs its working folder, its two build variables and its arguments
    (one a line) to ``folder/go.log``, then runs ``body``."""
    folder.mkdir()
    log = folder / "go.log"
    (folder / "go").write_text(f'#!/bin/sh\n{{ pwd; echo "$GOFLAGS $CGO_ENABLED"; '
                               f'for a; do echo "$a"; done; }} > "{log}"\n{body}\n')
    (folder / "go").chmod(0o755)
    return log


@pytest.mark.parametrize(("tool", "flags"), [
    (MIGRATE, ["-tags", "postgres", "-trimpath", "-ldflags", f"-s -w -X main.Version={PINNED}"]),
    (ACTIONLINT, ["-trimpath", "-ldflags", "-s -w"]),
], ids=["migrate", "actionlint"])
def test_the_builder_builds_beside_the_target_then_renames(tmp_path, monkeypatch, tool, flags):
    # The last argument before the package is -o's: the partial file, written here.
    log = fake_go(tmp_path / "bin", 'while [ "$1" != -o ]; do shift; done; echo built > "$2"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    target = tmp_path / "out" / tool.name
    tool.build(no_settings(), tool.pinned_version(), target)
    cwd, build_env, *argv = log.read_text().splitlines()
    assert (cwd, build_env) == (str(REPO_ROOT / "tools" / tool.name), "-mod=readonly 0")
    partial = Path(argv[-2])
    assert argv == ["build", *flags, "-o", str(partial), f"{tool.module}/{tool.package}"]
    assert partial.parent == target.parent and partial.name.startswith(f".{tool.name}-")
    assert target.read_text() == "built\n"
    assert list(target.parent.iterdir()) == [target]


def test_a_failed_build_shows_the_last_lines_of_go_and_leaves_nothing(tmp_path, monkeypatch):
    fake_go(tmp_path / "bin", "for n in 1 2 3 4; do echo \"line $n\" >&2; done; exit 1")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    version = ACTIONLINT.pinned_version()
    with pytest.raises(ToolchainError) as caught:
        ACTIONLINT.build(no_settings(), version, tmp_path / "out" / "actionlint")
    assert one_line(str(caught.value)) == (
        f"building actionlint {version} failed: line 2 | line 3 | line 4")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_build_that_hangs_is_stopped_and_leaves_nothing(tmp_path, monkeypatch):
    sleep = shutil.which("sleep")
    assert sleep is not None
    fake_go(tmp_path / "bin", f"exec {sleep} 30")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(go_tools, "BUILD_TIMEOUT", 1)
    version = ACTIONLINT.pinned_version()
    with pytest.raises(ToolchainError) as caught:
        ACTIONLINT.build(no_settings(), version, tmp_path / "out" / "actionlint")
    assert one_line(str(caught.value)) == f"building actionlint {version} took over 1 s"
    assert list((tmp_path / "out").iterdir()) == []


def test_a_binary_older_than_its_pins_is_rebuilt(tmp_path, monkeypatch):
    # What make's rule did for actionlint: a go.sum-only change rebuilds the same version.
    monkeypatch.setattr(go_tools, "BIN_DIR", tmp_path)
    built = []
    monkeypatch.setattr(go_tools.GoTool, "build",
                        lambda tool, config, version, target: built.append(target))
    target = ACTIONLINT.binary(ACTIONLINT.pinned_version())
    pins = max((ACTIONLINT.folder / pin).stat().st_mtime for pin in go_tools.PINS)
    target.write_text("")
    os.utime(target, (pins - 1, pins - 1))
    assert ACTIONLINT.ensure(no_settings()) == target and built == [target]
    os.utime(target, (pins, pins))
    assert ACTIONLINT.ensure(no_settings()) == target and built == [target]


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


def test_the_cli_builds_or_finds_the_pinned_actionlint(tmp_path):
    # What `make actionlint-bin` runs; the binary is built already, or is built here.
    result = subprocess.run(
        [sys.executable, "-m", "ironarchive_schema", "actionlint-bin"], cwd=tmp_path,
        capture_output=True, text=True, timeout=BUILD_WAIT,
        env=environment(tmp_path, PATH=os.environ["PATH"], ENV_FILE=tmp_path / "no.env",
                        PYTHONPATH=REPO_ROOT / "src"))
    assert result.returncode == 0, result.stderr
    assert one_line(result.stderr) == \
        f"actionlint: {ACTIONLINT.binary(ACTIONLINT.pinned_version())}"
