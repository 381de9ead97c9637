"""Decision-table throughput: casework's `decide` next to a plain-Python floor and GoRules zen.

One decision, rules/customer_tier.yaml (hit policy first, six inputs, five rows), taken for N
synthetic customers in a single process, three ways, each timed with time.perf_counter:

  casework        engine.rules.tables.decide(table, customer) with the shipped YAML loaded by
                  engine.rules.loading.load_table_file: `[decide(table, c) for c in customers]`.
  python floor    the same five rows hand-written as an if chain over the same dicts, in the same
                  loop shape: the least a Python caller can spend per customer on this decision.
  zen             zen-engine (GoRules, Rust) running the same table written as a GoRules JDM
                  decisionTableNode (hitPolicy first, unary cells such as ">= 0.01" and
                  "[150..500)"). Its three Python entry points are each run once on the first
                  10,000 customers (the probe); the fastest then runs the timed rounds:
                    ZenEngine.evaluate        an engine with a static loader, one call a customer
                    ZenEngine.evaluate_batch  the same engine, one call a round ({key, context}
                                              requests built inside the timed region)
                    ZenDecision.evaluate      ZenEngine().create_decision(json), one call a customer
                  (zen-engine >= 0.38.4 makes ZenDecision.evaluate about 30x slower than
                  ZenEngine.evaluate, gorules/zen#441, which is why the engine API is probed too.)

Every customer is a dict of 30 fields as a caller would hold it: the table's six inputs
(revenue_share 0..0.03, clv 0..1000, years_active 0..10 as doubles; r/f/m_score 1..5 as ints)
and 24 others (ids, names, e-mail, region, dates as ISO strings, counts, amounts, flags). All
three paths get the same dicts; zen has to convert every field it is given, which is the real
price of calling it from Python with real records. The customers are generated once (numpy,
seeded), then moved out of the garbage collector's way (gc.freeze) so that no path pays for
scanning them; a full collection runs before each timed loop.

Before anything is timed, the table's own tests and hand-picked boundary customers (clv exactly
150 and 500, revenue_share exactly 0.01, ...) must give the expected tier on every path, and all
paths must agree on the first 10,000 customers; otherwise the run stops with the first
disagreement and exit status 1.

Reported: per path the median over R rounds of customers per second, and
  casework_vs_zen        casework/s / zen/s: how many times as many customers casework decides
                         in a second as zen through its fastest Python API (target >= 3),
  casework_per_s         casework's own rate (target >= 400,000),
  casework ÷ floor       casework/s / floor/s: below 1 by what casework's generality costs over
                         hand-written Python (input type checks, row ids, a Decision record).
"by CPU time" is the median rate by the process's CPU time (all threads) instead of the wall
clock: when it is well above customers/s, other processes took the CPU away during the rounds.
Peak RSS (getrusage, whole process, zen's Rust heap included) is dominated by the N customer
dicts. The numbers are wall-clock on a shared machine: compare ratios across machines, not rates.

    python bench/rules.py [--customers N] [--zen-customers M] [--repeat R] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import zen  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from engine.rules.loading import load_table_file  # noqa: E402
from engine.rules.tables import TableSpec, decide  # noqa: E402

TABLE_FILE = ROOT / "rules" / "customer_tier.yaml"
ZEN_KEY = "customer_tier.json"
CHECKED = 10_000  # customers every path must agree on (and the zen probe)
FIELDS = 30
ZEN_INPUTS = ("revenue_share", "clv", "years_active", "r_score", "f_score", "m_score")
TARGETS = {"casework_per_s": 400_000, "casework_vs_zen": 3}

Customer = dict[str, Any]
Evaluate = Callable[[Sequence[Customer]], list[Any]]


# --- customers ---------------------------------------------------------------------------------

FIRST = ("Anna", "Ben", "Clara", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kira", "Lukas", "Maja", "Noah", "Olga", "Paul", "Rosa", "Sami", "Tara", "Yusuf")
LAST = ("Müller", "Schmidt", "Novak", "Rossi", "García", "Dubois", "Jansen", "Kowalski",
        "Larsen", "Okafor", "Silva", "Tanaka", "Weber", "Yilmaz", "Petrov", "Costa")
DOMAINS = ("example.com", "mail.example", "corp.example", "shop.example")
REGIONS = ("EMEA", "NA", "LATAM", "APAC")
COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "PL", "GB", "US", "CA", "BR", "MX", "JP", "AU", "IN")
INDUSTRIES = ("retail", "manufacturing", "logistics", "healthcare", "finance", "software",
              "energy", "hospitality", "education", "public_sector")
SEGMENTS = ("consumer", "smb", "mid_market", "enterprise")
MANAGERS = ("alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi")
CURRENCIES = ("EUR", "USD", "GBP", "PLN", "BRL", "JPY")
LANGUAGES = ("de", "en", "fr", "it", "es", "nl", "pl", "pt", "ja")
TODAY = date(2026, 3, 2)
DAYS_BACK = 4000
DAYS = tuple((TODAY - timedelta(days=k)).isoformat() for k in range(DAYS_BACK))  # DAYS[k]: k ago


def make_customers(n: int, seed: int) -> list[Customer]:
    """`n` customers of FIELDS fields each, the same for the same seed."""
    g = np.random.default_rng(seed)

    def ints(low: int, high: int) -> list[int]:  # low..high inclusive, as Python ints
        return list(g.integers(low, high + 1, n).tolist())

    def picks(options: Sequence[str]) -> list[str]:
        return [options[i] for i in g.integers(0, len(options), n).tolist()]

    # The inputs, on the grid real data lives on, so that boundaries (0.01, 150, 500, 1) occur.
    revenue_share = [v / 100_000 for v in ints(0, 3000)]  # 0 .. 3 %, 0.001 % steps
    clv = [v / 100 for v in ints(0, 100_000)]  # 0 .. 1000.00
    years = [v / 100 for v in ints(0, 1000)]  # 0 .. 10.00
    r_score, f_score, m_score = ints(1, 5), ints(1, 5), ints(1, 5)
    first, last, domain = ints(0, len(FIRST) - 1), ints(0, len(LAST) - 1), picks(DOMAINS)
    since = [round(y * 365.25) for y in years]
    recency = [min(s, d) for s, d in zip(since, ints(0, 400), strict=True)]
    created = [min(s + extra, DAYS_BACK - 1) for s, extra in zip(since, ints(0, 60), strict=True)]
    orders = ints(0, 400)
    revenue_12m = (g.lognormal(8.0, 1.2, n).round(2)).tolist()
    credit = (g.integers(0, 200, n) * 500.0).tolist()
    balance = (g.uniform(0.0, 1.0, n) * np.array(credit)).round(2).tolist()
    churn = g.beta(2.0, 5.0, n).round(3).tolist()
    gc.disable()  # a million new dicts would set off ever longer full collections
    customers = [
        {
            "id": i + 1,
            "customer_no": f"C{i + 1:08d}",
            "name": f"{FIRST[first[i]]} {LAST[last[i]]}",
            "email": f"{FIRST[first[i]].lower()}.{i + 1}@{domain[i]}",
            "phone": f"+49 30 {i % 10_000_000:07d}",
            "region": region,
            "country": country,
            "industry": industry,
            "segment": segment,
            "account_manager": manager,
            "created_at": f"{DAYS[created[i]]}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
            "first_purchase_at": DAYS[since[i]],
            "last_purchase_at": DAYS[recency[i]],
            "orders_count": orders[i],
            "open_tickets": tickets,
            "complaints_12m": complaints,
            "revenue_12m": revenue_12m[i],
            "avg_order_value": round(revenue_12m[i] / max(1, orders[i] // 4), 2),
            "credit_limit": credit[i],
            "outstanding_balance": balance[i],
            "currency": currency,
            "language": language,
            "newsletter": newsletter == 1,
            "churn_risk": churn[i],
            "revenue_share": revenue_share[i],
            "clv": clv[i],
            "years_active": years[i],
            "r_score": r_score[i],
            "f_score": f_score[i],
            "m_score": m_score[i],
        }
        for i, (region, country, industry, segment, manager, tickets, complaints, currency,
                language, newsletter)
        in enumerate(zip(picks(REGIONS), picks(COUNTRIES), picks(INDUSTRIES), picks(SEGMENTS),
                         picks(MANAGERS), ints(0, 6), ints(0, 3), picks(CURRENCIES),
                         picks(LANGUAGES), ints(0, 1), strict=True))
    ]
    gc.enable()
    assert len(customers[0]) == FIELDS, sorted(customers[0])
    return customers


# --- the three paths ---------------------------------------------------------------------------

def python_tier(c: Mapping[str, Any]) -> str:
    """rules/customer_tier.yaml by hand: its rows, in order, first match wins."""
    if c["revenue_share"] >= 0.01:
        return "strategic"  # large-revenue-share
    if c["clv"] >= 500 and c["years_active"] >= 1:
        return "strategic"  # high-value-loyal
    if c["r_score"] >= 4 and c["f_score"] >= 4 and c["m_score"] >= 4:
        return "key"  # rfm-champion
    if 150 <= c["clv"] < 500:
        return "key"  # high-potential
    return "ordinary"  # everyone-else


# The same table for zen: (cells, tier) per row in order; a missing cell is "" (any value).
ZEN_ROWS: tuple[tuple[dict[str, str], str], ...] = (
    ({"revenue_share": ">= 0.01"}, "strategic"),
    ({"clv": ">= 500", "years_active": ">= 1"}, "strategic"),
    ({"r_score": ">= 4", "f_score": ">= 4", "m_score": ">= 4"}, "key"),
    ({"clv": "[150..500)"}, "key"),
    ({}, "ordinary"),
)


def zen_graph(inputs: Sequence[str]) -> dict[str, Any]:
    """customer_tier as a GoRules JDM graph: request -> decision table (first) -> response."""
    rules = [{"_id": f"row-{k}", **{f"in-{name}": cells.get(name, "") for name in inputs},
              "out-tier": json.dumps(tier)}
             for k, (cells, tier) in enumerate(ZEN_ROWS, start=1)]
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request",
             "position": {"x": 0, "y": 0}},
            {"id": "customer-tier", "type": "decisionTableNode", "name": "Customer tier",
             "position": {"x": 250, "y": 0},
             "content": {"hitPolicy": "first",
                         "inputs": [{"id": f"in-{name}", "name": name, "field": name}
                                    for name in inputs],
                         "outputs": [{"id": "out-tier", "name": "tier", "field": "tier"}],
                         "rules": rules}},
            {"id": "response", "type": "outputNode", "name": "Response",
             "position": {"x": 500, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "type": "edge", "sourceId": "request", "targetId": "customer-tier"},
            {"id": "e2", "type": "edge", "sourceId": "customer-tier", "targetId": "response"},
        ],
    }


@dataclass(frozen=True)
class Contender:
    """One way of taking the decision for a list of customers, and how to read its tiers."""

    label: str
    run: Evaluate
    tier: Callable[[Any], str]


def casework_path(table: TableSpec) -> Contender:
    def run(customers: Sequence[Customer]) -> list[Any]:
        return [decide(table, c) for c in customers]

    return Contender("casework decide()", run, lambda d: str(d.outputs["tier"]))


def floor_path() -> Contender:
    def run(customers: Sequence[Customer]) -> list[Any]:
        return [python_tier(c) for c in customers]

    return Contender("python floor", run, str)


def zen_paths(table: TableSpec) -> list[Contender]:
    """zen's three Python entry points, each running the same graph."""
    graph = zen_graph(list(table.inputs))
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {ZEN_KEY: graph}}})
    decision = zen.ZenEngine().create_decision(json.dumps(graph))

    def engine_evaluate(customers: Sequence[Customer]) -> list[Any]:
        evaluate = engine.evaluate
        return [evaluate(ZEN_KEY, c) for c in customers]

    def engine_batch(customers: Sequence[Customer]) -> list[Any]:
        return engine.evaluate_batch([{"key": ZEN_KEY, "context": c} for c in customers])

    def decision_evaluate(customers: Sequence[Customer]) -> list[Any]:
        evaluate = decision.evaluate
        return [evaluate(c) for c in customers]

    def batch_tier(result: Any) -> str:
        if not result.get("success"):
            raise SystemExit(f"zen evaluate_batch failed: {result.get('error')!r}")
        return str(result["data"]["result"]["tier"])

    def tier(response: Any) -> str:
        return str(response["result"]["tier"])

    return [Contender("ZenEngine.evaluate", engine_evaluate, tier),
            Contender("ZenEngine.evaluate_batch", engine_batch, batch_tier),
            Contender("ZenDecision.evaluate", decision_evaluate, tier)]


