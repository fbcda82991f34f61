"""Command line behind the Makefile: ``python -m ironarchive_schema COMMAND``.

Every failure prints one ``error:`` line to stderr and exits 2 (``status``: 3 dirty, 4 a
version skipped). migrate's progress (all on stderr) passes through, redacted; its error is
summed up in that one line. Settings are resolved once (``settings.resolve``) and passed on.
"""

import argparse
import contextlib
import functools
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from ironarchive_schema import interrupts, settings
from ironarchive_schema.catalog import pg_catalog, schema_docs
from ironarchive_schema.cli import devdb, inner_loop
from ironarchive_schema.contract.diff import report
from ironarchive_schema.contract.from_catalog import from_catalog, unstated
from ironarchive_schema.contract.load import load
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.go_tools import ACTIONLINT
from ironarchive_schema.lint import layout, lock
from ironarchive_schema.lint.findings import display
from ironarchive_schema.migrate import journal, migration_files, preflight, recovery
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.migrate.command import (
    Migrate,
    MigrateError,
    Version,
    stop_gracefully,
)
from ironarchive_schema.postgres import admin, security_releases, urls
from ironarchive_schema.postgres.backends import start_server
from ironarchive_schema.postgres.binaries import find_bindir
from ironarchive_schema.rehearsal import profile
from ironarchive_schema.rehearsal.locks import trace_migrations

# The title rule the lint enforces (tests/lint/), so a created migration passes it.
NAME_PATTERN = layout.SNAKE_CASE
#: What a new migration file begins with (README.md, "Timeouts").
TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


@dataclass(frozen=True)
class Target:
    """The database a ``migrate-*`` command works on, and where that was decided."""

    url: str
    source: str
    development: bool  # the project's own development database

    @property
    def shown(self) -> str:
        return urls.redact(self.url)


def resolve_target(config: settings.Settings) -> Target:
    """``DATABASE_URL`` (command line, environment, ``.env``), else the dev database."""
    url = config.get("DATABASE_URL")
    if url:
        source = config.source("DATABASE_URL")
        name = "DATABASE_URL" if source in ("environment", "command line") \
            else f"DATABASE_URL in {source}"
        urls.validate(url, name)
        urls.check_target(url, config.libpq, name)
        return Target(url, source, development=False)
    database = devdb.DevelopmentDatabase(config)
    return Target(database.url(), f"local development database in {database.root}",
                  development=True)


def warn_about_server(url: str) -> None:
    """A server without the row-level-security fixes of its major is said so, not refused:
    upgrading it is the operator's call."""
    line = security_releases.server_warning(url)
    if line:
        print(line, file=sys.stderr)


