"""The test that killed each mutant in the last full run, kept in ``killers.json`` (written
by ``make mutation``, read by every run). The runner tries that test alone before the
suites: a mutant then dies at its first test instead of after every test ordered before
it. A stale entry (a renamed test, a test that no longer kills it) costs one short pytest
start, because the suites still run in full when the known killer passes.
"""

import json
from importlib import resources
from pathlib import Path

from ironarchive_schema.mutation.runner import Result

FILE = "killers.json"


def known() -> dict[str, str]:
    """Mutant id -> node id of the test that killed it last time."""
    source = resources.files(__package__).joinpath(FILE)
    return json.loads(source.read_text()) if source.is_file() else {}


def write(results: list[Result]) -> Path:
    """Replace the file, beside this module in the source tree, with the run's kills."""
    path = Path(__file__).with_name(FILE)
    kills = {r.mutant.id: r.killed_by for r in results if r.outcome == "killed"}
    path.write_text(json.dumps(dict(sorted(kills.items())), indent=0, ensure_ascii=False) + "\n")
    return path
