"""lint v7, Jenkins: echoed commands run nothing, skaffold and ko push, a helper's scan runs where it
is called, and a step's docker run hands the host's socket over wherever the file runs no daemon."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import PUSHES
from generator.lint.jenkins_rules import commands_in_order, methods, read_groovy, without_echoes
from generator.lint.trust_rules import _scanned_another_tag
from tests.conftest import ROOT
from tests.test_lint import _expected

V7 = ROOT / "tests" / "fixtures" / "lint" / "v7-jenkins"
FIXTURES = sorted([*V7.glob("*.Jenkinsfile"), V7 / "kaniko-pod" / "Jenkinsfile"])


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_findings_exactly(path):
    pipeline = read_pipeline(path)
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline)}
    assert found == _expected(pipeline.files)


def test_the_fixtures_cover_every_changed_rule():
    files = [file for path in FIXTURES for file in read_pipeline(path).files]
    assert {rule for (_, _, rule) in _expected(files)} == {"JK002", "JK004", "JK020", "JK025"}


def _lint(tmp_path: Path, text: str, rule: str) -> list[int]:
    path = tmp_path / "Jenkinsfile"
    path.write_text(text)
    return [f.line for f in lint(read_pipeline(path)) if f.rule == rule]


# --- what echo prints -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kept"), [
    ('sh "echo docker login -u me -p x"', 'sh "echo "'),  # the step's own closing quote is no part of the message
    ("echo 'a; docker push x' && docker push y", "echo && docker push y"),
    ('echo "$P" | docker login -u me --password-stdin', "echo | docker login -u me --password-stdin"),
    ("x=$(echo docker push) ; docker push z", "x=$(echo ) ; docker push z"),
    ("if true; then echo docker push; fi", "if true; then echo ; fi"),
    ("echo docker push x | sh", "echo docker push x | sh"),  # printed into a shell, it runs
    ("myecho docker push x", "myecho docker push x"),
])
def test_what_echo_prints_is_blanked_up_to_its_command_end(text, kept):
    assert " ".join(without_echoes(text).split()) == kept
    assert len(without_echoes(text)) == len(text)


# --- skaffold and ko --------------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "pushes"), [
    ("skaffold build -f skaffold.yaml", True),
    ("skaffold run --tail", True),
    ("skaffold build --push=false", False),
    ("skaffold build --dry-run", False),
    ("skaffold deploy --build-artifacts=tags.json", False),
    ("ko build ./cmd/app", True),
    ("ko publish .", True),
    ("ko resolve -f config/", True),
    ("ko apply -f config/", True),
    ("ko build --local ./cmd/app", False),
    ("ko publish -L .", False),
    ("ko build --push=false --tarball=app.tar .", False),
    ("KO_DOCKER_REPO=ko.local ko build .", False),
    ("go build ./cmd/ko", False),
])
def test_skaffold_and_ko_push_unless_kept_local(command, pushes):
    assert bool(PUSHES.search(command)) is pushes


# --- methods run where they are called ----------------------------------------------------------------

HELPERS = """\
void scan(String tag) {
    sh "trivy image app:${tag}"
}
def publish = { tag ->
    sh "docker push app:${tag}"
}
pipeline {
    stages {
        stage('Push') { steps { publish('1') } }
        stage('Scan') { steps { scan '1' } }
    }
}
"""


def test_a_method_and_a_closure_are_found_with_their_bodies():
    groovy = read_groovy(HELPERS)
    found = methods(groovy)
    assert sorted(found) == ["publish", "scan"]
    (scan,) = found["scan"]
    assert HELPERS[scan.body[0]:scan.body[1]].strip() == 'sh "trivy image app:${tag}"'


def test_a_called_body_comes_where_it_is_called():
    lines = [first for first, _, _ in commands_in_order(read_groovy(HELPERS))]
    assert lines.index(5) < lines.index(2)  # the push in publish runs before the scan in scan
    assert lines.index(9) < lines.index(5) < lines.index(10)


def test_an_uncalled_method_stays_where_it_is_written():
    text = "def call() {\n    sh 'trivy image app:1'\n}\n"
    assert [first for first, _, _ in commands_in_order(read_groovy(text))] == [1, 2, 3]


def test_methods_that_only_call_each_other_are_still_read(tmp_path):
    text = "void a() {\n    b()\n}\nvoid b() {\n    sh 'docker push app:1'\n    a()\n}\n"
    assert _lint(tmp_path, text, "JK020") == [5]


def test_a_push_reached_from_two_stages_is_reported_once(tmp_path):
    text = (
        "void push() {\n    sh 'docker push app:1'\n}\n"
        "pipeline { stages {\n stage('A') { steps { push() } }\n stage('B') { steps { push() } }\n} }\n"
    )
    assert _lint(tmp_path, text, "JK020") == [2]


def test_a_scanner_in_an_address_is_no_scan(tmp_path):
    text = "sh 'wget https://example.com/aquasecurity/trivy/releases/trivy.tar.gz'\nsh 'docker push app:1'\n"
    assert _lint(tmp_path, text, "JK020") == [2]


def test_a_scanned_tag_held_in_a_variable_may_be_the_built_one():
    assert _scanned_another_tag("trivy image shop:${tag}", {"shop": {"${BUILD_ID}"}}) is None


# --- the host's socket in a step's container -----------------------------------------------------

MOUNT = "sh 'docker run --rm -v /var/run/docker.sock:/var/run/docker.sock tool:1.0'\n"


@pytest.mark.parametrize("daemon", [
    "environment { DOCKER_HOST = 'tcp://dind:2376' }\n",
    "sh 'export DOCKER_HOST=tcp://localhost:2376'\n",
    "docker.withServer('tcp://builder:2376') { }\n",
    "podTemplate(containers: [containerTemplate(name: 'dind', image: 'docker:27.3.1-dind', privileged: true)]) { }\n",
])
def test_a_daemon_of_the_files_own_keeps_a_step_mount_quiet(tmp_path, daemon):
    assert _lint(tmp_path, "pipeline { agent any }\n" + daemon + MOUNT, "JK025") == []


def test_a_step_mount_on_an_agent_with_no_daemon_of_its_own_is_the_hosts(tmp_path):
    assert _lint(tmp_path, "pipeline { agent any }\n" + MOUNT, "JK025") == [2]


def test_a_pod_env_on_tcp_keeps_a_step_mount_quiet(tmp_path):
    pod = "containers:\n  - name: build\n    image: docker:27.3.1-cli\n    env:\n      - name: DOCKER_HOST\n        value: tcp://localhost:2376\n"
    text = "pipeline { agent { kubernetes { yaml '''\n" + pod + "''' } } }\n" + MOUNT
    assert _lint(tmp_path, text, "JK025") == []


def test_an_image_pinned_through_a_shell_variable_keeps_a_step_mount_quiet(tmp_path):
    digest = "1" * 64
    script = f"sh '''\nscanner=tool:1.0@sha256:{digest}\ndocker run --rm -v /var/run/docker.sock:/var/run/docker.sock \"$scanner\"\n'''\n"
    assert _lint(tmp_path, "pipeline { agent any }\n" + script, "JK025") == []
    assert _lint(tmp_path, "pipeline { agent any }\n" + script.replace(f"@sha256:{digest}", ""), "JK025") == [4]


def test_a_digest_on_a_continued_line_still_pins_the_variable(tmp_path):
    digest = "2" * 64
    script = (
        f"sh '''\nscanner='mirror.example/aquasec/trivy:0.58.1'\\\\\n@sha256:{digest}\n"
        "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \"$scanner\" image app:1\n'''\n"
    )
    assert _lint(tmp_path, "pipeline { agent any }\n" + script, "JK025") == []
    assert _lint(tmp_path, "pipeline { agent any }\n" + script.replace(f"@sha256:{digest}", ""), "JK025") == [5]
