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

When the binaries in use (found, named or installed) are Debian's PostgreSQL 15 and its
plpgsql_check extension files are missing, ``postgresql-15-plpgsql-check`` is installed for
the gate's ``plpgsql_check`` check, under the same rules: root and ``apt-get``, no watched
package broken, apt's simulation changing nothing installed (a refusal is a one-line error).
Where it cannot be installed (not root, or no ``apt-get``) one line says how, and the
binaries are still used: only the gate needs the extension, and the check itself fails on
PostgreSQL 15 without it, with the same line.

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

#: Runs one command, returning its exit status and output (injectable for the tests).
Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]

#: The major whose Debian package of plpgsql_check this module installs; the gate's
#: ``plpgsql_check`` check requires the extension there.
PLPGSQL_CHECK_MAJOR = 15
PLPGSQL_CHECK_PACKAGE = f"postgresql-{PLPGSQL_CHECK_MAJOR}-plpgsql-check"
DEBIAN_SHARE = Path("/usr/share/postgresql")
#: How to get it: said by this module's note and by the check that lacks it.
PLPGSQL_CHECK_HOW = (f"install {PLPGSQL_CHECK_PACKAGE} (as root, make postgres does, changing "
                     f"nothing else installed)")


def install_arguments(package: str) -> list[str]:
    """apt-get's arguments that install ``package`` and change nothing already installed."""
    return ["install", "--no-install-recommends", "--no-upgrade", "--no-remove",
            "-o", "Dpkg::Options::=--force-confold", package]


def plpgsql_check_missing(debian_root: Path = binaries.DEBIAN_ROOT,
                          debian_share: Path = DEBIAN_SHARE) -> list[Path]:
    """The files of Debian's plpgsql_check for PostgreSQL 15 that are not there."""
    files = (debian_root / str(PLPGSQL_CHECK_MAJOR) / "lib" / "plpgsql_check.so",
             debian_share / str(PLPGSQL_CHECK_MAJOR) / "extension" / "plpgsql_check.control")
    return [path for path in files if not path.exists()]


def ensure(settings: Settings, run: Runner, *, can_install: bool,
           debian_root: Path = binaries.DEBIAN_ROOT,
           createcluster: Path = CREATECLUSTER,
           debian_share: Path = DEBIAN_SHARE) -> Path:
    """The server binaries' folder; installs Debian's, and plpgsql_check for Debian's 15,
    only under the rules above."""
    bindir, updated = _server_binaries(settings, run, can_install=can_install,
                                       debian_root=debian_root, createcluster=createcluster)
    debian_15 = debian_root / str(PLPGSQL_CHECK_MAJOR) / "bin"
    if bindir.resolve() == debian_15.resolve():
        _ensure_plpgsql_check(run, can_install=can_install, update=not updated,
                              debian_root=debian_root, debian_share=debian_share)
    return bindir


def _server_binaries(settings: Settings, run: Runner, *, can_install: bool,
                     debian_root: Path, createcluster: Path) -> tuple[Path, bool]:
    """The server binaries' folder, and whether apt's lists were updated to install them."""
    named = settings.get("PG_BINDIR")
    if named:
        missing = binaries._missing(Path(named))
        if missing:
            raise ToolchainError(f"PG_BINDIR={named} lacks {', '.join(missing)}; nothing was "
                                 f"installed: point it at PostgreSQL's server binaries or "
                                 f"unset it")
        return Path(named), False
    if settings.get("PG_VERSION"):
        # Debian's binaries of that major, else its pinned build; the errors name both.
        return binaries.find_bindir(settings, debian_root=debian_root), False
    try:
        return binaries.find_bindir(settings, debian_root=debian_root), False
    except ToolchainError:
        if not can_install:
            raise
    _refuse_over_partial_binaries(debian_root)
    _refuse_broken_packages(run, PACKAGE,
                            f"is installed, but {debian_root}/15/bin lacks its server binaries")

    def write_createcluster() -> None:
        if not createcluster.exists():
            createcluster.parent.mkdir(parents=True, exist_ok=True)
            createcluster.write_text("# Written by IronArchive's scripts/ensure-postgres: its "
                                     "servers are its own.\ncreate_main_cluster = false\n")

    _install(run, PACKAGE, "set PG_BINDIR, or install it yourself", update=True,
             before=write_createcluster)
    return binaries.find_bindir(settings, debian_root=debian_root), True


