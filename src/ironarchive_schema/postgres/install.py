"""``make postgres``: make sure server binaries are here, installing Debian's only as a last resort.

Other PostgreSQL servers may run from this machine's packages, so installing must change
nothing installed (issue 13: a wrong PG_BINDIR once upgraded postgresql-15 from under them).
Debian's postgresql-15 is installed only when all of these hold:

- neither ``PG_BINDIR`` nor ``PG_VERSION`` is set: a named place or major that lacks the
  binaries is a one-line error (a PG_VERSION major comes from Debian or its pinned build,
  never from an install);
- no server binaries exist at all (``binaries.find_bindir`` finds none, and no Debian
  folder holds part of a set);
- we are root and ``apt-get`` is here;
- no PostgreSQL package is installed but broken (that is reported, not repaired);
- apt's simulation upgrades, downgrades and removes nothing.

``/etc/postgresql-common/createcluster.conf`` is written only when it does not exist (so no
main cluster appears on port 5432); dpkg keeps it (``--force-confold``), without a prompt.

Usage: ``python -m ironarchive_schema.postgres.install`` (what ``scripts/ensure-postgres`` runs).
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.postgres import binaries
from ironarchive_schema.settings import Settings, child_environment, resolve

PACKAGE = "postgresql-15"
#: Installed but broken, any of these would make apt repair or reconfigure it: refuse.
WATCHED = (PACKAGE, "postgresql-client-15", "postgresql-common", "libpq5")
CREATECLUSTER = Path("/etc/postgresql-common/createcluster.conf")
APT_TIMEOUT = 900
INSTALL = ["install", "--no-install-recommends", "--no-upgrade", "--no-remove",
           "-o", "Dpkg::Options::=--force-confold", PACKAGE]

#: Runs one command, returning its exit status and output (injectable for the tests).
Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def ensure(settings: Settings, run: Runner, *, can_install: bool,
           debian_root: Path = binaries.DEBIAN_ROOT,
           createcluster: Path = CREATECLUSTER) -> Path:
    """The server binaries' folder; installs Debian's only under the rules above."""
    named = settings.get("PG_BINDIR")
    if named:
        missing = binaries._missing(Path(named))
        if missing:
            raise ToolchainError(f"PG_BINDIR={named} lacks {', '.join(missing)}; nothing was "
                                 f"installed: point it at PostgreSQL's server binaries or "
                                 f"unset it")
        return Path(named)
    if settings.get("PG_VERSION"):
        # Debian's binaries of that major, else its pinned build; the errors name both.
        return binaries.find_bindir(settings, debian_root=debian_root)
    try:
        return binaries.find_bindir(settings, debian_root=debian_root)
    except ToolchainError:
        if not can_install:
            raise
    _refuse_over_partial_binaries(debian_root)
    _refuse_broken_packages(run, debian_root)
    _apt(run, "update", "-qq")
    _refuse_changes(_apt(run, "-s", *INSTALL).stdout)
    if not createcluster.exists():
        createcluster.parent.mkdir(parents=True, exist_ok=True)
        createcluster.write_text("# Written by IronArchive's scripts/ensure-postgres: its "
                                 "servers are its own.\ncreate_main_cluster = false\n")
    print(f"installing {PACKAGE} from Debian's packages (nothing installed is changed)...",
          file=sys.stderr)
    _apt(run, "-y", "-qq", *INSTALL)
    return binaries.find_bindir(settings, debian_root=debian_root)


def _refuse_over_partial_binaries(debian_root: Path) -> None:
    for bindir in binaries._debian_bindirs(debian_root):
        missing = binaries._missing(bindir)
        if len(missing) < len(binaries.REQUIRED):
            raise ToolchainError(f"{bindir} lacks {', '.join(missing)} but has the rest: not "
                                 f"installing over a damaged PostgreSQL; repair it or set "
                                 f"PG_BINDIR")


def _refuse_broken_packages(run: Runner, debian_root: Path) -> None:
    # dpkg's abbreviated status: wanted, state (n not installed, c config files only,
    # i installed; U, F, h, W, t half-way), error flag (R: reinstall required).
    listed = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", *WATCHED])
    for line in listed.stdout.splitlines():
        package, _, status = line.partition(" ")
        state, flag = status[1:2], status[2:3].strip()
        if state in ("n", "c", "") and not flag:
            continue
        if state == "i" and not flag and package != PACKAGE:
            continue
        if state == "i" and not flag:
            problem = f"is installed, but {debian_root}/15/bin lacks its server binaries"
        else:
            problem = f"is half-installed (dpkg status {status.strip()!r})"
        raise ToolchainError(f"{package} {problem}: not installing over it; repair it "
                             f"(apt-get install --reinstall {package}, or dpkg --configure "
                             f"-a) or set PG_BINDIR")


def _refuse_changes(simulation: str) -> None:
    """Refuse when apt's simulated install would touch any package already installed."""
    changes = [f"{name} {old} -> {new}" for name, old, new in
               re.findall(r"^Inst (\S+) \[([^\]]+)\] \((\S+)", simulation, re.MULTILINE)]
    changes += [f"{name} removed" for name in re.findall(r"^Remv (\S+)", simulation, re.MULTILINE)]
    if changes:
        raise ToolchainError(f"installing {PACKAGE} would change installed packages "
                             f"({', '.join(changes)}), which other PostgreSQL servers may "
                             f"use: nothing was installed; set PG_BINDIR, or install it "
                             f"yourself")


def _apt(run: Runner, *args: str) -> subprocess.CompletedProcess:
    result = run(["apt-get", *args])
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout or "").splitlines()
                 if line.strip()]
        raise ToolchainError(f"apt-get {' '.join(args)} failed (exit {result.returncode}): "
                             f"{lines[-1].strip() if lines else '(no output)'}")
    return result


def runner(settings: Settings) -> Runner:
    """Runs with an environment built from scratch, never waiting on a prompt."""
    env = child_environment(settings, DEBIAN_FRONTEND="noninteractive")

    def run(command: Sequence[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(list(command), capture_output=True, text=True, env=env,
                                  timeout=APT_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolchainError(f"{command[0]} failed: {exc}") from exc
    return run


def main() -> int:
    settings = resolve()
    try:
        ensure(settings, runner(settings),
               can_install=os.geteuid() == 0 and shutil.which("apt-get") is not None)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
