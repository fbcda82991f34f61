-- 000002_add_note_tag (up): an optional tag per note.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE notes ADD COLUMN tag TEXT;
