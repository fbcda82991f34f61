"""The archive's queries are served by their intended indexes: no full scan, no sort.

The queries are the benchmark's catalogue (bench/queries.py), so what the gate checks is
what ``make bench`` measures. Each is planned for its probe parameters, the values most
likely to lead the planner astray (the largest mailbox, its most frequent sender, the
busiest user), as a custom plan; and, where the application prepares the statement, as
the generic plan PostgreSQL's plan cache switches to after five executions.

A failure names the query and the plan mode and shows the plan seen: dropping or
reshaping one of the indexes (try a scratch copy with ``--migrations-dir``) makes it fail.
"""

import pytest

from bench import plans
from bench.queries import QUERIES

CASES = [
    pytest.param(query, mode, id=f"plan:{query.name}-{mode}")
    for query in QUERIES if query.plan_test
    for mode in (("custom", "generic") if query.prepared else ("custom",))
]


@pytest.mark.parametrize(("query", "mode"), CASES)
def test_query_is_served_by_its_index(plan_conn, query, mode):
    params = plans.fetch_params(plan_conn, query.probe)[0]
    plan = plans.plan_json(plan_conn, query, params, mode)
    problems = plans.problems(query, plan)
    assert not problems, (
        f"{query.name} ({query.title}), {mode} plan for {params}: {'; '.join(problems)}\n"
        f"  want: {query.index}, no Seq Scan on {', '.join(plans.LARGE_TABLES)}, no Sort\n"
        f"  have: {plans.outline(plan)}")