def timed(path: Contender, customers: Sequence[Customer]) -> tuple[float, float, list[Any]]:
    """Wall-clock and CPU seconds `path` takes for all `customers` (after a full collection),
    and its results."""
    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    results = path.run(customers)
    return time.perf_counter() - started, time.process_time() - cpu, results


# --- agreement ---------------------------------------------------------------------------------

# Boundaries of every row, each with the tier the YAML gives it.
HAND_PICKED: tuple[tuple[dict[str, Any], str], ...] = (
    ({"revenue_share": 0.01, "clv": 0.0, "years_active": 0.0,
      "r_score": 1, "f_score": 1, "m_score": 1}, "strategic"),
    ({"revenue_share": 0.00999, "clv": 0.0, "years_active": 0.0,
      "r_score": 1, "f_score": 1, "m_score": 1}, "ordinary"),
    ({"revenue_share": 0.0, "clv": 500.0, "years_active": 1.0,
      "r_score": 1, "f_score": 1, "m_score": 1}, "strategic"),
    ({"revenue_share": 0.0, "clv": 500.0, "years_active": 0.99,
      "r_score": 1, "f_score": 1, "m_score": 1}, "ordinary"),
    ({"revenue_share": 0.0, "clv": 499.99, "years_active": 0.99,
      "r_score": 1, "f_score": 1, "m_score": 1}, "key"),
    ({"revenue_share": 0.0, "clv": 1000.0, "years_active": 0.5,
      "r_score": 4, "f_score": 4, "m_score": 4}, "key"),
    ({"revenue_share": 0.0, "clv": 149.99, "years_active": 9.0,
      "r_score": 5, "f_score": 5, "m_score": 3}, "ordinary"),
    ({"revenue_share": 0.0, "clv": 150.0, "years_active": 0.0,
      "r_score": 1, "f_score": 1, "m_score": 1}, "key"),
    ({"revenue_share": 0.0, "clv": 150, "years_active": 0,  # ints for doubles
      "r_score": 1, "f_score": 1, "m_score": 1}, "key"),
)


