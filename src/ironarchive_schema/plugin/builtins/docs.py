"""The generated data dictionary (``docs/schema.md``, ``make schema-docs``) is what the
catalog of the migrated database says today."""

from ironarchive_schema.catalog import schema_docs
from ironarchive_schema.plugin.failure import GateFailure


def test_schema_docs_are_current(catalog_as_contract, gate_settings):
    want = schema_docs.generate(catalog_as_contract)
    path = gate_settings.root / schema_docs.DOCS_PATH
    have = path.read_text() if path.exists() else ""
    if have != want:
        have_lines, want_lines = have.splitlines(), want.splitlines()
        line = next((n for n, (h, w) in enumerate(zip(have_lines, want_lines, strict=False), 1)
                     if h != w), min(len(have_lines), len(want_lines)) + 1)
        raise GateFailure(f"{path} is stale: first difference at line {line}", [
            ("Catalog", _line(want_lines, line)), ("File", _line(have_lines, line)),
            ("Fix", "make schema-docs")])


def _line(lines: list[str], number: int) -> str:
    if number > len(lines):
        return "(end of file)"
    return lines[number - 1] or "(empty line)"
