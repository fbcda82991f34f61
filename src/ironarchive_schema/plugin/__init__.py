"""The pytest plugin: golang-migrate migrations on real PostgreSQL, for any project.

Registered through the ``pytest11`` entry point ``ironarchive_schema``, so installing the
package is enough. One server per run and one template database migrated with the real
migrate, both made by the controlling process (the xdist controller, or the only process)
and handed to workers as plain data; tests get copies (:mod:`.fixtures`). The settings are
flags paired with ini options (:mod:`.options`), resolved once. The built-in checks
(:mod:`.builtins`) are collected under one file of the project (:mod:`.collection`), and
fail with :class:`.failure.GateFailure`: one line naming the object, then titled blocks.
"""

pytest_plugins = [
    "ironarchive_schema.plugin.session",
    "ironarchive_schema.plugin.fixtures",
    "ironarchive_schema.plugin.collection",
    "ironarchive_schema.plugin.failure",
]
