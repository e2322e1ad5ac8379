"""Write docs/spec.md from the JSON Schema: `python -m generator.specdoc > docs/spec.md`."""

from __future__ import annotations

import json
from typing import Any

from generator.validation import spec_schema


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}, "description": node.get("description", target.get("description", ""))}
    return node


def _code(text: str) -> str:
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _type(node: dict[str, Any], root: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(_code(str(v)) for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    kind = node.get("type", "")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = _resolve(node.get("items", {}), root)
        return f"list of {_type(items, root)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        values = _resolve(node["additionalProperties"], root)
        return f"map of {'object' if values.get('type') == 'object' else _type(values, root) or 'string'}"
    return kind


def _rows(node: dict[str, Any], root: dict[str, Any], prefix: str, required: set[str]) -> list[str]:
    rows = []
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(sub, root)
        path = f"{prefix}{key}"
        default = f"`{json.dumps(sub['default'])}`" if "default" in sub else ("required" if key in required else "")
        example = f"`{json.dumps(sub['examples'][0])}`" if sub.get("examples") else ""
        allowed = f" Pattern: {_code(sub['pattern'])}." if "pattern" in sub else ""
        rows.append(f"| `{path}` | {_type(sub, root)} | {default} | {example} | {sub.get('description', '')}{allowed} |")
        if sub.get("type") == "object" and "properties" in sub:
            rows += _rows(sub, root, path + ".", set(sub.get("required", [])))
        values = sub.get("additionalProperties")
        if sub.get("type") == "object" and isinstance(values, dict) and "properties" in values:
            rows += _rows(values, root, path + ".<key>.", set(values.get("required", [])))
        if sub.get("type") == "array":
            items = _resolve(sub.get("items", {}), root)
            if "properties" in items:
                rows += _rows(items, root, path + "[].", set(items.get("required", [])))
    return rows


def spec_reference() -> str:
    schema = spec_schema()
    lines = [
        "# Spec reference (version 1)",
        "",
        "Generated from `schemas/spec.schema.json` by `python -m generator.specdoc > docs/spec.md`; do not edit by hand.",
        "",
        schema["description"],
        "",
        "| key | type | default | example | meaning |",
        "| --- | --- | --- | --- | --- |",
        *_rows(schema, schema, "", set(schema.get("required", []))),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(spec_reference(), end="")
