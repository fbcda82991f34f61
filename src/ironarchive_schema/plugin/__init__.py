"""The pytest plugin: golang-migrate migrations on real PostgreSQL, for any project.

Registered through the ``pytest11`` entry point ``ironarchive_schema``, so installing the
package is enough. One server per run and one template database migrated with the real
migrate, both made by the controlling process (the xdist controller, or the only process)
and handed to workers as plain data; tests get copies (:mod:`.fixtures`). The settings are
flags paired with ini options (:mod:`.options`), resolved once.
"""

pytest_plugins = ["ironarchive_schema.plugin.session", "ironarchive_schema.plugin.fixtures"]
