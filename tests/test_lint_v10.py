"""gen-ci lint 0.10: pushes through a make target, a registry login a template gives its jobs."""

from __future__ import annotations

import pytest

from generator.lint.findings import PUSHES
from tests.test_lint_rv9 import _found, _write

# 1. A make target named for a push publishes the image the Makefile builds.

@pytest.mark.parametrize("line", [
    "make push", "make build push", "make push-image TAG=$CI_PIPELINE_IID", "make -C docker push",
    "cd docker && make push", "sudo make docker-push", "make container-push-remote", "gmake image-push",
    "make push_all",
])
def test_a_make_push_target_is_a_push(line):
    assert PUSHES.search(line)


@pytest.mark.parametrize("line", [
    "make git-push BRANCH=main", "make helm-push", "make chart-push", "make docs-push", "make push-docs",
    "make pusher", "make build TARGET=push", "make -C docker build", "echo push && make test",
])
def test_a_make_target_that_publishes_no_image_is_no_push(line):
    assert not PUSHES.search(line)


def test_a_make_push_is_reported_in_gitlab_and_jenkins(tmp_path):
    gitlab = _write(tmp_path / "gl/.gitlab-ci.yml", """\
        .build:
          image: docker:27.5.1-cli
          before_script:
            - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
          script:
            - make build-image TAG=$CI_PIPELINE_IID
            - make push-image TAG=$CI_PIPELINE_IID
        build-dev:
          extends: .build
          only:
            - dev
        """)
    # The template's login says its jobs drive the daemon: no timeout is a finding, at the template.
    assert _found(gitlab, "GL020", "GL007", "GL008") == [("GL007", 8), ("GL008", 1), ("GL020", 7)]
    jenkins = _write(tmp_path / "jk/Jenkinsfile", """\
        pipeline {
          agent any
          stages {
            stage('Publish') {
              steps {
                sh 'make build push'
              }
            }
          }
        }
        """)
    assert _found(jenkins, "JK020") == [("JK020", 6)]


def test_a_make_target_pushing_git_stays_quiet(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        release:
          image: alpine:3.20
          timeout: 10 minutes
          script:
            - make git-prep git-push BRANCH=$CI_COMMIT_BRANCH
        """)
    assert _found(gitlab, "GL020", "GL007", "GL008") == []


# 2. A registry login written in a template counts as driving the daemon; one for the whole
# pipeline (default: before_script) does not, as it reaches jobs that never use Docker.

def test_a_pipeline_wide_login_says_nothing_about_a_job(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        default:
          before_script:
            - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
        unit:
          image: python:3.12.7
          script:
            - pytest
        """)
    templated = _write(tmp_path / "t/.gitlab-ci.yml", """\
        .registry:
          before_script:
            - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
        unit:
          extends: .registry
          image: python:3.12.7
          script:
            - pytest
        """)
    assert _found(gitlab, "GL008") == []
    assert _found(templated, "GL008") == [("GL008", 1)]


# 3. A tag's `${VAR::8}` is part of the tag: two pushes of one repository are one finding.

def test_a_substring_expansion_in_a_tag_keeps_one_repository(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        production:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          only:
            - master
          script:
            - docker build -t $IMAGE:${VERSION}-${CI_COMMIT_SHA::8} .
            - docker push $IMAGE:${VERSION}
            - docker push $IMAGE:${VERSION}-${CI_COMMIT_SHA::8}
        """)
    assert _found(gitlab, "GL020") == [("GL020", 8)]


# 4. A tag that starts with the commit names a candidate, whatever follows it.

def test_a_tag_starting_with_the_commit_is_a_candidate(tmp_path):
    pipeline = """\
        stages: [build, scan, publish]
        build:
          stage: build
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - docker build -t $CI_REGISTRY_IMAGE:{tag} .
            - docker push $CI_REGISTRY_IMAGE:{tag}
        scan:
          stage: scan
          image: aquasec/trivy:0.58.1
          timeout: 10 minutes
          script:
            - trivy image --exit-code 1 $CI_REGISTRY_IMAGE:{tag}
        publish:
          stage: publish
          image: quay.io/skopeo/stable:v1.17.0
          timeout: 10 minutes
          script:
            - skopeo copy docker://$CI_REGISTRY_IMAGE:{tag} docker://$CI_REGISTRY_IMAGE:latest
        """
    candidate = _write(tmp_path / "a/.gitlab-ci.yml", pipeline.replace("{tag}", "${CI_COMMIT_SHORT_SHA}${CI_COMMIT_TAG}"))
    released = _write(tmp_path / "b/.gitlab-ci.yml", pipeline.replace("{tag}", "${CI_COMMIT_TAG}"))
    assert _found(candidate, "GL020") == []
    assert _found(released, "GL020") == [("GL020", 8)]
