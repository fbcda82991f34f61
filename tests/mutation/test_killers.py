"""The killers of a whole run are kept for the next (``mutation/killers.json``)."""

from ironarchive_schema.mutation import killers
from ironarchive_schema.mutation.mutant import Mutant
from ironarchive_schema.mutation.runner import Result


def result(mutant_id: str, outcome: str, killed_by: str | None = None) -> Result:
    mutant = Mutant(id=mutant_id, operator=mutant_id.split(":")[0], target="x")
    return Result(mutant, outcome, killed_by, seconds=1.0)


def test_a_first_run_makes_the_folder_and_keeps_only_the_kills(tmp_path):
    folder = tmp_path / "mutation"  # a project that never ran mutation testing
    written = killers.write([result("drop_index:b", "killed", "t.py::b"),
                             result("drop_index:a", "killed", "t.py::a"),
                             result("drop_check:c", "survived")], folder)
    assert written == folder / "killers.json"
    assert killers.known(folder) == {"drop_index:a": "t.py::a", "drop_index:b": "t.py::b"}


def test_no_file_means_no_known_killers(tmp_path):
    assert killers.known(tmp_path / "mutation") == {}
