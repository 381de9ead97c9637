"""engine.jobs.tier_helper: batches worked out in a second process write exactly what the
recompute writes alone, on both databases; heads that moved meanwhile, a failing batch and a
helper that dies are all handled by the writer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.demodata import CDNOW_SAMPLE
from engine.jobs.tier_changes import Preparer
from engine.jobs.tier_helper import Helper, can_help
from engine.jobs.tier_starts import SYSTEM, Starts
from engine.kernel.errors import RuleError
from engine.kernel.history import EventDraft, chain_customer
from engine.kernel.records import CustomerHead
from engine.rules.loading import load_table_text
from engine.store import Database
from engine.store.upgrades import upgrade
from engine.wiring import Casework
from tests.fixtures import ROOT, _casework, _counter, _create_database, _with_database

AS_OF = date(1998, 6, 30)
NOW = datetime(1998, 7, 1, 9, 0, tzinfo=UTC)
BATCH = 400  # the sample's 2,357 customers in 6 batches

pytestmark = pytest.mark.skipif(not can_help(), reason="no second core or no fork here")


def sqlite_url(tmp_path: Path, name: str) -> str:
    url = f"sqlite:///{tmp_path / name}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    return url


@pytest.fixture
def alone(database_url: str, request: pytest.FixtureRequest,
          tmp_path: Path) -> Iterator[Casework]:
    """A second casework on the same kind of database whose recompute works every batch out
    itself (figures summed on another kind of database differ in the last digits)."""
    if database_url.startswith("sqlite"):
        url = sqlite_url(tmp_path, "alone.db")
    else:  # not postgres_database_url: that is the one `casework` has
        admin = str(request.getfixturevalue("postgres_admin_url"))
        name = f"casework_alone_{os.getpid()}_{next(_counter)}"
        _create_database(admin, name, template="casework_template")
        url = _with_database(admin, name)
    for app in _casework(url):
        app.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
        app.tiering.batch, app.tiering.help_from = BATCH, 10**9
        yield app


@pytest.fixture
def helped(casework: Casework) -> Casework:
    """casework (each database) whose recompute has a helper work the batches out."""
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    casework.tiering.batch, casework.tiering.help_from = BATCH, 1
    return casework


@pytest.fixture
def helped_on_sqlite(tmp_path: Path) -> Iterator[Casework]:
    """A helped casework on SQLite, where the helper drafts the cases too."""
    for app in _casework(sqlite_url(tmp_path, "helped.db")):
        app.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
        app.tiering.batch, app.tiering.help_from = BATCH, 1
        yield app


def written(app: Casework) -> dict[str, Any]:
    """Everything a recompute writes that does not depend on the database's own forms."""
    with app.database.reading() as connection:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]
        return {
            "customer_events": rows("SELECT customer_id, seq, name, payload, prev_hash, hash "
                                    "FROM customer_events ORDER BY customer_id, seq"),
            "customers": rows("SELECT id, tier, history_seq, history_head FROM customers "
                              "ORDER BY id"),
            "figures": rows("SELECT customer_id, churn_risk, tier_rule, frequency, r_score "
                            "FROM customer_figures ORDER BY customer_id"),
            "cases": rows("SELECT id, workflow, state, customer, history_seq, history_head "
                          "FROM cases ORDER BY id"),
            "events": rows("SELECT case_id, seq, name, hash FROM events ORDER BY case_id, seq"),
        }


def test_a_helped_recompute_writes_what_one_alone_writes(helped: Casework,
                                                         alone: Casework) -> None:
    sqlite = helped.database.dialect == "sqlite"
    for as_of in (AS_OF, date(1998, 9, 30)):  # the first, then one that moves a few
        ours, theirs = helped.tiering.recompute(as_of, NOW), alone.tiering.recompute(as_of, NOW)
        assert (ours.batches, ours.helped, theirs.helped) == (6, 6, 0)
        # the helper drafts the cases only where their ids can be foreseen
        assert (ours.drafted > 0) == sqlite and theirs.drafted == 0
        assert (ours.tier_changes, ours.risk_changes, ours.started, ours.moved) == \
            (theirs.tier_changes, theirs.risk_changes, theirs.started, theirs.moved)
        assert written(helped) == written(alone)
    assert helped.verify_history()[2] == []


