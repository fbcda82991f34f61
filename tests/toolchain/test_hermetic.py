"""The gate touches only what it was pointed at.

A canary: a server of this test's own, holding a database at the newest version, named by
``DATABASE_URL`` in the environment and in the ``.env`` of a checkout of its own (with one
more migration in its folder, so that any `up` would show). The gate's commands run in that
checkout; the canary's catalog, its ``schema_migrations`` row and that table's comment are
the same afterwards.

And a value given to an outer make (``make test-schema MIGRATIONS_DIR=...``) does not
override what a test passes to an inner one: the lint rules' tests lint their own copies.
"""

import shutil

import pytest

from commands import copy_checkout, make
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import EmbeddedServer

PROBE = ("SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"
         "CREATE TABLE canary_probe (id BIGINT);\n")


def state(url: str) -> tuple:
    """What the gate must not change: the catalog, migrate's row and its table's comment."""
    with admin.connect(url) as conn:
        row = conn.execute("SELECT version, dirty FROM schema_migrations").fetchall()
        comment = conn.execute(
            "SELECT obj_description('schema_migrations'::regclass, 'pg_class')").fetchone()
    return pg_catalog.snapshot_of(url), row, comment


@pytest.fixture(scope="module")
def canary(gate_settings, migrate_on):
    server = EmbeddedServer(gate_settings)
    try:
        url = admin.create_database(server.admin_url, admin.unique_name("canary"))
        migrate_on(url).up()
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, canary):
    """A checkout whose `.env` names the canary, with a third migration in its folder."""
    root = copy_checkout(tmp_path_factory.mktemp("checkout"))
    newest = max(int(path.name[:6]) for path in (root / "migrations").glob("*.up.sql"))
    (root / "migrations" / f"{newest + 1:06d}_canary_probe.up.sql").write_text(PROBE)
    (root / "migrations" / f"{newest + 1:06d}_canary_probe.down.sql").write_text(
        PROBE.replace("CREATE TABLE canary_probe (id BIGINT)", "DROP TABLE canary_probe"))
    (root / ".env").write_text(f"DATABASE_URL={canary}\n")
    return root


def test_the_gate_leaves_the_database_named_in_env_and_database_url_alone(canary, checkout):
    """The tests that run the migrate-* targets and the development database."""
    pytest_args = "tests/toolchain -k 'development_database_starts or create or force_needs'"
    before = state(canary)
    # As the runner has them: DATABASE_URL set, the checkout's own .env read (no ENV_FILE).
    result = make("test-schema", "WORKERS=0", f"PYTEST_ARGS={pytest_args}", cwd=checkout,
                  DATABASE_URL=canary, ENV_FILE=None)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    have = state(canary)
    assert pg_catalog.diff(before[0], have[0]) == [], "the gate changed the canary's catalog"
    assert have[1:] == before[1:], f"schema_migrations: want {before[1:]}, have {have[1:]}"


@pytest.fixture(scope="module")
def unmodified_copy(migrations_dir, tmp_path_factory):
    copy = tmp_path_factory.mktemp("copy") / "migrations"
    shutil.copytree(migrations_dir, copy)
    return copy


@pytest.mark.parametrize("given", ["on the command line", "in the environment"])
def test_the_schema_suite_on_an_unmodified_copy_passes(unmodified_copy, given):
    """`make test-schema MIGRATIONS_DIR=<copy>` and `MIGRATIONS_DIR=<copy> make test-schema`:
    the lint rules' tests, which run `make lint-sql` on broken copies of their own."""
    selection = "PYTEST_ARGS=tests/lint/rules/test_gate.py"
    if given == "on the command line":
        result = make("test-schema", "WORKERS=0", selection, f"MIGRATIONS_DIR={unmodified_copy}")
    else:
        result = make("test-schema", "WORKERS=0", selection, MIGRATIONS_DIR=unmodified_copy)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