class Session:
    """One ``migrate-*`` command: its settings, target, migrate, and the journal."""

    def __init__(self, config: settings.Settings, command: str):
        self.config = config
        self.command = command
        self.folder = config.migrations_dir
        if command != "status":
            preflight.check(self.folder, config.migrations_lock, f"migrate-{command}")
        self.target = resolve_target(config)
        print(f"database: {self.target.shown} ({self.target.source})", file=sys.stderr)
        warn_about_server(self.target.url)
        environ = {**config.runtime, **urls.driver_environment(config.libpq)}
        self.migrate = Migrate(self.target.url, self.folder, config, environ=environ)
        self.versions = recovery.Neighbours(
            [m.version for m in migration_files.read(self.folder)])

    def confirmed(self, why: str) -> None:
        """Refuse unless CONFIRM=1 was given."""
        if not self.config.flag("CONFIRM"):
            raise ToolchainError(f"refusing to {why}; run again with CONFIRM=1 if you mean it")

    def running(self) -> int | None:
        """The backend holding migrate's lock on the database, if one does."""
        try:
            return journal.running_migration(self.target.url)
        except psycopg.Error:
            return None  # migrate then says why it cannot connect

    def version(self) -> Version:
        """migrate's version; a migration still running is refused, not waited for."""
        pid = self.running()
        if pid is not None:
            raise ToolchainError(f"refusing to run migrate-{self.command}: backend {pid} holds "
                                 f"migrate's lock (a migration is running, or a killed "
                                 f"migrate's backend is); see make migrate-status")
        return self.migrate.version()

    @functools.cached_property
    def before(self) -> journal.Journal | None:
        """The journal as this command found it (read once: only this command writes it)."""
        try:
            return journal.read(self.target.url)
        except psycopg.Error:
            return None

    def record(self, entry: journal.Journal) -> bool:
        """Write the journal; a role that may not do so only loses the record."""
        try:
            journal.write(self.target.url, entry)
            return True
        except psycopg.Error as exc:
            print(f"note: cannot record this command in the comment of migrate's table "
                  f"({str(exc).strip().splitlines()[0]}); migrate-status will not know how it "
                  f"ended", file=sys.stderr)
            return False

    def refuse_dirty(self, version: Version) -> None:
        if version.dirty:
            explain(self, version)
            raise ToolchainError(f"refusing to run migrate-{self.command}: the database is "
                                 f"dirty (version {version.number}); recover as above")

    def run(self, args: list[str], start: Version, target: int | None) -> int:
        """Run migrate with the journal saying what runs, then how it ended."""
        # No record yet: every version up to the current one is taken as applied.
        entry = self.before or journal.Journal(
            [v for v in self.versions.versions if start.number and v <= start.number])
        entry.last = {"command": self.command, "from": start.number, "to": target,
                      "state": "running", "version": start.number}
        recorded = self.record(entry)
        print(f"+ {self.migrate.describe(*args)}", file=sys.stderr)
        with graceful_interrupts() as caught:
            returncode = self.migrate.run(*args, check=False, capture=False).returncode
        error = self.migrate.last_error
        end = self.migrate.version()
        if recorded:
            self._record_end(entry, start, end, error if returncode else None)
        if caught:
            print(f"interrupted ({signal.Signals(caught[0]).name}): migrate stopped after the "
                  f"migration it was applying; the database is at version {end}",
                  file=sys.stderr, flush=True)
            interrupts.die_of(caught[0])
        if returncode:
            dirty = (f"; the database is dirty at version {end.number}: make migrate-status "
                     f"says how to recover") if end.dirty else ""
            raise ToolchainError(f"migrate {' '.join(args)} failed: {error}{dirty}")
        return 0

    def _record_end(self, entry: journal.Journal, start: Version, end: Version,
                    error: str | None) -> None:
        applied = {v for v in entry.applied if end.number is not None and v <= end.number}
        if self.command == "up" and end.number is not None:
            applied |= {v for v in self.versions.versions
                        if (start.number or 0) < v <= end.number and not
                        (end.dirty and v == end.number)}
        if self.command == "force" and end.number is not None and end.number >= 0:
            applied.add(end.number)
        entry.applied = sorted(applied)
        assert entry.last is not None, "run() records the command before migrate runs"
        entry.last |= {"state": "failed" if error else "done", "version": end.number}
        if error:
            entry.last["error"] = error
        self.record(entry)


@contextlib.contextmanager
def graceful_interrupts() -> Iterator[list[int]]:
    """While migrate runs, SIGINT and SIGTERM ask it to stop after the migration it is
    applying (a killed migrate leaves its backend running and the database dirty); the
    signal is kept in the list this yields, for the caller to end with afterwards."""
    caught: list[int] = []

    def handle(signum, _frame):
        if not caught:
            caught.append(signum)
            stop_gracefully()
    previous = {signum: signal.signal(signum, handle) for signum in interrupts.SIGNALS}
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def explain(session: Session, version: Version, pid: int | None = None) -> None:
    for line in recovery.explain_dirty(version, session.before, session.versions, pid):
        print(line, file=sys.stderr)


def cmd_up(args, config) -> int:
    session = Session(config, "up")
    start = session.version()
    session.refuse_dirty(start)
    skipped = recovery.skipped(session.before, start, session.versions)
    if skipped:
        raise ToolchainError(skipped_message(skipped, start, "refusing to migrate up"))
    newest = session.versions.versions[-1] if session.versions.versions else None
    steps = [args.steps] if args.steps else []
    return session.run(["up", *steps], start, newest)


