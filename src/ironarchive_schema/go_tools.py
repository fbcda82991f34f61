"""The pinned Go tools: golang-migrate, which applies the migrations, and actionlint, which
the suite runs on .github/workflows/.

Each is pinned by ``tools/<name>/go.mod`` and ``go.sum``, built once from the Go module
proxy into the git-ignored ``.tools/bin/<name>-<version>``, and rebuilt only when those
pins change. The one builder of both: the Makefile's ``migrate-bin`` and ``actionlint-bin``
call it through the command line.
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.paths import BIN_DIR, TOOLS_DIR

BUILD_TIMEOUT = 600
PINS = ("go.mod", "go.sum")


def go_minimum(tools: Path = TOOLS_DIR) -> str:
    """The Go release every pinned tool builds with: the highest ``go`` line of tools/*/go.mod.

    The one statement of the minimum: the builder's messages read it, .ci/run reads the same
    lines (before any Python is installed), and the README's is checked against it
    (tests/toolchain/test_go_version.py).
    """
    versions = [match.group(1) for go_mod in sorted(tools.glob("*/go.mod"))
                for match in [re.search(r"^go\s+(\d+(?:\.\d+)*)\s*$", go_mod.read_text(),
                                        re.MULTILINE)] if match]
    if not versions:
        raise ToolchainError(f"no go.mod under {tools} states a go version")
    return max(versions, key=lambda v: tuple(map(int, v.split("."))))


@dataclass(frozen=True)
class GoTool:
    """A command of a Go module that ``tools/<name>/go.mod`` pins."""

    name: str
    module: str  # the module whose version go.mod pins
    package: str  # the command's package in it
    tags: tuple[str, ...] = ()
    version_variable: str = ""  # set to the pinned version at link time (-X), if any
    # The missing-Go error's other way to a binary ("{version}" is the pin), if any.
    instead: str = ""

    @property
    def folder(self) -> Path:
        return TOOLS_DIR / self.name

    def pinned_version(self) -> str:
        go_mod = self.folder / "go.mod"
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)}\s+(v\S+)",
                          go_mod.read_text(), re.MULTILINE)
        if not match:
            raise ToolchainError(f"{go_mod} does not require {self.module}")
        return match.group(1)

    def binary(self, version: str) -> Path:
        return BIN_DIR / f"{self.name}-{version}"

    def is_current(self, target: Path) -> bool:
        """Built, and since the pins last changed (a go.sum-only change rebuilds too)."""
        return target.exists() and all(
            target.stat().st_mtime >= (self.folder / pin).stat().st_mtime for pin in PINS)

    def ensure(self, config: settings.Settings) -> Path:
        """The pinned binary, built when it is missing or older than the pins."""
        version = self.pinned_version()
        target = self.binary(version)
        if not self.is_current(target):
            self.build(config, version, target)
        return target

    def build(self, config: settings.Settings, version: str, target: Path) -> None:
        go = shutil.which("go")
        if go is None:
            raise ToolchainError(
                f"Go is not installed: it is needed once to build the pinned {self.name} "
                f"{version} (install Go >= {go_minimum()}{self.instead.format(version=version)})"
            )
        ldflags = "-s -w" + (f" -X {self.version_variable}={version}"
                             if self.version_variable else "")
        tags = ["-tags", ",".join(self.tags)] if self.tags else []
        target.parent.mkdir(parents=True, exist_ok=True)
        # Build beside the target, then rename: concurrent callers never see half a file.
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{self.name}-")
        os.close(fd)
        env = settings.child_environment(config, GOFLAGS="-mod=readonly", CGO_ENABLED="0")
        try:
            result = subprocess.run(
                [go, "build", *tags, "-trimpath", "-ldflags", ldflags, "-o", partial,
                 f"{self.module}/{self.package}"],
                cwd=self.folder, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
            )
            if result.returncode != 0:
                raise ToolchainError(f"building {self.name} {version} failed: "
                                     f"{' | '.join(result.stderr.strip().splitlines()[-3:])}")
            os.replace(partial, target)
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"building {self.name} {version} took over {BUILD_TIMEOUT} s"
                                 ) from exc
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


MIGRATE = GoTool("migrate", "github.com/golang-migrate/migrate/v4", "cmd/migrate",
                 tags=("postgres",), version_variable="main.Version",
                 instead=", or set MIGRATE_BIN to a migrate {version} built with -tags postgres")
ACTIONLINT = GoTool("actionlint", "github.com/rhysd/actionlint", "cmd/actionlint")
