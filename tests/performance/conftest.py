"""One small, realistic data set per xdist worker for the plan tests.

The benchmark's generator (bench/data.py) at 1 % of the default scale: 20,000 e-mails in
100 mailboxes (Zipf-skewed), about 10,000 attachments, 10,000 audit rows, 1,000 jobs.
Loaded with COPY at the version the benchmark loads at (bench/data.py's LOAD_AT, before the
audit chain: the audit rows keep their generated times), migrated up with the real migrate,
then VACUUM ANALYZE, so the planner sees statistics and visibility as in production. A few
seconds per worker.
"""

import pytest

from bench import data
from ironarchive_schema.postgres import admin

SCALE = 0.01


@pytest.fixture(scope="session")
def plan_db_url(admin_url, migrate_on):
    with admin.temporary(admin_url, "plans") as url:
        migrate = migrate_on(url)
        migrate.goto(data.LOAD_AT)
        with admin.connect(url) as conn:
            data.load(conn, data.Sizes.at(SCALE))
        migrate.up()
        with admin.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
        yield url


@pytest.fixture(scope="session")
def plan_conn(plan_db_url):
    """A connection to the data set; every plan is looked at in a rolled-back transaction."""
    with admin.connect(plan_db_url) as conn:
        yield conn
