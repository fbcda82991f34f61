"""IronArchive's own settings for the schema gate (the plugin, ``ironarchive_schema.plugin``,
brings the server, the template and the fixtures).

Hypothesis profiles, registered here, before Hypothesis reads ``--hypothesis-profile``; the
plugin loads the one ``HYPOTHESIS_PROFILE`` or the ini option names, default ``dev`` (also on
CI servers, where Hypothesis would otherwise pick its own ``ci``):
``dev`` is quick and random, for the edit-test loop and the gate; ``ci`` tries five times the
examples, derandomized (the same examples every run, so a failure reproduces) and without
the local example database, like Hypothesis's own ``ci`` profile; ``thorough`` tries 10,000
examples of each property, random, for a long run before a release (the non-interference
property alone takes about a quarter of an hour here). Neither has a deadline:
an example's time is a database round trip on a shared machine, not something the
properties are about.
"""

from pathlib import Path

from hypothesis import settings

import commands
from ironarchive_schema.plugin.options import gate_settings

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True,
                          derandomize=True, database=None)
settings.register_profile("thorough", max_examples=10_000, deadline=None, print_blob=True,
                          database=None)
settings.load_profile("dev")


def pytest_configure(config):
    # The commands tests run (make, the CLI) get the suite's binaries from the run's settings.
    commands.configure(gate_settings(config))


#: The part of the gate each folder's tests belong to, as a marker: make and tox select the
#: parts by marker (the longest matching folder wins). Unlisted folders are the schema's own;
#: the plugin marks its built-in checks itself (``builtin``, and ``lint`` for lint and lock).
FOLDER_MARKERS = {
    "toolchain": "toolchain",
    "lint": "toolchain",  # the tests of the lint rules; the checks are the plugin's built-ins
    "mutation": "mutation",
    "engine": "toolchain",  # the plugin in another project (examples/minimal)
}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        folder = item.path.parent.relative_to(TESTS).as_posix()
        part = max((prefix for prefix in FOLDER_MARKERS
                    if folder == prefix or folder.startswith(prefix + "/")), key=len, default=None)
        if part:
            item.add_marker(FOLDER_MARKERS[part])
