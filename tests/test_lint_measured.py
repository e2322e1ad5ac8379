"""gen-ci lint, measured on real CI files judged by hand (issue 31): the patterns those files showed,
each in a minimal file of our own. The fixtures under tests/fixtures/lint carry most of them
(`# expect:` lines); these are the ones a level or a message tells apart."""

from __future__ import annotations

import textwrap

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint

PUSH_JOB = """\
publish:
  image: docker:27.3.1-cli
  timeout: 30 minutes
  only:
    refs:
{refs}
  script:
    - docker push registry.example.com/acme/app:1.0.0
"""


@pytest.mark.parametrize(("refs", "level"), [
    (["master@acme/app"], "warning"),
    (["tags@acme/app"], "warning"),
    (["main"], "warning"),
    (["branches@acme/app"], "error"),
    (["/^release-.*$/@acme/app"], "error"),
])
def test_only_refs_in_one_project_are_named_refs(tmp_path, refs, level):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(PUSH_JOB.format(refs="\n".join(f"      - {ref!r}" for ref in refs)))
    levels = [f.level for f in lint(read_pipeline(path)) if f.rule == "GL007"]
    assert levels == [level]


def _rules(tmp_path, text: str, name: str = ".gitlab-ci.yml") -> list[tuple[str, int]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return sorted((f.rule, f.line) for f in lint(read_pipeline(path)))


def test_a_default_image_written_in_an_included_file_is_reported_there(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "base.yml").write_text("# shared settings\nimage: python:latest\n")
    (tmp_path / ".gitlab-ci.yml").write_text("include:\n  - local: ci/base.yml\n\nunit:\n  script: [pytest]\n")
    found = [(f.rule, f.file, f.line) for f in lint(read_pipeline(tmp_path / ".gitlab-ci.yml"))]
    assert found == [("GL001", str(tmp_path / "ci" / "base.yml"), 2)]


def test_an_image_name_overridden_in_a_job_is_reported_on_its_name_line_and_a_placeholder_is_no_image(tmp_path):
    found = _rules(tmp_path, """\
    .entrypoint:
      image:
        name: _
        entrypoint: [""]
    .lint:
      image:
        name: registry.example.com/tools/lint:1.2.0
        entrypoint: [""]
      script: [lint .]
    lint:hub:
      extends: .lint
      image:
        name: tools/lint
    """)
    assert found == [("GL001", 13)]


def test_a_merge_request_pushing_the_image_a_release_reads_as_cache_writes_that_cache(tmp_path):
    found = _rules(tmp_path, """\
    default:
      image: docker:27.3.1-cli
      timeout: 30 minutes
    variables:
      CACHE_IMAGE: registry.example.com/acme/app:cache
    mr-build:
      rules:
        - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      script:
        - docker build -t "$CACHE_IMAGE" .
        - trivy image --exit-code 1 "$CACHE_IMAGE"
        - docker push "$CACHE_IMAGE"
        - docker push registry.example.com/acme/app:mr-$CI_MERGE_REQUEST_IID
    release-build:
      rules:
        - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_TAG
      script:
        - docker build --cache-from "$CACHE_IMAGE" -t registry.example.com/acme/app:$CI_COMMIT_TAG .
        - trivy image --exit-code 1 registry.example.com/acme/app:$CI_COMMIT_TAG
        - docker push registry.example.com/acme/app:$CI_COMMIT_TAG
    """)
    assert [line for rule, line in found if rule == "GL021"] == [12]


def test_compose_judges_the_default_of_an_image_variable(tmp_path):
    found = _rules(tmp_path, """\
    services:
      cache:
        image: ${CACHE_IMAGE:-valkey/valkey}
      proxy:
        image: ${PROXY_IMAGE:-nginx:1.27.2}
      app:
        image: ${APP_IMAGE}
      worker:
        image: registry.example.com/${TEAM-acme}/worker:2.4.1
    """, "compose.yml")
    assert found == [("JK103", 3)]


def test_every_unscanned_push_step_of_a_job_is_reported(tmp_path):
    found = _rules(tmp_path, """\
    on: push
    jobs:
      publish:
        runs-on: ubuntu-24.04
        timeout-minutes: 30
        steps:
          - uses: docker/build-push-action@v6
            with:
              push: true
              tags: registry.example.com/acme/app:1.4.0
          - uses: docker/build-push-action@v6
            with:
              push: true
              tags: registry.example.com/acme/app:latest
          - uses: aquasecurity/trivy-action@0.28.0
            with:
              image-ref: registry.example.com/acme/app:1.4.0
          - uses: docker/build-push-action@v6
            with:
              push: true
              tags: registry.example.com/acme/app:scanned
    """, "publish.yml")
    assert [line for rule, line in found if rule == "GH005"] == [9, 13]  # each on its push: line


@pytest.mark.parametrize(("step", "pushes"), [
    ("uses: ./\n        with:\n          push: ${{ github.event_name != 'pull_request' }}\n          tags: registry.example.com/acme/app:1", True),
    ("uses: acme/build-action@v2\n        with:\n          push: true\n          tags: registry.example.com/acme/app:1", True),
    ("uses: acme/build-action@v2\n        with:\n          push: false\n          tags: registry.example.com/acme/app:1", False),
    ("uses: EndBug/add-and-commit@v9\n        with:\n          push: true\n          tag: v1.0.0", False),
    ("uses: ad-m/github-push-action@v0.8.0\n        with:\n          tags: true", False),
])
def test_an_action_with_build_push_inputs_pushes(tmp_path, step, pushes):
    text = f"on: push\njobs:\n  publish:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 30\n    steps:\n      - {step}\n"
    found = _rules(tmp_path, text, "publish.yml")
    assert ("GH005", 9) in found if pushes else "GH005" not in {rule for rule, _ in found}


@pytest.mark.parametrize(("command", "pushes"), [
    ('/kaniko/executor --context "$CI_PROJECT_DIR" $DESTINATIONS', True),
    ('/kaniko/executor --context "$CI_PROJECT_DIR" --destination "$CI_REGISTRY_IMAGE:1"', True),
    ('/kaniko/executor --context "$CI_PROJECT_DIR" --no-push --tar-path image.tar', False),
])
def test_kanikos_executor_pushes_unless_told_not_to(tmp_path, command, pushes):
    found = _rules(tmp_path, f"""\
    build:
      image: gcr.io/kaniko-project/executor:v1.23.2-debug
      timeout: 30 minutes
      rules:
        - if: $CI_COMMIT_REF_PROTECTED == "true"
      script:
        - '{command}'
    """)
    assert found == ([("GL020", 7)] if pushes else [])


def test_a_docker_config_written_from_a_variable_is_a_login_and_a_token_the_script_makes_is_not_a_project_secret(tmp_path):
    found = _rules(tmp_path, """\
    build:
      image: alpine:3.20.3
      script:
        - echo "{\\"auths\\":{\\"https://index.docker.io/v1/\\":{\\"auth\\":\\"$HUB_AUTH\\"}}}" > config.json
        - echo "{\\"auths\\":{\\"$CI_REGISTRY\\":{\\"auth\\":\\"$CI_REGISTRY_AUTH\\"}}}" > ci.json
    ecr:
      image: alpine:3.20.3
      script:
        - export ECR_AUTH=$(aws ecr get-login-password | base64)
        - echo "{\\"auths\\":{\\"ecr\\":{\\"auth\\":\\"$ECR_AUTH\\"}}}" > config.json
    """)
    assert [line for rule, line in found if rule == "GL022"] == [4]


def test_a_candidate_push_is_left_to_its_scan_but_a_tag_users_pull_is_published_unscanned(tmp_path):
    found = _rules(tmp_path, """\
    stages: [security, build, scan, release]
    default:
      image: docker:27.3.1-cli
      timeout: 30 minutes
    .protected:
      rules:
        - if: $CI_COMMIT_REF_PROTECTED == "true"
    deps:
      extends: .protected
      stage: security
      image: aquasec/trivy:0.57.1
      script:
        - trivy fs --exit-code 1 .
    merge:
      extends: .protected
      stage: build
      script:
        - docker buildx imagetools create -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" "$CI_REGISTRY_IMAGE:amd64-$CI_COMMIT_SHORT_SHA"
        - docker buildx imagetools create -t "$CI_REGISTRY_IMAGE:main" "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"
    scan:
      extends: .protected
      stage: scan
      script:
        - trivy image --exit-code 1 "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"
    release:
      extends: .protected
      stage: release
      script:
        - docker buildx imagetools create -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG" "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"
    """)
    assert [line for rule, line in found if rule == "GL020"] == [19]
