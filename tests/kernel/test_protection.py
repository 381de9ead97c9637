"""The data-protection log's own chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from engine.kernel.history import GENESIS
from engine.kernel.protection import Act, ProtectionDraft, chain_entries, check_entries

AT = datetime(2026, 12, 7, 9, tzinfo=UTC)


def test_the_log_chains_and_any_edit_or_removal_breaks_it() -> None:
    entries = chain_entries(0, GENESIS, [
        ProtectionDraft(Act.CUSTOMER_ERASED, "C1", "asked by the customer", {"values": 3}),
        ProtectionDraft(Act.CASE_DELETED, "17", "retention", {"history_seq": 9}),
        ProtectionDraft(Act.HOLD_PLACED, "C2", "litigation", {}),
    ], "dpo", AT)
    assert check_entries(entries) is None
    assert [e.seq for e in entries] == [1, 2, 3]
    more = chain_entries(3, entries[-1].hash, [ProtectionDraft(Act.HOLD_RELEASED, "C2", "over",
                                                               {})], "dpo", AT)
    assert check_entries(entries + more) is None
    assert "entry 2 is missing" in str(check_entries([entries[0], entries[2]]))
    edited = replace(entries[1], reason="nothing to see")
    assert "entry 2 (case.deleted) was altered" in str(check_entries(
        [entries[0], edited, entries[2]]))
