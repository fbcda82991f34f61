"""Realistic IronArchive rows, generated in Python and streamed into PostgreSQL with COPY.

The shape is what an archive of Microsoft 365 tenants looks like, skewed where it matters
for the queries:

- e-mails per mailbox follow Zipf's law (s = 1): a few shared mailboxes hold hundreds of
  thousands of e-mails, most hold a few dozen; rows of all mailboxes are interleaved, as a
  sync of many mailboxes writes them;
- senders follow Zipf's law too (newsletters and colleagues send most mail);
- ``sent_at`` leans towards recent years (age = 10 years x u**2), so tenants with short
  retention have many retention candidates and 7-year tenants a few;
- about 2 % of e-mails are soft-deleted; a quarter carry attachments (two on average);
- 30 % of attachments repeat the content (hash) of a popular file (logos, signatures,
  common PDFs); the rest are unique;
- jobs are mostly finished, a backlog of about 6 % is QUEUED;
- audit rows follow the users' activity (Zipf), 10 % are system actions (no user).

Everything comes from a seeded PRNG and each row's number, so one ``(sizes, seed)`` always
gives the same rows (and so the same plans in the plan tests). Ids are random-looking UUIDs
derived from the row number (as uuid_generate_v4 would give: index inserts land at random
places), which lets an attachment name its e-mail without keeping 2 million ids in memory.

Rows are written as COPY text format (tab-separated, ``\\N`` for NULL); no generated value
contains a tab, newline or backslash except the bytea escape written here on purpose.
"""

import functools
import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import NamedTuple

import psycopg
from psycopg import sql

#: The version the archive is loaded at: the last before the audit chain (000004), so the
#: audit rows keep the times the generator gives them and are sealed by 000006 as history, the
#: way an archive that holds mail reaches the chain. Migrate up after loading.
LOAD_AT = 3
#: Rows per COPY chunk: large enough that Python's per-chunk cost vanishes.
CHUNK_ROWS = 5000
#: The passphrase of the generated Azure app secrets (pgp_sym_encrypt needs one).
SECRET_PASSPHRASE = "bench-passphrase"
#: Share of attachment rows whose content (hash) is a popular file seen elsewhere too.
DUPLICATE_SHARE = 0.30
SOFT_DELETED_SHARE = 0.02
DAY = 86_400
#: NULL in COPY text format.
NULL = r"\N"
_M128 = (1 << 128) - 1


@dataclass(frozen=True)
class Sizes:
    """Row counts of one data set; ``Sizes.at(1.0)`` is the issue's default scale."""

    tenants: int = 200
    users: int = 2_000
    mailboxes: int = 10_000
    emails: int = 2_000_000
    attachments: int = 1_000_000
    audit_logs: int = 1_000_000
    jobs: int = 100_000
    senders: int = 50_000
    popular_files: int = 5_000

    @classmethod
    def at(cls, scale: float) -> "Sizes":
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale}")
        # At least two tenants, so one can be on legal hold and one not.
        return cls(**{f.name: max(2, round(f.default * scale)) for f in fields(cls)})


