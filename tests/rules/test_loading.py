"""engine.rules.loading: every load-time check of a decision table, each reported as path:line."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine.kernel.errors import DefinitionError
from engine.rules.loading import load_table_file, load_table_text
from engine.rules.tables import Aggregate, HitPolicy, OutputSpec, TableSpec, coverage, run_tests
from engine.workflows.registry import table_files
from tests.fixtures import ROOT

RULES = table_files(ROOT)

# A valid table. Most cases below change one line of it (the line numbers are those below).
BASE = textwrap.dedent("""\
    table: demo
    version: 1
    title: Demo
    hit: first
    inputs:
      amount: double
      tier: string
      since: timestamp
    outputs:
      level: int
      notify: {values: [manager, supervisor, nobody]}
    rules:
      - id: big
        when: {amount: ">= 100", tier: "gold, silver"}
        then: {level: 2, notify: manager}
      - id: old
        when: {since: "< 2020-01-01"}
        if: amount > 10.0
        then: {level: 1, notify: supervisor}
      - id: rest
        then: {level: 0, notify: nobody}
    tests:
      - given: {amount: 150, tier: gold, since: 2024-01-01}
        expect: {level: 2}
        rows: [big]
      - given: {amount: 50, tier: gold, since: 2019-06-01}
        expect: {level: 1, notify: supervisor}
        rows: [old]
      - given: {amount: 5, tier: gold, since: null}
        expect: {level: 0, notify: nobody}
        rows: [rest]
""")

# A collect table, for aggregates and list expectations.
COLLECT = textwrap.dedent("""\
    table: points
    version: 1
    hit: collect
    inputs:
      x: int
    outputs:
      points: int
    rules:
      - id: one
        then: {points: 1}
""")


def edit(old: str, new: str, base: str = BASE) -> str:
    """`base` with one piece of text replaced (which must occur exactly once)."""
    assert base.count(old) == 1, old
    return base.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "table.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems loading `text` reports, each as 'path:line: message'."""
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_table_file(path)
    assert all(p.path == str(path) for p in caught.value.problems)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


def assert_problems(tmp_path: Path, text: str, *expected: tuple[int, str]) -> None:
    path = tmp_path / "table.yaml"
    assert problems(tmp_path, text) == [f"{path}:{line}: {message}" for line, message in expected]


def test_base_is_valid(tmp_path: Path) -> None:
    spec = load_table_file(write(tmp_path, BASE))
    assert isinstance(spec, TableSpec)
    assert (spec.name, spec.version, spec.title, spec.hit, spec.aggregate) == \
        ("demo", 1, "Demo", "first", None)
    assert spec.hit is HitPolicy.FIRST
    assert dict(spec.inputs) == {"amount": "double", "tier": "string", "since": "timestamp"}
    assert spec.outputs == {"level": OutputSpec("level", "int"),
                            "notify": OutputSpec("notify", "string",
                                                 ("manager", "supervisor", "nobody"))}
    assert [(o.name, o.line) for o in spec.outputs.values()] == [("level", 10), ("notify", 11)]
    assert [(r.id, r.line) for r in spec.rows] == [("big", 13), ("old", 16), ("rest", 20)]
    big, old, rest = spec.rows
    assert [(name, test.source) for name, test in big.cells] == \
        [("amount", ">= 100"), ("tier", "gold, silver")]
    assert old.condition is not None
    assert old.condition.source == "amount > 10.0"
    assert (rest.cells, rest.condition, dict(rest.then)) == ((), None,
                                                            {"level": 0, "notify": "nobody"})
    assert [t.line for t in spec.tests] == [23, 26, 29]
    assert spec.tests[0].given == {"amount": 150, "tier": "gold",
                                   "since": datetime(2024, 1, 1, tzinfo=UTC)}
    assert spec.tests[0].expect == {"level": 2}
    assert spec.tests[0].rows == ("big",)
    assert spec.tests[2].given["since"] is None
    assert (spec.effective_from, spec.effective_until) == (None, None)
    assert spec.path == str(tmp_path / "table.yaml")
    assert spec.readers == {"amount": ("big", "old"), "tier": ("big",), "since": ("old",)}
    assert [r.failure for r in run_tests(spec)] == [None, None, None]
    assert coverage(spec) == []


def test_defaults_title_and_hit(tmp_path: Path) -> None:
    spec = load_table_file(write(tmp_path, edit("title: Demo\nhit: first\n", "")
                                 .replace("\n  - id: rest\n    then: {level: 0, notify: nobody}",
                                          "")
                                 .replace("    rows: [rest]\n", "")))
    assert (spec.title, spec.hit) == ("demo", "unique")


def test_content_hash_ignores_comments_and_formatting(tmp_path: Path) -> None:
    one = load_table_text(BASE, "a.yaml")
    two = load_table_text("# a comment\n" + BASE.replace("{level: 2, notify: manager}",
                                                         "{level: 2,   notify: manager}"),
                          "b.yaml")
    three = load_table_text(BASE.replace("level: 2, notify: manager", "level: 3, notify: manager"),
                            "c.yaml")
    assert one.content_hash == two.content_hash != three.content_hash


