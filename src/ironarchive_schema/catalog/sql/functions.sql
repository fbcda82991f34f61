-- Functions and procedures in user schemas, not owned by an extension.
SELECT
    n.nspname AS schema,
    p.proname AS name,
    pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments,
    pg_catalog.pg_get_function_result(p.oid) AS returns,
    l.lanname AS language,
    p.prokind AS kind,
    p.provolatile AS volatility,
    p.proparallel AS parallel,
    p.proisstrict AS strict,
    p.prosecdef AS security_definer,
    p.proconfig AS config,
    md5(p.prosrc) AS source_md5,
    pg_catalog.pg_get_userbyid(p.proowner) AS owner,
    pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
FROM pg_catalog.pg_proc AS p
INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
INNER JOIN pg_catalog.pg_language AS l ON p.prolang = l.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass
            AND d.objid = p.oid
            AND d.deptype = 'e'
    )
ORDER BY n.nspname, p.proname, 3;
