"""The account of where a pytest run's time went (the ``time by part:`` line and
``RUNTIMES_FILE``), which the gate's timing in docs/benchmarks.md is made from."""

from types import SimpleNamespace

from ironarchive_schema.plugin.timing import Stopwatch, by_folder, record, table


def report(nodeid: str, duration: float) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, duration=duration)


def test_time_is_added_up_by_folder_of_tests():
    folders = by_folder([report("tests/contract/test_contract.py::test_a", 0.5),
                         report("tests/contract/test_tenant_boundary.py::test_b", 0.25),
                         report("tests/behaviour/test_cascades.py::test_c", 2.0)])
    assert folders == {"contract": 0.75, "behaviour": 2.0}


def test_the_runs_of_a_gate_add_up_with_their_shares(tmp_path):
    path = tmp_path / "runtimes"
    for seconds in (1.0, 3.0):
        watch = Stopwatch(str(path))
        watch.steps["server start"] = seconds
        record(watch, by_folder([report("tests/behaviour/test_x.py::test", seconds),
                                 report("tests/conftest.py::lint::test_y", seconds)]))
    rows = table(path.read_text().splitlines())
    assert "| tests/behaviour | 4.0 | 33 % |" in rows
    assert "| lint (built-in) | 4.0 | 33 % |" in rows, "a built-in check is no folder of tests/"
    assert "| server start | 4.0 | 33 % |" in rows
    assert rows[-1].startswith("| all of it, in 2 pytest runs")

