"""Where the project's files live, and the settings that move them."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools" / "migrate"
#: Built tools (the pinned migrate binary); git-ignored.
BIN_DIR = REPO_ROOT / ".tools" / "bin"


def migrations_dir() -> Path:
    """The migrations folder every command works on: ``MIGRATIONS_DIR`` or ``./migrations``."""
    return Path(os.environ.get("MIGRATIONS_DIR") or REPO_ROOT / "migrations").resolve()
