"""The audit page's JSONL export carries the trailer of `casework audit export`: signed with
the installation's key it verifies offline, personal values shown; without a key it says why it
is unsigned."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from engine.kernel.checkpoints import load_public_key, write_key_pair
from engine.kernel.signed_exports import check_export
from engine.wiring import Casework
from tests.web.test_audit import history
from tests.web_fixtures import Client


def test_the_pages_export_is_signed_and_verifies(desk: Casework, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 client_as: Callable[[str], Client]) -> None:
    private, public = write_key_pair(tmp_path / "keys")
    monkeypatch.setattr(desk, "settings", replace(desk.settings, checkpoint_key=private))
    a, _ = history(desk)
    response = client_as("ada").get("/audit/export.jsonl", params={"customer": "C1"})
    assert response.status_code == 200
    found = check_export(response.content, [load_public_key(public)])
    assert found.findings == [] and found.signed and found.chains == 2
    *rows, last = [json.loads(line) for line in response.text.splitlines()]
    assert last["trailer"]["filters"] == {"customer": "C1"}
    assert set(last["trailer"]["checkpoint"]["cases"]) == {str(a)}
    comment = next(r for r in rows if r["name"] == "case.commented")
    assert list(comment["personal"].values()) == ["<script>alert(1)</script> called back"]
    edited = response.content.replace(b"called back", b"never called", 1)
    assert any("SHA-256" in f for f in check_export(edited, [load_public_key(public)]).findings)


def test_without_a_key_the_pages_export_says_it_is_unsigned(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    history(desk)
    response = client_as("ada").get("/audit/export.jsonl")
    last = json.loads(response.text.splitlines()[-1])
    assert last["signature"] is None and "CASEWORK_CHECKPOINT_KEY" in last["why"]
    found = check_export(response.content, [])
    assert found.findings == [f"the export is not signed ({last['why']}): it checks itself "
                              "but proves nothing about who made it"]
