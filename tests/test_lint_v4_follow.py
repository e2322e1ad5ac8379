"""gen-ci lint follows what a CI file names in its own repository: GitHub's local reusable
workflows and composite actions (GH005 where the push is written), Jenkins pod files named by
`yamlFile` (the inline pod checks), and GitHub job images given through expressions (GH009)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from generator.lint.document import github_base, read_pipeline
from generator.lint.engine import lint
from tests.conftest import ROOT
from tests.test_lint import _expected

FIXTURES = ROOT / "tests" / "fixtures" / "lint" / "v4-follow"
# The files given to the lint; what they call is read through them, and its `# expect:` markers hold
# only when read from there (a called workflow audited alone cannot know its inputs).
ENTRIES = [
    FIXTURES / "gh-fires" / ".github" / "workflows" / "ci-release.yml",
    FIXTURES / "gh-quiet" / ".github" / "workflows" / "ci-release.yml",
    FIXTURES / "container-expressions.yml",
    FIXTURES / "jenkins-pods" / "Jenkinsfile",
    FIXTURES / "jenkins-pods" / "quiet.Jenkinsfile",
]


def _found(path: Path) -> set[tuple[str, int, str]]:
    return {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(read_pipeline(path))}


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)


def test_the_quiet_fixtures_are_quiet_and_the_others_are_not():
    assert _found(ENTRIES[1]) == set() and _found(ENTRIES[4]) == set()
    assert {rule for path in (ENTRIES[0], ENTRIES[2], ENTRIES[3]) for (_, _, rule) in _found(path)} == {"GH005", "GH009", "JK001", "JK004", "JK023", "JK025"}


# --- GitHub: local reusable workflows and composite actions ----------------------------------------


def test_a_workflow_in_dot_github_workflows_has_its_repository_root_above_it(tmp_path):
    assert github_base(tmp_path / ".github" / "workflows" / "ci.yml") == tmp_path
    assert github_base(tmp_path / "ci" / "release.yml") == tmp_path / "ci"  # elsewhere: its own directory, as a GitLab file


def test_the_called_files_are_read_and_listed(tmp_path):
    pipeline = read_pipeline(ENTRIES[0])
    names = sorted(os.path.relpath(path, FIXTURES / "gh-fires") for path in pipeline.files)
    assert names == [".github/actions/build-image/action.yml", ".github/actions/publish/action.yml", ".github/workflows/build.yml",
                     ".github/workflows/ci-release.yml", ".github/workflows/lint.yml", ".github/workflows/loop.yml"]
    assert pipeline.not_followed == []


def test_a_push_in_a_called_workflow_names_the_caller(tmp_path):
    finding = next(f for f in lint(read_pipeline(ENTRIES[0])) if f.file.endswith("build.yml"))
    assert finding.rule == "GH005" and finding.line == 17
    assert "image:" in finding.message and "called at .github/workflows/ci-release.yml:10" in finding.message


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path / ".github" / "workflows" / "ci.yml"


CALLER = """\
    on: push
    permissions: {}
    jobs:
      release:
        uses: ./.github/workflows/build.yml
        with:
          push: %s
"""
CALLEE = """\
    on:
      workflow_call:
        inputs:
          push:
            type: boolean
    permissions: {}
    jobs:
      build:
        runs-on: ubuntu-24.04
        timeout-minutes: 20
        steps:
          - uses: docker/build-push-action@v6
            with:
              push: ${{ inputs.push }}
              tags: ghcr.io/acme/app:1
