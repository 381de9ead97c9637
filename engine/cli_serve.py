"""`casework serve`: the web pages and /api, with the timer worker running beside them."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from engine.cli_support import common, handles_errors, settings_of
from engine.wiring import Casework, open_casework

SWEEP_SECONDS = 5.0


def run_server(casework: Casework, host: str, port: int, processes: int = 1,
               sweep: bool = True) -> None:
    """Serve until stopped (Ctrl-C, SIGTERM). With `sweep`, this process also fires due timers
    every few seconds (engine.worker.Sweeper), unless the clock is fixed by --now."""
    import uvicorn

    from engine.worker import Sweeper

    sweeper = None
    if sweep and casework.settings.now is None:
        sweeper = Sweeper(casework.worker, casework.settings.clock, SWEEP_SECONDS)
        sweeper.start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if processes == 1:
            from web.app import create_app

            uvicorn.run(create_app(casework), host=host, port=port, log_level="warning")
        else:  # each process opens casework itself, from the same settings
            os.environ["CASEWORK_HOME"] = str(casework.settings.home)
            os.environ["CASEWORK_DATABASE_URL"] = casework.settings.database_url
            uvicorn.run("web.app:app_from_environment", factory=True, host=host, port=port,
                        workers=processes, log_level="warning")
    finally:
        if sweeper is not None:
            sweeper.stop()


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
