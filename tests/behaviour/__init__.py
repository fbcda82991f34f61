"""What the database does: triggers, cascades, constraints, secrets, and migrations run
through the real migrate (lifecycle).

A package, so its modules (``behaviour.test_lifecycle``) never clash by name with the other
test folders' and its helpers (``rows``, ``strategies``, ``outcomes``) can be
imported by the tests.
"""
