"""Drafts in the store: one per definition and author, replaced on save, newest first,
discarded by their author only; and what an editor's user is told of the others' drafts."""

from __future__ import annotations

from datetime import timedelta

from engine.store.drafts import SqlDrafts
from engine.wiring import Casework
from engine.workflows.drafts import DraftKind, seen_by
from tests.fixtures import T0

TABLE, WORKFLOW = DraftKind.TABLE, DraftKind.WORKFLOW


def test_a_save_replaces_the_authors_draft_and_others_keep_theirs(casework: Casework) -> None:
    drafts = SqlDrafts(casework.database)
    drafts.save(TABLE, "complaint_sla", "max", "first", T0)
    drafts.save(TABLE, "complaint_sla", "ana", "hers", T0 + timedelta(minutes=1))
    drafts.save(TABLE, "complaint_sla", "max", "second", T0 + timedelta(minutes=2))
    drafts.save(WORKFLOW, "complaint_sla", "max", "another kind", T0)
    kept = drafts.of(TABLE, "complaint_sla")
    assert [(d.author, d.text, d.saved_at) for d in kept] == [
        ("max", "second", T0 + timedelta(minutes=2)), ("ana", "hers", T0 + timedelta(minutes=1))]
    assert [d.text for d in drafts.of(WORKFLOW, "complaint_sla")] == ["another kind"]
    assert drafts.of(TABLE, "customer_tier") == []


def test_a_draft_is_discarded_by_its_author_only(casework: Casework) -> None:
    drafts = SqlDrafts(casework.database)
    drafts.save(WORKFLOW, "complaint", "max", "mine", T0)
    drafts.save(WORKFLOW, "complaint", "ana", "hers", T0)
    assert drafts.discard(WORKFLOW, "complaint", "max") is True
    assert drafts.discard(WORKFLOW, "complaint", "max") is False  # nothing left to discard
    assert [d.author for d in drafts.of(WORKFLOW, "complaint")] == ["ana"]


def test_the_editor_warns_of_the_drafts_of_others_saved_after_ones_own(
        casework: Casework) -> None:
    drafts = SqlDrafts(casework.database)
    drafts.save(TABLE, "complaint_sla", "bob", "older", T0)
    drafts.save(TABLE, "complaint_sla", "max", "mine", T0 + timedelta(minutes=5))
    drafts.save(TABLE, "complaint_sla", "ana", "newer", T0 + timedelta(minutes=10))
    seen = seen_by(drafts.of(TABLE, "complaint_sla"), "max")
    assert seen.mine is not None and seen.mine.text == "mine"
    assert [d.author for d in seen.newer] == ["ana"]
    # without a draft of one's own, every other draft is news
    assert [d.author for d in seen_by(drafts.of(TABLE, "complaint_sla"), "kim").newer] == [
        "ana", "max", "bob"]
