"""The pinned golang-migrate CLI: built once from the Go module proxy, then reused.

The version and module checksums live in ``tools/migrate/go.mod`` and ``go.sum``; the
binary is built with ``-tags postgres`` into the git-ignored ``.tools/bin``. ``MIGRATE_BIN``
may name another binary, which must report the same version and include the postgres driver.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import BIN_DIR, TOOLS_DIR

MODULE = "github.com/golang-migrate/migrate/v4"
BUILD_TIMEOUT = 600


def pinned_version(go_mod: Path = TOOLS_DIR / "go.mod") -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(MODULE)}\s+(v\S+)", go_mod.read_text(),
                      re.MULTILINE)
    if not match:
        raise ToolchainError(f"{go_mod} does not require {MODULE}")
    return match.group(1)


def go_minimum(tools: Path = TOOLS_DIR.parent) -> str:
    """The Go release every pinned tool builds with: the highest ``go`` line of tools/*/go.mod.

    The one statement of the minimum: messages here, in the Makefile and .ci/run read it,
    and the README's is checked against it (tests/toolchain/test_go_version.py).
    """
    versions = [match.group(1) for go_mod in sorted(tools.glob("*/go.mod"))
                for match in [re.search(r"^go\s+(\d+(?:\.\d+)*)\s*$", go_mod.read_text(),
                                        re.MULTILINE)] if match]
    if not versions:
        raise ToolchainError(f"no go.mod under {tools} states a go version")
    return max(versions, key=lambda v: tuple(map(int, v.split("."))))


def reported_version(binary: str) -> str:
    """What ``migrate -version`` prints (to stderr, like all of migrate's output)."""
    try:
        out = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise ToolchainError(f"cannot run migrate at {binary}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"{binary} -version did not answer within 30 s") from exc
    if out.returncode != 0:
        return f"(exit {out.returncode})"
    lines = (out.stderr.strip() or out.stdout.strip()).splitlines()
    return lines[-1] if lines else "(no output)"  # e.g. MIGRATE_BIN=/bin/true


def check_binary(binary: str, version: str) -> str:
    """Return ``binary`` when it is migrate ``version`` with the postgres driver."""
    if not Path(binary).exists():
        raise ToolchainError(f"migrate binary {binary} does not exist")
    have = reported_version(binary)
    if have != version:
        raise ToolchainError(
            f"migrate at {binary} reports version {have}; this project pins {version} "
            f"(tools/migrate/go.mod): unset MIGRATE_BIN or rebuild with `make migrate-bin`"
        )
    usage = subprocess.run([binary, "-help"], capture_output=True, text=True, timeout=30)
    drivers = re.search(r"Database drivers: (.*)", usage.stderr + usage.stdout)
    if not drivers or "postgres" not in drivers.group(1).split(", "):
        raise ToolchainError(f"migrate at {binary} was built without the postgres driver "
                             f"(-tags postgres)")
    return binary


def build(config: settings.Settings, version: str, target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            f"Go is not installed: it is needed once to build the pinned migrate {version} "
            f"(install Go >= {go_minimum()}, or set MIGRATE_BIN to a migrate {version} built with "
            f"-tags postgres)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then rename: concurrent callers never see half a file.
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".migrate-")
    os.close(fd)
    env = settings.child_environment(config, GOFLAGS="-mod=readonly", CGO_ENABLED="0")
    try:
        result = subprocess.run(
            [go, "build", "-tags", "postgres", "-trimpath",
             "-ldflags", f"-s -w -X main.Version={version}", "-o", partial,
             f"{MODULE}/cmd/migrate"],
            cwd=TOOLS_DIR, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
        )
        if result.returncode != 0:
            raise ToolchainError(f"building migrate {version} failed: "
                                 f"{' | '.join(result.stderr.strip().splitlines()[-3:])}")
        os.replace(partial, target)
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"building migrate {version} took over {BUILD_TIMEOUT} s") from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def ensure_migrate(config: settings.Settings) -> str:
    """Path to the pinned migrate binary (``MIGRATE_BIN``), building it on first use."""
    version = pinned_version()
    explicit = config.get("MIGRATE_BIN")
    if explicit:
        return check_binary(explicit, version)
    target = BIN_DIR / f"migrate-{version}"
    if not target.exists():
        build(config, version, target)
    return check_binary(str(target), version)
