-- Tables, views, sequences and the like in user schemas, not owned by an extension.
SELECT
    n.nspname AS schema,
    c.relname AS name,
    c.relkind AS kind,
    c.relrowsecurity AS row_security,
    c.relforcerowsecurity AS force_row_security,
    pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
    pg_catalog.pg_get_userbyid(c.relowner) AS owner,
    -- The owner's default privileges spelt out (what REVOKE leaves behind) are no
    -- privileges granted: the same as NULL.
    nullif(
        c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
    )::text [] AS acl
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_class'::regclass
            AND d.objid = c.oid
            AND d.deptype = 'e'
    )
ORDER BY n.nspname, c.relname;
