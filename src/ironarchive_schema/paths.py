"""Where the project's files live, and the settings that move them."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools" / "migrate"
#: Built tools (the pinned migrate binary); git-ignored.
BIN_DIR = REPO_ROOT / ".tools" / "bin"


def migrations_dir() -> Path:
    """The migrations folder every command works on: ``MIGRATIONS_DIR`` or ``./migrations``."""
    from ironarchive_schema.settings import active  # settings imports this module

    return active().migrations_dir
