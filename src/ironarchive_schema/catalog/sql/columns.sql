-- Columns of user tables and views, with their type as PostgreSQL names it.
SELECT
    n.nspname AS schema,
    c.relname AS table,
    a.attname AS name,
    -- The rank among live columns, not attnum: a column dropped by a down migration
    -- leaves a hole in attnum, and up again must compare equal.
    row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
    NOT a.attnotnull AS nullable,
    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default,
    nullif(a.attidentity, '') AS identity,
    nullif(a.attgenerated, '') AS generated,
    CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
    pg_catalog.col_description(c.oid, a.attnum) AS comment
FROM pg_catalog.pg_attribute AS a
INNER JOIN pg_catalog.pg_class AS c ON a.attrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_catalog.pg_type AS t ON a.atttypid = t.oid
LEFT JOIN pg_catalog.pg_attrdef AS ad ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
LEFT JOIN pg_catalog.pg_collation AS co ON a.attcollation = co.oid
WHERE a.attnum > 0
    AND NOT a.attisdropped
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname, a.attnum;
