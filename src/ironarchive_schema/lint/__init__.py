"""The SQL gate on a migrations folder, as library code (tests/lint/ runs it under pytest).

- ``sqlfluff_check``: style, with the repository's ``.sqlfluff``;
- ``squawk_check``: safety on a busy production database, with ``.squawk.toml``;
- ``layout``: the folder's rules (pairs, versions, names, what a file may contain);
- ``lock``: the checksum lock of released migrations (``migrations.lock``);
- ``plpgsql_check``: plpgsql_check on a migrated database's PL/pgSQL functions, and the
  project's exceptions to it (``plpgsql_check.yaml``).

Every check of the files returns ``Finding`` objects: file, line, tool, rule and message;
plpgsql_check's findings name the function, the table and the line instead.
"""
