"""engine.kernel.yaml_limits through yaml_source.parse: an alias bomb, a deep list, a file too
large and an alias inside its own anchor are DefinitionErrors at their line, refused before
the document grows (issue 20)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from engine.kernel.errors import DefinitionError
from engine.kernel.yaml_limits import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH
from engine.kernel.yaml_source import parse, read_source
from tests.fixtures import alias_bomb, deep_list


def refusal(text: str) -> str:
    with pytest.raises(DefinitionError) as raised:
        parse(text, "f.yaml")
    assert len(raised.value.problems) == 1
    return str(raised.value.problems[0])


def test_an_alias_bomb_is_refused_at_its_line_before_it_grows() -> None:
    bomb = alias_bomb(10)  # 9 ** 10 strings if expanded; 2.4 KB of text
    assert len(bomb) < 2_500
    tracemalloc.start()
    try:
        message = refusal(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # l4 (line 6) stands for 66,430 nodes, l3 for 7,381: the aliases of l5 (line 7) to l4
    # cross the limit at their second
    assert message == (f"f.yaml:7: aliases here expand to more than {MAX_ALIAS_NODES:,} nodes "
                       "(at '*l4'); write the repeated parts out or use fewer levels of aliases "
                       "to aliases")
    assert peak < 1_000_000  # bytes: what composing 2.4 KB takes, not what expanding would


def test_aliases_within_the_limit_still_load() -> None:
    document, problems = parse(alias_bomb(5), "f.yaml")  # aliases add 9 * 7,381 nodes
    assert problems == []
    assert len(document["description"]["l4"][8][8][8][8]) == 9


def test_a_list_100000_deep_is_refused_at_its_line_not_a_recursion_error() -> None:
    assert refusal(deep_list(100_000)) == (
        f"f.yaml:1: nesting deeper than {MAX_DEPTH} levels; a definition nests a few levels: "
        "flatten this structure")


def test_nesting_up_to_the_limit_loads() -> None:
    document, problems = parse(deep_list(MAX_DEPTH - 1), "f.yaml")  # and the top mapping
    assert problems == []
    inner = document["description"]
    for _ in range(MAX_DEPTH - 2):
        inner = inner[0]
    assert inner == []


def test_block_nesting_is_refused_at_the_line_that_goes_too_deep() -> None:
    text = "a: 1\n" + "".join(f"{'  ' * n}k{n}:\n" for n in range(MAX_DEPTH)) + \
        f"{'  ' * MAX_DEPTH}x\n"
    assert refusal(text).startswith(f"f.yaml:{MAX_DEPTH + 1}: nesting deeper than {MAX_DEPTH}")


def test_an_alias_cannot_nest_the_document_beyond_the_limit() -> None:
    half = MAX_DEPTH // 2 + 2
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    assert refusal(text) == (f"f.yaml:2: alias '*a' nests the document deeper than {MAX_DEPTH} "
                             "levels; flatten the structure it names")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert refusal("x: 1\na: &a [1, *a]\n") == (
        "f.yaml:2: alias '*a' is inside the node its anchor names, which would make it "
        "infinite; refer to a node outside it")


def test_text_larger_than_the_limit_is_refused_before_parsing() -> None:
    text = "a: '" + "é" * (MAX_BYTES // 2) + "'\n"  # fewer characters than bytes
    assert len(text) < MAX_BYTES < len(text.encode())
    assert refusal(text) == (f"f.yaml:1: the file is {len(text.encode()):,} bytes; a "
                             f"definition may be at most {MAX_BYTES:,} bytes (split it into "
                             "several definitions)")


def test_a_file_larger_than_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * MAX_BYTES)
    with pytest.raises(DefinitionError) as raised:
        read_source(path)
    assert str(raised.value) == (f"{path}:1: the file is {MAX_BYTES + 5:,} bytes; a definition "
                                 f"may be at most {MAX_BYTES:,} bytes (split it into several "
                                 "definitions)")
    path.write_bytes(b"a: 1\n")
    assert read_source(path) == "a: 1\n"


def test_a_nul_character_in_a_value_is_a_problem_at_its_line() -> None:
    document, problems = parse('a: 1\nb: "x\\0y"\n', "f.yaml")
    assert document["b"] == "x\x00y"
    assert [str(p) for p in problems] == [
        "f.yaml:2: this text holds a NUL character (\\0), which casework cannot store; "
        "remove it"]
