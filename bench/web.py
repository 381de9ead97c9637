"""The desk's pages under load: the queue page and the case page of `casework serve` on a database
of N cases (N/10 open in 10 queues), with 1 and 2 server processes, next to a trivial route of
the same server (/healthz, the floor) and to the same pages on a 10,000-case database.

The databases (bench/web_data.py) hold complaint cases as the runtime writes them, built once in
bulk and kept under bench/data/ for later runs. Each is served as an operator serves it:

    CASEWORK_DATABASE_URL=sqlite:///FILE casework serve --port P --home H --processes N
                                                       --no-worker --now NOW

(H: a folder with the repository's workflows/ and rules/; --now pins the pages' clock to the
moment the data was made for, so the SLA badges count down as they would have then.) The bench
signs in once through POST /login (the CSRF cookie and form field, as a browser does) and sends
that session cookie with every request.

The load: wrk (Debian's `wrk`) on 127.0.0.1 for D seconds per row after a 1-second warm-up,
with as many connections as the server has processes (or C, with --connections), a Lua script
that cycles through the row's paths and counts every response that is not 200 (a run with any
is an error, not a figure); without wrk, an asyncio client (httpx) with the same connections and
duration. Each connection sends its next request as soon as its last answer is in, so each
server process always has a request to work on: the server is saturated (the requests/s are its
capacity; a desk of dozens of agents asks a few a second), and the latency is what a request
costs at full load, without queueing behind other requests of the load generator (with
--connections above the processes it includes that queueing: about C / processes times as
long). The rows:

  /healthz (floor)      the framework and the session cookie's round trip (the session is read;
                        it is written only when it changes), no page: what any route costs
  /queues               the open, unassigned, warning and breached counts of every queue
  queue, SLA due        /queues/Q, the default sort (the soonest SLA due first), Q cycling
                        through the 10 queues
  queue, filter+search  /queues/Q?severity=high&q=refund: a filter and a word of the summary
  queue, later page     /queues/Q?after=CURSOR: the keyset page 11 (after 500 rows), its cursor
                        taken from the pages' own "Next page" links (on the small database, the
                        last page there is)
  case page             /cases/ID over 200 open cases drawn at random: fields, customer, SLA
                        clocks, the triggers, the history
  search, all cases     /search?q=Q over every case (open and closed): words of the summaries,
                        customers by name and id, case numbers, a word no case holds, and a
                        two-character query (engine/store/case_search.py)

Each row runs R rounds (the rows in turn, so drift hits them alike); reported: the medians over
the rounds of requests/s and of the p50, p95 and p99 latency (ms, as wrk measures: from sending
the request to the last byte of the response). Also reported: the plan of the queue page's query
(EXPLAIN QUERY PLAN of engine.store.views.queue_select for /queues/Q), and where the queue page's
time goes, in-process on both databases (medians of 200 runs over the 10 queues, no server):

  query                 the page's query alone (casework.views.queue)
  rest of the handler   the handler (web.pages.desk.queue_page) less its query: the page's other
                        reads (users, tiers, severities) and the rows' cells and SLA badges
  render                the template: Template.to_asgi_response, as the server renders the
                        handler's answer (HTML, encoded)

Targets (issue 7): the queue page's p95 under 50 ms at 1 process (issue 17: the search's under
100 ms), and no page slower (p95) on
the big database than on the small one by more than 2x. Both databases are SQLite (WAL, as
engine.store.db sets it): a second server process reads in parallel. wrk, the servers and
whatever else runs share this machine's cores: compare the rows of one run, not runs on other
machines.

A kept database another process holds locked (a write transaction open) stops the bench with a
one-line message and exit status 2, before any server starts.

    python bench/web.py [--cases N] [--small-cases M] [--connections C] [--duration D]
                        [--warm-up W] [--rounds R] [--processes 1,2] [--client wrk|httpx]
                        [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):  # before bench/, where this file would be imported as `web`
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.web_data import NOW, PASSWORD, QUEUES, USER, Shape, database  # noqa: E402

CASEWORK = str(Path(sys.executable).parent / "casework")
DATA = ROOT / "bench" / "data"
LATER_PAGE = 11  # the keyset page the "later page" row asks for
SEARCH = {"severity": "high", "q": "refund"}
ROWS = (  # key, label
    ("healthz", "/healthz (floor)"),
    ("queues", "/queues (counts)"),
    ("queue", "queue, SLA due first"),
    ("queue_search", "queue, filter + search"),
    ("queue_later", f"queue, page {LATER_PAGE} (keyset)"),
    ("case", "case page"),
    ("search", "search, all cases"),
)
# the search row's queries: words of the summaries (common and rare), customers by name and id,
# a case number, a word no case holds and a two-character query (the newest cases only)
SEARCHES = ("refund", "parcel damaged", "wrong address", "invoice", "gift card", "locked",
            "Customer 12", "Customer 2999", "C00123", "zebra", "ab")
SECRET = "bench/web.py signs its CSRF cookies with this"  # not a key file in the home
TARGET_P95_MS = 50.0
TARGET_SEARCH_P95_MS = 100.0
TARGET_RATIO = 2.0


# --- serving -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(db: Path, processes: int, home: Path) -> Iterator[str]:
    """`casework serve` on `db` with `processes` processes until the block ends; its base URL."""
    port = free_port()
    env = {**os.environ, "CASEWORK_DATABASE_URL": f"sqlite:///{db}",
           "CASEWORK_SECRET": SECRET}
    log = (home / f"serve-{processes}.log").open("w")
    server = subprocess.Popen(
        [CASEWORK, "serve", "--host", "127.0.0.1", "--port", str(port), "--home", str(home),
         "--processes", str(processes), "--no-worker", "--now", NOW.isoformat()],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"casework serve stopped ({server.returncode}):\n"
                                 + (home / f"serve-{processes}.log").read_text()[-2000:])
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("casework serve did not answer /healthz within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # only the process group this bench started
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def sign_in(base: str) -> str:
    """Sign in as the bench user like a browser; the Cookie header that carries the session."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/login")
        answer = client.post("/login", data={"name": USER, "password": PASSWORD, "next": "/",
                                             "_csrf_token": client.cookies["csrftoken"]})
        if answer.status_code != 302:
            raise SystemExit(f"signing in failed ({answer.status_code}): {answer.text[:300]}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


# --- what is asked ------------------------------------------------------------------------------

def later_cursors(base: str, cookie: str) -> tuple[list[str], int]:
    """Per queue, the path of page LATER_PAGE (or the last page there is), found by following
    the pages' own Next links; and the shallowest page number reached."""
    found, reached = [], LATER_PAGE
    with httpx.Client(base_url=base, headers={"Cookie": cookie, "HX-Request": "true"},
                      timeout=120) as client:
        for queue in QUEUES:
            path, page = f"/queues/{queue}", 1
            while page < LATER_PAGE:
                link = re.search(r'<a class="more" href="([^"]+)"', client.get(path).text)
                if link is None:
                    break
                path, page = link.group(1).replace("&amp;", "&"), page + 1
            found.append(path)
            reached = min(reached, page)
    return found, reached


def open_cases(db: Path, count: int, seed: int = 11) -> list[int]:
    with sqlite3.connect(db) as connection:
        ids = [row[0] for row in connection.execute(
            "SELECT id FROM cases WHERE closed_at IS NULL ORDER BY id")]
    return sorted(random.Random(seed).sample(ids, min(count, len(ids))))


def paths_of(db: Path, base: str, cookie: str) -> tuple[dict[str, list[str]], int]:
    """The paths of each row, and the page number the later-page row reached."""
    search = "&".join(f"{k}={v}" for k, v in SEARCH.items())
    later, reached = later_cursors(base, cookie)
    return {
        "healthz": ["/healthz"],
        "queues": ["/queues"],
        "queue": [f"/queues/{q}" for q in QUEUES],
        "queue_search": [f"/queues/{q}?{search}" for q in QUEUES],
        "queue_later": later,
        "case": [f"/cases/{i}" for i in open_cases(db, 200)],
        "search": [f"/search?{urlencode({'q': q})}" for q in
                   (*SEARCHES, *(f"#{i}" for i in open_cases(db, 5)))],
    }, reached


def check_paths(base: str, cookie: str, paths: list[str]) -> int:
    """Every path answers 200 (not a sign-in redirect); the mean page size in bytes."""
    sizes = []
    with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120) as client:
        for path in paths:
            answer = client.get(path)
            if answer.status_code != 200:
                raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
            sizes.append(len(answer.content))
    return int(statistics.mean(sizes))


