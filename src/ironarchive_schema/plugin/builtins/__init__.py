"""The built-in checks: modules of ordinary tests on the plugin's fixtures, which any
golang-migrate project switches on or off by ``BUILTIN_CHECKS`` (``plugin.collection``).

- ``contract``: the migrated catalog is exactly what the contract declares, both ways;
- ``invariants``: the rules every schema keeps (:mod:`catalog.invariants`), one test each;
- ``plpgsql_check``: every PL/pgSQL function passes plpgsql_check, or its findings are
  accepted with their reasons (:mod:`lint.plpgsql_check`), one test per function;
- ``lifecycle``: every migration up, down and up again through the real migrate;
- ``faults``: a migration failing part way, a killed migrate, two at once, a migrate
  blocked on its lock, and the recovery of each;
- ``roles``: up, down and up as a database owner without superuser;
- ``lock_profile``: each file locks and rewrites what the reviewed lock profile states;
- ``blocker``: a file, up or down, behind an idle writer gives up in its lock_timeout,
  leaving nothing;
- ``docs``: the generated data dictionary is current;
- ``lint`` and ``lock`` (marker ``lint``, no server): the folder's rules, sqlfluff and
  squawk with the project's configs, and the checksum lock of released migrations;
- ``mutation`` (marker ``mutation``): one mutant of each operator, killed by the suites.
"""
