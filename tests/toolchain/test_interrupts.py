"""Interrupts leave nothing behind (issue 13, item 14).

Ctrl-C sends SIGINT to the whole foreground process group; a CI cancel sends SIGTERM, to
the group too, and GNU make forwards it to its children, so a process may get it twice.
Whatever the moment, an interrupted ``make test-schema`` must leave no server folder,
socket or lock file in the temporary folder and no PostgreSQL process, and say so in one
line, without a traceback.

The first tests run ``make test-schema`` in a session of its own with a temporary folder
of its own (``TMPDIR``), interrupt it at a moment chosen by watching for what that moment
creates (a server folder, a migrate process, a worker's server) and then look at what is
left. The last ones check ``interrupts`` itself in a small Python process, without make.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import commands
from ironarchive_schema import interrupts
from ironarchive_schema.paths import REPO_ROOT
from ironarchive_schema.postgres.backends import stop_at_once
from ironarchive_schema.postgres.binaries import find_bindir
from ironarchive_schema.settings import child_environment

#: Tests that start servers: the controller's, then a worker's own (test_servers.py), then
#: enough contract tests to keep both workers busy (the built-in contract check, collected
#: under tests/conftest.py, and tests/contract).
SELECTION = ("tests/toolchain/test_servers.py tests/conftest.py tests/contract -q "
             "-p no:randomly -k 'embedded_server or contract'")
#: How long a moment, and then the end of everything after the signal, may take.
MOMENT_TIMEOUT = 60
EXIT_TIMEOUT = 30


def _environment(tmp: Path, **values) -> dict[str, str]:
    runner = commands.RUNNER
    return child_environment(runner, TMPDIR=tmp, MIGRATE_BIN=runner.get("MIGRATE_BIN"),
                             PG_BINDIR=find_bindir(runner), PG_RUN_AS=runner.get("PG_RUN_AS"),
                             ENV_FILE=os.devnull, **values)


@pytest.fixture
def scratch():
    """A temporary folder the server's unprivileged account can enter (0755 under /tmp);
    whatever a failed test leaves in it is stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="interrupt-test-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        stop_at_once(folder)
        shutil.rmtree(folder, ignore_errors=True)


# --- what a process tree leaves behind ------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _in_session(sid: int) -> list[int]:
    """Live processes of session ``sid`` (make's, with everything it started)."""
    found = []
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields and int(fields[3]) == sid and fields[0] not in "ZX":
            found.append(pid)
    return found


