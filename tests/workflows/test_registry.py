from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from engine.kernel.errors import DefinitionError, NotFound
from engine.kernel.settings import Settings
from engine.rules.loading import load_table_text
from engine.wiring import Casework, open_casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import ROOT, T0, tier_table

ROUTING = (ROOT / "rules" / "complaint_routing.yaml").read_text()


def version(text: str, number: int, *, effective: str | None = None,
            billing_queue: str = "billing") -> str:
    text = text.replace("version: 2", f"version: {number}")
    if effective:
        text = text.replace("hit: first", f"hit: first\neffective: {effective}")
    return (text.replace("    then: {queue: billing}", f"    then: {{queue: {billing_queue}}}")
                .replace("    expect: {queue: billing}", f"    expect: {{queue: {billing_queue}}}"))


def publish(casework: Casework, text: str, at: datetime) -> None:
    casework.registry.publish_table(load_table_text(text, "rules/complaint_routing.yaml"), text,
                                    at)


def active(casework: Casework, at: datetime) -> int:
    return casework.registry.active_table("complaint_routing", at).version


def test_a_table_whose_tests_fail_is_not_published(casework: Casework) -> None:
    broken = version(ROUTING, 3).replace("    then: {queue: after_sales}",
                                         "    then: {queue: billing}", 1)
    with pytest.raises(DefinitionError, match=r"complaint_routing.yaml:\d+: test failed: .*"
                                              r"expected \{'queue': 'after_sales'\}"):
        publish(casework, broken, T0)
    assert active(casework, T0) == 2
    assert [r.version for r in casework.store.publications("table", "complaint_routing")] == [2]


def test_publishing_an_older_version_again_makes_it_active_again(casework: Casework) -> None:
    publish(casework, version(ROUTING, 3, billing_queue="after_sales"), T0 + timedelta(hours=1))
    assert active(casework, T0 + timedelta(hours=1)) == 3
    publish(casework, ROUTING, T0 + timedelta(hours=2))
    assert active(casework, T0 + timedelta(hours=2)) == 2
    history = casework.store.publications("table", "complaint_routing")
    assert [r.version for r in history] == [2, 3, 2]  # every activation kept, newest first


def test_a_version_published_ahead_takes_over_on_its_first_day(casework: Casework) -> None:
    publish(casework, version(ROUTING, 3, effective="{from: 2027-01-01}",
                              billing_queue="after_sales"), T0)
    assert active(casework, datetime.fromisoformat("2026-12-31T23:59:00+00:00")) == 2
    assert active(casework, datetime.fromisoformat("2027-01-01T00:00:00+00:00")) == 3


def test_changed_content_under_a_published_version_is_refused(casework: Casework) -> None:
    changed = ROUTING.replace("title: Complaint routing", "title: Routing")
    with pytest.raises(DefinitionError, match="set 'version: 3'"):
        publish(casework, changed, T0)


def test_a_table_that_was_never_published_says_how_to_publish_it(casework: Casework) -> None:
    with pytest.raises(NotFound, match=r"run `casework rules publish rules/nope.yaml`"):
        casework.registry.active_table("nope", T0)


def test_an_expired_version_gives_way_to_the_one_before_it(casework: Casework) -> None:
    publish(casework, version(ROUTING, 3, effective="{until: 2026-01-01}"), T0)
    assert active(casework, T0) == 2
    assert active(casework, datetime.fromisoformat("2025-06-01T00:00:00+00:00")) == 3


def test_no_version_in_force_on_a_day_is_a_clear_error(casework: Casework) -> None:
    text = ROUTING.replace("table: complaint_routing", "table: old_routing").replace(
        "hit: first", "hit: first\neffective: {until: 2026-01-01}")
    casework.registry.publish_table(load_table_text(text, "old.yaml"), text, T0)
    with pytest.raises(NotFound, match="no published version of decision table 'old_routing' "
                                       "is in force on 2026-03-02"):
        casework.registry.active_table("old_routing", T0)


# --- what the loaded definitions name -------------------------------------------------------

SHIPPED_QUEUES = ("account_management", "after_sales", "billing", "intake", "plans", "priority",
                  "records", "retention", "service_desk", "technical_support")


def test_tiers_severities_and_queues_of_the_shipped_definitions(casework: Casework) -> None:
    registry = casework.registry
    assert registry.tiers(T0) == ("strategic", "key", "ordinary")
    assert registry.severities() == ("low", "medium", "high", "critical")
    assert registry.queues(T0) == SHIPPED_QUEUES  # states' queues and complaint_routing's