# --- load ---------------------------------------------------------------------------------------

@dataclass
class Load:
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    bad: int


WRK_SCRIPT = """
paths = {%s}
cookie = %s
threads = {}
counter, bad = 0, 0  -- globals: done() reads each thread's own `bad`
function setup(thread) table.insert(threads, thread) end
function init(args)
  counter = math.random(#paths)
  wrk.headers["Cookie"] = cookie
end
function request()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "us": %%d, "bad": %%d, "errors": %%d, ' ..
    '"p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration, total, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk(base: str, cookie: str, paths: list[str], connections: int, seconds: float,
        folder: Path) -> Load:
    script = folder / "paths.lua"
    quoted = ", ".join(json.dumps(p) for p in paths)
    script.write_text(WRK_SCRIPT % (quoted, json.dumps(cookie)))
    run = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
         "-s", str(script), f"{base}/"], capture_output=True, text=True, check=False)
    found = re.search(r"^RESULT (.*)$", run.stdout, re.M)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    result = json.loads(found.group(1))
    return Load(result["requests"] / (result["us"] / 1e6), result["p50"] / 1000,
                result["p95"] / 1000, result["p99"] / 1000, result["requests"],
                result["bad"] + result["errors"])


def httpx_load(base: str, cookie: str, paths: list[str], connections: int,
               seconds: float, folder: Path) -> Load:
    """The same load from an asyncio client, for machines without wrk."""
    del folder

    async def run() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        bad = 0
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=base, headers={"Cookie": cookie}, limits=limits,
                                     timeout=30) as client:
            started = time.perf_counter()
            end = started + seconds

            async def user(offset: int) -> None:
                nonlocal bad
                n = offset
                while time.perf_counter() < end:
                    n = (n + 1) % len(paths)
                    sent = time.perf_counter()
                    answer = await client.get(paths[n])
                    latencies.append(time.perf_counter() - sent)
                    bad += answer.status_code != 200

            await asyncio.gather(*(user(k * 7) for k in range(connections)))
            return latencies, bad, time.perf_counter() - started

    latencies, bad, elapsed = asyncio.run(run())
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Load(len(latencies) / elapsed, cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000,
                len(latencies), bad)


# --- the page in-process ------------------------------------------------------------------------

SPLIT_RUNS = 200  # in-process runs of each part, over the queues in turn


def in_process(db: Path) -> dict[str, Any]:
    """The plan of the queue page's query (default sort, first page), and the medians of the
    page's parts in this process: the query, the handler, the template's rendering."""
    from engine.kernel.settings import Settings
    from engine.wiring import open_casework

    casework = open_casework(Settings(home=ROOT, database_url=f"sqlite:///{db}", now=NOW))
    try:
        split = _split(casework)
        return {"plan": _plan(casework), "ms": split["query_ms"], **split}
    finally:
        casework.close()


def _plan(casework: Any) -> str:
    """EXPLAIN QUERY PLAN of the queue page's first statement, as the store runs it."""
    import sqlalchemy as sa

    from engine.cases.queues import QueueQuery
    from engine.store.views import queue_select

    def explained(conn: Any, cursor: Any, sql: str, params: Any, context: Any,
                  many: bool) -> tuple[str, Any]:
        return f"EXPLAIN QUERY PLAN {sql}", params

    engine = casework.database.engine
    sa.event.listen(engine, "before_cursor_execute", explained, retval=True)
    try:
        with casework.database.reading() as connection:
            return "; ".join(str(row[-1]) for row in connection.execute(
                queue_select(QueueQuery(queue=QUEUES[1]))))
    finally:
        sa.event.remove(engine, "before_cursor_execute", explained)