def _ensure_plpgsql_check(run: Runner, *, can_install: bool, update: bool,
                          debian_root: Path, debian_share: Path) -> None:
    missing = plpgsql_check_missing(debian_root, debian_share)
    if not missing:
        return
    if not can_install:
        print(f"note: Debian's PostgreSQL {PLPGSQL_CHECK_MAJOR} lacks plpgsql_check "
              f"({missing[0]}), which the gate's plpgsql_check check needs: "
              f"{PLPGSQL_CHECK_HOW}", file=sys.stderr)
        return
    _refuse_broken_packages(run, PLPGSQL_CHECK_PACKAGE,
                            f"is installed, but {missing[0]} is missing")
    _install(run, PLPGSQL_CHECK_PACKAGE, "install it yourself when that is safe (the gate's "
             "plpgsql_check check needs it)", update=update)


def _install(run: Runner, package: str, otherwise: str, *, update: bool,
             before: Callable[[], None] | None = None) -> None:
    """``package`` installed, when apt's simulation shows that nothing installed changes."""
    if update:
        _apt(run, "update", "-qq")
    _refuse_changes(_apt(run, "-s", *install_arguments(package)).stdout, package, otherwise)
    if before is not None:
        before()
    print(f"installing {package} from Debian's packages (nothing installed is changed)...",
          file=sys.stderr)
    _apt(run, "-y", "-qq", *install_arguments(package))


def _refuse_over_partial_binaries(debian_root: Path) -> None:
    for bindir in binaries._debian_bindirs(debian_root):
        missing = binaries._missing(bindir)
        if len(missing) < len(binaries.REQUIRED):
            raise ToolchainError(f"{bindir} lacks {', '.join(missing)} but has the rest: not "
                                 f"installing over a damaged PostgreSQL; repair it or set "
                                 f"PG_BINDIR")


def _refuse_broken_packages(run: Runner, target: str, installed_but: str) -> None:
    """Refuse when a watched package, or ``target``, is half-installed, or when ``target`` is
    installed but its files are not there (``installed_but`` says which)."""
    # dpkg's abbreviated status: wanted, state (n not installed, c config files only,
    # i installed; U, F, h, W, t half-way), error flag (R: reinstall required).
    watched = WATCHED if target in WATCHED else (*WATCHED, target)
    listed = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", *watched])
    for line in listed.stdout.splitlines():
        package, _, status = line.partition(" ")
        state, flag = status[1:2], status[2:3].strip()
        if state in ("n", "c", "") and not flag:
            continue
        if state == "i" and not flag and package != target:
            continue
        if state == "i" and not flag:
            problem = installed_but
        else:
            problem = f"is half-installed (dpkg status {status.strip()!r})"
        raise ToolchainError(f"{package} {problem}: not installing over it; repair it "
                             f"(apt-get install --reinstall {package}, or dpkg --configure "
                             f"-a) or set PG_BINDIR")


def _refuse_changes(simulation: str, package: str, otherwise: str) -> None:
    """Refuse when apt's simulated install would touch any package already installed."""
    changes = [f"{name} {old} -> {new}" for name, old, new in
               re.findall(r"^Inst (\S+) \[([^\]]+)\] \((\S+)", simulation, re.MULTILINE)]
    changes += [f"{name} removed" for name in re.findall(r"^Remv (\S+)", simulation, re.MULTILINE)]
    if changes:
        raise ToolchainError(f"installing {package} would change installed packages "
                             f"({', '.join(changes)}), which other PostgreSQL servers may "
                             f"use: nothing was installed; {otherwise}")


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
