"""ensure-postgres: Debian's PostgreSQL is installed only as a last resort that changes nothing.

Issue 13: ``PG_BINDIR=/nonexistent make migrate-status`` ran ``apt-get install postgresql-15``
as root, upgraded the installed postgresql-15, postgresql-client-15 and libpq5, appended to
createcluster.conf, and failed anyway. The real apt-get never runs here: the script gets a
fake one first on PATH that records its call and fails; the install logic gets a fake
system (``FakeSystem``) in place of dpkg-query and apt-get.

Issue 16: Debian's PostgreSQL 15 in use without plpgsql_check gets
``postgresql-15-plpgsql-check`` (the gate's plpgsql_check check needs it) under the same rules.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import binaries, install
from ironarchive_schema.settings import child_environment, resolve

NEW = "Inst postgresql-15 (15.20-0+deb12u1 Debian-Security:12/stable-security [amd64])\n"
NEW_CHECK = "Inst postgresql-15-plpgsql-check (2.3.0-1 Debian:12.15/oldstable [amd64])\n"
UPGRADE = ("Inst libpq5 [15.18-0+deb12u1] (15.20-0+deb12u1 Debian-Security:12/stable-security "
           "[amd64])\n")
CREATECLUSTER = Path("/etc/postgresql-common/createcluster.conf")


def one_line(message: str) -> str:
    assert "\n" not in message.strip(), f"want one line, have:\n{message}"
    return message.strip()


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


# --- the script, as make runs it ---------------------------------------------------------

@pytest.fixture
def fake_apt(tmp_path):
    """A folder, first on PATH, whose apt-get records that it was called and fails."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {folder}/apt-get.log\nexit 100\n')
    (folder / "apt-get").chmod(0o755)
    return folder


