"""`casework serve`: the web pages and /api, with the timer worker running beside them."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import click

from engine.cli.support import common, handles_errors, settings_of
from engine.jobs.metrics import MULTIPROCESS
from engine.kernel.errors import CaseworkError
from engine.kernel.logs import configure_logging
from engine.wiring import Casework, open_casework

SWEEP_SECONDS = 5.0


# proxy_headers=False: uvicorn would otherwise take the client address and scheme from
# X-Forwarded-For/-Proto of any peer on 127.0.0.1; casework believes only the proxies of
# CASEWORK_TRUSTED_PROXIES (web/clients.py).


def run_server(casework: Casework, host: str, port: int, processes: int = 1,
               sweep: bool = True) -> None:
    """Serve until stopped (Ctrl-C, SIGTERM). With `sweep`, this process also fires due timers
    every few seconds (engine.jobs.worker.Sweeper), unless the clock is fixed by --now."""
    import uvicorn

    from engine.cli.worker import JOB_STOP_SECONDS, job_runner
    from engine.jobs.worker import Sweeper

    sweeper = jobs = None
    if sweep and casework.settings.now is None:
        sweeper = Sweeper(casework.worker, casework.settings.clock, SWEEP_SECONDS)
        sweeper.start()
        jobs = job_runner(casework)  # the jobs requested on the pages (engine.jobs.requested)
        jobs.start()
    configure_logging(casework.settings.log_format)
    try:
        if processes == 1:
            from web.app import create_app

            uvicorn.run(create_app(casework), host=host, port=port, log_level="warning",
                        proxy_headers=False)
        else:  # each process opens casework itself, from the same settings
            os.environ.update(process_environment(casework))
            with tempfile.TemporaryDirectory(prefix="casework-metrics-") as counts:
                os.environ[MULTIPROCESS] = counts  # the processes' counts, summed per scrape
                serve_processes(host, port, processes)
    finally:
        if sweeper is not None:
            sweeper.stop()
        if jobs is not None:  # a job in hand is left to its lease: another worker takes it over
            jobs.stop(JOB_STOP_SECONDS)


def process_environment(casework: Casework) -> dict[str, str]:
    """The settings each server process reads (web.app.app_from_environment): the same home,
    database and, when --now fixed it, clock as this process."""
    found = {"CASEWORK_HOME": str(casework.settings.home),
             "CASEWORK_DATABASE_URL": casework.settings.database_url}
    if casework.settings.now is not None:
        found["CASEWORK_NOW"] = casework.settings.now.isoformat()
    return found


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the server processes share, made as uvicorn makes it but with the protocol
    named: asyncio turns Nagle's algorithm off only on connections of a socket whose proto
    is TCP, and uvicorn's own (proto 0) leaves it on, so that every request after the first
    on a kept-alive connection waits ~40 ms for a delayed ACK (uvicorn issue 3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CaseworkError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; is "
                            "another server running there? Choose another --port") from None
    sock.set_inheritable(True)
    return sock


def serve_processes(host: str, port: int, processes: int) -> None:
    """`processes` uvicorn workers on one listening socket (what uvicorn.run(workers=N) does,
    with the socket of listening_socket)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("web.app:app_from_environment", factory=True, host=host, port=port,
                            workers=processes, log_level="warning", proxy_headers=False)
    with listening_socket(host, port) as sock:
        Multiprocess(config, sockets=[sock]).run()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put TLS in front)")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (PostgreSQL, or SQLite on one machine)")
@click.option("--no-worker", is_flag=True,
              help="Do not fire due timers in this process (run `casework worker` instead)")
@common
@handles_errors
def serve(host: str, port: int, processes: int, no_worker: bool, home: Path | None,
          now_text: str | None) -> None:
    """Serve the web pages and the JSON API (/api, schema at /schema)."""
    casework = open_casework(settings_of(home, now_text))
    try:
        click.echo(f"casework on http://{host}:{port}/ ({casework.database.dialect}); "
                   "Ctrl-C stops it")
        run_server(casework, host, port, processes, sweep=not no_worker)
    finally:
        casework.close()
