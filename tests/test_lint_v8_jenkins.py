"""lint v8, Jenkins and Compose: secrets Groovy fills into a library step's or helper's string (JK003),
one JK020 finding per image a stage pushes, pushes through Gradle and Maven, and a dind daemon that
Compose builds from the repository's own Dockerfile (JK102)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import BUILD_TOOL_PUSHES
from tests.conftest import ROOT
from tests.test_lint import _expected

V8 = ROOT / "tests" / "fixtures" / "lint" / "v8-jenkins"
FIXTURES = sorted([*V8.glob("*.Jenkinsfile"), V8 / "compose" / "compose.yaml"])


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_findings_exactly(path):
    pipeline = read_pipeline(path)
    assert {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline)} == _expected(pipeline.files)
    # Every fixture shows at least one finding of a rule this change touched.
    assert {"JK003", "JK020", "JK101", "JK102"} & {rule for _, _, rule in _expected(pipeline.files)}


def _lint(tmp_path: Path, text: str, rule: str, name: str = "Jenkinsfile") -> list[int]:
    (tmp_path / name).write_text(text)
    return [f.line for f in lint(read_pipeline(tmp_path / name)) if f.rule == rule]


# --- JK003: a library step or helper given the secret's value -------------------------------------

BOUND = """\
pipeline {{
    agent any
    stages {{
        stage('a') {{
            steps {{
                withCredentials([string(credentialsId: 'api', variable: 'API')]) {{
                    {call}
                }}
            }}
        }}
    }}
}}
"""


@pytest.mark.parametrize(("call", "fires"), [
    ('runCmd("curl -H \'X-Key: ${API}\' https://api.example.com")', True),
    ('Tools.run(this, "deploy --key $API")', True),
    ('runCmd "deploy --key ${env.API}"', True),
    ('runCmd cmd: "deploy --key ${API}"', True),
    ('steps.sh("deploy --key ${API}")', True),  # the sh step through a library's steps object
    ('docker.build("app:1", "--build-arg KEY=${API} .")', True),
    ("runCmd('deploy --key $API')", False),  # single quotes: the shell reads the variable
    ('runCmd("deploy --key \\$API")', False),
    ('echo "key ${API}"', False),
    ('error "bad key ${API}"', False),
    ('writeFile(file: "key", text: "${API}")', False),
    ('withEnv(["KEY=${API}"]) { runCmd(\'deploy --key-from-env KEY\') }', False),
    ('def key = "${API}"', False),  # assigned, handed to nothing yet
    ('if ("${API}".isEmpty()) { error "no key" }', False),
    ('runCmd("deploy --region ${REGION}")', False),
])
def test_a_bound_secret_given_to_a_method(tmp_path, call, fires):
    assert bool(_lint(tmp_path, BOUND.format(call=call), "JK003")) is fires


def test_outside_the_binding_block_the_name_is_no_bound_secret(tmp_path):
    text = BOUND.format(call="echo 'bound'").replace("        stage('a') {", "        stage('b') {\n            steps { runCmd(\"deploy ${API}\") }\n        }\n        stage('a') {", 1)
    assert _lint(tmp_path, text, "JK003") == []


def test_credentials_in_a_stage_environment_are_that_stage_s(tmp_path):
    text = """\
pipeline {
    agent any
    stages {
        stage('push') {
            environment { HUB = credentials('hub') }
            steps { pushImage(password: "${HUB_PSW}") }
        }
        stage('other') {
            steps { pushImage(password: "${HUB_PSW}") }
        }
    }
}
"""
    assert _lint(tmp_path, text, "JK003") == [6]


def test_reported_on_the_line_naming_the_secret(tmp_path):
    call = 'OsTools.runSafe(this,\n                        "docker login -u me " +\n                        "-p ${API} registry.example.com")'
    assert _lint(tmp_path, BOUND.format(call=call), "JK003") == [9]


# --- JK020: once per image and stage ------------------------------------------------------------

def test_several_tags_of_one_image_are_one_finding_and_a_second_image_another(tmp_path):
    text = """\
node {
    stage('push') {
        sh 'docker push reg.example.com/app:1.0'
        sh 'docker push reg.example.com/app:latest'
        sh 'docker buildx build --push -t reg.example.com/app:1.0 -t reg.example.com/app:stable .'
        sh 'docker push reg.example.com/sidecar:1.0'
        sh './gradlew dockerPush'
    }
}
"""
    # The Gradle task names no image: it goes with the stage's first finding.
    assert _lint(tmp_path, text, "JK020") == [3, 6]


# --- pushes through build tools ------------------------------------------------------------------

@pytest.mark.parametrize(("command", "pushes"), [
    ("./gradlew dockerPush", True),
    ("./gradlew :app:dockerPushImage --info", True),
    ("gradle build dockerPushLatest", True),
    ("./gradlew pushImage", True),
    ("gradlew.bat dockerPush", True),
    ("./gradlew bootBuildImage --publishImage", True),
    ("./gradlew build -Dquarkus.container-image.push=true", True),
    ("mvn dockerfile:push", True),
    ("./mvnw -B docker:push", True),
    ("mvn com.spotify:dockerfile-maven-plugin:1.4.13:push", True),
    ("mvn io.fabric8:docker-maven-plugin:0.45.1:push", True),
    ("mvn k8s:push", True),
    ("mvn package docker:build -DpushImage", True),
    ("mvn spring-boot:build-image -Dspring-boot.build-image.publish=true", True),
    ("./gradlew build dockerBuildImage", False),
    ("./gradlew docker dockerTag", False),
    ("gradle build", False),
    ("./gradlew jibDockerBuild", False),
    ("./gradlew bootBuildImage", False),
    ("mvn dockerfile:build", False),
    ("mvn helm:push", False),
    ("mvn package docker:build -DpushImage=false", False),
    ("mvn package -DpushImage", False),
    ("mvn spring-boot:build-image", False),
    ("./mvnw package -Dquarkus.container-image.build=true", False),
    ("git push origin main", False),
])
def test_build_tool_tasks_that_push(command, pushes):
    assert bool(BUILD_TOOL_PUSHES.search(command)) is pushes


# --- JK102: a daemon built from the repository's Dockerfile --------------------------------------

PRIVILEGED_BUILD = """\
services:
  docker:
    build: {context}
    privileged: true
"""


def test_a_dockerfile_reached_through_a_symlink_out_of_the_tree_is_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM docker:27.3.1-dind\n")
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside, project / "dind")
    assert _lint(project, PRIVILEGED_BUILD.format(context="./dind"), "JK102", "compose.yaml") == [4]
    # The same Dockerfile inside the tree is a daemon's.
    (project / "dind").unlink()
    (project / "dind").mkdir()
    (project / "dind" / "Dockerfile").write_text("FROM docker:27.3.1-dind\n")
    assert _lint(project, PRIVILEGED_BUILD.format(context="./dind"), "JK102", "compose.yaml") == []


def test_an_inline_dockerfile_is_read_as_written(tmp_path):
    text = "services:\n  docker:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM docker:27.3.1-dind\n    privileged: true\n"
    assert _lint(tmp_path, text, "JK102", "compose.yaml") == []
    assert _lint(tmp_path, text.replace("docker:27.3.1-dind", "alpine:3.20"), "JK102", "compose.yaml") == [7]