def _split(casework: Any) -> dict[str, Any]:
    """The queue page's handler called as the server calls it, for the bench's user, and its
    answer rendered as the server renders it; the query alone beside them."""
    from litestar import Request
    from litestar.response import Template

    from engine.cases.queues import QueueQuery
    from web.app import create_app
    from web.pages.desk import queue_page

    os.environ.setdefault("CASEWORK_SECRET", SECRET)
    app = create_app(casework)
    user = casework.accounts.user(USER)
    answer = cast("Callable[..., Template]", queue_page.fn)  # the handler's own function
    times: dict[str, list[float]] = {"query": [], "handler": [], "render": []}
    size = 0
    for run in range(SPLIT_RUNS + len(QUEUES)):  # the first round warms the caches up
        queue = QUEUES[run % len(QUEUES)]
        scope: Any = {"type": "http", "app": app, "litestar_app": app, "user": user,
                      "state": {}, "method": "GET", "path": f"/queues/{queue}",
                      "path_params": {"queue": queue}, "query_string": b"", "headers": []}
        request: Request[Any, Any, Any] = Request(scope)
        started = time.perf_counter()
        casework.views.queue(QueueQuery(queue=queue))
        queried = time.perf_counter()
        template = answer(request, queue=queue)
        handled = time.perf_counter()
        size = len(template.to_asgi_response(None, request).body)
        rendered = time.perf_counter()
        if run >= len(QUEUES):
            for part, took in (("query", queried - started), ("handler", handled - queried),
                               ("render", rendered - handled)):
                times[part].append(took * 1000)
    query, handler, render = (statistics.median(times[k]) for k in ("query", "handler", "render"))
    return {"query_ms": query, "handler_ms": handler, "rest_ms": max(handler - query, 0.0),
            "render_ms": render, "page_ms": handler + render, "page_bytes": size}


