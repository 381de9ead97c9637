"""Scale-out soak: several `casework serve` processes and workers on one PostgreSQL, a desk's
load on loopback, and `kill -9` of servers and workers while it runs.

Started here, as an operator starts them (each its own process, its own log):

  PostgreSQL        a throw-away server (tests/pgserver.py: loopback, fsync off), or --postgres-url
  3 servers         CASEWORK_DATABASE_URL=... casework serve --port P --no-worker (one process
                    each; a load balancer in front is played by the load generator, which sends
                    each request to the next live server in turn)
  2 workers         casework worker --interval 0.5 (they fire the timers; one claim each at a
                    time, FOR UPDATE SKIP LOCKED)

The home is `casework init` plus one workflow of the soak's own, soak_timer (a case starts in
`open`, whose timer fires `expire` TIMER_SECONDS later), so that timers come due while the load
runs; `casework demo --no-serve` migrates, publishes and adds the demo users and customers.

The load (threads of this process, keep-alive connections, the JSON API with agents' tokens):
  start           POST /api/cases: a complaint (phone, a demo customer) or a soak_timer case
  read            GET /api/cases/ID
  claim           POST /api/cases/ID/assign to oneself, with the version just read
  triage          POST /api/cases/ID/fire/triage with category and severity, with the version
  comment         POST /api/cases/ID/comments with the version
Writes go to the most recent cases (a hot set), so that agents collide: a stale version is
refused with 409 (never applied over the other's write).

Phases:
  scale           the load against 1, 2, then 3 servers, SCALE seconds each after a warm-up:
                  requests/s and p95 per route; the ratio of 2 and 3 servers to 1
  faults          the load against all 3 for DURATION seconds while a chaos thread kill -9s a
                  random server or worker every few seconds and restarts it
  drain           the load stops; every timer due by then must fire (the killed workers'
                  claims are taken over); then the checks

Checked at the end (a failed check exits 1):
  answered        every request was answered 2xx, or refused 409 (a stale version) or 503 (busy,
                  with Retry-After); `other` (any other status) must be 0. A request whose server
                  was killed under it has no answer: it is counted as `cut` (a proxy would say 502)
  no lost update  no two acknowledged writes of one case produced the same version; for every
                  acknowledged comment, claim and triage, its event is in the case's history
  exactly once    every soak_timer case whose timer came due is `expired`, with exactly one
                  `expire` transition and its one timer row fired; no timer fired twice
  chains          `casework audit verify` passes (every chain, and every case row agrees with
                  its history)

Targets (issue 20): 2 servers >= 1.6x the requests/s of 1, 0 lost, 0 duplicated. The machine's
cores are shared by PostgreSQL, the servers, the workers and this load generator: compare the
rows of one run. Each scale row shows the CPU the servers used (cores: CPU seconds per second),
this load generator's, and the whole machine's: more servers can only help while the machine
has idle cores.

    python bench/soak.py [--duration 90] [--scale 15] [--clients 12] [--seed 7]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from bench.common import Postgres, run_main, stop

CASEWORK = str(Path(sys.executable).parent / "casework")
TIMER_SECONDS = 12
SOAK_WORKFLOW = f"""\
workflow: soak_timer
version: 1
title: Soak timer
fields:
  note: {{type: text}}
states:
  open: {{initial: true}}
  expired: {{final: true}}
transitions:
  - trigger: expire
    from: open
    to: expired
    roles: [supervisor]
timers:
  - name: expiry
    in: open
    after: {TIMER_SECONDS / 60:g}m
    fire: expire
