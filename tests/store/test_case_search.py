"""The case search and My cases on both databases: Chinese text, the short-query fallback, a
customer's name kept current by the triggers, and queries of any bytes that never error."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.cases.search import MAX_QUERY, search_terms
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

ANN = Actor("ann", "agent")
HOSTILE = ['"', '""', "'", "*", "NEAR(", "NEAR(a b", "a OR b", "AND", "-x", "^x", "col:x",
           "\x00", "a\x00b", "%", "_", "\\", "%_\\", "\ud800", "投诉\ud800", "(", ")", "{}",
           "x" * 10_000, "投" * 5_000, "#", "#99999999999999999999999", "-1", "   "]


@pytest.fixture
def searched(casework: Casework) -> Casework:
    add_test_customers(casework)
    casework.store.add_user("ann", ["agent"], T0, "Ann", "ann@example.com")
    for customer, summary in (("C1", "客户投诉快递延误三天"), ("C7", "Parcel arrived damaged"),
                              ("C1", "Refund not received"), ("C7", "Parcel lost, refund?")):
        casework.runtime.start("complaint", {"channel": "web", "summary": summary}, ANN, T0,
                               customer=customer)
    return casework


def found(casework: Casework, query: str) -> list[int]:
    return [c.id for c in casework.case_search.search(query).cases]


def test_chinese_is_found_by_the_word_and_by_a_longer_substring(searched: Casework) -> None:
    assert found(searched, "投诉") == [1]  # two characters: the newest cases, scanned
    assert searched.case_search.search("投诉").terms.windowed
    assert found(searched, "投诉快") == [1]  # the trigram index
    assert found(searched, "快递延误") == [1]
    assert not searched.case_search.search("快递延误").terms.windowed


def test_words_number_and_customer(searched: Casework) -> None:
    assert found(searched, "parcel") == [4, 2]  # newest first, case-insensitive
    assert found(searched, "PARCEL refund") == [4]  # every word
    assert found(searched, "#3") == [3]
    assert found(searched, "3") == [3]
    assert found(searched, "C7") == [4, 2]
    assert found(searched, "nothing like this") == []
    result = searched.case_search.search("parcel", limit=1)
    assert [c.id for c in result.cases] == [4] and result.more


def test_a_customers_name_is_searched_and_kept_current(searched: Casework) -> None:
    searched.customer_editor.update("C7", {"name": "Wang Fang 王芳"}, "ann", "agent", T0)
    assert found(searched, "王芳") == [4, 2]
    assert found(searched, "wang fang") == [4, 2]
    searched.customer_editor.update("C7", {"name": "Li Lei"}, "ann", "agent", T0)
    assert found(searched, "wang") == []
    assert found(searched, "li lei") == [4, 2]
    case = searched.case_search.search("li lei").cases[0]
    assert (case.customer, case.customer_name, case.summary) == \
        ("C7", "Li Lei", "Parcel lost, refund?")


def test_a_new_summary_is_searched_and_a_triage_writes_no_search_row(
        searched: Casework) -> None:
    def rows() -> int:
        with searched.database.reading() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM case_search"))
                       .scalar_one())

    before = rows()
    searched.runtime.fire(2, "triage", ANN, T0 + timedelta(minutes=5),
                          {"category": "after_sales", "severity": "high"})
    assert rows() == before
    with searched.database.writing() as connection:  # a summary changed by hand
        connection.execute(sa.text("UPDATE cases SET fields = :f WHERE id = 2"),
                           {"f": '{"channel": "web", "summary": "Courier broke the gate"}'})
    assert found(searched, "courier") == [2]
    assert 2 not in found(searched, "damaged")


@pytest.mark.parametrize("query", HOSTILE)
def test_a_query_of_any_bytes_never_errors(searched: Casework, query: str) -> None:
    result = searched.case_search.search(query)
    assert len(result.terms.text) <= MAX_QUERY
    assert all(c.id in (1, 2, 3, 4) for c in result.cases)


def test_search_terms_take_any_text_apart() -> None:
    terms = search_terms('  #12 "投诉" ab\x00cd NEAR(  ')
    assert terms.number is None and terms.text == '#12 "投诉" ab cd NEAR('
    assert terms.long == ("#12", '"投诉"', "NEAR(") and terms.short == ("ab", "cd")
    assert search_terms("#12").number == 12 and search_terms("١٢").number is None


def test_my_cases_are_the_open_ones_assigned_to_me_soonest_due_first(
        searched: Casework) -> None:
    now = T0 + timedelta(minutes=5)
    for case_id, severity in ((2, "low"), (3, "high")):
        searched.runtime.fire(case_id, "triage", ANN, now,
                              {"category": "billing", "severity": severity})
    mine = searched.case_search.my_cases("ann")
    assert [m.row.id for m in mine] == [3, 2]  # high is due sooner than low
    assert all(m.queue for m in mine) and all(m.row.assignee == "ann" for m in mine)
    assert searched.case_search.my_cases("bob") == []


def test_the_conversation_is_searched_with_its_case(searched: Casework) -> None:
    searched.customers.add("C9", T0, email="c9@example.org")
    case = searched.runtime.start("complaint", {"channel": "phone", "summary": "Noisy fan"},
                                  ANN, T0, customer="C9")
    note = searched.conversation.record(case.id, EntryKind.NOTE, "序列号 SN-44817 已登记",
                                        ANN, T0)
    searched.conversation.record(case.id, EntryKind.TO_CUSTOMER, "A courier collects it",
                                 ANN, T0)
    assert found(searched, "SN-44817") == [case.id]
    assert found(searched, "序列号") == [case.id]
    assert found(searched, "courier collects") == [case.id]
    assert found(searched, "noisy courier") == []  # every word in one document
    with searched.database.writing() as connection:  # an erased text is no longer found
        connection.execute(sa.text("UPDATE case_entries SET body = '' WHERE id = :id"),
                           {"id": note})
    assert found(searched, "SN-44817") == []
