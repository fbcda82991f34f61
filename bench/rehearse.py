"""``python -m bench.rehearse``: every migration of MIGRATIONS_DIR rehearsed on the
benchmark's archive under the application's workload, judged against
``rehearsal.budgets.yaml``, written to docs/rehearsal.md and a timeline plot.

Exit 0 when every breach is within budget or accepted, 1 with one line per breach
(``file:line: statement: what it did``) when one is not, 2 when the run itself fails.
"""

import argparse
import datetime
import os
import shlex
import sys
import time
from pathlib import Path

import psycopg

from ironarchive_schema import interrupts, settings
from ironarchive_schema.errors import ToolchainError
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import EmbeddedServer
from ironarchive_schema.rehearsal import budgets as budget_file
from ironarchive_schema.rehearsal.rehearse import Load, Rehearser

from . import facts, rehearsal_plot, rehearsal_report
from .archive import Archive
from .run import tune

DATABASE = admin.PREFIX + "rehearsal"
#: The gate's size: 20,000 e-mails, loaded in seconds.
SMALL = 0.01


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rehearse",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=SMALL,
                        help=f"archive size (1.0 = 2 million e-mails; default {SMALL})")
    parser.add_argument("--only", default="",
                        help="comma-separated migration versions or file names to rehearse; "
                             "the others are applied without measuring")
    parser.add_argument("--window", type=float, default=None,
                        help="seconds of workload before and after each migration "
                             "(default 3, 10 at scale 0.5 and up)")
    parser.add_argument("--doc", default=None,
                        help="report to write; '' for none (default: docs/rehearsal.md, "
                             "docs/rehearsal-pgN.md with PG_VERSION=N, for a full run of the "
                             "project's own migrations; none with --only or another folder)")
    parser.add_argument("--plot", default=None,
                        help="timeline plot to write; '' for none (default: beside the "
                             "report)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def selected(only: str):
    names = {item.strip() for item in only.split(",") if item.strip()}

    def measure(migration) -> bool:
        return not names or str(migration.version) in names or \
            f"{migration.version:06d}" in names or \
            (migration.up is not None and migration.up.name in names)
    return measure


def own_migrations(config: settings.Settings) -> bool:
    return config.migrations_dir.resolve() == (REPO_ROOT / "migrations").resolve()


def reports(config: settings.Settings, only: str, doc: str | None, plot: str | None
            ) -> tuple[str, str]:
    """Where the report and the plot go. The committed ones are full runs of the project's
    own migrations; a rehearsal of some of them (``--only``) or of another folder (a copy with
    a migration under review) writes none unless ``--doc`` names one, so it never
    overwrites them. The plot goes beside the report unless ``--plot`` says otherwise."""
    if doc is None:
        major = config.get("PG_VERSION")
        name = f"rehearsal-pg{major}.md" if major else "rehearsal.md"
        doc = str(REPO_ROOT / "docs" / name) if own_migrations(config) and not only else ""
    if plot is None:
        plot = str(Path(doc).with_suffix(".png")) if doc else ""
    return doc, plot


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = parse_args(arguments)
    interrupts.install(announce=True)  # Ctrl-C stops and removes its server
    # Like the suite, the rehearsal reads no .env: its server and database are its own.
    config = settings.resolve(env_file=Path(os.devnull))
    args.doc, args.plot = reports(config, args.only, args.doc, args.plot)
    if args.plot:
        rehearsal_plot.check_available()
    try:
        budgets = budget_file.read(config.rehearsal_budgets)
    except ToolchainError as exc:
        log(f"error: {exc}")
        return 2
    window = args.window if args.window is not None else (10.0 if args.scale >= 0.5 else 3.0)
    load = Load(window_s=window)
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    log("starting PostgreSQL")
    server = EmbeddedServer(config)
    try:
        tune(server)
        url = admin.create_database(server.admin_url, DATABASE)
        with admin.connect(url) as conn:
            server_facts = facts.server(conn)
        migrate = Migrate(url, config.migrations_dir, config)
        rehearser = Rehearser(url, migrate, Archive(args.scale), budgets, load, log)
        results = rehearser.run(selected(args.only))
    except (psycopg.Error, ToolchainError) as exc:
        log(f"error: {exc}")
        return 2
    finally:
        server.stop()
    wall = time.monotonic() - clock
    run = rehearsal_report.Run(
        command=shlex.join(([] if own_migrations(config) else
                            [f"MIGRATIONS_DIR={config.migrations_dir}"]) +
                           ["make", "rehearse", f"SCALE={args.scale:g}"] +
                           ([f"PG_VERSION={config.get('PG_VERSION')}"]
                            if config.get("PG_VERSION") else []) +
                           ([f"ONLY={args.only}"] if args.only else [])),
        scale=args.scale, started=started, wall_s=wall, server=server_facts,
        machine=facts.machine(), load=load, budgets=budgets, results=results,
        migrations_dir=config.migrations_dir)
    accepted = [breach for result in results for breach in result.breaches if breach.accepted]
    if accepted:
        log(f"{len(accepted)} breaches of released migrations accepted by "
            f"{config.rehearsal_budgets.name}")
    if args.plot:
        rehearsal_plot.write(run, args.plot)
    if args.doc:
        rehearsal_report.write(run, args.doc, args.plot)
    failed = [breach for result in results for breach in result.failed]
    for breach in failed:
        print(f"error: {breach}", file=sys.stderr)
    log(f"rehearsed {len(results)} migration{'' if len(results) == 1 else 's'} in {wall:.0f} s: "
        f"{len(failed)} breaches beyond budget")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