# --- the document --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("", 1, id="empty"),
        pytest.param("- table: demo\n", 1, id="list"),
        pytest.param("just text\n", 1, id="scalar"),
    ],
)
def test_document_must_be_a_mapping(tmp_path: Path, text: str, line: int) -> None:
    assert_problems(tmp_path, text, (line, "a table file must be a mapping with 'table', "
                                           "'version', 'hit', 'inputs', 'outputs' and 'rules'"))


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    assert_problems(tmp_path, edit("  tier: string\n", "  tier: [string\n"),
                    (8, "not valid YAML: expected ',' or ']', but got ':'"))


def test_duplicate_keys_are_reported_with_both_lines(tmp_path: Path) -> None:
    assert_problems(tmp_path, edit("version: 1\n", "version: 1\nversion: 2\n"),
                    (3, "duplicate key 'version' (first at line 2); remove one of them"))


def test_an_empty_mapping_reports_every_missing_part(tmp_path: Path) -> None:
    assert_problems(
        tmp_path, "description: nothing yet\n",
        (1, "'table' must be a lower-case identifier such as 'customer_tier', not None"),
        (1, "'version' must be a whole number >= 1, not None"),
        (1, "'inputs' must map each input name to its type (int, double, string, bool, "
            "timestamp, duration, list, map)"),
        (1, "'outputs' must map each output name to {values: [...]} or a type (string, int, "
            "double, bool)"),
        (1, "'rules' must be a non-empty list of rows"))