def check_hand_picked(table: TableSpec, template: Customer, paths: Sequence[Contender]) -> None:
    """The table's own tests and HAND_PICKED give the expected tier on every path."""
    cases = [(dict(t.given), str(t.expect["tier"])) for t in table.tests
             if isinstance(t.expect, Mapping)]
    cases += [(dict(inputs), tier) for inputs, tier in HAND_PICKED]
    customers = [{**template, **inputs} for inputs, _ in cases]
    for path in paths:
        tiers = [path.tier(r) for r in path.run(customers)]
        for (inputs, expected), got in zip(cases, tiers, strict=True):
            if got != expected:
                raise SystemExit(f"{path.label} gives tier {got!r} for {inputs}, but "
                                 f"{TABLE_FILE.name} gives {expected!r}")


def check_agreement(customers: Sequence[Customer], paths: Sequence[Contender]) -> dict[str, float]:
    """All paths give the same tiers for `customers`; returns each path's rate on them."""
    rates, reference = {}, None
    for path in paths:
        seconds, _, results = timed(path, customers)
        rates[path.label] = len(customers) / seconds
        tiers = [path.tier(r) for r in results]
        if reference is None:
            reference = (path.label, tiers)
            continue
        label, expected = reference
        for i, (want, got) in enumerate(zip(expected, tiers, strict=True)):
            if want != got:
                inputs = {k: customers[i][k] for k in ZEN_INPUTS}
                raise SystemExit(f"customer #{i} {inputs}: {label} says {want!r}, "
                                 f"{path.label} says {got!r}")
    return rates


