"""The SQL gate on a migrations folder, as library code (tests/lint/ runs it under pytest).

- ``sqlfluff_check``: style, with the repository's ``.sqlfluff``;
- ``squawk_check``: safety on a busy production database, with ``.squawk.toml``;
- ``layout``: the folder's rules (pairs, versions, names, what a file may contain);
- ``lock``: the checksum lock of released migrations (``migrations.lock``).

Every check returns ``Finding`` objects: file, line, tool, rule and message.
"""
