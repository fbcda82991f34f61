"""Apply and test mutants on one shared PostgreSQL server, two at a time at most.

Each mutant is first migrated into a database of its own: a file that fails to apply makes
the mutant ``invalid`` (neither killed nor survived). Then the project's suites
(``MUTATION_SUITES``, paths under the project's root; none: its testpaths) run on the
mutated folder in a pytest process of their own (``-x``: the first failing test kills the
mutant), against the same server, so each run only creates and drops its own admin. The
suites always run in full unless one test fails; the rest only orders them for an early
kill. The likeliest killer runs alone first: the test that killed the mutant last time
(``killers``), else for a down file the suites' lifecycle tests (``-k lifecycle``). Then
the suites: in the order given when the mutant changed what a contract states (catalog,
seeded settings), so list the catalog's checks first; else the other way round.
"""

import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ironarchive_schema import settings
from ironarchive_schema.catalog import pg_catalog
from ironarchive_schema.migrate.command import Migrate, MigrateError
from ironarchive_schema.mutation.mutant import Mutant
from ironarchive_schema.mutation.workspace import write
from ironarchive_schema.postgres import admin

#: What the inner runs leave out: the lock and the lock profile, which would kill every
#: mutant (a released file changed; a statement added or gone) without looking at what it
#: does to the schema, and the mutation tests themselves. The other checks of the files'
#: text stay: a mutant the SQL linters or the folder's rules refuse (a down file without its
#: timeouts) would not get past the gate either.
SELECTION = ("-m", "not lock and not lock_profile and not mutation")
#: The tests that run down migrations, by keyword: first for a mutant of a down file with no
#: known killer.
DOWN_TESTS = ("-k", "lifecycle")
PYTEST_TIMEOUT = 900  # seconds; a whole unmutated run takes about 12 on 2 cores


def _under(path: str, suite: str) -> bool:
    return path == suite or path.startswith(f"{suite}/")


def suites(config: settings.Settings) -> tuple[str, ...]:
    """``MUTATION_SUITES``: the paths a mutant runs through; none for the testpaths."""
    return tuple((config.get("MUTATION_SUITES") or "").split())


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    outcome: str  # killed | survived | invalid | error
    killed_by: str | None
    seconds: float
    detail: str = ""


def state(url: str) -> tuple[dict, dict | None]:
    """What the contract can see of a migrated database: the catalog but function bodies
    (the contract states no bodies; the behaviour suite tests what they do), and the
    seeded settings."""
    with admin.connect(url) as conn:
        snap = pg_catalog.snapshot(conn)
        for function in snap["functions"].values():
            function.pop("source_md5", None)
        return snap, pg_catalog.settings(conn)


class Runner:
    def __init__(self, config: settings.Settings, admin_url: str, migrations_dir: Path,
                 workdir: Path, reference: tuple[dict, dict | None],
                 killers: dict[str, str] | None = None):
        self.config = config
        self.admin_url = admin_url
        self.migrations_dir = migrations_dir
        self.suites = suites(config)
        self.workdir = workdir
        self.reference = reference
        self.killers = killers or {}

    def _migrated_state(self, folder: Path) -> tuple[dict, dict | None]:
        with admin.temporary(self.admin_url, "mutant") as url:
            Migrate(url, folder, self.config).up()
            return state(url)

    def _pytest(self, folder: Path, tests: tuple[str, ...]) -> tuple[int, str, str | None]:
        """Exit status, output and the first failing test of ``tests`` run on ``folder``."""
        failure = self.workdir / f"first-failure-{uuid.uuid4().hex}"
        # The inner run gets its settings as flags, and an environment with none of them.
        env = settings.child_environment(self.config)
        flags = [f"--migrations-dir={folder}", "--postgres=url",
                 f"--database-url={self.admin_url}",
                 *(f"--{name.lower().replace('_', '-')}={self.config.get(name)}"
                   for name in settings.SUITE_SETTINGS if self.config.get(name)),
                 f"--first-failure-file={failure}"]
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-n", "0",
             *SELECTION,
             "-p", "no:cacheprovider", "-p", f"{__package__}.firstfailure", *flags, *tests],
            cwd=self.config.root, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT)
        first = failure.read_text() if failure.exists() else None
        failure.unlink(missing_ok=True)
        return proc.returncode, (proc.stdout + proc.stderr).strip(), first

    def baseline(self) -> tuple[int, str]:
        """The suites on the unmutated folder: they must pass, or no kill means anything."""
        status, output, _ = self._pytest(self.migrations_dir, self.suites)
        return status, output

    def _first(self, mutant: Mutant) -> tuple[str, ...]:
        """The tests likeliest to kill ``mutant``, tried alone before the suites."""
        known = self.killers.get(mutant.id, "")
        if known and (not self.suites or any(_under(known.split("::", 1)[0], suite)
                                             for suite in self.suites)):
            return (known,)
        if mutant.down_file:
            return (*DOWN_TESTS, *self.suites)
        return ()

    def run(self, mutant: Mutant) -> Result:
        start = time.monotonic()
        folder = write(mutant, self.migrations_dir, self.workdir / re.sub(r"\W+", "_", mutant.id))

        def result(outcome: str, killed_by: str | None = None, detail: str = "") -> Result:
            return Result(mutant, outcome, killed_by, round(time.monotonic() - start, 1), detail)

        try:
            visible = self._migrated_state(folder) != self.reference
        except MigrateError as exc:
            lines = (exc.output or str(exc)).strip().splitlines() or [str(exc)]
            return result("invalid", detail=lines[-1][:200])
        first = self._first(mutant)
        suites = self.suites if visible else self.suites[::-1]
        try:
            if first:
                # Only a kill counts here: a pass, or a known killer that no longer exists,
                # leaves the verdict to the suites.
                status, _, killer = self._pytest(folder, first)
                if status == 1 and killer:
                    return result("killed", killer)
            status, output, killer = self._pytest(folder, suites)
        except subprocess.TimeoutExpired:
            return result("error", detail=f"the suite ran longer than {PYTEST_TIMEOUT} s")
        if status == 0:
            return result("survived")
        if status == 1 and killer:
            return result("killed", killer)
        return result("error", detail=output[-300:])


def run_all(runner: Runner, mutants: list[Mutant], jobs: int = 2,
            progress=lambda result: None) -> list[Result]:
    """Results in the order of ``mutants``; ``progress`` sees each as it finishes."""
    def one(mutant: Mutant) -> Result:
        result = runner.run(mutant)
        progress(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, mutants))