# --- rounds and report -------------------------------------------------------------------------

@dataclass
class Rates:
    """Customers per second of each timed round, per path, by the wall clock and by the
    process's CPU time; the zen probe rates."""

    casework: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    zen: list[float] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    zen_api: str = ""
    zen_customers: int = 0
    probe: dict[str, float] = field(default_factory=dict)


def measure(n: int, zen_n: int, repeat: int, seed: int,
            progress: Callable[[str], None]) -> Rates:
    table = load_table_file(TABLE_FILE)
    assert tuple(table.inputs) == ZEN_INPUTS, table.inputs
    started = time.perf_counter()
    customers = make_customers(n, seed)
    gc.collect()
    gc.freeze()  # the customers live to the end: no collection needs to scan them again
    progress(f"{n:,} customers of {FIELDS} fields generated in "
             f"{time.perf_counter() - started:.1f} s")
    casework, floor, zens = casework_path(table), floor_path(), zen_paths(table)
    check_hand_picked(table, customers[0], [casework, floor, *zens])
    rates = Rates(zen_customers=zen_n)
    rates.probe = check_agreement(customers[:CHECKED], [casework, floor, *zens])
    progress(f"all paths agree on the table's tests, {len(HAND_PICKED)} boundary customers "
             f"and the first {min(n, CHECKED):,} customers; zen probe: " + ", ".join(
                 f"{z.label} {rates.probe[z.label]:,.0f}/s" for z in zens))
    chosen = max(zens, key=lambda z: rates.probe[z.label])
    rates.zen_api = chosen.label
    for round_no in range(1, repeat + 1):
        for path, runs, subset in ((casework, rates.casework, customers),
                                   (floor, rates.floor, customers),
                                   (chosen, rates.zen, customers[:zen_n])):
            seconds, cpu, results = timed(path, subset)
            del results
            runs.append(len(subset) / seconds)
            rates.cpu.setdefault(path.label, []).append(len(subset) / cpu)
        progress(f"round {round_no}/{repeat}: casework {rates.casework[-1]:,.0f}/s, python "
                 f"floor {rates.floor[-1]:,.0f}/s, zen {rates.zen[-1]:,.0f}/s")
    return rates


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def summary(n: int, rates: Rates) -> dict[str, Any]:
    casework, floor = statistics.median(rates.casework), statistics.median(rates.floor)
    zen_rate = statistics.median(rates.zen)
    return {"customers": n, "casework_per_s": round(casework, 1),
            "python_floor_per_s": round(floor, 1), "zen_per_s": round(zen_rate, 1),
            "zen_api": rates.zen_api, "casework_vs_zen": round(casework / zen_rate, 2),
            "targets": dict(TARGETS), "zen_customers": rates.zen_customers,
            "casework_vs_python_floor": round(casework / floor, 3),
            "peak_rss_mib": round(peak_rss_mib(), 1)}