def skipped_message(skipped: list[int], version: Version, what: str) -> str:
    listed = ", ".join(f"{v:06d}" for v in skipped)
    return (f"{what}: the database is at version {version.number} but never applied "
            f"{listed} (added below it later, so migrate would skip it forever); "
            f"renumber it above {version.number} (it was never released), or migrate the "
            f"database down below it first")


def cmd_down(args, config) -> int:
    steps = args.steps
    if steps != "all" and (not steps.isdigit() or int(steps) < 1):
        raise ToolchainError(f"N must be a positive number or 'all', got {steps!r}")
    session = Session(config, "down")
    if not urls.is_local(session.target.url, config.libpq):
        session.confirmed(f"migrate down {session.target.shown}: it is not on this machine")
    if steps == "all" and not session.target.development:
        session.confirmed(f"revert every migration of {session.target.shown} (N=all): that "
                          f"drops the whole schema and its data")
    start = session.version()
    session.refuse_dirty(start)
    versions = [v for v in session.versions.versions if start.number and v <= start.number]
    if steps == "all":
        return session.run(["down", "-all"], start, None)
    remaining = versions[:-int(steps)] if int(steps) < len(versions) else []
    return session.run(["down", steps], start, remaining[-1] if remaining else None)


def cmd_status(_args, config) -> int:
    session = Session(config, "status")
    pid = session.running()
    if pid is None:
        version = session.version()
    else:  # migrate would wait for the lock: read its table as it would
        recorded = journal.recorded_version(session.target.url)
        version = Version(*recorded) if recorded else Version(None, False)
    print(f"version: {version}")
    if version.dirty or pid is not None:
        explain(session, version, pid)
        return recovery.EXIT_DIRTY
    skipped = recovery.skipped(session.before, version, session.versions)
    if skipped:
        print(skipped_message(skipped, version, "migrate-up will refuse"), file=sys.stderr)
        return recovery.EXIT_SKIPPED
    return 0


def cmd_force(args, config) -> int:
    if not re.fullmatch(r"-1|\d+", args.version):
        raise ToolchainError(f"VERSION must be a migration version or -1, got {args.version!r}")
    wanted = int(args.version)
    session = Session(config, "force")
    if wanted != -1 and wanted not in session.versions.versions:
        raise ToolchainError(f"VERSION={args.version}: no migration {wanted:06d} in "
                             f"{display(session.folder)} (-1 means no migration)")
    if not urls.is_local(session.target.url, config.libpq):
        session.confirmed(f"force the version of {session.target.shown}: it is not on this "
                          f"machine")
    start = session.version()
    if not start.dirty and not config.flag("FORCE_CLEAN"):
        raise ToolchainError(
            f"refusing to force: the database is not dirty (version {start}); force records a "
            f"version without migrating, so the schema would no longer match it. Run again "
            f"with FORCE_CLEAN=1 if you mean it")
    return session.run(["force", args.version], start, wanted)


def cmd_create(args, config) -> int:
    if not NAME_PATTERN.fullmatch(args.name or ""):
        raise ToolchainError(f"NAME must be snake_case (like add_mailbox_quota), got {args.name!r}")
    folder = config.migrations_dir
    before = set(folder.iterdir()) if folder.is_dir() else set()
    result = subprocess.run(
        [ensure_migrate(config), "create", "-ext", "sql", "-dir", str(folder), "-seq",
         "-digits", "6", args.name], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60, env=settings.child_environment(config),
    )
    if result.returncode != 0:
        raise ToolchainError(f"migrate create failed: {result.stderr.strip()}")
    for path in sorted(set(folder.iterdir()) - before):
        if path.stat().st_size == 0:
            direction = "applies" if path.name.endswith(".up.sql") else "reverts"
            path.write_text(f"-- {path.name.split('.')[0]}: {direction} <what and why>.\n"
                            f"{TIMEOUTS}")
        print(display(path))
    return 0


