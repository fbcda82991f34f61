"""The test that killed each mutant in the last full run, kept in the project's
``mutation/killers.json`` (written by ``make mutation``, read by every run). The runner
tries that test alone before the suites: a mutant then dies at its first test instead of
after every test ordered before it. A stale entry (a renamed test, a test that no longer
kills it) costs one short pytest start, because the suites still run in full when the known
killer passes.
"""

import json
from pathlib import Path

from ironarchive_schema.mutation.runner import Result

FILE = "killers.json"


def known(mutation_dir: Path) -> dict[str, str]:
    """Mutant id -> node id of the test that killed it last time."""
    source = mutation_dir / FILE
    return json.loads(source.read_text()) if source.is_file() else {}


def write(results: list[Result], mutation_dir: Path) -> Path:
    """Replace the project's file with the run's kills."""
    path = mutation_dir / FILE
    kills = {r.mutant.id: r.killed_by for r in results if r.outcome == "killed"}
    path.parent.mkdir(parents=True, exist_ok=True)  # a project's first run
    path.write_text(json.dumps(dict(sorted(kills.items())), indent=0, ensure_ascii=False) + "\n")
    return path
