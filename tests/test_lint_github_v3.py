"""gen-ci lint on GitHub workflows, lint v3 (issue 31): what real workflows do.

Docker's own publishing patterns for GH005, BuildKit images in matrix values and append: for
GH004, job container and service images (GH009), logins (GH008), timeouts (GH010), and malformed
workflows that must never crash the linter.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.github_rules import GITHUB_RULES
from generator.lint.images import unpinned_reason as image_moves
from tests.conftest import ROOT
from tests.test_lint import _expected

FIXTURES = ROOT / "tests" / "fixtures" / "lint" / "github-v3"

# One job that builds, scans and pushes the scanned image: every test below changes one thing.
SAFE = """\
name: release
on:
  push:
    branches: [main]
permissions: {}
jobs:
  image:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v5
      - uses: docker/build-push-action@v6
        with:
          load: true
          tags: ghcr.io/acme/app:1
      - uses: aquasecurity/trivy-action@0.33.1
        with:
          image-ref: ghcr.io/acme/app:1
      - run: docker push ghcr.io/acme/app:1
"""
SCAN = """\
      - uses: aquasecurity/trivy-action@0.33.1
        with:
          image-ref: ghcr.io/acme/app:1
"""
BUILD = """\
      - uses: docker/build-push-action@v6
        with:
          load: true
          tags: ghcr.io/acme/app:1
