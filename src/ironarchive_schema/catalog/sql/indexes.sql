-- Indexes of user tables, with the constraint that owns them, if any.
SELECT
    n.nspname AS schema,
    c.relname AS table,
    i.relname AS name,
    am.amname AS method,
    x.indisunique AS unique,
    x.indisprimary AS primary,
    x.indnullsnotdistinct AS nulls_not_distinct,
    ARRAY(
        SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k.ord::int, true)
        FROM generate_series(1, x.indnkeyatts) AS k (ord)
        ORDER BY k.ord
    ) AS keys,
    -- Direction, and NULLS FIRST/LAST only where it is not the direction's default.
    ARRAY(
        SELECT CASE x.indoption[k.ord - 1] & 3
            WHEN 0 THEN 'ASC'
            WHEN 2 THEN 'ASC NULLS FIRST'
            WHEN 1 THEN 'DESC NULLS LAST'
            ELSE 'DESC'
        END
        FROM generate_series(1, x.indnkeyatts) AS k (ord)
        ORDER BY k.ord
    ) AS orders,
    ARRAY(
        SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k.ord::int, true)
        FROM generate_series(x.indnkeyatts + 1, x.indnatts) AS k (ord)
        ORDER BY k.ord
    ) AS include,
    pg_catalog.pg_get_expr(x.indpred, x.indrelid, true) AS predicate,
    con.conname AS constraint,
    x.indisvalid AS valid,
    pg_catalog.pg_get_indexdef(x.indexrelid) AS definition,
    pg_catalog.obj_description(i.oid, 'pg_class') AS comment
FROM pg_catalog.pg_index AS x
INNER JOIN pg_catalog.pg_class AS i ON x.indexrelid = i.oid
INNER JOIN pg_catalog.pg_class AS c ON x.indrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_catalog.pg_am AS am ON i.relam = am.oid
LEFT JOIN pg_catalog.pg_constraint AS con
    ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname, i.relname;
