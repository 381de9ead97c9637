"""`casework serve --processes N`: the server processes share one TCP socket, answer kept-alive
connections without waiting on delayed ACKs, and run with the settings of the command."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.cli.serve import listening_socket, process_environment
from engine.kernel.errors import CaseworkError
from engine.kernel.settings import Settings
from engine.store import Database
from engine.store.upgrades import upgrade
from engine.wiring import Casework, open_casework
from tests.fixtures import ROOT

CASEWORK = str(Path(sys.executable).parent / "casework")


def test_the_shared_socket_is_a_tcp_socket_the_processes_inherit() -> None:
    with listening_socket("127.0.0.1", 0) as sock:
        assert (sock.family, sock.type, sock.proto) == (
            socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        assert sock.get_inheritable()
        port = sock.getsockname()[1]
        sock.listen()
        with pytest.raises(CaseworkError, match=f"cannot listen on 127.0.0.1:{port}: .*--port"):
            listening_socket("127.0.0.1", port)


def test_each_process_gets_the_home_database_and_fixed_clock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    now = datetime(2026, 3, 4, 11, tzinfo=UTC)
    for fixed, expected in ((now, {"CASEWORK_NOW": "2026-03-04T11:00:00+00:00"}), (None, {})):
        casework: Casework = open_casework(Settings(home=ROOT, database_url=url, now=fixed),
                                           migrate=True)
        try:
            assert process_environment(casework) == {
                "CASEWORK_HOME": str(ROOT), "CASEWORK_DATABASE_URL": url, **expected}
        finally:
            casework.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_processes_answer_kept_alive_requests_without_nagle_delays(tmp_path: Path) -> None:
    """With Nagle's algorithm on, every request after the first on one connection waits for
    the client's delayed ACK (40 ms on Linux): the fastest of them shows whether it is off."""
    database = Database(f"sqlite:///{tmp_path / 'casework.db'}")
    upgrade(database)
    database.dispose()
    port = free_port()
    env = {**os.environ, "CASEWORK_DATABASE_URL": database.url,
           "CASEWORK_SECRET": "a test secret that signs CSRF cookies"}
    server = subprocess.Popen(
        [CASEWORK, "serve", "--port", str(port), "--processes", "2", "--no-worker",
         "--home", str(ROOT), "--now", "2026-03-04T11:00:00Z"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        connection = _connected(port, server)
        times = []
        for _ in range(12):
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b'{"status":"ok"}')
            times.append(time.perf_counter() - started)
        connection.close()
        assert min(times[1:]) < 0.035, times
    finally:
        _stop(server)


def test_two_servers_started_at_once_on_a_fresh_home_both_serve_with_one_secret(
        tmp_path: Path) -> None:
    """Each server makes the home's CSRF key if it is not there yet: started together, they
    must neither fail on the other's file nor read a half-written key
    (tests/web/test_security.py races eight processes on the key itself)."""
    home = tmp_path / "home"
    home.mkdir()
    database = Database(f"sqlite:///{home / 'casework.db'}")
    upgrade(database)
    database.dispose()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CASEWORK_")}
    ports, logs = [free_port(), free_port()], [tmp_path / "one.log", tmp_path / "two.log"]
    servers = []
    for port, log in zip(ports, logs, strict=True):
        with log.open("wb") as errors:
            servers.append(subprocess.Popen(
                [CASEWORK, "serve", "--port", str(port), "--no-worker", "--home", str(home),
                 "--now", "2026-03-04T11:00:00Z"],
                env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True))
    try:
        for port, server in zip(ports, servers, strict=True):
            connection = _connected(port, server, seconds=120)  # two imports on 2 cores
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b'{"status":"ok"}')
            connection.close()
    finally:
        for server in servers:
            _stop(server)
    assert [p.name for p in home.iterdir() if p.name.startswith(".casework-secret")] == [
        ".casework-secret"]
    # the access log's lines, and nothing worse: neither server failed or warned
    texts = [log.read_text() for log in logs]
    lines = [json.loads(line) for text in texts for line in text.splitlines()]
    assert {line["logger"] for line in lines} <= {"casework.access"}, texts
    assert sorted(line["route"] for line in lines) == ["/healthz", "/healthz"]


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _connected(port: int, server: subprocess.Popen[bytes],
               seconds: float = 60) -> http.client.HTTPConnection:
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, "casework serve stopped"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.connect()
            return connection
        except OSError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_metrics_of_several_server_processes_are_summed_whichever_answers(
        tmp_path: Path) -> None:
    """serve --processes 2 keeps each process's counts where every process reads them: every
    scrape reports all the requests, whichever process served them and whichever answers."""
    database = Database(f"sqlite:///{tmp_path / 'casework.db'}")
    upgrade(database)
    database.dispose()
    port = free_port()
    env = {**os.environ, "CASEWORK_DATABASE_URL": database.url,
           "CASEWORK_SECRET": "a test secret that signs CSRF cookies",
           "CASEWORK_METRICS_TOKEN": "scrape", "CASEWORK_LOG_FORMAT": "json"}
    log = tmp_path / "server.log"
    with log.open("wb") as errors:
        server = subprocess.Popen(
            [CASEWORK, "serve", "--port", str(port), "--processes", "2", "--no-worker",
             "--home", str(ROOT)],
            env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    sent = 0
    try:
        _connected(port, server).close()
        # The first process may answer before the second has finished starting: send rounds
        # of requests at once until both have served some (their access logs say which did).
        deadline = time.monotonic() + 120
        while len(_served_by(log)) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda _: _ready(port), range(40)))
            assert statuses == [200] * 40
            sent += 40
        counted = {_readyz_count(port) for _ in range(8)}
    finally:
        _stop(server)
    assert len(_served_by(log)) == 2, "one process answered every request: the test proves nothing"
    assert counted == {float(sent)}


def _served_by(log: Path) -> set[int]:
    whole = log.read_text().rpartition("\n")[0]  # not a line still being written
    lines = [json.loads(line) for line in whole.splitlines() if line.strip()]
    return {line["pid"] for line in lines if line.get("route") == "/readyz"}


def _ready(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/readyz")
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer.status


def _readyz_count(port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics", headers={"Authorization": "Bearer scrape"})
    answer = connection.getresponse()
    text = answer.read().decode()
    connection.close()
    assert answer.status == 200, text
    prefix = 'casework_http_requests_total{method="GET",route="/readyz",status="200"} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix))
                 .removeprefix(prefix))