def test_a_customer_written_to_meanwhile_is_worked_out_again(helped: Casework) -> None:
    """Another process writes to a customer of a later batch while the first is written: the
    recompute chains its events after that one, whoever worked the batch out."""
    ids = sorted(helped.tiering.figures(AS_OF).ids)
    later = ids[3 * BATCH + 1]

    def meanwhile(done: int, total: int) -> None:
        if done == BATCH:
            with helped.customers.transaction() as tx:
                head, _ = tx.customer_record(later)
                events = chain_customer(later, head.seq, head.head, [
                    EventDraft("customer.updated", {"owner": "ann"})], "ann", "manager", NOW)
                tx.update_customer(CustomerHead(later, head.tier, head.churn_risk,
                                                events[-1].seq, events[-1].hash),
                                   {"owner": "ann"}, events, NOW)

    helped.tiering.recompute(AS_OF, NOW, meanwhile)
    assert [e.name for e in helped.customers.history(later)][:2] == \
        ["customer.updated", "customer.tier_changed"]
    assert helped.verify_history()[2] == []


def test_cases_started_meanwhile_move_the_ids_the_helper_drafts(
        helped_on_sqlite: Casework) -> None:
    """Another process starts a case while the recompute runs: the drafted cases of the batches
    after it do not get the ids they were drafted with and are started by the writer; the
    helper, told by how much, drafts the later ones with the right ids again."""
    helped = helped_on_sqlite
    ids = sorted(helped.tiering.figures(AS_OF).ids)
    elsewhere = []

    def meanwhile(done: int, total: int) -> None:
        if done == 2 * BATCH:
            elsewhere.append(helped.runtime.start("complaint", {
                "summary": "Late delivery", "channel": "phone", "category": "other",
                "severity": "low"}, SYSTEM, NOW, customer=ids[0]).id)

    done = helped.tiering.recompute(AS_OF, NOW, meanwhile)
    # batches 0 and 1 drafted right; 2 found the ids off; 3 and 4 were drafted before the
    # helper heard; 5 was drafted with the moved ids
    assert (done.batches, done.helped, done.drafted) == (6, 6, 3)
    assert helped.verify_history()[2] == []
    with helped.database.reading() as connection:
        ids_started = [row[0] for row in connection.exec_driver_sql(
            "SELECT id FROM cases WHERE workflow != 'complaint' ORDER BY id")]
    assert len(ids_started) == sum(done.started.values())
    assert elsewhere[0] not in ids_started
    assert ids_started == sorted(set(range(1, len(ids_started) + 2)) - set(elsewhere))


def test_the_helper_offers_nothing_for_heads_it_did_not_see(helped: Casework) -> None:
    figures = helped.tiering.figures(AS_OF)
    registry = helped.registry
    tables = (registry.active_table("customer_tier", NOW), registry.active_table("churn_risk",
                                                                                 NOW))
    preparer = Preparer(figures, tables, Starts(registry.starts()), Starts(registry.reacts()),
                        NOW)
    spans = [range(0, BATCH), range(BATCH, 2 * BATCH)]
    ids = figures.ids
    heads = helped.customers.heads(ids[0], ids[BATCH - 1])
    moved = {**heads, ids[0]: heads[ids[0]]._replace(seq=7, head="f" * 64)}
    with Helper(preparer, helped.customers, helped.runtime) as helper:
        mine = helper.prepare(spans, 0, moved)  # the helper read the stored heads: not these
        assert helper.taken == 0
        assert mine.changes[0].events[0].seq == 8  # worked out here, from the heads given
        helper.prepare(spans, 1, helped.customers.heads(ids[BATCH], ids[2 * BATCH - 1]))
        assert helper.taken == 1
    assert helper.process is not None and helper.process.exitcode == 0  # left when told to


FAILING = """\
  - id: odd
    if: "1 / (r_score - 3) > 100"
    then: {tier: ordinary}
  - id: everyone-else
"""


def test_a_batch_that_fails_fails_as_it_does_alone(helped: Casework, alone: Casework) -> None:
    text = (ROOT / "rules" / "customer_tier.yaml").read_text().replace(
        "version: 1", "version: 2").replace("  - id: everyone-else\n", FAILING)
    for app in (helped, alone):
        app.registry.publish_table(load_table_text(text, "odd.yaml"), text, NOW)
    failures = []
    for app in (helped, alone):
        with pytest.raises(RuleError) as failed:
            app.tiering.recompute(AS_OF, NOW)
        failures.append(str(failed.value))
    assert failures[0] == failures[1]
    assert "row 'odd'" in failures[0]
    assert written(helped) == written(alone)


def test_a_helper_that_dies_leaves_the_rest_to_the_writer(helped: Casework,
                                                         alone: Casework) -> None:
    killed = []

    def kill_the_helper(done: int, total: int) -> None:
        import multiprocessing

        for child in multiprocessing.active_children():
            if child.name == "casework-recompute-helper" and not killed:
                child.kill()
                child.join()
                killed.append(child.pid)

    done = helped.tiering.recompute(AS_OF, NOW, kill_the_helper)
    alone.tiering.recompute(AS_OF, NOW)
    assert killed and done.helped < done.batches
    assert written(helped) == written(alone)
    assert json.loads(helped.customers.history("00004")[0].payload)["as_of"] == "1998-06-30"
