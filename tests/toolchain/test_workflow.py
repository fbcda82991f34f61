"""The CI workflow for users' repositories (.github/workflows/schema.yml).

actionlint (pinned in tools/actionlint/go.mod) checks its syntax, expressions and the inputs
of the actions it uses; the tests below check what actionlint cannot know: that it runs
this project's gate on every pinned PostgreSQL major, with pinned actions and caches that
change when the pins change.
"""

import re
import subprocess

import pytest
import yaml

from ironarchive_schema.paths import BIN_DIR, REPO_ROOT
from ironarchive_schema.postgres import pinned_builds

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
SCHEMA = WORKFLOWS / "schema.yml"


@pytest.fixture(scope="session")
def actionlint() -> str:
    """The pinned actionlint binary, built by `make actionlint-bin` on first use."""
    built = subprocess.run(["make", "--no-print-directory", "actionlint-bin"], cwd=REPO_ROOT,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"make actionlint-bin failed:\n{built.stderr}"
    version = re.search(r"rhysd/actionlint (v\S+)",
                        (REPO_ROOT / "tools" / "actionlint" / "go.mod").read_text()).group(1)
    return str(BIN_DIR / f"actionlint-{version}")


def lint(actionlint: str, workflow) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint, "-no-color", str(workflow)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def schema_jobs() -> dict:
    return yaml.safe_load(SCHEMA.read_text())["jobs"]


def steps(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(f"{action}@")]


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.y*ml")), ids=lambda p: p.name)
def test_workflow_passes_actionlint(actionlint, workflow):
    result = lint(actionlint, workflow)
    assert result.returncode == 0, f"actionlint {workflow.name}:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(SCHEMA.read_text().replace("timeout-minutes:", "timeout-minute:", 1))
    result = lint(actionlint, broken)
    assert result.returncode == 1
    assert 'unexpected key "timeout-minute"' in result.stdout


def test_matrix_is_every_pinned_major(schema_jobs):
    assert schema_jobs["schema"]["strategy"]["matrix"]["postgres"] == list(pinned_builds.pins())
    assert schema_jobs["schema"]["strategy"]["fail-fast"] is False, "every major reports"


def test_every_action_is_pinned_to_a_commit(schema_jobs):
    uses = [step["uses"] for job in schema_jobs.values() for step in job["steps"]
            if "uses" in step]
    assert uses
    assert [use for use in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use)] == []


def test_caches_change_when_their_pins_change(schema_jobs):
    job = schema_jobs["schema"]
    (postgres,) = [s["with"] for s in steps(job, "actions/cache") if s["with"]["path"] ==
                   ".tools/postgres"]
    assert "hashFiles('tools/postgres/versions.toml')" in postgres["key"]
    assert "matrix.postgres" in postgres["key"]
    (go,) = [s["with"] for s in steps(job, "actions/setup-go")]
    assert go["cache"] is True
    assert set(go["cache-dependency-path"].split()) == {"tools/migrate/go.sum",
                                                        "tools/actionlint/go.sum"}


def test_the_gate_runs_through_make_and_keeps_junit_xml_per_major(schema_jobs):
    job = schema_jobs["schema"]
    assert job["env"]["PG_VERSION"] == "${{ matrix.postgres }}"
    (run,) = [step["run"] for step in job["steps"] if "run" in step]
    assert run.startswith("make test-schema "), "make builds the pinned migrate first"
    report = re.search(r"--junitxml=(\S+?)\"", run).group(1)
    (upload,) = [s for s in steps(job, "actions/upload-artifact")]
    assert upload["with"]["path"] == report.replace("${PG_VERSION}", "${{ matrix.postgres }}")
    assert upload["if"] == "${{ !cancelled() }}", "a failed run's report is kept too"
