"""engine.jobs.tier_changes: a recompute batch worked out apart from its transaction: tables run
once per distinct tuple of inputs, changes chained from their heads, starts planned against the
open cases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from itertools import product

from engine.demodata import CDNOW_SAMPLE
from engine.jobs.tier_changes import Decider, Preparer, plan
from engine.jobs.tier_starts import Starts
from engine.kernel.history import GENESIS, verify
from engine.rules.loading import load_table_file
from engine.rules.tables import decide
from engine.wiring import Casework
from tests.fixtures import ROOT

AS_OF = date(1998, 6, 30)
NOW = datetime(1998, 7, 1, 9, 0, tzinfo=UTC)


def test_a_decider_decides_what_the_table_decides_once_per_distinct_inputs() -> None:
    table = load_table_file(ROOT / "rules" / "customer_tier.yaml")
    grid = list(product([0.0, 0.005, 0.01, 0.02], [0.0, 149.99, 150.0, 499.0, 500.0, 900.0],
                        [0.5, 1.0, 3.0], [1, 3, 4, 5], [2, 4], [3, 5]))
    rows = grid * 2  # every tuple twice: the second time from memory
    columns = {name: [row[i] for row in rows] for i, name in enumerate(table.inputs)}
    decider = Decider(table)
    decided = decider.decide(columns)
    assert [d.outputs for d in decided] == \
        [decide(table, dict(zip(table.inputs, row, strict=True))).outputs for row in rows]
    assert [d.matched for d in decided[:len(grid)]] == [d.matched for d in decided[len(grid):]]
    assert len(decider.known) == len(grid)


def test_a_decider_forgets_when_it_knows_too_much() -> None:
    table = load_table_file(ROOT / "rules" / "customer_tier.yaml")
    decider = Decider(table)
    decider.LIMIT = 10
    columns = {name: [] for name in table.inputs}
    for k in range(25):
        for name, value in zip(table.inputs, (k / 1000, float(k), 1.0, 1, 1, 1), strict=True):
            columns[name].append(value)
    decider.decide(columns)
    decider.decide(columns)  # past the limit: starts again
    assert len(decider.known) <= 25 and decider.known
    first = {name: values[:1] for name, values in columns.items()}
    for _ in range(3):
        decider.decide(first)
    assert len(decider.known) <= decider.LIMIT + 1


def tiered_batch(casework: Casework) -> tuple[Preparer, list[object]]:
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    registry = casework.registry
    figures = casework.tiering.figures(AS_OF)
    preparer = Preparer(figures, (registry.active_table("customer_tier", NOW),
                                  registry.active_table("churn_risk", NOW)),
                        Starts(registry.starts()), Starts(registry.reacts()), NOW)
    return preparer, list(figures.ids)


def test_every_customer_moves_on_the_first_run_chained_from_its_head(
        casework: Casework) -> None:
    preparer, ids = tiered_batch(casework)
    span = range(0, 300)
    heads = casework.customers.heads(str(ids[0]), str(ids[299]))
    batch = preparer.prepare(span, heads)
    assert (batch.tier_changes, batch.risk_changes, len(batch.changes)) == (300, 300, 300)
    assert len(batch.figures) == 300 and batch.figures[0][0] == ids[0]
    for change in batch.changes:
        assert [e.name for e in change.events] == ["customer.tier_changed",
                                                   "customer.churn_risk_changed"]
        assert verify(change.customer, change.events, 2, change.events[-1].hash,
                      kind="customer") is None
        assert change.events[0].prev_hash == GENESIS
        payload = json.loads(change.events[0].payload)
        assert (payload["old"], payload["new"], payload["as_of"]) == (None, change.tier,
                                                                      "1998-06-30")
    assert batch.tiers == [c.tier for c in batch.changes]


def test_a_start_waits_while_the_customer_has_an_open_case(casework: Casework) -> None:
    preparer, ids = tiered_batch(casework)
    batch = preparer.prepare(range(0, 300), casework.customers.heads(str(ids[0]),
                                                                       str(ids[299])))
    starting = [c for c in batch.changes if c.starts]
    assert starting
    plan(batch, preparer.starts, {}, NOW)
    assert len(batch.planned) == sum(len(c.starts) for c in batch.changes)
    busy = starting[0]
    workflow = preparer.starts.starts[busy.starts[0]][0].spec.name
    plan(batch, preparer.starts, {(workflow, busy.customer): [7]}, NOW)
    assert len(batch.planned) == sum(len(c.starts) for c in batch.changes) - 1
    [skipped] = busy.skipped
    assert (skipped.name, skipped.payload["workflow"], skipped.payload["reason"]) == (
        "customer.case_not_started", workflow, f"an open {workflow} case")
    plan(batch, preparer.starts, {}, NOW)  # planned again: nothing left of the first plan
    assert busy.skipped == [] and batch.open_cases == {}
