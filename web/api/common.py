"""What the API modules share: request bodies that refuse what they do not know, the error
body and the statuses each operation documents, and the bearer-token security scheme."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Operation,
    Reference,
    SecurityRequirement,
    SecurityScheme,
)
from msgspec import Meta, Struct

TOKEN_SCHEME = "apiToken"
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {TOKEN_SCHEME: SecurityScheme(
    type="http", scheme="bearer",
    description="An API token from `casework tokens create NAME`, sent as "
                "`Authorization: Bearer <token>`; the API acts as that user, with their roles.")}
SECURITY: list[SecurityRequirement] = [{TOKEN_SCHEME: []}]


def said(description: str | None = None, examples: list[Any] | None = None,
         **constraints: Any) -> Meta:
    """A field's Meta whose JSON Schema `constraints` (minLength=1, pattern=..., enum=[...])
    say what the engine validates, for the schema only: msgspec does not check them, so that a
    value outside them gets the engine's own answer (InvalidInput naming the field in its own
    words) rather than a decoder message. Issue 20: schemathesis found bodies the schema
    allowed refused; the schema now says it."""
    return Meta(description=description, examples=examples,
                extra_json_schema={"extra": constraints})


class Body(Struct, kw_only=True, forbid_unknown_fields=True):
    """A JSON request body: an unknown key is an error (a typo must not be ignored), and no
    text may hold a NUL character (PostgreSQL cannot store one). The JSON decoder already
    refuses lone surrogate escapes."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            where = _nul_in(getattr(self, name), name)
            if where is not None:
                raise ValueError(f"{where} holds a NUL character (\\u0000), which casework "
                                 "cannot store")


def _nul_in(value: Any, where: str) -> str | None:
    """Where in a JSON value the first text holding NUL is, or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _nul_in(key, f"{where} (a key)") or _nul_in(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _nul_in(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


class ApiError(Struct, kw_only=True):
    """Every error the API answers with."""

    status: Annotated[int, Meta(description="The HTTP status code, repeated")]
    error: Annotated[str, Meta(description="What went wrong, where, and how to fix it")]
    field: Annotated[str | None, Meta(description="The case field that is wrong (422)")] = None
    trigger: Annotated[str | None, Meta(description="The trigger that was refused")] = None
    reason: Annotated[str | None, Meta(
        description="Why a trigger was refused: trigger, state, role, guard or field")] = None
    condition: Annotated[str | None, Meta(
        description="The guard's expression, when a guard refused (the error says it in "
                    "words)")] = None
    case: Annotated[int | None, Meta(description="The case that changed (409)")] = None
    expected_version: Annotated[int | None, Meta(
        description="The version the request expected (409)")] = None
    version: Annotated[int | None, Meta(description="The case's version now (409)")] = None
    details: Annotated[Any, Meta(
        description="What the request validation found, item by item")] = None


_MEANING = {
    401: "No API token, or one that is unknown or revoked",
    403: "The token's user holds no role that may do this",
    404: "No such case, customer or published table",
    409: "The case changed since the version the request expected; reload it and retry",
    422: "Invalid input: a malformed body, a value of the wrong type, an unknown field, "
         "trigger or table input, or a refused trigger (state or guard)",
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented error responses of an operation: 401 always, and `statuses`."""
    return {status: ResponseSpec(data_container=ApiError, description=_MEANING[status],
                                 generate_examples=False)
            for status in sorted({401, *statuses})}


@dataclass
class ApiOperation(Operation):
    """An /api operation in the schema: Litestar documents a 400 for every operation that
    validates input, but /api answers invalid input with 422 (documented instead)."""

    def __post_init__(self) -> None:
        if self.responses:
            self.responses.pop("400", None)