def ensure_postgres(tmp_path: Path, fake_apt: Path, **settings: str) -> subprocess.CompletedProcess:
    env = child_environment(resolve(env_file=tmp_path / "no.env"),
                            PATH=f"{fake_apt}:/usr/local/bin:/usr/bin:/bin",
                            PYTHONPATH=REPO_ROOT / "src", ENV_FILE=tmp_path / "no.env",
                            **settings)
    return subprocess.run([REPO_ROOT / "scripts" / "ensure-postgres", sys.executable],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


@pytest.mark.parametrize(("settings", "error"), [
    ({"PG_BINDIR": "/nonexistent"},
     "error: PG_BINDIR=/nonexistent lacks initdb, pg_ctl, postgres; nothing was installed"),
    ({"PG_BINDIR": "/nonexistent", "PG_VERSION": "15"},
     "error: PG_BINDIR=/nonexistent lacks initdb, pg_ctl, postgres; nothing was installed"),
    ({"PG_VERSION": "99"}, "error: PostgreSQL 99 has no pinned build; pinned majors: "),
    ({"PG_VERSION": "latest"}, "error: PG_VERSION must be a PostgreSQL major such as 17, "),
], ids=["PG_BINDIR", "PG_BINDIR-and-PG_VERSION", "PG_VERSION-unpinned", "PG_VERSION-not-a-major"])
def test_a_named_place_without_binaries_is_one_line_and_installs_nothing(
        tmp_path, fake_apt, settings, error):
    before = digest(CREATECLUSTER)
    result = ensure_postgres(tmp_path, fake_apt, **settings)
    assert result.returncode != 0
    assert one_line(result.stderr).startswith(error)
    assert not (fake_apt / "apt-get.log").exists(), "apt-get was run"
    assert digest(CREATECLUSTER) == before, f"{CREATECLUSTER} was changed"


# --- the rules, on a fake system --------------------------------------------------------

class FakeSystem:
    """dpkg-query and apt-get as a runner: records every command; apt-get -y "installs"
    postgresql-15 (its server binaries) or postgresql-15-plpgsql-check (its files)."""

    def __init__(self, debian_root: Path, createcluster: Path, dpkg: str = "",
                 simulation: str = NEW, check_simulation: str = NEW_CHECK):
        self.debian_root, self.createcluster = debian_root, createcluster
        self.dpkg, self.simulation, self.check_simulation = dpkg, simulation, check_simulation
        self.calls: list[list[str]] = []
        self.createcluster_at_install: str | None = None

    def __call__(self, command):
        self.calls.append(list(command))
        out = ""
        extension = command[-1] == install.PLPGSQL_CHECK_PACKAGE
        if command[0] == "dpkg-query":
            out = self.dpkg
        elif command[:2] == ["apt-get", "-s"]:
            out = self.check_simulation if extension else self.simulation
        elif command[:2] == ["apt-get", "-y"] and extension:
            fake_plpgsql_check(self.debian_root)
        elif command[:2] == ["apt-get", "-y"]:
            self.createcluster_at_install = self.createcluster.read_text()
            fake_debian(self.debian_root, 15)
        return subprocess.CompletedProcess(command, 0, out, "")

    def apt_calls(self) -> list[list[str]]:
        return [call for call in self.calls if call[0] == "apt-get"]


def never(command):
    pytest.fail(f"nothing may run here, ran {command}")


def fake_debian(root: Path, major: int, names=binaries.REQUIRED) -> Path:
    bindir = root / str(major) / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in names:
        (bindir / name).touch(mode=0o755)
    return bindir


def share_of(debian_root: Path) -> Path:
    """The fake machine's /usr/share/postgresql, beside its /usr/lib/postgresql."""
    return debian_root.parent / "share"


def fake_plpgsql_check(debian_root: Path, files=("lib", "extension")) -> None:
    """Debian's plpgsql_check for 15: its library, its control file (``files`` says which)."""
    where = {"lib": debian_root / "15" / "lib" / "plpgsql_check.so",
             "extension": share_of(debian_root) / "15" / "extension" / "plpgsql_check.control"}
    for name in files:
        where[name].parent.mkdir(parents=True, exist_ok=True)
        where[name].touch()


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """No server binaries anywhere: an empty Debian root, no pg_config, nothing named."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "debian").mkdir()
    return tmp_path


def settings(machine: Path, **values: str):
    return resolve(environ=values, env_file=machine / "no.env")


def ensure(machine: Path, run, can_install: bool = True, **values: str) -> Path:
    return install.ensure(settings(machine, **values), run, can_install=can_install,
                            debian_root=machine / "debian",
                            createcluster=machine / "etc" / "createcluster.conf",
                            debian_share=share_of(machine / "debian"))


def assert_installs_changing_nothing(simulate: list[str], install: list[str], package: str):
    assert simulate[:2] == ["apt-get", "-s"] and simulate[2:] == install[3:]
    assert install[:3] == ["apt-get", "-y", "-qq"]
    for flag in ("--no-upgrade", "--no-remove", "--no-install-recommends",
                 "Dpkg::Options::=--force-confold"):
        assert flag in install, f"{flag}: nothing installed may change, nothing may prompt"
    assert install[-1] == package


def test_with_no_binaries_at_all_it_installs_without_touching_anything_installed(machine):
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf")
    assert ensure(machine, system) == machine / "debian" / "15" / "bin"
    update, simulate, install, simulate_check, install_check = system.apt_calls()
    assert update == ["apt-get", "update", "-qq"], "once: the lists serve both installs"
    assert_installs_changing_nothing(simulate, install, "postgresql-15")
    assert "create_main_cluster = false" in system.createcluster_at_install.splitlines(), (
        "written before installing: no main cluster on port 5432")
    assert_installs_changing_nothing(simulate_check, install_check,
                                     "postgresql-15-plpgsql-check")


def test_an_existing_createcluster_conf_is_kept_as_it_is(machine):
    conf = machine / "etc" / "createcluster.conf"
    conf.parent.mkdir()
    conf.write_text("#create_main_cluster = true\n")
    ensure(machine, FakeSystem(machine / "debian", conf))
    assert conf.read_text() == "#create_main_cluster = true\n"


@pytest.mark.parametrize(("simulation", "named"), [
    (UPGRADE + NEW, "libpq5 15.18-0+deb12u1 -> 15.20-0+deb12u1"),
    ("Inst postgresql-common [248] (246 Debian:12 [all])\n" + NEW, "postgresql-common 248 -> 246"),
    ("Remv postgresql-16 [16.4-1]\n" + NEW, "postgresql-16 removed"),
], ids=["upgrade", "downgrade", "removal"])
def test_an_install_that_would_change_an_installed_package_is_refused(machine, simulation,
                                                                      named):
    conf = machine / "etc" / "createcluster.conf"
    system = FakeSystem(machine / "debian", conf, simulation=simulation)
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, system)
    message = one_line(str(caught.value))
    assert message.startswith("installing postgresql-15 would change installed packages (")
    assert named in message and "nothing was installed" in message
    assert [call[1] for call in system.apt_calls()] == ["update", "-s"], "simulated only"
    assert not conf.exists(), "nothing is written when nothing is installed"


@pytest.mark.parametrize(("dpkg", "error"), [
    ("postgresql-common iF \n",
     "postgresql-common is half-installed (dpkg status 'iF'): not installing over it"),
    ("libpq5 iU \npostgresql-15 un \n",
     "libpq5 is half-installed (dpkg status 'iU'): not installing over it"),
    ("postgresql-15 iiR\n",
     "postgresql-15 is half-installed (dpkg status 'iiR'): not installing over it"),
    ("postgresql-15 ii \n",
     "postgresql-15 is installed, but {debian}/15/bin lacks its server binaries: not installing"),
], ids=["half-configured", "unpacked", "reinstall-required", "files-gone"])
def test_a_broken_postgresql_package_is_reported_not_repaired(machine, dpkg, error):
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf", dpkg=dpkg)
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, system)
    assert one_line(str(caught.value)).startswith(error.format(debian=machine / "debian"))
    assert system.apt_calls() == []


def test_removed_packages_with_their_config_left_do_not_stop_the_install(machine):
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf",
                        dpkg="postgresql-15 rc \npostgresql-common ii \nlibpq5 ii \n")
    assert ensure(machine, system) == machine / "debian" / "15" / "bin"


def test_part_of_a_set_of_binaries_is_not_installed_over(machine):
    fake_debian(machine / "debian", 15, names=["postgres"])
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, never)
    assert one_line(str(caught.value)).startswith(
        f"{machine / 'debian' / '15' / 'bin'} lacks initdb, pg_ctl but has the rest")


def test_installed_binaries_are_used_and_nothing_runs(machine):
    bindir = fake_debian(machine / "debian", 15)
    fake_plpgsql_check(machine / "debian")
    assert ensure(machine, never) == bindir


# --- plpgsql_check for Debian's PostgreSQL 15 (issue 16) ---------------------------------

@pytest.mark.parametrize("present", [(), ("lib",), ("extension",)],
                         ids=["none", "library-only", "control-file-only"])
@pytest.mark.parametrize("named", [{}, {"PG_VERSION": "15"}, {"PG_BINDIR": "15/bin"}],
                         ids=["found", "PG_VERSION", "PG_BINDIR"])
def test_debian_15_without_plpgsql_check_gets_it_changing_nothing_installed(machine, present,
                                                                           named):
    bindir = fake_debian(machine / "debian", 15)
    fake_plpgsql_check(machine / "debian", present)
    values = {name: str(machine / "debian" / value) if name == "PG_BINDIR" else value
              for name, value in named.items()}
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf")
    assert ensure(machine, system, **values) == bindir
    update, simulate, install = system.apt_calls()
    assert update == ["apt-get", "update", "-qq"]
    assert_installs_changing_nothing(simulate, install, "postgresql-15-plpgsql-check")
    assert install_missing(machine) == []
    assert not (machine / "etc" / "createcluster.conf").exists(), "only the server's install"


def install_missing(machine: Path) -> list[Path]:
    return install.plpgsql_check_missing(machine / "debian", share_of(machine / "debian"))


def test_an_install_of_plpgsql_check_that_would_upgrade_postgresql_is_refused(machine):
    fake_debian(machine / "debian", 15)
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf",
                        check_simulation="Inst postgresql-15 [15.18-0+deb12u1] (15.20-0+deb12u1 "
                                         "Debian-Security:12/stable-security [amd64])\n"
                                         + NEW_CHECK)
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, system)
    assert one_line(str(caught.value)) == (
        "installing postgresql-15-plpgsql-check would change installed packages (postgresql-15 "
        "15.18-0+deb12u1 -> 15.20-0+deb12u1), which other PostgreSQL servers may use: nothing "
        "was installed; install it yourself when that is safe (the gate's plpgsql_check check "
        "needs it)")
    assert [call[1] for call in system.apt_calls()] == ["update", "-s"], "simulated only"
    assert len(install_missing(machine)) == 2


@pytest.mark.parametrize(("dpkg", "error"), [
    ("postgresql-15 ii \npostgresql-15-plpgsql-check iU \n",
     "postgresql-15-plpgsql-check is half-installed (dpkg status 'iU'): not installing over it"),
    ("postgresql-15 ii \npostgresql-15-plpgsql-check ii \n",
     "postgresql-15-plpgsql-check is installed, but {debian}/15/lib/plpgsql_check.so is "
     "missing: not installing over it"),
    ("postgresql-15 ii \nlibpq5 iF \n",
     "libpq5 is half-installed (dpkg status 'iF'): not installing over it"),
], ids=["half-installed", "files-gone", "watched-package-broken"])
def test_a_broken_plpgsql_check_or_postgresql_package_is_reported_not_repaired(machine, dpkg,
                                                                                error):
    fake_debian(machine / "debian", 15)
    system = FakeSystem(machine / "debian", machine / "etc" / "createcluster.conf", dpkg=dpkg)
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, system)
    assert one_line(str(caught.value)).startswith(error.format(debian=machine / "debian"))
    assert system.apt_calls() == []


def test_without_root_or_apt_get_a_missing_plpgsql_check_is_one_line_saying_how(machine,
                                                                                capsys):
    """Only the gate needs it: the binaries are still used (make migrate-up goes on), and
    the gate's check fails on PostgreSQL 15 with the same advice."""
    bindir = fake_debian(machine / "debian", 15)
    assert ensure(machine, never, can_install=False) == bindir
    assert one_line(capsys.readouterr().err) == (
        f"note: Debian's PostgreSQL 15 lacks plpgsql_check "
        f"({machine / 'debian' / '15' / 'lib' / 'plpgsql_check.so'}), which the gate's "
        f"plpgsql_check check needs: install postgresql-15-plpgsql-check (as root, make "
        f"postgres does, changing nothing else installed)")


def test_binaries_other_than_debian_15_get_no_plpgsql_check(machine):
    """Debian packages plpgsql_check here for 15 only; another major is left as it is."""
    bindir = fake_debian(machine / "debian", 16)
    assert ensure(machine, never) == bindir


def test_without_root_or_apt_get_it_says_what_was_tried(machine):
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, never, can_install=False)
    assert one_line(str(caught.value)).startswith("no PostgreSQL server binaries found (tried ")


def test_a_named_bindir_never_installs(machine):
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, never, PG_BINDIR=str(machine / "nowhere"))
    assert one_line(str(caught.value)) == (
        f"PG_BINDIR={machine / 'nowhere'} lacks initdb, pg_ctl, postgres; nothing was "
        f"installed: point it at PostgreSQL's server binaries or unset it")


def test_a_named_major_never_installs(machine):
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, never, PG_VERSION="99")
    assert one_line(str(caught.value)).startswith("PostgreSQL 99 has no pinned build")


def test_a_failing_apt_get_is_one_line(machine):
    def failing(command):
        if command[:2] == ["apt-get", "update"]:
            return subprocess.CompletedProcess(command, 100, "", "E: Could not get lock\n"
                                               "E: Unable to lock directory /var/lib/apt/lists/\n")
        return subprocess.CompletedProcess(command, 0, "", "")
    with pytest.raises(ToolchainError) as caught:
        ensure(machine, failing)
    assert one_line(str(caught.value)) == (
        "apt-get update -qq failed (exit 100): E: Unable to lock directory /var/lib/apt/lists/")
