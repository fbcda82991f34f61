"""Interrupts (Ctrl-C's SIGINT, a CI cancel's SIGTERM) leave nothing behind.

What is left to clean up if the process is interrupted now is registered here:
``register(cleanup, description)`` returns a handle whose ``done()`` unregisters it once the
normal path has cleaned up itself (``EmbeddedServer`` registers its folder and server).

``install(announce)`` replaces Python's handling of SIGINT and SIGTERM. try/finally is not
enough: make forwards a signal the process group already got, so a second signal used to
interrupt the ``finally`` half-way (a partly deleted server folder), and every process
printed its traceback. On the first signal the handler, once:

1. ignores every further SIGINT and SIGTERM;
2. sends SIGTERM to every process it started, children and theirs (xdist workers; the
   make, pytest, migrate or pg_ctl a test started, also behind a shell), so each cleans up
   its own part meanwhile: a process of ours with this handler ignores the second copy;
3. runs every cleanup this process registered, newest first, each bounded in time and
   exception-proof;
4. waits a bounded time for those processes to end (SIGKILL for the rest);
5. prints one line to stderr when ``announce`` (the pytest controller, the CLI), e.g.
   ``interrupted (SIGTERM): stopped and removed the test server /tmp/ironarchive-pg-x``;
6. ends at once, killed by that same signal (a shell sees 128 + its number, 130 or 143):
   no traceback, no pytest summary, no atexit handlers.

Dying of the signal, rather than exiting with 130, is what a shell waiting on the process
needs to stop as well: bash goes on with a loop (``make test-matrix``) after a child that
"handled" Ctrl-C and exited normally.

A workpiece that must not be split by an interrupt (creating a folder and registering its
cleanup) runs inside ``with deferred():``; a signal meanwhile is handled on leaving it.

The module also finds processes through ``/proc`` (Linux): the ``descendants`` of a
process, and the processes ``working_in`` a folder (their current directory is inside it),
which is how ``servers.stop_at_once`` finds every initdb, pg_ctl and postgres of a server.
"""

import contextlib
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How long the handler waits for the processes it started to end before it kills them.
CHILDREN_TIMEOUT = 15.0
#: How long one registered cleanup may take before the handler moves on.
CLEANUP_TIMEOUT = 20.0


@dataclass
class _Cleanup:
    function: Callable[[], object]
    description: str
    #: The registering process: a forked child inherits the registry, not the cleanups.
    pid: int


_registry: dict[int, _Cleanup] = {}
_keys = itertools.count()
_announce = False
_installed_by: int | None = None
_stderr_fd: int | None = None
_handling = False
_deferred = 0
_pending: int | None = None


class Handle:
    """A registered cleanup; ``done()`` unregisters it (idempotent)."""

    def __init__(self, key: int):
        self._key = key

    def done(self) -> None:
        _registry.pop(self._key, None)


def register(cleanup: Callable[[], object], description: str) -> Handle:
    """Run ``cleanup`` if this process is interrupted before ``done()``.

    ``description`` says what it did, in the past tense, for the one ``interrupted`` line
    (``stopped and removed the test server /tmp/ironarchive-pg-x``). ``cleanup`` must be
    safe to run at any moment of the normal path, and again after it.
    """
    key = next(_keys)
    _registry[key] = _Cleanup(cleanup, description, os.getpid())
    return Handle(key)


