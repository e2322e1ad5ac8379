"""A quick yes-or-no check of a spec against gen-ci's own schema, without importing jsonschema.

Importing jsonschema costs a cold render about 55 ms, and almost every spec is valid. This checks
exactly the keywords gen-ci's schemas use, as JSON Schema 2020-12 defines them; a spec it does not
pass (or a keyword it does not know) goes to jsonschema, which then says precisely what is wrong.
So it may be stricter than jsonschema, never looser: the test suite compares the two verdicts.
"""

from __future__ import annotations

import re
from typing import Any

_KNOWN = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "default", "examples",
    "type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "properties", "additionalProperties", "propertyNames", "required", "minProperties",
    "maxProperties", "items", "minItems", "maxItems", "uniqueItems",
}


class Unknown(Exception):
    """The schema uses a keyword this check does not implement."""


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        # 1.36e3 and 6e1 are floats to YAML: rendered they would read 1360.0, so they are no integers here.
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "null":
        return value is None
    raise Unknown(kind)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, and containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b or isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b


def valid(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> bool:
    root = root if root is not None else schema
    unknown = set(schema) - _KNOWN
    if unknown:
        raise Unknown(", ".join(sorted(unknown)))
    if "$ref" in schema:
        reference = schema["$ref"]
        if not reference.startswith("#/$defs/"):
            raise Unknown(reference)
        if not valid(instance, root["$defs"][reference.rsplit("/", 1)[-1]], root):
            return False
    kinds = schema.get("type")
    if kinds is not None and not any(_is_type(instance, kind) for kind in ([kinds] if isinstance(kinds, str) else kinds)):
        return False
    if "enum" in schema and not any(_same(instance, choice) for choice in schema["enum"]):
        return False
    if "const" in schema and not _same(instance, schema["const"]):
        return False
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            return False
        if len(instance) < schema.get("minLength", 0) or len(instance) > schema.get("maxLength", len(instance)):
            return False
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"] or "maximum" in schema and instance > schema["maximum"]:
            return False
    if isinstance(instance, dict):
        return _valid_object(instance, schema, root)
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0) or len(instance) > schema.get("maxItems", len(instance)):
            return False
        if schema.get("uniqueItems") and any(_same(a, b) for i, a in enumerate(instance) for b in instance[i + 1:]):
            return False
        items = schema.get("items")
        if isinstance(items, dict) and not all(valid(item, items, root) for item in instance):
            return False
    return True


def _valid_object(instance: dict[str, Any], schema: dict[str, Any], root: dict[str, Any]) -> bool:
    properties = schema.get("properties", {})
    if any(key not in instance for key in schema.get("required", [])) or len(instance) < schema.get("minProperties", 0):
        return False
    if len(instance) > schema.get("maxProperties", len(instance)):
        return False
    names = schema.get("propertyNames")
    extra = schema.get("additionalProperties", True)
    for key, value in instance.items():
        if names is not None and not valid(key, names, root):
            return False
        if key in properties:
            if not valid(value, properties[key], root):
                return False
        elif extra is False or isinstance(extra, dict) and not valid(value, extra, root):
            return False
    return True


def quickly_valid(instance: Any, schema: dict[str, Any]) -> bool:
    """True only when the instance is certainly valid; False sends it to jsonschema."""
    try:
        return valid(instance, schema)
    except (Unknown, re.error, RecursionError, TypeError):
        return False
