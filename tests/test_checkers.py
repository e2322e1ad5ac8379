"""Independent checkers, run for real on every golden output: zero findings."""

from __future__ import annotations

import pytest

from tests.conftest import gitlab_scripts, golden_outputs, run_tool

GITHUB = golden_outputs("github")
GITLAB = golden_outputs("gitlab")


def _ok(result) -> None:
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


def test_there_are_goldens_to_check():
    assert len(GITHUB) >= 5 and len(GITLAB) >= 5


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.parent.name)
def test_github_schema(path):
    _ok(run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)))


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.parent.name)
def test_gitlab_schema(path):
    _ok(run_tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)))


def test_actionlint_with_shellcheck():
    result = run_tool("actionlint", "-no-color", *map(str, GITHUB))
    _ok(result)
    assert result.stdout == ""


@pytest.mark.parametrize("persona", ["pedantic", "auditor"])
def test_zizmor(persona):
    result = run_tool("zizmor", "--offline", "--no-progress", "--persona", persona, *map(str, GITHUB))
    _ok(result)
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_really_runs_shellcheck(tmp_path):
    # Guards the guard: if shellcheck were missing, actionlint would pass scripts silently.
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $1 $(ls *.txt)\n"
    )
    result = run_tool("actionlint", "-no-color", str(workflow))
    assert result.returncode == 1
    assert "shellcheck reported issue" in result.stdout


def test_zizmor_really_audits(tmp_path):
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = run_tool("zizmor", "--offline", "--no-progress", "--persona", "auditor", str(workflow))
    assert result.returncode != 0
    assert "template-injection" in result.stdout


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.parent.name)
def test_gitlab_scripts_pass_shellcheck(path, tmp_path):
    """actionlint runs shellcheck on GitHub's run: scripts; this does the same for GitLab's."""
    scripts = gitlab_scripts(path, tmp_path)
    assert scripts
    _ok(run_tool("shellcheck", "--shell=sh", *scripts))
