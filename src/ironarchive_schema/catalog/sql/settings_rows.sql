-- The rows of the settings table: key and JSON value (data, not structure).
SELECT
    s.key,
    s.value
FROM public.settings AS s
ORDER BY s.key;
