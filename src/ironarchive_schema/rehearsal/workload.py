"""A workload at a fixed rate: the application's queries, from several connections, while
a migration runs.

Each connection runs its share of the tasks round-robin on a fixed schedule (``rate``
queries a second). A query's latency is counted from when the schedule says it should
start, not from when the connection got to it: a connection held up behind a lock is late
for every query after the one that waited, and each of those waits counts (wrk2's answer to
coordinated omission). Every query runs in a transaction that is rolled back, so a write
takes its locks as the application's would and the archive stays as it was: the rehearsal of
each migration sees the same data.
"""

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from ironarchive_schema.rehearsal.locks import first_line

#: The workload's connections call themselves this in pg_stat_activity.
APPLICATION_NAME = "rehearsal-workload"


@dataclass(frozen=True)
class Task:
    """One of the application's queries, with the parameter rows it cycles through."""

    name: str
    sql: str
    params: tuple[dict, ...]


@dataclass(frozen=True)
class Sample:
    at: float  # scheduled start, in seconds on the rehearsal's clock (time.monotonic)
    task: str
    latency_ms: float  # from the scheduled start until the result was read
    error: str | None  # the first line of PostgreSQL's error, or None


class Workload:
    """``connections`` threads running ``tasks`` at ``rate`` queries a second in all, until
    :meth:`stop`; :attr:`samples` holds what each query measured."""

    def __init__(self, connect: Callable[[], psycopg.Connection], tasks: list[Task],
                 connections: int, rate: float, statement_timeout_ms: int):
        if not tasks or connections < 1 or rate <= 0:
            raise ValueError("a workload needs tasks, a connection and a positive rate")
        self.samples: list[Sample] = []
        self._connect = connect
        self._tasks = tasks
        self._interval = connections / rate
        self._timeout_ms = statement_timeout_ms
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(number, connections),
                                          daemon=True, name=f"workload-{number}")
                         for number in range(connections)]

    def __enter__(self) -> "Workload":
        self._connections = [self._open() for _ in self._threads]
        self._start = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _open(self) -> psycopg.Connection:
        conn = self._connect()
        conn.execute("SELECT set_config('application_name', %s, false), "
                     "set_config('statement_timeout', %s, false)",
                     (APPLICATION_NAME, str(self._timeout_ms)))
        conn.commit()
        return conn

    def _run(self, number: int, connections: int) -> None:
        conn = self._connections[number]
        tasks = itertools.cycle(self._tasks[number % len(self._tasks):]
                                + self._tasks[:number % len(self._tasks)])
        rows = {task.name: itertools.cycle(task.params or ({},)) for task in self._tasks}
        # Connections start spread over one interval, so the rate is even, not in bursts.
        scheduled = self._start + self._interval * number / connections
        try:
            while not self._stop.is_set():
                delay = scheduled - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                task = next(tasks)
                error = None
                try:
                    with conn.cursor() as cur:
                        cur.execute(task.sql, next(rows[task.name]))
                        if cur.description:
                            cur.fetchall()
                    conn.rollback()
                except psycopg.Error as exc:
                    error = first_line(exc)
                    conn = self._recover(conn)
                self.samples.append(Sample(scheduled, task.name,
                                           (time.monotonic() - scheduled) * 1000, error))
                scheduled += self._interval
        finally:
            conn.close()

    def _recover(self, conn: psycopg.Connection) -> psycopg.Connection:
        """The connection after a failed query: rolled back, or a new one if it broke."""
        try:
            conn.rollback()
            return conn
        except psycopg.Error:
            conn.close()
            return self._open()
