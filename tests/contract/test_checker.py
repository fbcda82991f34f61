"""The catalog written as a contract reads back the same tree (on the real database).

The checks' own tests, on a sample contract, are in tests/engine/test_contract_checker.py.
"""

from ironarchive_schema.contract.checks import same
from ironarchive_schema.contract.diff import render
from ironarchive_schema.contract.layout import STATEMENTS
from ironarchive_schema.contract.load import load_text


def test_the_whole_database_written_as_a_contract_reads_back_the_same(catalog_as_contract):
    read_back = load_text(render(catalog_as_contract))
    # People's statements are no catalog fact: the catalog's contract reads back without any.
    statements = {key: read_back.pop(key) for key in STATEMENTS}
    assert statements == dict.fromkeys(STATEMENTS, {})
    assert same(read_back, catalog_as_contract)
