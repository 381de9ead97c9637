"""engine.cases.replay: a case row against the history that should have produced it, personal
fields compared through the vault."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.cases.replay import CaseRow, VaultRow, disagreements, replay
from engine.kernel.history import GENESIS, EventDraft, chain
from engine.kernel.personal import seal
from tests.fixtures import T0

NAME = seal("Ann Smith")


def history(name: Any = NAME.marker) -> list[Any]:
    first = chain(1, 0, GENESIS, [EventDraft("case.created", {
        "workflow": "w", "version": 1, "customer": "C1",
        "fields": {"name": name, "note": "a"}}, None, "open")], "ann", "agent", T0)
    return first + chain(1, 1, first[-1].hash, [
        EventDraft("case.transitioned", {"trigger": "go"}, "open", "doing"),
        EventDraft("case.field_changed", {"field": "note", "old": "a", "new": None}),
        EventDraft("case.assigned", {"from": None, "to": "ann"})],
        "ann", "agent", T0 + timedelta(hours=1))


def row(**changes: Any) -> CaseRow:
    values: dict[str, Any] = {
        "id": 1, "workflow": "w", "version": 1, "state": "doing", "assignee": "ann",
        "customer": "C1", "fields": {"name": "Ann Smith"}, "updated_at": T0 + timedelta(hours=1),
        "history_seq": 4, "history_head": ""}
    return CaseRow(**{**values, **changes})


def vault(**changes: Any) -> dict[str, VaultRow]:
    kept = {"ref": NAME.ref, "customer_id": "C1", "case_id": 1, "value": NAME.text,
            "salt": NAME.salt, **changes}
    return {NAME.ref: VaultRow(**kept)}


def found(case: CaseRow, kept: dict[str, VaultRow] | None = None) -> list[str]:
    return disagreements(case, replay(history(), lambda w, v: None),
                         vault() if kept is None else kept)


def test_a_row_that_agrees_with_its_history_has_no_disagreement() -> None:
    assert found(row()) == []


def test_each_column_that_disagrees_is_named() -> None:
    assert found(row(state="done", version=2, assignee=None)) == [
        "its version is 2 but its history says 1",
        "its state is 'done' but its history says 'doing'",
        "its assignee is None but its history says 'ann'"]
    assert found(row(fields={"name": "Ann Smith", "note": "b"})) == [
        "field 'note' is \"b\" but its history says missing"]
    assert found(row(updated_at=T0 + timedelta(hours=2))) == [
        "it was last updated at 2026-03-02T11:00:00Z but its newest event is of "
        "2026-03-02T10:00:00Z (later events were removed, or the row was edited)"]


def test_a_personal_field_is_the_value_its_vault_row_holds_or_null_once_erased() -> None:
    assert found(row(fields={"name": "Bob Jones"})) == [
        "field 'name' is not the personal value its history refers to"]
    assert found(row(), {}) == [
        f"field 'name' is personal, and its value's vault row ({NAME.ref[:12]}) is missing"]
    erased = vault(value=None, salt=None, erased_at=T0, erased_by="max", erasure_seq=1)
    assert found(row(fields={}), erased) == []
    assert found(row(), erased) == ["field 'name' holds a value, but the vault says it was "
                                    "erased"]


def test_a_vault_row_holds_the_value_its_reference_was_made_from() -> None:
    assert vault()[NAME.ref].intact()
    assert not vault(value='"Bob"')[NAME.ref].intact()
    assert not vault(salt="zz")[NAME.ref].intact()
    assert not vault(value=None, salt=None)[NAME.ref].intact()  # cleared, but not by erasure