"""


@pytest.mark.parametrize(("given", "pushes"), [
    ("true", True),
    ("false", False),
    ("${{ github.ref == 'refs/heads/main' }}", True),  # may be true
    ("${{ matrix.push }}", True),  # no matrix to read: may be true
])
def test_the_callers_inputs_decide_whether_the_called_workflow_pushes(tmp_path, given, pushes):
    entry = _repo(tmp_path, {".github/workflows/ci.yml": CALLER % given, ".github/workflows/build.yml": CALLEE})
    assert [f.rule for f in lint(read_pipeline(entry)) if f.rule == "GH005"] == (["GH005"] if pushes else [])


def test_an_input_neither_given_nor_defaulted_is_false_for_a_boolean(tmp_path):
    caller = "on: push\npermissions: {}\njobs:\n  release:\n    uses: ./.github/workflows/build.yml\n"
    entry = _repo(tmp_path, {".github/workflows/ci.yml": caller, ".github/workflows/build.yml": CALLEE})
    assert [f for f in lint(read_pipeline(entry)) if f.rule == "GH005"] == []


def test_a_scan_in_a_job_the_caller_needs_covers_the_called_workflow(tmp_path):
    caller = (CALLER % "true").replace("      release:\n", "      scan:\n        runs-on: ubuntu-24.04\n        timeout-minutes: 5\n"
                                         "        steps:\n          - run: trivy image ghcr.io/acme/app:1\n      release:\n        needs: scan\n")
    entry = _repo(tmp_path, {".github/workflows/ci.yml": caller, ".github/workflows/build.yml": CALLEE})
    assert [f for f in lint(read_pipeline(entry)) if f.rule == "GH005"] == []


def test_a_remote_reusable_workflow_is_left_alone(tmp_path):
    caller = (CALLER % "true").replace("./.github/workflows/build.yml", "acme/shared/.github/workflows/build.yml@v1")
    entry = _repo(tmp_path, {".github/workflows/ci.yml": caller})
    pipeline = read_pipeline(entry)
    assert pipeline.local == {} and pipeline.not_followed == [] and lint(pipeline) == []


def test_a_symlink_out_of_the_repository_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    (outside / "publish").mkdir(parents=True)
    (outside / "publish" / "action.yml").write_text("runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: docker push ghcr.io/acme/app:1\n")
    workflow = "on: push\npermissions: {}\njobs:\n  p:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n    steps:\n      - uses: ./.github/actions/publish\n"
    entry = _repo(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    (tmp_path / "repo" / ".github" / "actions").mkdir()
    (tmp_path / "repo" / ".github" / "actions" / "publish").symlink_to(outside / "publish")
    pipeline = read_pipeline(entry)
    assert pipeline.not_followed == ["uses ./.github/actions/publish (outside the repository)"]
    assert lint(pipeline) == []


def test_a_called_file_that_is_not_yaml_is_a_located_error(tmp_path, cli):
    entry = _repo(tmp_path, {".github/workflows/ci.yml": CALLER % "true", ".github/workflows/build.yml": "jobs: [\n"})
    result = cli("lint", str(entry))
    assert result.exit_code == 2 and "build.yml:2:1: not valid YAML" in result.stderr, result.stderr


def test_one_push_two_callers_is_one_finding_counting_both(tmp_path):
    caller = (CALLER % "true") + "      again:\n        uses: ./.github/workflows/build.yml\n        with:\n          push: true\n"
    entry = _repo(tmp_path, {".github/workflows/ci.yml": caller, ".github/workflows/build.yml": CALLEE})
    findings = [f for f in lint(read_pipeline(entry)) if f.rule == "GH005"]
    assert len(findings) == 1 and findings[0].message.endswith("(affects 2 jobs)")


def test_the_caller_and_the_callee_given_together_report_the_push_once(tmp_path, cli):
    entry = _repo(tmp_path, {".github/workflows/ci.yml": CALLER % "true", ".github/workflows/build.yml": CALLEE})
    result = cli("lint", str(entry), str(entry.parent / "build.yml"))
    assert result.exit_code == 1 and result.stdout.count("GH005") == 1, result.stdout


def test_a_missing_local_action_is_listed_not_audited(cli):
    result = cli("lint", str(ENTRIES[1]))
    assert result.exit_code == 0, result.stdout
    assert "2 local workflows and actions not audited: uses ./../gh-fires/.github/actions/publish (outside the repository), " \
           "uses ./.github/actions/missing (not found)" in result.stderr


# --- Jenkins: pod files named by yamlFile ---------------------------------------------------------


def test_pod_files_are_read_from_the_repository_root_only():
    pipeline = read_pipeline(ENTRIES[4])
    assert [os.path.relpath(pod.path, FIXTURES) for pod in pipeline.pods] == ["jenkins-pods/ci/pod-safe.yaml"]
    assert pipeline.not_followed == ["yamlFile ci/missing.yaml (not found)", "yamlFile ../outside-pod.yaml (outside the repository)"]


def test_the_repository_root_can_be_given(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "Jenkinsfile").write_text("pipeline {\n  agent { kubernetes { yamlFile 'ci/pod.yaml' } }\n}\n")
    (tmp_path / "ci" / "pod.yaml").write_text("spec:\n  containers:\n    - name: a\n      image: alpine\n")
    assert read_pipeline(tmp_path / "ci" / "Jenkinsfile").pods == []  # ci/ci/pod.yaml from the file's own directory
    findings = lint(read_pipeline(tmp_path / "ci" / "Jenkinsfile", base=tmp_path))
    assert [(Path(f.file).name, f.line, f.rule) for f in findings] == [("pod.yaml", 4, "JK004")]


def test_a_pod_file_with_the_host_socket_makes_a_shell_mount_the_hosts(tmp_path):
    (tmp_path / "pod.yaml").write_text("spec:\n  volumes:\n    - name: s\n      hostPath:\n        path: /var/run/docker.sock\n")
    (tmp_path / "Jenkinsfile").write_text(
        "pipeline {\n  agent { kubernetes { yamlFile 'pod.yaml' } }\n  stages { stage('s') { steps {\n"
        "    sh 'docker run -v /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.58.1 image app:1'\n  } } }\n}\n"
    )
    found = {(Path(f.file).name, f.line) for f in lint(read_pipeline(tmp_path / "Jenkinsfile")) if f.rule == "JK025"}
    assert found == {("pod.yaml", 5), ("Jenkinsfile", 4)}


def test_the_missing_pod_file_is_a_note_not_an_error(cli):
    result = cli("lint", str(ENTRIES[4]))
    assert result.exit_code == 0 and "2 pod files not audited: yamlFile ci/missing.yaml (not found)" in result.stderr
