"""engine.jobs.tiering: tiers, churn warnings, their history and the cases they start, on both
databases, with the shipped tables and workflows and the shipped CDNOW sample."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from engine.customers.analytics import FitError
from engine.customers.files import occasions, read_file
from engine.demodata import CDNOW_SAMPLE
from engine.jobs.tiering import Simulation
from engine.kernel.errors import RuleError
from engine.rules.loading import load_table_text
from engine.rules.tables import decide
from engine.wiring import Casework
from tests.customers.test_figures import totals_of
from tests.fixtures import ROOT

AS_OF = date(1998, 6, 30)
NOW = datetime(1998, 7, 1, 9, 0, tzinfo=UTC)
TIER_FILE = ROOT / "rules" / "customer_tier.yaml"


@pytest.fixture
def tiered(casework: Casework) -> Casework:
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    casework.tiering.recompute(AS_OF, NOW)
    return casework


def counts(casework: Casework) -> tuple[int, int, int]:
    with casework.database.reading() as connection:
        return tuple(int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
                     for table in ("customer_events", "cases", "events"))  # type: ignore[return-value]


def test_every_customer_gets_a_tier_recorded_with_its_rule(tiered: Casework) -> None:
    tier_table = tiered.registry.active_table("customer_tier", NOW)
    tiers = Counter()
    for customer in ("00004", "00021", "23556"):
        profile = tiered.customers.customer(customer)
        record, figures = profile.record, profile.figures
        assert figures is not None
        first = tiered.customers.history(customer)[0]
        payload = json.loads(first.payload)
        assert (first.name, first.seq, payload["old"], payload["new"]) == \
            ("customer.tier_changed", 1, None, record.tier)
        assert (payload["table"], payload["version"], payload["as_of"]) == \
            ("customer_tier", 1, "1998-06-30")
        assert payload["matched"] == [figures.tier_rule]
        # what history says was read gives, decided again, what history says was decided
        again = decide(tier_table, payload["inputs"])
        assert (again.outputs["tier"], list(again.matched)) == (payload["new"],
                                                                payload["matched"])
        tiers[record.tier] += 1
    done = tiered.tiering.recompute(AS_OF, NOW)  # the same day again: nothing moves
    assert (done.tier_changes, done.risk_changes, sum(done.started.values())) == (0, 0, 0)
    assert sum(done.tiers.values()) == done.customers == 2357
    assert set(done.tiers) <= {"strategic", "key", "ordinary"}


def test_a_second_run_writes_nothing_when_nothing_changed(tiered: Casework) -> None:
    before = counts(tiered)
    tiered.tiering.recompute(AS_OF, NOW)
    assert counts(tiered) == before


def test_high_risk_managed_customers_get_one_retention_case_each(tiered: Casework) -> None:
    with tiered.database.reading() as connection:
        at_risk = set(connection.execute(sa.text(
            "SELECT c.id FROM customers c JOIN customer_figures f ON f.customer_id = c.id "
            "WHERE f.churn_risk = 'high' AND c.tier IN ('strategic', 'key')")).scalars())
        opened = connection.execute(sa.text(
            "SELECT customer, count(*) FROM cases WHERE workflow = 'retention' "
            "GROUP BY customer")).all()
    assert at_risk  # the sample as of mid-1998 has managed customers drifting away
    assert {customer for customer, _ in opened} == at_risk
    assert {n for _, n in opened} == {1}
    customer = sorted(at_risk)[0]
    history = tiered.customers.history(customer)
    started = [p for e in history if e.name == "customer.case_started"
               and (p := json.loads(e.payload))["workflow"] == "retention"]
    assert len(started) == 1 and started[0]["on"] == "customer.churn_risk_changed"
    case = tiered.store.get_case(started[0]["case"])
    assert (case.workflow, case.customer, case.state, case.queue) == \
        ("retention", customer, "at_risk", "retention")
    assert case.fields["tier"] in ("strategic", "key")
    created = json.loads(tiered.store.case_events(case.id)[0].payload)
    assert created["because"] == {"event": "customer.churn_risk_changed"}
    # a month later the risk may move again, but an open retention case is not doubled
    tiered.tiering.recompute(date(1998, 7, 31), NOW)
    with tiered.database.reading() as connection:
        assert connection.execute(sa.text(
            "SELECT count(*) FROM cases WHERE workflow = 'retention' GROUP BY customer "
            "ORDER BY 1 DESC LIMIT 1")).scalar_one() == 1


def test_customer_history_verifies_and_tampering_is_found(tiered: Casework) -> None:
    cases, customers, breaks = tiered.verify_history()
    assert (customers, breaks) == (2357, [])
    assert cases > 0
    record = tiered.customers.customer("00004").record
    engine = tiered.database.engine
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER customer_events_no_update")
        else:
            connection.exec_driver_sql(
                "ALTER TABLE customer_events DISABLE TRIGGER customer_events_append_only")
        connection.execute(sa.text(
            "UPDATE customer_events SET payload = replace(payload, :real, :forged) "
            "WHERE customer_id = '00004' AND seq = 1"),
            {"real": f'"new":"{record.tier}"', "forged": '"new":"forged"'})
    _, _, breaks = tiered.verify_history()
    assert [str(b) for b in breaks] == [
        "customer 00004: event 1: 'customer.tier_changed' was altered after it was written "
        "(its content no longer matches its hash)"]


def test_customer_history_is_append_only_in_the_database(tiered: Casework) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
            tiered.database.writing() as connection:
        connection.exec_driver_sql("DELETE FROM customer_events WHERE customer_id = '00004'")


def test_simulate_shows_the_change_matrix_and_writes_nothing(tiered: Casework) -> None:
    text = TIER_FILE.read_text().replace('">= 0.01"', '">= 0.002"').replace(
        "version: 1", "version: 2")
    candidate = load_table_text(text, "candidate.yaml")
    before = counts(tiered)
    result = tiered.tiering.simulate(candidate, AS_OF, NOW)
    assert counts(tiered) == before
    assert result.customers == 2357
    assert result.changed > 0
    assert all(new == "strategic" for (old, new), n in result.matrix.items() if old != new)
    same = tiered.tiering.simulate(tiered.registry.active_table("customer_tier", NOW), AS_OF, NOW)
    assert same.changed == 0
    churn = tiered.tiering.simulate(tiered.registry.active_table("churn_risk", NOW), AS_OF, NOW)
    assert (churn.output, churn.changed, churn.customers) == ("risk", 0, 2357)


def test_simulate_orders_values_as_the_output_declares_them(tiered: Casework) -> None:
    text = TIER_FILE.read_text().replace('">= 0.01"', '">= 0.002"').replace(
        "version: 1", "version: 2")
    result = tiered.tiering.simulate(load_table_text(text, "candidate.yaml"), AS_OF, NOW)
    assert result.values == ["strategic", "key", "ordinary"]  # declared, not alphabetical
    odd = Simulation("t", "o", 1, 2, AS_OF, Counter({(None, "b"): 1, ("z", "a"): 2}), ("z",))
    assert odd.values == ["z", "a", "b", None]  # undeclared after, by text; none last


def test_simulation_reads_figures_as_of_the_day_they_were_stored(casework: Casework) -> None:
    assert casework.tiering.figures_as_of(NOW) == NOW.date()  # no recompute yet: today
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    casework.tiering.recompute(AS_OF, NOW)
    later = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert casework.tiering.figures_as_of(later) == AS_OF


def test_a_table_reading_what_customers_do_not_offer_fails_before_writing(
        casework: Casework) -> None:
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    text = TIER_FILE.read_text().replace("clv: double", "lifetime: double").replace(
        "clv:", "lifetime:").replace("version: 1", "version: 2")
    casework.registry.publish_table(load_table_text(text, "bad.yaml"), text, NOW)
    before = counts(casework)
    with pytest.raises(RuleError, match="reads lifetime, which customers do not offer"):
        casework.tiering.recompute(AS_OF, NOW)
    assert counts(casework) == before


def test_a_fit_that_fails_says_so_and_writes_nothing(casework: Casework, tmp_path: Path) -> None:
    few = tmp_path / "few.txt"
    few.write_text("".join(f"{n:05d} 19970101 1 10.00\n" for n in range(1, 30)))
    casework.customers.import_file(few, "cdnow", NOW)
    before = counts(casework)
    with pytest.raises(FitError):
        casework.tiering.recompute(AS_OF, NOW)
    assert counts(casework) == before


def test_the_store_sums_purchases_as_the_plain_way_does(casework: Casework) -> None:
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    sample = [(c, d, float(a)) for c, d, a in occasions(read_file(CDNOW_SAMPLE, "cdnow").purchases)]
    for as_of in (date(1997, 3, 10), AS_OF):
        stored, plain = casework.customers.totals(as_of), totals_of(sample, as_of, extra=())
        bought = stored.occasions > 0
        assert [c for c, b in zip(stored.ids, bought, strict=True) if b] == list(plain.ids)
        for name in ("first_day", "last_day", "occasions", "total", "first_amount", "recent"):
            np.testing.assert_allclose(getattr(stored, name)[bought], getattr(plain, name),
                                       err_msg=name)
