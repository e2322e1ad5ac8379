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
