"""engine.kernel.yaml_source: YAML that knows the line of everything, duplicate keys,
suggestions."""

from __future__ import annotations

import textwrap

import pytest

from engine.kernel.errors import DefinitionError, Problem
from engine.kernel.yaml_source import Node, NodeList, known_list, parse, suggest


def yaml_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_mapping_knows_its_line_and_the_line_of_each_key() -> None:
    document, problems = parse(yaml_text("""
        # a comment first
        name: demo

        version: 1
        nested:
          inner: x
    """), "f.yaml")
    assert problems == []
    assert isinstance(document, Node)
    assert document == {"name": "demo", "version": 1, "nested": {"inner": "x"}}
    assert document.line == 2
    assert document.key_lines == {"name": 2, "version": 4, "nested": 5}
    assert document.line_of("version") == 4
    assert isinstance(document["nested"], Node)
    assert document["nested"].line == 6
    assert document["nested"].line_of("inner") == 6


def test_line_of_a_missing_key_falls_back_to_the_mapping_line() -> None:
    document, _ = parse("top:\n  a: 1\n  b: 2\n", "f.yaml")
    assert document["top"].line_of("nope") == 2


def test_flow_mapping_lines() -> None:
    document, _ = parse("x: 1\nstates:\n  open: {initial: true, queue: intake}\n", "f.yaml")
    open_state = document["states"]["open"]
    assert isinstance(open_state, Node)
    assert open_state.line == 3
    assert open_state.line_of("queue") == 3


def test_sequence_knows_the_line_of_each_item() -> None:
    document, problems = parse(yaml_text("""
        items:
          - a
          - {b: 2}
          -
            c: 3
    """), "f.yaml")
    assert problems == []
    items = document["items"]
    assert isinstance(items, NodeList)
    assert items == ["a", {"b": 2}, {"c": 3}]
    assert items.line == 2
    assert items.item_lines == [2, 3, 5]
    assert items.line_of(1) == 3
    assert items[1].line == 3
    assert items[2].line == 5
    assert items[2].line_of("c") == 5
    assert items.line_of(99) == items.line  # out of range: the line of the sequence


def test_flow_sequence_items_on_one_line() -> None:
    document, _ = parse("roles: [agent, supervisor]\n", "f.yaml")
    assert isinstance(document["roles"], NodeList)
    assert document["roles"].item_lines == [1, 1]


def test_top_level_sequence() -> None:
    document, problems = parse("- 1\n- 2\n", "f.yaml")
    assert isinstance(document, NodeList)
    assert document == [1, 2]
    assert problems == []


def test_empty_document_is_none_without_problems() -> None:
    assert parse("", "f.yaml") == (None, [])
    assert parse("# only a comment\n", "f.yaml") == (None, [])


def test_duplicate_key_is_a_problem_and_the_first_value_is_kept() -> None:
    document, problems = parse(yaml_text("""
        workflow: demo
        version: 1
        version: 2
    """), "wf.yaml")
    assert document == {"workflow": "demo", "version": 1}
    assert problems == [
        Problem("wf.yaml", 3, "duplicate key 'version' (first at line 2); remove one of them")
    ]
    assert str(problems[0]).startswith("wf.yaml:3: ")


def test_every_duplicate_key_is_reported_at_every_depth() -> None:
    _, problems = parse(yaml_text("""
        a: 1
        b:
          x: 1
          y: 2
          x: 3
        a: 4
        c: [{k: 1, k: 2}]
    """), "wf.yaml")
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
        (5, "duplicate key 'x'"),
        (6, "duplicate key 'a'"),
        (7, "duplicate key 'k'"),
    ]


def test_non_string_keys_become_strings_and_collide_with_their_string_form() -> None:
    document, problems = parse('1: a\n"1": b\ntrue: c\n', "f.yaml")
    assert document == {"1": "a", "True": "c"}
    assert [p.line for p in problems] == [2]
    assert "duplicate key '1' (first at line 1)" in problems[0].message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("a: 1\nb: {c: 1\nd: 2\n", 3, "expected ',' or '}'", id="unclosed-flow-map"),
        pytest.param("a: [1, 2\n", 2, "expected ',' or ']'", id="unclosed-flow-list"),
        pytest.param("a:\n\tb: 1\n", 2, "found character '\\t'", id="tab-indent"),
        pytest.param("a: 1\n  b: 2\n", 2, "mapping values are not allowed", id="bad-indent"),
        pytest.param("a: *nope\n", 1, "undefined alias 'nope'", id="undefined-alias"),
        pytest.param("a: 1\n---\nb: 2\n", 2, "another document", id="two-documents"),
        pytest.param("a: 'open\n", 2, "found unexpected end of stream", id="unclosed-quote"),
    ],
)
def test_malformed_yaml_raises_definition_error_naming_the_line(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse(text, "bad.yaml")
    [problem] = caught.value.problems
    assert problem.path == "bad.yaml"
    assert problem.line == line
    assert problem.message.startswith("not valid YAML: ")
    assert fragment in problem.message
    assert str(caught.value).startswith(f"bad.yaml:{line}: not valid YAML: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [("workflow: demo\x07\n", 1), ("workflow: demo\nversion: 1\ntitle: a\x00b\n", 3)],
    ids=["bell", "nul-on-line-3"],
)
def test_non_printable_character_is_a_definition_error(text: str, line: int) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse(text, "bad.yaml")
    [problem] = caught.value.problems
    assert problem.line == line
    assert str(problem).startswith(f"bad.yaml:{line}: not valid YAML: ")


def test_merge_key_can_be_overridden() -> None:
    document, problems = parse(yaml_text("""
        base: &base {x: 1, y: 2}
        other:
          <<: *base
          x: 3
    """), "f.yaml")
    assert problems == []
    assert document["other"] == {"x": 3, "y": 2}


def test_merge_key_without_override_keeps_lines() -> None:
    document, problems = parse(yaml_text("""
        base: &base {x: 1}
        other:
          <<: *base
          y: 2
    """), "f.yaml")
    assert problems == []
    assert document["other"] == {"x": 1, "y": 2}
    assert document["other"].line_of("y") == 4


@pytest.mark.parametrize(
    ("name", "known", "expected"),
    [
        ("aproved", ["open", "approved", "closed"], "; did you mean 'approved'?"),
        ("titel", ["title", "version"], "; did you mean 'title'?"),
        ("agnet", {"agent", "admin"}, "; did you mean 'agent'?"),
        ("zzz", ["open", "approved"], ""),
        ("anything", [], ""),
    ],
)
def test_suggest(name: str, known: list[str] | set[str], expected: str) -> None:
    assert suggest(name, known) == expected


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        (["b", "c", "a"], "a, b, c"),
        (frozenset({"x"}), "x"),
        ([], "(none)"),
    ],
)
def test_known_list_is_sorted(known: list[str] | frozenset[str], expected: str) -> None:
    assert known_list(known) == expected


def test_only_true_and_false_are_booleans() -> None:
    """YAML 1.2 booleans: `on:`, `no` and `yes` stay words (YAML 1.1 would make them bools)."""
    document, problems = parse("on: customer.tier_changed\ncountry: NO\nanswer: yes\n"
                               "flags: [true, False, TRUE, off]\n", "f.yaml")
    assert problems == []
    assert document == {"on": "customer.tier_changed", "country": "NO", "answer": "yes",
                        "flags": [True, False, True, "off"]}