def install(announce: bool) -> None:
    """Handle SIGINT and SIGTERM as this module says; ``announce``: print the one line.

    Call it from the main thread. Calling it again only changes ``announce``.
    """
    global _announce, _stderr_fd, _installed_by
    _announce, _installed_by = announce, os.getpid()
    # The real stderr, kept now: pytest's capture may point fd 2 elsewhere when a signal comes.
    if _stderr_fd is None:
        with contextlib.suppress(OSError):
            _stderr_fd = os.dup(2)
            os.set_inheritable(_stderr_fd, False)
    for signum in SIGNALS:
        signal.signal(signum, _handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold back the handling of a signal until the block is left (main thread only)."""
    global _deferred, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
        if _deferred == 0 and _pending is not None:
            signum, _pending = _pending, None
            _handler(signum, None)


def _handler(signum: int, _frame) -> None:
    global _handling, _pending
    if _handling:
        return
    if _deferred:
        _pending = _pending or signum
        return
    _handling = True
    for other in SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(other, signal.SIG_IGN)
    try:
        me = os.getpid()
        started = descendants(me)
        for pid in started:
            send(pid, signal.SIGTERM)
        outcomes = [_run_bounded(entry, CLEANUP_TIMEOUT) for entry in
                    reversed(list(_registry.values())) if entry.pid == me]
        left = wait_gone(started, CHILDREN_TIMEOUT)
        for pid in left:
            send(pid, signal.SIGKILL)
        wait_gone(left, 2)
        if _announce and me == _installed_by:
            _say(interrupted_line(signum, outcomes))
    finally:
        die_of(signum)


def die_of(signum: int) -> None:
    """End this process by ``signum`` itself, so a shell that runs it stops too."""
    try:
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
        time.sleep(1)
    finally:
        os._exit(128 + signum)


def interrupted_line(signum: int, outcomes: list[str]) -> str:
    """``interrupted (SIGTERM): what each cleanup did; ...``"""
    name = signal.Signals(signum).name
    return f"interrupted ({name})" + (": " + "; ".join(outcomes) if outcomes else "")


def _run_bounded(entry: _Cleanup, timeout: float) -> str:
    """Run one cleanup in a thread of its own (the interrupted main thread may hold a lock
    it needs); what to say about it."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            entry.function()
        except BaseException as exc:  # noqa: BLE001 - reported in the one line
            failure.append(exc)

    worker = threading.Thread(target=run, name="interrupt-cleanup", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return f"NOT done within {timeout:.0f} s: {entry.description}"
    if failure:
        detail = str(failure[0]).splitlines()[0] if str(failure[0]) else type(failure[0]).__name__
        return f"FAILED ({detail}): {entry.description}"
    return entry.description


def _say(line: str) -> None:
    data = (line.replace("\n", " ") + "\n").encode(errors="replace")
    for fd in (_stderr_fd, 2):
        if fd is None:
            continue
        try:
            os.write(fd, data)
            return
        except OSError:
            continue


# --- processes, through /proc ----------------------------------------------------------------

def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1])


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def parent(pid: int) -> int | None:
    stat = _stat(pid)
    return None if stat is None else stat[1]


def name(pid: int | None) -> str:
    """The command name of a process (``postgres``, ``initdb``), or "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """The live processes ``pid`` started, and the ones they started, and so on (a daemon,
    such as a postmaster ``pg_ctl`` started, is no longer among them)."""
    children: dict[int, list[int]] = {}
    for other in _pids():
        stat = _stat(other)
        if stat is not None and stat[0] not in ("Z", "X"):
            children.setdefault(stat[1], []).append(other)
    found, todo = [], list(children.get(pid, []))
    while todo:
        other = todo.pop()
        found.append(other)
        todo.extend(children.get(other, []))
    return found


def working_in(folder: Path) -> list[int]:
    """Live processes whose current directory is ``folder`` or inside it (also once it has
    been deleted)."""
    root = os.path.realpath(folder)
    found = []
    for pid in _pids():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        cwd = cwd.removesuffix(" (deleted)")
        if (cwd == root or cwd.startswith(root + "/")) and alive(pid):
            found.append(pid)
    return found


def send(pid: int, signum: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signum)


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` is alive, at most ``timeout`` s; those still alive."""
    deadline = time.monotonic() + timeout
    left = [pid for pid in pids if alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [pid for pid in left if alive(pid)]
    return left
