"""The rehearsal in the gate (issue 17): every migration applied by the real migrate to the
archive at the gate's small size while the application's workload runs, judged by
rehearsal.budgets.yaml; and the examples of examples.py, each judged by what it does to the
archive, whether or not the lock profile lists it."""

import pytest

from bench.archive import Archive
from ironarchive_schema.postgres import admin
from ironarchive_schema.rehearsal import budgets as budget_file
from ironarchive_schema.rehearsal.rehearse import Load, Rehearser

from .examples import DOES_NOT_APPLY, SAFE, UNSAFE, with_example

#: The gate's size: 20,000 e-mails (make rehearse's default).
SCALE = 0.01
#: Short windows: the budgets the gate checks are rows and lock waits, not latency figures.
LOAD = Load(window_s=0.5)


@pytest.fixture(scope="module")
def budgets(gate_settings):
    return budget_file.read(gate_settings.rehearsal_budgets)


@pytest.fixture(scope="module")
def loaded_template(admin_url, migrate_on, budgets):
    """A template at the newest migration with the archive loaded (once per worker)."""
    name = admin.unique_name("rehearsal")
    url = admin.create_database(admin_url, name)
    Rehearser(url, migrate_on(url), Archive(SCALE), budgets, LOAD).load_at_newest()
    admin.mark_template(admin_url, name)
    yield name
    admin.drop_database(admin_url, name)


def rehearse(url, migrate, budgets, loaded: bool = False):
    rehearser = Rehearser(url, migrate, Archive(SCALE), budgets, LOAD)
    return rehearser.run(loaded=loaded)


def test_every_migration_stays_within_its_budgets(empty_db_url, migrate_on, budgets):
    results = rehearse(empty_db_url, migrate_on(empty_db_url), budgets)
    assert [r.file for r in results] == sorted(p.name for p in
                                               migrate_on(empty_db_url).migrations_dir.glob(
                                                   "*.up.sql"))
    failed = [str(breach) for result in results for breach in result.failed]
    assert failed == [], "breaches beyond budget:\n" + "\n".join(failed)


def rehearse_example(tmp_path, migrations_dir, example, owned_database, loaded_template,
                     migrate_on, budgets):
    folder = with_example(tmp_path, migrations_dir, example)
    url = owned_database(loaded_template)
    return rehearse(url, migrate_on(url, folder), budgets, loaded=True)


@pytest.mark.parametrize("example", UNSAFE.values(), ids=UNSAFE.keys())
def test_an_unsafe_migration_is_named_by_its_statement_lock_and_relation(
        tmp_path, migrations_dir, example, owned_database, loaded_template, migrate_on,
        budgets):
    (result,) = rehearse_example(tmp_path, migrations_dir, example, owned_database,
                                 loaded_template, migrate_on, budgets)
    lines = [str(breach) for breach in result.failed]
    want = (result.file, example.statement, example.lock, example.relation)
    assert any(all(part in line for part in want) for line in lines), \
        f"want a breach naming {want}, have:\n" + "\n".join(lines or ["(none)"])


@pytest.mark.parametrize("example", SAFE.values(), ids=SAFE.keys())
def test_its_safe_rewrite_is_accepted(tmp_path, migrations_dir, example, owned_database,
                                      loaded_template, migrate_on, budgets):
    results = rehearse_example(tmp_path, migrations_dir, example, owned_database,
                               loaded_template, migrate_on, budgets)
    assert len(results) == len(example.migrations)
    failed = [str(breach) for result in results for breach in result.failed]
    assert failed == [], "a safe rewrite breached:\n" + "\n".join(failed)


def test_a_migration_the_archive_breaks_is_named_and_ends_the_rehearsal(
        tmp_path, migrations_dir, owned_database, loaded_template, migrate_on, budgets):
    results = rehearse_example(tmp_path, migrations_dir, DOES_NOT_APPLY, owned_database,
                               loaded_template, migrate_on, budgets)
    assert len(results) == 1, "nothing is rehearsed after a migration that does not apply"
    lines = [str(breach) for breach in results[0].failed]
    want = (f"{results[0].file}:3: {DOES_NOT_APPLY.statement}", "does not apply to the archive",
            "contains null values", "dirty")
    assert any(all(part in line for part in want) for line in lines), \
        f"want a breach naming {want}, have:\n" + "\n".join(lines or ["(none)"])
