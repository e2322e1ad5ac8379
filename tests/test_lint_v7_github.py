"""gen-ci lint v7 on GitHub workflows, from the holdout4 measurement: depot's build actions (GH005,
GH010), a remote reusable workflow told to push (GH005), buildx channels (GH004), builds inside local
composite actions (GH010), TLS left to the dind image's default (GH003 as a warning), secrets given
to env under any name (GH024), and the repository's own push scripts (GH005)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import Finding
from tests.conftest import ROOT
from tests.test_lint import _expected
from tests.test_lint_v4_follow import _found

FIXTURES = ROOT / "tests" / "fixtures" / "lint" / "v7-github"
REPO = FIXTURES / "repo" / ".github" / "workflows"
# The files given to the lint; a called workflow's or action's markers hold when read from its caller.
ENTRIES = [*sorted(FIXTURES.glob("*.yml")), REPO / "publish.yml", REPO / "ci.yml"]


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)


def test_every_fixture_fires():
    assert all(_found(path) for path in ENTRIES)


def _lint(tmp_path: Path, workflow: str) -> list[Finding]:
    path = tmp_path / "ci.yml"
    path.write_text(textwrap.dedent(workflow))
    return lint(read_pipeline(path))


def _one_job(tmp_path: Path, lines: list[str], top: str = "permissions: {}") -> list[Finding]:
    """The findings of a workflow with one job `a`, its lines given at the job's indentation."""
    body = "".join(f"    {line}\n" for line in lines)
    return _lint(tmp_path, f"on: push\n{top}\njobs:\n  a:\n{body}")


# GH003: plain TCP stays an error; TLS resting on the image's default is the milder warning.

def test_tls_from_the_image_default_is_a_warning_on_the_image_line():
    findings = [f for f in lint(read_pipeline(FIXTURES / "dind-defaults.yml")) if f.rule == "GH003"]
    assert [(f.line, f.level) for f in findings] == [(11, "warning"), (38, "error"), (48, "error")]
    assert "DOCKER_TLS_CERTDIR is not set" in findings[0].message and "plain TCP" in findings[1].message


@pytest.mark.parametrize(("service", "expected"), [
    (["image: docker:27.3.1-dind", "ports: ['2375:2375']"], [("GH003", "warning")]),
    (["image: docker:27.3.1-dind", "ports: ['2376:2376']"], [("GH003", "warning")]),
    (["image: docker:27.3.1-dind", "env: {DOCKER_TLS_CERTDIR: /certs}", "ports: ['2375:2375']"], []),
    (["image: docker:27.3.1-dind"], []),
    (["image: acme/ci-dind:1.0", "ports: ['2375:2375']"], [("GH003", "error")]),
    (["image: acme/ci-dind:1.0", "ports: ['2376:2376']"], []),
])
def test_dind_service_tls(tmp_path, service, expected):
    lines = ["runs-on: ubuntu-24.04", "timeout-minutes: 5", "services:", "  docker:", *(f"    {line}" for line in service),
             "steps: [{run: echo hi}]"]
    assert [(f.rule, f.level) for f in _one_job(tmp_path, lines) if f.rule == "GH003"] == expected


def test_a_tcp_docker_host_reaches_the_service_too(tmp_path):
    lines = ["runs-on: ubuntu-24.04", "timeout-minutes: 5", "container: node:22.11.0", "env: {DOCKER_HOST: 'tcp://docker:2376'}",
             "services: {docker: {image: 'docker:27.3.1-dind'}}", "steps: [{run: echo hi}]"]
    assert [(f.rule, f.line, f.level) for f in _one_job(tmp_path, lines)] == [("GH003", 9, "warning")]


# GH005: a remote reusable workflow, with and without the credentials to push.

@pytest.mark.parametrize(("top", "credentials", "fires"), [
    ("permissions: {}", "permissions: {packages: write}", True),
    ("permissions: {}", "permissions: {id-token: write}", True),
    ("permissions: {}", "permissions: write-all", True),
    ("permissions: {}", "secrets: {token: '${{ secrets.HUB_TOKEN }}'}", True),
    ("", "", True),  # none set: the repository's default may let the token write packages
    ("permissions: {}", "permissions: {packages: read}", False),
    ("permissions: {}", "permissions: read-all", False),
])
def test_a_remote_workflow_pushes_with_credentials_only(tmp_path, top, credentials, fires):
    lines = ["uses: acme/builder/.github/workflows/build.yml@v1", credentials, "with: {push: '${{ inputs.publish }}'}"]
    findings = _one_job(tmp_path, lines, top)
    assert [(f.rule, f.line, f.job) for f in findings] == ([("GH005", 7, "a")] if fires else [])
    assert all("acme/builder/.github/workflows/build.yml@v1" in f.message for f in findings)


# GH010: depot's build actions, and builds inside a local composite action.

@pytest.mark.parametrize(("uses", "fires"), [
    ("depot/build-push-action@v1", True),
    ("depot/bake-action@v1", True),
    ("depot/setup-action@v1", False),
])
def test_depot_builds_need_a_timeout(tmp_path, uses, fires):
    assert [f.rule for f in _one_job(tmp_path, ["runs-on: ubuntu-24.04", f"steps: [{{uses: {uses}}}]"])] == (["GH010"] if fires else [])


# GH024: the secret a variable holds, whatever the variable is called.

def test_a_variable_set_from_a_secret_is_named_with_its_secret():
    findings = [f for f in lint(read_pipeline(FIXTURES / "secret-env.yml")) if f.rule == "GH024"]
    assert findings[0].message.startswith("e2e: $CYPRESS_KEY (set from ${{ secrets.CYPRESS_KEY }}) is passed")


def test_the_job_token_under_another_name_is_a_warning(tmp_path):
    workflow = """\
        on: push
        permissions: {}
        jobs:
          a:
            runs-on: ubuntu-24.04
            steps:
              - env:
                  GH: ${{ secrets.GITHUB_TOKEN }}
                run: release-tool --auth "$GH"
        """
    assert [(f.rule, f.level) for f in _lint(tmp_path, workflow)] == [("GH024", "warning")]