# --- unknown keys at every level -----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            BASE + "titel: Demo\n", 32,
            "unknown key 'titel' in table; did you mean 'title'? (allowed: aggregate, approval, "
            "default, "
            "description, effective, hit, inputs, outputs, rules, table, tests, title, version)",
            id="table"),
        pytest.param(
            BASE + "bogus: 1\n", 32,
            "unknown key 'bogus' in table (allowed: aggregate, approval, default, description, "
            "effective, "
            "hit, inputs, outputs, rules, table, tests, title, version)",
            id="table-no-suggestion"),
        pytest.param(
            edit("  level: int\n", "  level: {type: int, value: [1]}\n"), 10,
            "unknown key 'value' in output 'level'; did you mean 'values'? (allowed: "
            "description, type, values)",
            id="output"),
        pytest.param(
            edit("  - id: old\n", "  - id: old\n    whn: {}\n"), 17,
            "unknown key 'whn' in a rule; did you mean 'when'? (allowed: description, id, if, "
            "then, when)",
            id="rule"),
        pytest.param(
            edit("    expect: {level: 2}\n", "    expect: {level: 2}\n    row: [big]\n"), 25,
            "unknown key 'row' in a test; did you mean 'rows'? (allowed: description, expect, "
            "given, rows)",
            id="test"),
    ],
)
def test_unknown_keys_at_every_level(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert_problems(tmp_path, text, (line, message))


def test_descriptions_are_allowed_everywhere(tmp_path: Path) -> None:
    text = (BASE.replace("title: Demo\n", "title: Demo\ndescription: why\n")
            .replace("  level: int\n", "  level: {type: int, description: how far}\n")
            .replace("  - id: rest\n", "  - id: rest\n    description: the rest\n")
            .replace("    rows: [rest]\n", "    rows: [rest]\n    description: defaults\n"))
    assert load_table_text(text, "t.yaml").outputs["level"] == OutputSpec("level", "int")


# --- header --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Demo", "my-table", "1st", "''", "[demo]"])
def test_table_name_must_be_an_identifier(tmp_path: Path, name: str) -> None:
    shown = {"''": "''", "[demo]": "['demo']"}.get(name, repr(name))
    assert_problems(tmp_path, edit("table: demo", f"table: {name}"),
                    (1, f"'table' must be a lower-case identifier such as 'customer_tier', "
                        f"not {shown}"))


@pytest.mark.parametrize(
    ("version_line", "shown"),
    [('version: "1"', "'1'"), ("version: one", "'one'"), ("version: true", "True"),
     ("version: 0", "0"), ("version: -2", "-2"), ("version: 1.5", "1.5"),
     ("version: [1]", "[1]"), ("version:", "None")],
)
def test_version_must_be_a_whole_number(tmp_path: Path, version_line: str, shown: str) -> None:
    assert_problems(tmp_path, edit("version: 1", version_line),
                    (2, f"'version' must be a whole number >= 1, not {shown}"))


def test_missing_version_is_reported_at_the_top(tmp_path: Path) -> None:
    assert_problems(tmp_path, edit("version: 1\n", ""),
                    (1, "'version' must be a whole number >= 1, not None"))


@pytest.mark.parametrize(
    ("hit", "message"),
    [
        ("frist", "unknown hit policy 'frist'; did you mean 'first'? (hit policies: unique, "
                  "first, priority, any, collect, rule_order)"),
        ("uniqe", "unknown hit policy 'uniqe'; did you mean 'unique'? (hit policies: "),
        ("rule-order", "unknown hit policy 'rule-order'; did you mean 'rule_order'? "),
        ("bogus", "unknown hit policy 'bogus' (hit policies: unique, first, priority, any, "
                  "collect, rule_order)"),
        ("[first]", "unknown hit policy ['first']; did you mean 'first'? (hit policies: "),
    ],
)
def test_unknown_hit_policy(tmp_path: Path, hit: str, message: str) -> None:
    [problem] = problems(tmp_path, edit("hit: first", f"hit: {hit}"))
    assert problem.startswith(f"{tmp_path / 'table.yaml'}:4: {message}")


# --- aggregate -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(edit("hit: first", "hit: first\naggregate: sum"), 5,
                     "'aggregate' goes only with 'hit: collect'", id="not-collect"),
        pytest.param(edit("hit: collect", "hit: rule_order\naggregate: count", COLLECT), 4,
                     "'aggregate' goes only with 'hit: collect'", id="rule-order"),
        pytest.param(edit("hit: collect", "hit: collect\naggregate: summ", COLLECT), 4,
                     "unknown aggregate 'summ'; did you mean 'sum'? (aggregates: sum, count, "
                     "min, max)", id="misspelt"),
        pytest.param(edit("hit: collect", "hit: collect\naggregate: avg", COLLECT), 4,
                     "unknown aggregate 'avg' (aggregates: sum, count, min, max)",
                     id="unknown"),
        pytest.param(edit("hit: collect", "hit: collect\naggregate: max", COLLECT)
                     .replace("  points: int\n", "  points: int\n  bonus: int\n")
                     .replace("{points: 1}", "{points: 1, bonus: 2}"), 4,
                     "'aggregate: max' needs exactly one output, not 2", id="two-outputs"),
        pytest.param(edit("hit: collect", "hit: collect\naggregate: sum", COLLECT)
                     .replace("points: int", "points: string").replace("points: 1", "points: a"),
                     4, "'aggregate: sum' needs a number output (int or double)", id="string"),
        pytest.param(edit("hit: collect", "hit: collect\naggregate: min", COLLECT)
                     .replace("points: int", "points: bool").replace("points: 1", "points: true"),
                     4, "'aggregate: min' needs a number output (int or double)", id="bool"),
    ],
)
def test_aggregate_misuse(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert_problems(tmp_path, text, (line, message))


@pytest.mark.parametrize(
    ("aggregate", "output", "value"),
    [("sum", "int", "1"), ("min", "double", "1.5"), ("max", "int", "1"),
     ("count", "string", "a"), ("count", "bool", "true")],
)
def test_aggregate_fits(aggregate: str, output: str, value: str) -> None:
    text = (edit("hit: collect", f"hit: collect\naggregate: {aggregate}", COLLECT)
            .replace("points: int", f"points: {output}")
            .replace("points: 1", f"points: {value}"))
    loaded = load_table_text(text, "t.yaml").aggregate
    assert (type(loaded), loaded) == (Aggregate, aggregate)


# --- inputs and outputs --------------------------------------------------------------------

def test_unknown_input_type_names_it_and_every_use_of_the_input(tmp_path: Path) -> None:
    assert_problems(
        tmp_path, edit("  amount: double", "  amount: float"),
        (6, "input 'amount' has unknown type 'float' (types: int, double, string, bool, "
            "timestamp, duration, list, map)"),
        (14, "row 'big' tests undeclared input 'amount' (inputs: since, tier)"),
        (18, "row 'old': 'if' 'amount > 10.0' reads unknown variable 'amount' (expressions see "
             "since, tier)"),
        (23, "test gives undeclared input 'amount'"),
        (26, "test gives undeclared input 'amount'"),
        (29, "test gives undeclared input 'amount'"))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("strng", "input 'tier' has unknown type 'strng'; did you mean 'string'? (types: "),
        ("text", "input 'tier' has unknown type 'text' (types: "),
        ("{type: string}", "input 'tier' has unknown type {'type': 'string'} (types: "),
        ("", "input 'tier' has unknown type None (types: "),
    ],
)
def test_input_types(tmp_path: Path, kind: str, message: str) -> None:
    found = problems(tmp_path, edit("  tier: string", f"  tier: {kind}"))
    assert found[0].startswith(f"{tmp_path / 'table.yaml'}:7: {message}"), found[0]
    assert found[1:] == [f"{tmp_path / 'table.yaml'}:14: row 'big' tests undeclared input "
                         "'tier' (inputs: amount, since)",
                         f"{tmp_path / 'table.yaml'}:23: test gives undeclared input 'tier'",
                         f"{tmp_path / 'table.yaml'}:26: test gives undeclared input 'tier'",
                         f"{tmp_path / 'table.yaml'}:29: test gives undeclared input 'tier'"]


@pytest.mark.parametrize("name", ["Amount", "amount-due", "_amount", "2nd"])
def test_input_name_must_be_an_identifier(tmp_path: Path, name: str) -> None:
    found = problems(tmp_path, edit("  amount: double", f"  {name}: double"))
    assert found[0] == f"{tmp_path / 'table.yaml'}:6: input name '{name}' must be a lower-case " \
                       "identifier"


@pytest.mark.parametrize("inputs", ["inputs: {}", "inputs: [amount]", "inputs: amount",
                                    "inputs:"])
def test_inputs_must_be_a_non_empty_mapping(tmp_path: Path, inputs: str) -> None:
    text = edit("inputs:\n  amount: double\n  tier: string\n  since: timestamp\n",
                f"{inputs}\n")
    found = problems(tmp_path, text)
    assert found[0] == (f"{tmp_path / 'table.yaml'}:5: 'inputs' must map each input name to its "
                        "type (int, double, string, bool, timestamp, duration, list, map)")


