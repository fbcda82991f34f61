"""The Makefile's migrate targets, as an engineer runs them: no prompt, safe defaults, and
nothing run that the gate would reject or that was not asked for."""

import shutil

import pytest

from commands import cli, make
from ironarchive_schema.migrate import journal, recovery
from ironarchive_schema.migrate.migration_files import read

TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


def status_line(result) -> str:
    return result.stdout.strip()


def test_up_status_down_up_without_any_prompt(migrations_dir, empty_db_url):
    assert make("migrate-up", f"DATABASE_URL={empty_db_url}").returncode == 0
    status = make("migrate-status", f"DATABASE_URL={empty_db_url}")
    versions = [migration.version for migration in read(migrations_dir)]
    assert (status.returncode, status_line(status)) == (0, f"version: {versions[-1]}"), \
        status.stderr
    down = make("migrate-down", f"DATABASE_URL={empty_db_url}")
    assert down.returncode == 0, down.stderr
    previous = versions[-2] if len(versions) > 1 else "no migration"
    assert status_line(make("migrate-status", f"DATABASE_URL={empty_db_url}")) == \
        f"version: {previous}"
    assert make("migrate-up", f"DATABASE_URL={empty_db_url}").returncode == 0


def test_down_all_needs_confirm_on_any_database_but_the_development_one(fresh_db_url):
    """A local URL may be an SSH tunnel or a port-forward to production."""
    refused = make("migrate-down", "N=all", f"DATABASE_URL={fresh_db_url}")
    assert refused.returncode == 2
    assert "refusing to revert every migration" in refused.stderr
    assert "CONFIRM=1" in refused.stderr.strip().splitlines()[-2]
    assert status_line(make("migrate-status", f"DATABASE_URL={fresh_db_url}")) != \
        "version: no migration"
    confirmed = make("migrate-down", "N=all", "CONFIRM=1", f"DATABASE_URL={fresh_db_url}")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "down -all" in confirmed.stderr
    assert status_line(make("migrate-status", f"DATABASE_URL={fresh_db_url}")) == \
        "version: no migration"


@pytest.mark.parametrize("n", ["0", "-1", "two"])
def test_down_rejects_a_bad_count(fresh_db_url, n):
    result = make("migrate-down", f"N={n}", f"DATABASE_URL={fresh_db_url}")
    assert result.returncode != 0
    assert "N must be a positive number or 'all'" in result.stderr


@pytest.fixture
def migrations_copy(migrations_dir, tmp_path):
    """A copy of the migrations under test."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrations_dir, copy)
    return copy


@pytest.mark.parametrize("already", [None, "add_mailbox_quota"],
                         ids=["new name", "name already used by the newest migration"])
def test_create_makes_the_next_six_digit_pair(migrations_copy, already):
    """The README's own example, also in a migrations_copy where someone already created it."""
    if already:
        assert make("migrate-create", f"NAME={already}", f"MIGRATIONS_DIR={migrations_copy}"
                    ).returncode == 0
    before = {path.name for path in migrations_copy.iterdir()}
    newest = max(migration.version for migration in read(migrations_copy))
    result = make("migrate-create", "NAME=add_mailbox_quota", f"MIGRATIONS_DIR={migrations_copy}")
    assert result.returncode == 0, result.stderr
    created = sorted({path.name for path in migrations_copy.iterdir()} - before)
    version = f"{newest + 1:06d}"
    assert created == [f"{version}_add_mailbox_quota.down.sql",
                       f"{version}_add_mailbox_quota.up.sql"]
    assert result.stdout.split() == [str(migrations_copy / name) for name in created]
    for name in created:
        text = (migrations_copy / name).read_text()
        assert text.startswith(f"-- {version}_add_mailbox_quota: ") and text.endswith(TIMEOUTS), \
            f"{name}: want a comment line, then the two SET LOCAL timeouts; have:\n{text}"


