"""lint v4: one reading of image references for every dialect (which images are the Docker daemon,
which tags name a version), ssh's remote commands, hand-written Docker configs as logins, and
`when: never` rules that leave a push job one ref."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.images import (
    official_docker,
    runs_dockerd,
    tag_names_a_version,
    unpinned_reason,
)
from tests.conftest import ROOT
from tests.test_lint import _expected

V4 = ROOT / "tests" / "fixtures" / "lint" / "v4"
FIXTURES = sorted(path for path in V4.iterdir() if path.is_file())
# GL024 reads a here-document's lines as commands (a known false alarm its own rule module owns);
# config-login is about GL022, so GL024 is left out of its comparison.
NOT_COMPARED = {"config-login.gitlab-ci.yml": {"GL024"}}


def _found(path: Path) -> set[tuple[str, int, str]]:
    ignored = NOT_COMPARED.get(path.name, set())
    return {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(read_pipeline(path)) if f.rule not in ignored}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)


def test_the_fixtures_cover_every_dialect_the_dind_reading_serves():
    kinds = {read_pipeline(path).kind for path in FIXTURES if "dind" in path.name}
    assert kinds == {"gitlab", "github", "compose"}


# Which images run the daemon: Docker's official-images record (library/docker) lists the plain
# version tags and latest on the dind entry since 23.0; through 20.10 they were on the client's.

@pytest.mark.parametrize(("reference", "daemon"), [
    ("docker", True), ("docker:latest", True), ("docker:27", True), ("docker:27.3.1", True), ("docker:27.3.1-alpine3.20", True),
    ("docker:23.0.0-rc.4", True), ("docker:rc", True), ("docker:dind", True), ("docker:27-dind-rootless", True),
    ("docker:27.3.1@sha256:" + "2" * 64, True), ("docker.io/library/docker:27", True), ("mirror.gcr.io/library/docker:27", True),
    ("${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/docker:27", True), ("registry.example.com/ci/docker-dind:1.2", True),
    ("docker:27-cli", False), ("docker:cli", False), ("docker:27-windowsservercore-ltsc2022", False), ("docker:git", False),
    ("docker:20.10.16", False), ("docker:19.03.12", False), ("docker:stable", False), ("docker:$DOCKER_VERSION", False),
    ("acme/docker:27", False), ("registry.example.com/team/docker:27", False), ("alpine:3.20", False), ("postgres:16", False),
])
def test_which_images_run_the_daemon(reference, daemon):
    assert runs_dockerd(reference) is daemon


@pytest.mark.parametrize(("reference", "official"), [
    ("docker:27", True), ("index.docker.io/library/docker:27", True), ("$PROXY/docker:27", True),
    ("gitlab.example.com:443/group/dependency_proxy/containers/docker:27", True),
    ("docker/compose:1.29.2", False), ("ghcr.io/acme/docker:27", False), ("dockerhub/docker:27", False),
])
def test_what_counts_as_the_official_image(reference, official):
    assert official_docker(reference) is official


def test_a_job_image_of_a_daemon_tag_is_still_the_client(tmp_path):
    # docker:27.3.1 as the job's own image with a TCP daemon elsewhere: no dind service, so no
    # daemon rule speaks; a template's service inherited by it still counts for GL008.
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent("""\
        .dind:
          services: [docker:27.3.1]
          variables: {DOCKER_TLS_CERTDIR: /certs}
        build:
          extends: .dind
          image: docker:27.3.1
          script: [echo waits on the daemon]
    """))
    assert [(f.rule, f.line) for f in lint(read_pipeline(path))] == [("GL008", 4)]


# Tags: one function for GL001, GH009, JK004 and JK103.

CHANNEL_TAGS = ["current-alpine3.18", "lts", "lts-alpine", "current", "stable", "edge", "latest-alpine3.20", "latest-3.12", "mainline",
                "mainline-alpine3.19", "rolling", "nightly", "testing-slim", "lts-bookworm", "stable-cli", "alpine", "jdk17", "dind"]
VERSION_TAGS = ["20.11-alpine3.18", "bookworm-slim", "alpine3.19", "jammy", "3.12-rc", "v1.23.2-debug", "8e5c3a1f", "ltsc2022",
                "stable-20.10", "22-current"]


@pytest.mark.parametrize("tag", CHANNEL_TAGS)
def test_channel_tags_name_no_version(tag):
    assert not tag_names_a_version(tag)
    assert unpinned_reason(f"node:{tag}") == f"uses the moving tag :{tag}"


@pytest.mark.parametrize("tag", VERSION_TAGS)
def test_version_and_codename_tags_pin(tag):
    assert tag_names_a_version(tag)
    assert unpinned_reason(f"node:{tag}") is None


def _one_image_file(tmp_path: Path, kind: str, image: str) -> Path:
    files = {
        "gitlab": (".gitlab-ci.yml", f"job:\n  image: {image}\n  script: [npm test]\n"),
        "github": ("ci.yml", f"on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    container: {image}\n    steps:\n      - run: npm test\n"),
        "jenkins": ("Jenkinsfile", f"pipeline {{\n  agent {{ docker {{ image '{image}' }} }}\n  stages {{ stage('t') {{ steps {{ sh 'npm test' }} }} }}\n}}\n"),
        "compose": ("compose.yml", f"services:\n  app:\n    image: {image}\n"),
    }
    name, text = files[kind]
    path = tmp_path / name
    path.write_text(text)
    return path


RULE_OF_KIND = {"gitlab": "GL001", "github": "GH009", "jenkins": "JK004", "compose": "JK103"}


@pytest.mark.parametrize("kind", sorted(RULE_OF_KIND))
@pytest.mark.parametrize(("image", "moves"), [
    ("node:current-alpine3.18", True), ("nginx:mainline-alpine", True), ("node:lts-bookworm", True),
    ("node:20.11-alpine3.18", False), ("debian:bookworm-slim", False), ("python:alpine3.19", False), ("ubuntu:jammy", False),
])
def test_every_dialect_pins_alike(tmp_path, kind, image, moves):
    rules = [f.rule for f in lint(read_pipeline(_one_image_file(tmp_path, kind, image)))]
    assert (RULE_OF_KIND[kind] in rules) is moves


# GL007's level follows the ref a `when: never` rule leaves.

def test_a_never_rule_for_other_refs_lowers_gl007_to_the_warning():
    levels = {f.job: f.level for f in lint(read_pipeline(V4 / "rules-never.gitlab-ci.yml")) if f.rule == "GL007"}
    assert levels == {
        "default-branch-only": "warning", "named-branch-only": "warning",
        "never-with-changes": "error", "never-after-the-match": "error",
    }


def test_gl022_names_the_config_credential():
    messages = [f.message for f in lint(read_pipeline(V4 / "config-login.gitlab-ci.yml")) if f.rule == "GL022"]
    assert len(messages) == 2
    assert "$HUB_PASSWORD" in messages[0] and "Docker config" in messages[0]
    assert "$HUB_SECRET" in messages[1]  # the secret of the two variables the computed auth reads
