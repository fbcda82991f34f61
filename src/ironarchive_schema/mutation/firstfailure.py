"""A pytest plugin for the runner's inner runs: writes the node id of the first failing
test to the file named by ``--first-failure-file``. The summary line pytest prints cannot
be parsed back when a parameter id holds spaces."""

import os


def pytest_addoption(parser):
    parser.addoption("--first-failure-file", help="write the first failing test's id here")


def pytest_configure(config):
    path = config.getoption("first_failure_file")
    if path:
        config.pluginmanager.register(FirstFailure(path), "first-failure")


class FirstFailure:
    def __init__(self, path: str):
        self.path = path

    def pytest_runtest_logreport(self, report):
        if report.failed and not os.path.exists(self.path):
            with open(self.path, "w") as out:
                out.write(report.nodeid)
