"""Drafts in the editors: a manager saves a draft (loading or not) and finds it on opening the
editor, another manager is told of it and may read it, the author discards it, publishing
discards the publisher's; a draft that does not load is never published."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest

from engine.wiring import Casework
from engine.workflows.drafts import DraftKind
from tests.fixtures import ROOT
from tests.web.test_rules import sla_v3, textarea
from tests.web.test_workflow_editing import version_8
from tests.web_fixtures import NOW, Client, csrf

BROKEN = version_8().replace("to: resolved", "to: reslved", 1)
EDITORS = {"table": ("complaint_sla", sla_v3), "workflow": ("complaint", version_8)}


def save(client: Client, kind: str, name: str, text: str):  # type: ignore[no-untyped-def]
    return client.post(f"/rules/drafts/{kind}/{name}", data={"source": text, **csrf(client)},
                       follow_redirects=False)


def editor(client: Client, kind: str, name: str) -> str:
    page = client.get(f"/rules/{kind}s/{name}/edit")
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("kind", ["table", "workflow"])
def test_a_saved_draft_opens_in_its_authors_editor_and_others_are_warned(
        desk: Casework, client_as: Callable[[str], Client], kind: str) -> None:
    name, text = EDITORS[kind][0], EDITORS[kind][1]()
    max_, root = client_as("max"), client_as("root")  # root, an admin, may edit rules too
    answer = save(max_, kind, name, text)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/rules/{kind}s/{name}/edit?draft=saved"
    mine = editor(max_, kind, name)
    assert textarea(mine) == text and "The editor holds your draft" in mine
    theirs = html.unescape(editor(root, kind, name))
    assert f"max saved a draft at {NOW:%Y-%m-%d %H:%M} UTC" in theirs
    assert textarea(theirs) != text  # the other manager's editor opens with the stored text
    link = f"/rules/drafts/{kind}/{name}?author=max"
    assert link in theirs
    shown = root.get(link)
    assert shown.status_code == 200 and html.escape(text.splitlines()[0]) in shown.text
    assert root.get(f"/rules/drafts/{kind}/{name}?author=root").status_code == 404


@pytest.mark.parametrize("kind", ["table", "workflow"])
def test_the_author_discards_a_draft(desk: Casework, client_as: Callable[[str], Client],
                                     kind: str) -> None:
    name, text = EDITORS[kind][0], EDITORS[kind][1]()
    client = client_as("max")
    save(client, kind, name, text)
    answer = client.post(f"/rules/drafts/{kind}/{name}/discard", data=csrf(client),
                         follow_redirects=False)
    assert answer.status_code == 303
    assert desk.drafts.of(DraftKind(kind), name) == []
    assert "The editor holds your draft" not in editor(client, kind, name)


@pytest.mark.parametrize("kind", ["table", "workflow"])
def test_publishing_discards_the_publishers_draft_only(
        desk: Casework, client_as: Callable[[str], Client], kind: str) -> None:
    name, text = EDITORS[kind][0], EDITORS[kind][1]()
    max_, root = client_as("max"), client_as("root")
    save(max_, kind, name, text)
    save(root, kind, name, "root's idea")
    published = max_.post(f"/rules/{kind}s/{name}/publish",
                          data={"source": text, **csrf(max_)}, follow_redirects=False)
    assert published.status_code == 303
    assert [d.author for d in desk.drafts.of(DraftKind(kind), name)] == ["root"]


def test_a_draft_that_does_not_load_is_kept_but_never_published(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    client = client_as("max")
    assert save(client, "workflow", "complaint", BROKEN).status_code == 303
    assert textarea(editor(client, "workflow", "complaint")) == BROKEN
    refused = client.post("/rules/workflows/complaint/publish",
                          data={"source": BROKEN, **csrf(client)}, follow_redirects=False)
    assert refused.status_code == 422
    assert "unknown state &#39;reslved&#39;" in refused.text or "reslved" in refused.text
    assert [d.version for d in desk.store.definitions("workflow")
            if d.name == "complaint"] == [7]
    assert [d.text for d in desk.drafts.of(DraftKind.WORKFLOW, "complaint")] == [BROKEN]


def test_drafts_of_what_is_not_stored_or_from_others_than_managers_are_refused(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    manager = client_as("max")
    assert save(manager, "workflow", "grievance", "x").status_code == 404
    assert save(manager, "recipe", "complaint", "x").status_code == 404
    assert save(manager, "table", "complaint_sla", "x" * 200_001).status_code == 422
    assert save(client_as("sam"), "table", "complaint_sla", "x").status_code == 403
    assert desk.drafts.of(DraftKind.TABLE, "complaint_sla") == []
    assert (ROOT / "rules" / "complaint_sla.yaml").exists()