"""


def _lint(tmp_path: Path, text: str) -> list:
    path = tmp_path / "workflow.yml"
    path.write_text(textwrap.dedent(text))
    return lint(read_pipeline(path))


def _ids(findings: list) -> list[str]:
    return sorted({f.rule for f in findings})


def _step(text: str) -> str:
    return textwrap.indent(textwrap.dedent(text), "      ")


def _with_step(step: str, *, scanned: bool = False) -> str:
    """SAFE with its build step replaced by `step`, and its scan removed unless scanned."""
    text = SAFE.replace(BUILD, _step(step))
    return text if scanned else text.replace(SCAN, "").replace("      - run: docker push ghcr.io/acme/app:1\n", "")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yml")), ids=lambda p: p.name)
def test_v3_fixture_findings_exactly(path):
    pipeline = read_pipeline(path)
    assert pipeline.kind == "github"
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline)}
    assert found == _expected(pipeline.files)


def test_the_v3_fixtures_cover_every_new_pattern():
    rules = {rule for path in FIXTURES.glob("*.yml") for (_, _, rule) in _expected([str(path)])}
    assert rules == {"GH004", "GH005", "GH008", "GH009", "GH010"}


def test_the_safe_workflow_is_quiet(tmp_path):
    assert _lint(tmp_path, SAFE) == []


def test_scanning_after_the_push_is_too_late(tmp_path):
    late = SAFE.replace(SCAN, "").replace("      - run: docker push ghcr.io/acme/app:1\n", "      - run: docker push ghcr.io/acme/app:1\n" + SCAN)
    assert _ids(_lint(tmp_path, late)) == ["GH005"]


@pytest.mark.parametrize("step", [
    # Docker's documented pattern: metadata-action's tags, pushed except on pull requests.
    """\
    - id: meta
      uses: docker/metadata-action@v5
      with:
        images: ghcr.io/acme/app
    - uses: docker/build-push-action@v6
      with:
        push: ${{ github.event_name != 'pull_request' }}
        tags: ${{ steps.meta.outputs.tags }}
    """,
    "- uses: docker/build-push-action@v6\n  with:\n    push: true\n    tags: ghcr.io/acme/app:1\n",
    "- uses: docker/build-push-action@v6\n  with:\n    push: 'true'\n    tags: ghcr.io/acme/app:1\n",
    "- uses: docker/build-push-action@v6\n  with:\n    push: ${{ inputs.publish }}\n",
    "- uses: docker/build-push-action@v6\n  with:\n    outputs: type=image,name=ghcr.io/acme/app,push-by-digest=true,name-canonical=true,push=true\n",
    "- uses: docker/build-push-action@v6\n  with:\n    outputs: type=registry\n    tags: [ghcr.io/acme/app:1, localhost:5000/app:1]\n",
    "- uses: docker/bake-action@v6\n  with:\n    push: true\n",
    "- uses: docker/bake-action@v6\n  with:\n    set: '*.output=type=registry'\n",
    "- uses: appleboy/ssh-action@v1\n  with:\n    script: docker push registry.example.com/app:1\n",
    "- uses: nick-fields/retry@v3\n  with:\n    command: docker buildx build --push -t ghcr.io/acme/app:1 .\n",
    "- run: docker buildx build --output type=registry -t ghcr.io/acme/app:1 .\n",
    "- run: docker buildx build -o type=image,name=ghcr.io/acme/app:1,push=true .\n",
    "- run: docker manifest push ghcr.io/acme/app:1\n",
    "- run: podman manifest push ghcr.io/acme/app:1\n",
    "- run: docker buildx bake --set *.output=type=registry\n",
    "- run: docker buildx imagetools create -t ghcr.io/acme/app:1 localhost:5000/app@sha256:0\n",
    "- run: docker push $IMAGE\n  env:\n    IMAGE: ghcr.io/acme/app:1\n",
    "- run: docker push ${{ matrix.image }}\n",
])
def test_every_push_form_is_seen(tmp_path, step):
    assert _ids(_lint(tmp_path, _with_step(step))) == ["GH005"]


@pytest.mark.parametrize("step", [
    "- uses: docker/build-push-action@v6\n  with:\n    push: false\n    tags: ghcr.io/acme/app:1\n",
    "- uses: docker/build-push-action@v6\n  with:\n    push: ${{ false }}\n    tags: ghcr.io/acme/app:1\n",
    "- uses: docker/build-push-action@v6\n  with:\n    load: true\n    tags: ghcr.io/acme/app:1\n",
    "- uses: docker/build-push-action@v6\n  with:\n    outputs: type=oci,dest=/tmp/app.tar\n",
    "- uses: docker/build-push-action@v6\n  with:\n    push: true\n    tags: localhost:5000/app:test\n",
    "- uses: docker/build-push-action@v6\n  with:\n    outputs: type=image,name=localhost:5000/app,push=true\n",
    # A matrix that never pushes: every value the expression can take is false.
    "- uses: docker/build-push-action@v6\n  with:\n    push: ${{ matrix.push }}\n    tags: ghcr.io/acme/app:1\n",
    """\
    - id: candidate
      uses: docker/metadata-action@v5
      with:
        images: localhost:5000/app
    - uses: docker/build-push-action@v6
      with:
        push: true
        tags: ${{ steps.candidate.outputs.tags }}
    """,
    "- run: docker push localhost:5000/app:test\n",
    "- run: buildah push app oci-archive:/tmp/app.tar\n",
    "- run: |\n    # docker push ghcr.io/acme/app:1\n    docker build -t app .\n",
    "- run: docker buildx build --push=false -t ghcr.io/acme/app:1 .\n",
    "- uses: softprops/action-gh-release@v2\n  with:\n    body: run docker push ghcr.io/acme/app:1 to publish\n",
])
def test_near_misses_are_not_pushes(tmp_path, step):
    text = _with_step(step).replace("    steps:\n", "    strategy:\n      matrix:\n        push: [false]\n    steps:\n")
    assert _lint(tmp_path, text) == []


@pytest.mark.parametrize("scan", [
    "- uses: anchore/scan-action@v6\n  with:\n    image: ghcr.io/acme/app:1\n",
    "- uses: docker/scout-action@v1\n  with:\n    command: cves\n    image: ghcr.io/acme/app:1\n",
    "- uses: snyk/actions/docker@master\n  with:\n    image: ghcr.io/acme/app:1\n",
    "- uses: crazy-max/ghaction-container-scan@v3\n  with:\n    image: ghcr.io/acme/app:1\n",
    "- run: trivy image --exit-code 1 ghcr.io/acme/app:1\n",
    "- run: grype ghcr.io/acme/app:1 --fail-on high\n",
    "- run: docker scout cves ghcr.io/acme/app:1\n",
])
def test_every_scanner_counts_as_a_scan(tmp_path, scan):
    text = SAFE.replace(SCAN, _step(scan))
    assert _lint(tmp_path, text) == []


@pytest.mark.parametrize("scan", [
    "- uses: docker/scout-action@v1\n  with:\n    command: recommendations\n    image: ghcr.io/acme/app:1\n",
    "- uses: snyk/actions/node@master\n",
])
def test_actions_that_scan_no_image_are_not_scans(tmp_path, scan):
    assert _ids(_lint(tmp_path, SAFE.replace(SCAN, _step(scan)))) == ["GH005"]


NEEDS = """\
name: release
on: push
permissions: {}
jobs:
  scan:
    JOB
  publish:
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    needs: [scan]
    steps:
      - run: docker buildx imagetools create -t ghcr.io/acme/app:1 ghcr.io/acme/app:candidate
