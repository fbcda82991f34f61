-- 000002_add_note_tag (down)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE notes DROP COLUMN tag;