def table(result: Mapping[str, Any], rates: Rates, repeat: int) -> Table:
    casework = result["casework_per_s"]
    grid = Table(
        title=f"customer_tier on {result['customers']:,} customers ({FIELDS} fields each), "
              f"median of {repeat} rounds",
        caption=(f"casework_vs_zen = casework/s / zen/s = {result['casework_vs_zen']:.2f} "
                 f"(target >= {TARGETS['casework_vs_zen']}); casework = {casework:,.0f}/s "
                 f"(target >= {TARGETS['casework_per_s']:,}); casework / python floor = "
                 f"{result['casework_vs_python_floor']:.2f}; zen timed through "
                 f"{rates.zen_api}; peak RSS {result['peak_rss_mib']:,.0f} MiB"))
    for header in ("path", "customers", "customers/s", "µs/customer", "casework / this",
                   "each round (customers/s)", "by CPU time"):
        grid.add_column(header, justify="left" if header == "path" else "right")
    for label, count, per_s, runs, cpu in (
            ("casework decide()", result["customers"], casework, rates.casework,
             rates.cpu["casework decide()"]),
            ("python floor", result["customers"], result["python_floor_per_s"], rates.floor,
             rates.cpu["python floor"]),
            (f"zen {rates.zen_api}", rates.zen_customers, result["zen_per_s"], rates.zen,
             rates.cpu[rates.zen_api])):
        grid.add_row(label, f"{count:,}", f"{per_s:,.0f}", f"{1e6 / per_s:,.2f}",
                     f"{casework / per_s:.2f}x", " ".join(f"{r:,.0f}" for r in runs),
                     f"{statistics.median(cpu):,.0f}")
    for api, per_s in rates.probe.items():
        if api.startswith("Zen") and api != rates.zen_api:
            grid.add_row(f"zen {api} (probe)", f"{min(CHECKED, result['customers']):,}",
                         f"{per_s:,.0f}", f"{1e6 / per_s:,.2f}", f"{casework / per_s:.2f}x",
                         "probe only, 1 round", "")
    return grid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=1_000_000,
                        help="customers per round (default 1,000,000)")
    parser.add_argument("--zen-customers", type=int, default=None,
                        help="time zen on the first M customers only (default: all of them)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median counts (3)")
    parser.add_argument("--seed", type=int, default=2026, help="customer generator seed (2026)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    zen_n = args.customers if args.zen_customers is None else args.zen_customers
    if args.customers < 1 or args.repeat < 1 or not 1 <= zen_n <= args.customers:
        parser.error("--customers and --repeat must be at least 1, --zen-customers between 1 "
                     "and --customers")
    errors = Console(stderr=True)
    progress: Callable[[str], None] = (
        (lambda _line: None) if args.json else (lambda line: errors.print(line, style="dim")))
    rates = measure(args.customers, zen_n, args.repeat, args.seed, progress)
    result = summary(args.customers, rates)
    if args.json:
        print(json.dumps(result))
    else:
        # wide enough for the table when stdout is a pipe or a file (rich assumes 80)
        Console(width=None if sys.stdout.isatty() else 140).print(
            table(result, rates, args.repeat))


if __name__ == "__main__":
    main()