# --- runs ---------------------------------------------------------------------------------------

Loader = Callable[[str, str, list[str], int, float, Path], Load]


def measure(db: Path, processes: int, rows: list[str], options: argparse.Namespace,
            loader: Loader, progress: Callable[[str], None]) -> dict[str, Any]:
    """Serve `db` with `processes` processes; every row R times; medians per row."""
    with tempfile.TemporaryDirectory(prefix="casework-web-") as tmp:
        home = Path(tmp)
        for part in ("workflows", "rules"):
            (home / part).symlink_to(ROOT / part)
        with served(db, processes, home) as base:
            cookie = sign_in(base)
            paths, reached = paths_of(db, base, cookie)
            sizes = {key: check_paths(base, cookie, paths[key]) for key in rows}
            runs: dict[str, list[Load]] = {key: [] for key in rows}
            for round_no in range(1, options.rounds + 1):
                for key in rows:
                    connections = options.connections or processes
                    if options.warm_up:
                        loader(base, cookie, paths[key], connections, options.warm_up, home)
                    load = loader(base, cookie, paths[key], connections,
                                  options.duration, home)
                    if load.bad:
                        raise SystemExit(f"{key}: {load.bad} of {load.requests} responses were "
                                         "not 200 (or failed): see the server's log")
                    runs[key].append(load)
                    progress(f"  {processes} process(es), round {round_no}: {key:13} "
                             f"{load.rps:7.1f}/s  p50 {load.p50:6.1f}  p95 {load.p95:6.1f}  "
                             f"p99 {load.p99:6.1f} ms")
    return {key: {"rps": statistics.median(r.rps for r in loads),
                  "p50_ms": statistics.median(r.p50 for r in loads),
                  "p95_ms": statistics.median(r.p95 for r in loads),
                  "p99_ms": statistics.median(r.p99 for r in loads),
                  "requests": sum(r.requests for r in loads), "bytes": sizes[key],
                  "paths": len(paths[key]), **({"page": reached} if key == "queue_later" else {})}
            for key, loads in runs.items()}


def summary(big: dict[str, Any], small: dict[str, Any]) -> dict[str, Any]:
    one, two, tiny = big["runs"][1], big["runs"].get(2), small["runs"][1]
    ratios = {key: one[key]["p95_ms"] / tiny[key]["p95_ms"] for key in one if key in tiny}
    pages = {k: v for k, v in ratios.items() if k != "healthz"}
    worst = max(pages, key=lambda k: pages[k])
    return {
        "cases": big["shape"]["cases"], "open": big["shape"]["open"],
        "small_cases": small["shape"]["cases"], **big["setting"],
        "queue_p95_ms": one["queue"]["p95_ms"], "case_p95_ms": one["case"]["p95_ms"],
        "queue_rps_1proc": one["queue"]["rps"],
        "queue_rps_2proc": two["queue"]["rps"] if two else None,
        "queue_p95_ms_10k": tiny["queue"]["p95_ms"],
        "floor_p95_ms": one["healthz"]["p95_ms"], "floor_rps_1proc": one["healthz"]["rps"],
        **{f"queue_{part}_ms": big["query"][f"{part}_ms"]
           for part in ("query", "rest", "render", "page")},
        "queue_render_ms_10k": small["query"]["render_ms"],
        "p95_ratio_big_vs_small": ratios, "worst_ratio_page": worst,
        "over_ratio": sorted(k for k, v in pages.items() if v > TARGET_RATIO),
        "target_queue_p95_met": one["queue"]["p95_ms"] < TARGET_P95_MS,
        "search_p95_ms": one["search"]["p95_ms"], "search_p95_ms_10k": tiny["search"]["p95_ms"],
        "target_search_p95_met": one["search"]["p95_ms"] < TARGET_SEARCH_P95_MS,
        "target_ratio_met": pages[worst] <= TARGET_RATIO,
        "big": big, "small": small,
    }


