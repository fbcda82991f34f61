"""The built-in checks: modules of ordinary tests on the plugin's fixtures, which any
golang-migrate project switches on or off by ``BUILTIN_CHECKS`` (``plugin.collection``).

- ``contract``: the migrated catalog is exactly what the contract declares, both ways;
- ``lifecycle``: every migration up, down and up again through the real migrate;
- ``docs``: the generated data dictionary is current;
- ``lint`` and ``lock`` (marker ``lint``, no server): the folder's rules, sqlfluff and
  squawk with the project's configs, and the checksum lock of released migrations.
"""
