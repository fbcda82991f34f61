"""Mutation testing of the schema suite: break the migrated schema on purpose, one way at a
time, and check that the contract and behaviour suites notice.

``operators`` derives mutants from the catalog of a migrated database (so new migrations
get mutants without code changes) and ``downfiles`` from the statements of the down files,
both gathered by ``derive``; ``workspace`` writes each mutant as a copy of the migrations
folder; ``runner`` applies and tests the copies on one shared PostgreSQL server;
``report`` prints the table and writes ``docs/mutation.md``; ``killers`` keeps the test
that killed each mutant, tried first by the next run; ``sample`` picks the gate's fixed
subset; ``fingerprint`` notices a working tree that changed during a run.
``__main__`` is ``make mutation``.
"""
