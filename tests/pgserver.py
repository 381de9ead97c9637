"""A real, throw-away PostgreSQL server for the test session, started as an operator would.

Uses the server binaries of Debian's postgresql package (initdb, pg_ctl) on a temporary data
directory, listening on loopback only. As root, the server runs as the `postgres` user (switched
to by subprocess, so that no tool from /usr/sbin needs to be on PATH).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def server_binaries() -> Path | None:
    """The bin folder of the newest installed PostgreSQL server, if there is one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    base: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        """Run a server binary by its full path; as root, as the postgres user (PostgreSQL
        refuses to run as root), switched to by subprocess itself rather than by runuser or
        su, which live in /usr/sbin and /usr/bin and need not be on PATH."""
        command = [str(self.bindir / args[0]), *args[1:]]
        as_postgres: dict[str, Any] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            as_postgres = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [],
                           "cwd": self.base,  # the postgres user may not enter ours
                           "env": {**os.environ, "HOME": entry.pw_dir, "USER": "postgres",
                                   "LOGNAME": "postgres"}}
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                **as_postgres)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self, fsync: bool = False) -> None:
        data = self.base / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} "
                   f"-c fsync={'on' if fsync else 'off'} -c max_connections=100")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.base / "log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_server(fsync: bool = False) -> PostgresServer:
    """A new server on a free port; `fsync` on as in production (the tests run it off: they
    check what is written, not how durably)."""
    bindir = server_binaries()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql "
                                "(install Debian's postgresql package)")
    base = Path(tempfile.mkdtemp(prefix="casework-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir, base, _free_port())
    try:
        server.start(fsync)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return server