@pytest.mark.parametrize(
    ("level", "message"),
    [
        ("integer", "output 'level' has unknown type 'integer'; did you mean 'int'? (types: "
                    "string, int, double, bool)"),
        ("{type: float}", "output 'level' has unknown type 'float' (types: string, int, double, "
                          "bool)"),
        ("5", "output 'level' must be a type name or {values: [...]}"),
        ("[int]", "output 'level' must be a type name or {values: [...]}"),
    ],
)
def test_output_specs(tmp_path: Path, level: str, message: str) -> None:
    path = tmp_path / "table.yaml"
    assert problems(tmp_path, edit("  level: int", f"  level: {level}")) == [
        f"{path}:10: {message}",
        f"{path}:15: row 'big' sets undeclared output 'level' (outputs: notify)",
        f"{path}:19: row 'old' sets undeclared output 'level' (outputs: notify)",
        f"{path}:21: row 'rest' sets undeclared output 'level' (outputs: notify)",
        f"{path}:24: test expects undeclared output 'level'",
        f"{path}:27: test expects undeclared output 'level'",
        f"{path}:30: test expects undeclared output 'level'"]


@pytest.mark.parametrize(
    "values",
    ["[manager, manager, nobody, supervisor]", "manager", "[manager, 1, nobody, supervisor]",
     "{a: 1}"],
)
def test_output_values_must_be_a_list_of_distinct_values_of_its_type(
        tmp_path: Path, values: str) -> None:
    assert_problems(
        tmp_path, edit("[manager, supervisor, nobody]", values),
        (11, "output 'notify': 'values' must be a list of distinct string values"))


def test_output_values_of_other_types(tmp_path: Path) -> None:
    text = edit("  level: int", "  level: {type: int, values: [2, 1, 0]}")
    assert load_table_text(text, "t.yaml").outputs["level"].values == (2, 1, 0)
    assert_problems(tmp_path, edit("  level: int", "  level: {type: int, values: [2, 1.5, 0]}"),
                    (10, "output 'level': 'values' must be a list of distinct int values"))


@pytest.mark.parametrize("outputs", ["outputs: {}", "outputs: [level]", "outputs:"])
def test_outputs_must_be_a_non_empty_mapping(tmp_path: Path, outputs: str) -> None:
    text = edit("outputs:\n  level: int\n  notify: {values: [manager, supervisor, nobody]}\n",
                f"{outputs}\n")
    found = problems(tmp_path, text)
    assert found[0] == (f"{tmp_path / 'table.yaml'}:9: 'outputs' must map each output name to "
                        "{values: [...]} or a type (string, int, double, bool)")


def test_output_name_must_be_an_identifier(tmp_path: Path) -> None:
    found = problems(tmp_path, edit("  level: int", "  Level: int"))
    assert found[0] == f"{tmp_path / 'table.yaml'}:10: output name 'Level' must be a lower-case " \
                       "identifier"


