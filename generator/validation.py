"""Check a loaded spec against the JSON Schema and say, per problem, what is allowed."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from typing import Any

from generator.diagnostics import Diagnostic, SpecError
from generator.loading import LoadedSpec
from generator.resources import data_dir, schema_path

YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false", "True", "False"}


@cache
def spec_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text(encoding="utf-8"))


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: Any, choices: list[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _placeholder_hint(value: Any) -> str:
    """For a tag template: the {name} outside the vocabulary, and the nearest that is in it."""
    from generator.tagging import PLACEHOLDERS

    if not isinstance(value, str):
        return ""
    # docker/metadata-action's names, and other names users bring, for what they mean here.
    synonyms = {"branch": "ref", "tag": "ref", "sha": "sha7", "short_sha": "sha7", "commit": "sha40", "semver": "version"}
    for name in re.findall(r"\{([^{}]*)\}", value):
        if name not in PLACEHOLDERS:
            close = [synonyms[name]] if name in synonyms else difflib.get_close_matches(name, PLACEHOLDERS, n=1, cutoff=0.6)
            return f"; {{{name}}} is not in the vocabulary" + (f": did you mean {{{close[0]}}}?" if close else f" ({', '.join(PLACEHOLDERS)})")
    return ""


def _describe(error: Any) -> tuple[str, str, bool]:
    """(code, message, at_key) for one jsonschema error."""
    kind, value, schema = error.validator, error.instance, error.schema
    expected = schema.get("description", "")
    if kind == "additionalProperties":
        return "GC010", "", True  # expanded per key by the caller
    if kind == "required":
        return "GC014", error.message.replace("is a required property", "is required but missing"), False
    if kind == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(types)
        hint = ""
        if "boolean" in types and isinstance(value, str) and value in YAML11_BOOLEANS:
            hint = f"; gen-ci reads YAML 1.2, where {value} is a string: write true or false"
        if wanted == "integer" and isinstance(value, float) and value.is_integer():
            hint = f"; YAML reads this spelling as a decimal number: write {int(value)}"
        return "GC011", f"expected {wanted}, got {type(value).__name__} {_short(value)}{hint}", False
    if kind in ("enum", "const"):
        choices = error.validator_value if kind == "enum" else [error.validator_value]
        listed = ", ".join(json.dumps(c) for c in choices)
        return "GC012", f"{_short(value)} is not allowed; use one of: {listed}{did_you_mean(value, [str(c) for c in choices])}", False
    if kind == "pattern":
        return "GC013", f"{_short(value)} is not a valid value here ({expected or 'must match ' + error.validator_value}){_placeholder_hint(value)}", False
    if kind == "propertyNames":
        return "GC013", f"key {_short(value)} is not a valid name here", True
    return "GC015", f"{_short(value)}: {error.message.split(' is ', 1)[-1] if ' is ' in error.message else error.message}", False


@cache
def pins_schema() -> dict[str, Any]:
    return json.loads((data_dir("schemas") / "pins.schema.json").read_text(encoding="utf-8"))


def validate_schema(loaded: LoadedSpec, schema: dict[str, Any] | None = None) -> None:
    from generator.schemacheck import quickly_valid

    schema = schema or spec_schema()
    if quickly_valid(loaded.data, schema):
        return  # jsonschema (and its import) only for specs with something to explain
    from jsonschema import Draft202012Validator, validators

    integers = Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    validator = validators.extend(Draft202012Validator, type_checker=integers)(schema)
    found: list[Diagnostic] = []
    for error in validator.iter_errors(loaded.data):
        path = tuple(error.absolute_path)
        code, message, at_key = _describe(error)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed)):
                hint = did_you_mean(key, allowed) or f"; allowed keys: {', '.join(allowed)}"
                found.append(loaded.diagnostic((*path, key), "GC010", f"unknown key {key!r}{hint}", key=True))
            continue
        if error.validator == "propertyNames":
            path = (*path, error.instance)
        found.append(loaded.diagnostic(path, code, message, key=at_key))
    if found:
        raise SpecError(found)