def uid(namespace: int, number: int) -> str:
    """A random-looking UUID (32 hex digits, which PostgreSQL accepts) for row ``number``.

    Multiplying by an odd constant modulo 2**128 and folding the high half into the low
    half are both bijections, so different numbers never collide within a namespace.
    """
    x = ((number + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835 + namespace * 0x632BE59BD9B4E019) \
        & _M128
    x ^= x >> 64
    x = (x * 0xD6E8FEB86659FD93C13F3E2A1F0A4F2B) & _M128
    return f"{x:032x}"


# Namespaces of uid(): one per table.
TENANT, AZURE_TENANT, AZURE_APP, USER, MAILBOX, EMAIL, ATTACHMENT, AUDIT, JOB = range(1, 10)


def zipf_counts(total: int, buckets: int, s: float = 1.0) -> list[int]:
    """``total`` split over ``buckets`` by Zipf's law, largest first, summing exactly."""
    weights = [1 / (rank ** s) for rank in range(1, buckets + 1)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for k in range(total - sum(counts)):
        counts[k % buckets] += 1
    return counts


def cumulative_zipf(buckets: int, s: float) -> list[float]:
    return list(itertools.accumulate(1 / (rank ** s) for rank in range(1, buckets + 1)))


class Clock:
    """Timestamps as COPY text, fast: day strings are cached, seconds formatted directly."""

    def __init__(self, now: float):
        self.now = int(now)
        self._days: dict[int, str] = {}

    def text(self, epoch: int) -> str:
        day, second = divmod(epoch, DAY)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
        return f"{date} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"

    def ago(self, seconds: float) -> str:
        return self.text(self.now - int(seconds))


#: The columns of ``Dataset.email_rows``, in their order.
EMAIL_COLUMNS = ("id", "mailbox_id", "message_id", "subject", "sender", "recipients", "sent_at",
                 "body_text", "body_html", "has_attachments", "size_bytes", "file_path",
                 "indexed_at", "deleted_at", "tenant_id")


class Mailbox(NamedTuple):
    """What each of a mailbox's e-mail rows repeats."""

    number: int
    id: str
    tenant_id: str
    address: str


@dataclass(frozen=True)
class Table:
    """One table's rows as COPY text chunks, in an order that satisfies foreign keys."""

    name: str
    columns: tuple[str, ...]
    chunks: Callable[[], Iterator[bytes]]


SUBJECTS = ("Quarterly report", "Re: Invoice", "Meeting notes", "Fwd: Contract draft",
            "Weekly newsletter", "Your order has shipped", "Project update", "Re: Re: Budget",
            "Password expiry notice", "Holiday schedule", "Customer complaint", "Offer")
BODY_WORDS = ("please find attached the latest figures for the project and let me know "
              "whether the numbers match what we discussed in the meeting last week regards "
              "thanks team update invoice contract schedule customer delivery").split()
OFFICE = "application/vnd.openxmlformats-officedocument"
FILENAMES = (("invoice.pdf", "application/pdf"), ("logo.png", "image/png"),
             ("report.xlsx", f"{OFFICE}.spreadsheetml.sheet"),
             ("contract.docx", f"{OFFICE}.wordprocessingml.document"),
             ("photo.jpg", "image/jpeg"), ("signature.gif", "image/gif"),
             ("notes.txt", "text/plain"), ("archive.zip", "application/zip"),
             ("invite.ics", "text/calendar"))
AUDIT_ACTIONS = (("LOGIN", 30), ("SEARCH", 35), ("LOGOUT", 15), ("EXPORT", 8), ("VIEW_EMAIL", 9),
                 ("CONFIG_CHANGE", 1), ("MAILBOX_ADD", 1), ("USER_CREATE", 1))
JOB_STATUSES = (("COMPLETED", 90), ("FAILED", 3), ("RUNNING", 1), ("QUEUED", 6))
JOB_TYPES = (("SYNC_MAILBOX", 80), ("SYNC_TENANT", 10), ("EXPORT", 5),
             ("RETENTION_CLEANUP", 4), ("SYNC_ALL", 1))
RETENTION_DAYS = ((2555, 60), (3650, 15), (1095, 15), (365, 10))
MAILBOX_TYPES = (("USER", 85), ("SHARED", 10), ("ROOM", 3), ("EQUIPMENT", 2))


def _weighted(rng: random.Random, choices, k: int) -> list:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=k)


def chunked(lines: Iterator[str]) -> Iterator[bytes]:
    """COPY text lines in chunks of CHUNK_ROWS."""
    while block := list(itertools.islice(lines, CHUNK_ROWS)):
        yield ("\n".join(block) + "\n").encode()


class Dataset:
    """The rows of every table for one ``(sizes, seed)``; ``tables()`` lists them in load order.

    ``secrets`` are the tenants' Azure app secrets: pgp_sym_encrypt output made by the server
    (``encrypted_secrets``), so tenants_azure_app_secret_check accepts them.
    """

    def __init__(self, sizes: Sizes, secrets: list[bytes], seed: int = 42,
                 now: float | None = None):
        if len(secrets) != sizes.tenants:
            raise ValueError(f"need {sizes.tenants} secrets, got {len(secrets)}")
        self.sizes = sizes
        self.secrets = secrets
        self.seed = seed
        self.clock = Clock(time.time() if now is None else now)
        rng = random.Random(seed)
        # Big customers have many mailboxes: mailbox -> tenant is skewed too.
        tenant_weights = cumulative_zipf(sizes.tenants, 0.7)
        self.mailbox_tenant = [m % sizes.tenants if m < sizes.tenants else
                               rng.choices(range(sizes.tenants), cum_weights=tenant_weights)[0]
                               for m in range(sizes.mailboxes)]
        # Mailbox 0 is the largest, mailbox 1 the second largest, and so on.
        self.mailbox_emails = zipf_counts(sizes.emails, sizes.mailboxes)
        self.retention_days = _weighted(rng, RETENTION_DAYS, sizes.tenants)
        # Tenant 0 is never on legal hold and tenant 1 always is: both cases always exist.
        self.legal_hold = [t == 1 or (t > 1 and rng.random() < 0.05)
                           for t in range(sizes.tenants)]
        self.user_tenant = [t % sizes.tenants for t in range(sizes.users)]
        self.msp_admins = min(5, sizes.users // 10)
        # The ids every e-mail and attachment row repeats, made once.
        self.tenant_ids = [uid(TENANT, t) for t in range(sizes.tenants)]
        self.mailbox_ids = [uid(MAILBOX, m) for m in range(sizes.mailboxes)]

    # -- helpers -------------------------------------------------------------------------

    def mailbox_address(self, m: int) -> str:
        return f"mailbox{m}@tenant{self.mailbox_tenant[m]}.example"

    def mailbox(self, m: int) -> Mailbox:
        return Mailbox(m, self.mailbox_ids[m], self.tenant_ids[self.mailbox_tenant[m]],
                       self.mailbox_address(m))

    def fresh_mailboxes(self, first: int, count: int, tenant: int) -> list[Mailbox]:
        """Mailboxes ``first`` .. ``first + count - 1`` of ``tenant``, numbered beyond the
        data set's own (``sizes.mailboxes``): for loads measured on top of it."""
        if first < self.sizes.mailboxes:
            raise ValueError(f"mailbox {first} is one of the data set's own")
        return [Mailbox(m, uid(MAILBOX, m), self.tenant_ids[tenant],
                        f"mailbox{m}@tenant{tenant}.example") for m in range(first, first + count)]

    def user_is_msp_admin(self, u: int) -> bool:
        return u >= self.sizes.users - self.msp_admins

    def attachment_count(self, email: int) -> int:
        """0 for most e-mails; 1 to 3 for the share that yields ``sizes.attachments`` rows."""
        share = min(1.0, self.sizes.attachments / (2 * self.sizes.emails))
        h = int(uid(ATTACHMENT, email)[:12], 16)
        return 1 + (h >> 24) % 3 if (h & 0xFFFFFF) < share * 0x1000000 else 0

    @functools.cached_property
    def email_order(self) -> list[int]:
        """The mailbox of each e-mail row, every mailbox's rows spread over the whole load."""
        order = [m for m, count in enumerate(self.mailbox_emails) for _ in range(count)]
        random.Random(self.seed + 1).shuffle(order)
        return order

    # -- tables --------------------------------------------------------------------------

    def tables(self) -> list[Table]:
        return [
            Table("tenants", ("id", "name", "azure_tenant_id", "azure_app_id", "azure_app_secret",
                              "retention_policy_days", "legal_hold", "whitelabel_config"),
                  self._tenants),
            Table("users", ("id", "email", "password_hash", "display_name", "role", "tenant_id",
                            "mfa_secret", "mfa_enabled"), self._users),
            Table("mailboxes", ("id", "tenant_id", "email_address", "display_name",
                                "mailbox_type", "sync_enabled", "last_sync_at",
                                "last_delta_token", "email_count", "storage_bytes"),
                  self._mailboxes),
            Table("emails", EMAIL_COLUMNS, self._emails),
            Table("attachments", ("id", "email_id", "filename", "content_type", "size_bytes",
                                  "sha256_hash", "file_path", "tenant_id"),
                  self._attachments),
            Table("jobs", ("id", "type", "status", "tenant_id", "mailbox_id", "user_id",
                           "progress", "metadata", "error_message", "started_at",
                           "completed_at", "created_at"), self._jobs),
            Table("audit_logs", ("id", "user_id", "action", "ip_address", "details",
                                 "timestamp"), self._audit_logs),
        ]

    def _tenants(self) -> Iterator[bytes]:
        return chunked(
            f"{uid(TENANT, t)}\tCustomer {t}\t{uid(AZURE_TENANT, t)}\t{uid(AZURE_APP, t)}\t"
            f"\\\\x{self.secrets[t].hex()}\t{self.retention_days[t]}\t"
            f"{'t' if self.legal_hold[t] else 'f'}\t"
            + (f'{{"logo": "/brand/{t}.png", "colour": "#1f6feb"}}' if t % 4 == 0 else NULL)
            for t in range(self.sizes.tenants))

    def _users(self) -> Iterator[bytes]:
        def line(u: int) -> str:
            admin = self.user_is_msp_admin(u)
            tenant = self.user_tenant[u]
            role = "MSP_ADMIN" if admin else ("TENANT_ADMIN" if u < self.sizes.tenants else "USER")
            mfa = u % 3 == 0
            return (f"{uid(USER, u)}\tuser{u}@{'msp' if admin else f'tenant{tenant}'}.example\t"
                    f"$2b$12${uid(USER, -u - 1)}{uid(USER, -u - 2)[:21]}\tUser {u}\t{role}\t"
                    f"{NULL if admin else uid(TENANT, tenant)}\t"
                    f"{f'JBSWY3DPEHPK3PXP{u}' if mfa else NULL}\t{'t' if mfa else 'f'}")
        return chunked(map(line, range(self.sizes.users)))

    def _mailboxes(self) -> Iterator[bytes]:
        rng = random.Random(self.seed + 2)
        types = _weighted(rng, MAILBOX_TYPES, self.sizes.mailboxes)
        return chunked(
            f"{self.mailbox_ids[m]}\t{self.tenant_ids[self.mailbox_tenant[m]]}\t"
            f"{self.mailbox_address(m)}\tMailbox {m}\t{types[m]}\t"
            f"{'t' if m % 10 else 'f'}\t{self.clock.ago(rng.random() * DAY)}\t"
            f"delta-{uid(MAILBOX, -m - 1)}\t{self.mailbox_emails[m]}\t"
            f"{self.mailbox_emails[m] * 75_000}"
            for m in range(self.sizes.mailboxes))

    def _emails(self) -> Iterator[bytes]:
        mailboxes = [self.mailbox(m) for m in range(self.sizes.mailboxes)]
        rows = self.email_rows(mailboxes, self.email_order, 0, random.Random(self.seed + 3))
        return chunked(map("\t".join, rows))

    def email_rows(self, mailboxes: list[Mailbox], order: list[int], first: int,
                   rng: random.Random) -> Iterator[tuple[str, ...]]:
        """E-mail rows as COPY text fields (EMAIL_COLUMNS): row ``first + n``
        goes to ``mailboxes[order[n]]``. Row numbers make the ids: never reuse one."""
        clock = self.clock
        senders = cumulative_zipf(self.sizes.senders, 1.05)
        sender_range = range(self.sizes.senders)
        loaded = clock.ago(0)
        for start in range(0, len(order), CHUNK_ROWS):
            block = order[start:start + CHUNK_ROWS]
            picks = rng.choices(sender_range, cum_weights=senders, k=len(block))
            for i, (m, k) in enumerate(zip(block, picks, strict=True), first + start):
                r = rng.random()
                email = uid(EMAIL, i)
                box = mailboxes[m]
                words = BODY_WORDS[i % 7:i % 7 + 25]
                yield (
                    email, box.id, f"AAMkA{box.id}BGAAAAAAiQ8W967B7TKBjgx9rVEURBwA{email}AAA=",
                    f"{SUBJECTS[i % 12]} #{i % 9973}", f"sender{k}@example{k % 97}.com",
                    f"{{{box.address},team{i % 50}@tenant{box.number % 7}.example}}",
                    clock.ago(3650 * DAY * rng.random() ** 2), " ".join(words),
                    "<p>" + " ".join(words[:8]) + "</p>" if r > 0.8 else NULL,
                    "t" if self.attachment_count(i) else "f",
                    str(int(rng.lognormvariate(10, 1.2))),
                    f"/data/emails/{box.tenant_id}/{box.id}/{email}.json",
                    loaded if r < 0.95 else NULL,
                    clock.ago(r * 30 * DAY) if r < SOFT_DELETED_SHARE else NULL,
                    box.tenant_id)

    def _attachments(self) -> Iterator[bytes]:
        rng = random.Random(self.seed + 4)
        popular = [hashlib.sha256(b"popular-%d" % p).hexdigest()
                   for p in range(self.sizes.popular_files)]
        popularity = cumulative_zipf(self.sizes.popular_files, 1.0)
        order = self.email_order

        def lines() -> Iterator[str]:
            number = 0
            for i in range(self.sizes.emails):
                for _ in range(self.attachment_count(i)):
                    if rng.random() < DUPLICATE_SHARE:
                        digest = rng.choices(popular, cum_weights=popularity)[0]
                    else:
                        digest = hashlib.sha256(b"unique-%d-%d" % (self.seed, number)).hexdigest()
                    filename, content_type = FILENAMES[number % len(FILENAMES)]
                    yield (f"{uid(ATTACHMENT, number)}\t{uid(EMAIL, i)}\t{filename}\t"
                           f"{content_type}\t{int(rng.lognormvariate(11, 1.5))}\t{digest}\t"
                           f"/data/attachments/{digest[:2]}/{digest}.bin\t"
                           # Migration 000002: the e-mail's tenant (its mailbox's).
                           f"{self.tenant_ids[self.mailbox_tenant[order[i]]]}")
                    number += 1
        return chunked(lines())

    def _jobs(self) -> Iterator[bytes]:
        rng = random.Random(self.seed + 5)
        n = self.sizes.jobs
        statuses = _weighted(rng, JOB_STATUSES, n)
        types = _weighted(rng, JOB_TYPES, n)

        def line(j: int) -> str:
            status, kind = statuses[j], types[j]
            mailbox = rng.randrange(self.sizes.mailboxes)
            tenant = self.mailbox_tenant[mailbox]
            # The backlog is recent; finished jobs spread over the last 90 days.
            age = rng.random() * (DAY if status == "QUEUED" else 90 * DAY)
            created = self.clock.now - int(age)
            started = created + 60 if status != "QUEUED" else None
            completed = started + rng.randrange(1, 3600) if status in ("COMPLETED", "FAILED") \
                else None
            progress = {"COMPLETED": 100, "QUEUED": 0}.get(status, rng.randrange(0, 100))
            user = (tenant if tenant < self.sizes.users else None) if kind == "EXPORT" else None
            return "\t".join((
                uid(JOB, j), kind, status,
                NULL if kind == "SYNC_ALL" else uid(TENANT, tenant),
                uid(MAILBOX, mailbox) if kind == "SYNC_MAILBOX" else NULL,
                NULL if user is None else uid(USER, user),
                str(progress),
                '{"format": "pst"}' if kind == "EXPORT" else NULL,
                "Graph API throttled (429)" if status == "FAILED" else NULL,
                NULL if started is None else self.clock.text(started),
                NULL if completed is None else self.clock.text(completed),
                self.clock.text(created)))
        return chunked(map(line, range(n)))

    def _audit_logs(self) -> Iterator[bytes]:
        rng = random.Random(self.seed + 6)
        n = self.sizes.audit_logs
        users = cumulative_zipf(self.sizes.users, 1.1)
        actors = rng.choices(range(self.sizes.users), cum_weights=users, k=n)
        actions = _weighted(rng, AUDIT_ACTIONS, n)

        def line(a: int) -> str:
            system = rng.random() < 0.10
            return (f"{uid(AUDIT, a)}\t{NULL if system else uid(USER, actors[a])}\t"
                    f"{actions[a]}\t{NULL if system else f'10.{a % 256}.{a // 256 % 256}.7'}\t"
                    f'{{"request": "/api/v1/{actions[a].lower()}", "n": {a}}}\t'
                    f"{self.clock.ago(rng.random() * 730 * DAY)}")
        return chunked(map(line, range(n)))


def encrypted_secrets(conn: psycopg.Connection, count: int) -> list[bytes]:
    """``count`` Azure app secrets encrypted by the server's pgp_sym_encrypt, in order."""
    rows = conn.execute(
        "SELECT pgp_sym_encrypt('azure-app-secret-' || g, %s) FROM generate_series(1, %s) g "
        "ORDER BY g", (SECRET_PASSPHRASE, count)).fetchall()
    return [bytes(row[0]) for row in rows]


def copy_chunks(conn: psycopg.Connection, table: str, columns: tuple[str, ...],
                chunks: Iterable[bytes]) -> int:
    """COPY ``table`` (``columns``) FROM STDIN, text format, from byte chunks; returns rows."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    rows = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)
            rows += chunk.count(b"\n")
    return rows


def load(conn: psycopg.Connection, sizes: Sizes, seed: int = 42) -> Dataset:
    """Fill every table of a migrated database, then ANALYZE; commits. Returns the data set."""
    dataset = Dataset(sizes, encrypted_secrets(conn, sizes.tenants), seed)
    for table in dataset.tables():
        copy_chunks(conn, table.name, table.columns, table.chunks())
    conn.commit()
    return dataset
