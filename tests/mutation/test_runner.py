"""How the runner reaches a verdict from its pytest runs: the known killer alone first, then
the suites. The pytest runs are stood in for here; the built-in mutation sample runs real
ones."""

from pathlib import Path

import pytest

from ironarchive_schema.mutation.mutant import Mutant
from ironarchive_schema.mutation.runner import DOWN_TESTS, Runner

MUTANT = Mutant(id="drop_index:idx_x", operator="drop_index", target="idx_x", sql="DROP INDEX x;")
SUITES = ("tests/conftest.py", "tests/behaviour")
KILLER = "tests/conftest.py::contract::test_declared_object_exists_as_stated[index:idx_x]"
LIFECYCLE = "tests/conftest.py::lifecycle::test_down_undoes_up_one_version_at_a_time[v000001]"
OTHER = "tests/behaviour/test_cascades.py::test_deleting_the_parent_removes_or_keeps_the_child"


def runner_whose_runs_end(gate_settings, tmp_path: Path, monkeypatch, known: dict,
                          outcomes: dict, suites: tuple[str, ...] = SUITES):
    """A runner on a one-migration folder whose pytest runs end as ``outcomes`` says, by
    what they were asked to run; and the list of the runs it was asked for."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "000001_x.up.sql").write_text("CREATE INDEX x ON t (c);\n")
    (migrations / "000001_x.down.sql").write_text("a\nb\nc\nd\n")
    (tmp_path / "work").mkdir()
    config = gate_settings.with_values("the test", MUTATION_SUITES=" ".join(suites))
    runner = Runner(config, "postgresql://unused", migrations, tmp_path / "work",
                    reference=({}, None), killers=known)
    asked = []
    monkeypatch.setattr(runner, "_migrated_state", lambda folder: ({"changed": True}, None))

    def run(folder, tests):
        asked.append(tests)
        return outcomes[tests]
    monkeypatch.setattr(runner, "_pytest", run)
    return runner, asked


def test_a_known_killer_that_still_kills_is_the_only_run(gate_settings, tmp_path, monkeypatch):
    runner, asked = runner_whose_runs_end(gate_settings, tmp_path, monkeypatch, {MUTANT.id: KILLER},
                                          {(KILLER,): (1, "1 failed", KILLER)})
    result = runner.run(MUTANT)
    assert (result.outcome, result.killed_by, asked) == ("killed", KILLER, [(KILLER,)])


@pytest.mark.parametrize("first_run", [
    pytest.param((4, "ERROR: not found", None), id="renamed"),
    pytest.param((0, "1 passed", None), id="no-longer-kills"),
])
@pytest.mark.parametrize(("suites_run", "want"), [
    pytest.param((1, "1 failed", OTHER), ("killed", OTHER), id="suites-kill"),
    pytest.param((0, "625 passed", None), ("survived", None), id="suites-pass"),
])
def test_a_stale_known_killer_leaves_the_verdict_to_the_suites(gate_settings, tmp_path, monkeypatch,
                                                                first_run, suites_run, want):
    runner, asked = runner_whose_runs_end(gate_settings, tmp_path, monkeypatch, {MUTANT.id: KILLER},
                                          {(KILLER,): first_run, SUITES: suites_run})
    result = runner.run(MUTANT)
    assert (result.outcome, result.killed_by) == want
    assert asked == [(KILLER,), SUITES]


def test_a_killer_outside_the_suites_is_not_trusted(gate_settings, tmp_path, monkeypatch):
    elsewhere = "tests/lint/test_folder.py::test_anything"  # in no suite
    runner, asked = runner_whose_runs_end(gate_settings, tmp_path, monkeypatch,
                                          {MUTANT.id: elsewhere},
                                          {SUITES: (1, "1 failed", OTHER)})
    assert runner.run(MUTANT).killed_by == OTHER
    assert asked == [SUITES]


def test_a_down_file_mutant_without_a_killer_meets_the_lifecycle_tests_first(
        gate_settings, tmp_path, monkeypatch):
    down = Mutant(id="remove_down_statement:x#3", operator="remove_down_statement",
                  target="x", down_file="000001_x.down.sql", first_line=3, end_line=4)
    runner, asked = runner_whose_runs_end(gate_settings, tmp_path, monkeypatch, {},
                                          {(*DOWN_TESTS, *SUITES): (1, "1 failed", LIFECYCLE)})
    assert runner.run(down).killed_by == LIFECYCLE
    assert asked == [(*DOWN_TESTS, *SUITES)]


def test_without_suites_a_mutant_runs_through_the_testpaths(gate_settings, tmp_path,
                                                            monkeypatch):
    runner, asked = runner_whose_runs_end(gate_settings, tmp_path, monkeypatch, {},
                                          {(): (1, "1 failed", OTHER)}, suites=())
    assert runner.run(MUTANT).killed_by == OTHER
    assert asked == [()]
