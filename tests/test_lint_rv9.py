"""gen-ci lint, fixes from the 0.9 review: pushes after wrappers and absolute paths, shell functions
called in ways the lint does not follow, a push through a function located at its call, a
one-line withCredentials block, and the JK125 runner exemption."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from generator.lint.cache_rules import SCRIPTED_REF_TEST
from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import PUSHES, simple_commands
from generator.lint.github_rules import OPAQUE
from generator.lint.shell_words import called_lines


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _found(path: Path, *rules: str) -> list[tuple[str, int]]:
    return sorted((f.rule, f.line) for f in lint(read_pipeline(path)) if f.rule in rules)


# 1. An engine push after a wrapper that takes values, or named by its path in a bin directory.

WRAPPED = [
    "sudo -u ci docker push reg/a:1",
    "/usr/bin/docker push reg/a:1",
    "ssh -i key.pem deploy@host docker push reg/a:1",
    "nice -n 5 docker push reg/a:1",
    "doppler run -- docker push reg/a:1",
    "eval docker push reg/a:1",
    "timeout -s KILL 10m docker push reg/a:1",
    "xargs -I {} docker push {}",
]


@pytest.mark.parametrize("line", WRAPPED)
def test_a_push_after_a_wrapper_is_a_push(line):
    assert PUSHES.search(line)


@pytest.mark.parametrize("line", ["make -C docker build", "./tools/docker push", "./bin/docker push reg/a:1", "cd docker && make test"])
def test_a_word_docker_that_is_no_engine_is_no_push(line):
    assert not PUSHES.search(line)


@pytest.mark.parametrize("line", ["sudo -u ci docker push reg/a:1", "nice -n 5 docker push reg/a:1"])
def test_a_wrapped_push_is_reported_in_each_dialect(tmp_path, line):
    gitlab = _write(tmp_path / "gl" / ".gitlab-ci.yml", f"""\
        build:
          image: docker:27
          timeout: 10m
          script:
            - {line}
        """)
    github = _write(tmp_path / "gh" / ".github" / "workflows" / "b.yml", f"""\
        on: push
        jobs:
          b:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - run: {line}
        """)
    jenkins = _write(tmp_path / "jk" / "Jenkinsfile", f"""\
        node {{
          sh '{line}'
        }}
        """)
    assert _found(gitlab, "GL020") == [("GL020", 5)]
    assert _found(github, "GH005") == [("GH005", 7)]
    assert _found(jenkins, "JK020") == [("JK020", 2)]


def test_one_wrapper_list_for_programs_too():
    assert [program for program, _ in simple_commands("sudo -u ci docker login; nice -n 5 curl x; ssh host")] == ["docker", "curl", "ssh"]


# 2. A function called where the lint does not follow the call still runs its body.

def test_a_function_called_in_a_condition_or_through_retry_runs_its_body(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image: docker:27
          timeout: 10m
          script:
            - |
              login() {
                docker login -u ci -p "$REGISTRY_PASSWORD" registry.example.com
              }
              publish() {
                docker push "$1"
              }
              if login; then echo logged in; fi
              retry publish registry.example.com/app:1.0
        """)
    assert _found(path, "GL006", "GL020") == [("GL006", 7), ("GL020", 13)]


@pytest.mark.parametrize(("last", "expected"), [
    # Named where no call is recognised: read where it is written.
    ("parallel publish ::: a b", [("GL020", 7)]),
    # Named nowhere else: never run.
    ("echo done", []),
])
def test_a_function_named_but_not_followed_is_read_where_written(tmp_path, last, expected):
    path = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build:
          image: docker:27
          timeout: 10m
          script:
            - |
              publish() {{
                docker push registry.example.com/app:1.0
              }}
              {last}
        """)
    assert _found(path, "GL020") == expected


def test_a_quoted_name_is_no_call():
    assert list(called_lines('echo "publish later"', {"publish": "docker push x"})) == []


# 3. A push through a function is reported at each call.

def test_a_push_through_a_function_is_reported_at_each_call(tmp_path):
    path = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image: docker:27
          timeout: 10m
          rules: [{if: $CI_COMMIT_TAG}]
          script:
            - |
              publish() {
                local image="$1"
                docker push "$image"
              }
              publish registry.example.com/a/app:1
              publish registry.example.com/b/app:1
        """)
    assert _found(path, "GL020") == [("GL020", 11), ("GL020", 12)]


# 4. A one-line withCredentials block: the binding's arguments are skipped, the step in its braces read.

def test_a_step_inside_a_one_line_binding_is_read(tmp_path):
    path = _write(tmp_path / "Jenkinsfile", """\
        node {
          withCredentials([string(credentialsId: 'npm', variable: 'NPM_TOKEN')]) { sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t app .' }
        }
        """)
    assert _found(path, "JK024") == [("JK024", 2)]


def test_a_one_line_binding_whose_step_keeps_the_secret_off_the_command_line_is_quiet(tmp_path):
    path = _write(tmp_path / "Jenkinsfile", """\
        node {
          withCredentials([string(credentialsId: 'npm-token', variable: 'NPM_TOKEN')]) { sh 'docker build --secret id=npm,env=NPM_TOKEN -t app .' }
          withCredentials([usernamePassword(credentialsId: 'registry-password', usernameVariable: 'U', passwordVariable: 'P')]) {
            sh 'echo "$P" | docker login -u "$U" --password-stdin reg.example.com'
          }
        }
        """)
    assert _found(path, "JK024") == []


