"""The service desk's pages: signing in, queues, claiming, the case page, firing, comments."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from engine.cases.runtime import Actor
from engine.kernel.accounts import session_digest
from engine.rules.loading import load_table_text
from engine.store.schema import web_sessions
from engine.wiring import Casework
from tests.fixtures import T0, tier_table
from tests.web_fixtures import Client, csrf, sign_in

ANN = Actor("ann", "agent")
RESOLVED = {"resolution": "Refunded the charge", "root_cause": "Double booking",
            "remedy": "refund"}


def complaint(desk: Casework, summary: str = "Parcel arrived damaged", customer: str = "C1",
              **steps: dict[str, str]) -> int:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": summary}, ANN, T0,
                              customer=customer)
    for trigger, fields in steps.items():
        case = desk.runtime.fire(case.id, trigger, ANN, T0, fields)
    return case.id


def notes(page: str) -> list[str]:
    """What the queue page says about the cases it was asked to assign (unescaped)."""
    found = re.search(r'<ul class="notes" role="status">(.*?)</ul>', page, re.S)
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []
    return [html.unescape(item) for item in items]


def test_pages_send_a_stranger_to_sign_in_and_back(web: Client) -> None:
    response = web.get("/queues/intake?sla=running&sort=created", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == \
        "/login?next=/queues/intake%3Fsla%3Drunning%26sort%3Dcreated"
    form = web.get(response.headers["location"])
    assert '<input type="hidden" name="next" value="/queues/intake?sla=running&amp;sort=created">' \
        in form.text
    web.get("/login")
    signed = web.post("/login", data={"name": "ann", "password": "ann-password", **csrf(web),
                                      "next": "/queues/intake?sla=running&sort=created"},
                      follow_redirects=False)
    assert signed.headers["location"] == "/queues/intake?sla=running&sort=created"


def test_a_wrong_password_is_refused_and_says_so(web: Client) -> None:
    web.get("/login")
    for name, password in [("ann", "not-her-password"), ("nobody", "ann-password")]:
        refused = web.post("/login", data={"name": name, "password": password, **csrf(web)})
        assert refused.status_code == 401
        assert "Wrong name or password" in refused.text
    assert web.get("/queues", follow_redirects=False).status_code == 302


def test_sign_in_never_redirects_off_the_site(web: Client) -> None:
    web.get("/login")
    for target in ["https://evil.example/", "//evil.example/x"]:
        signed = web.post("/login", data={"name": "ann", "password": "ann-password",
                                          "next": target, **csrf(web)}, follow_redirects=False)
        assert signed.headers["location"] == "/"


def test_signing_out_ends_the_session(web: Client) -> None:
    sign_in(web, "ann")
    assert web.get("/queues").status_code == 200
    assert web.post("/logout", data=csrf(web), follow_redirects=False).status_code == 302
    assert web.get("/queues", follow_redirects=False).status_code == 302


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    refused = ann.post(f"/cases/{case_id}/comments", data={"text": "hello", "version": "1"})
    assert refused.status_code == 403
    forged = ann.post(f"/cases/{case_id}/comments",
                      data={"text": "hello", "version": "1", "_csrf_token": "forged"})
    assert forged.status_code == 403
    assert [e.name for e in desk.store.case_events(case_id)] == \
        [e.name for e in desk.store.case_events(case_id) if e.name != "case.commented"]


def test_the_queue_list_counts_open_cases(desk: Casework,
                                          client_as: Callable[[str], Client]) -> None:
    complaint(desk)
    complaint(desk, "Charged twice")
    page = client_as("ann").get("/queues")
    assert page.status_code == 200
    row = re.search(r'<a href="/queues/intake">intake</a></td><td class="num">(\d+)</td>\s*'
                    r'<td class="num">(\d+)</td>', page.text)
    assert row is not None and row.groups() == ("2", "2")


def test_a_queue_filters_searches_and_pages(desk: Casework,
                                            client_as: Callable[[str], Client]) -> None:
    ids = [complaint(desk, f"Complaint number {n}") for n in range(7)]
    special = complaint(desk, "Invoice <b>wrong</b>", customer="C7")
    ann = client_as("ann")
    everything = ann.get("/queues/intake")
    assert all(f'href="/cases/{i}"' in everything.text for i in [*ids, special])
    found = ann.get("/queues/intake", params={"q": "invoice"})
    assert f'href="/cases/{special}"' in found.text
    assert f'href="/cases/{ids[0]}"' not in found.text
    assert "Invoice &lt;b&gt;wrong&lt;/b&gt;" in found.text
    by_number = ann.get("/queues/intake", params={"q": f"#{ids[3]}"})
    assert re.findall(r'href="/cases/(\d+)"', by_number.text) == [str(ids[3])]
    by_customer = ann.get("/queues/intake", params={"q": "C7"})
    assert re.findall(r'href="/cases/(\d+)"', by_customer.text) == [str(special)]
    # newest first, three at a time, following the page links to the end
    seen: list[str] = []
    url: str | None = "/queues/intake?sort=-created"
    while url:
        page = ann.get(url.replace("&amp;", "&"))
        seen += re.findall(r'href="/cases/(\d+)"', page.text)
        more = re.search(r'<a class="more" href="([^"]+)"', page.text)
        url = more.group(1) if more else None
        if len(seen) > 20:
            break
    assert seen == [str(i) for i in sorted([*ids, special], reverse=True)]


def test_a_queue_shows_states_by_their_titles(desk: Casework,
                                              client_as: Callable[[str], Client]) -> None:
    waiting = complaint(desk, triage={"category": "billing"},
                        ask_customer={"question": "Which invoice?"})
    page = client_as("ann").get("/queues/billing", params={"state": "waiting_customer"}).text
    row = re.search(rf'<tr[^>]*>\s*<td><a href="/cases/{waiting}".*?</tr>', page, re.S)
    assert row is not None and "<td>Waiting for the customer</td>" in row.group(0)
    assert "waiting_customer</td>" not in page
    # the filter offers titles and sends the state's name
    assert '<option value="waiting_customer" selected>Waiting for the customer</option>' in page


def options(page: str, name: str) -> list[str]:
    """The choices of the queue page's <select name=...>."""
    found = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert found is not None, name
    return re.findall(r"<option[^>]*>([^<]*)</option>", found.group(1))


