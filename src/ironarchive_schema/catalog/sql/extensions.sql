-- Installed extensions, except plpgsql which every database has.
SELECT
    e.extname AS name,
    e.extversion AS version,
    -- Not "schema": extension names are database-wide, so the schema is a fact, not a key.
    n.nspname AS installed_in
FROM pg_catalog.pg_extension AS e
INNER JOIN pg_catalog.pg_namespace AS n ON e.extnamespace = n.oid
WHERE e.extname <> 'plpgsql'
ORDER BY e.extname;
