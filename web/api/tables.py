"""/api/tables: evaluate the published version of a decision table, or explain it row by row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta, Struct

from engine.kernel.accounts import User
from engine.kernel.errors import RuleError
from engine.kernel.history import iso
from engine.kernel.roles import Permission
from engine.kernel.yaml_source import known_list, suggest
from engine.rules.loading import given_value
from engine.rules.tables import Decision, TableSpec, decide, explain
from web.api.common import SECURITY, ApiOperation, Body, errors
from web.areas import area, post
from web.common import casework_of, now_of

# Who may read the rules (as on the rules pages); evaluating writes nothing.
TableName = Annotated[str, PathParameter(description="The table's name, e.g. complaint_sla")]


class Inputs(Body):
    """The inputs of one evaluation."""

    inputs: Annotated[dict[str, Any], Meta(
        description="A value for every input the table declares, by name (timestamps as "
                    "ISO 8601 text, durations as seconds or text)",
        examples=[{"tier": "key", "severity": "high"}])]


class DecisionJson(Struct, kw_only=True):
    """What a table decided, and which rows decided it."""

    table: str
    version: Annotated[int, Meta(description="The published version that decided")]
    content_hash: str
    outputs: Annotated[Any, Meta(
        description="The outputs by name; a list of them for the collect and rule_order "
                    "hit policies; empty when no row matched")]
    matched: Annotated[list[str], Meta(description="The ids of the rows that decided")]


class Cell(Struct, kw_only=True):
    """One test of a row against one input."""

    input: Annotated[str, Meta(description="The input it tests (`if` for a row condition)")]
    test: Annotated[str, Meta(description="The cell as written in the table")]
    cel: Annotated[str, Meta(description="The same test in CEL")]
    value: Annotated[Any, Meta(description="The input's value")]
    result: Annotated[bool | None, Meta(
        description="Whether it held; null: not evaluated (an earlier cell failed)")]


class Row(Struct, kw_only=True):
    id: str
    matched: bool
    cells: list[Cell]


class Explanation(Struct, kw_only=True):
    """Every row with each cell's result, and the decision."""

    decision: DecisionJson
    rows: list[Row]


def _active(request: Request[User, Any, Any], name: str) -> TableSpec:
    return casework_of(request).registry.active_table(name, now_of(request))


def _inputs(table: TableSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The inputs in the types the table reads; an input it does not declare is an error."""
    for name in given:
        if name not in table.inputs:
            raise RuleError(f"{table.name} v{table.version} has no input '{name}'"
                            f"{suggest(name, table.inputs)} (inputs: "
                            f"{known_list(table.inputs)})")
    return {k: given_value(table.inputs[k], v, k) for k, v in given.items()}


def _decision(decision: Decision) -> DecisionJson:
    found = decision.to_json()
    return DecisionJson(table=found["table"], version=found["version"],
                        content_hash=found["content_hash"], outputs=found["outputs"],
                        matched=found["matched"])


@post("/{name:str}/evaluate",
      status_code=HTTP_200_OK, summary="Evaluate a decision table",
      operation_class=ApiOperation, responses=errors(403, 404, 422))
def evaluate(request: Request[User, Any, Any], name: TableName,
             data: JSONBody[Inputs]) -> DecisionJson:
    """Decide with the version published and in force now; nothing is stored."""
    table = _active(request, name)
    return _decision(decide(table, _inputs(table, data.inputs)))


@post("/{name:str}/explain",
      status_code=HTTP_200_OK, summary="Explain a decision row by row",
      operation_class=ApiOperation, responses=errors(403, 404, 422))
def explain_table(request: Request[User, Any, Any], name: TableName,
                  data: JSONBody[Inputs]) -> Explanation:
    """Every row of the version in force now, each cell true, false or not evaluated, and the
    decision they make."""
    table = _active(request, name)
    traces, decision = explain(table, _inputs(table, data.inputs))
    rows = [Row(id=t.id, matched=t.matched,
                cells=[Cell(input=c.input, test=c.test, cel=c.cel, value=_plain(c.value),
                            result=c.result) for c in t.cells]) for t in traces]
    return Explanation(decision=_decision(decision), rows=rows)


def _plain(value: Any) -> Any:
    """An input value as JSON: instants as ISO 8601 text, durations in seconds."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


ROUTER = area("/api/tables", Permission.READ_RULES, [
    evaluate, explain_table],
              tags=["tables"], security=SECURITY)
