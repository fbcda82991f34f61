"""Where the toolchain's own files live: the repository it is checked out in."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools" / "migrate"
#: Built tools (the pinned migrate binary); git-ignored.
BIN_DIR = REPO_ROOT / ".tools" / "bin"
