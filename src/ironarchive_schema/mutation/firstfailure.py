"""A pytest plugin for the runner's inner runs: writes the node id of the first failing
test to the file named by ``MUTATION_FIRST_FAILURE``. The summary line pytest prints cannot
be parsed back when a parameter id holds spaces."""

import os

from ironarchive_schema import settings


def pytest_runtest_logreport(report):
    path = settings.active().get("MUTATION_FIRST_FAILURE")
    if report.failed and path and not os.path.exists(path):
        with open(path, "w") as out:
            out.write(report.nodeid)