@pytest.mark.parametrize("name", ["", "AddQuota", "add-quota", "1st"])
def test_create_rejects_a_bad_name(tmp_path, name):
    result = make("migrate-create", f"NAME={name}", f"MIGRATIONS_DIR={tmp_path}")
    assert result.returncode != 0
    assert "NAME" in result.stderr
    assert list(tmp_path.iterdir()) == []


def next_pair(migrations_copy, name: str, up: str = "SELECT 1;\n", down: str = "SELECT 1;\n",
              version: int | None = None) -> int:
    version = version or max(migration.version for migration in read(migrations_copy)) + 1
    (migrations_copy / f"{version:06d}_{name}.up.sql").write_text(TIMEOUTS + up)
    (migrations_copy / f"{version:06d}_{name}.down.sql").write_text(TIMEOUTS + down)
    return version


def bad_short_version(migrations_copy):
    (migrations_copy / "4_x.up.sql").write_text(TIMEOUTS + "SELECT 1;\n")
    (migrations_copy / "4_x.down.sql").write_text(TIMEOUTS + "SELECT 1;\n")
    return "version-digits"


def bad_title(migrations_copy):
    next_pair(migrations_copy, "Bad-Name")
    return "snake-case"


def up_without_down(migrations_copy):
    version = next_pair(migrations_copy, "no_down")
    (migrations_copy / f"{version:06d}_no_down.down.sql").unlink()
    return "pair"


def version_gap(migrations_copy):
    newest = max(m.version for m in read(migrations_copy))
    next_pair(migrations_copy, "after_a_gap", version=newest + 2)
    return "sequence"


def released_migration_edited(migrations_copy):
    first = sorted(p.name for p in migrations_copy.glob("000001_*.up.sql"))[0]
    with (migrations_copy / first).open("a") as f:
        f.write("SELECT 1;\n")
    return "edited"


def stray_file(migrations_copy):
    (migrations_copy / "notes.txt").write_text("todo\n")
    return "stray"


def commit_in_a_file(migrations_copy):
    next_pair(migrations_copy, "commits", up="CREATE TABLE t_commit (id BIGINT);\nCOMMIT;\n")
    return "transaction-control"


def created_but_not_written(migrations_copy):
    """Applied now, it would record its version with nothing done, and its body, written
    later, would never run."""
    assert make("migrate-create", "NAME=not_written_yet", f"MIGRATIONS_DIR={migrations_copy}"
                ).returncode == 0
    return "empty"


BREAKAGES = [bad_short_version, bad_title, up_without_down, version_gap,
             released_migration_edited, stray_file, commit_in_a_file, created_but_not_written]


@pytest.mark.parametrize(("breakage", "target"),
                         [(breakage, "migrate-up") for breakage in BREAKAGES]
                         + [(version_gap, "migrate-down"), (version_gap, "migrate-force")])
def test_migrate_refuses_what_the_gate_rejects_before_migrate_runs(fresh_db_url, migrations_copy,
                                                                    breakage, target):
    """Refused with the lint's own finding before any connection is made."""
    rule = breakage(migrations_copy)
    result = make(target, "VERSION=1", f"DATABASE_URL={fresh_db_url}",
                  f"MIGRATIONS_DIR={migrations_copy}")
    assert result.returncode == 2, result.stderr
    assert f"refusing to run {target}" in result.stderr
    assert f" dir {rule}: " in result.stderr or f" lock {rule}: " in result.stderr, result.stderr
    assert "database:" not in result.stderr, f"it connected:\n{result.stderr}"


def test_a_migration_not_locked_yet_runs(fresh_db_url, migrations_copy):
    """Being written is the normal state of the newest migration: it is not locked yet."""
    version = next_pair(migrations_copy, "add_probe", up="CREATE TABLE make_probe (id BIGINT);\n",
                        down="DROP TABLE make_probe;\n")
    result = make("migrate-up", f"DATABASE_URL={fresh_db_url}", f"MIGRATIONS_DIR={migrations_copy}")
    assert result.returncode == 0, result.stderr
    assert status_line(make("migrate-status", f"DATABASE_URL={fresh_db_url}",
                            f"MIGRATIONS_DIR={migrations_copy}")) == f"version: {version}"


