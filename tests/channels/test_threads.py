"""The case token and Message-IDs that thread a case's mail (engine/channels/threads.py)."""

from __future__ import annotations

from engine.channels.threads import (
    MAX_REFERENCES,
    case_token,
    message_ids,
    new_message_id,
    token_in,
    with_token,
)


def test_a_subject_gets_its_token_once_and_gives_it_back() -> None:
    subject = with_token("Your complaint", 123)
    assert subject == "Your complaint [#123]"
    assert with_token(subject, 123) == subject
    assert token_in(f"Re: AW: {subject}") == 123
    assert case_token(7) == "[#7]"


def test_the_last_token_names_the_case_and_a_subject_without_one_names_none() -> None:
    assert token_in("Fwd: [#5] old, now [#9]") == 9
    assert token_in("no token [#] here [#12a]") is None
    assert token_in("") is None


def test_message_ids_are_random_and_of_our_domain() -> None:
    first, second = new_message_id("desk.example.com"), new_message_id("desk.example.com")
    assert first != second
    assert first.startswith("<") and first.endswith("@desk.example.com>")


def test_references_are_read_in_order_once_and_capped() -> None:
    assert message_ids("<a@x> <b@x>", "<b@x>\n <c@x>") == ["<a@x>", "<b@x>", "<c@x>"]
    many = " ".join(f"<{n}@x>" for n in range(MAX_REFERENCES + 20))
    found = message_ids(many)
    assert len(found) == MAX_REFERENCES and found[-1] == f"<{MAX_REFERENCES + 19}@x>"
    assert message_ids(None, "garbage without brackets") == []
