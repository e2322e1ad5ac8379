"""`gen-ci import` on the command line: the report, --compare, located errors, and -o."""

from __future__ import annotations

import shutil

from generator.commands import import_ as command
from generator.pipeline import compile_spec
from tests.conftest import ROOT, invoke

FIXTURES = ROOT / "tests" / "fixtures" / "import" / "github"


def test_the_report_names_each_step_it_could_not_carry_with_its_line():
    result = invoke("import", str(FIXTURES / "plain-docker.yml"))
    assert result.exit_code == 0, result.stderr
    assert "plain-docker.yml:29: not carried over: step 'Tell the team': a script gen-ci does not model — you may run it" in result.stderr
    assert "plain-docker.yml:31: not carried over: job image: step Deploy (acme/deploy-action)" in result.stderr
    assert "assumed: the default branch is main" in result.stderr
    assert "gen-ci adds (on purpose)" in result.stderr and "* a vulnerability scan gates every push" in result.stderr
    assert result.stdout.startswith("# Written by gen-ci import from ") and "repository: ghcr.io/acme/tool" in result.stdout


def test_compare_marks_what_only_the_original_publishes_and_exits_1(tmp_path):
    workflow = tmp_path / "ci.yml"
    text = (FIXTURES / "metadata-two-registries.yml").read_text()
    workflow.write_text(text.replace("push: ${{ github.event_name != 'pull_request' }}", "push: true"))
    result = invoke("import", str(workflow), "--compare")
    assert result.exit_code == 1, result.stderr
    assert "not carried over: pushing from pull requests" in result.stderr
    row = result.stderr[result.stderr.index("pr:main"):].splitlines()
    assert row[0].split() == ["pr:main", "-", "docker.io/acme/shop:pr-1"]
    assert "push:main             = docker.io/acme/shop:main" in result.stderr
    assert "difference" in result.stderr.splitlines()[-1]


def test_compare_agrees_on_the_metadata_example(tmp_path):
    result = invoke("import", str(FIXTURES / "metadata-two-registries.yml"), "--compare")
    assert result.exit_code == 0, result.stderr
    rows = result.stderr[result.stderr.index("event "):].splitlines()[1:-1]
    assert rows and all(row[22:24] == "= " for row in rows), rows
    assert "tag:v1.1.1            = docker.io/acme/shop:1" in result.stderr


def test_malformed_yaml_is_a_located_error_without_a_traceback(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text("on: push\njobs:\n  build: [unclosed\n")
    result = invoke("import", str(broken))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"gen-ci: {broken}:") and "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_workflow_that_builds_nothing_says_so_where(tmp_path):
    empty = tmp_path / "ci.yml"
    empty.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n")
    result = invoke("import", str(empty))
    assert result.exit_code == 2
    assert f"{empty}:2:1: no step builds an image" in result.stderr


def test_a_missing_file_and_a_missing_reader_are_located_errors(tmp_path, monkeypatch):
    assert invoke("import", str(tmp_path / "nope.yml")).stderr == f"gen-ci: {tmp_path / 'nope.yml'}:1:1: no such file\n"
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text("build:\n  script: [docker build .]\n")
    monkeypatch.setitem(command.READERS, "gitlab", ("generator.importing.no_such_reader", "read"))
    result = invoke("import", str(gitlab))
    assert result.exit_code == 2
    assert result.stderr == f"gen-ci: {gitlab}:1:1: importing gitlab files is not available in this gen-ci (generator.importing.no_such_reader is missing)\n"


def test_output_is_written_whole_and_validates_and_an_existing_file_is_kept(tmp_path):
    source = tmp_path / "docker.yml"
    shutil.copy(FIXTURES / "metadata-two-registries.yml", source)
    spec = tmp_path / "gen-ci.yml"
    result = invoke("import", str(source), "-o", str(spec))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {spec}" in result.stderr
    _, model = compile_spec(spec)  # what gen-ci check and plan load
    assert [r.spelled for r in model.images[0].registries] == ["docker.io/acme/shop", "ghcr.io/acme/shop"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker.yml", "gen-ci.yml"]  # no temporary file left
    before = spec.read_text()
    spec.write_text("mine\n")
    refused = invoke("import", str(source), "-o", str(spec))
    assert refused.exit_code == 2 and "exists" in refused.stderr and spec.read_text() == "mine\n"
    forced = invoke("import", str(source), "-o", str(spec), "--force")
    assert forced.exit_code == 0 and spec.read_text() == before
    assert (tmp_path / "gen-ci.yml.bak").read_text() == "mine\n"
    assert invoke("import", str(source), "-o", str(source)).exit_code == 2


def test_an_invalid_import_is_a_bug_and_writes_nothing(tmp_path, monkeypatch):
    source = tmp_path / "docker.yml"
    shutil.copy(FIXTURES / "metadata-two-registries.yml", source)
    real = command.read

    def broken(files, platform):
        chosen, imported = real(files, platform)
        imported.spec["images"][0]["tags"] = ["lastest"]
        return chosen, imported

    monkeypatch.setattr(command, "read", broken)
    result = invoke("import", str(source), "-o", str(tmp_path / "spec.yml"))
    assert result.exit_code == 3
    assert "the imported spec does not validate" in result.stderr and "GC118" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker.yml"]


def test_the_readme_shows_import_as_it_runs(tmp_path, monkeypatch):
    import re
    import subprocess

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Adopting an existing pipeline\n"):text.index("## One example per platform\n")]
    workflow, spec = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert workflow == (FIXTURES / "metadata-two-registries.yml").read_text()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "docker.yml").write_text(workflow)
    (command_line,) = re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)
    result = invoke(*command_line.split()[1:])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "gen-ci.yml").read_text().split("\n", 1)[1] == spec
    shown = re.findall(r"```text\n(.*?)```", section, re.DOTALL)[0]
    assert all(line in result.stderr.splitlines() for line in shown.splitlines() if line.strip() != "...")


def test_compare_on_a_gen_ci_output_says_why_its_side_is_not_read_apart(tmp_path):
    lines = (ROOT / "golden" / "scenario-01-two-registries" / "github.yml").read_text().splitlines(keepends=True)
    workflow = tmp_path / "ci.yml"
    workflow.write_text("".join(lines[3:]))
    result = invoke("import", str(workflow), "--compare")
    assert result.exit_code == 0, result.stderr
    assert "push:main             ? the original's side cannot be read here: a workflow gen-ci rendered" in result.stderr
    assert "                      ? ghcr.io/acme/service:edge" in result.stderr
