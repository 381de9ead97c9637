"""Four-eyes publishing (engine/workflows/approvals.py, the registry's publish): a definition
that says `approval: required` waits for a second manager, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.kernel.errors import ApprovalRefused, DefinitionError, InvalidInput, SelfApproval
from engine.rules.loading import load_table_text
from engine.wiring import Casework
from engine.workflows.approvals import PublishStatus, RequestState, requires_approval
from engine.workflows.loading import load_workflow_text
from tests.fixtures import ROOT, T0, expiring_workflow

SLA = (ROOT / "rules" / "complaint_sla.yaml").read_text()
ORDINARY_CRITICAL = "then: {first_response_hours: 4, resolution_hours: 24, business_time: false"
LATER = T0 + timedelta(hours=1)


def sla(version: int, hours: int = 20, approval: bool = True) -> str:
    """complaint_sla as another version, ordinary-critical resolved within `hours`."""
    text = SLA.replace("version: 2", f"version: {version}").replace(
        ORDINARY_CRITICAL, ORDINARY_CRITICAL.replace("24", str(hours)))
    assert f"version: {version}" in text
    return f"approval: required\n{text}" if approval else text


def publish(casework: Casework, text: str, by: str = "max"):  # type: ignore[no-untyped-def]
    spec = load_table_text(text, "rules/complaint_sla.yaml")
    return casework.registry.publish_table(spec, text, LATER, by=by)


def active_version(casework: Casework) -> int:
    return casework.registry.active_table("complaint_sla", LATER).version


def test_either_setting_requiring_approval_requires_it() -> None:
    assert requires_approval(True, False)  # a candidate cannot switch it off for itself
    assert requires_approval(None, True)
    assert requires_approval(False, True)
    assert not requires_approval(False, False)
    assert not requires_approval(None, False)


def test_the_loaders_read_approval_and_refuse_other_values() -> None:
    assert load_table_text(sla(3), "t.yaml").approval
    assert not load_table_text(sla(3, approval=False), "t.yaml").approval
    with pytest.raises(DefinitionError, match="'approval' must be 'required' or 'none'"):
        load_table_text("approval: yes please\n" + sla(3, approval=False), "t.yaml")
    workflow = expiring_workflow()
    assert load_workflow_text("approval: required\n" + workflow, "w.yaml").approval
    assert not load_workflow_text(workflow, "w.yaml").approval
    with pytest.raises(DefinitionError, match="'approval' must be"):
        load_workflow_text("approval: true\n" + workflow, "w.yaml")


def test_a_publish_under_approval_waits_and_a_second_manager_publishes_it(
        casework: Casework) -> None:
    waiting = publish(casework, sla(3))
    assert waiting.status == PublishStatus.AWAITING_APPROVAL and waiting.request is not None
    assert active_version(casework) == 2  # nothing active changed
    assert [d.version for d in casework.store.definitions("table")
            if d.name == "complaint_sla"] == [2]  # nor stored
    request = casework.approvals.get(waiting.request.id)
    assert (request.state, request.proposed_by, request.proposal.tests) == (
        RequestState.PENDING, "max", "7 of 7 tests passed")
    done = casework.registry.approve(request.id, "mia", LATER)
    assert done.status == PublishStatus.PUBLISHED
    assert active_version(casework) == 3
    newest = casework.publications.of("table", "complaint_sla")[0]
    assert (newest.version, newest.published_by, newest.approved_by) == (3, "max", "mia")
    decided = casework.approvals.get(request.id)
    assert (decided.state, decided.decided_by) == (RequestState.APPROVED, "mia")


def test_the_active_versions_setting_holds_for_a_candidate_without_it(
        casework: Casework) -> None:
    first = publish(casework, sla(3))
    assert first.request is not None
    casework.registry.approve(first.request.id, "mia", LATER)
    second = publish(casework, sla(4, 18, approval=False))  # tries to switch it off
    assert second.status == PublishStatus.AWAITING_APPROVAL
    assert active_version(casework) == 3


def test_without_approval_a_publish_is_active_at_once(casework: Casework) -> None:
    done = publish(casework, sla(3, approval=False))
    assert done.published and done.record is not None and active_version(casework) == 3
    assert casework.publications.of("table", "complaint_sla")[0].approved_by is None


def test_approving_ones_own_request_is_refused_and_changes_nothing(
        casework: Casework) -> None:
    waiting = publish(casework, sla(3))
    assert waiting.request is not None
    with pytest.raises(SelfApproval, match="proposed by max: a second manager must approve"):
        casework.registry.approve(waiting.request.id, "max", LATER)
    with pytest.raises(SelfApproval):
        casework.registry.reject(waiting.request.id, "max", LATER, "no")
    assert casework.approvals.get(waiting.request.id).state == RequestState.PENDING
    assert active_version(casework) == 2


def test_a_stale_request_is_refused_with_a_request_to_propose_again(
        casework: Casework) -> None:
    older = publish(casework, sla(3))
    newer = publish(casework, sla(4, 18), by="kim")
    assert older.request is not None and newer.request is not None
    casework.registry.approve(newer.request.id, "mia", LATER)
    with pytest.raises(ApprovalRefused, match="is stale.*propose the change again"):
        casework.registry.approve(older.request.id, "mia", LATER)
    assert casework.approvals.get(older.request.id).state == RequestState.PENDING
    assert active_version(casework) == 4


def test_reject_needs_a_reason_and_withdraw_is_the_proposers(casework: Casework) -> None:
    one = publish(casework, sla(3))
    two = publish(casework, sla(4, 18))
    assert one.request is not None and two.request is not None
    with pytest.raises(InvalidInput, match="needs a reason"):
        casework.registry.reject(one.request.id, "mia", LATER, "  ")
    rejected = casework.registry.reject(one.request.id, "mia", LATER, "20 h is too short")
    assert (rejected.state, rejected.reason) == (RequestState.REJECTED, "20 h is too short")
    with pytest.raises(ApprovalRefused, match="was rejected by mia"):
        casework.registry.approve(one.request.id, "kim", LATER)
    with pytest.raises(SelfApproval, match="only they may withdraw"):
        casework.registry.withdraw(two.request.id, "mia", LATER)
    assert casework.registry.withdraw(two.request.id, "max", LATER).state == \
        RequestState.WITHDRAWN
    assert active_version(casework) == 2


def test_a_workflow_under_approval_waits_for_a_second_manager(casework: Casework) -> None:
    text = "approval: required\n" + expiring_workflow("guarded")
    spec = load_workflow_text(text, "workflows/guarded.yaml")
    waiting = casework.registry.publish_workflow(spec, text, LATER, by="max")
    assert waiting.status == PublishStatus.AWAITING_APPROVAL and waiting.request is not None
    assert "guarded" not in casework.registry.workflow_names()
    casework.registry.approve(waiting.request.id, "mia", LATER)
    assert casework.registry.active("guarded").spec.version == 1
    newest = casework.publications.of("workflow", "guarded")[0]
    assert (newest.published_by, newest.approved_by) == ("max", "mia")