def _arguments(pid: int) -> list[str]:
    """The command line of a process, [] when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _using(folder: Path) -> list[str]:
    """Live processes working in ``folder`` or naming it on their command line."""
    root = str(folder)
    found = []
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if not fields or fields[0] in "ZX" or pid == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + "/") or root + "/" in cmdline:
            found.append(f"{pid} {cmdline.strip()[:120]} (in {cwd})")
    return found


def _leftovers(folder: Path) -> list[str]:
    """Server folders, PostgreSQL sockets and lock files anywhere under ``folder``."""
    left = []
    for path in sorted(folder.rglob("*")):
        name = path.name
        if (path.parent == folder and name.startswith("ironarchive-")) or \
                name.startswith(".s.PGSQL.") or name in ("postmaster.pid", "postmaster.opts"):
            left.append(str(path.relative_to(folder)))
    return left


class Run:
    """``make test-schema`` in a session of its own, its output read as it comes."""

    def __init__(self, tmp: Path, pytest_args: str = SELECTION, **values):
        self.tmp = tmp
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "test-schema", "WORKERS=2",
             f"PYTEST_ARGS={pytest_args}"],
            cwd=REPO_ROOT, env=_environment(tmp, **values), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + MOMENT_TIMEOUT
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended or took {MOMENT_TIMEOUT} s before {what}:\n"
                            f"{self.output[-3000:]}")
            time.sleep(0.005)

    def servers(self) -> list[Path]:
        return sorted(self.tmp.glob("ironarchive-pg-*"))

    def migrate_running(self) -> bool:
        """The template's ``migrate ... up`` runs: not the ``migrate -version`` and ``-help``
        with which ``ensure_migrate`` checks the binary before the server is started (a
        signal then finds nothing to clean up, and the line rightly names nothing)."""
        return any(interrupts.name(pid).startswith("migrate") and _arguments(pid)[-1:] == ["up"]
                   for pid in _in_session(self.process.pid))

    def send(self, signum: int, to: str) -> None:
        """``to``: ``group`` (Ctrl-C, a CI cancel), ``make`` or ``group+make`` (twice)."""
        if "group" in to:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass
        if "make" in to and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def finish(self) -> float:
        """Wait until make and every process of its session are gone; the seconds it took."""
        start = time.monotonic()
        try:
            self.process.wait(EXIT_TIMEOUT)
            while _in_session(self.process.pid) and time.monotonic() - start < EXIT_TIMEOUT:
                time.sleep(0.02)
        finally:
            survivors = _in_session(self.process.pid)
            for pid in survivors:
                interrupts.send(pid, signal.SIGKILL)
            self.reader.join(10)
        assert not survivors, f"processes of the run still alive {EXIT_TIMEOUT} s after " \
                              f"the signal: {survivors}\n{self.output[-3000:]}"
        return time.monotonic() - start


def _slow_migrations(source: Path, target: Path) -> Path:
    """A copy of ``source`` whose first file waits a minute before it starts."""
    shutil.copytree(source, target)
    first = min(target.glob("*.up.sql"))
    first.write_text("SELECT pg_sleep(60);\n" + first.read_text())
    return target


#: (moment, signal, to whom): both signals, each way of delivering one (Ctrl-C: the group;
#: a CI cancel: the group, often make too; a kill of make alone), and each moment.
CASES = [
    ("server start", signal.SIGINT, "group"),
    ("server start", signal.SIGTERM, "make"),
    ("template migrate", signal.SIGTERM, "group+make"),
    ("a worker's own server", signal.SIGTERM, "make"),
    ("a worker's own server", signal.SIGINT, "group+make"),
    ("cleanup", signal.SIGINT, "group"),
]


@pytest.mark.parametrize(("moment", "signum", "to"), CASES,
                         ids=[f"{m.replace(' ', '-')}-{s.name}-{t}" for m, s, t in CASES])
def test_an_interrupted_make_test_leaves_nothing_behind(migrations_dir, scratch, moment, signum,
                                                       to):
    """At each moment, then SIGINT or SIGTERM to the group, to make only, or to both (make
    forwards it: twice): no server folder, socket, lock or server process is left, the run
    fails, and the output says ``interrupted`` once, without a traceback. ``cleanup``: the
    same signal again while the first one's cleanup runs (Ctrl-C pressed twice)."""
    tmp = scratch / "tmp"
    tmp.mkdir(mode=0o755)
    values = {}
    if moment == "template migrate":
        values["MIGRATIONS_DIR"] = _slow_migrations(migrations_dir, scratch / "migrations")
    run = Run(tmp, **values)
    try:
        if moment == "server start":
            run.wait_for("the server's folder appeared", lambda: run.servers())
        elif moment == "template migrate":
            run.wait_for("the template migrate started", run.migrate_running)
        else:
            # From initdb to its removal by the test's own stop: over a second.
            run.wait_for("a worker's server appeared", lambda: len(run.servers()) >= 2)
        run.send(signum, to)
        if moment == "cleanup":  # again, once the first signal's cleanup has begun
            deadline = time.monotonic() + 5
            while len(run.servers()) >= 2 and time.monotonic() < deadline:
                time.sleep(0.002)
            run.send(signum, to)
        seconds = run.finish()
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
    output = run.output
    assert run.process.returncode != 0, output
    assert _leftovers(tmp) == [], output
    assert _using(scratch) == [], output
    interrupted = [line for line in output.splitlines() if "interrupted" in line.lower()]
    assert len(interrupted) == 1, f"want one 'interrupted' line, have:\n{output}"
    assert interrupted[0].startswith(f"interrupted ({signum.name}): stopped and removed the "
                                     f"test server {tmp}/ironarchive-pg-"), output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert seconds < 10, f"the run took {seconds:.1f} s to end after the signal"