"""


@pytest.mark.parametrize(("job", "expected"), [
    ("runs-on: ubuntu-24.04\n    timeout-minutes: 10\n    steps:\n      - run: trivy image ghcr.io/acme/app:candidate", []),
    # A called reusable workflow cannot be read here: it may scan, so the push is not flagged.
    ("uses: ./.github/workflows/scan.yml", []),
    ("uses: acme/workflows/.github/workflows/scan.yml@v1", []),
    ("runs-on: ubuntu-24.04\n    timeout-minutes: 10\n    steps:\n      - run: make test", ["GH005"]),
])
def test_scans_in_needed_jobs(tmp_path, job, expected):
    assert _ids(_lint(tmp_path, NEEDS.replace("JOB", job))) == expected


# GH004: BuildKit images resolved through matrix values, env and append: nodes.

BUILDX = """\
name: buildkit
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    strategy:
      matrix:
        buildkit: VALUES
    steps:
      - uses: docker/setup-buildx-action@v3
        with:
          INPUTS
"""


@pytest.mark.parametrize(("values", "inputs", "expected"), [
    ("[v0.23.2, latest]", "driver-opts: image=moby/buildkit:${{ matrix.buildkit }}", ["GH004"]),
    ("[v0.23.2, v0.22.0]", "driver-opts: image=moby/buildkit:${{ matrix.buildkit }}", []),
    ("${{ fromJSON(needs.plan.outputs.versions) }}", "driver-opts: image=moby/buildkit:${{ matrix.buildkit }}", []),
    ("[v0.23.2]", "append: |\n            - endpoint: tcp://arm.example.com:1234\n              driver-opts: [image=moby/buildkit:master]", ["GH004"]),
    ("[v0.23.2]", "driver-opts: |\n            image=moby/buildkit:buildx-stable-1\n            network=host", ["GH004"]),
    ("[v0.23.2]", "driver-opts: image=moby/buildkit@sha256:" + "1" * 64, []),
    ("[v0.23.2]", "driver-opts: image=moby/buildkit:v0.23.2-rootless", []),
    ("[v0.23.2]", "buildkitd-flags: --debug\n          driver-opts: image=moby/buildkit", ["GH004"]),
])
def test_buildkit_images_in_matrix_values_and_append(tmp_path, values, inputs, expected):
    assert _ids(_lint(tmp_path, BUILDX.replace("VALUES", values).replace("INPUTS", inputs))) == expected


def test_a_matrix_finding_names_only_the_moving_values(tmp_path):
    text = BUILDX.replace("VALUES", "[v0.23.2, latest, master]").replace("INPUTS", "driver-opts: image=moby/buildkit:${{ matrix.buildkit }}")
    [finding] = _lint(tmp_path, text)
    assert "moby/buildkit:latest, moby/buildkit:master" in finding.message and "v0.23.2" not in finding.message


# GH009: job container and service images.

@pytest.mark.parametrize(("reference", "moves"), [
    ("node", True), ("ubuntu:latest", True), ("docker:dind", True), ("docker:stable", True), ("node:lts", True),
    ("postgres:alpine", True), ("node:lts-bookworm", True), ("localhost:5000/app", True),
    ("debian:bookworm-slim", False), ("python:3.12-slim", False), ("ubuntu:noble", False), ("docker:29.0.1-dind", False),
    ("ghcr.io/acme/app@sha256:" + "2" * 64, False), ("ghcr.io/acme/app:latest@sha256:" + "2" * 64, False),
    ("registry.example.com:5000/team/app:1.4", False),
])
def test_which_image_tags_move(reference, moves):
    assert (image_moves(reference) is not None) == moves


def test_container_images_resolve_matrix_values_and_skip_unknown_expressions(tmp_path):
    text = """\
    on: push
    jobs:
      test:
        runs-on: ubuntu-24.04
        strategy:
          matrix:
            image: ["python:3.13.7-slim", "python:slim", ""]
        container: ${{ matrix.image }}
        services:
          db:
            image: ${{ inputs.database }}
        steps:
          - run: pytest
    """
    [finding] = _lint(tmp_path, text)
    assert (finding.rule, finding.line, finding.level) == ("GH009", 8, "warning")
    assert "python:slim" in finding.message and "3.13.7" not in finding.message


# GH010: timeouts for jobs that run a container engine.

@pytest.mark.parametrize(("job", "expected"), [
    ("steps:\n      - run: docker compose up -d --wait", ["GH010"]),
    ("steps:\n      - uses: docker/setup-buildx-action@v3", ["GH010"]),
    ("steps:\n      - uses: docker/login-action@v3", []),
    ("steps:\n      - run: VERSION=1 docker build -t app .\n        timeout-minutes: 10", ["GH010"]),
    ("timeout-minutes: ${{ inputs.minutes }}\n    steps:\n      - run: docker build -t app .", []),
    ("steps:\n      - uses: docker/metadata-action@v5", []),
    ("steps:\n      - uses: docker/bake-action/subaction/matrix@v6", []),
    ("steps:\n      - run: ls docker/ && echo docker", []),
])
def test_docker_jobs_need_a_job_timeout(tmp_path, job, expected):
    text = f"on: push\njobs:\n  job:\n    runs-on: ubuntu-24.04\n    {job}\n"
    findings = _lint(tmp_path, text)
    assert _ids(findings) == expected
    assert all(f.level == "warning" and f.line == 3 for f in findings)


def test_new_rules_state_their_levels():
    levels = {rule.id: rule.level for rule in GITHUB_RULES}
    assert levels["GH008"] == "error" and levels["GH009"] == levels["GH010"] == "warning"
    assert [rule.id for rule in GITHUB_RULES] == [f"GH{n:03}" for n in range(1, 11)]


# Malformed workflows: exit 0, 1 or 2, never a traceback or "internal error".

MALFORMED = {
    "jobs-a-number": "on: push\njobs: 3\n",
    "jobs-a-list": "on: push\njobs: [a, b]\n",
    "jobs-empty": "on: push\njobs:\n",
    "job-a-number": "on: push\njobs:\n  a: 3\n  b:\n    runs-on: x\n    steps: [{run: docker push ghcr.io/acme/app:1}]\n",
    "steps-a-string": "on: push\njobs:\n  a:\n    runs-on: x\n    steps: docker push app\n",
    "step-a-list": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - - run: docker push app\n",
    "with-a-string": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n        with: 'push: true'\n",
    "services-a-list": "on: push\njobs:\n  a:\n    runs-on: x\n    services: [docker:dind]\n    steps: []\n",
    "container-a-number": "on: push\njobs:\n  a:\n    runs-on: x\n    container: 5\n    steps: []\n",
    "on-missing": "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: docker push ghcr.io/acme/app:1\n",
    "needs-nested": "on: push\njobs:\n  a:\n    runs-on: x\n    needs: [[b], {c: 1}]\n    steps: [{run: docker push x/y}]\n",
    "matrix-odd": "on: push\njobs:\n  a:\n    runs-on: x\n    strategy: {matrix: {image: [{a: 1}, [2]], include: 3}}\n    container: ${{ matrix.image }}\n    steps: []\n",
    "env-a-list": "on: push\nenv: [A]\njobs:\n  a:\n    runs-on: x\n    env: 3\n    steps: [{run: docker push $A, env: [1]}]\n",
    "with-values-odd": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n        with: {push: [1], tags: {a: 1}, outputs: 7}\n",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_workflows_never_crash(cli, tmp_path, text):
    path = tmp_path / "workflow.yml"
    path.write_text(text)
    result = cli("lint", str(path))
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.stdout + result.stderr and "internal error" not in result.stderr


def test_jobs_that_are_not_a_mapping_get_a_located_error(cli, tmp_path):
    path = tmp_path / "workflow.yml"
    path.write_text("name: x\non: push\njobs: 3\n")
    result = cli("lint", str(path))
    assert result.exit_code == 2
    assert f"{path}:3:1: jobs: expected a mapping of job ids to jobs, found 3" in result.stderr


def test_a_workflow_without_on_is_still_read_as_a_workflow(tmp_path):
    findings = _lint(tmp_path, MALFORMED["on-missing"])
    assert {f.rule for f in findings} == {"GH005", "GH010"}


def _nodes(node: Any, path: tuple = ()) -> list[tuple]:
    """The path to every mapping value and list item in a read workflow."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    out = []
    for key, value in items:
        out += [(*path, key), *_nodes(value, (*path, key))]
    return out


