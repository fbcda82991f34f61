-- Row-level security policies.
SELECT
    n.nspname AS schema,
    c.relname AS table,
    pol.polname AS name,
    pol.polcmd AS command,
    pol.polpermissive AS permissive,
    ARRAY(
        SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r) END
        FROM unnest(pol.polroles) AS r ORDER BY 1
    ) AS roles,
    pg_catalog.pg_get_expr(pol.polqual, pol.polrelid, true) AS using_expr,
    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid, true) AS check_expr
FROM pg_catalog.pg_policy AS pol
INNER JOIN pg_catalog.pg_class AS c ON pol.polrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
ORDER BY n.nspname, c.relname, pol.polname;
