-- Table constraints: primary keys, foreign keys, unique, check, exclusion.
SELECT
    n.nspname AS schema,
    c.relname AS table,
    con.conname AS name,
    con.contype AS type,
    pg_catalog.pg_get_constraintdef(con.oid, true) AS definition,
    ARRAY(
        SELECT a.attname
        FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON a.attrelid = con.conrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS columns,
    rn.nspname AS ref_schema,
    rc.relname AS ref_table,
    ARRAY(
        SELECT a.attname
        FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON a.attrelid = con.confrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS ref_columns,
    nullif(con.confdeltype, ' ') AS on_delete,
    nullif(con.confupdtype, ' ') AS on_update,
    nullif(con.confmatchtype, ' ') AS match,
    con.condeferrable AS deferrable,
    con.condeferred AS deferred,
    con.convalidated AS validated,
    ci.relname AS index,
    pg_catalog.obj_description(con.oid, 'pg_constraint') AS comment
FROM pg_catalog.pg_constraint AS con
INNER JOIN pg_catalog.pg_class AS c ON con.conrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_catalog.pg_class AS rc ON con.confrelid = rc.oid
LEFT JOIN pg_catalog.pg_namespace AS rn ON rc.relnamespace = rn.oid
LEFT JOIN pg_catalog.pg_class AS ci ON con.conindid = ci.oid AND con.contype <> 'f'
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
    -- PostgreSQL 18 also records every NOT NULL here (contype 'n'); columns.sql reads it from
    -- attnotnull on every major. Only a NOT VALID one (18+) says more, so that one stays.
    AND NOT (con.contype = 'n' AND con.convalidated)
ORDER BY n.nspname, c.relname, con.conname;
