"""Command line behind the Makefile: ``python -m ironarchive_schema COMMAND``.

Every failure prints one ``error:`` line to stderr and exits non-zero; migrate's own
output (all on stderr) passes through unchanged.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from . import catalog, contract, databases, devdb, schemadoc, urls
from .errors import ToolchainError
from .lint import layout, lock
from .lint.findings import display
from .migrate import Migrate, MigrateError
from .migratebin import ensure_migrate
from .paths import REPO_ROOT, migrations_dir
from .pgbinaries import find_bindir
from .servers import start_server, stop_on_sigterm

# The title rule the lint enforces (tests/lint/), so a created migration passes it.
NAME_PATTERN = layout.SNAKE_CASE


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``export`` and quotes allowed, ``#`` comments)."""
    values = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def resolve_database_url() -> tuple[str, str]:
    """``(url, where it came from)``: the environment, then ``.env``, then the dev database."""
    if os.environ.get("DATABASE_URL"):
        return urls.validate(os.environ["DATABASE_URL"]), "environment"
    dotenv = REPO_ROOT / ".env"
    from_file = read_dotenv(dotenv).get("DATABASE_URL")
    if from_file:
        return urls.validate(from_file, f"DATABASE_URL in {dotenv}"), ".env"
    return devdb.url(), f"local development database in {devdb.base_dir()}"


def _migrate() -> Migrate:
    url, source = resolve_database_url()
    print(f"database: {urls.redact(url)} ({source})", file=sys.stderr)
    return Migrate(url, migrations_dir())


def _run(migrate: Migrate, *args: str) -> int:
    print(f"+ {migrate.describe(*args)}", file=sys.stderr)
    return migrate.run(*args, check=False, capture=False).returncode


def cmd_up(args) -> int:
    return _run(_migrate(), "up", *([args.steps] if args.steps else []))


def cmd_down(args) -> int:
    migrate = _migrate()
    if not urls.is_local(migrate.database_url) and os.environ.get("CONFIRM") != "1":
        raise ToolchainError(
            f"refusing to migrate down {urls.redact(migrate.database_url)}: it is not on this "
            f"machine; run again with CONFIRM=1 if you mean it"
        )
    steps = args.steps
    if steps == "all":
        return _run(migrate, "down", "-all")
    if not steps.isdigit() or int(steps) < 1:
        raise ToolchainError(f"N must be a positive number or 'all', got {steps!r}")
    return _run(migrate, "down", steps)


def cmd_status(_args) -> int:
    migrate = _migrate()
    version = migrate.version()
    print(f"version: {version}")
    if version.dirty:
        print(f"the database is dirty: migration {version.number} failed part-way. Fix it, "
              f"then `make migrate-force VERSION=<last good version>` and migrate again.",
              file=sys.stderr)
    return 0


def cmd_force(args) -> int:
    if not re.fullmatch(r"-1|\d+", args.version):
        raise ToolchainError(f"VERSION must be a migration version or -1, got {args.version!r}")
    return _run(_migrate(), "force", args.version)


