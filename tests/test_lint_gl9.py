"""gen-ci lint, GitLab (holdout6 gitlab-b/-c): a template written in two includes is located where
the later one writes it, the dind client's TLS counted only for Docker clients, an empty
DOCKER_TLS_CERTDIR with a runner-supplied dind, shell functions followed to their calls, and an
engine push only in command position."""

from __future__ import annotations

import textwrap
from pathlib import Path

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import PUSHES


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _found(path: Path, *rules: str) -> list[tuple[str, str, int]]:
    return sorted((f.rule, Path(f.file).name, f.line) for f in lint(read_pipeline(path)) if f.rule in rules)


def _messages(path: Path, rule: str) -> list[tuple[int, str]]:
    return sorted((f.line, f.message) for f in lint(read_pipeline(path)) if f.rule == rule)


# 1. The same hidden template in two includes: the later one is the definition GitLab uses.

TEMPLATE = """\
    .engine:
      image: docker:{client}
      services:
        - docker:{client}-dind
      variables:
        DOCKER_TLS_CERTDIR: "{certdir}"
        DOCKER_HOST: {host}
    """


def _two_includes(tmp_path: Path, later: dict[str, str]) -> Path:
    earlier = {"client": "24.0.9", "certdir": "", "host": "tcp://docker:2375"}
    _write(tmp_path / "ci/first.yml", TEMPLATE.format(**earlier).rstrip(" ") + """\
    build:
      extends: .engine
      timeout: 10 minutes
      script:
        - docker build -t app .
    """)
    _write(tmp_path / "ci/second.yml", TEMPLATE.format(**later).rstrip(" ") + """\
    check:
      extends: .engine
      timeout: 10 minutes
      script:
        - docker run --rm alpine:3.20 true
    """)
    return _write(tmp_path / ".gitlab-ci.yml", """\
        include:
          - local: ci/first.yml
          - local: ci/second.yml
        """)


def test_a_template_written_in_two_includes_is_reported_once_where_the_later_writes_it(tmp_path):
    root = _two_includes(tmp_path, {"client": "24.0.9", "certdir": "", "host": "tcp://docker:2375"})
    assert _found(root, "GL002", "GL023") == [
        ("GL002", "second.yml", 6), ("GL002", "second.yml", 7),
        ("GL023", "second.yml", 2), ("GL023", "second.yml", 4),
    ]


def test_a_later_copy_that_fixes_the_template_is_the_one_read(tmp_path):
    root = _two_includes(tmp_path, {"client": "27.5.1", "certdir": "/certs", "host": "tcp://docker:2376"})
    assert _found(root, "GL002", "GL023") == []


# 2. A pipeline-wide dind service: only the jobs that talk to Docker are its clients.

def test_jobs_that_never_run_docker_are_no_dind_clients(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", """\
        variables:
          DOCKER_TLS_CERTDIR: "/certs"
          CLIENT_TAG: 27-cli
        services:
          - "docker:27.5.1-dind"
        lint:
          image: python:3.12-slim
          script:
            - ruff check .
        images:
          image: "docker:${CLIENT_TAG}"
          timeout: 10 minutes
          script:
            - docker build -t app .
        """)
    assert _found(path, "GL002") == []


def test_a_job_in_another_image_running_docker_without_tls_is_reported(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", """\
        variables:
          DOCKER_TLS_CERTDIR: "/certs"
        services:
          - "docker:27.5.1-dind"
        images:
          image: python:3.12-slim
          timeout: 10 minutes
          script:
            - docker build -t app .
        """)
    assert _found(path, "GL002") == [("GL002", ".gitlab-ci.yml", 4)]


# 3. An empty DOCKER_TLS_CERTDIR where the runner's configuration supplies dind.

RUNNER_DIND = """\
    .engine:
      image: docker:27.5.1-cli
      timeout: 10 minutes
      variables:
        DOCKER_TLS_CERTDIR: ""
    scan:
      extends: .engine
      script:
        - {command}
    """


def test_an_empty_certdir_in_a_template_whose_job_runs_docker_without_a_service(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", RUNNER_DIND.format(command="docker build -t app ."))
    assert _found(path, "GL002") == [("GL002", ".gitlab-ci.yml", 5)]


def test_an_empty_certdir_stays_quiet_where_no_docker_runs_or_a_socket_is_named(tmp_path):
    quiet = _write(tmp_path / "a/.gitlab-ci.yml", RUNNER_DIND.format(command="trivy fs --exit-code 1 .").replace("docker:27.5.1-cli", "alpine:3.20"))
    socket = _write(tmp_path / "b/.gitlab-ci.yml", RUNNER_DIND.format(command="docker build -t app .").replace(
        'DOCKER_TLS_CERTDIR: ""', 'DOCKER_TLS_CERTDIR: ""\n        DOCKER_HOST: unix:///var/run/docker.sock'))
    assert _found(quiet, "GL002") == []
    assert _found(socket, "GL002") == []


# 4. Shell functions a template's before_script defines and its jobs call.

FUNCTIONS = """\
    .publishing: &publishing
      image: docker:27.5.1-cli
      timeout: 10 minutes
      before_script:
        - |
          publish() {
            local image="$1" tag="$2"
            docker tag "$image:candidate" "$image:$tag"
            docker push "$image:$tag"
          }
          publish_all() {
            publish $WEB_IMAGE $1
            publish $API_IMAGE $1
          }
    variables:
      WEB_IMAGE: $CI_REGISTRY_IMAGE/web
      API_IMAGE: $CI_REGISTRY_IMAGE/api
    """


def test_a_called_shell_function_pushes_each_image_at_the_call(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", FUNCTIONS.rstrip(" ") + """\
    release:
      <<: *publishing
      rules:
        - if: $CI_COMMIT_REF_PROTECTED == "true"
      script:
        - publish_all stable
    """)
    found = _messages(path, "GL020")
    assert [line for line, _ in found] == [23, 23]
    assert ["$CI_REGISTRY_IMAGE/api" in found[0][1], "$CI_REGISTRY_IMAGE/web" in found[1][1]] == [True, True]
    assert all("shell function publish_all" in message for _, message in found)


def test_a_shell_function_defined_but_never_called_runs_nothing(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", FUNCTIONS.rstrip(" ") + """\
    smoke:
      <<: *publishing
      script:
        - docker version
    """)
    assert _found(path, "GL020", "GL007") == []


# 5. An engine push only where the engine is the command.

def test_make_with_a_docker_directory_is_no_docker_push(tmp_path):
    quiet = _write(tmp_path / "a/.gitlab-ci.yml", """\
        images:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - make -C docker build
            - ./tools/docker push
        """)
    pushing = _write(tmp_path / "b/.gitlab-ci.yml", """\
        images:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - cd docker && docker push registry.example.com/app:1.0
        """)
    assert _found(quiet, "GL020", "GL007") == []
    assert _found(pushing, "GL020", "GL007") == [("GL007", ".gitlab-ci.yml", 1), ("GL020", ".gitlab-ci.yml", 5)]


def test_engine_push_in_command_position_only():
    pushes = ["docker push a", "x && docker push a", "sudo -E docker push a", "timeout 10m docker push a",
              "ssh deploy@host docker push a", "for i in a b; do docker push $i; done", 'sh -c "docker push a"',
              "echo docker push a | sh", "FOO=1 docker push a"]
    not_pushes = ["make -C docker build", "make docker build", "./scripts/docker push a", "cat docker push"]
    assert [text for text in pushes if not PUSHES.search(text)] == []
    assert [text for text in not_pushes if PUSHES.search(text)] == []
