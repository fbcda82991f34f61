"""The Makefile's migrate targets, as an engineer runs them: no prompt, safe defaults."""

import os
import shutil
import subprocess

import pytest

from ironarchive_schema.migrations import read
from ironarchive_schema.paths import REPO_ROOT, migrations_dir


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_up_status_down_up_without_any_prompt(empty_db_url):
    assert make("migrate-up", f"DATABASE_URL={empty_db_url}").returncode == 0
    status = make("migrate-status", f"DATABASE_URL={empty_db_url}")
    versions = [migration.version for migration in read(migrations_dir())]
    assert status.stdout.strip() == f"version: {versions[-1]}", status.stderr
    down = make("migrate-down", f"DATABASE_URL={empty_db_url}")
    assert down.returncode == 0, down.stderr
    previous = versions[-2] if len(versions) > 1 else "no migration"
    assert make("migrate-status", f"DATABASE_URL={empty_db_url}").stdout.strip() == \
        f"version: {previous}"
    assert make("migrate-up", f"DATABASE_URL={empty_db_url}").returncode == 0


def test_down_all(fresh_db_url):
    result = make("migrate-down", "N=all", f"DATABASE_URL={fresh_db_url}")
    assert result.returncode == 0, result.stderr
    assert "down -all" in result.stderr


@pytest.mark.parametrize("n", ["0", "-1", "two"])
def test_down_rejects_a_bad_count(fresh_db_url, n):
    result = make("migrate-down", f"N={n}", f"DATABASE_URL={fresh_db_url}")
    assert result.returncode != 0
    assert "N must be a positive number or 'all'" in result.stderr


def test_create_makes_the_next_six_digit_pair(tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(REPO_ROOT / "migrations", folder)
    result = make("migrate-create", "NAME=add_mailbox_quota", f"MIGRATIONS_DIR={folder}")
    assert result.returncode == 0, result.stderr
    created = sorted(p.name for p in folder.glob("*add_mailbox_quota*"))
    newest = max(int(p.name[:6]) for p in (REPO_ROOT / "migrations").glob("*.up.sql"))
    version = f"{newest + 1:06d}"
    assert created == [f"{version}_add_mailbox_quota.down.sql",
                       f"{version}_add_mailbox_quota.up.sql"]
    assert all((folder / name).read_text().startswith("-- ") for name in created)


@pytest.mark.parametrize("name", ["", "AddQuota", "add-quota", "1st"])
def test_create_rejects_a_bad_name(tmp_path, name):
    result = make("migrate-create", f"NAME={name}", f"MIGRATIONS_DIR={tmp_path}")
    assert result.returncode != 0
    assert "NAME" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_force_needs_a_version():
    result = make("migrate-force")
    assert result.returncode != 0 and "VERSION is required" in result.stderr
