"""The OpenAPI schema of a request body that refuses unknown fields says so.

Every body of the API is a web.api.common.Body, which msgspec decodes with
forbid_unknown_fields: a field the schema does not name is a 422. Litestar's own struct plugin
leaves `additionalProperties` out, which in JSON Schema allows any other field; schemathesis
found the API refusing bodies its schema allows (issue 20). This plugin, ahead of Litestar's,
writes `additionalProperties: false` for such structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema


class ClosedBodies(StructSchemaPlugin):
    """Structs decoded with forbid_unknown_fields: their schema allows no other property."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not super().is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        return isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields

    def to_openapi_schema(self, field_definition: FieldDefinition,
                          schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
