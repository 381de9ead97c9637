"""CEL expressions: compiled once at load time, checked against the variables they may see.

The CEL library reports which top-level variables an expression uses, but not which members
(`case.severity`). A small lexer finds those member references and the variables that macros
bind (`items.all(i, i > 0)`), so that a misspelt field is a load-time error, not a run-time one,
and so that evaluation passes CEL only the members an expression reads (much faster than
passing whole records). No user text is ever given to eval or exec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel

from engine.kernel.errors import ExpressionError
from engine.kernel.yaml_source import known_list, suggest

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TOKEN = re.compile(
    # raw strings (r"..") have no escapes, so a backslash before their closing quote is literal
    r"""(?P<string>(?:[bB]?[rR]|[rR][bB])('''.*?'''|\"\"\".*?\"\"\"|'[^']*'|"[^"]*")"""
    r"""|[bB]?('''.*?'''|\"\"\".*?\"\"\"|'(\\.|[^'\\])*'|"(\\.|[^"\\])*"))"""
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>\d+(\.\d*)?([eE][+-]?\d+)?[uU]?)"
    r"|(?P<punct>\S)",
    re.DOTALL,
)

# Which variables an expression may read, and for each, the member names it has.
# None means the members are not known at load time and are not checked.
Scope = Mapping[str, frozenset[str] | None]


@dataclass(frozen=True)
class Expression:
    """A compiled CEL expression with the variables and members it reads."""

    source: str
    program: Any
    members: Mapping[str, frozenset[str]]  # root variable -> members it reads (may be empty)
    path: tuple[str, str] | None = None  # set when the whole expression is `root.member`

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        if self.path is not None:  # `actor.name`, `customer.tier`: a lookup, no CEL call
            root, member = self.path
            found = variables.get(root)
            if isinstance(found, Mapping) and member in found:
                return found[member]
        try:
            return self.program.execute(dict(variables))
        except Exception as exc:  # the CEL runtime raises many types; all mean "this failed"
            raise ExpressionError(f"expression '{self.source}' failed: {_reason(exc)}") from None

    def reads(self, root: str) -> bool:
        return root in self.members


class ExpressionProblem(Exception):
    """A CEL expression that cannot be compiled or reads something that does not exist."""


def compile_expression(source: str, scope: Scope) -> Expression:
    """Compile `source`; raise ExpressionProblem if it is malformed or reads unknown names."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionProblem("an expression must be a non-empty string")
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        raise ExpressionProblem(f"'{source}' is not valid CEL: {_first_line(exc)}") from None
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(source)]
    bound = _bound_variables(tokens)
    roots = [name for name in program.references()["variables"] if name not in bound]
    for root in roots:
        if root not in scope:
            raise ExpressionProblem(
                f"'{source}' reads unknown variable '{root}'{suggest(root, scope)} "
                f"(expressions see {known_list(scope)})"
            )
    members: dict[str, set[str]] = {root: set() for root in roots}
    for root, member in _member_references(tokens, bound):
        known = scope.get(root)
        if known is not None and member not in known:
            raise ExpressionProblem(
                f"'{source}' reads {root}.{member}, but {root} has no '{member}'"
                f"{suggest(member, known)} (it has {known_list(known)})"
            )
        members.setdefault(root, set()).add(member)
    path = None
    if [kind for kind, _ in tokens] == ["ident", "punct", "ident"] and tokens[1][1] == ".":
        path = (tokens[0][1], tokens[2][1])
    return Expression(source, program, {k: frozenset(v) for k, v in members.items()}, path)


def _bound_variables(tokens: list[tuple[str | None, str]]) -> set[str]:
    """Variables introduced by macros: the `i` of `xs.all(i, ...)`."""
    bound = set()
    for i in range(len(tokens) - 4):
        dot, name, paren, var, comma = tokens[i : i + 5]
        if (dot[1], paren[1], comma[1]) == (".", "(", ",") and name[1] in _MACROS \
                and var[0] == "ident":
            bound.add(var[1])
    return bound


def _member_references(tokens: list[tuple[str | None, str]],
                       bound: set[str]) -> list[tuple[str, str]]:
    """(root, member) pairs for `root.member` where root is a variable, not a method call."""
    found = []
    for i in range(len(tokens) - 2):
        (kind, root), (_, dot), (member_kind, member) = tokens[i : i + 3]
        if kind != "ident" or dot != "." or member_kind != "ident" or root in bound:
            continue
        if i > 0 and tokens[i - 1][1] == ".":
            continue  # a member of a member: only the first level is checked
        if i + 3 < len(tokens) and tokens[i + 3][1] == "(":
            continue  # root.method(...)
        found.append((root, member))
    return found


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no value for {exc.args[0]!r}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
