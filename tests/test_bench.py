"""The benchmark still runs: one smoke repetition, no timing assertions (timings belong in bench/)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bench.cost import Cost, cost_of, table
from tests.conftest import ROOT, tool


def test_benchmark_smoke_run():
    tool("gen-ci")
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for row in ("interpreter start (floor)", "cold render, 1 spec", "check in sync, 3 specs", "peer: validate 3 outputs", "warm render"):
        assert row in result.stdout
    assert "\npipeline cost\n" in result.stdout
    assert "| total " in result.stdout.split("\npipeline cost\n", 1)[1]


def test_lint_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "lint.py"), "--smoke"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "read, follow includes and run every rule" in result.stdout and "in 1 + 20 files" in result.stdout


# The counter on small pipelines of its own; real goldens change too often to pin their numbers.

GITLAB = textwrap.dedent("""\
    stages: [build]
    variables:
      PYTHON_IMAGE: python:3.13.1-slim
    .template:
      image: busybox:1.36
    build-api:
      stage: build
      image: docker:27.3.1-cli
      services:
        - name: docker:27.3.1-dind
      variables:
        CANDIDATE: gen-ci/api:$CI_JOB_ID
        SCANNER_IMAGE: aquasec/trivy:0.74.0
      script:
        - docker build --tag "$CANDIDATE" .
        - docker run --rm --network=host --entrypoint /bin/sh "$CANDIDATE" -c "true"
        - |
          scan() {
            docker run --rm --volume /var/run/docker.sock:/var/run/docker.sock \\
              "${SCANNER_IMAGE}" image --image-src docker "$@" "$CANDIDATE"
          }
          scan --format json > scan.json
          scan --severity HIGH,CRITICAL --exit-code 1
          docker run --rm "$SCANNER_IMAGE" version --format json
          docker run --rm --interactive "$PYTHON_IMAGE" python3 -c "print(1)"
    """)


def test_gitlab_job_counts_image_service_variable_images_and_each_scan_call():
    # Pulls: the job image, the dind service, trivy (once, though run three times) and the global
    # variable's python; the candidate is built here, not pulled. Scans: two calls; `version` is none.
    assert cost_of("gitlab.yml", GITLAB) == Cost(jobs=1, pulls=4, scans=2, lines=len(GITLAB.splitlines()))


EXTENDED = textwrap.dedent("""\
    .gen-ci-docker:
      image: docker:29.8.1-cli
      services: [docker:29.8.1-dind]
    .gen-ci-api:
      before_script:
        - docker run --rm aquasec/trivy:0.74.0 image "$CANDIDATE"
    build-api:
      extends: [.gen-ci-docker, .gen-ci-api]
      script: [echo built]
    publish-api:
      extends: [.gen-ci-docker, .gen-ci-api]
      script: [echo pushed]
""")


def test_gitlab_jobs_are_counted_with_what_they_extend():
    # Each job: the client image, the dind service and trivy, from its hidden parents; one scan each.
    assert cost_of("gitlab.yml", EXTENDED) == Cost(jobs=2, pulls=6, scans=2, lines=len(EXTENDED.splitlines()))


GITHUB = textwrap.dedent("""\
    on: push
    env:
      SCANNER_IMAGE: aquasec/trivy:0.74.0
    jobs:
      gate:
        runs-on: ubuntu-24.04
        steps:
          - run: echo ok
      test:
        runs-on: ubuntu-24.04
        container:
          image: node:22.11.0-alpine
        services:
          db:
            image: postgres:16.4-alpine
        steps:
          - uses: docker://alpine:3.20
          - env:
              TOOL: ${{ env.SCANNER_IMAGE }}
              CANDIDATE: ${{ steps.build.outputs.digest }}
            run: |
              docker pull "$CANDIDATE"
              docker run --rm --network=host "$TOOL" image "$CANDIDATE"
              docker run --rm postgres:16.4-alpine pg_isready
    """)


def test_github_job_counts_container_services_uses_and_docker_run():
    # Pulls of `test`: node, postgres (service and run: one image), alpine, trivy through two env
    # levels; the candidate is a run-time value. One scan.
    assert cost_of("github.yml", GITHUB) == Cost(jobs=2, pulls=4, scans=1, lines=len(GITHUB.splitlines()))


JENKINS = textwrap.dedent(r"""
    pipeline {
        agent { label 'docker' }
        environment {
            PYTHON_IMAGE = 'python:3.13.1-slim'
        }
        stages {
            stage('Build') {
                steps {
                    script { docker.image('maven:3.9.9').inside { sh 'mvn -q package' } }
                }
            }
            stage('Scan') {
                steps {
                    sh '''\
    scanner=anchore/grype:v0.116.0
    docker run --rm "$PYTHON_IMAGE" python3 -c 'print(1)'
    docker run --rm "$scanner" version
    docker run --rm "$scanner" "docker:$candidate" \\
      --fail-on high'''
                }
            }
        }
    }
    """).lstrip()


def test_jenkinsfile_counts_stages_images_and_grype_runs():
    # The continuation is written `\\` in Groovy, as gen-ci renders it; `version` is no scan.
    assert cost_of("Jenkinsfile", JENKINS) == Cost(jobs=2, pulls=3, scans=1, lines=len(JENKINS.splitlines()))


def test_compose_counts_services_images_and_inline_dockerfile_bases():
    compose = textwrap.dedent("""\
        services:
          dind:
            image: docker:27.3.1-dind
          agent:
            build:
              dockerfile_inline: |
                FROM docker:27.3.1-cli AS cli
                FROM jenkins/jenkins:2.568.2-lts-jdk21
                COPY --from=cli /usr/local/bin/docker /usr/local/bin/docker
          controller:
            image: jenkins/jenkins:2.568.2-lts-jdk21
        """)
    assert cost_of("jenkins_agent.yml", compose) == Cost(jobs=3, pulls=3, scans=0, lines=11)


def test_table_shows_changes_new_and_gone_outputs_and_a_total():
    before = {"a/github.yml": Cost(3, 7, 4, 662), "gone/gitlab.yml": Cost(2, 8, 5, 100)}
    now = {"a/github.yml": Cost(3, 8, 4, 441), "b/gitlab.yml": Cost(1, 2, 1, 50)}
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:6]]
            for line in table(now, before, "0.3.0").splitlines() if line.startswith("| ")}
    assert rows["a/github.yml"] == ["3 (0)", "8 (+1)", "4 (0)", "441 (-221)"]
    assert rows["b/gitlab.yml (new)"] == ["1", "2", "1", "50"]
    assert rows["gone/gitlab.yml (gone)"] == ["0 (-2)", "0 (-8)", "0 (-5)", "0 (-100)"]
    assert rows["total"] == ["4 (-1)", "10 (-5)", "5 (-4)", "491 (-271)"]
