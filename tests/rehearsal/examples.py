"""Migrations the rehearsal must judge (issue 17): the classic ways a migration stops a busy
archive, each with the breach it must be named by, and their safe rewrites, which it must
accept. They are added after the newest migration of a copy of ``migrations/``, never to it.

An example is a list of migrations, each (title, up, down), applied in order.
"""

from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema.migrate.background import add_migration, copy_migrations

TIMEOUTS = "SET LOCAL lock_timeout = '2s';\nSET LOCAL statement_timeout = '5min';\n"


@dataclass(frozen=True)
class Example:
    migrations: tuple[tuple[str, str, str], ...]
    #: What the one-line breach of an unsafe example must say: the statement's first words,
    #: the lock and the relation. None: a safe rewrite, which must pass.
    statement: str | None = None
    lock: str | None = None
    relation: str | None = None


def one(title: str, up: str, down: str) -> tuple[tuple[str, str, str], ...]:
    return ((title, TIMEOUTS + up, TIMEOUTS + down),)


UNSAFE = {
    "a plain index on emails": Example(
        one("index_emails_subject", "CREATE INDEX idx_emails_subject ON emails (subject);\n",
            "DROP INDEX idx_emails_subject;\n"),
        "CREATE INDEX IDX_EMAILS_SUBJECT", "ShareLock", "public.emails"),
    # Rounding indexed_at to the second rewrites every row. (Not size_bytes to bigint, the
    # classic: 000007's trigger fires on UPDATE OF it, and PostgreSQL refuses to change the
    # type of a column a trigger names until the trigger is dropped.)
    "a type change that rewrites": Example(
        one("round_indexed_at",
            "ALTER TABLE emails ALTER COLUMN indexed_at TYPE timestamp (0) with time zone;\n",
            "ALTER TABLE emails ALTER COLUMN indexed_at TYPE timestamp with time zone;\n"),
        "ALTER TABLE EMAILS ALTER COLUMN INDEXED_AT", "AccessExclusiveLock", "public.emails"),
    "a column with a volatile default": Example(
        one("emails_export_token",
            "ALTER TABLE emails ADD COLUMN export_token uuid DEFAULT gen_random_uuid();\n",
            "ALTER TABLE emails DROP COLUMN export_token;\n"),
        "ALTER TABLE EMAILS ADD COLUMN EXPORT_TOKEN", "AccessExclusiveLock", "public.emails"),
    "SET NOT NULL that scans": Example(
        one("emails_sender_required", "ALTER TABLE emails ALTER COLUMN sender SET NOT NULL;\n",
            "ALTER TABLE emails ALTER COLUMN sender DROP NOT NULL;\n"),
        "ALTER TABLE EMAILS ALTER COLUMN SENDER", "AccessExclusiveLock", "public.emails"),
    "a foreign key added and validated at once": Example(
        one("emails_mailbox_reference",
            "ALTER TABLE emails ADD CONSTRAINT emails_mailbox_reference\n"
            "    FOREIGN KEY (mailbox_id) REFERENCES mailboxes (id);\n",
            "ALTER TABLE emails DROP CONSTRAINT emails_mailbox_reference;\n"),
        "ALTER TABLE EMAILS ADD CONSTRAINT EMAILS_MAILBOX_REFERENCE", "ShareRowExclusiveLock",
        "public.emails"),
}

#: A migration the archive's rows break (most e-mails are not deleted), then one that cannot
#: be reached after it.
DOES_NOT_APPLY = Example((
    *one("emails_deleted_required", "ALTER TABLE emails ALTER COLUMN deleted_at SET NOT NULL;\n",
         "ALTER TABLE emails ALTER COLUMN deleted_at DROP NOT NULL;\n"),
    *one("comment_emails", "COMMENT ON TABLE emails IS 'Archived e-mails.';\n",
         "COMMENT ON TABLE emails IS NULL;\n"),
), "ALTER TABLE EMAILS ALTER COLUMN DELETED_AT", None, "public.emails")

SAFE = {
    "an index built concurrently, alone in its file": Example((
        ("index_emails_subject",
         "CREATE INDEX CONCURRENTLY idx_emails_subject ON emails (subject);\n",
         "DROP INDEX CONCURRENTLY idx_emails_subject;\n"),)),
    "a foreign key NOT VALID, validated by the next migration": Example((
        *one("emails_mailbox_reference",
             "ALTER TABLE emails ADD CONSTRAINT emails_mailbox_reference\n"
             "    FOREIGN KEY (mailbox_id) REFERENCES mailboxes (id) NOT VALID;\n",
             "ALTER TABLE emails DROP CONSTRAINT emails_mailbox_reference;\n"),
        *one("validate_emails_mailbox_reference",
             "ALTER TABLE emails VALIDATE CONSTRAINT emails_mailbox_reference;\n",
             "SELECT 1;\n"),
    )),
    "a CHECK validated before SET NOT NULL": Example((
        *one("emails_sender_present",
             "ALTER TABLE emails ADD CONSTRAINT emails_sender_present\n"
             "    CHECK (sender IS NOT NULL) NOT VALID;\n",
             "ALTER TABLE emails DROP CONSTRAINT emails_sender_present;\n"),
        *one("validate_emails_sender_present",
             "ALTER TABLE emails VALIDATE CONSTRAINT emails_sender_present;\n", "SELECT 1;\n"),
        *one("emails_sender_required",
             "ALTER TABLE emails ALTER COLUMN sender SET NOT NULL;\n"
             "ALTER TABLE emails DROP CONSTRAINT emails_sender_present;\n",
             "ALTER TABLE emails ALTER COLUMN sender DROP NOT NULL;\n"
             "ALTER TABLE emails ADD CONSTRAINT emails_sender_present\n"
             "    CHECK (sender IS NOT NULL);\n"),
    )),
}


def with_example(tmp_path: Path, migrations_dir: Path, example: Example) -> Path:
    """A copy of ``migrations_dir`` under ``tmp_path`` with ``example`` after its newest."""
    folder = copy_migrations(migrations_dir, tmp_path / "migrations")
    for title, up, down in example.migrations:
        add_migration(folder, title, up, down)
    return folder
