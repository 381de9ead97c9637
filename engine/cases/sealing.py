"""A case's history drafts with their personal values sealed (engine/kernel/personal.py): the
fields a workflow declares `personal: true` in `case.created` and `case.field_changed`, and a
comment's text. Every write of case events passes through here, so no personal value reaches
the hashed chain; the sealed values go to the vault in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.kernel.history import EventDraft
from engine.kernel.personal import Sealed, Sealer


def seal_drafts(personal: frozenset[str],
                drafts: Sequence[EventDraft]) -> tuple[list[EventDraft], list[Sealed]]:
    """The drafts with personal values replaced by markers, and what was sealed."""
    sealer = Sealer()
    sealed = [_sealed(personal, draft, sealer) for draft in drafts]
    return sealed, sealer.kept


def _sealed(personal: frozenset[str], draft: EventDraft, sealer: Sealer) -> EventDraft:
    payload = draft.payload
    if draft.name == "case.created" and personal:
        return replace(draft, payload={**payload,
                                       "fields": sealer.fields(payload["fields"], personal)})
    if draft.name == "case.field_changed" and payload.get("field") in personal:
        return replace(draft, payload={**payload, "old": sealer(payload.get("old")),
                                       "new": sealer(payload.get("new"))})
    if draft.name == "case.commented":
        return replace(draft, payload={**payload, "text": sealer(payload.get("text"))})
    return draft
