"""A case's customer in its expressions: record and figures, read only when a workflow reads
them, on both databases."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.cases.facts import cel_facts
from engine.cases.runtime import Actor
from engine.kernel.errors import DefinitionError, TransitionRefused
from engine.kernel.specs import STORED_FIGURES
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0

AGENT = Actor("ann", "agent")

FACTS = textwrap.dedent("""\
    workflow: facts
    version: 1
    subject: customer
    fields:
      tier:  {type: enum, values: [strategic, key, ordinary]}
      worth: {type: decimal}
      where: {type: text}
      seen:  {type: bool}
    states:
      open: {initial: true}
      done: {final: true}
    on_start:
      - set: {tier: 'has(customer.tier) ? customer.tier : "ordinary"'}
    transitions:
      - trigger: value
        from: open
        to: done
        when: 'customer.status == "active"'
        do:
          - set: {worth: 'has(customer.clv) ? customer.clv : 0.0',
                  where: 'has(customer.region) ? customer.region : "nowhere"',
                  seen: 'has(customer.rfm) && customer.rfm.r >= 4'}
""")


def deploy(casework: Casework, text: str = FACTS) -> None:
    casework.registry.deploy(load_workflow_text(text, "facts.yaml"), text, T0)


def figures(casework: Casework, customer: str, clv: float, r: int) -> None:
    values = dict.fromkeys(STORED_FIGURES, 0)
    values.update(recency_days=3, monetary=120.5, revenue_12m=80.0,
                  clv=clv, r_score=r, f_score=2, m_score=5)
    with casework.customers.transaction() as tx:
        tx.save_figures(date(2026, 3, 1), T0, [
            (customer, *[values[n] for n in STORED_FIGURES], "low", "default", 1)])


def test_expressions_read_the_customers_record_and_figures(casework: Casework) -> None:
    deploy(casework)
    casework.customers.add("S1", T0, tier="strategic", region="North")
    figures(casework, "S1", 1234.5, 5)
    case = casework.runtime.start("facts", {}, AGENT, T0, customer="S1")
    assert case.fields == {"tier": "strategic"}
    done = casework.runtime.fire(case.id, "value", AGENT, T0)
    assert done.fields == {"tier": "strategic", "worth": "1234.5", "where": "North",
                           "seen": True}


def test_a_fact_not_known_is_not_set(casework: Casework) -> None:
    """No tier, no figures yet, no region: has() is false, as for an unset case field."""
    deploy(casework)
    casework.customers.add("N1", T0)
    case = casework.runtime.start("facts", {}, AGENT, T0, customer="N1")
    assert case.fields == {"tier": "ordinary"}
    done = casework.runtime.fire(case.id, "value", AGENT, T0)
    assert done.fields == {"tier": "ordinary", "worth": "0", "where": "nowhere", "seen": False}


def test_the_guard_reads_the_customer_as_it_is_when_fired(casework: Casework) -> None:
    deploy(casework)
    casework.customers.add("L1", T0, status="lost")
    case = casework.runtime.start("facts", {}, AGENT, T0, customer="L1")
    with pytest.raises(TransitionRefused) as refused:
        casework.runtime.fire(case.id, "value", AGENT, T0)
    assert refused.value.condition == 'customer.status == "active"'


def test_only_a_workflow_that_reads_facts_loads_them() -> None:
    spec = load_workflow_text(FACTS, "facts.yaml")
    assert spec.customer_facts == {"tier", "status", "clv", "region", "rfm"}
    plain = FACTS.replace("on_start:\n  - set: {tier: 'has(customer.tier) ? customer.tier : "
                          "\"ordinary\"'}\n", "").replace(
        "when: 'customer.status == \"active\"'", "when: 'customer.id != \"\"'").replace(
        "    do:\n", "    # nothing\n").split("    # nothing\n")[0]
    assert load_workflow_text(plain, "plain.yaml").customer_facts == frozenset()


def test_a_misspelt_fact_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = FACTS.replace("customer.tier : ", "customer.teir : ")
    with pytest.raises(DefinitionError) as caught:
        load_workflow_text(text, str(tmp_path / "facts.yaml"))
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{tmp_path / 'facts.yaml'}:13: ")
    assert "customer has no 'teir'; did you mean 'tier'?" in problem


def test_facts_as_cel_takes_them() -> None:
    facts = cel_facts({"id": "C1", "tier": None, "monetary": Decimal("1.50"),
                       "as_of": date(2026, 3, 1), "r_score": 4, "f_score": 3, "m_score": 2,
                       "history_head": "x"})
    assert facts["monetary"] == 1.5 and "tier" not in facts and "history_head" not in facts
    assert facts["rfm"] == {"r": 4, "f": 3, "m": 2}
    assert facts["as_of"].isoformat() == "2026-03-01T00:00:00+00:00"