def test_a_version_added_below_the_current_one_is_reported_and_refused(migrate_on, fresh_db_url,
                                                                       migrations_copy):
    """migrate applies only versions above the current one: a version that appears below it
    later would be skipped forever with `no change`."""
    # The database went through a gap, as the toolchain allowed before its pre-flight, and
    # its history says so; then the gap is filled in.
    newest = max(migration.version for migration in read(migrations_copy))
    next_pair(migrations_copy, "applied_later", version=newest + 2)
    migrate_on(fresh_db_url, migrations_copy).up()
    journal.write(fresh_db_url, journal.Journal(
        [*range(1, newest + 1), newest + 2],
        {"command": "up", "from": newest, "to": newest + 2, "state": "done",
         "version": newest + 2}))
    next_pair(migrations_copy, "filled_in", version=newest + 1)
    status = cli("status", DATABASE_URL=fresh_db_url, MIGRATIONS_DIR=migrations_copy)
    assert status.returncode == recovery.EXIT_SKIPPED, status.stderr
    assert f"never applied {newest + 1:06d}" in status.stderr
    up = make("migrate-up", f"DATABASE_URL={fresh_db_url}", f"MIGRATIONS_DIR={migrations_copy}")
    assert up.returncode == 2 and "refusing to migrate up" in up.stderr, up.stderr


def test_force_needs_a_version():
    result = make("migrate-force")
    assert result.returncode != 0 and "VERSION is required" in result.stderr


@pytest.mark.parametrize("version", ["99", "0", "1.5", "x"])
def test_force_refuses_a_version_with_no_migration(fresh_db_url, version):
    result = make("migrate-force", f"VERSION={version}", f"DATABASE_URL={fresh_db_url}")
    assert result.returncode == 2
    assert "VERSION" in result.stderr.strip().splitlines()[-2]


def test_force_on_a_clean_database_needs_force_clean(fresh_db_url):
    refused = make("migrate-force", "VERSION=1", f"DATABASE_URL={fresh_db_url}")
    assert refused.returncode == 2 and "the database is not dirty" in refused.stderr
    assert "FORCE_CLEAN=1" in refused.stderr
    forced = make("migrate-force", "VERSION=1", "FORCE_CLEAN=1", f"DATABASE_URL={fresh_db_url}")
    assert forced.returncode == 0, forced.stderr
    assert status_line(make("migrate-status", f"DATABASE_URL={fresh_db_url}")) == "version: 1"


REMOTE = "postgres://app:secret@db.example.com/ironarchive?sslmode=require"


@pytest.mark.parametrize("target", [("migrate-down",), ("migrate-down", "N=all"),
                                    ("migrate-force", "VERSION=1")],
                         ids=["down", "down all", "force"])
def test_destructive_targets_refuse_a_remote_database_without_confirm(target):
    """Refused before any connection: nothing is sent to that host."""
    result = make(*target, f"DATABASE_URL={REMOTE}")
    assert result.returncode == 2
    assert "it is not on this machine" in result.stderr and "CONFIRM=1" in result.stderr
    assert "secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("target", ["migrate-down", "migrate-status", "migrate-up"])
def test_a_url_naming_two_hosts_is_refused_before_any_connection(target):
    """lib/pq would connect to zzz.invalid (the host that sorts last), libpq to localhost:
    the guard must not judge one and migrate reach the other."""
    result = make(target, "DATABASE_URL=postgres://u:p@zzz.invalid/x?host=localhost")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-2]
    assert "names more than one host (zzz.invalid, localhost)" in line, result.stderr
    assert "zzz.invalid" not in result.stderr.replace(line, ""), "something reached for it"
    assert ":p@" not in result.stderr