# 5. JK125 exempts a self-hosted runner only: called a runner and naming its CI or a runner's settings.

COMPOSE = """\
    services:
      {name}:
        image: {image}
        environment: {environment}
        volumes: [/var/run/docker.sock:/var/run/docker.sock]
    """


@pytest.mark.parametrize(("name", "image", "environment", "expected"), [
    # No CI runner: reported.
    ("test-runner", "acme/test-runner:1.4.0", '{TEST_RUNNER_THREADS: "4"}', [("JK125", 5)]),
    ("e2e-runner", "acme/e2e:1.0.0", '{GITHUB_SHA: "${GITHUB_SHA}"}', [("JK125", 5)]),
    ("ci-job-runner", "acme/jobs:1.0.0", "{}", [("JK125", 5)]),
    ("report-runner", "acme/report:1.0.0", "{GITHUB_TOKEN: x, GITHUB_REPOSITORY: a/b}", [("JK125", 5)]),
    # Named, or set up, as a CI's runner: exempt.
    ("runner", "acme/runner:2.0.0", "{RUNNER_TOKEN: x, RUNNER_LABELS: docker}", []),
    ("runner", "acme/runner:2.0.0", "{REGISTRATION_TOKEN: x, CI_SERVER_URL: https://gitlab.example.com}", []),
    ("build-runner", "acme/build:2.0.0", "{ACCESS_TOKEN: x, REPO_URL: https://github.com/acme/app}", []),
    ("acme-gh-runner", "acme/runner:2.0.0", "{}", []),
    ("runner", "acme/runner:2.0.0", '{RUNNER_ID: "${RUNNER_ID:?unique per runner}"}', []),
])
def test_only_a_ci_runner_is_exempt(tmp_path, name, image, environment, expected):
    path = _write(tmp_path / "docker-compose.yml", COMPOSE.format(name=name, image=image, environment=environment))
    assert _found(path, "JK125") == expected


# 7. GL002: a job that sets up its own dind is a client, whatever its image and commands.

@pytest.mark.parametrize(("where", "expected"), [
    ("own", [("GL002", 4)]),
    # A pipeline-wide service reaches this job too, which never talks to it.
    ("default", []),
])
def test_a_job_with_its_own_dind_is_a_docker_client(tmp_path, where, expected):
    job = """\
        integration:
          image: maven:3.9.9-eclipse-temurin-21
          timeout: 30m
          services: [{name: "docker:27.3.1-dind", alias: docker}]
          variables: {DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_CERTDIR: /certs}
          script: [mvn verify]
        """
    if where == "default":
        job = """\
        default:
          services: [{name: "docker:27.3.1-dind", alias: docker}]
        variables: {DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_CERTDIR: /certs}
        integration:
          image: maven:3.9.9-eclipse-temurin-21
          timeout: 30m
          script: [mvn verify]
        """
    path = _write(tmp_path / ".gitlab-ci.yml", job)
    assert _found(path, "GL002") == expected


# 8. JK101: an exec-form daemon command with the flag and its value as two items.

@pytest.mark.parametrize(("port", "expected"), [("2375", [("JK101", 8)]), ("2376", [])])
def test_an_exec_form_daemon_command_is_read_as_one_command(tmp_path, port, expected):
    path = _write(tmp_path / "docker-compose.yml", f"""\
        services:
          dind:
            image: docker:27-dind
            privileged: true
            environment: {{DOCKER_TLS_CERTDIR: /certs}}
            command:
              - --host
              - tcp://0.0.0.0:{port}
        """)
    assert _found(path, "JK101") == expected


# 9. JK004: a docker.image(...).inside chain with comments between its links.

@pytest.mark.parametrize(("chain", "expected"), [
    ("docker\n    // pick the image\n    .image('node:latest') /* moving */\n    // then run it\n    .inside {", [("JK004", 4)]),
    # A comment that names .inside runs nothing: the image is only pulled.
    ("docker\n    .image('node:latest') // .inside later\n    .pull()\n    if (true) {", []),
])
def test_a_chain_with_comments_runs_its_image(tmp_path, chain, expected):
    path = tmp_path / "Jenkinsfile"
    path.write_text("node {\n  " + chain + "\n    sh 'npm ci'\n  }\n}\n")
    assert _found(path, "JK004") == expected


# 10. Patterns tried at every position stay linear on long malformed lines.

def _seconds(pattern, text: str) -> float:
    start = time.perf_counter()
    list(pattern.finditer(text))
    return time.perf_counter() - start


@pytest.mark.parametrize(("pattern", "adversarial", "ordinary"), [
    (SCRIPTED_REF_TEST, "if (" * 20000, "if (env.BRANCH_NAME == 'main') {"),
    (OPAQUE, "${{" * 20000, "${{ format('{0}:{1}', env.IMAGE, github.sha) }}"),
    (PUSHES, "\nssh -i " * 3000, "ssh -i key.pem deploy@host docker push reg/a:1"),
])
def test_patterns_stay_linear(pattern, adversarial, ordinary):
    assert _seconds(pattern, adversarial) < 2
    assert pattern.search(ordinary)
