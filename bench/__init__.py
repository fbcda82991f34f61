"""The scale benchmark of the IronArchive schema (issue 7): ``make bench``.

Library-style modules, no pytest inside: ``data`` (rows and COPY), ``queries`` (the query
catalogue, shared with the plan tests), ``plans`` (EXPLAIN and what is wrong with a
plan), ``ingest``, ``app_ingest`` and ``latency`` (measurements), ``isolation`` (row-level
security on against off), ``indexsets`` (before/after), ``facts``, ``report`` and ``plot``
(docs/benchmarks.md and .png), ``run`` (the command).
"""


class MeasurementError(Exception):
    """The run would measure something other than what it reports: it stops, saying why."""