def cmd_lock(args, config) -> int:
    relock = set()
    for version in (args.relock or "").replace(",", " ").split():
        if not version.isdigit():
            raise ToolchainError(f"RELOCK must be migration versions like 2 or 000002, "
                                 f"got {version!r}")
        relock.add(int(version))
    path = config.migrations_lock
    added = lock.update(config.migrations_dir, path, relock)
    for name in added:
        print(f"locked {name}")
    if not added:
        print(f"{display(path)}: every migration was locked already", file=sys.stderr)
    return 0


def _migrated_catalog(config) -> tuple[dict, dict | None, int | None]:
    """Migrate a throwaway database with the real migrate; its catalog, settings, version.

    The server is the suite's (embedded by default; POSTGRES_BACKEND, TEST_DATABASE_URL
    and PG_VERSION apply), and is gone again when this returns or fails.
    """
    interrupts.install(announce=True)
    server = start_server(config)
    try:
        with admin.temporary(server.admin_url, "schema") as url:
            migrate = Migrate(url, config.migrations_dir, config)
            print(f"+ {migrate.describe('up')}", file=sys.stderr)
            try:
                migrate.up()
            except MigrateError as exc:
                print(exc.output, file=sys.stderr, end="")
                raise
            with admin.connect(url) as conn:
                return (pg_catalog.snapshot(conn), pg_catalog.settings(conn),
                        migrate.version().number)
    finally:
        server.stop()


def cmd_schema_diff(_args, config) -> int:
    """The contract against a freshly migrated catalog, as contract YAML; exit 1 if they differ."""
    want = load(config.contract_file)  # first: a contract that does not load needs no server
    snapshot, seeded, version = _migrated_catalog(config)
    have = from_catalog(snapshot, seeded, version)
    difference = report(want, have, unstated(snapshot))
    contract_file = display(config.contract_file)
    if not difference:
        print(f"{contract_file} and the migrations in "
              f"{config.migrations_dir} agree (version {version}): nothing to change")
        return 0
    print(f"# {contract_file} against the migrations in "
          f"{config.migrations_dir} (version {version}).\n"
          f"# Edit the contract by hand where each change is intended; then `make test`.\n")
    print(difference, end="")
    return 1


def cmd_lock_profile(_args, config) -> int:
    """What each migration locks and rewrites now, against the reviewed profile, in the
    profile's format (comments: each difference); exit 1 when they differ."""
    profile_file = config.lock_profile
    reviewed = profile.read(profile_file) if profile_file.exists() else {}
    interrupts.install(announce=True)
    server = start_server(config)
    try:
        with admin.temporary(server.admin_url, "trace") as url:
            traced = profile.profile_of(
                trace_migrations(url, Migrate(url, config.migrations_dir, config)))
    finally:
        server.stop()
    changed = {name: profile.differences(reviewed, traced, name) for name in traced}
    changed = {name: lines for name, lines in changed.items() if lines}
    stale = sorted(set(reviewed) - set(traced))
    if not changed and not stale:
        print(f"{display(profile_file)} and the migrations in {config.migrations_dir} agree: "
              f"nothing to change")
        return 0
    print(f"# {display(profile_file)} against the migrations in {config.migrations_dir}:")
    for line in [*(line for lines in changed.values() for line in lines),
                 *(f"{name}: in the profile, but no such migration file" for name in stale)]:
        print(f"#   {line}")
    print("# Review each change; where it is intended, put these entries into the profile"
          + (" (this is the whole file):\n" if not profile_file.exists() else ":\n"))
    whole = not profile_file.exists()
    print(profile.render(traced) if whole else profile.render(
        {name: traced[name] for name in changed}).removeprefix(profile.HEADER), end="")
    return 1


def cmd_check(_args, config) -> int:
    """The inner loop (cli/inner_loop.py): one pytest run of what the newest migration
    touches."""
    command = inner_loop.pytest_command(config)
    print(f"check: pytest -k {command[-1]!r}", file=sys.stderr)
    return subprocess.run(command, cwd=config.root, check=False).returncode


