"""An engine's rule-file schema, generated from its settings model: the rule shape is written once.

The model says everything a content author needs, in one place: each field's type and bounds, its
``Field(description=..., examples=...)`` (which editors show on hover and offer on completion), and,
where JSON Schema says more than the Python type (a naming pattern on a mapping's keys), a
``json_schema_extra``. From it this module makes the draft-07 schema that rule files are checked
against before they are built into the model, so every problem lands at ``file:line:col``, and that
``profiler-rules schema`` prints and ``profiler-rules init`` writes for editors.

The schema is self-contained and plain: nested models are written in place rather than referenced
(draft-07 ignores the siblings of a ``$ref``, so a field's own description would be lost), only the
top has a title, and a mapping's keys and values are ``propertyNames`` and ``additionalProperties``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")
_MAX_DEPTH = 64  # nested models are written in place, so a model that contains itself can not be


class _RuleFileSchema(GenerateJsonSchema):
    """pydantic's schema generator, told how rule files are described."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        # A field's title would repeat its key ("Gap Cutoff" for gap_cutoff); editors show the description.
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # A rule file leaves an optional setting out; it never writes null (``below: ~`` is reported).
        return self.generate_inner(schema["schema"])

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # pydantic turns a pattern on the keys into patternProperties, which lets keys that break the
        # pattern through unchecked; a rule file's keys are checked by propertyNames instead.
        json_schema: JsonSchemaValue = {"type": "object"}
        keys = self.generate_inner(schema["keys_schema"]).copy() if "keys_schema" in schema else {}
        keys.pop("title", None)
        if keys.get("type") == "string":
            keys.pop("type")
        if keys:
            json_schema["propertyNames"] = keys
        values = self.generate_inner(schema["values_schema"]).copy() if "values_schema" in schema else {}
        values.pop("title", None)
        json_schema["additionalProperties"] = values or True
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.object)
        return json_schema


@functools.cache
def settings_schema(model: type[BaseModel]) -> Mapping[str, Any]:
    """The draft-07 JSON Schema of a rule file whose settings ``model`` builds, made once per model.

    :raises ValueError: when pydantic can not describe the model in JSON Schema (a field of a type
        with no JSON form), naming the reason.
    """
    try:
        generated = model.model_json_schema(schema_generator=_RuleFileSchema, mode="validation")
    except Exception as error:  # noqa: BLE001 - pydantic's errors for undescribable types vary; all mean one thing
        # pydantic's own errors end with a link after a blank line: a problem is one line.
        reason = str(getattr(error, "message", None) or error).strip().partition("\n")[0]
        raise ValueError(f"its settings model {model.__name__} has no JSON Schema: {reason}") from None
    definitions = generated.pop("$defs", {})
    body = _in_place(generated, definitions, 0)
    return {"$schema": DRAFT_07, **body}


def _unwrapped(text: str) -> str:
    """A docstring's text as one line per paragraph: its line breaks are the source's, not the author's."""
    return _LINE_BREAK.sub(" ", text)


def _in_place(node: Any, definitions: Mapping[str, Any], depth: int) -> Any:
    """``node`` with every ``$ref`` replaced by what it refers to (its siblings win), and no titles
    below the top."""
    if isinstance(node, list):
        return [_in_place(item, definitions, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if depth > _MAX_DEPTH:
        raise ValueError("its settings model contains itself; a rule file's shape must be finite")
    if isinstance(node.get("$ref"), str):
        name = node["$ref"].rpartition("/")[2]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        node = {**definitions[name], **siblings}
    found: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and depth > 0:
            continue
        if key == "description" and isinstance(value, str):
            found[key] = _unwrapped(value)
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            found[key] = {name: _in_place(item, definitions, depth + 1) for name, item in value.items()}
        elif key == "default" and value is None:
            continue  # the default of a setting left out, not a value to write
        elif key in ("default", "examples", "enum", "const"):
            found[key] = value  # values, not schemas
        else:
            found[key] = _in_place(value, definitions, depth + 1)
    return found