def report(result: dict[str, Any]) -> None:
    big, small = result["big"], result["small"]
    setting = big["setting"]
    connections = (f"{setting['connections']} connections" if setting["connections"] else
                   "1 connection a server process")
    print(f"desk pages of `casework serve` on SQLite {sqlite3.sqlite_version}, "
          f"{setting['client']} on 127.0.0.1, {connections}, "
          f"{setting['duration']:g} s a row, median of {setting['rounds']} round(s)")
    for db in (big, small):
        shape = db["shape"]
        built = (f"built in {db['build_s']:.0f} s" if db["build_s"] else "kept from an "
                 "earlier run")
        print(f"  {shape['cases']:>9,} cases, {shape['open']:,} open in {len(QUEUES)} queues, "
              f"{db['megabytes']:,.0f} MB ({built}: {db['folder']}/{db['file']})")
    print()
    counts = sorted(big["runs"])
    print(f"  {result['cases']:,} cases{'':17}" + "  ".join(
        f"{f'{n} process' + ('es' if n > 1 else ''):^31}" for n in counts))
    head = f"{'req/s':>7}{'p50':>8}{'p95':>8}{'p99':>8}"
    print(f"  {'':30}" + "".join(f"{head} ms " for _ in counts) + "  KB")
    for key, label in ROWS:
        cells = "    ".join(_cells(big["runs"][n][key]) for n in counts)
        print(f"  {label:30}{cells}   {big['runs'][1][key]['bytes'] / 1024:4.0f}")
    print()
    print(f"  {result['small_cases']:,} cases, 1 process{'':8}{head} ms   p95 {result['cases']:,}"
          f" / {result['small_cases']:,}")
    for key, label in ROWS:
        row = small["runs"][1][key]
        print(f"  {label:30}{_cells(row)}    {result['p95_ratio_big_vs_small'][key]:5.2f}x")
    print()
    print(f"  the queue page in-process (no server), median of {SPLIT_RUNS} runs:"
          f"{'query':>10}{'rest of handler':>17}{'render':>9}{'page':>8} ms")
    for db in (big, small):
        split = db["query"]
        print(f"    {db['shape']['cases']:>9,} cases{'':29}{split['query_ms']:10.2f}"
              f"{split['rest_ms']:17.2f}{split['render_ms']:9.2f}{split['page_ms']:8.2f}")
    print(f"  queue query plan: {big['query']['plan']}")
    labels = dict(ROWS)
    met = "met" if result["target_queue_p95_met"] else "MISSED"
    print(f"  target: queue page p95 < {TARGET_P95_MS:g} ms at 1 process: "
          f"{result['queue_p95_ms']:.1f} ms, {met}")
    met = "met" if result["target_search_p95_met"] else "MISSED"
    print(f"  target: search p95 < {TARGET_SEARCH_P95_MS:g} ms at 1 process: "
          f"{result['search_p95_ms']:.1f} ms ({result['small_cases']:,} cases: "
          f"{result['search_p95_ms_10k']:.1f} ms), {met}")
    over = ", ".join(f"{labels[k]} {result['p95_ratio_big_vs_small'][k]:.2f}x"
                     for k in result["over_ratio"])
    print(f"  target: no page's p95 over {TARGET_RATIO:g}x the small database's: "
          + ("met" if result["target_ratio_met"] else f"MISSED by {over}"))
    big_open, small_open = (db["shape"]["open"] // len(QUEUES) for db in (big, small))
    notes = [
        "/healthz is the floor: the framework, the session read, the socket.",
        "Latency is closed-loop: each connection sends its next request when the last answer "
        "is in.",
        "The queue page, its later pages and the case page read a page's rows from an index of "
        "open cases\n    in the page's order: their cost does not grow with the cases "
        "(engine/store/views.py).",
        "/queues reads counts kept per queue and SLA status as the cases change, not the "
        f"{big['shape']['open']:,} open\n    cases (engine/store/queue_counts.py).",
        "A filter and a search read the queue's index of open cases in the page's order, which "
        "holds the\n    filtered fields, until a page matches: a rare match reads most of the "
        f"queue's index entries\n    ({big_open:,} open a queue here, {small_open:,} on the "
        "small database), and the table only for the rows shown.\n    intake holds only "
        "untriaged cases, all of severity medium: severity=high finds none there.",
        f"The small database's later page is page {small['runs'][1]['queue_later']['page']}, "
        f"its last ({small_open} open cases a queue).",
        "The search reads the trigram index (SQLite FTS5, migration 0013) newest document "
        "first and stops\n    after a page: a common word costs what a rare one does; a "
        "two-character query reads\n    the newest 20,000 cases (engine/store/case_search.py).",
        "The data: rows written in bulk as the runtime writes them, every history a valid hash "
        "chain\n    (bench/web_data.py).",
    ]
    print("  notes:\n" + "\n".join(f"  - {note}" for note in notes))


def _cells(row: dict[str, Any]) -> str:
    return f"{row['rps']:7.1f}{row['p50_ms']:8.1f}{row['p95_ms']:8.1f}{row['p99_ms']:8.1f}"


def prepared(shape: Shape, folder: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    progress(f"database of {shape.cases:,} cases ({shape.open:,} open): building or reusing")
    path, seconds = database(shape, folder, progress)
    unlocked(path)
    return {"path": path, "file": path.name, "folder": str(folder), "build_s": seconds,
            "megabytes": path.stat().st_size / 2**20,
            "shape": {"cases": shape.cases, "open": shape.open, "customers": shape.customers,
                      "seed": shape.seed}}


def unlocked(db: Path, wait: float = 2.0) -> None:
    """Stop the bench (exit 2, one line) when another process holds `db` locked: a write
    transaction there would stall the servers' sign-in (it writes the session) until the
    servers' busy timeout, then fail every row."""
    try:
        with closing(sqlite3.connect(db, timeout=wait, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        print(f"bench/web.py: {db} is locked by another process ({exc} after {wait:g} s): let "
              f"it finish or stop it (`fuser {db}` names it), then run the bench again",
              file=sys.stderr)
        raise SystemExit(2) from None


def _counts(text: str) -> tuple[int, ...]:
    """--processes: 1 and maybe more, e.g. "1,2"."""
    try:
        counts = sorted({int(part) for part in text.split(",")})
    except ValueError:
        counts = []
    if not counts or counts[0] != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of process counts with 1 in "
                                         "it, such as 1 or 1,2")
    return tuple(counts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases (1000000)")
    parser.add_argument("--small-cases", type=int, default=10_000,
                        help="cases of the small database the pages are compared with (10000)")
    parser.add_argument("--connections", type=int,
                        help="concurrent connections (default: one a server process)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds a row (8)")
    parser.add_argument("--warm-up", type=float, default=1.0,
                        help="seconds of load before each row's measured load, 0: none (1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median counts (3)")
    parser.add_argument("--processes", type=_counts, default=(1, 2),
                        help="server processes the big database is served with, e.g. 1 or "
                        "1,2 (1,2); the small one with 1")
    parser.add_argument("--client", choices=("wrk", "httpx"),
                        help="load generator (default: wrk when installed, else httpx)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="folder of the kept databases (bench/data)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request on stderr
    if min(args.cases, args.small_cases, args.connections or 1, args.rounds) < 1 or \
            args.duration <= 0 or args.warm_up < 0 or args.cases < 10 * len(QUEUES):
        parser.error("--cases (at least 100), --small-cases, --connections, --rounds and "
                     "--duration must be positive, --warm-up not negative")
    client = args.client or ("wrk" if shutil.which("wrk") else "httpx")
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), use --client httpx")
    loader: Loader = wrk if client == "wrk" else httpx_load

    def progress(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    if client == "httpx" and not args.client:
        progress("wrk is not installed (apt-get install wrk): the asyncio client loads instead")
    setting = {"client": client, "connections": args.connections, "duration": args.duration,
               "warm_up": args.warm_up, "rounds": args.rounds}
    databases = []
    for cases, processes in ((args.cases, args.processes), (args.small_cases, (1,))):
        db = {**prepared(Shape(cases, cases // 10), args.data, progress), "setting": setting}
        db["query"] = split = in_process(db["path"])
        progress(f"  in-process: query {split['query_ms']:.2f} ms, rest of the handler "
                 f"{split['rest_ms']:.2f} ms, render {split['render_ms']:.2f} ms; "
                 f"plan: {split['plan']}")
        db["runs"] = {n: measure(db["path"], n, [key for key, _ in ROWS], args, loader,
                                 progress) for n in processes}
        db["path"] = str(db["path"])
        databases.append(db)
    result = summary(*databases)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