def cmd_schema_docs(_args, config) -> int:
    snapshot, seeded, version = _migrated_catalog(config)
    docs_file = config.root / schema_docs.DOCS_PATH
    docs_file.parent.mkdir(parents=True, exist_ok=True)
    docs_file.write_text(schema_docs.generate(from_catalog(snapshot, seeded, version)))
    print(f"wrote {display(docs_file)} (migration {version})",
          file=sys.stderr)
    return 0


def cmd_db(args, config) -> int:
    database = devdb.DevelopmentDatabase(config)
    if args.action == "start":
        owner_url = database.url()
        print(urls.without_password(owner_url))
        print(f"password: in {database.password_file} (readable by you only); e.g. "
              f"PGPASSWORD=\"$(cat {database.password_file})\" psql '<the URL above>'",
              file=sys.stderr)
        app_url = database.app_url()
        if app_url is None:
            print("the application's login (row-level security on) comes after make "
                  "migrate-up: run make db-start again then", file=sys.stderr)
        else:
            print(f"application (row-level security on; SELECT set_tenant($1) in each "
                  f"transaction): {urls.without_password(app_url)}", file=sys.stderr)
            print(f"its password: in {database.app_password_file}", file=sys.stderr)
        warn_about_server(owner_url)
    elif args.action == "stop":
        print("stopped" if database.stop() else "not running", file=sys.stderr)
    return 0


def cmd_migrate_bin(_args, config) -> int:
    print(f"migrate: {ensure_migrate(config)}", file=sys.stderr)
    return 0


def cmd_actionlint_bin(_args, config) -> int:
    print(f"actionlint: {ACTIONLINT.ensure(config)}", file=sys.stderr)
    return 0


def cmd_pg_bindir(_args, config) -> int:
    print(find_bindir(config))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ironarchive_schema")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="apply all pending migrations, or the next STEPS")
    up.add_argument("steps", nargs="?")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="revert STEPS migrations (default 1) or 'all'")
    down.add_argument("steps", nargs="?", default="1")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="current version, and whether it is dirty").set_defaults(
        func=cmd_status)
    force = sub.add_parser("force", help="set the version without migrating (clears dirty)")
    force.add_argument("version")
    force.set_defaults(func=cmd_force)
    create = sub.add_parser("create", help="new up/down pair with the next six-digit version")
    create.add_argument("name")
    create.set_defaults(func=cmd_create)
    lock_cmd = sub.add_parser("lock", help="add new migrations to migration_files.lock")
    lock_cmd.add_argument("--relock", help="versions to lock afresh: only for migrations "
                                           "that have never left this branch")
    lock_cmd.set_defaults(func=cmd_lock)
    sub.add_parser("schema-diff", help="contract/schema.yaml against a freshly migrated "
                   "database, in the contract's format; exit 1 when they differ"
                   ).set_defaults(func=cmd_schema_diff)
    sub.add_parser("lock-profile", help="what each migration locks and rewrites, traced on a "
                   "throwaway database, against the reviewed profile; exit 1 when they differ"
                   ).set_defaults(func=cmd_lock_profile)
    sub.add_parser("check", help="the inner loop: the gate's checks of the newest migration, "
                   "the contract and the changed test files, in one pytest run"
                   ).set_defaults(func=cmd_check)
    sub.add_parser("schema-docs", help="regenerate docs/schema.md from a freshly migrated "
                   "database").set_defaults(func=cmd_schema_docs)
    db = sub.add_parser("db", help="the local development database")
    db.add_argument("action", choices=["start", "stop"])
    db.set_defaults(func=cmd_db)
    sub.add_parser("migrate-bin", help="build the pinned migrate if needed; print its path"
                   ).set_defaults(func=cmd_migrate_bin)
    sub.add_parser("actionlint-bin", help="build the pinned actionlint if needed; print its "
                   "path").set_defaults(func=cmd_actionlint_bin)
    sub.add_parser("pg-bindir", help="print where the PostgreSQL server binaries are"
                   ).set_defaults(func=cmd_pg_bindir)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args, settings.resolve())
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
