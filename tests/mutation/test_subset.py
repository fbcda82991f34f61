"""The gate's sample of mutation testing: for every operator, the first mutant that is not
known to be equivalent is applied to a copy of the migrations under test and must be killed
by the contract and behaviour suites (``make mutation`` runs every mutant)."""

import pytest

from ironarchive_schema.mutation import killers
from ironarchive_schema.mutation.derive import OPERATOR_NAMES, derive
from ironarchive_schema.mutation.report import equivalent
from ironarchive_schema.mutation.runner import Runner, state
from ironarchive_schema.mutation.sample import subset
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin

OPERATORS = sorted(OPERATOR_NAMES)


@pytest.fixture(scope="session")
def derived(migrations_dir, worker_db_url) -> list:
    with admin.connect(worker_db_url) as conn:
        return derive(conn, migrations_dir)


@pytest.fixture(scope="session")
def sample(gate_settings, derived) -> dict:
    return {m.operator: m for m in subset(derived, equivalent(gate_settings.mutation_dir))}


@pytest.fixture(scope="session")
def runner(gate_settings, migrations_dir, admin_url, worker_db_url, tmp_path_factory) -> Runner:
    return Runner(gate_settings, admin_url, migrations_dir, REPO_ROOT,
                  tmp_path_factory.mktemp("mutants"), state(worker_db_url),
                  killers.known(gate_settings.mutation_dir))


@pytest.mark.parametrize("operator", OPERATORS)
def test_the_suite_kills_a_mutant_of_each_operator(operator, sample, runner):
    if operator not in sample:
        pytest.skip(f"these migrations have nothing for {operator} to break")
    result = runner.run(sample[operator])
    assert result.outcome == "killed", (
        f"mutant {result.mutant.id}: want killed, have {result.outcome} {result.detail}\n"
        f"appended to the newest up file: {result.mutant.sql}")


def test_every_operator_of_the_run_is_in_the_sample(derived):
    missing = {m.operator for m in derived} - set(OPERATORS)
    assert not missing, f"operators the sample misses: {missing}"