def test_the_filters_offer_the_tiers_and_severities_the_definitions_declare(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    ann = client_as("ann")
    shipped = ann.get("/queues/intake").text
    assert options(shipped, "tier") == ["any", "strategic", "key", "ordinary"]
    assert options(shipped, "severity") == ["any", "low", "medium", "high", "critical"]
    text = tier_table("[strategic, key, growth, ordinary]")
    desk.registry.publish_table(load_table_text(text, "rules/customer_tier.yaml"), text, T0)
    grown = ann.get("/queues/intake").text
    assert options(grown, "tier") == ["any", "strategic", "key", "growth", "ordinary"]


def test_a_queue_page_for_htmx_is_only_the_rows(desk: Casework,
                                                client_as: Callable[[str], Client]) -> None:
    complaint(desk)
    rows = client_as("ann").get("/queues/intake", headers={"HX-Request": "true"})
    assert rows.text.lstrip().startswith('<form id="rows"')
    assert "<html" not in rows.text


def test_an_unknown_sort_or_cursor_is_a_clear_error(client_as: Callable[[str], Client]) -> None:
    ann = client_as("ann")
    bad_sort = ann.get("/queues/intake", params={"sort": "price"})
    assert bad_sort.status_code == 400
    assert "sort &#39;price&#39; is not one of due, created" in bad_sort.text
    bad_cursor = ann.get("/queues/intake", params={"after": "yesterday"})
    assert bad_cursor.status_code == 400
    assert "is not one this site made" in bad_cursor.text


def test_claiming_from_the_queue_and_losing_a_race(desk: Casework,
                                                   client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann, bob = client_as("ann"), client_as("bob")
    claimed = ann.post("/queues/intake/assign", data={"claim": f"{case_id}@1", **csrf(ann)})
    assert claimed.status_code == 200
    assert notes(claimed.text) == [f"#{case_id}: claimed"]
    assert desk.store.get_case(case_id).assignee == "ann"
    late = bob.post("/queues/intake/assign", data={"claim": f"{case_id}@1", **csrf(bob)})
    assert notes(late.text) == [f"#{case_id}: case {case_id} was changed by someone else "
                                "(expected version 1, now at version 2); reload the case and "
                                "try again"]
    assert desk.store.get_case(case_id).assignee == "ann"


def test_an_agent_may_not_hand_cases_to_others_but_a_supervisor_may(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    first, second = complaint(desk), complaint(desk, "Second")
    ann, sam = client_as("ann"), client_as("sam")
    refused = ann.post("/queues/intake/assign",
                       data={"case": f"{first}@1", "assignee": "bob", **csrf(ann)})
    assert notes(refused.text) == [f"#{first}: 'assign' refused (role): role 'agent' may claim "
                                   "an unassigned case or give back its own; this case is "
                                   "unassigned (a supervisor may reassign it)"]
    assert desk.store.get_case(first).assignee is None
    done = sam.post("/queues/intake/assign", data={"case": [f"{first}@1", f"{second}@1"],
                                                   "assignee": "bob", **csrf(sam)})
    assert done.status_code == 200
    assert [desk.store.get_case(i).assignee for i in (first, second)] == ["bob", "bob"]


def test_the_case_page_offers_what_this_user_may_fire(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    page = client_as("ann").get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert f'action="/cases/{case_id}/fire/triage"' in page.text
    assert 'name="category"' in page.text and 'name="first_response"' not in page.text
    auditor = client_as("ada").get(f"/cases/{case_id}")
    assert "/fire/" not in auditor.text
    assert "Add comment" not in auditor.text


def test_only_steps_this_user_may_take_now_get_buttons(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    resolved = complaint(desk, triage={"category": "billing"}, resolve=RESOLVED)
    ann, sam = client_as("ann").get(f"/cases/{resolved}").text, \
        client_as("sam").get(f"/cases/{resolved}").text
    fires = re.compile(r'action="/cases/\d+/fire/(\w+)"')
    assert fires.findall(ann) == ["close", "not_satisfied"]  # not the supervisor's step
    assert fires.findall(sam) == ["close", "not_satisfied", "close_unanswered"]
    # the guards read the form's CSAT: offered, with what they ask in words
    assert '<p class="hint">Close only when the customer rated us 3 or better; ' \
        "otherwise investigate again</p>" in ann
    assert "case.csat" not in ann
    closed = complaint(desk, triage={"category": "billing"}, resolve=RESOLVED,
                       close={"csat": "4"})
    page = client_as("ann").get(f"/cases/{closed}").text
    assert fires.findall(page) == ["reopen"]  # within 30 days of closing (the guard judged)
    auditor = client_as("ada").get(f"/cases/{closed}").text
    assert fires.findall(auditor) == []
    assert "Nothing: the case is closed." in auditor


def test_firing_from_the_case_page_moves_the_case(desk: Casework,
                                                  client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    fired = ann.post(f"/cases/{case_id}/fire/triage", follow_redirects=False,
                     data={"version": "1", "category": "billing", "severity": "high",
                           **csrf(ann)})
    assert fired.status_code == 303
    case = desk.store.get_case(case_id)
    assert (case.state, case.queue, case.assignee) == ("in_progress", "billing", "ann")
    page = ann.get(f"/cases/{case_id}")
    assert "complaint_routing v2 chose billing: queue billing" in page.text


def test_the_history_tells_each_step_in_words(desk: Casework,
                                              client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk, triage={"category": "billing", "severity": "high"},
                        ask_customer={"question": "Which invoice?"})
    page = client_as("ann").get(f"/cases/{case_id}").text
    steps = re.findall(r'<li class="step ([\w-]+)">.*?<strong class="what">(.*?)</strong>',
                       page, re.S)
    assert [(kind, html.unescape(what)) for kind, what in steps] == [  # newest first
        ("case-transitioned", "Ask the customer: Investigating → Waiting for the customer"),
        ("case-transitioned", "Triage: Received → Investigating"),
        ("case-created", "Opened as Customer complaint v7, Received")]
    folded = html.unescape(page)
    assert "<summary>2 decisions, 4 fields, 1 assignment, 2 SLA clock changes</summary>" \
        in folded
    for said in ("complaint_sla v2 chose ordinary-high: First response target (hours) 8, "
                 "Resolution target (hours) 40", "Severity changed from medium to high",
                 "Resolution clock paused while waiting for the customer",
                 "First reply target changed from 16 h to 8 h", "Assigned to ann"):
        assert said in folded, said
    # the history, that is: the workflow's diagram below it names the states as the YAML does
    history = folded[folded.index('<section aria-labelledby="hist">'):
                     folded.index('<section class="case-diagram"')]
    assert "Triage: Received → Investigating" in history
    for raw in ("sla.retargeted", "in_progress", "content_hash", "first_response_hours"):
        assert raw not in history, raw


def test_a_refused_fire_shows_its_reason_by_the_form(desk: Casework,
                                                     client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    refused = ann.post(f"/cases/{case_id}/fire/triage",
                       data={"version": "1", "category": "billing", "severity": "critical",
                             **csrf(ann)})
    assert refused.status_code == 422
    # the guard's message in words, never its expression
    assert '<p class="error" role="alert">Only a supervisor triages a critical complaint</p>' \
        in refused.text
    assert "case.severity" not in refused.text and "condition not met" not in refused.text
    wrong_type = ann.post(f"/cases/{case_id}/fire/triage",
                          data={"version": "1", "category": "fruit", **csrf(ann)})
    assert wrong_type.status_code == 422
    assert "field &#39;category&#39;" in wrong_type.text
    assert desk.store.get_case(case_id).state == "received"


def test_a_fire_on_a_case_someone_changed_says_so(desk: Casework,
                                                  client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    desk.desk.comment(case_id, "meanwhile", Actor("bob", "agent"), T0)
    stale = ann.post(f"/cases/{case_id}/fire/triage",
                     data={"version": "1", "category": "billing", **csrf(ann)})
    assert stale.status_code == 409
    assert "Someone else changed this case" in stale.text
    assert "meanwhile" in stale.text
    assert desk.store.get_case(case_id).state == "received"


def test_a_form_sent_twice_applies_once_and_says_so(desk: Casework,
                                                   client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    page = ann.get(f"/cases/{case_id}").text
    form = re.search(r'action="/cases/\d+/fire/triage".*?</form>', page, re.S)
    assert form is not None
    [key] = re.findall(r'name="form_key" value="([^"]+)"', form.group(0))
    sent = {"version": "1", "form_key": key, "category": "billing", "severity": "high",
            **csrf(ann)}
    first = ann.post(f"/cases/{case_id}/fire/triage", data=sent, follow_redirects=False)
    assert first.status_code == 303
    history = desk.store.case_events(case_id)
    again = ann.post(f"/cases/{case_id}/fire/triage", data=sent,
                     headers={"HX-Request": "true"})
    assert again.status_code == 200
    assert "This step was already applied" in again.text
    assert "Someone else changed this case" not in again.text
    assert again.text.lstrip().startswith('<div id="case">')  # HTMX swaps the case in
    assert desk.store.case_events(case_id) == history
    # each form shown gets its own key
    keys = re.findall(r'name="form_key" value="([^"]+)"', ann.get(f"/cases/{case_id}").text)
    assert keys and key not in keys and len(set(keys)) == len(keys)


def test_a_comment_lands_in_the_history_as_text(desk: Casework,
                                                client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    posted = ann.post(f"/cases/{case_id}/comments", follow_redirects=False,
                      data={"version": "1", "text": "<script>alert(1)</script>", **csrf(ann)})
    assert posted.status_code == 303
    page = ann.get(f"/cases/{case_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    events = desk.store.case_events(case_id)
    assert (events[-1].name, events[-1].actor) == ("case.commented", "ann")
    empty = ann.post(f"/cases/{case_id}/comments",
                     data={"version": "2", "text": "   ", **csrf(ann)})
    assert empty.status_code == 422
    assert "is empty" in empty.text


def test_an_unknown_case_is_a_404_page(client_as: Callable[[str], Client]) -> None:
    missing = client_as("ann").get("/cases/999999")
    assert missing.status_code == 404
    assert "case 999999 does not exist" in missing.text


def test_signing_in_starts_a_session_under_a_new_key(web: Client, desk: Casework) -> None:
    web.get("/login")
    web.cookies.set("session", "planted-by-someone-else", domain="testserver.local")
    signed = web.post("/login", data={"name": "ann", "password": "ann-password", **csrf(web)},
                      follow_redirects=False)
    assert signed.status_code == 302
    key = web.cookies["session"]
    assert key not in ("planted-by-someone-else", "null")
    assert desk.accounts.session("planted-by-someone-else", T0) is None
    assert web.get("/queues").status_code == 200


def test_the_session_table_keeps_no_cookie_value(web: Client, desk: Casework) -> None:
    sign_in(web, "ann")
    key = web.cookies["session"]
    with desk.database.reading() as connection:
        stored = connection.execute(sa.select(web_sessions)).all()
    assert [row.key for row in stored] == [session_digest(key)]
    assert all(key not in repr(tuple(row)) for row in stored)  # neither as key nor in the data
    assert web.get("/queues").status_code == 200  # the cookie still signs in


def test_guessing_passwords_is_slowed_down(web: Client) -> None:
    web.get("/login")
    answers = [web.post("/login", data={"name": "ann", "password": f"guess-{n}", **csrf(web)})
               .status_code for n in range(12)]
    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]
    assert web.get("/login").status_code == 200  # reading the form is not throttled


def test_signing_in_sweeps_expired_sessions(web: Client, desk: Casework) -> None:
    desk.accounts.save_session("long-gone", b"{}", datetime(2020, 1, 1, tzinfo=UTC))
    desk.accounts.save_session("far-off", b"{}", datetime(2999, 1, 1, tzinfo=UTC))
    sign_in(web, "ann")
    assert desk.accounts.session_expiry("long-gone") is None
    assert desk.accounts.session_expiry("far-off") is not None


def test_a_session_is_written_only_when_it_changes(web: Client, desk: Casework) -> None:
    for _ in range(3):
        assert web.get("/login").status_code == 200
        assert web.get("/healthz").status_code == 200
    assert "session" not in web.cookies  # anonymous visits leave no session behind
    sign_in(web, "ann")
    key = web.cookies["session"]
    expires = desk.accounts.session_expiry(key)
    assert expires is not None
    assert web.get("/queues").status_code == 200
    assert web.get("/queues/intake").status_code == 200
    assert desk.accounts.session_expiry(key) == expires  # page views wrote nothing
    assert web.post("/logout", data=csrf(web), follow_redirects=False).status_code == 302
    assert desk.accounts.session(key, T0) is None


def test_a_nul_character_from_a_page_is_a_clear_400_and_stores_nothing(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    """PostgreSQL can hold no NUL in text: a form or a link carrying one is refused by name
    before it reaches the database, on both databases alike."""
    case_id = complaint(desk)
    ann, ada = client_as("ann"), client_as("ada")
    for who, path, params in [(ann, "/queues/intake", {"q": "refund\x00"}),
                              (ann, "/customers", {"q": "\x00"}),
                              (ada, "/audit", {"actor": "ann\x00"}),
                              (ann, "/queues/in%00take", {})]:
        refused = who.get(path, params=params)
        assert refused.status_code == 400, (path, refused.text[:300])
        assert "holds a NUL character" in refused.text
    posted = ann.post(f"/cases/{case_id}/comments",
                      data={"version": "1", "text": "a\x00b", **csrf(ann)})
    assert posted.status_code == 400
    assert "form field 'text' holds a NUL character" in html.unescape(posted.text)
    assert [e.name for e in desk.store.case_events(case_id)][-1] != "case.commented"


def test_a_claim_sent_twice_claims_once_without_a_conflict(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    case_id = complaint(desk)
    ann = client_as("ann")
    form = {"assignee": "me", "version": "1", **csrf(ann)}
    for _ in range(2):  # a double click: both sent with the page's revision
        sent = ann.post(f"/cases/{case_id}/assign", data=form, follow_redirects=False)
        assert sent.status_code == 303
    assert desk.store.get_case(case_id).assignee == "ann"
    assert [e.name for e in desk.store.case_events(case_id)].count("case.assigned") == 1
