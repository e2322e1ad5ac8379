"""gen-ci lint v8, from the holdout5 measurement: a local composite action's logins, secret arguments
and socket mounts (GH008, GH024, GH025) are read as its steps run, and a GitLab file kept below the
repository root (a template library's entry) finds its `include: local` paths from that root."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from tests.conftest import ROOT
from tests.test_lint import _expected
from tests.test_lint_v4_follow import _found

FIXTURES = ROOT / "tests" / "fixtures" / "lint" / "v8"
WORKFLOW = FIXTURES / "repo" / ".github" / "workflows" / "ci.yml"
LIBRARY = FIXTURES / "library" / "templates" / "all.yml"


@pytest.mark.parametrize("path", [WORKFLOW, LIBRARY], ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)
    assert _found(path)


def test_an_actions_finding_is_reported_once_in_the_action_with_every_job_it_reaches():
    findings = {f.rule: f for f in lint(read_pipeline(WORKFLOW))}
    assert findings["GH008"].file.endswith("actions/publish/action.yml")
    assert "(affects 2 jobs)" in findings["GH008"].message
    assert "(affects 2 jobs)" in findings["GH025"].message


def test_an_input_filled_from_a_secret_is_named_with_the_secret_it_holds():
    (finding,) = [f for f in lint(read_pipeline(WORKFLOW)) if f.rule == "GH024"]
    assert "${{ inputs.api-token }} (set from ${{ secrets.DEPLOY_KEY }})" in finding.message
    # Only the job that fills it from a secret: the nightly job passes a plain value.
    assert "affects" not in finding.message and finding.message.startswith("release:")


def test_the_library_entry_reads_its_include_from_the_repository_root(capsys):
    pipeline = read_pipeline(LIBRARY)
    assert str(FIXTURES / "library" / "templates" / "docker.yml") in [str(Path(f).resolve()) for f in pipeline.files]
    assert not pipeline.not_followed


def test_without_a_root_marker_the_working_directory_is_the_root(tmp_path, monkeypatch):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "entry.yml").write_text("include:\n  - local: ci/jobs.yml\n")
    (tmp_path / "ci" / "jobs.yml").write_text("build:\n  image: docker:latest\n  timeout: 10m\n  script:\n    - docker build .\n")
    monkeypatch.chdir(tmp_path)
    assert [f.rule for f in lint(read_pipeline(Path("ci/entry.yml")))] == ["GL001"]
    # Run from elsewhere, the path is not found, and says so; nothing outside is read.
    monkeypatch.chdir(tmp_path / "ci")
    pipeline = read_pipeline(Path("entry.yml"))
    assert pipeline.not_followed == ["local ci/jobs.yml (not found)"]


def test_a_path_found_from_the_files_own_directory_is_still_read_from_there(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "entry.yml").write_text("include:\n  - local: jobs.yml\n")
    (tmp_path / "sub" / "jobs.yml").write_text("build:\n  image: alpine:latest\n  script: [make]\n")
    (tmp_path / "jobs.yml").write_text("other:\n  image: alpine:3.20\n  script: [make]\n")
    monkeypatch.chdir(tmp_path)
    assert [(f.rule, Path(f.file).name) for f in lint(read_pipeline(Path("sub/entry.yml")))] == [("GL001", "jobs.yml")]
    assert [f.line for f in lint(read_pipeline(Path("sub/entry.yml")))] == [2]


def test_each_unscanned_image_of_a_job_is_its_own_finding():
    path = FIXTURES / "push-per-image.gitlab-ci.yml"
    assert _found(path) == _expected([str(path)])


def test_own_registry_path_and_regex_branch_rules():
    path = FIXTURES / "own-registry-and-regex-refs.gitlab-ci.yml"
    findings = lint(read_pipeline(path))
    assert _found(path) == _expected([str(path)])
    levels = {f.job: f.level for f in findings if f.rule == "GL007"}
    assert levels == {"promote": "warning", "promote-any": "error"}
    assert "only on branch main, release" in next(f.message for f in findings if f.job == "promote")


@pytest.mark.parametrize("command", ["./gradlew :app:dockerPushImage", "mvn -B dockerfile:push"])
def test_build_tool_pushes_count_in_gitlab_and_github(tmp_path, command):
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text(f"publish:\n  image: eclipse-temurin:21-jdk\n  timeout: 20m\n  script:\n    - {command}\n")
    assert {f.rule for f in lint(read_pipeline(gitlab))} == {"GL007", "GL020"}
    github = tmp_path / "ci.yml"
    github.write_text(f"on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 10\n    steps:\n      - run: {command}\n")
    assert [f.rule for f in lint(read_pipeline(github))] == ["GH005"]


def test_a_build_tools_plain_build_is_no_push(tmp_path):
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text("build:\n  image: eclipse-temurin:21-jdk\n  script:\n    - ./gradlew build dockerBuildImage\n")
    assert lint(read_pipeline(gitlab)) == []


# From the holdout6 first runs: Jenkins pushes named only by a variable, a pipe inside a command
# substitution, a pod that names a scanner's image; Compose agents, variable lines and runner
# registrations; GitHub actions named for pushing an image.

def _jenkinsfile(tmp_path: Path, body: str) -> list:
    path = tmp_path / "Jenkinsfile"
    path.write_text(body)
    return [(f.rule, f.line) for f in lint(read_pipeline(path)) if f.rule == "JK020"]


def test_pushes_named_only_by_variables_are_one_finding_per_stage(tmp_path):
    body = (
        "pipeline {\n  agent any\n  stages {\n    stage('Push') {\n      steps {\n        sh '''\n"
        "          docker push ${FRONT_TAG}\n          docker push ${BACK_TAG}\n        '''\n"
        "        script { docker.image(\"${env.VER_IMAGE}\").push() }\n      }\n    }\n  }\n}\n"
    )
    assert _jenkinsfile(tmp_path, body) == [("JK020", 7)]


def test_a_pipe_in_a_command_substitution_does_not_end_the_push(tmp_path):
    body = "node {\n  stage('Release') {\n    sh \"docker buildx build -t ghcr.io/acme/app:\\$(echo ${params.TAG} | sed s/v//) --push .\"\n  }\n}\n"
    assert _jenkinsfile(tmp_path, body) == [("JK020", 3)]


def test_a_pod_naming_the_scanner_image_is_no_scan(tmp_path):
    pod = "    yaml '''\nspec:\n  containers:\n  - name: trivy\n    image: aquasec/trivy:0.56.2\n'''\n"
    before = "pipeline {\n  agent {\n    kubernetes {\n" + pod + "    }\n  }\n  stages {\n    stage('Build') {\n      steps {\n"
    push = "        sh '/kaniko/executor --context . --destination registry.example.com/app:1'\n"
    scan = "        container('trivy') { sh 'trivy image registry.example.com/app:1' }\n"
    after = "      }\n    }\n  }\n}\n"
    assert _jenkinsfile(tmp_path, before + push + after) == [("JK020", 15)]
    assert _jenkinsfile(tmp_path, before + scan + push + after) == []


def _compose(tmp_path: Path, text: str) -> list[tuple[str, int]]:
    path = tmp_path / "docker-compose.yml"
    path.write_text(textwrap.dedent(text))
    return [(f.rule, f.line) for f in lint(read_pipeline(path))]


def test_ci_agents_in_socket_mode_are_left_alone_and_a_built_agent_is_one(tmp_path):
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "Dockerfile").write_text("FROM jenkins/agent:3283.v92c105e0f819-1-jdk21\nUSER root\n")
    assert _compose(tmp_path, """\
        services:
          runner:
            image: drone/drone-runner-docker:1.8.3
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
          agent:
            image: woodpeckerci/woodpecker-agent:v2.7.1
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
          built-agent:
            build: ./agent
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
          logs:
            image: grafana/promtail:3.1.1
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock:ro
        """) == [("JK125", 17)]


def test_plain_tcp_is_reported_on_the_variables_and_ports_own_lines(tmp_path):
    assert _compose(tmp_path, """\
        services:
          dind:
            image: docker:27.3.1-dind
            privileged: true
            environment:
              DOCKER_TLS_CERTDIR: ""
            ports:
              - "8080:8080"
              - "2375:2375"
          runner:
            image: gitlab/gitlab-runner:v17.5.3
            environment:
              - TZ=UTC
              - DOCKER_HOST=tcp://dind:2375
        """) == [("JK101", 6), ("JK101", 9), ("JK101", 14)]


def test_a_runner_registered_with_an_end_of_life_job_image(tmp_path):
    assert _compose(tmp_path, """\
        services:
          register:
            image: gitlab/gitlab-runner:v17.5.3
            entrypoint:
              - sh
              - -c
              - |
                gitlab-runner register --non-interactive \\
                  --executor docker \\
                  --docker-image=docker:24-cli \\
                  --url https://gitlab.example.com
          other:
            image: gitlab/gitlab-runner:v17.5.3
            command: ["register", "--docker-image", "docker:27.3.1-cli"]
        """) == [("JK123", 10)]


@pytest.mark.parametrize(("uses", "pushes"), [
    ("redhat-actions/push-to-registry@v2", True),
    ("acme/docker-push@v1", True),
    ("redhat-actions/buildah-build@v2", False),
    ("acme/push-docs@v1", False),
])
def test_an_action_named_for_pushing_an_image_pushes_with_an_earlier_login(tmp_path, uses, pushes):
    path = tmp_path / "ci.yml"
    path.write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 10\n    steps:\n"
        f"      - uses: {uses}\n        with:\n          tags: quay.io/acme/app:1.0\n"
    )
    assert [f.rule for f in lint(read_pipeline(path)) if f.rule == "GH005"] == (["GH005"] if pushes else [])


def _gitlab(tmp_path: Path, text: str) -> list[tuple[str, int, str]]:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent(text))
    return [(f.rule, f.line, f.level) for f in lint(read_pipeline(path)) if f.rule in ("GL006", "GL022")]


def test_each_login_of_a_block_is_reported_on_its_own_line(tmp_path):
    assert _gitlab(tmp_path, """\
        login:
          image: docker:27.3.1-cli
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          script:
            - |
              docker login -u "$HUB_USER" -p "$HUB_TOKEN"
              echo "$GHCR_TOKEN" | docker login -u me --password-stdin ghcr.io
              docker login -u "$QUAY_USER" \\
                -p "$QUAY_TOKEN" quay.io
        """) == [("GL006", 7, "error"), ("GL006", 10, "error")]


def test_a_login_under_a_shell_test_of_the_ref_is_limited_as_a_rule_would_be(tmp_path):
    guarded = """\
        build:
          image: docker:27.3.1-cli
          script:
            - |
              if [ "$CI_COMMIT_REF_PROTECTED" == "true" ]; then
                echo "$HUB_TOKEN" | docker login -u me --password-stdin
              {}
        """
    assert _gitlab(tmp_path, guarded.format("fi")) == []
    # In the else branch the login runs on every other ref.
    otherwise = "else\n" + " " * 14 + 'echo "$HUB_TOKEN" | docker login -u me --password-stdin\n' + " " * 14 + "fi"
    assert _gitlab(tmp_path, guarded.format(otherwise)) == [("GL022", 4, "warning")]