# --- rows ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param('{amount: ">= 100", tier: "gold, silver"}',
                     '{amout: ">= 100", tier: "gold, silver"}', 14,
                     "row 'big' tests undeclared input 'amout'; did you mean 'amount'? (inputs: "
                     "amount, since, tier)", id="undeclared-input-suggestion"),
        pytest.param('{since: "< 2020-01-01"}', '{since: "< 2020-01-01", x: 1}', 17,
                     "row 'old' tests undeclared input 'x' (inputs: amount, since, tier)",
                     id="undeclared-input"),
        pytest.param('">= 100"', '">= lots"', 14,
                     "row 'big' cell amount: cell '>= lots': 'lots' is not a double",
                     id="unparsable-comparison"),
        pytest.param('"gold, silver"', '"gold, big silver"', 14,
                     "row 'big' cell tier: 'gold, big silver': put big silver in quotes to "
                     "compare it as text", id="unquoted-spaces"),
        pytest.param('"gold, silver"', '"gold, \'silver"', 14,
                     "row 'big' cell tier: 'gold, 'silver' has an unclosed quote",
                     id="unclosed-quote"),
        pytest.param('"gold, silver"', '"gold,,silver"', 14,
                     "row 'big' cell tier: 'gold,,silver' has an empty item in its list",
                     id="empty-item"),
        pytest.param('"< 2020-01-01"', '"[2020-01-01..2019-01-01]"', 17,
                     "row 'old' cell since: range '[2020-01-01..2019-01-01]' is empty: "
                     "2020-01-01 is above 2019-01-01", id="empty-range"),
        pytest.param('">= 100"', '"gold"', 14,
                     "row 'big' cell amount: cell 'gold': 'gold' is not a double",
                     id="string-for-double"),
        pytest.param('">= 100"', 'true', 14,
                     "row 'big' cell amount: cell True: True is not a double",
                     id="bool-for-double"),
        pytest.param('"gold, silver"', '"[1..5]"', 14,
                     "row 'big' cell tier: '[1..5]' is a range, but input 'tier' is string",
                     id="range-for-string"),
        pytest.param('"gold, silver"', '5', 14,
                     "row 'big' cell tier: cell 5: 5 is not a string", id="number-for-string"),
        pytest.param('"< 2020-01-01"', '"< soon"', 17,
                     "row 'old' cell since: cell '< soon': 'soon' is not a timestamp",
                     id="not-a-timestamp"),
        pytest.param('"gold, silver"', "", 14,
                     "row 'big' cell tier: the cell is empty; write '-' for any value or 'null' "
                     "for no value", id="empty-cell"),
        pytest.param('"gold, silver"', "~", 14,
                     "row 'big' cell tier: the cell is empty; write '-' for any value or 'null' "
                     "for no value", id="tilde-cell"),
        pytest.param('"gold, silver"', '[gold, silver]', 14,
                     "row 'big' cell tier: cell ['gold', 'silver'] must be a test such as "
                     "'>= 5' or 'gold, silver'", id="yaml-list"),
        pytest.param("if: amount > 10.0", "if: amont > 10.0", 18,
                     "row 'old': 'if' 'amont > 10.0' reads unknown variable 'amont'; did you "
                     "mean 'amount'? (expressions see amount, since, tier)",
                     id="if-undeclared-input"),
        pytest.param("if: amount > 10.0", "if: amount.cents > 10", 18,
                     "row 'old': 'if' 'amount.cents > 10' reads amount.cents, but amount has "
                     "no 'cents' (it has (none))", id="if-member"),
        pytest.param("if: amount > 10.0", "if: true", 18,
                     "row 'old': 'if' an expression must be a non-empty string",
                     id="if-not-a-string"),
        pytest.param("if: amount > 10.0", "if: amount >", 18,
                     "row 'old': 'if' 'amount >' is not valid CEL: Failed to parse expression "
                     "'amount >': ERROR: <input>:1:9: Syntax error: mismatched input '<EOF>' "
                     "expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', "
                     "NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
                     id="if-not-cel"),
        pytest.param('{level: 2, notify: manager}', '{level: "=amunt * 2", notify: manager}', 15,
                     "row 'big' output level 'amunt * 2' reads unknown variable 'amunt'; did "
                     "you mean 'amount'? (expressions see amount, since, tier)",
                     id="computed-undeclared-input"),
        pytest.param('{level: 2, notify: manager}', '{level: "=", notify: manager}', 15,
                     "row 'big' output level an expression must be a non-empty string",
                     id="computed-empty"),
        pytest.param('{level: 2, notify: manager}', '{level: 2, notify: manager, levl: 3}', 15,
                     "row 'big' sets undeclared output 'levl'; did you mean 'level'? "
                     "(outputs: level, notify)", id="undeclared-output"),
        pytest.param('{level: 2, notify: manager}', '{level: 2, notify: manger}', 15,
                     "row 'big' gives output 'notify' the value 'manger'; did you mean "
                     "'manager'?; allowed: ['manager', 'supervisor', 'nobody']",
                     id="value-not-in-values"),
        pytest.param('{level: 2, notify: manager}', '{level: 2, notify: boss}', 15,
                     "row 'big' gives output 'notify' the value 'boss'; allowed: ['manager', "
                     "'supervisor', 'nobody']", id="value-not-in-values-no-suggestion"),
        pytest.param('{level: 2, notify: manager}', '{level: 2.5, notify: manager}', 15,
                     "row 'big' gives output 'level' the value 2.5; allowed: int",
                     id="wrong-output-type"),
        pytest.param('{level: 2, notify: manager}', '{level: "2", notify: manager}', 15,
                     "row 'big' gives output 'level' the value '2'; allowed: int",
                     id="quoted-number-output"),
        pytest.param('{level: 2, notify: manager}', '{level: 2}', 15,
                     "row 'big' does not set output 'notify'", id="missing-output"),
        pytest.param("    then: {level: 0, notify: nobody}\n", "    then: nothing\n", 21,
                     "row 'rest' needs 'then:', a mapping of outputs to values",
                     id="then-not-a-mapping"),
        pytest.param("    then: {level: 0, notify: nobody}\n", "    description: none\n", 20,
                     "row 'rest' needs 'then:', a mapping of outputs to values",
                     id="then-missing"),
        pytest.param('    when: {since: "< 2020-01-01"}\n', "    when: [since]\n", 17,
                     "row 'old': 'when' maps inputs to tests, e.g. {revenue_share: '>= 0.2'}",
                     id="when-not-a-mapping"),
        pytest.param("  - id: rest\n    then: {level: 0, notify: nobody}\n",
                     "  - id: rest\n    then: {level: 0, notify: nobody}\n  - just text\n", 22,
                     "each rule is a mapping with id, when (or if) and then",
                     id="rule-not-a-mapping"),
        pytest.param("hit: first\n", "hit: first\ndefault: yes\n", 5,
                     "'default' can only be 'none' (say that a first table may match no row); "
                     "a default row is a last rule with no when/if", id="default-not-none"),
    ],
)
def test_row_problems(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert_problems(tmp_path, edit(old, new), (line, message))


def test_unparsable_cell_in_a_flow_mapping_over_lines(tmp_path: Path) -> None:
    text = edit('    when: {amount: ">= 100", tier: "gold, silver"}\n',
                '    when:\n      amount: ">= 100"\n      tier: "gold silver"\n')
    assert_problems(tmp_path, text,
                    (16, "row 'big' cell tier: 'gold silver': put gold silver in quotes to "
                         "compare it as text"))


@pytest.mark.parametrize("row_id", ["Old", "old row", "-old", "5", "''"])
def test_row_ids(tmp_path: Path, row_id: str) -> None:
    shown = {"5": "5", "''": "''"}.get(row_id, repr(row_id))
    assert_problems(tmp_path, edit("  - id: old\n", f"  - id: {row_id}\n"),
                    (16, f"every rule needs an 'id' of lower-case letters, digits, - and _, "
                         f"not {shown}"),
                    (28, "test 'rows' names unknown rows ['old'] (rows: big, rest)"))


def test_missing_row_id_is_reported_at_the_row(tmp_path: Path) -> None:
    assert_problems(tmp_path, edit("  - id: old\n    when:", "  - when:"),
                    (16, "every rule needs an 'id' of lower-case letters, digits, - and _, "
                         "not None"),
                    (27, "test 'rows' names unknown rows ['old'] (rows: big, rest)"))


def test_duplicate_row_ids(tmp_path: Path) -> None:
    assert_problems(tmp_path, edit("  - id: old", "  - id: big"),
                    (16, "row id 'big' is used twice (first at line 13); give each row its own "
                         "id"),
                    (28, "test 'rows' names unknown rows ['old'] (rows: big, rest)"))


@pytest.mark.parametrize("rules", ["rules: []", "rules: {}", "rules: big", "rules:"])
def test_rules_must_be_a_non_empty_list(tmp_path: Path, rules: str) -> None:
    start = BASE.index("rules:\n")
    text = BASE[:start] + f"{rules}\n" + BASE[BASE.index("tests:\n"):]
    found = problems(tmp_path, text)
    assert found[0] == f"{tmp_path / 'table.yaml'}:12: 'rules' must be a non-empty list of rows"
    assert all("names unknown rows" in p for p in found[1:])


def test_first_table_without_a_default_row(tmp_path: Path) -> None:
    text = edit("  - id: rest\n    then: {level: 0, notify: nobody}\n", "")
    assert_problems(tmp_path, text.replace("    rows: [rest]\n", ""),
                    (12, "a 'first' table needs a last row that matches everything (no "
                         "when/if), or 'default: none' to say no row may match"))


def test_first_table_with_default_none(tmp_path: Path) -> None:
    text = edit("  - id: rest\n    then: {level: 0, notify: nobody}\n", "")
    text = text.replace("hit: first\n", "hit: first\ndefault: none\n")
    text = text.replace("    expect: {level: 0, notify: nobody}\n    rows: [rest]\n",
                        "    expect: {level: null}\n    rows: []\n")
    spec = load_table_file(write(tmp_path, text))
    assert [r.failure for r in run_tests(spec)] == [None, None, None]


@pytest.mark.parametrize("hit", ["unique", "any", "priority", "collect", "rule_order"])
def test_only_first_tables_need_a_default_row(hit: str) -> None:
    text = edit("  - id: rest\n    then: {level: 0, notify: nobody}\n", "")
    text = text.replace("hit: first", f"hit: {hit}")
    text = text[:text.index("tests:")]
    assert load_table_text(text, "t.yaml").hit == hit


def test_a_default_row_before_others_shadows_them(tmp_path: Path) -> None:
    text = edit("  - id: big\n", "  - id: early\n    when: {tier: '-'}\n"
                                 "    then: {level: 0, notify: nobody}\n  - id: big\n")
    assert_problems(tmp_path, text,
                    (13, "row 'early' matches everything, so the rows after it never match "
                         "(big, old, rest)"))


def test_a_row_with_only_dash_cells_is_a_default_row() -> None:
    text = edit("  - id: rest\n", "  - id: rest\n    when: {amount: '-', tier: ' - '}\n")
    rest = load_table_text(text, "t.yaml").rows[-1]
    assert rest.cells == ()


@pytest.mark.parametrize("hit", ["unique", "collect"])
def test_a_catch_all_row_may_come_first_in_other_tables(hit: str) -> None:
    text = COLLECT.replace("hit: collect", f"hit: {hit}") + \
        "  - id: two\n    when: {x: 2}\n    then: {points: 2}\n"
    assert [r.id for r in load_table_text(text, "t.yaml").rows] == ["one", "two"]


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = (BASE.replace("version: 1", "version: 0")
            .replace('">= 100"', '">= lots"')
            .replace("{level: 0, notify: nobody}", "{level: 0, notify: nobdy}"))
    assert_problems(tmp_path, text,
                    (2, "'version' must be a whole number >= 1, not 0"),
                    (14, "row 'big' cell amount: cell '>= lots': 'lots' is not a double"),
                    (21, "row 'rest' gives output 'notify' the value 'nobdy'; did you mean "
                         "'nobody'?; allowed: ['manager', 'supervisor', 'nobody']"))


# --- tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param("{amount: 150, tier: gold, since: 2024-01-01}",
                     "{amount: 150, tier: gold, since: 2024-01-01, tierr: x}", 23,
                     "test gives undeclared input 'tierr'; did you mean 'tier'?",
                     id="unknown-input"),
        pytest.param("{amount: 150, tier: gold, since: 2024-01-01}",
                     "{amount: 150, tier: gold, since: 2024-01-01, zzz: x}", 23,
                     "test gives undeclared input 'zzz'", id="unknown-input-no-suggestion"),
        pytest.param("    expect: {level: 2}\n", "    expect: {levle: 2}\n", 24,
                     "test expects undeclared output 'levle'; did you mean 'level'?",
                     id="unknown-output"),
        pytest.param("    rows: [big]\n", "    rows: [bigg]\n", 25,
                     "test 'rows' names unknown rows ['bigg'] (rows: big, old, rest)",
                     id="unknown-row"),
        pytest.param("    rows: [big]\n", "    rows: [big, nope, rest]\n", 25,
                     "test 'rows' names unknown rows ['nope'] (rows: big, old, rest)",
                     id="one-unknown-row"),
        pytest.param("    rows: [big]\n", "    rows: {big: 1}\n", 25,
                     "test 'rows' must be a list of row ids, such as [big], not {'big': 1}",
                     id="rows-mapping"),
        pytest.param("{amount: 150, tier: gold, since: 2024-01-01}", "[1]", 23,
                     "test 'given' must map inputs to values", id="given-not-a-mapping"),
        pytest.param("    expect: {level: 2}\n", "    expect: [{level: 2}]\n", 24,
                     "test 'expect' must be a mapping of outputs", id="expect-list"),
        pytest.param("    expect: {level: 2}\n", "    expect: 2\n", 24,
                     "test 'expect' must be a mapping of outputs", id="expect-scalar"),
        pytest.param("    expect: {level: 2}\n", "", 23,
                     "each test needs 'given' (inputs) and 'expect' (outputs)",
                     id="no-expect"),
        pytest.param("since: 2024-01-01}", "since: yesterday}", 23,
                     "test input 'since': 'yesterday' is not a date and time (ISO 8601, "
                     "e.g. 2026-03-01T09:30:00Z)", id="bad-timestamp"),
        pytest.param("since: 2024-01-01}", "since: 2024-01-01T10:00:00}", 23,
                     "test input 'since': datetime.datetime(2024, 1, 1, 10, 0) has no "
                     "time zone; add Z or +HH:MM", id="naive-timestamp"),
    ],
)
def test_test_problems(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert_problems(tmp_path, edit(old, new), (line, message))


@pytest.mark.parametrize("entry", ["  - 5\n", "  - given: {amount: 1}\n",
                                   "  - expect: {level: 1}\n"])
def test_each_test_needs_given_and_expect(tmp_path: Path, entry: str) -> None:
    assert_problems(tmp_path, BASE + entry,
                    (32, "each test needs 'given' (inputs) and 'expect' (outputs)"))


def test_tests_must_be_a_list(tmp_path: Path) -> None:
    text = BASE[:BASE.index("tests:\n")] + "tests: {given: {}}\n"
    assert_problems(tmp_path, text, (22, "'tests' must be a list of {given, expect, rows}"))


def test_test_values_are_converted_for_their_input_types() -> None:
    text = edit("  since: timestamp\n", "  since: timestamp\n  wait: duration\n")
    text = text.replace("since: 2024-01-01}", "since: '2024-03-01T10:00:00+01:00', wait: 2h}")
    text = text.replace("since: 2019-06-01}", "since: 2019-06-01T08:00:00Z, wait: 90}")
    text = text.replace("since: null}", "since: null, wait: null}")
    spec = load_table_text(text, "t.yaml")
    assert spec.tests[0].given["since"] == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert spec.tests[0].given["wait"].total_seconds() == 7200
    assert spec.tests[1].given["since"] == datetime(2019, 6, 1, 8, tzinfo=UTC)
    assert spec.tests[1].given["wait"].total_seconds() == 90
    assert spec.tests[2].given["wait"] is None
    assert [r.failure for r in run_tests(spec)] == [None, None, None]


@pytest.mark.parametrize(
    ("expect", "line", "message"),
    [
        ("[{points: 1}, 5]", 13, "test 'expect' must be a list of output mappings"),
        ("5", 13, "test 'expect' must be a list of output mappings: this table gives every "
                  "matching row"),
        ("[{pointz: 1}]", 13, "test expects undeclared output 'pointz'; did you mean 'points'?"),
    ],
)
def test_collect_tests_expect_a_list(tmp_path: Path, expect: str, line: int,
                                     message: str) -> None:
    text = COLLECT + f"tests:\n  - given: {{x: 1}}\n    expect: {expect}\n"
    assert_problems(tmp_path, text, (line, message))


def test_collect_tests_with_a_list_and_aggregate_tests_with_a_mapping() -> None:
    text = COLLECT + "tests:\n  - given: {x: 1}\n    expect: [{points: 1}]\n    rows: [one]\n"
    spec = load_table_text(text, "t.yaml")
    assert spec.tests[0].expect == [{"points": 1}]
    assert [r.failure for r in run_tests(spec)] == [None]
    text = COLLECT.replace("hit: collect", "hit: collect\naggregate: sum") + \
        "tests:\n  - given: {x: 1}\n    expect: {points: 1}\n"
    spec = load_table_text(text, "t.yaml")
    assert spec.tests[0].expect == {"points": 1}
    assert [r.failure for r in run_tests(spec)] == [None]


# --- effective dates -----------------------------------------------------------------------

def test_effective_dates(tmp_path: Path) -> None:
    spec = load_table_file(write(tmp_path, BASE + "effective: {from: 2026-01-01, until: "
                                                  "2027-01-01}\n"))
    assert (spec.effective_from, spec.effective_until) == (date(2026, 1, 1), date(2027, 1, 1))
    spec = load_table_text(BASE + "effective:\n  from: 2026-01-01\n", "t.yaml")
    assert (spec.effective_from, spec.effective_until) == (date(2026, 1, 1), None)
    spec = load_table_text(BASE + "effective: {until: 2026-01-01}\n", "t.yaml")
    assert (spec.effective_from, spec.effective_until) == (None, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("effective", "line", "message"),
    [
        ("effective: {from: 2026-01-01, until: 2025-01-01}", 32,
         "effective 'until' must come after 'from'"),
        ("effective: {from: 2026-01-01, until: 2026-01-01}", 32,
         "effective 'until' must come after 'from'"),
        ("effective:\n  from: 2026-01-01\n  until: 2025-12-31", 34,
         "effective 'until' must come after 'from'"),
        ("effective: {from: 2026-01-01, until: soon}", 32,
         "effective 'until' must be a date (YYYY-MM-DD), not 'soon'"),
        ("effective:\n  from: 2026-01-01T10:00:00Z", 33,
         "effective 'from' must be a date (YYYY-MM-DD), not datetime.datetime(2026, 1, 1, 10, "
         "0, tzinfo=datetime.timezone.utc)"),
        ("effective:\n  from: '2026-01-01'", 33,
         "effective 'from' must be a date (YYYY-MM-DD), not '2026-01-01'"),
        ("effective: 2026-01-01", 32, "'effective' takes {from: DATE, until: DATE}"),
        ("effective: {from: 2026-01-01, to: 2027-01-01}", 32,
         "'effective' takes {from: DATE, until: DATE}"),
    ],
)
def test_effective_problems(tmp_path: Path, effective: str, line: int, message: str) -> None:
    assert_problems(tmp_path, BASE + effective + "\n", (line, message))


# --- the shipped tables --------------------------------------------------------------------

def test_every_shipped_table_is_checked() -> None:
    assert {p.name for p in RULES} >= {"complaint_escalation.yaml", "complaint_routing.yaml",
                                       "complaint_sla.yaml", "customer_tier.yaml"}


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_shipped_tables_load_and_pass_their_tests_with_full_coverage(path: Path) -> None:
    spec = load_table_file(path)
    assert spec.name == path.stem
    assert spec.path == str(path)
    assert spec.tests
    failures = [r.failure for r in run_tests(spec) if r.failure is not None]
    assert failures == []
    assert coverage(spec) == []
    # every test names the rows it expects, so a reordering of rows cannot pass unnoticed
    assert all(t.rows is not None for t in spec.tests)


def test_shipped_tables_are_loaded_identically_from_text() -> None:
    for path in RULES:
        text = path.read_text(encoding="utf-8")
        assert load_table_text(text, "x.yaml").content_hash == \
            load_table_file(path).content_hash


# --- bugs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", ["5", "[[big]]", "[{big: 1}]", "true"])
def test_test_rows_of_the_wrong_shape_are_problems_not_crashes(tmp_path: Path,
                                                               rows: str) -> None:
    found = problems(tmp_path, edit("    rows: [big]\n", f"    rows: {rows}\n"))
    assert found == [f"{tmp_path / 'table.yaml'}:25: " + found[0].split(":25: ", 1)[1]]


def test_test_rows_given_as_a_string(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, edit("    rows: [big]\n", "    rows: big\n"))
    assert "'b', 'i', 'g'" not in problem


def test_a_bad_test_value_names_its_input(tmp_path: Path) -> None:
    text = edit("  since: timestamp\n", "  since: timestamp\n  wait: duration\n")
    text = text.replace("since: 2024-01-01}", "since: 2024-01-01, wait: soon}")
    assert_problems(tmp_path, text, (24, "test input 'wait': 'soon' is not a duration (e.g. 90m, "
                                         "4h, 1h30m, or seconds)"))


@pytest.mark.parametrize("cell", ["{amout: '>= 100'}", "{amount: '>= lots'}"])
def test_a_broken_cell_does_not_make_its_row_a_default_row(tmp_path: Path, cell: str) -> None:
    text = edit('{amount: ">= 100", tier: "gold, silver"}', cell)
    [problem] = problems(tmp_path, text)
    assert ":14: row 'big' " in problem


def test_a_collect_test_expecting_a_mapping_is_a_problem(tmp_path: Path) -> None:
    text = COLLECT + "tests:\n  - given: {x: 1}\n    expect: {points: 1}\n"
    assert_problems(tmp_path, text, (13, "test 'expect' must be a list of output mappings: "
                                         "this table gives every matching row"))


@pytest.mark.parametrize("wait", ["1.0e+300", ".nan", ".inf", "99999999999999999999999"])
def test_an_impossible_duration_in_a_test_is_a_problem(tmp_path: Path, wait: str) -> None:
    text = edit("  since: timestamp\n", "  since: timestamp\n  wait: duration\n")
    text = text.replace("since: 2024-01-01}", f"since: 2024-01-01, wait: {wait}}}")
    problems(tmp_path, text)


@pytest.mark.parametrize(("old", "new"), [
    ('"< 2020-01-01"', '"< 0001-01-01T00:00:00+01:00"'),
    ('">= 100"', "1" + "0" * 400),
])
def test_overflowing_cells_are_problems(tmp_path: Path, old: str, new: str) -> None:
    problems(tmp_path, edit(old, new))
