"""``python -m ironarchive_schema.mutation``: the mutation run behind ``make mutation``.

Run in the project's folder. Its settings are the plugin's, in the plugin's order:
``[tool.pytest.ini_options]`` of its ``pyproject.toml`` (``migrations_dir``,
``mutation_suites``...), then the environment, then the defaults. Starts one embedded
PostgreSQL server for the whole run, derives the mutants of ``MIGRATIONS_DIR`` from a
database migrated with it, tests them two at a time, prints the table and the score, and
writes ``docs/mutation.md`` and ``killers.json``. Exits 1 when a mutant survived that
``equivalent.yaml`` does not explain, or a run ended in an error.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ironarchive_schema import interrupts, settings
from ironarchive_schema.migrate.binary import ensure_migrate
from ironarchive_schema.migrate.command import Migrate
from ironarchive_schema.mutation import killers, report
from ironarchive_schema.mutation.derive import derive
from ironarchive_schema.mutation.fingerprint import changed, fingerprint
from ironarchive_schema.mutation.runner import Runner, run_all, state
from ironarchive_schema.mutation.sample import subset
from ironarchive_schema.plugin.options import ini_settings, project_ini
from ironarchive_schema.postgres import admin
from ironarchive_schema.postgres.backends import EmbeddedServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ironarchive_schema.mutation")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--subset", action="store_true", help="one mutant per operator only")
    parser.add_argument("--doc", type=Path, default=Path("docs") / "mutation.md",
                        help="where to write the report ('-' for none); a whole run also "
                             "writes the killers of its mutants, tried first next time")
    args = parser.parse_args(argv)
    interrupts.install(announce=True)  # Ctrl-C removes the mutants' server and databases

    # Like the suite, the run reads no .env: it never touches the database named there.
    root = Path.cwd()
    ini = project_ini(root)
    config = settings.resolve(env_file=Path(os.devnull), ini=ini_settings(ini), root=root)
    config = config.with_values("the pinned build", MIGRATE_BIN=ensure_migrate(config))
    folder = config.migrations_dir
    testpaths = ini.get("testpaths", [])
    before = fingerprint(config, testpaths)
    started = time.monotonic()
    server = EmbeddedServer(config)
    try:
        with admin.temporary(server.admin_url, "mutation_reference") as url:
            Migrate(url, folder, config).up()
            with admin.connect(url) as conn:
                mutants = derive(conn, folder)
            reference = state(url)
        reasons = report.equivalent(config.mutation_dir)
        if args.subset:
            mutants = subset(mutants, reasons)
        with tempfile.TemporaryDirectory(prefix="ironarchive-mutants-") as workdir:
            runner = Runner(config, server.admin_url, folder, Path(workdir), reference,
                            killers.known(config.mutation_dir))
            status, output = runner.baseline()
            if status != 0:
                print(output[-5000:], file=sys.stderr)
                print(f"error: the suites fail on the unmutated {folder}: fix that first",
                      file=sys.stderr)
                return 2
            print(f"{len(mutants)} mutants of {folder}, {args.jobs} at a time", flush=True)
            results = run_all(runner, mutants, args.jobs, progress=lambda r: print(
                f"{r.outcome:8} {r.seconds:6.1f} s  {r.mutant.id}  {r.killed_by or r.detail}",
                flush=True))
    finally:
        server.stop()
    seconds = time.monotonic() - started

    print("\n".join(report.table(results)))
    print(f"\n{report.score(results, reasons)}; {seconds:.0f} s")
    moved = changed(before, fingerprint(config, testpaths))
    if moved:
        print(f"error: these files changed during the run, so its results do not count "
              f"(docs/mutation.md is left as it was); run again: {', '.join(moved)}",
              file=sys.stderr)
        return 3
    if str(args.doc) != "-":
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(report.document(results, reasons, folder, seconds, args.subset))
        print(f"wrote {args.doc}")
        if not args.subset:
            print(f"wrote {killers.write(results, config.mutation_dir)}")
    unexplained = report.non_equivalent_survivors(results, reasons)
    errors = [r for r in results if r.outcome == "error"]
    for r in unexplained:
        print(f"error: mutant {r.mutant.id} survived: kill it with a test, or explain in "
              f"equivalent.yaml why it is equivalent", file=sys.stderr)
    for r in errors:
        print(f"error: mutant {r.mutant.id}: {r.detail}", file=sys.stderr)
    return 1 if unexplained or errors else 0


if __name__ == "__main__":
    sys.exit(main())
