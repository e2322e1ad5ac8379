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
    errors = (ROOT / "docs" / "errors.md").read_text()
    for code, (name, _) in CODES.items():
        assert f'<a id="{name}"></a>' in errors and f"**{code} {name}**" in errors, code


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


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_every_example_in_the_readme_renders_every_target(tmp_path, monkeypatch):
    import re
    import subprocess

    from tests.conftest import invoke

    examples = re.findall(r"```yaml\n(.*?)```", _section(README, "One example per platform"), re.S)
    assert len(examples) == 3, "one example per platform"
    shapes = re.findall(r"```yaml\n(.*?)```", _section(README, "Whole pipelines"), re.S)
    assert shapes, "the pipeline shapes show their specs"
    platforms = []
    for index, example in enumerate(examples + shapes):
        project = tmp_path / f"project{index}"
        project.mkdir()
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        monkeypatch.chdir(project)
        (project / "gen-ci.yml").write_text(example)
        result = invoke("sync")
        assert result.exit_code == 0, result.stderr
        assert invoke("check", "--strict").exit_code == 0
        platforms.append(re.search(r"targets: \{(\w+):", example).group(1))
    assert platforms[:3] == ["github", "gitlab", "jenkins"]


def test_the_quickstart_runs_as_shown(tmp_path, monkeypatch):
    import re
    import shlex
    import subprocess

    from tests.conftest import invoke

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    (block,) = re.findall(r"```sh\n(.*?)```", _section(README, "Quickstart"), re.S)
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands[0].startswith("gen-ci init --yes")
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "gen-ci", command
        result = invoke(*words[1:])
        assert result.exit_code == 0, (command, result.stderr)
    assert (tmp_path / ".github" / "workflows" / "ci.yml").is_file()


def test_every_command_the_readme_lists_exists(cli):
    import re

    for name in re.findall(r"^\| `gen-ci (\w+)", _section(README, "Commands"), re.M):
        if name != "SPEC":
            assert cli(name, "--help").exit_code == 0, name


def test_links_in_the_readme_and_docs_lead_somewhere():
    import re

    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor and linked.suffix == ".md":
                text = linked.read_text()
                headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}
                assert anchor in headings or f'id="{anchor}"' in text, f"{page.name}: {target}"