def cmd_create(args) -> int:
    if not NAME_PATTERN.fullmatch(args.name or ""):
        raise ToolchainError(f"NAME must be snake_case (like add_mailbox_quota), got {args.name!r}")
    folder = migrations_dir()
    result = subprocess.run(
        [ensure_migrate(), "create", "-ext", "sql", "-dir", str(folder), "-seq", "-digits", "6",
         args.name], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        raise ToolchainError(f"migrate create failed: {result.stderr.strip()}")
    for path in sorted(folder.glob(f"*_{args.name}.*.sql")):
        if path.stat().st_size == 0:
            direction = "applies" if path.name.endswith(".up.sql") else "reverts"
            path.write_text(f"-- {path.name.split('.')[0]}: {direction} <what and why>.\n")
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    return 0


def cmd_lock(args) -> int:
    relock = set()
    for version in (args.relock or "").replace(",", " ").split():
        if not version.isdigit():
            raise ToolchainError(f"RELOCK must be migration versions like 2 or 000002, "
                                 f"got {version!r}")
        relock.add(int(version))
    path = lock.lock_path()
    added = lock.update(migrations_dir(), path, relock)
    for name in added:
        print(f"locked {name}")
    if not added:
        print(f"{display(path)}: every migration was locked already", file=sys.stderr)
    return 0


def _migrated_catalog() -> tuple[dict, dict | None, int | None]:
    """Migrate a throwaway database with the real migrate; its catalog, settings, version.

    The server is the suite's (embedded by default; POSTGRES_BACKEND, TEST_DATABASE_URL
    and PG_VERSION apply), and is gone again when this returns or fails.
    """
    stop_on_sigterm()
    server = start_server()
    try:
        with databases.temporary(server.admin_url, "schema") as url:
            migrate = Migrate(url, migrations_dir())
            print(f"+ {migrate.describe('up')}", file=sys.stderr)
            try:
                migrate.up()
            except MigrateError as exc:
                print(exc.output, file=sys.stderr, end="")
                raise
            with databases.connect(url) as conn:
                return catalog.snapshot(conn), catalog.settings(conn), migrate.version().number
    finally:
        server.stop()


def cmd_schema_diff(_args) -> int:
    """The contract against a freshly migrated catalog, as contract YAML; exit 1 if they differ."""
    want = contract.load()  # first: a contract that does not load needs no server
    snapshot, settings, version = _migrated_catalog()
    have = contract.from_catalog(snapshot, settings, version)
    difference = contract.report(want, have, contract.unstated(snapshot))
    if not difference:
        print(f"{contract.CONTRACT_FILE.relative_to(REPO_ROOT)} and the migrations in "
              f"{migrations_dir()} agree (version {version}): nothing to change")
        return 0
    print(f"# {contract.CONTRACT_FILE.relative_to(REPO_ROOT)} against the migrations in "
          f"{migrations_dir()} (version {version}).\n"
          f"# Edit the contract by hand where each change is intended; then `make test`.\n")
    print(difference, end="")
    return 1


def cmd_schema_docs(_args) -> int:
    snapshot, settings, version = _migrated_catalog()
    schemadoc.DOCS_FILE.parent.mkdir(parents=True, exist_ok=True)
    schemadoc.DOCS_FILE.write_text(
        schemadoc.generate(contract.from_catalog(snapshot, settings, version)))
    print(f"wrote {schemadoc.DOCS_FILE.relative_to(REPO_ROOT)} (migration {version})",
          file=sys.stderr)
    return 0


def cmd_db(args) -> int:
    if args.action == "start":
        print(devdb.url())
    elif args.action == "stop":
        print("stopped" if devdb.stop() else "not running", file=sys.stderr)
    return 0


def cmd_migrate_bin(_args) -> int:
    print(f"migrate: {ensure_migrate()}", file=sys.stderr)
    return 0


def cmd_pg_bindir(_args) -> int:
    print(find_bindir())
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
    lock_cmd = sub.add_parser("lock", help="add new migrations to migrations.lock")
    lock_cmd.add_argument("--relock", help="versions to lock afresh: only for migrations "
                                           "that have never left this branch")
    lock_cmd.set_defaults(func=cmd_lock)
    sub.add_parser("schema-diff", help="contract/schema.yaml against a freshly migrated "
                   "database, in the contract's format; exit 1 when they differ"
                   ).set_defaults(func=cmd_schema_diff)
    sub.add_parser("schema-docs", help="regenerate docs/schema.md from a freshly migrated "
                   "database").set_defaults(func=cmd_schema_docs)
    db = sub.add_parser("db", help="the local development database")
    db.add_argument("action", choices=["start", "stop"])
    db.set_defaults(func=cmd_db)
    sub.add_parser("migrate-bin", help="build the pinned migrate if needed; print its path"
                   ).set_defaults(func=cmd_migrate_bin)
    sub.add_parser("pg-bindir", help="print where the PostgreSQL server binaries are"
                   ).set_defaults(func=cmd_pg_bindir)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
