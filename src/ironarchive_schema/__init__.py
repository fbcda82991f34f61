"""IronArchive schema tooling: PostgreSQL servers, the pinned golang-migrate, catalog reading.

Library code only: nothing here imports pytest. The test suite's fixtures in
``tests/conftest.py`` are a thin layer over these modules.
"""