BAD_VALUES = [3, "text", None, [], [[1]], {}, {"x": [1]}]


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yml")), ids=lambda p: p.name)
def test_no_node_of_any_shape_crashes_a_rule(fixture):
    """Every node of every fixture replaced in turn by values of other shapes: the rules skip what
    they cannot read, they never raise."""
    pipeline = read_pipeline(fixture)
    original = pipeline.root
    paths = _nodes(original)
    assert len(paths) > 20
    for path in paths:
        for bad in BAD_VALUES:
            root = copy.deepcopy(original)
            holder = root
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = bad
            pipeline.root = root
            lint(pipeline)


def test_sarif_carries_the_warning_level_of_the_new_rules(cli):
    result = cli("lint", "--format", "sarif", *map(str, sorted(FIXTURES.glob("*.yml"))))
    levels = {(r["ruleId"], r["level"]) for r in json.loads(result.stdout)["runs"][0]["results"]}
    assert {("GH009", "warning"), ("GH010", "warning"), ("GH005", "error"), ("GH008", "error")} <= levels
    assert not {rule for rule, level in levels if rule in ("GH009", "GH010") and level != "warning"}


CANDIDATE_PUSH = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - id: registry
        run: |
          address="{address}"
          printf '%s\\n' "repository=$address/app" >> "$GITHUB_OUTPUT"
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ${{{{ steps.registry.outputs.repository }}}}:candidate
"""


@pytest.mark.parametrize("address, pushes", [
    ('localhost:$(docker port "$NAME-registry" 5000/tcp | sed "s/.*://")', False),
    ("localhost:5000", False),
    ("ghcr.io/acme", True),
])
def test_a_push_named_by_a_run_steps_output_is_read_from_that_step(tmp_path, address, pushes):
    workflow = tmp_path / "ci.yml"
    workflow.write_text(CANDIDATE_PUSH.format(address=address))
    assert ("GH005" in {f.rule for f in lint(read_pipeline(workflow))}) is pushes
