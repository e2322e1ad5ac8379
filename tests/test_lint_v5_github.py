"""lint v5 on GitHub workflows: scripts that no shell reads, `${{ }}` expressions as single words,
image tags after an expression, and secrets handed on through step outputs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.github_rules import _literal_tag_unpinned, _run_output, runs_shell
from generator.lint.shell_words import one_word_expressions, secret_references
from tests.conftest import ROOT
from tests.test_lint import _expected
from tests.test_lint_github_v3 import _lint

V5 = ROOT / "tests" / "fixtures" / "lint" / "v5"
FIXTURES = sorted(V5.glob("*.yml"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    pipeline = read_pipeline(path)
    assert pipeline.kind == "github"
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline)}
    assert found == _expected(pipeline.files)


def test_the_fixtures_cover_every_changed_rule():
    rules = {rule for path in FIXTURES for (_, _, rule) in _expected([str(path)])}
    assert rules == {"GH005", "GH009", "GH024"}


# --- which scripts a shell reads ------------------------------------------------------------------

@pytest.mark.parametrize(("shell", "is_shell"), [
    (None, True), ("bash", True), ("sh -e {0}", True), ("pwsh", True), ("powershell", True), ("cmd", True),
    ("/usr/bin/bash --noprofile --norc -eo pipefail {0}", True), ("${{ matrix.shell }}", True),
    ("python", False), ("node {0}", False), ("perl {0}", False), ("ruby {0}", False),
])
def test_a_step_shell_decides_whether_its_script_is_shell(shell, is_shell):
    step = {"run": "x"} if shell is None else {"run": "x", "shell": shell}
    assert runs_shell(step) is is_shell


def test_defaults_give_the_shell_nearest_first():
    workflow = {"defaults": {"run": {"shell": "python"}}}
    job = {"defaults": {"run": {"shell": "bash"}}}
    assert runs_shell({"run": "x"}, workflow) is False
    assert runs_shell({"run": "x"}, workflow, job) is True
    assert runs_shell({"run": "x", "shell": "python"}, workflow, job) is False


def test_a_python_step_still_pushes_and_logs_in_through_the_commands_it_hands_a_shell(tmp_path):
    """A python script is no shell, but `os.system('docker push ...')` runs one: GH005 and GH008 read
    engine commands in any script, while GH024 stops reading its lines as commands."""
    findings = _lint(tmp_path, """\
        on: push
        jobs:
          publish:
            runs-on: ubuntu-24.04
            timeout-minutes: 30
            steps:
              - shell: python
                run: |
                  import os
                  KEY = '${{ secrets.SIGNING_KEY }}'
                  os.system('docker login -u ci -p $REGISTRY_PASSWORD registry.example.com')
                  os.system('docker push registry.example.com/app:1')
        """)
    assert sorted(f.rule for f in findings) == ["GH005", "GH008"]


# --- expressions as one word ------------------------------------------------------------------------

def test_an_expression_is_one_word_whatever_operators_it_holds():
    text = one_word_expressions("build --tag a/${{ inputs.staging && 'x' || 'y' }}:1 --push .")
    assert "&&" not in text and "||" not in text
    assert len(text.split()) == 5


def test_an_expression_keeps_a_plain_name_and_the_secret_it_reads():
    assert one_word_expressions("${{ secrets.NPM_TOKEN }}") == "${{secrets.NPM_TOKEN}}"
    assert secret_references(one_word_expressions("x ${{ secrets.A_TOKEN || secrets.B_TOKEN }}")) == ["secrets.A_TOKEN"]
    assert one_word_expressions("${{ format('{0}', github.sha) }}") == "${{expression}}"


def test_a_hyphenated_workflow_secret_is_read_and_its_username_is_not():
    assert secret_references("${{ secrets.npm-token }} ${{ secrets.registry-username }}") == ["secrets.npm-token"]


# --- GH009: the tag after an expression ---------------------------------------------------------------

@pytest.mark.parametrize(("image", "moves"), [
    ("ghcr.io/${{ github.repository }}/dind", True),
    ("ghcr.io/${{ github.repository }}/dind:latest", True),
    ("${{ vars.MIRROR }}/node:lts", True),
    ("ghcr.io/${{ github.repository }}/dind:27.3.1", False),
    ("ghcr.io/acme/app:${{ inputs.tag }}", False),
    ("${{ inputs.image }}", False),
    ("ghcr.io/${{ github.repository }}/app@${{ inputs.digest }}", False),
])
def test_only_the_last_path_part_decides_the_tag(image, moves):
    assert bool(_literal_tag_unpinned(image)) is moves


# --- GH024: secrets through step outputs, and where a finding is ---------------------------------

def test_a_run_step_output_is_read_in_both_of_its_forms():
    step = {"run": textwrap.dedent("""\
        echo "args<<END" >> $GITHUB_OUTPUT
        echo "A=1" >> $GITHUB_OUTPUT
        echo "B=${{ secrets.B_TOKEN }}" >> $GITHUB_OUTPUT
        echo "END" >> $GITHUB_OUTPUT
        echo "args=C=${{ secrets.C_TOKEN }}" >> $GITHUB_OUTPUT
        echo "other=D" >> $GITHUB_OUTPUT
        """)}
    assert _run_output(step, "args") == ["A=1", "B=${{ secrets.B_TOKEN }}", "C=${{ secrets.C_TOKEN }}"]
    assert _run_output(step, "other") == ["D"]


def test_each_command_of_a_block_is_reported_on_the_line_naming_its_secret(tmp_path):
    findings = _lint(tmp_path, """\
        on: push
        jobs:
          deploy:
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  echo start
                  deploy-tool --api-key ${{ secrets.API_KEY }}
                  echo between
                  curl -u ci:${{ secrets.DEPLOY_PASSWORD }} https://deploy.example.com/
        """)
    assert [(f.rule, f.line) for f in findings] == [("GH024", 8), ("GH024", 10)]
