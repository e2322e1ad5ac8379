"""The README and docs tell the truth about the code."""

from __future__ import annotations

from generator.diagnostics import CODES
from generator.specdoc import spec_reference
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    lines = [line for line in README.splitlines()[:6] if line.startswith("python3 -m venv")]
    assert len(lines) == 2, "the README starts with the install and the test command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert lines[1] in ci.splitlines()


def test_readme_renders_a_golden_spec():
    first = README.splitlines()[3]
    spec = first.rsplit(" ", 1)[-1]
    assert (ROOT / spec).is_file()


def test_every_error_code_is_documented():
    for code, (name, _) in CODES.items():
        assert f"**{code} {name}**" in README, code


def test_spec_reference_is_current():
    assert (ROOT / "docs" / "spec.md").read_text() == spec_reference(), "run: python -m generator.specdoc > docs/spec.md"


def test_spec_reference_lists_every_key():
    from generator.validation import spec_schema

    text = spec_reference()
    for key in spec_schema()["properties"]:
        assert f"| `{key}` |" in text
    for key in spec_schema()["$defs"]["image"]["properties"]:
        assert f"| `images[].{key}` |" in text


def _properties(schema, path="$"):
    for key, sub in schema.get("properties", {}).items():
        yield f"{path}.{key}", sub
        yield from _properties(sub, f"{path}.{key}")


def test_schema_is_closed_and_documented():
    from generator.validation import spec_schema

    schema = spec_schema()
    nodes = [("$", schema), *_properties(schema), *(
        (f"$defs.{name}.{key}", sub) for name, node in schema["$defs"].items() for key, sub in node.get("properties", {}).items()
    ), *((f"$defs.{name}", node) for name, node in schema["$defs"].items())]
    for path, node in nodes:
        assert node.get("description"), f"{path} has no description"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} is open"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
