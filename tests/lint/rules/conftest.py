"""Fixtures for the tests of the gate's own rules, on scratch folders (the checks themselves
are the plugin's built-in ``lint`` and ``lock``)."""

from pathlib import Path

import pytest


@pytest.fixture
def write_folder(tmp_path):
    """``write_folder({name: sql})``: a migrations folder holding exactly those files
    (a name ending in ``/`` is a subfolder)."""
    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "migrations"
        folder.mkdir()
        for name, text in files.items():
            if name.endswith("/"):
                (folder / name).mkdir()
            else:
                (folder / name).write_text(text, encoding="utf-8")
        return folder
    return write

