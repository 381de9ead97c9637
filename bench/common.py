"""What the benchmarks share: the engine's SQLite pragmas, a throw-away PostgreSQL server and its
databases, copies of SQLite files, worker processes released together, and stopping with a
clear message (exit code 2) when the machine cannot run a benchmark."""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

# what engine/store/db.py sets on every SQLite connection
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
           "PRAGMA busy_timeout=10000", "PRAGMA temp_store=MEMORY")
SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite
WAIT_READY_S = 300.0


class BenchStopped(SystemExit):
    """The benchmark cannot run here: one line saying why and what to do, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


def stop(message: str) -> NoReturn:
    raise BenchStopped(message)


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's main, turning BenchStopped into its one line on stderr."""
    try:
        main()
    except BenchStopped as stopped:
        print(f"{Path(sys.argv[0]).name}: {stopped.message}", file=sys.stderr)
        raise SystemExit(2) from None


def sqlite_unlocked(path: Path) -> None:
    """Stop unless the SQLite file can be written now (another process may hold it locked)."""
    try:
        with closing(sqlite3.connect(path, timeout=2.0, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        stop(f"the database {path} is locked by another process ({exc}); wait for it to "
             "finish or stop it, then run the benchmark again")


def sqlite_copy(source: Path, target: Path) -> None:
    """A byte-for-byte copy of a SQLite database (the backup API: consistent while in use)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@contextmanager
def connected(url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class Postgres:
    """A PostgreSQL server (started here as the tests start theirs, or given by an admin URL)
    and the benchmark's databases on it, dropped at the end."""

    def __init__(self, admin_url: str | None, prefix: str, fsync: bool = False) -> None:
        self.server: Any = None
        if admin_url is None:
            from tests.pgserver import server_binaries, start_server

            if server_binaries() is None:
                stop("PostgreSQL cannot be started: no server binaries under "
                     "/usr/lib/postgresql (install the postgresql package, or give a server "
                     "with --postgres-url)")
            try:
                self.server = start_server(fsync=fsync)
            except RuntimeError as exc:
                last = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
                stop(f"PostgreSQL could not be started ({last}); see the server's log, or "
                     "give a running server with --postgres-url")
            admin_url = str(self.server.url)
        self.admin_url = admin_url
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"{prefix}_{os.getpid()}"
        self.made: list[str] = []
        try:
            with self.admin.connect() as connection:
                self.version = str(connection.exec_driver_sql("SHOW server_version").scalar())
                self.fsync = str(connection.exec_driver_sql("SHOW fsync").scalar())
        except sa.exc.OperationalError as exc:
            self.close()
            stop(f"cannot connect to PostgreSQL at {sa.make_url(admin_url).render_as_string()}"
                 f" ({str(exc.orig).strip().splitlines()[0]})")

    def url(self, name: str) -> str:
        return sa.make_url(self.admin_url).set(database=name).render_as_string(
            hide_password=False)

    def create(self, label: str, template: str | None = None) -> str:
        """A new database (a copy of `template`, if given); its name."""
        name = f"{self.prefix}_{label}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            for attempt in range(20):  # a template must have no connections (autovacuum)
                try:
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
                    break
                except sa.exc.OperationalError:
                    if attempt == 19:
                        raise
                    time.sleep(0.5)
        self.made.append(name)
        return name

    def vacuum(self, name: str) -> None:
        """VACUUM ANALYZE a prepared database, as autovacuum would after the inserts."""
        engine = sa.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()

    def seal(self, name: str) -> None:
        """Close a prepared database to connections: a template nothing else touches."""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        self.made.remove(name)

    def close(self) -> None:
        try:
            for name in list(self.made):
                self.drop(name)
            self.admin.dispose()
        finally:
            if self.server is not None:
                self.server.stop()


# --- processes released together ---------------------------------------------------------------

@dataclass
class Run:
    seconds: float  # wall: from releasing the processes to the last one done
    counts: list[int]  # what each process did (fires, timers)
    own_seconds: list[float]  # each process's own time around its work


def child(make: Callable[..., Any], args: tuple[Any, ...], go: Event,
          results: Queue[Any]) -> None:
    """One process: build its job (`make(*args)`, which has `run() -> int` and `close()`), say
    it is ready, wait for the start, run, report."""
    try:
        job = make(*args)
        try:
            gc.collect()
            results.put(("ready", os.getpid()))
            go.wait()
            started = time.perf_counter()
            done = job.run()
            seconds = time.perf_counter() - started
        finally:
            job.close()
        results.put(("done", done, seconds))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _receive(results: Queue[Any], processes: list[SpawnProcess], kind: str,
             timeout: float | None) -> tuple[Any, ...]:
    """The next message of a process; fail if one died without saying why."""
    waited = 0.0
    while True:
        try:
            message: tuple[Any, ...] = results.get(timeout=1.0)
        except queue.Empty:
            waited += 1.0
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a process died (exit code {dead[0].exitcode})") from None
            if timeout is not None and waited > timeout:
                raise RuntimeError(f"no '{kind}' from the processes in {timeout:.0f} s"
                                   ) from None
            continue
        if message[0] == "error":
            raise RuntimeError(f"a process failed:\n{message[1]}")
        return message


def in_processes(make: Callable[..., Any], each: list[tuple[Any, ...]]) -> Run:
    """One spawned process per argument tuple, each running `make(*args).run()`, released
    together once all are ready; timed from the release to the last one done."""
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results: Queue[Any] = context.Queue()
    processes = [context.Process(target=child, args=(make, args, go, results))
                 for args in each]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            _receive(results, processes, "ready", WAIT_READY_S)
        started = time.perf_counter()
        go.set()
        done = [_receive(results, processes, "done", None) for _ in processes]
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():  # only after a failure: end what this run started
                process.terminate()
                process.join()
    return Run(seconds, [int(d[1]) for d in done], [float(d[2]) for d in done])