def test_the_tiers_are_those_of_the_tier_table_in_force(casework: Casework) -> None:
    text = tier_table("[strategic, key, growth, ordinary]").replace(
        "hit: first", "hit: first\neffective: {from: 2026-03-03}")
    casework.registry.publish_table(load_table_text(text, "rules/customer_tier.yaml"), text, T0)
    assert casework.registry.tiers(T0) == ("strategic", "key", "ordinary")
    assert casework.registry.tiers(T0 + timedelta(days=1)) == (
        "strategic", "key", "growth", "ordinary")


def test_a_routing_table_in_force_adds_its_queues(casework: Casework) -> None:
    publish(casework, version(ROUTING, 3, effective="{from: 2026-03-03}",
                              billing_queue="accounts_receivable").replace(
        "service_desk]", "service_desk, accounts_receivable]"), T0)
    assert casework.registry.queues(T0) == SHIPPED_QUEUES
    assert casework.registry.queues(T0 + timedelta(days=1)) == tuple(sorted(
        (*SHIPPED_QUEUES, "accounts_receivable")))


def test_the_newest_workflow_versions_give_the_severities(casework: Casework) -> None:
    text = (ROOT / "workflows" / "complaint.yaml").read_text(encoding="utf-8")
    changed = text.replace("version: 7\n", "version: 8\n").replace(
        "values: [low, medium, high, critical]", "values: [minor, medium, major, blocker]")
    assert changed.count("blocker") == 1 and "version: 8\n" in changed
    spec = load_workflow_text(changed, "workflows/complaint.yaml")
    casework.registry.deploy(spec, changed, T0)
    assert casework.registry.severities() == ("minor", "medium", "major", "blocker")


def test_the_lists_follow_what_another_process_stores_and_publishes(
        casework: Casework, database_url: str) -> None:
    """The lists are kept between page views, but not past a version stored or published
    elsewhere (another server, the command line)."""
    assert casework.registry.severities() == ("low", "medium", "high", "critical")
    assert casework.registry.tiers(T0) == ("strategic", "key", "ordinary")
    other = open_casework(Settings(home=ROOT, database_url=database_url))
    try:
        text = (ROOT / "workflows" / "complaint.yaml").read_text(encoding="utf-8").replace(
            "version: 7\n", "version: 8\n").replace(
            "values: [low, medium, high, critical]", "values: [minor, medium, major]")
        other.registry.deploy(load_workflow_text(text, "workflows/complaint.yaml"), text, T0)
        tiers = tier_table("[strategic, key, growth, ordinary]")
        other.registry.publish_table(load_table_text(tiers, "rules/customer_tier.yaml"), tiers,
                                     T0)
    finally:
        other.close()
    assert casework.registry.severities() == ("minor", "medium", "major")
    assert casework.registry.tiers(T0) == ("strategic", "key", "growth", "ordinary")


def test_before_any_table_is_published_there_are_no_tiers(database_url: str) -> None:
    """Only the states' queues: the routing table is not in force either."""
    app = open_casework(Settings(home=ROOT, database_url=database_url))
    try:
        app.registry.deploy_home(ROOT, T0)
        assert app.registry.tiers(T0) == ()
        assert app.registry.queues(T0) == (
            "account_management", "intake", "plans", "records", "retention")
        assert app.registry.severities() == ("low", "medium", "high", "critical")
    finally:
        app.close()


def _complaint(version: int, change: str = "") -> tuple[str, str]:
    text = (ROOT / "workflows" / "complaint.yaml").read_text().replace(
        "version: 7", f"version: {version}")
    return text.replace("title: Customer complaint", f"title: Customer complaint{change}"), \
        f"edited-v{version}.yaml"


def test_a_published_workflow_version_is_the_newest_with_its_author(casework: Casework) -> None:
    text, path = _complaint(8, " (edited)")
    deployed = casework.registry.publish_workflow(load_workflow_text(text, path), text, T0,
                                                  by="max")
    assert deployed.record is not None
    assert casework.registry.active("complaint").definition_id == deployed.record.id
    assert [(p.version, p.published_by) for p in
            casework.publications.of("workflow", "complaint")] == [(8, "max")]


@pytest.mark.parametrize(("version", "change", "says"), [
    (7, " (edited)", "version 7 is already taken (the newest stored version is v7); "
                     "set 'version: 8'"),
    (6, " (edited)", "version 6 is already taken"),
    (8, "", "this is the content of v7, the newest version, with another version number"),
])
def test_a_workflow_version_that_is_not_next_is_not_published(
        casework: Casework, version: int, change: str, says: str) -> None:
    text, path = _complaint(version, change)
    with pytest.raises(DefinitionError, match=re.escape(says)) as refused:
        casework.registry.publish_workflow(load_workflow_text(text, path), text, T0, by="max")
    assert refused.value.problems[0].line == text.splitlines().index(f"version: {version}") + 1
    assert [d.version for d in casework.store.definitions("workflow")
            if d.name == "complaint"] == [7]
    assert casework.publications.of("workflow") == []
