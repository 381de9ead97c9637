"""Personal values sealed apart from the hashed history."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.kernel.personal import Erased, Sealer, holds, ref_of, refs_in, reveal, seal


def test_a_sealed_value_is_found_again_only_with_its_salt() -> None:
    sealed = seal("li.na@example.cn")
    assert holds(sealed.ref, sealed.salt, sealed.text)
    assert not holds(sealed.ref, sealed.salt, '"someone.else@example.cn"')
    assert "li.na" not in sealed.ref and "li.na" not in str(sealed.marker)
    # the same value sealed twice has two references: a ref cannot link two records
    assert seal("li.na@example.cn").ref != sealed.ref


def test_a_sealer_keeps_what_it_sealed_and_leaves_empty_values_alone() -> None:
    sealer = Sealer()
    fields = sealer.fields({"summary": "张伟的打印机坏了", "severity": "high", "answer": None},
                           ["summary", "answer"])
    assert fields["severity"] == "high" and fields["answer"] is None
    assert ref_of(fields["summary"]) == sealer.kept[0].ref and len(sealer.kept) == 1
    assert sealer("") == ""
    assert sealer(fields["summary"]) == fields["summary"]  # a marker is not sealed again
    assert len(sealer.kept) == 1


def test_reveal_puts_values_and_erasures_back_where_their_markers_were() -> None:
    one, two = seal("Li Na"), seal("+86 138")
    payload = {"changed": {"name": {"old": None, "new": one.marker}},
               "list": [two.marker, 3], "n": 1}
    assert sorted(refs_in(payload)) == sorted([one.ref, two.ref])
    gone = Erased(datetime(2026, 12, 7, tzinfo=UTC), "dpo", "request")
    shown = reveal(payload, {one.ref: "Li Na", two.ref: gone})
    assert shown == {"changed": {"name": {"old": None, "new": "Li Na"}}, "list": [gone, 3],
                     "n": 1}
