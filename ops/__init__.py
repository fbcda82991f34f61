"""IronArchive's own commands against a real database (``make audit-verify``), beside the
engine's (``src/ironarchive_schema``), which knows nothing of e-mail archives."""