# --- interrupts itself, in a small process --------------------------------------------------

def _python(tmp: Path, script: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=tmp,
                          env=_environment(tmp), capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_the_first_signal_runs_each_cleanup_once_and_exits_with_one_line(scratch):
    """Newest cleanup first, a failing one reported and the rest still run, an unregistered
    one not run; the processes it started stopped, also one behind a shell; a second signal
    meanwhile changes nothing; killed by the signal (a shell sees 143), one line on stderr,
    nothing else."""
    result = _python(scratch, """
        import os, signal, subprocess, time
        from pathlib import Path
        from ironarchive_schema import interrupts
        interrupts.install(announce=True)
        child = subprocess.Popen(["sleep", "60"])
        Path("child").write_text(str(child.pid))
        subprocess.Popen(["sh", "-c", "sleep 60 & echo $! > grandchild; wait"])
        while not Path("grandchild").exists() or not Path("grandchild").read_text():
            time.sleep(0.01)
        def note(name):
            with open("ran", "a") as f:
                f.write(name + "\\n")
                os.kill(os.getpid(), signal.SIGTERM)  # again, during the cleanup
        def fail():
            note("fail")
            raise RuntimeError("the disk is gone")
        interrupts.register(lambda: note("first"), "removed the first")
        interrupts.register(lambda: note("never"), "removed nothing").done()
        interrupts.register(fail, "removed the second")
        interrupts.register(lambda: note("third"), "removed the third")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        print("not interrupted")
    """)
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert result.stdout == ""
    assert result.stderr == ("interrupted (SIGTERM): removed the third; FAILED (the disk is "
                             "gone): removed the second; removed the first\n")
    assert (scratch / "ran").read_text() == "third\nfail\nfirst\n"
    for started in ("child", "grandchild"):
        assert not interrupts.alive(int((scratch / started).read_text())), started


def test_a_worker_is_silent_and_a_hanging_cleanup_is_cut_short(scratch):
    result = _python(scratch, """
        import os, signal, time
        from ironarchive_schema import interrupts
        interrupts.CLEANUP_TIMEOUT = 0.5
        interrupts.install(announce=False)
        interrupts.register(lambda: time.sleep(60), "waited for ever")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    """, timeout=10)
    assert (result.returncode, result.stdout, result.stderr) == (-signal.SIGINT, "", "")


def test_a_signal_inside_deferred_is_handled_on_leaving_it(scratch):
    result = _python(scratch, """
        import os, signal
        from pathlib import Path
        from ironarchive_schema import interrupts
        interrupts.install(announce=True)
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            Path("inside").touch()
        Path("after").touch()
    """)
    assert result.returncode == -signal.SIGINT
    assert result.stderr == "interrupted (SIGINT)\n"
    assert (scratch / "inside").exists() and not (scratch / "after").exists()


@pytest.mark.parametrize("moment", ["running", "stopping"])
def test_an_interrupted_embedded_server_is_stopped_and_removed(scratch, moment):
    """``running``: with a connection open; ``stopping``: half-way through ``stop()``'s own
    removal (where a second signal used to leave a partly deleted folder)."""
    result = _python(scratch, f"""
        import os, shutil, signal, time
        from ironarchive_schema import interrupts, settings
        from ironarchive_schema.postgres import admin
        from ironarchive_schema.postgres import backends
        interrupts.install(announce=True)
        server = backends.EmbeddedServer(settings.resolve())
        print(server.base_dir, flush=True)
        if {moment!r} == "running":
            conn = admin.connect(server.admin_url)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        def half_removed(folder):
            backends.remove = remove
            shutil.rmtree(folder / "data" / "base")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        remove, backends.remove = backends.remove, half_removed
        server.stop()
    """)
    folder = Path(result.stdout.strip())
    assert folder.parent == scratch, result.stdout + result.stderr
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert result.stderr == f"interrupted (SIGTERM): stopped and removed the test server " \
                            f"{folder}\n"
    assert not folder.exists()
    assert _using(scratch) == []
