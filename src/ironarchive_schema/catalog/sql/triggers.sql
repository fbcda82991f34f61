-- User triggers (not the internal ones behind foreign keys).
SELECT
    n.nspname AS schema,
    c.relname AS table,
    t.tgname AS name,
    CASE
        WHEN (t.tgtype & 2) <> 0 THEN 'BEFORE'
        WHEN (t.tgtype & 64) <> 0 THEN 'INSTEAD OF'
        ELSE 'AFTER'
    END AS timing,
    ARRAY_REMOVE(ARRAY[
        CASE WHEN (t.tgtype & 4) <> 0 THEN 'INSERT' END,
        CASE WHEN (t.tgtype & 16) <> 0 THEN 'UPDATE' END,
        CASE WHEN (t.tgtype & 8) <> 0 THEN 'DELETE' END,
        CASE WHEN (t.tgtype & 32) <> 0 THEN 'TRUNCATE' END
    ], NULL) AS events,
    -- UPDATE OF's columns, in the order written.
    ARRAY(
        SELECT a.attname::TEXT
        FROM UNNEST(t.tgattr::INT2 []) WITH ORDINALITY AS k (attnum, position)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON t.tgrelid = a.attrelid AND k.attnum = a.attnum
        ORDER BY k.position
    ) AS columns,
    CASE WHEN (t.tgtype & 1) <> 0 THEN 'ROW' ELSE 'STATEMENT' END AS level,
    pn.nspname AS function_schema,
    p.proname AS function,
    -- The function's arguments: tgargs holds each one NUL-terminated.
    CASE
        WHEN t.tgnargs = 0 THEN '{}'::TEXT []
        ELSE STRING_TO_ARRAY(LEFT(ENCODE(t.tgargs, 'escape'), -4), '\000')
    END AS arguments,
    t.tgenabled AS enabled,
    CASE
        WHEN t.tgconstraint = 0 THEN NULL
        WHEN t.tginitdeferred THEN 'DEFERRABLE INITIALLY DEFERRED'
        WHEN t.tgdeferrable THEN 'DEFERRABLE INITIALLY IMMEDIATE'
        ELSE 'NOT DEFERRABLE'
    END AS constraint_timing,
    pg_catalog.pg_get_triggerdef(t.oid, true) AS definition,
    pg_catalog.obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_catalog.pg_trigger AS t
INNER JOIN pg_catalog.pg_class AS c ON t.tgrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_catalog.pg_proc AS p ON t.tgfoid = p.oid
INNER JOIN pg_catalog.pg_namespace AS pn ON p.pronamespace = pn.oid
WHERE NOT t.tgisinternal
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname, t.tgname;
