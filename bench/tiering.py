"""Tiering at scale: import, figures and recompute for N customers on SQLite, plus the BG/NBD fit
next to `lifetimes` on the CDNOW master file.

Data: the real CDNOW master file (../shared/data/cdnow/CDNOW_master.txt, or CASEWORK_CDNOW_DIR),
23,570 customers and 69,659 purchase lines from 1997-01 to 1998-06. N synthetic customers are
made by resampling its customers with replacement (numpy, seeded): synthetic customer k gets the
whole purchase history (days, quantities, amounts) of a randomly drawn real customer. With
N = 1,000,000 that is about 2.96 million purchase lines, written as a CDNOW file.

Each step runs as an operator would run it, as its own `casework` process against one SQLite
database (a fresh temporary folder holding the repository's workflows/ and rules/):

  import        casework customers import FILE --format cdnow          (all lines, one file)
  recompute     casework tiers recompute --as-of 1998-06-30 --json     (first run: every customer
                gets a tier and a churn risk, so every customer's history gets its first events,
                and the retention cases the shipped workflow asks for are opened)
  recompute 2   casework tiers recompute --as-of 1998-07-31 --json     (a month on: only the
                customers whose tier or risk moved write anything)

The floor of the first recompute: SQLite alone writing the rows that recompute wrote, copied
in one transaction (INSERT ... SELECT from its database, ATTACHed) into the database as it was
before it, with the same triggers and indexes: no figures, decisions, hashing or Python per row.

Wall time is measured around each process (start-up included); peak memory is each process's own
maximum resident set size (os.wait4). A recompute's own split (figures: the SQL sums and the
models; decide: both tables over every customer; write: the batched transactions) comes from its
JSON report.

The fit: BG/NBD on the CDNOW master summary (calibration to 1998-06-30, 23,570 customers, the same
frequency/recency/T arrays for both), casework's engine.customers.analytics.fit_bg_nbd next to
lifetimes.BetaGeoFitter().fit, each timed R times in this process; medians reported, with both
log-likelihoods so that it is clear they found the same optimum.

Usage: python bench/tiering.py [--customers N] [--rounds R] [--json]
Targets (issue 4): recompute of 1,000,000 customers < 60 s, peak memory < 1.5 GB, fit at least as
fast as lifetimes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.customers.analytics import _bg_nbd_objective, fit_bg_nbd  # noqa: E402
from engine.customers.files import occasions, read_file  # noqa: E402
from engine.customers.rfm import summarize  # noqa: E402

CDNOW = Path(os.environ.get("CASEWORK_CDNOW_DIR", ROOT.parent / "shared" / "data" / "cdnow"))
CASEWORK = str(Path(sys.executable).parent / "casework")
NOW = "1998-07-01T09:00:00Z"


def synthetic_file(path: Path, customers: int, seed: int = 0) -> int:
    """Write a CDNOW file of `customers` resampled customers; return its number of lines."""
    reading = read_file(CDNOW / "CDNOW_master.txt", "cdnow")
    histories: dict[str, list[str]] = {}
    for p in reading.purchases:
        histories.setdefault(p.customer, []).append(
            f"{p.day:%Y%m%d} {p.quantity} {p.amount}\n")
    originals = list(histories.values())
    drawn = np.random.default_rng(seed).integers(0, len(originals), size=customers)
    lines = 0
    with path.open("w") as out:
        for k, j in enumerate(drawn.tolist(), 1):
            prefix = f"{k:07d} "
            history = originals[j]
            out.writelines(prefix + line for line in history)
            lines += len(history)
    return lines


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run one casework command; return its wall seconds, peak RSS in MB and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as captured:
        process = subprocess.Popen([CASEWORK, *args], env=env, stdout=captured,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        errors = process.stderr.read().decode() if process.stderr else ""
        captured.seek(0)
        output = captured.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"casework {' '.join(args)} failed ({process.returncode}):\n{errors}")
    return seconds, usage.ru_maxrss / 1024, output


def scale(customers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="casework-tiering-") as folder:
        home = Path(folder)
        shutil.copytree(ROOT / "workflows", home / "workflows")
        shutil.copytree(ROOT / "rules", home / "rules")
        env = {**os.environ, "CASEWORK_HOME": str(home), "CASEWORK_NOW": NOW}
        env.pop("CASEWORK_DATABASE_URL", None)
        data = home / "synthetic.txt"
        lines = synthetic_file(data, customers)
        run(["db", "upgrade"], env)
        for table in ("customer_tier", "churn_risk"):
            run(["rules", "publish", f"rules/{table}.yaml"], env)
        import_s, import_mb, _ = run(["customers", "import", str(data), "--format", "cdnow"], env)
        before = home / "before-recompute.db"
        shutil.copy(home / "casework.db", before)
        first_s, first_mb, first = run(["tiers", "recompute", "--as-of", "1998-06-30",
                                        "--json"], env)
        floor_s = floor_seconds(before, home / "casework.db")
        before.unlink()
        again_s, again_mb, again = run(["tiers", "recompute", "--as-of", "1998-07-31",
                                        "--json"], env)
        database_mb = (home / "casework.db").stat().st_size / 2**20
    report, later = json.loads(first), json.loads(again)
    return {
        "customers": customers, "purchases": lines, "import_s": import_s,
        "import_peak_rss_mb": import_mb, "recompute_s": first_s, "recompute_peak_rss_mb": first_mb,
        "recompute_split_s": report["seconds"], "recompute_floor_s": floor_s,
        "tier_changes": report["tier_changes"],
        "churn_risk_changes": report["churn_risk_changes"],
        "cases_started": report["cases_started"], "tiers": report["tiers"],
        "recompute_again_s": again_s, "recompute_again_split_s": later["seconds"],
        "recompute_again_tier_changes": later["tier_changes"],
        "recompute_again_peak_rss_mb": again_mb,
        "peak_rss_mb": max(import_mb, first_mb, again_mb), "database_mb": database_mb,
    }


# the tables a first recompute adds rows to (it also updates every customer row)
WRITTEN = ("customer_figures", "customer_events", "cases", "events", "sla_clocks", "timers",
           "outbox")


def floor_seconds(before: Path, after: Path) -> float:
    """Seconds SQLite takes to write what the recompute wrote into `after`, copying the rows
    into `before` (the database as it was) in one transaction, set up as engine.store.db sets
    up its connections."""
    with closing(sqlite3.connect(before, isolation_level=None)) as db:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("ATTACH DATABASE ? AS done", (str(after),))
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for table in WRITTEN:
            columns = ", ".join(row[1] for row in db.execute(f"PRAGMA main.table_info({table})"))
            db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM done.{table}")
        db.execute("UPDATE main.customers SET (tier, history_seq, history_head, updated_at) = "
                   "(SELECT d.tier, d.history_seq, d.history_head, d.updated_at "
                   "FROM done.customers d WHERE d.id = customers.id)")
        db.execute("COMMIT")
        return time.perf_counter() - started


def fits(rounds: int) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter  # the established CLV library, for comparison only

    reading = read_file(CDNOW / "CDNOW_master.txt", "cdnow")
    summary = summarize(occasions(reading.purchases), date(1998, 6, 30))
    x, tx, big_t = summary.frequency, summary.recency, summary.age
    ours, theirs = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        model = fit_bg_nbd(x, tx, big_t)
        ours.append(time.perf_counter() - started)
        fitter = BetaGeoFitter()
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(x, tx, big_t)
        theirs.append(time.perf_counter() - started)
    # lifetimes reports the likelihood of data it rescaled; evaluate its parameters on ours
    params = fitter.params_
    objective = _bg_nbd_objective(x, tx, big_t, np.ones(len(x)))
    theirs_log = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    lifetimes_ll = -objective(theirs_log)[0] * len(x)
    return {
        "fit_customers": len(x), "fit_s": statistics.median(ours),
        "lifetimes_fit_s": statistics.median(theirs),
        "fit_log_likelihood": model.log_likelihood, "lifetimes_log_likelihood": lifetimes_ll,
        "fit_params": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b},
        "lifetimes_params": {k: float(v) for k, v in fitter.params_.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7, help="fit repetitions (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--fit-only", action="store_true", help="only the fit comparison")
    options = parser.parse_args()
    if options.fit_only:
        print(json.dumps(fits(options.rounds)))
        return
    result = {**scale(options.customers), **fits(options.rounds)}
    if options.json:
        print(json.dumps(result))
        return
    split = result["recompute_split_s"]
    print(f"tiering on SQLite: {result['customers']:,} customers, {result['purchases']:,} "
          f"purchase lines (CDNOW master resampled)")
    print(f"  import              {result['import_s']:8.1f} s   peak "
          f"{result['import_peak_rss_mb']:6.0f} MB")
    print(f"  recompute (first)   {result['recompute_s']:8.1f} s   peak "
          f"{result['recompute_peak_rss_mb']:6.0f} MB   figures {split['figures']:.1f} s, "
          f"decide {split['decide']:.1f} s, write {split['write']:.1f} s")
    print(f"    floor: SQLite copying the rows it wrote, {result['recompute_floor_s']:.1f} s "
          f"(recompute / floor {result['recompute_s'] / result['recompute_floor_s']:.1f}x)")
    print(f"    {result['tier_changes']:,} tier changes, {result['churn_risk_changes']:,} churn "
          f"risk changes, cases started {result['cases_started']}, tiers {result['tiers']}")
    later = result["recompute_again_split_s"]
    print(f"  recompute (+1 month){result['recompute_again_s']:8.1f} s   peak "
          f"{result['recompute_again_peak_rss_mb']:6.0f} MB   figures {later['figures']:.1f} s, "
          f"decide {later['decide']:.1f} s, write {later['write']:.1f} s; "
          f"{result['recompute_again_tier_changes']:,} tier changes")
    print(f"  database file       {result['database_mb']:8.0f} MB")
    print(f"BG/NBD fit on CDNOW master ({result['fit_customers']:,} customers), median of "
          f"{options.rounds}:")
    print(f"  casework            {result['fit_s'] * 1000:8.1f} ms   log-likelihood "
          f"{result['fit_log_likelihood']:.2f}")
    print(f"  lifetimes           {result['lifetimes_fit_s'] * 1000:8.1f} ms   log-likelihood "
          f"{result['lifetimes_log_likelihood']:.2f}")
    print(f"  lifetimes / casework  {result['lifetimes_fit_s'] / result['fit_s']:.1f}x")


if __name__ == "__main__":
    main()
