-- User-defined types (enums, domains, composites, ranges), not row types of tables.
SELECT
    n.nspname AS schema,
    t.typname AS name,
    t.typtype AS kind,
    pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type,
    ARRAY(
        SELECT e.enumlabel FROM pg_catalog.pg_enum AS e
        WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
    ) AS labels,
    pg_catalog.obj_description(t.oid, 'pg_type') AS comment
FROM pg_catalog.pg_type AS t
INNER JOIN pg_catalog.pg_namespace AS n ON t.typnamespace = n.oid
LEFT JOIN pg_catalog.pg_class AS c ON t.typrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
    AND (t.typrelid = 0 OR c.relkind = 'c')
    AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_type'::regclass
            AND d.objid = t.oid
            AND d.deptype = 'e'
    )
ORDER BY n.nspname, t.typname;
