"""Where the toolchain's own files live: the repository it is checked out in."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The pins of the built tools: tools/<tool>/go.mod and go.sum (go_tools.py).
TOOLS_DIR = REPO_ROOT / "tools"
#: Built tools (the pinned migrate and actionlint binaries); git-ignored.
BIN_DIR = REPO_ROOT / ".tools" / "bin"
