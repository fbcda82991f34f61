"""docs/bad-inputs.md cites tests that exist, and every bad-input test is cited there.

The doc lists each bad input the toolchain handles with the test that proves it
(``tests/...py::test_name``, a parametrised case as ``tests/...py::test_name[id]``; the
plugin's built-in checks as ``src/ironarchive_schema/plugin/builtins/...py::test_name``). A
renamed or deleted test must not leave the doc citing nothing, and a new test of a bad input
in the files below must be documented. No server: the files are read as text.
"""

import re

import pytest

from ironarchive_schema.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "bad-inputs.md"
#: What the doc cites: a test file under tests/ (or a built-in check's module under src/),
#: then the test function (its case, if any, follows in brackets and is not checked).
CITATION = re.compile(
    r"\b((?:tests|src/ironarchive_schema/plugin/builtins)/[\w/]+\.py)::(\w+)")
#: Files whose every test is a bad input or a fault: each must be cited.
COVERED = ["tests/toolchain/test_errors.py", "tests/toolchain/test_make.py",
           "tests/toolchain/test_dirty.py", "tests/toolchain/test_passwords.py",
           "tests/toolchain/test_devdb.py"]


def citations() -> set[tuple[str, str]]:
    return set(CITATION.findall(DOC.read_text(encoding="utf-8")))


def functions_of(path: str) -> set[str]:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    return set(re.findall(r"^(?:async )?def (test_\w+)\(", text, re.MULTILINE))


def test_the_doc_cites_tests():
    assert len(citations()) > 50, f"{DOC} cites almost no tests: is the format still file::name?"


def test_every_cited_test_exists():
    missing = []
    for path, name in sorted(citations()):
        file = REPO_ROOT / path
        if not file.is_file():
            missing.append(f"{path}::{name}: no such file")
        elif not re.search(rf"^\s*(?:async )?def {name}\(", file.read_text(encoding="utf-8"),
                           re.MULTILINE):
            missing.append(f"{path}::{name}: no def {name} in {path}")
    assert missing == [], "docs/bad-inputs.md cites tests that are gone " \
                          "(renamed or deleted?):\n" + "\n".join(missing)


@pytest.mark.parametrize("path", COVERED)
def test_every_bad_input_test_is_documented(path):
    cited = {name for file, name in citations() if file == path}
    undocumented = sorted(functions_of(path) - cited)
    assert undocumented == [], (
        f"{path} has tests docs/bad-inputs.md does not cite: add a row for each "
        f"(the command, the one-line message, the test): {', '.join(undocumented)}")
