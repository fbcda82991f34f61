"""The gate's sample of mutation testing: for every operator, the first mutant that is not
known to be equivalent (``equivalent.yaml`` under ``MUTATION_DIR``) is applied to a copy of
the migrations under test and must be killed by the project's suites (``mutation_suites``,
each mutant in a pytest run of its own). ``python -m ironarchive_schema.mutation`` runs
every mutant. Marked ``mutation``: the inner runs leave it out, and so may a quick run.
"""

import pytest

from ironarchive_schema.mutation import killers
from ironarchive_schema.mutation.derive import OPERATOR_NAMES, derive
from ironarchive_schema.mutation.report import equivalent
from ironarchive_schema.mutation.runner import Runner, state
from ironarchive_schema.mutation.sample import subset
from ironarchive_schema.plugin.failure import GateFailure
from ironarchive_schema.postgres import admin

pytestmark = pytest.mark.mutation
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
    return Runner(gate_settings, admin_url, migrations_dir, tmp_path_factory.mktemp("mutants"),
                  state(worker_db_url), killers.known(gate_settings.mutation_dir))


@pytest.mark.parametrize("operator", OPERATORS)
def test_the_suite_kills_a_mutant_of_each_operator(operator, sample, runner):
    if operator not in sample:
        pytest.skip(f"these migrations have nothing for {operator} to break")
    result = runner.run(sample[operator])
    if result.outcome != "killed":
        change = (f"appended to the newest up file:\n{result.mutant.sql}" if result.mutant.sql
                  else f"{result.mutant.down_file} loses lines {result.mutant.first_line}"
                       f" to {result.mutant.end_line - 1}")
        raise GateFailure(f"mutant {result.mutant.id}: want killed, have {result.outcome}", [
            ("Mutant", change), ("Detail", result.detail),
            ("Fix", "kill it with a test, or explain in equivalent.yaml why it is equivalent")])


def test_every_operator_of_the_run_is_in_the_sample(derived):
    missing = {m.operator for m in derived} - set(OPERATORS)
    if missing:
        raise GateFailure(f"operators the sample misses: {', '.join(sorted(missing))}")

