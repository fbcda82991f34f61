"""The toolchain's commands run as a person runs them, in environments built from scratch.

Nothing of the runner's own settings reaches these commands: no ``DATABASE_URL``, no ``.env``
(``ENV_FILE`` points at an empty file unless a test names its own), no ``PG*`` variable, no
``MAKEFLAGS``. Only the suite's own settings go on (which migrate, which PostgreSQL), so the
commands use the binaries the suite tests.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.paths import REPO_ROOT

#: The run's settings (the plugin's, handed over by tests/conftest.py); only the suite's own
#: are passed on.
RUNNER: settings.Settings | None = None


def configure(resolved: settings.Settings) -> None:
    global RUNNER
    RUNNER = resolved


def environment(**values: str | os.PathLike | None) -> dict[str, str]:
    """The environment of a command a test runs: the suite's binaries, then ``values``."""
    assert RUNNER is not None, "tests/conftest.py hands the run's settings over first"
    return settings.suite_environment(
        RUNNER, **{"MIGRATE_BIN": ensure_migrate(RUNNER), "ENV_FILE": os.devnull, **values})


def run(argv: list[str], cwd: Path = REPO_ROOT, timeout: float = 300,
        **values: str | os.PathLike | None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=environment(**values))


def make(*args: str, cwd: Path = REPO_ROOT, **values) -> subprocess.CompletedProcess:
    """``make ARGS`` with ``values`` in its environment (``make X=1`` goes in ``args``)."""
    return run(["make", "--no-print-directory", *args], cwd=cwd, **values)


def cli(*args: str, cwd: Path = REPO_ROOT, **values) -> subprocess.CompletedProcess:
    """``python -m ironarchive_schema ARGS``, what the Makefile's targets call."""
    return run([sys.executable, "-m", "ironarchive_schema", *args], cwd=cwd, **values)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"want one line, have:\n{text}"
    return lines[0]


def copy_checkout(target: Path) -> Path:
    """A checkout of its own: the tracked files copied, with a virtual environment that
    imports this copy's ``src`` and reuses the suite's installed packages, and the built
    tools shared. The copy reads its own ``.env``, never this checkout's."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".tools").symlink_to(REPO_ROOT / ".tools")
    venv = target / ".venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=60)
    site = Path(sysconfig.get_path("purelib"))
    relative = site.relative_to(sys.prefix)
    (venv / relative / "ironarchive_copy.pth").write_text(f"{target / 'src'}\n{site}\n")
    (venv / ".installed").touch()
    return target