"""
HOT = 24  # writes go to the most recent cases of this many: agents collide
SERVERS, WORKERS = 3, 2


# --- processes -----------------------------------------------------------------------------

@dataclass
class Process:
    """A casework process the soak started, and how to start it again."""

    name: str
    command: list[str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    kills: int = 0
    ready: bool = False  # a server: answering /readyz since it was last started

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.command, env=env, stdout=out, stderr=out,
                                          start_new_session=True)

    def kill(self) -> None:
        self.ready = False
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user and system), from /proc."""
        if not self.alive or self.popen is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy so far (every core; from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(process: Process, seconds: float = 120.0) -> None:
    """Until /readyz answers 200 (the database answers, the schema is current)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process.alive:
            stop(f"{process.name} ended at start; its log: {process.log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", process.port or 0, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                connection.close()
                process.ready = True
                return
        except OSError:
            pass
        time.sleep(0.2)
    stop(f"{process.name} was not ready within {seconds:g} s; its log: {process.log}")


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([CASEWORK, *command], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        stop(f"casework {' '.join(command)} failed ({done.returncode}): "
             f"{(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def prepare(home: Path, env: dict[str, str], clients: int
            ) -> tuple[dict[str, str], list[str]]:
    """The home, the database, an agent per client with an API token, the demo customers'
    ids. (An agent per client: a claim of a case its agent already holds is answered 200 with
    nothing written, so two clients of one agent could not tell a repeated claim from a lost
    update.)"""
    run(["init", str(home)], env)
    (home / "workflows" / "soak_timer.yaml").write_text(SOAK_WORKFLOW)
    run(["demo", "--no-serve"], env)
    tokens = {}
    for name in (f"agent{n + 1:02}" for n in range(clients)):
        run(["users", "add", name, "--role", "agent"], env)
        printed = run(["tokens", "create", name, "--label", "soak"], env)
        tokens[name] = next(word for line in printed.splitlines() for word in line.split()
                            if len(word) >= 32)
    engine = sa.create_engine(env["CASEWORK_DATABASE_URL"])
    with engine.connect() as connection:
        customers = list(connection.exec_driver_sql(
            "SELECT id FROM customers ORDER BY id LIMIT 60").scalars())
    engine.dispose()
    return tokens, customers


# --- the load ------------------------------------------------------------------------------

@dataclass
class Desk:
    """Who works (their tokens), on whose behalf (customer ids), on which cases (as started)."""

    tokens: dict[str, str]
    customers: list[str]
    cases: list[int]


@dataclass
class Tally:
    """What the load saw: answers by route and status, latencies, acknowledged writes."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cut: Counter[str] = field(default_factory=Counter)
    versions: list[tuple[int, int, str]] = field(default_factory=list)  # case, version, kind
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[(route, status)] += 1
            self.latencies[route].append(seconds)

    def done(self, route: str) -> int:
        return sum(n for (r, s), n in self.statuses.items() if r == route and s < 500)


class Balancer:
    """The next live server for each request, in turn (a proxy's round robin)."""

    def __init__(self, servers: list[Process]) -> None:
        self.servers = servers
        self.count = 1
        self.turn = itertools.count()

    def pick(self) -> Process | None:
        live = [s for s in self.servers[:self.count] if s.ready and s.alive]
        return live[next(self.turn) % len(live)] if live else None


class Client(threading.Thread):
    """One agent at a desk: starts cases, reads them, claims, triages and comments."""

    def __init__(self, number: int, balancer: Balancer, tokens: dict[str, str],
                 customers: list[str], cases: list[int], tally: Tally,
                 stopping: threading.Event, seed: int) -> None:
        super().__init__(daemon=True)
        self.customers = customers
        self.agent = sorted(tokens)[number % len(tokens)]
        self.token = tokens[self.agent]
        self.balancer, self.cases, self.tally, self.stopping = balancer, cases, tally, stopping
        self.random = random.Random(seed * 1000 + number)
        self.connections: dict[int, http.client.HTTPConnection] = {}
        self.seen = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            roll = self.random.random()
            if roll < 0.2 or len(self.cases) < HOT:
                self.start_case()
            else:
                self.work(self.random.choice(self.cases[-HOT:]), roll)

    def start_case(self) -> None:
        if self.random.random() < 0.5:
            body = {"workflow": "soak_timer", "fields": {"note": "soak"}}
        else:
            body = {"workflow": "complaint", "customer": self.random.choice(self.customers),
                    "fields": {"channel": "phone", "summary": "Soak: parcel arrived late"}}
        answer = self.call("POST", "/api/cases", "start", body)
        if answer is not None and answer[0] == 201:
            with self.tally.lock:
                self.cases.append(answer[1]["id"])

    def work(self, case_id: int, roll: float) -> None:
        read = self.call("GET", f"/api/cases/{case_id}", "read")
        if read is None or read[0] != 200 or read[1]["workflow"] != "complaint":
            return
        case, version = read[1], read[1]["lock_version"]
        if roll < 0.45 and case["assignee"] is None:
            kind, path = "claim", f"/api/cases/{case_id}/assign"
            body: dict[str, Any] = {"assignee": self.agent, "expected_version": version}
        elif roll < 0.7 and "triage" in case["may_fire"]:
            kind, path = "triage", f"/api/cases/{case_id}/fire/triage"
            body = {"fields": {"category": "billing", "severity": "low"},
                    "expected_version": version}
        else:
            kind, path = "comment", f"/api/cases/{case_id}/comments"
            body = {"text": f"soak note {self.random.getrandbits(48):x}",
                    "expected_version": version}
        answer = self.call("POST", path, kind, body)
        if answer is not None and answer[0] == 200:
            with self.tally.lock:
                self.tally.versions.append((case_id, answer[1]["lock_version"], kind))

    def call(self, method: str, path: str, route: str, body: Any = None
             ) -> tuple[int, Any] | None:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        for _ in range(SERVERS + 1):
            server = self.balancer.pick()
            if server is None or server.port is None:
                time.sleep(0.05)
                continue
            connection = self.connections.get(server.port)
            fresh = connection is None or connection.sock is None
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                self.connections[server.port] = connection
            began = time.perf_counter()
            try:
                connection.request(method, path, data, headers)
                answer = connection.getresponse()
                payload = answer.read()
            except ConnectionRefusedError:  # never reached it: the next server, as a proxy does
                self.drop(server.port)
                continue
            except (OSError, http.client.HTTPException):
                self.drop(server.port)
                if server.alive and not fresh:  # a kept-alive connection the server had closed
                    continue
                with self.tally.lock:
                    self.tally.cut[route] += 1  # its server was killed under it: no answer
                return None
            self.tally.answered(route, answer.status, time.perf_counter() - began)
            if answer.status >= 400:
                return answer.status, None
            return answer.status, json.loads(payload)
        return None

    def drop(self, port: int) -> None:
        connection = self.connections.pop(port, None)
        if connection is not None:
            connection.close()


@contextmanager
def load(balancer: Balancer, desk: Desk, tally: Tally, clients: int, seed: int
         ) -> Iterator[None]:
    stopping = threading.Event()
    threads = [Client(n, balancer, desk.tokens, desk.customers, desk.cases, tally, stopping,
                      seed) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for thread in threads:
            thread.join(60)


# --- phases --------------------------------------------------------------------------------

def scale_phase(servers: list[Process], workers: list[Process], desk: Desk,
                options: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for count in range(1, SERVERS + 1):
        balancer = Balancer(servers)
        balancer.count = count
        warm, tally = Tally(), Tally()
        with load(balancer, desk, warm, options.clients, options.seed):
            time.sleep(2.0)
        cpu = [p.cpu_seconds() for p in servers]
        worked = [p.cpu_seconds() for p in workers]
        mine, busy = time.process_time(), machine_busy()
        began = time.perf_counter()
        with load(balancer, desk, tally, options.clients, options.seed + count):
            time.sleep(options.scale)
        seconds = time.perf_counter() - began
        used = sum(p.cpu_seconds() - c for p, c in zip(servers, cpu, strict=True)) / seconds
        firing = sum(p.cpu_seconds() - c for p, c in zip(workers, worked, strict=True)) / seconds
        answered = sum(tally.statuses.values())
        rows.append({"servers": count, "per_second": answered / seconds, "tally": tally,
                     "server_cpu": used, "worker_cpu": firing,
                     "load_cpu": (time.process_time() - mine) / seconds,
                     "machine": (machine_busy() - busy) / seconds})
        print(f"  {count} server(s): {answered / seconds:8.1f} requests/s", flush=True)
    return rows


def chaos(servers: list[Process], workers: list[Process], env: dict[str, str],
          stopping: threading.Event, seed: int) -> None:
    """kill -9 a random server or worker every few seconds; restart it a moment later."""
    chooser = random.Random(seed)
    while not stopping.wait(chooser.uniform(4.0, 9.0)):
        victim = chooser.choice(servers + workers)
        victim.kill()
        time.sleep(chooser.uniform(0.5, 2.0))
        victim.start(env)
        if victim.port is not None:
            wait_ready(victim)


def drain(url: str, seconds: float) -> int:
    """Wait until no timer due by now is pending; how many still are after `seconds`."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            with engine.connect() as connection:
                left = connection.exec_driver_sql(
                    "SELECT count(*) FROM timers WHERE state = 'pending' AND kind = 'timer' "
                    "AND retry_at <= now()").scalar_one()
            if left == 0 or time.monotonic() > deadline:
                return int(left)
            time.sleep(0.5)
    finally:
        engine.dispose()


# --- checks --------------------------------------------------------------------------------

def checks(url: str, tally: Tally, env: dict[str, str]) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = _found(connection)
    finally:
        engine.dispose()
    seen: Counter[tuple[int, int]] = Counter((case, version) for case, version, _ in
                                             tally.versions)
    same_version = sum(n - 1 for n in seen.values() if n > 1)
    if same_version:
        twice = {key for key, n in seen.items() if n > 1}
        print("same version acknowledged twice:", sorted(
            (case, version, kind) for case, version, kind in tally.versions
            if (case, version) in twice)[:20])
    acked: Counter[tuple[int, str]] = Counter((case, kind) for case, _, kind in tally.versions)
    missing = sum(max(0, n - found["events"].get(key, 0)) for key, n in acked.items())
    if missing:
        print("acknowledged without their events:", sorted(
            (key, n, found["events"].get(key, 0)) for key, n in acked.items()
            if n > found["events"].get(key, 0))[:20])
    verify = subprocess.run([CASEWORK, "audit", "verify"], env=env, capture_output=True,
                            text=True, check=False)
    return {"lost": same_version + missing, "same_version": same_version,
            "missing_events": missing, **{k: v for k, v in found.items() if k != "events"},
            "verify": verify.returncode, "verify_says": verify.stdout.strip()[-300:]}


EVENT_OF = {"claim": "case.assigned", "comment": "case.commented", "triage": "case.transitioned"}


def _found(connection: sa.Connection) -> dict[str, Any]:
    events: Counter[tuple[int, str]] = Counter()
    names = {name: kind for kind, name in EVENT_OF.items()}
    rows = connection.exec_driver_sql(
        "SELECT case_id, name, payload FROM events WHERE name IN "
        "('case.assigned', 'case.commented', 'case.transitioned')")
    for case_id, name, payload in rows:
        if name == "case.transitioned" and '"trigger":"triage"' not in payload:
            continue
        events[(case_id, names[name])] += 1
    expired = connection.exec_driver_sql(
        "SELECT c.id, c.state, (SELECT count(*) FROM events e WHERE e.case_id = c.id AND "
        "e.name = 'case.transitioned' AND e.payload LIKE '%%\"trigger\":\"expire\"%%'), "
        "(SELECT count(*) FROM timers t WHERE t.case_id = c.id AND t.state = 'fired'), "
        "(SELECT count(*) FROM timers t WHERE t.case_id = c.id AND t.state = 'pending' "
        "AND t.retry_at <= now()) FROM cases c WHERE c.workflow = 'soak_timer'").all()
    due = [row for row in expired if row[1] == "expired" or row[4] > 0]
    return {"events": events, "timer_cases": len(expired), "timers_due": len(due),
            "timers_fired_once": sum(1 for r in due if r[1] == "expired" and r[2] == 1
                                     and r[3] == 1),
            "timers_duplicated": sum(1 for r in expired if r[2] > 1 or r[3] > 1),
            "timers_not_fired": sum(1 for r in expired if r[4] > 0)}


# --- report --------------------------------------------------------------------------------

def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] * 1000 if len(values) >= 20 else float("nan")


def report(scale: list[dict[str, Any]], faults: Tally, fault_seconds: float,
           processes: list[Process], found: dict[str, Any]) -> bool:
    one = scale[0]["per_second"]
    print("\nscale (the load against N servers; workers running; cores used: CPU seconds per "
          "second, the machine's all but idle):")
    print(f"  {'servers':>7} {'requests/s':>11} {'x one':>6} {'servers':>8} {'workers':>8} "
          f"{'load':>6} {'machine':>8}   p95 ms by route")
    for row in scale:
        routes = "  ".join(f"{r} {p95(v):.0f}" for r, v in sorted(row["tally"].latencies.items()))
        print(f"  {row['servers']:>7} {row['per_second']:>11.1f} {row['per_second'] / one:>6.2f}"
              f" {row['server_cpu']:>8.2f} {row['worker_cpu']:>8.2f} {row['load_cpu']:>6.2f}"
              f" {row['machine']:>8.2f}"
              f"   {routes}")
    print(f"\nfaults ({fault_seconds:.0f} s, all {SERVERS} servers; kill -9: "
          + ", ".join(f"{p.name} {p.kills}" for p in processes) + "):")
    print(f"  {'route':<8} {'2xx':>6} {'409':>6} {'503':>6} {'other':>6} {'cut':>5} "
          f"{'per s':>7} {'p95 ms':>7}")
    other_total = 0
    for route in sorted(faults.latencies):
        counts: Counter[str] = Counter()
        for (r, status), n in faults.statuses.items():
            if r == route:
                key = "2xx" if 200 <= status < 300 else str(status) if status in (409, 503) \
                    else "other"
                counts[key] += n
        other_total += counts["other"]
        print(f"  {route:<8} {counts['2xx']:>6} {counts['409']:>6} {counts['503']:>6} "
              f"{counts['other']:>6} {faults.cut[route]:>5} "
              f"{faults.done(route) / fault_seconds:>7.1f} {p95(faults.latencies[route]):>7.0f}")
    print("\nchecks:")
    print(f"  lost updates        {found['lost']} (same version acknowledged twice "
          f"{found['same_version']}, acknowledged write without its event "
          f"{found['missing_events']})")
    print(f"  timers              {found['timers_due']} due of {found['timer_cases']} cases: "
          f"fired exactly once {found['timers_fired_once']}, duplicated "
          f"{found['timers_duplicated']}, not fired {found['timers_not_fired']}")
    print(f"  audit verify        exit {found['verify']}: {found['verify_says']}")
    two = scale[1]["per_second"] / one if len(scale) > 1 else float("nan")
    print(f"\ntargets: 2 servers >= 1.6x one: {two:.2f}x "
          f"({'met' if two >= 1.6 else 'NOT met'}); 0 lost, 0 duplicated")
    return (other_total == 0 and found["lost"] == 0 and found["timers_duplicated"] == 0
            and found["timers_not_fired"] == 0
            and found["timers_fired_once"] == found["timers_due"] and found["verify"] == 0)


def fault_phase(servers: list[Process], workers: list[Process], desk: Desk,
                env: dict[str, str], options: argparse.Namespace) -> tuple[Tally, float]:
    """The load against every server while the chaos thread kills and restarts processes."""
    faults, stopping = Tally(), threading.Event()
    balancer = Balancer(servers)
    balancer.count = SERVERS
    monkey = threading.Thread(target=chaos, args=(servers, workers, env, stopping,
                                                   options.seed), daemon=True)
    began = time.perf_counter()
    with load(balancer, desk, faults, options.clients, options.seed + 100):
        monkey.start()
        time.sleep(options.duration)
        stopping.set()
        monkey.join(180)
    return faults, time.perf_counter() - began


def soak(options: argparse.Namespace, folder: Path, url: str, processes: list[Process]) -> bool:
    """Every phase and the checks; True when every check passed."""
    home = folder / "home"
    env = {**os.environ, "CASEWORK_HOME": str(home), "CASEWORK_DATABASE_URL": url,
           "CASEWORK_LOG_FORMAT": "json", "CASEWORK_SECRET": "the soak's secret"}
    env.pop("CASEWORK_NOW", None)
    tokens, customers = prepare(home, env, options.clients)
    desk = Desk(tokens, customers, [])
    servers = [Process(f"server{n + 1}", [], folder / f"server{n + 1}.log", free_port())
               for n in range(SERVERS)]
    for server in servers:
        server.command = [CASEWORK, "serve", "--port", str(server.port), "--no-worker"]
    workers = [Process(f"worker{n + 1}", [CASEWORK, "worker", "--interval", "0.5"],
                       folder / f"worker{n + 1}.log") for n in range(WORKERS)]
    processes.extend(servers + workers)
    for process in processes:
        process.start(env)
    for server in servers:
        wait_ready(server)
    print("scale:", flush=True)
    scale = scale_phase(servers, workers, desk, options)
    print(f"faults: {options.duration:g} s", flush=True)
    faults, fault_seconds = fault_phase(servers, workers, desk, env, options)
    for process in processes:
        if not process.alive:
            process.start(env)
    print("drain: waiting for every due timer", flush=True)
    time.sleep(TIMER_SECONDS + 1)
    drain(url, 180.0)
    for row in scale:  # the scale phase's writes are checked as well
        faults.versions.extend(row["tally"].versions)
    return report(scale, faults, fault_seconds, processes, checks(url, faults, env))


def _terminated(signum: int, frame: object) -> None:
    # a second SIGTERM (a wrapper forwarding the same signal) must not cut the cleanup short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=90.0,
                        help="seconds of load under faults (90)")
    parser.add_argument("--scale", type=float, default=15.0,
                        help="seconds of load per scale step, 1 to 3 servers (15)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent agents (12)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", help="a running server's admin URL (default: start "
                        "one as the tests do)")
    parser.add_argument("--keep", action="store_true", help="keep the home and logs")
    options = parser.parse_args(argv)
    # SIGTERM (a CI's timeout, kill) ends the soak as Ctrl-C does: through the finally below,
    # which stops the processes and the PostgreSQL server it started
    signal.signal(signal.SIGTERM, _terminated)
    if not Path(CASEWORK).exists():
        stop(f"no casework command at {CASEWORK}; install casework into this Python")
    postgres = Postgres(options.postgres_url, "soak")
    folder = Path(tempfile.mkdtemp(prefix="casework-soak-"))
    processes: list[Process] = []
    ok = False
    try:
        print(f"soak: PostgreSQL {postgres.version} (fsync {postgres.fsync}); {SERVERS} "
              f"servers, {WORKERS} workers, {options.clients} clients; logs in {folder}",
              flush=True)
        ok = soak(options, folder, postgres.url(postgres.create("main")), processes)
    finally:
        for process in processes:
            process.stop()
        postgres.close()
        if options.keep or not ok:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
