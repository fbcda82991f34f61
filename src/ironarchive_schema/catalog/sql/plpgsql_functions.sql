-- Every PL/pgSQL function of schema public not owned by an extension, keyed as the catalog
-- snapshot keys functions (name and identity arguments), with its source (plpgsql_check's
-- line numbers count its lines) and, for a trigger function, each table its triggers are
-- on with their transition tables (plpgsql_check checks NEW, OLD and those against it).
SELECT
    format('%s(%s)', p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS key,
    p.oid::pg_catalog.int8 AS oid,
    p.prosrc AS source,
    p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype AS is_trigger,
    coalesce((
        SELECT pg_catalog.jsonb_agg(DISTINCT pg_catalog.jsonb_build_object(
            'relid', t.tgrelid::pg_catalog.int8,
            'table', t.tgrelid::pg_catalog.regclass::text,
            'oldtable', t.tgoldtable,
            'newtable', t.tgnewtable
        ))
        FROM pg_catalog.pg_trigger AS t
        WHERE t.tgfoid = p.oid AND NOT t.tgisinternal
    ), '[]'::pg_catalog.jsonb) AS uses
FROM pg_catalog.pg_proc AS p
INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
INNER JOIN pg_catalog.pg_language AS l ON p.prolang = l.oid
WHERE n.nspname = 'public'
    AND l.lanname = 'plpgsql'
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
            AND d.objid = p.oid
            AND d.deptype = 'e'
    )
ORDER BY 1;
