"""squawk, the pinned command line, with the repository's ``.squawk.toml``.

squawk reads its config file (``-c``), but silently ignores a key it does not know,
and ``--exclude`` on the command line replaces the file's ``excluded_rules`` instead
of adding to them. So this module checks the keys, and for down files passes the
file's exclusions together with its ``[down_files] excluded_rules``.
"""

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.lint.findings import Finding
from ironarchive_schema.paths import REPO_ROOT

CONFIG = REPO_ROOT / ".squawk.toml"
TOOL = "squawk"
TIMEOUT = 60
SQUAWK_KEYS = {"pg_version", "assume_in_transaction", "excluded_rules", "included_rules",
               "excluded_paths", "upload_to_github"}
OWN_KEYS = {"down_files": {"excluded_rules"}}


def squawk_binary() -> str:
    """The squawk of this Python's environment (squawk-cli), else the one on PATH."""
    beside = Path(sys.executable).with_name("squawk")
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if not found:
        raise ToolchainError("squawk is not installed: it comes with the pinned test "
                             "dependencies (make venv)")
    return found


def read_config(path: Path) -> dict:
    settings = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(settings) - SQUAWK_KEYS - set(OWN_KEYS)
    unknown |= {f"{table}.{key}" for table, keys in OWN_KEYS.items()
                for key in set(settings.get(table, {})) - keys}
    if unknown:
        raise ToolchainError(f"{path}: unknown keys {', '.join(sorted(unknown))} "
                             f"(squawk would ignore them silently)")
    return settings


class Squawk:
    def __init__(self, config: Path = CONFIG):
        self.config = config
        settings = read_config(config)
        self.down_exclusions = sorted(
            {*settings.get("excluded_rules", []),
             *settings.get("down_files", {}).get("excluded_rules", [])})
        self.binary = squawk_binary()

    def argv(self, path: Path) -> list[str]:
        argv = [self.binary, "--config", str(self.config), "--reporter", "json"]
        if path.name.endswith(".down.sql") and self.down_exclusions:
            argv += ["--exclude", ",".join(self.down_exclusions)]
        return [*argv, str(path)]

    def check(self, path: Path) -> list[Finding]:
        argv = self.argv(path)
        try:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"squawk did not finish on {path} in {TIMEOUT} s") from exc
        try:
            reported = json.loads(result.stdout) if result.returncode in (0, 1) else None
        except json.JSONDecodeError:
            reported = None
        if not isinstance(reported, list):
            raise ToolchainError(f"{' '.join(argv)} failed (exit {result.returncode}): "
                                 f"{(result.stderr or result.stdout).strip()}")
        # squawk counts lines from 0.
        return sorted({Finding(path, item["line"] + 1, TOOL, item["rule_name"], _message(item))
                       for item in reported})


def _message(item: dict) -> str:
    message = item["message"].rstrip(".")
    return f"{message}. {item['help']}" if item.get("help") else f"{message}."
