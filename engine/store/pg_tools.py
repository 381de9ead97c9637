"""PostgreSQL's own client programs (pg_dump, pg_restore), found and run for backups."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from engine.kernel.errors import CaseworkError


def pg_program(name: str) -> Path:
    """The newest installed `name` of Debian's postgresql packages (/usr/lib/postgresql/N/bin,
    where tests/pgserver.py finds the server), else the one on PATH. The newest, because
    pg_dump refuses a server newer than itself."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: _version(Path(p).parent.parent.name))
    if found:
        return Path(found[-1])
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise CaseworkError(f"{name} was not found in /usr/lib/postgresql/*/bin or on PATH; install "
                        "PostgreSQL's client programs (Debian: postgresql-client) to back up or "
                        "restore a PostgreSQL database")


def _version(name: str) -> int:
    return int(name) if name.isdigit() else -1


def run_program(name: str, url: str | None, *args: str) -> None:
    """Run pg_dump, pg_restore or psql against the database of a SQLAlchemy URL (None: none,
    pg_restore writing a script); the password goes in the environment (PGPASSWORD), never on
    a command line others can read."""
    command, env, where = [str(pg_program(name)), *args], {**os.environ}, "a file"
    if url is not None:
        parsed = sa.make_url(url)
        target = parsed.set(drivername="postgresql", password=None)
        command.append(f"--dbname={target.render_as_string()}")
        where = f"database {target.database!r}"
        if parsed.password is not None:
            env["PGPASSWORD"] = str(parsed.password)
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise CaseworkError(f"{name} failed (exit {result.returncode}) on {where}: "
                            f"{result.stderr.strip() or result.stdout.strip()}")
