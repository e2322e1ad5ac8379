"""gen-ci lint 0.10: pushes through a make target, a registry login a template gives its jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.findings import LOGIN_WITH_PASSWORD, PUSHES
from generator.lint.trust_rules import pushed_repositories
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


# 5. A tag read from a step output that a script computes with `$(...)` names no extra repository.

def test_a_step_output_computed_by_a_command_is_one_tag(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/b.yml", """\
        on:
          push:
            branches: [main]
        jobs:
          b:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            steps:
              - id: version
                run: |
                  V=$(grep -oP '(?<=FROM docker\\.io/library/nginx:).*' Dockerfile)
                  echo "version=$V" >> "$GITHUB_OUTPUT"
              - uses: docker/build-push-action@v6
                with:
                  push: true
                  tags: |
                    ghcr.io/acme/web:${{ steps.version.outputs.version }}
                    ghcr.io/acme/web:latest
        """)
    assert _found(workflow, "GH005") == [("GH005", 15)]


# 6. A variable that carries a secret under another name puts it in the arguments of the command
# that expands it: reported where the variable takes the secret, once for the jobs that expand it.

def test_a_variable_carrying_a_secret_into_arguments(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        variables:
          JIB_OPTS: "-Djib.to.auth.username=$CI_REGISTRY_USER -Djib.to.auth.password=$REGISTRY_PASSWORD"
          INDEX_URL: "https://__token__:$PYPI_TOKEN@pypi.example.com/simple"
          QUIET_OPTS: "-Djib.console=plain"
        .jib:
          image: maven:3.9.9-eclipse-temurin-21
          timeout: 10 minutes
          script:
            - mvn $QUIET_OPTS compile
            - mvn $JIB_OPTS jib:build
        branch:
          extends: .jib
        master:
          extends: .jib
        build:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - echo "$INDEX_URL" > /dev/null
            - docker build --build-arg PIP_EXTRA_INDEX_URL=$INDEX_URL -t registry.example.com/app:1.0 .
        """)
    findings = [f for f in lint(read_pipeline(gitlab)) if f.rule == "GL024"]
    assert sorted(f.line for f in findings) == [2, 3]
    assert "through $JIB_OPTS" in next(f.message for f in findings if f.line == 2)
    assert "(affects 2 jobs)" in next(f.message for f in findings if f.line == 2)


# 7. A secret decoded in place is the secret in the arguments; a value read from a file is not.

@pytest.mark.parametrize("line, flagged", [
    ("kubectl config set-credentials ci --token=$(echo $K8S_TOKEN | base64 -d)", True),
    ('kubectl config set-credentials ci --token="$(echo -n "${K8S_TOKEN}" | base64 --decode)"', True),
    ("kubectl config set-credentials ci --token=$(cat /run/secrets/token)", False),
    ("echo $(echo $KUBE_CONFIG | base64 -d) > kubeconfig", False),
])
def test_a_secret_decoded_in_place(tmp_path, line, flagged):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        deploy:
          image: bitnami/kubectl:1.31.4
          timeout: 10 minutes
          script:
            - {line}
        """)
    assert _found(gitlab, "GL024") == ([("GL024", 5)] if flagged else [])


# 8. A dind service whose command makes the daemon listen on plain TCP 2375 is reported there,
# beside a client pointed at 2375; a command that keeps TLS on 2376 is not.

DIND_JOB = """\
    package:
      image: docker:27.5.1-cli
      timeout: 10 minutes
      services:
        - name: docker:27.5.1-dind
          command: [COMMAND]
      variables:
        DOCKER_HOST: tcp://docker:PORT
        DOCKER_TLS_CERTDIR: /certs
        DOCKER_TLS_VERIFY: "1"
        DOCKER_CERT_PATH: /certs/client
      script:
        - docker build -t app:1 .
    """


@pytest.mark.parametrize("command, port, expected", [
    ('"--host=unix:///var/run/docker.sock", "--host=tcp://0.0.0.0:2375", "--mtu=1450"', "2375", [6, 8]),
    ('"-H", "tcp://:2375"', "2376", [6]),
    ('"--mtu=1450"', "2376", []),
])
def test_a_dind_service_command_listening_on_2375(tmp_path, command, port, expected):
    path = _write(tmp_path / ".gitlab-ci.yml", DIND_JOB.replace("COMMAND", command).replace("PORT", port))
    assert _found(path, "GL002", "GL010") == [("GL002", line) for line in expected]


# 9. Build's `--push` flag names no image (`--push --file x/Dockerfile`); each repository a block of
# builds pushes is reported where its `--tag` names it, not at a cache's `ref=` before it.

def test_a_push_flag_before_file_names_no_image_and_tags_place_findings(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - |
              docker buildx build \\
                --cache-from type=registry,ref=${CI_REGISTRY_IMAGE}/api:main \\
                --tag ${CI_REGISTRY_IMAGE}/api:${CI_COMMIT_REF_SLUG} \\
                --push \\
                --file api/Dockerfile \\
                api
              docker buildx build \\
                --cache-from type=registry,ref=${CI_REGISTRY_IMAGE}/worker:main \\
                --tag ${CI_REGISTRY_IMAGE}/worker:${CI_COMMIT_REF_SLUG} \\
                --push \\
                --file worker/Dockerfile \\
                worker
        """)
    findings = [f for f in lint(read_pipeline(gitlab)) if f.rule == "GL020"]
    assert sorted(f.line for f in findings) == [8, 14]
    assert not any("Dockerfile" in f.message for f in findings)


# 10. A service written as a mapping is judged where its `name:` is, also after an anchor's line;
# the anchor merged into another template is the same image, reported once.

def test_a_service_mapping_is_located_at_its_name(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .deps:
          services:
            - &db
              name: registry.example.com/ci/devdb
              alias: db
        .app:
          services:
            - <<: *db
        test:
          extends: [.deps]
          image: python:3.12.7
          timeout: 10 minutes
          script:
            - pytest
        """)
    assert _found(gitlab, "GL001") == [("GL001", 4)]


def _docker_job(*script: str) -> str:
    return "build:\n  image: docker:27.5.1-cli\n  timeout: 10 minutes\n  script:\n" + "".join(f"    - {line}\n" for line in script)


# 11. A build told --no-cache reads no cache: pushing the tag its --cache-from names shares nothing.

@pytest.mark.parametrize("no_cache, expected", [("--no-cache ", []), ("", [("GL021", 8)])])
def test_no_cache_reads_no_cache(tmp_path, no_cache, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", _docker_job(
        f"docker build --cache-from $CI_REGISTRY_IMAGE:latest {no_cache}-t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .",
        "docker tag $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA $CI_REGISTRY_IMAGE:latest",
        "trivy image --exit-code 1 $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        "docker push $CI_REGISTRY_IMAGE:latest",
    ))
    assert _found(gitlab, "GL021") == expected


# 12. A make target named for scanning the image is a scan; one scanning code is not.

@pytest.mark.parametrize("scan, expected", [("make scan-image", []), ("make secret-scan", [("GL020", 6)])])
def test_a_make_scan_target_is_a_scan(tmp_path, scan, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", _docker_job(f"{scan} TAG=$CI_PIPELINE_IID", "make push-image TAG=$CI_PIPELINE_IID"))
    assert _found(gitlab, "GL020") == expected


# 13. A default image that every job replaces is still judged, where it is written.

def test_a_default_image_no_job_uses_is_judged(tmp_path):
    replaced = _write(tmp_path / "a/.gitlab-ci.yml", """\
        default:
          image: registry.example.com/ci/tools:latest
        unit:
          image: python:3.12.7
          script:
            - pytest
        """)
    used = _write(tmp_path / "b/.gitlab-ci.yml", """\
        default:
          image: registry.example.com/ci/tools:latest
        unit:
          script:
            - pytest
        """)
    assert _found(replaced, "GL001") == [("GL001", 2)]
    assert _found(used, "GL001") == [("GL001", 2)]


# 14. A credential header carries a secret whatever its variable is called.

@pytest.mark.parametrize("header, flagged", [
    ('"Authorization: ${NEXUS_AUTHORIZATION}"', True),
    ('"X-API-Key: $UPLOAD_CRED"', True),
    ('"Authorization: Bearer $(cat /run/secrets/token)"', False),
    ('"Content-Type: $MEDIA_TYPE"', False),
    ('"Authorization"":"" ${NEXUS_AUTHORIZATION}"', True),
])
def test_a_credential_header_holds_a_secret(tmp_path, header, flagged):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        upload:
          image: curlimages/curl:8.11.1
          timeout: 10 minutes
          script:
            - 'curl -f -H {header} -T app.tgz https://nexus.example.com/repository/raw/'
        """)
    assert _found(gitlab, "GL024") == ([("GL024", 5)] if flagged else [])


def test_a_variable_kept_literal_carries_no_secret(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          variables:
            BUILD_NOTE:
              value: "made with $DEPLOY_TOKEN as plain text"
              expand: false
          script:
            - docker build --build-arg NOTE="$BUILD_NOTE" -t registry.example.com/app:1.0 .
        """)
    assert _found(gitlab, "GL024") == []


# 15. A job container another workflow of the repository builds is the project's own output.

def test_a_container_image_built_by_another_workflow_is_own_output(tmp_path):
    _write(tmp_path / ".github/workflows/images.yml", """\
        on:
          push:
            branches: [main]
        jobs:
          dind:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            steps:
              - uses: docker/build-push-action@v6
                with:
                  push: true
                  tags: ghcr.io/${{ github.repository }}/dind:latest
        """)
    tests = _write(tmp_path / ".github/workflows/tests.yml", """\
        on: push
        jobs:
          inside:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            container:
              image: ghcr.io/${{ github.repository }}/dind
            steps:
              - run: make test
          other:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            container:
              image: ghcr.io/acme/tools
            steps:
              - run: make lint
        """)
    assert _found(tests, "GH009") == [("GH009", 14)]


# 16. A Compose service built to a stage named for the daemon, from a Dockerfile not at hand, is one.

@pytest.mark.parametrize("target, expected", [("dind", []), ("runner", [("JK102", 7)])])
def test_a_service_built_to_a_dind_stage_is_a_daemon(tmp_path, target, expected):
    compose = _write(tmp_path / "docker-compose.yml", f"""\
        services:
          runner:
            build:
              context: .
              dockerfile: Dockerfile
              target: {target}
            privileged: true
        """)
    assert _found(compose, "JK102") == expected


# 17. A folded scalar keeps the line breaks before more-indented option lines; a variable of options
# on its own line joins its command once filled in. The cache flags a template's variable holds are
# reported where the variable is written, once for its jobs.

def test_a_folded_kaniko_command_with_options_on_their_own_lines(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .kaniko:
          image:
            name: gcr.io/kaniko-project/executor:v1.23.2-debug
            entrypoint: [""]
          timeout: 30 minutes
          variables:
            CACHE_ARGS: >-
              --cache
              --cache-repo=$ECR/app-cache
        build:
          extends: .kaniko
          script:
            - >-
                /kaniko/executor
                  $CACHE_ARGS
                  --context=$CI_PROJECT_DIR
                  --destination=$ECR/app:$CI_COMMIT_SHORT_SHA
        build:tools:
          extends: .kaniko
          script:
            - >-
                /kaniko/executor
                  $CACHE_ARGS
                  --context=$CI_PROJECT_DIR/tools
                  --destination=$ECR/tools:$CI_COMMIT_SHORT_SHA
        """)
    findings = [f for f in lint(read_pipeline(gitlab)) if f.rule in ("GL020", "GL007", "GL021")]
    assert sorted((f.rule, f.line) for f in findings) == [
        ("GL007", 10), ("GL007", 18), ("GL020", 17), ("GL020", 25), ("GL021", 7),
    ]
    assert "(affects 2 jobs)" in next(f.message for f in findings if f.rule == "GL021")


# 18. kaniko's default cache sits beside whatever image a variable of destinations names; a
# here-document that writes a wrapper script runs nothing where it is written.

def test_kaniko_default_cache_beside_a_variable_destination(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image:
            name: gcr.io/kaniko-project/executor:v1.23.2-debug
            entrypoint: [""]
          timeout: 30 minutes
          script:
            - DESTINATIONS="--destination $REGISTRY/app:$CI_COMMIT_REF_SLUG"
            - /kaniko/executor --context "$CI_PROJECT_DIR" --cache=true $DESTINATIONS
        wrapper:
          image: alpine:3.20
          timeout: 10 minutes
          script:
            - |
              cat <<-EOF > build.sh
              /kaniko/executor --cache --context dir://. "\\$@"
              EOF
        """)
    assert _found(gitlab, "GL021") == [("GL021", 8)]


# 19. Separators inside a quoted argument are the argument's (`sed -e "s|__PASS__|${DB_PASS}|g"`).

def test_a_secret_in_a_quoted_sed_expression(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        render:
          image: alpine:3.20
          timeout: 10 minutes
          script:
            - sed -e "s|__DB_HOST__|${DB_HOST}|g" -e "s|__DB_PASS__|${DB_PASS}|g" stack.tpl > stack.yml
            - sed -e "s|__DB_HOST__|${DB_HOST}|g" stack.tpl > stack.yml
        """)
    assert _found(gitlab, "GL024") == [("GL024", 5)]


# 21. A setup-buildx step written in the repository's composite action is judged there.

def test_a_moving_buildx_in_a_composite_action(tmp_path):
    _write(tmp_path / ".github/actions/build/action.yml", """\
        name: build
        runs:
          using: composite
          steps:
            - uses: docker/setup-buildx-action@v3
              with:
                version: "lab:latest"
        """)
    workflow = _write(tmp_path / ".github/workflows/ci.yml", """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            steps:
              - uses: actions/checkout@v4
              - uses: ./.github/actions/build
        """)
    found = [(f.rule, Path(f.file).name, f.line) for f in lint(read_pipeline(workflow)) if f.rule == "GH004"]
    assert found == [("GH004", "action.yml", 7)]


# 22. A Jenkins stage's name is a label, not a command; a shared library's step named for pushing
# an image pushes, one named for scanning it with a scanner scans, and a function the file defines
# is read where it is called.

def test_jenkins_stage_names_and_library_steps(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        @Library('ci') _
        pipeline {
          agent any
          stages {
            stage("docker push") {
              steps {
                echo 'publishing'
              }
            }
            stage('Release') {
              steps {
                DockerPush(imageName: 'acme/app', imageTag: env.TAG)
                k8sPushImage(image, false)
              }
            }
          }
        }
        """)
    assert _found(jenkinsfile, "JK020") == [("JK020", 12)]
    scanned = _write(tmp_path / "scanned/Jenkinsfile", jenkinsfile.read_text().replace(
        "echo 'publishing'", "trivyImageScan(imageName: 'acme/app', imageTag: env.TAG)"))
    assert _found(scanned, "JK020") == []
    source_scan = _write(tmp_path / "source/Jenkinsfile", jenkinsfile.read_text().replace(
        "echo 'publishing'", "trivyFileSystemScan(path: '.')"))
    assert _found(source_scan, "JK020") == [("JK020", 12)]


# 23. The dind image's entrypoint puts dockerd first when the first word is a flag: a later word may
# be a flag's value.

@pytest.mark.parametrize("command, expected", [
    ('["--registry-mirror", "https://mirror.gcr.io"]', []),
    ('["dockerd", "--mtu=1450"]', [("GL004", 7)]),
])
def test_a_dind_command_needs_only_a_leading_flag(tmp_path, command, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          services:
            - name: docker:27.5.1-dind
              alias: docker
              command: {command}
          script:
            - docker build -t app:1 .
        """)
    assert _found(gitlab, "GL004") == expected


# 24. trivy's and helm's registry logins take a password flag as docker's does.

@pytest.mark.parametrize("login", [
    'trivy registry login --username "$CI_REGISTRY_USER" --password ${CI_REGISTRY_PASSWORD} "$CI_REGISTRY"',
    'helm registry login registry-1.docker.io --username ci --password="${HELM_PASSWORD}"',
])
def test_trivy_and_helm_registry_logins_with_a_password_flag(tmp_path, login):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", _docker_job(login))
    assert _found(gitlab, "GL006", "GL024") == [("GL006", 5)]


# 25. A template no job here uses, with a dind service and no TLS setting, rests on the image's defaults.

def test_an_unused_template_with_dind_rests_on_tls_defaults(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .docker-build:
          image: docker:27.5.1-cli
          services:
            - docker:27.5.1-dind
          script:
            - docker build -t app:1 .
        """)
    assert _found(gitlab, "GL010", "GL002") == [("GL010", 4)]


# 26. An image under $CI_REGISTRY_IMAGE is the project's own output, whoever builds it; another
# project's image in the instance registry is not.

def test_an_image_in_the_project_registry_is_own_output(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        lint:
          image: ${CI_REGISTRY_IMAGE}/test:latest
          timeout: 10 minutes
          script:
            - make lint
        other:
          image: $CI_REGISTRY/platform/tools:latest
          timeout: 10 minutes
          script:
            - make lint
        """)
    assert _found(gitlab, "GL001") == [("GL001", 7)]


def test_a_carried_secret_is_placed_on_its_line_of_a_folded_value(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        variables:
          GRADLE_FLAGS: >-
            --no-daemon
            -PgitlabAuthHeaderName=Job-Token
            -PgitlabAuthHeaderValue=$CI_JOB_TOKEN
        build:
          image: gradle:8.11.1-jdk21
          timeout: 10 minutes
          script:
            - ./gradlew $GRADLE_FLAGS build
        """)
    assert _found(gitlab, "GL024") == [("GL024", 5)]


# 27. A file included under rules brings its jobs in only where the rules hold.

def test_jobs_of_a_file_included_under_rules(tmp_path):
    _write(tmp_path / "ci/build.yml", """\
        publish:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - echo "$REGISTRY_PASSWORD" | docker login -u ci --password-stdin registry.example.com
            - docker build -t registry.example.com/app:1.0 .
            - docker push registry.example.com/app:1.0
        """)
    root = _write(tmp_path / ".gitlab-ci.yml", """\
        include:
          - local: ci/build.yml
            rules:
              - if: $CI_COMMIT_BRANCH == "main"
        """)
    findings = {f.rule: f for f in lint(read_pipeline(root)) if f.rule in ("GL007", "GL022")}
    assert list(findings) == ["GL007"] and findings["GL007"].level == "warning"


# 28. AWS's access key is the key's ID; the secret access key is the secret.

def test_an_aws_access_key_id_is_no_secret(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", _docker_job(
        "aws configure set aws_access_key_id $AWS_ACCESS_KEY",
        "aws configure set aws_secret_access_key $AWS_SECRET_ACCESS_KEY",
    ))
    assert _found(gitlab, "GL024") == [("GL024", 6)]


# 29. Jenkins: a push over several lines is reported where it names where the image goes; a block
# comment runs nothing; each secret of a continued command on its own line.

def test_jenkins_push_place_block_comments_and_secret_lines(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent any
          environment {
            DB_PASSWORD = credentials('db-password')
            SECRET_KEY = credentials('secret-key')
          }
          stages {
            /*
            stage('Old') {
              steps {
                sh 'git remote set-url origin "https://bot:${GITHUB_TOKEN}@github.com/acme/app"'
              }
            }
            */
            stage('Build') {
              steps {
                sh \"\"\"
                  /kaniko/executor \\\\
                    --context=`pwd` \\\\
                    --cache=true \\\\
                    --destination=registry.example.com/app:1.0
                \"\"\"
                sh \"\"\"
                  helm upgrade --install \\\\
                    --set server.dbPassword=\\\\$DB_PASSWORD \\\\
                    --set server.secretKey=\\\\$SECRET_KEY \\\\
                    app ./chart
                \"\"\"
              }
            }
          }
        }
        """)
    assert _found(jenkinsfile, "JK020", "JK024") == [("JK020", 21), ("JK024", 25), ("JK024", 26)]


# 30. kaniko destinations in quotes, two registries: each repository where its destination is written.

def test_quoted_destinations_of_two_registries(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image:
            name: gcr.io/kaniko-project/executor:v1.23.2-debug
            entrypoint: [""]
          timeout: 30 minutes
          only:
            - main
          script:
            - /kaniko/executor
              --context "${CI_PROJECT_DIR}"
              --destination "registry.example.com/acme/app:${VERSION}"
              --destination "acme/app:${VERSION}"
        """)
    assert _found(gitlab, "GL020") == [("GL020", 11), ("GL020", 12)]


# 31. A Docker config filled by printf's `%s` from a credential the script made takes that secret.

def test_a_docker_config_written_with_printf_placeholders(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        validate:
          image:
            name: gcr.io/kaniko-project/executor:v1.23.2-debug
            entrypoint: [""]
          timeout: 30 minutes
          script:
            - |
              AUTH=$(printf '%s:%s' "$ARTIFACTORY_USER" "$ARTIFACTORY_TOKEN" | base64 | tr -d '\\n')
              printf '{"auths":{"%s":{"auth":"%s"}}}' "$ARTIFACTORY_REGISTRY" "$AUTH" > /kaniko/.docker/config.json
            - /kaniko/executor --context "$CI_PROJECT_DIR" --no-push
        """)
    assert _found(gitlab, "GL022") == [("GL022", 9)]


# 32. A scanner's name in a path (`.cache-trivy`, `trivy.json`), an installer's address or an echo
# scans nothing; `trivy fs` reads the source. Pushes after such jobs are unscanned.

def test_scanner_names_that_scan_nothing(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        stages: [security, build]
        security:trivy:
          stage: security
          image: alpine:3.20
          timeout: 10 minutes
          script:
            - mkdir -p .cache-trivy
            - curl -sSfL https://raw.githubusercontent.com/anchore/grype/main/install.sh | sh -s -- -b /usr/local/bin
            - echo "grype installed"
            - trivy fs --cache-dir .cache-trivy --output trivy.json .
        build:
          stage: build
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - docker build -t registry.example.com/app:1.0 .
            - docker push registry.example.com/app:1.0
        """)
    assert _found(gitlab, "GL020") == [("GL020", 17)]


@pytest.mark.parametrize("line, pushes", [
    ("crane index append -t registry.example.com/app:1.0 -m registry.example.com/app:1.0-amd64", True),
    ("bundle exec kamal deploy -d demo", True),
    ("kamal deploy --skip-push", False),
    ("kamal app logs", False),
])
def test_crane_index_append_and_kamal_push(line, pushes):
    assert bool(PUSHES.search(line)) == pushes


# 33. A quoted string over several lines is one word, and a command that only assigns runs nothing;
# sshpass's password opens the ssh session a remote login runs in, not the registry.

def test_a_multi_line_assignment_and_a_remote_login_over_sshpass(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:
          image: alpine:3.20
          timeout: 10 minutes
          script:
            - |
              ENTRIES="{}"
              if [ -n "${HUB_PASSWORD:-}" ]; then
                ENTRIES="${ENTRIES},
              \\"password\\": \\"${HUB_PASSWORD}\\""
              fi
              printf '%s' "$ENTRIES" > entries.json
            - sshpass -p ${SSH_PASSWORD} ssh deploy@host "echo ${CI_REGISTRY_PASSWORD} | docker login -u ${CI_REGISTRY_USER} --password-stdin ${CI_REGISTRY}"
        """)
    assert _found(gitlab, "GL022", "GL024") == [("GL024", 12)]


# 34. A child pipeline runs only where its parent's workflow and trigger job do.

def test_a_child_pipeline_inherits_its_trigger_refs(tmp_path):
    _write(tmp_path / "ci/child.yml", """\
        containerize:
          image: docker:27.5.1-cli
          timeout: 10 minutes
          script:
            - docker build -t registry.example.com/app:1.0 .
            - trivy image --exit-code 1 registry.example.com/app:1.0
            - docker push registry.example.com/app:1.0
        """)
    root = _write(tmp_path / ".gitlab-ci.yml", """\
        workflow:
          rules:
            - if: $CI_COMMIT_BRANCH == "master"
        images:
          trigger:
            include: ci/child.yml
        """)
    (finding,) = [f for f in lint(read_pipeline(root)) if f.rule == "GL007"]
    assert finding.level == "warning" and "branch master" in finding.message


# 35. A Jenkins scan covers the images it names: another image pushed after it is still unscanned.

def test_a_jenkins_scan_covers_only_the_images_it_names(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent any
          environment {
            API = 'acme/shop-api'
            WEB = 'acme/shop-web'
          }
          stages {
            stage('Trivy File System Scanning') {
              steps { trivyFileSystemScan() }
            }
            stage('Build') {
              steps {
                sh 'docker build -t shop-api:${BUILD_NUMBER} api'
                sh 'docker build -t shop-web:${BUILD_NUMBER} web'
              }
            }
            stage('Scan') {
              steps {
                sh 'trivy image --exit-code 1 shop-api:${BUILD_NUMBER}'
              }
            }
            stage('Push') {
              steps {
                sh 'docker tag shop-api:${BUILD_NUMBER} ${API}:${BUILD_NUMBER}'
                sh 'docker push ${API}:${BUILD_NUMBER}'
                sh 'docker push ${WEB}:${BUILD_NUMBER}'
                dockerPush(
                  imageName: env.API,
                  imageTag: env.BUILD_NUMBER
                )
                dockerPush(
                  imageName: env.WEB,
                  imageTag: env.BUILD_NUMBER
                )
              }
            }
          }
        }
        """)
    # The stage named for a file-system scan scans nothing; the image scan reads shop-api alone, and
    # the stage's second push of shop-web is the same image's.
    assert _found(jenkinsfile, "JK020") == [("JK020", 26)]
    both = _write(tmp_path / "both/Jenkinsfile", jenkinsfile.read_text().replace(
        "trivy image --exit-code 1 shop-api:${BUILD_NUMBER}", "trivy image shop-api:${BUILD_NUMBER} && trivy image shop-web:${BUILD_NUMBER}"))
    assert _found(both, "JK020") == []
    # A scan whose image the lint cannot tell covers every push after it.
    unnamed = _write(tmp_path / "unnamed/Jenkinsfile", jenkinsfile.read_text().replace(
        "trivy image --exit-code 1 shop-api:${BUILD_NUMBER}", 'trivy image "$IMAGE_UNDER_TEST"'))
    assert _found(unnamed, "JK020") == []
    library = _write(tmp_path / "library/Jenkinsfile", jenkinsfile.read_text().replace(
        "sh 'trivy image --exit-code 1 shop-api:${BUILD_NUMBER}'", "trivyImageScan(imageName: env.WEB, imageTag: env.BUILD_NUMBER)"))
    assert _found(library, "JK020") == [("JK020", 25)]


# 36. A method the file defines that pushes the image its arguments name pushes another image at
# each call with other arguments; its body is read once, at the first call.

def test_each_call_of_a_pushing_method_pushes_its_own_image(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent any
          stages {
            stage('Front') {
              steps { script { buildAndPush('web', 'front') } }
            }
            stage('Back') {
              steps { script { buildAndPush('api', 'back') } }
            }
            stage('Back again') {
              steps { script { buildAndPush('api', 'back') } }
            }
          }
        }

        def buildAndPush(String context, String name) {
          sh \"\"\"
            /kaniko/executor --context=`pwd`/${context} \\\\
              --destination=${env.REGISTRY}/${name}:${env.BUILD_NUMBER}
          \"\"\"
        }

        def notify(String channel) {
          sh "curl -X POST https://chat.example.com/${channel}"
        }
        """)
    assert _found(jenkinsfile, "JK020") == [("JK020", 8), ("JK020", 19)]
    # A method whose push names no parameter pushes one image however it is called.
    fixed = _write(tmp_path / "fixed/Jenkinsfile", jenkinsfile.read_text().replace("${name}:", "app:"))
    assert _found(fixed, "JK020") == [("JK020", 19)]
    scanned = _write(tmp_path / "scanned/Jenkinsfile", jenkinsfile.read_text().replace(
        "stage('Front') {", "stage('Scan') { steps { sh 'trivy fs . && trivy image \"$CANDIDATE\"' } }\n    stage('Front') {"))
    assert _found(scanned, "JK020") == []


# 37. An engine's own options before its push subcommand; push's options with values name no image.

@pytest.mark.parametrize(("line", "pushes"), [
    ('buildah --storage-driver vfs push -f v2s2 "$IMAGE:$CI_COMMIT_SHORT_SHA"', True),
    ("buildah --storage-driver=vfs push reg.example.com/app:1", True),
    ("docker --config /tmp/ci push reg.example.com/app:1", True),
    ("docker -H tcp://docker:2376 --tlsverify push reg.example.com/app:1", True),
    ("podman --remote push reg.example.com/app:1", True),
    ("docker run --rm alpine push", False),
    ("docker --debug tag app reg.example.com/push", False),
    ("docker exec -it box git push", False),
])
def test_an_engine_push_after_the_engines_own_options(line, pushes):
    assert bool(PUSHES.search(line)) is pushes


@pytest.mark.parametrize("line", [
    'buildah --storage-driver vfs push -f v2s2 "$CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHORT_SHA"',
    "podman push --authfile /run/auth.json $CI_REGISTRY_IMAGE/api:1",
    "docker push -q $CI_REGISTRY_IMAGE/api:1",
])
def test_a_push_option_with_a_value_names_no_image(line):
    assert pushed_repositories(line) == {"$CI_REGISTRY_IMAGE/api"}


@pytest.mark.parametrize(("line", "flagged"), [
    ('docker --config "$CI_PROJECT_DIR/.docker" login -u ci -p "$REGISTRY_PASSWORD" reg.example.com', True),
    ("podman --remote login --password $REGISTRY_PASSWORD reg.example.com", True),
    ('docker --config "$CI_PROJECT_DIR/.docker" login -u ci --password-stdin reg.example.com', False),
    ("docker run --rm alpine login -p x", False),
])
def test_a_login_after_the_engines_own_options(line, flagged):
    assert bool(LOGIN_WITH_PASSWORD.search(line)) is flagged


# 38. A job the including file writes again is deep-merged into the included job, as GitLab does.

def test_a_job_written_again_by_the_including_file_keeps_the_included_keys(tmp_path):
    _write(tmp_path / "ci/lint.yml", """\
        yaml:
          stage: test
          image: sdesbure/yamllint
          script:
            - yamllint .
        """)
    root = _write(tmp_path / ".gitlab-ci.yml", """\
        include:
          - local: ci/lint.yml
        yaml:
          allow_failure: true
        """)
    findings = [f for f in lint(read_pipeline(root)) if f.rule == "GL001"]
    assert [(Path(f.file).name, f.line) for f in findings] == [("lint.yml", 3)]
    # The including file's own image replaces the included one, which then runs nowhere.
    pinned = _write(tmp_path / "pinned/.gitlab-ci.yml", root.read_text().replace(
        "allow_failure: true", "image: pipelinecomponents/yamllint:0.33.0"))
    _write(tmp_path / "pinned/ci/lint.yml", (tmp_path / "ci/lint.yml").read_text())
    assert _found(pinned, "GL001") == []


# 39. A script's own variable that takes a secret under another name carries it into the command
# that expands it (GL024), reported where it is expanded.

def test_a_script_variable_carries_a_secret_into_a_later_command(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        deploy:
          image: alpine/helm:3.16.2
          script:
            - |
              EXTRA_ARGS=""
              if [ -n "${STRIPE_SECRET_KEY:-}" ]; then
                EXTRA_ARGS="--set-string secrets.stripeKey=${STRIPE_SECRET_KEY}"
              fi
              QUOTED='--set-string literal=$NOT_EXPANDED_PASSWORD'
              helm upgrade --install app ./chart \\
                --set image.tag="$CI_COMMIT_SHORT_SHA" \\
                ${EXTRA_ARGS} \\
                ${QUOTED} \\
                --wait
            - export AUTH_ARGS="-u ci:${DEPLOY_PASSWORD}"
            - curl -fsS ${AUTH_ARGS} https://deploy.example.com/hook
            - export DB_PASSWORD="${VAULT_DB_PASSWORD}"
            - psql --dbname=app -c 'select 1'
        """)
    assert _found(gitlab, "GL024") == [("GL024", 12), ("GL024", 16)]


def test_a_script_variable_carries_a_secret_in_jenkins_and_github(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent any
          stages {
            stage('Deploy') {
              steps {
                withCredentials([string(credentialsId: 'db', variable: 'DB_PASSWORD')]) {
                  sh '''
                    HELM_ARGS="--set db.password=${DB_PASSWORD}"
                    PLAIN_ARGS="--set db.host=db.internal"
                    helm upgrade --install app ./chart ${PLAIN_ARGS} \\\\
                      ${HELM_ARGS}
                  '''
                }
              }
            }
          }
        }
        """)
    assert _found(jenkinsfile, "JK024") == [("JK024", 11)]
    [finding] = [f for f in lint(read_pipeline(jenkinsfile)) if f.rule == "JK024"]
    assert "$DB_PASSWORD (through $HELM_ARGS)" in finding.message and finding.level == "error"
    workflow = _write(tmp_path / ".github/workflows/ci.yml", """\
        name: ci
        on: push
        permissions: {}
        jobs:
          build:
            runs-on: ubuntu-24.04
            timeout-minutes: 10
            steps:
              - run: |
                  ARGS="--build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }}"
                  LABELS="--label revision=${{ github.sha }}"
                  docker build $LABELS -t app:1 .
                  docker build $ARGS -t app:1 .
        """)
    assert _found(workflow, "GH024") == [("GH024", 13)]


# 40. A GitLab scanning job covers the images it names, and copies of them.

def test_a_gitlab_scan_covers_only_the_images_it_names(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        stages: [build, scan, release]
        default:
          timeout: 20m
        build:
          stage: build
          image: docker:27.5.1-cli
          services: [docker:27.5.1-dind]
          script:
            - docker build -t $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA api
            - docker build -t $CI_REGISTRY_IMAGE/web:$CI_COMMIT_SHA web
            - docker push $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA
            - docker push $CI_REGISTRY_IMAGE/web:$CI_COMMIT_SHA
        scan:
          stage: scan
          image: aquasec/trivy:0.58.1
          script:
            - trivy image --exit-code 1 $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA
        release:
          stage: release
          image: docker:27.5.1-cli
          services: [docker:27.5.1-dind]
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          script:
            - docker buildx imagetools create -t ghcr.io/acme/api:latest $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA
            - docker buildx imagetools create -t $CI_REGISTRY_IMAGE/web:latest $CI_REGISTRY_IMAGE/web:$CI_COMMIT_SHA
        """)
    # The build's pushes are candidates a later job scans; the release publishes web, which no scan read.
    assert [f.line for f in lint(read_pipeline(gitlab)) if f.rule == "GL020"] == [26]
    unnamed = _write(tmp_path / "unnamed/.gitlab-ci.yml", gitlab.read_text().replace(
        "trivy image --exit-code 1 $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHA", 'trivy image --exit-code 1 "$IMAGE_UNDER_TEST"'))
    assert _found(unnamed, "GL020") == []


# 41. A scan only other branches run covers no push; a tag with latest in it is pulled by users.

PROMOTED = """\
    stages: [build, scan, promote]
    default: {timeout: 15m}
    build:
      stage: build
      image: docker:28.0.4-cli
      services: [{name: "docker:28.0.4-dind", alias: docker}]
      rules:
        - if: $CI_COMMIT_BRANCH == "dev"
      script:
        - docker buildx build -t $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHORT_SHA -t $CI_REGISTRY_IMAGE/api:TAG --push .
    scan:
      stage: scan
      image: aquasec/trivy:0.58.1
      rules:
        - if: SCANNED
      script:
        - trivy image --exit-code 1 $CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHORT_SHA
    promote:
      stage: promote
      image: {name: "gcr.io/go-containerregistry/crane:v0.20.2", entrypoint: [""]}
      rules:
        - if: $CI_COMMIT_BRANCH == "main"
      script:
        - crane copy $CI_REGISTRY_IMAGE/api:dev-latest $CI_REGISTRY_IMAGE/api:prod-latest
    """


@pytest.mark.parametrize(("tag", "scanned", "expected"), [
    ("dev-latest", '$CI_COMMIT_BRANCH == "dev"', [10, 24]),  # scanned on dev; promoted on main, where no scan runs
    ("candidate", '$CI_COMMIT_BRANCH == "dev"', [10, 24]),  # no job of dev's pipeline publishes it after the scan
    ("candidate", '$CI_COMMIT_BRANCH == "dev" || $CI_COMMIT_BRANCH == "main"', []),
    ("candidate", "$CI_COMMIT_BRANCH == $SCAN_BRANCH", []),  # a variable may name main: not known apart
    ("latest-arm64", '$CI_COMMIT_BRANCH == "dev" || $CI_COMMIT_BRANCH == "main"', [10]),  # users pull it unscanned
    ("latest", '$CI_COMMIT_BRANCH == "dev"', [10, 24]),
])
def test_a_scan_of_other_branches_covers_no_push(tmp_path, tag, scanned, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", PROMOTED.replace("TAG", tag).replace("SCANNED", scanned))
    assert [f.line for f in lint(read_pipeline(gitlab)) if f.rule == "GL020"] == expected


# 42. A variable that renames GitLab's own job token is scoped to the job as the token is.

def test_a_renamed_job_token_is_no_stored_registry_credential(tmp_path):
    job = """\
        publish:
          image: docker:27.5.1-cli
          services: [docker:27.5.1-dind]
          timeout: 20m
          variables:
            DOCKER_REGISTRY_PASSWORD: VALUE
          script:
            - echo "${DOCKER_REGISTRY_PASSWORD}" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
            - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .
        """
    renamed = _write(tmp_path / "renamed/.gitlab-ci.yml", job.replace("VALUE", '"${CI_REGISTRY_PASSWORD}"'))
    assert _found(renamed, "GL022") == []
    stored = _write(tmp_path / "stored/.gitlab-ci.yml", job.replace("VALUE", '"${CI_REGISTRY_PASSWORD}${HUB_TOKEN}"'))
    assert _found(stored, "GL022") == [("GL022", 8)]



def test_a_renamed_job_token_written_into_a_docker_config_is_no_stored_credential(tmp_path):
    job = """\
        publish:
          image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
          timeout: 20m
          variables:
            REGISTRY_AUTH: VALUE
          script:
            - echo "{\\"auths\\":{\\"$CI_REGISTRY\\":{\\"username\\":\\"ci\\",\\"password\\":\\"$REGISTRY_AUTH\\"}}}" > /kaniko/.docker/config.json
            - /kaniko/executor --context . --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
        """
    renamed = _write(tmp_path / "renamed/.gitlab-ci.yml", job.replace("VALUE", '"${CI_JOB_TOKEN}"'))
    assert _found(renamed, "GL022") == []
    stored = _write(tmp_path / "stored/.gitlab-ci.yml", job.replace("VALUE", '"${DEPLOY_AUTH}"'))
    assert _found(stored, "GL022") == [("GL022", 7)]


@pytest.mark.parametrize(("line", "repositories"), [
    ("crane copy --all-tags=false $IMAGE:dev-latest $IMAGE:prod-latest", {"$IMAGE"}),
    ("crane cp registry.example.com/team/api:1 ghcr.io/acme/api:1", {"ghcr.io/acme/api"}),
    ("skopeo copy --all docker://registry.example.com/api:1 docker://ghcr.io/acme/api:1", {"ghcr.io/acme/api"}),
    ("regctl image copy registry.example.com/api:1 ghcr.io/acme/api:1", {"ghcr.io/acme/api"}),
    # Options that take a value come before the operands: the destination is read from the end.
    ("skopeo copy --src-creds ci:$PULL_TOKEN docker://registry.example.com/api:1 docker://ghcr.io/acme/api:1 && echo done", {"ghcr.io/acme/api"}),
    ('skopeo copy --dest-username "$GH_USER" --dest-password "$GH_TOKEN" "$SOURCE" docker://ghcr.io/acme/web:2', {"ghcr.io/acme/web"}),
    ('crane copy "$SOURCE" "$TARGET"', {""}),  # a whole reference in a variable names no repository
])
def test_a_registry_copy_pushes_its_destination(line, repositories):
    assert pushed_repositories(line) == repositories


def test_two_copies_of_two_images_are_two_unscanned_pushes(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        promote:
          image: {name: "gcr.io/go-containerregistry/crane:v0.20.2", entrypoint: [""]}
          timeout: 5m
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          script:
            - crane copy $CI_REGISTRY_IMAGE/api:rc $CI_REGISTRY_IMAGE/api:1
            - crane copy $CI_REGISTRY_IMAGE/web:rc $CI_REGISTRY_IMAGE/web:1
        """)
    assert _found(gitlab, "GL020") == [("GL020", 7), ("GL020", 8)]


# 43. GH010: what ssh runs, runs on the remote host's engine.

@pytest.mark.parametrize(("step", "expected"), [
    ('- run: ssh deploy@prod.example.com "cd /srv/app && docker compose pull && docker compose up -d"', []),
    ("- uses: appleboy/ssh-action@v1.2.0\n  with:\n    host: prod.example.com\n    script: docker compose up -d", []),
    ('- run: ssh-keyscan prod.example.com >> ~/.ssh/known_hosts && docker compose up -d', [("GH010", 5)]),
    ('- run: ssh prod.example.com "mkdir -p /srv/app" && docker build -t app:1 .', [("GH010", 5)]),
])
def test_an_engine_that_ssh_runs_remotely_needs_no_runner_timeout(tmp_path, step, expected):
    workflow = _write(tmp_path / ".github/workflows/deploy.yml", """\
        name: deploy
        on: push
        permissions: {}
        jobs:
          deploy:
            runs-on: ubuntu-24.04
            steps:
              STEP
        """.replace("STEP", step.replace("\n", "\n              ")))
    assert _found(workflow, "GH010") == expected


# 44. holdout15's general misses: aliases, major-only dind tags, rule variables, needs over stages, ...

def test_a_script_shared_by_alias_gets_its_timeout_finding_once_at_its_anchor(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .steps:
          script: &build
            - docker build -t $CI_REGISTRY_IMAGE/$PART:1 $PART
        api:
          variables: {PART: api}
          script: *build
        web:
          variables: {PART: web}
          script: *build
        """)
    findings = [f for f in lint(read_pipeline(gitlab)) if f.rule == "GL008"]
    assert [(f.line, f.message.endswith("(affects 2 jobs)")) for f in findings] == [(1, True)]


@pytest.mark.parametrize(("tag", "rule"), [("19-dind", "GL010"), ("19.03-dind", "GL010"), ("18-dind", "GL002"), ("18.09-dind", "GL002")])
def test_a_dind_tag_naming_only_the_major_is_that_majors_newest_release(tmp_path, tag, rule):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build:
          image: docker:{tag.split("-")[0]}
          services: ["docker:{tag}"]
          timeout: 10m
          script:
            - docker build -t app:1 .
        """)
    assert [f.rule for f in lint(read_pipeline(gitlab)) if f.rule in ("GL002", "GL010")] == [rule]


@pytest.mark.parametrize(("tag", "pinned"), [
    ("python3.8.5-slim", True), ("node18.17", True), ("jdk17", False), ("current-alpine3.18", False), ("stable-python3.8", False),
])
def test_a_runtimes_dotted_release_in_a_tag_pins_it(tag, pinned):
    from generator.lint.images import tag_names_a_version
    assert tag_names_a_version(tag) is pinned


def test_the_top_level_image_every_job_replaces_is_still_reported(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        image: alpine:latest
        lint:
          image: python:3.12-slim
          script: [ruff check .]
        """)
    assert _found(gitlab, "GL001") == [("GL001", 1)]
    pinned = _write(tmp_path / "pinned/.gitlab-ci.yml", gitlab.read_text().replace("alpine:latest", "alpine:3.20"))
    assert _found(pinned, "GL001") == []


@pytest.mark.parametrize(("tls", "expected"), [("", [("GL002", 5)]), ("DOCKER_TLS: 'true'", [])])
def test_the_docker_clients_tls_variable_configures_tls(tmp_path, tls, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build:
          image: registry.example.com/ci/buildx:2.1.0
          timeout: 10m
          services:
            - docker:27.3.1-dind
          variables:
            DOCKER_TLS_CERTDIR: /certs
            DOCKER_CERT_PATH: /certs/client
            DOCKER_HOST: tcp://docker:2376
            {tls}
          script:
            - docker build -t app:1 .
        """)
    assert _found(gitlab, "GL002") == expected


@pytest.mark.parametrize(("assignment", "expected"), [
    ('if [ "$DEPLOY" = true ]; then export BUILD_SECRET_FLAGS="--secret id=SENTRY_TOKEN"; else export BUILD_SECRET_FLAGS=""; fi', []),
    ('export BUILD_SECRET_FLAGS="$(cat /run/flags)"', [("GL024", 6)]),
    ("true", [("GL024", 6)]),
])
def test_a_variable_the_script_fills_with_fixed_text_holds_no_stored_secret(tmp_path, assignment, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build:
          image: {{name: "moby/buildkit:v0.16.0-rootless", entrypoint: [""]}}
          timeout: 10m
          script:
            - {assignment}
            - buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=. $BUILD_SECRET_FLAGS
        """)
    assert _found(gitlab, "GL024") == expected


def test_a_rule_that_switches_a_push_on_makes_the_job_push(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        release:
          image: {name: "moby/buildkit:v0.16.0-rootless", entrypoint: [""]}
          timeout: 10m
          variables:
            PUSH: "false"
          rules:
            - if: $CI_COMMIT_TAG
              variables:
                PUSH: "true"
          script:
            - |
              buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=. \\
                --output "type=image,name=$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG,push=$PUSH"
        """)
    assert _found(gitlab, "GL020") == [("GL020", 12)]
    never = _write(tmp_path / "never/.gitlab-ci.yml", gitlab.read_text().replace('PUSH: "true"', 'PUSH: "false"'))
    assert _found(never, "GL020") == []


def test_a_scan_that_needs_the_push_runs_after_it_whatever_its_stage(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        stages: [scan, build]
        build:
          stage: build
          image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
          timeout: 10m
          script:
            - /kaniko/executor --context . --destination $CI_REGISTRY_IMAGE:latest
        scan:
          stage: scan
          needs: [build]
          image: {name: "aquasec/trivy:0.57.1", entrypoint: [""]}
          script:
            - trivy image --exit-code 1 $CI_REGISTRY_IMAGE:latest
        """)
    assert _found(gitlab, "GL020") == [("GL020", 7)]
    before = _write(tmp_path / "before/.gitlab-ci.yml", gitlab.read_text().replace("  needs: [build]\n", ""))
    assert _found(before, "GL020") == []


def test_a_branch_rule_that_only_excludes_the_default_branch_admits_unprotected_ones(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .kaniko:
          image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
          timeout: 10m
          script:
            - /kaniko/executor --context . --cache=true --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA
        branches:
          extends: .kaniko
          rules:
            - if: $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH
        main:
          extends: .kaniko
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        """)
    assert _found(gitlab, "GL021") == [("GL021", 5)]


@pytest.mark.parametrize(("condition", "runs"), [
    ("always() && false", False), ("false", False), ("${{ false }}", False), ("github.event_name == 'push' || false", True), ("success()", True),
])
def test_a_step_switched_off_by_a_false_condition_runs_nothing(tmp_path, condition, runs):
    workflow = _write(tmp_path / ".github/workflows/audit.yml", f"""\
        name: audit
        on: pull_request
        permissions: {{}}
        jobs:
          audit:
            runs-on: ubuntu-24.04
            steps:
              - name: dependency check
                if: "{condition}"
                run: docker run --rm owasp/dependency-check:11.1.0 --nvdApiKey ${{{{ secrets.NVD_API_KEY }}}} --scan /src
        """)
    assert bool(_found(workflow, "GH010", "GH024")) is runs


@pytest.mark.parametrize(("name", "secret"), [("WORK_DIR", False), ("PORT", False), ("SERVER_IP", False), ("DEPLOY_TOKEN", True), ("WEBHOOK_URL", True)])
def test_a_github_secret_named_for_a_place_is_no_credential(name, secret):
    from generator.lint.shell_words import is_secret_name
    assert is_secret_name(f"secrets.{name}") is secret


def test_a_groovy_variable_taking_a_steps_output_reads_the_steps_shell(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        node {
          withCredentials([usernamePassword(credentialsId: 'hub', usernameVariable: 'HUB_USER', passwordVariable: 'HUB_PASSWORD')]) {
            def auth = sh(returnStdout: true, script: 'printf "%s:%s" "${HUB_USER}" "${HUB_PASSWORD}" | base64')
            def shown = sh(returnStdout: true, script: 'curl -u "${HUB_USER}:${HUB_PASSWORD}" https://hub.example.com/v2/')
          }
        }
        """)
    assert _found(jenkinsfile, "JK024") == [("JK024", 4)]


def test_a_jenkins_image_scanning_plugin_step_scans_before_the_push(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent { label 'docker' }
          stages {
            stage('build') { steps { sh 'docker build -t registry.example.com/team/app:1 .' } }
            stage('scan') { steps { aquaMicroscanner imageName: 'registry.example.com/team/app:1', notCompliesCmd: 'exit 4', onDisallowed: 'fail' } }
            stage('push') { steps { sh 'docker push registry.example.com/team/app:1' } }
          }
        }
        """)
    assert _found(jenkinsfile, "JK020") == []
    unscanned = _write(tmp_path / "unscanned/Jenkinsfile", jenkinsfile.read_text().replace("aquaMicroscanner imageName:", "echo message:"))
    assert _found(unscanned, "JK020") == [("JK020", 6)]


@pytest.mark.parametrize(("extra", "expected"), [("", [("JK020", 11)]), ("        - --no-push\n", [])])
def test_a_pod_container_started_as_kaniko_pushes_before_any_stage(tmp_path, extra, expected):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", '''\
        pipeline {
          agent {
            kubernetes {
              yaml """
        spec:
          containers:
            - name: kaniko
              image: gcr.io/kaniko-project/executor:v1.23.2
              command: [/kaniko/executor]
              args:
                - --destination=registry.example.com/team/app:1
                - --context=/workspace
        EXTRA"""
            }
          }
          stages { stage('done') { steps { echo 'built' } } }
        }
        '''.replace("        EXTRA", extra.replace("        ", "        ", 1)))
    assert _found(jenkinsfile, "JK020") == expected


def test_a_run_step_pushing_two_repositories_is_two_unscanned_pushes(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/release.yml", """\
        name: release
        on: {push: {tags: ["v*"]}}
        permissions: {}
        jobs:
          image:
            runs-on: ubuntu-24.04
            timeout-minutes: 30
            steps:
              - run: |
                  docker buildx build --push \\
                    -t acme/api:${GITHUB_REF_NAME} \\
                    -t acme/api-legacy:${GITHUB_REF_NAME} .
        """)
    findings = [f for f in lint(read_pipeline(workflow)) if f.rule == "GH005"]
    assert sorted(f.subject for f in findings) == ["acme/api", "acme/api-legacy"]


def test_the_socket_is_reported_where_it_is_mounted_not_where_it_is_read(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/release.yml", """\
        name: release
        on: push
        permissions: {}
        jobs:
          release:
            runs-on: ubuntu-24.04
            timeout-minutes: 30
            steps:
              - run: |
                  DOCKER_GID=$(stat -c '%g' /var/run/docker.sock)
                  docker run --rm \\
                    -v /var/run/docker.sock:/var/run/docker.sock \\
                    --user 1001:$DOCKER_GID registry.example.com/tools/release:2.0 release
        """)
    assert _found(workflow, "GH025") == [("GH025", 12)]


def test_each_repository_a_script_copies_to_is_reported_where_it_is_named(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/promote.yml", """\
        name: promote
        on: workflow_dispatch
        permissions: {}
        jobs:
          promote:
            runs-on: ubuntu-24.04
            timeout-minutes: 10
            steps:
              - run: |
                  SOURCE="registry.example.com/team/app:rc"
                  ECR="public.ecr.aws/acme/app:stable"
                  docker buildx imagetools create --tag $ECR $SOURCE
                  GHCR="ghcr.io/acme/app:stable"
                  docker buildx imagetools create --tag $GHCR $SOURCE
        """)
    findings = sorted((f.line, f.subject) for f in lint(read_pipeline(workflow)) if f.rule == "GH005")
    assert findings == [(12, "public.ecr.aws/acme/app"), (14, "ghcr.io/acme/app")]


@pytest.mark.parametrize(("deploy", "expected"), [('"true"', [("GL020", 12)]), ('"false"', [])])
def test_a_value_either_branch_of_an_if_assigns_reaches_the_command(tmp_path, deploy, expected):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        release:
          image: {{name: "moby/buildkit:v0.16.0-rootless", entrypoint: [""]}}
          timeout: 10m
          variables: {{DEPLOY: {deploy}}}
          script:
            - |
              if [ "$EXPORT" = image ]; then \\
                export OUTPUT="type=image,name=$CI_REGISTRY_IMAGE:1,push=$DEPLOY"; \\
              else \\
                export OUTPUT="type=local,dest=."; \\
              fi
              buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=. --output "$OUTPUT"
        """)
    assert _found(gitlab, "GL020") == expected


def test_a_variable_holding_a_commands_output_is_not_filled_in(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        stages: [build, test, deploy]
        build:
          stage: build
          image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
          timeout: 10m
          script:
            - /kaniko/executor --context . --destination $CI_REGISTRY_IMAGE/app-test:$CI_COMMIT_SHORT_SHA
        scan:
          stage: test
          image: {name: "aquasec/trivy:0.57.1", entrypoint: [""]}
          script:
            - trivy image --exit-code 1 $CI_REGISTRY_IMAGE/app-test:$CI_COMMIT_SHORT_SHA
        promote:
          stage: deploy
          image: {name: "quay.io/skopeo/stable:v1.16.1", entrypoint: [""]}
          script:
            - export TAG=$(cat ./VERSION)
            - skopeo copy docker://$CI_REGISTRY_IMAGE/app-test:$CI_COMMIT_SHORT_SHA docker://$CI_REGISTRY_IMAGE/app:$TAG
        """)
    assert _found(gitlab, "GL020") == []


def test_an_image_named_by_one_variable_is_reported_once_where_the_variable_is_set(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        variables:
          SSH_IMAGE: registry.example.com/tools/alpine-ssh:latest
        deploy:
          image: $SSH_IMAGE
          script: [ssh deploy@prod.example.com true]
        rollback:
          image: ${SSH_IMAGE}
          script: [ssh deploy@prod.example.com true]
        own:
          image: $OWN_IMAGE
          variables:
            OWN_IMAGE: registry.example.com/tools/own:latest
          script: [true]
        """)
    findings = [(f.line, f.message.startswith("variables:"), f.message.endswith("(affects 2 jobs)")) for f in lint(read_pipeline(gitlab)) if f.rule == "GL001"]
    assert findings == [(2, True, True), (12, True, False)]


def test_a_bat_step_continued_with_a_caret_is_one_command(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", '''\
        pipeline {
          agent { label 'windows' }
          environment { DB_SECRET = "app-db" }
          stages {
            stage('deploy') {
              steps {
                withCredentials([string(credentialsId: 'db-root', variable: 'DB_ROOT_PASSWORD')]) {
                  bat """
                    kubectl create secret generic ${DB_SECRET} ^
                      --from-literal=root-password=%DB_ROOT_PASSWORD% ^
                      --dry-run=client -o yaml
                  """
                }
              }
            }
          }
        }
        ''')
    assert _found(jenkinsfile, "JK024", "JK003") == [("JK024", 10)]


@pytest.mark.parametrize(("line", "secret"), [
    ('terraform init -backend-config="key=ecs/${BRANCH}/terraform.tfstate"', False),
    ('helm upgrade app ./chart --set-string db.password=${RELEASE_HOOK}', True),
    ('helm upgrade app ./chart --set-string db.password=vault/${RELEASE_HOOK}/db', False),
    ("deploy-tool --set api_token=$DEPLOY_HOOK", True),
])
def test_a_secret_parameter_holding_a_path_around_a_variable_holds_no_secret(line, secret):
    from generator.lint.secret_rules import command_line_secrets
    assert bool(command_line_secrets(line, set())[0]) is secret


@pytest.mark.parametrize(("action", "runs"), [("actions/github-script@v7", False), ("appleboy/ssh-action@v1.2.0", False), ("some/runner-action@v1", True)])
def test_a_github_script_steps_javascript_runs_no_engine(tmp_path, action, runs):
    workflow = _write(tmp_path / ".github/workflows/summary.yml", f"""\
        name: summary
        on: push
        permissions: {{}}
        jobs:
          summary:
            runs-on: ubuntu-24.04
            steps:
              - uses: {action}
                with:
                  script: |
                    docker pull registry.example.com/team/app:1
        """)
    assert bool(_found(workflow, "GH010")) is runs


@pytest.mark.parametrize(("excepted", "level"), [("[branches]", "warning"), ("[main]", "error")])
def test_except_branches_leaves_a_job_only_tags(tmp_path, excepted, level):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        release:
          image: {{name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}}
          timeout: 10m
          only: ["/^release-.*$/"]
          except: {excepted}
          script:
            - /kaniko/executor --context . --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_REF_NAME
        """)
    assert [f.level for f in lint(read_pipeline(gitlab)) if f.rule == "GL007"] == [level]


# 45. Tuned sets' remaining false findings: quotes inside a quoted $(...), `\[`, addresses kept as
# Jenkins credentials, jobs that only remove old containers.

@pytest.mark.parametrize(("script", "secret"), [
    # The quotes of a double-quoted command substitution neither end the word nor join the lines after it.
    ('VERSION="$(grep -m1 \'"version"\' package.json | sed -E \'s/.*"version": "([^"]+)".*/\\1/\')"\n'
     'if [ -n "${PUSH_TOKEN:-}" ]; then\n  TOKEN="${PUSH_TOKEN}"\nfi', False),
    ('VERSION="$(grep -m1 \'"version"\' package.json)"\ndeploy-tool --token "$PUSH_TOKEN"', True),
    ('\\[ ! -z "${CI_REGISTRY_PASSWORD}" ] # set by GitLab', False),
    ('\\curl -u "deploy:$DEPLOY_PASSWORD" https://example.com/hook', True),
])
def test_a_quoted_substitution_and_an_escaped_test_are_read_as_the_shell_reads_them(script, secret):
    from generator.lint.secret_rules import command_line_secrets
    assert bool(command_line_secrets(script, set(), script)[0]) is secret


@pytest.mark.parametrize(("binding", "command_line"), [
    ("REGISTRY = credentials('docker-registry-url')", False),
    ("DEPLOY_HOST = credentials('deploy-host')", False),
    ("REGISTRY = credentials('registry-credentials')", True),
    ("REGISTRY_TOKEN = credentials('registry-host')", True),
])
def test_an_address_kept_as_a_credential_is_no_secret_on_a_command_line(tmp_path, binding, command_line):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", f'''\
        pipeline {{
          agent any
          environment {{ {binding} }}
          stages {{
            stage('deploy') {{
              steps {{
                sh 'ssh-keyscan -H "${binding.split()[0]}" >> known_hosts'
                sh "echo ${{{binding.split()[0]}}}"
              }}
            }}
          }}
        }}
        ''')
    # Groovy interpolating any credential is JK003's whatever it holds; only the command line changes.
    assert _found(jenkinsfile, "JK024", "JK003") == [("JK003", 8), *([("JK024", 7)] if command_line else [])]


@pytest.mark.parametrize(("script", "timeout"), [
    ("docker stop app || true && docker rm app || true", False),
    ("docker rename app app_old", False),
    ("docker run -d --name app registry.example.com/team/app:1.4.2", True),
])
def test_a_job_only_removing_old_containers_needs_no_timeout(tmp_path, script, timeout):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        clean:
          tags: [shell]
          only: [main]
          script:
            - {script}
        """)
    assert bool(_found(gitlab, "GL008")) is timeout


@pytest.mark.parametrize(("variables", "unpinned"), [
    ('variables: {SAST_VERSION: "15.0"}', False),
    ("variables: {OTHER: x}", True),
])
def test_a_tag_with_a_default_is_the_variables_value_where_the_file_sets_it(tmp_path, variables, unpinned):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        sast:
          image: "registry.gitlab.com/security-products/sast:${{SAST_VERSION:-latest}}"
          {variables}
          script: [/analyzer run]
        """)
    assert bool(_found(gitlab, "GL001")) is unpinned


@pytest.mark.parametrize(("runs_in", "unpinned"), [
    ("harbor.example.com/devops/ansible:latest", False),
    ("harbor.example.com/devops/terraform:latest", True),
])
def test_an_image_built_under_a_registry_variable_is_the_projects_own(tmp_path, runs_in, unpinned):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        build-tools:
          image: docker:27.3.1-cli
          services: [docker:27.3.1-dind]
          timeout: 20m
          rules: [{{if: '$CI_COMMIT_BRANCH == "main" && $CI_COMMIT_REF_PROTECTED == "true"'}}]
          script:
            - export HARBOR="$(cut -d= -f2 .tmp/harbor_env)"
            - export IMAGE="$HARBOR/devops/ansible"
            - docker build --tag "$IMAGE:latest" images/ansible
        provision:
          image: {runs_in}
          script: [ansible-playbook site.yml]
        """)
    assert [line for rule, line in _found(gitlab, "GL001")] == ([11] if unpinned else [])


@pytest.mark.parametrize(("command", "timeout"), [("docker system df", False), ("docker system prune -af", True)])
def test_docker_system_df_only_reports(tmp_path, command, timeout):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        disk:
          tags: [shell]
          script:
            - {command}
        """)
    assert bool(_found(gitlab, "GL008")) is timeout


@pytest.mark.parametrize(("line", "issuer"), [
    ("mvn sonar:sonar -Dsonar.login=sqp_b606e58a2a096d7b151046b26d7f6d7daa275f1b", "SonarQube"),
    ("git clone https://ci:ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/acme/app.git", "GitHub"),
    ('curl -H "PRIVATE-TOKEN: glpat-Ab3dEf6hIj9kLm2nOp5q" https://gitlab.example.com/api/v4/projects', "GitLab"),
    ("echo ghp_0123456789abcdefghijABCDEFGHIJ012345", None),  # the shell's own: no process list
    ("mvn sonar:sonar -Dsonar.login=sqp_b606e58a", None),  # too short for the issuer's form
])
def test_a_token_written_out_in_the_file_is_reported_with_its_issuer(line, issuer):
    from generator.lint.secret_rules import command_line_secrets
    problems, _ = command_line_secrets(line, set(), line)
    assert [problem.split(" token")[0] for problem in problems if "written out in the file" in problem] == ([] if issuer is None else [f"a {issuer}"])


def test_a_literal_token_in_a_jenkinsfile_is_reported_on_its_line(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", '''\
        pipeline {
          agent any
          stages {
            stage('sonar') {
              steps {
                sh "mvn verify sonar:sonar -Dsonar.projectKey=app -Dsonar.login=sqp_b606e58a2a096d7b151046b26d7f6d7daa275f1b"
              }
            }
          }
        }
        ''')
    assert _found(jenkinsfile, "JK024") == [("JK024", 6)]


def test_a_continued_imagetools_create_pushes_each_repository_its_tags_name(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/release.yml", """\
        name: release
        on: release
        permissions: {}
        jobs:
          merge-manifest:
            runs-on: ubuntu-24.04
            timeout-minutes: 10
            env:
              GHCR_IMAGE: ${{ needs.variables.outputs.ghcr_image }}
              HUB_IMAGE: ${{ needs.variables.outputs.image_name }}
            steps:
              - run: |
                  docker buildx imagetools create \\
                    -t ${{ env.GHCR_IMAGE }}:latest \\
                    ${{ env.GHCR_IMAGE }}:latest-amd64
                  docker buildx imagetools create \\
                    -t ${{ env.HUB_IMAGE }}:latest \\
                    ${{ env.HUB_IMAGE }}:latest-amd64
        """)
    assert _found(workflow, "GH005") == [("GH005", 14), ("GH005", 17)]


# 46. A Jenkinsfile's own repository: the library steps it calls and the scripts it loads are read.

def _library_repository(tmp_path: Path, jenkinsfile: str) -> Path:
    (tmp_path / ".git").mkdir(parents=True)
    _write(tmp_path / "vars/buildAndPushImage.groovy", """\
        def call(String name) {
          sh "docker build -t registry.example.com/team/${name}:${env.BUILD_NUMBER} ."
          sh "docker push registry.example.com/team/${name}:${env.BUILD_NUMBER}"
        }
        """)
    _write(tmp_path / "vars/unused.groovy", """\
        def call() {
          sh 'docker run -v /var/run/docker.sock:/var/run/docker.sock registry.example.com/tools/cleaner:1.0'
        }
        """)
    _write(tmp_path / "ci/agent.groovy", """\
        def podImage() { return 'registry.example.com/tools/kaniko:latest' }
        return this
        """)
    _write(tmp_path / "outside.groovy", "sh 'docker push registry.example.com/team/other:1'\n")
    return _write(tmp_path / "Jenkinsfile", jenkinsfile)


@pytest.mark.parametrize(("header", "library_read"), [("@Library('team-steps') _", True), ("", False)])
def test_a_library_step_of_the_repository_is_read_in_its_own_file(cli, tmp_path, header, library_read):
    import json
    jenkinsfile = _library_repository(tmp_path, f"""\
        {header}
        pipeline {{
          agent any
          stages {{
            stage('image') {{
              steps {{ buildAndPushImage('api') }}
            }}
          }}
        }}
        """)
    found = {(Path(row["file"]).relative_to(tmp_path).as_posix(), row["rule"]) for row in json.loads(cli("lint", "--format", "json", str(jenkinsfile)).stdout)}
    # Read where it is written, once: the call, whose name says it pushes, is not reported beside it.
    assert ("vars/buildAndPushImage.groovy", "JK020") in found if library_read else ("Jenkinsfile", "JK020") in found
    assert ("Jenkinsfile", "JK020") not in found if library_read else ("vars/buildAndPushImage.groovy", "JK020") not in found
    assert not any(file == "vars/unused.groovy" for file, _ in found)


def test_a_loaded_script_is_read_and_nothing_outside_the_repository(tmp_path):
    from generator.lint.jenkins_companions import companions
    jenkinsfile = _library_repository(tmp_path / "repo", """\
        node {
          def agent = load 'ci/agent.groovy'
          def other = load '../outside.groovy'
          stage('build') { sh 'make' }
        }
        """)
    (tmp_path / "outside.groovy").write_text("sh 'docker push registry.example.com/team/other:1'\n")
    assert [path.relative_to(tmp_path / "repo").as_posix() for path in companions(jenkinsfile, jenkinsfile.read_text(), jenkinsfile.parent)] == ["ci/agent.groovy"]


@pytest.mark.parametrize(("body", "secret"), [
    ('"{\\"role_id\\":\\"$VAULT_ROLE_ID\\",\\"secret_id\\":\\"$VAULT_SECRET_ID\\"}"', "VAULT_SECRET_ID"),
    ("'{\"password\": \"$DB_LOGIN\"}'", "DB_LOGIN"),
    ("'{\"name\": \"$APP_NAME\", \"role_id\": \"$ROLE_ID\"}'", None),
])
def test_a_json_bodys_credential_fields_hold_secrets(body, secret):
    from generator.lint.secret_rules import command_line_secrets
    line = f'TOKEN=$(curl --fail -X POST --data {body} "$VAULT_ADDR/v1/auth/approle/login")'
    assert command_line_secrets(line, set(), line)[1] == ([secret] if secret else [])


def test_a_bake_given_a_metadata_bake_file_pushes_each_image_of_the_metadata(tmp_path):
    workflow = _write(tmp_path / ".github/workflows/release.yml", """\
        name: release
        on: push
        permissions: {}
        jobs:
          bake:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            steps:
              - id: meta
                uses: docker/metadata-action@v5
                with:
                  images: |
                    ${{ github.repository }}
                    ghcr.io/${{ github.repository }}
              - uses: docker/bake-action@v7.0.0
                with:
                  files: |
                    ./docker-bake.hcl
                    cwd://${{ steps.meta.outputs.bake-file-tags }}
                  push: true
        """)
    assert [f.subject for f in lint(read_pipeline(workflow)) if f.rule == "GH005"] == ["${{ github.repository }}", "ghcr.io/${{ github.repository }}"]


@pytest.mark.parametrize(("scan_when", "push_when", "reported"), [
    ("when { branch 'main' }", "when { anyOf { branch 'main'; branch 'develop' } }", True),
    ("when { branch 'main' }", "", True),
    ("when { branch 'main' }", "when { branch 'main' }", False),
    ("when { anyOf { branch 'main'; branch 'develop' } }", "when { branch 'develop' }", False),
    ("", "when { branch 'develop' }", False),
    # A condition that says more than branches is not read: the scan counts, as before.
    ("when { expression { params.SCAN } }", "", False),
])
def test_a_scan_stage_limited_to_some_branches_covers_pushes_on_those_alone(tmp_path, scan_when, push_when, reported):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", f'''\
        pipeline {{
          agent any
          stages {{
            stage('build') {{
              steps {{ sh 'docker build -t registry.example.com/team/app:${{GIT_COMMIT}} .' }}
            }}
            stage('scan') {{
              {scan_when}
              steps {{ sh 'trivy image --exit-code 1 registry.example.com/team/app:${{GIT_COMMIT}}' }}
            }}
            stage('push') {{
              {push_when}
              steps {{ sh 'docker push registry.example.com/team/app:${{GIT_COMMIT}}' }}
            }}
          }}
        }}
        ''')
    assert bool(_found(jenkinsfile, "JK020")) is reported


def test_a_template_pushing_each_jobs_own_image_is_a_finding_per_image(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        .build:
          image: docker:27.3.1-cli
          services: [docker:27.3.1-dind]
          timeout: 20m
          rules: [{if: '$CI_COMMIT_BRANCH == "main" && $CI_COMMIT_REF_PROTECTED == "true"'}]
          script:
            - export IMAGE="${CI_REGISTRY_IMAGE}/${SERVICE}:${CI_COMMIT_SHORT_SHA}"
            - docker build -t "$IMAGE" "$SERVICE"
            - docker push "$IMAGE"
        build:api:
          extends: .build
          variables: {SERVICE: api}
        build:web:
          extends: .build
          variables: {SERVICE: web}
        build:web-again:
          extends: .build
          variables: {SERVICE: web}
        """)
    found = sorted((f.line, f.subject, f.message.endswith("(affects 2 jobs)")) for f in lint(read_pipeline(gitlab)) if f.rule == "GL020")
    assert found == [(9, "$CI_REGISTRY_IMAGE/api", False), (9, "$CI_REGISTRY_IMAGE/web", True)]


@pytest.mark.parametrize(("line", "pushes"), [
    ("./jenkins/build-image.sh push", True),
    ("bash ./docker/ci/docker_push.sh", True),
    ("ci/docker-build.sh --push", True),
    ("sh scripts/image-push.sh $TAG", True),
    ("./scripts/push-docs.sh", False),  # no image in its name or path
    ("./docker/build.sh", False),
    ("cat docker/push.sh", False),
])
def test_a_script_of_the_repository_named_for_pushing_an_image_pushes(line, pushes):
    assert bool(PUSHES.search(line)) is pushes


def test_an_own_push_script_is_a_push_in_gitlab_and_jenkins(tmp_path):
    gitlab = _write(tmp_path / "gl/.gitlab-ci.yml", """\
        publish:
          image: docker:27.3.1-cli
          services: [docker:27.3.1-dind]
          timeout: 20m
          rules: [{if: '$CI_COMMIT_BRANCH == "main" && $CI_COMMIT_REF_PROTECTED == "true"'}]
          script:
            - ./ci-scripts/docker-push.sh app "$CI_COMMIT_SHORT_SHA"
        """)
    jenkinsfile = _write(tmp_path / "jk/Jenkinsfile", """\
        pipeline {
          agent any
          stages {
            stage('image') { steps { sh './jenkins/build-image.sh push' } }
          }
        }
        """)
    assert _found(gitlab, "GL020") == [("GL020", 7)]
    assert _found(jenkinsfile, "JK020") == [("JK020", 4)]


# 47. holdout17: comment lines inside a script block run nothing and locate nothing.

def test_comment_lines_in_a_script_block_are_no_commands_and_no_places(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        build:ci-image:
          image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
          timeout: 20m
          script:
            - |
              # $CI_JOB_TOKEN authenticates against the registry: no token to rotate.
              # --cache + --cache-repo persists the layers between runs.
              /kaniko/executor --context . \\
                --destination "$CI_REGISTRY_IMAGE/ci:latest" \\
                --cache=true \\
                --cache-repo "$CI_REGISTRY_IMAGE/ci/cache"
        """)
    found = {(f.rule, f.line) for f in lint(read_pipeline(gitlab))}
    assert ("GL021", 11) in found and not {rule for rule, line in found if line in (6, 7)}
    assert "persists" not in " ".join(f.message for f in lint(read_pipeline(gitlab)))


def test_a_bound_credential_given_to_a_script_is_on_its_command_line_whatever_it_is_called(tmp_path):
    jenkinsfile = _write(tmp_path / "Jenkinsfile", '''\
        pipeline {
          agent any
          stages {
            stage('deploy') {
              steps {
                withCredentials([string(credentialsId: 'svc_lidarhd', variable: 'svc_lidarhd')]) {
                  sh 'docker/deploy-jenkins.sh $svc_lidarhd'
                  withEnv(["DEPLOY_KEY=${svc_lidarhd}"]) { sh 'make deploy' }
                  script { def target = "${env.svc_lidarhd}.example.com" }
                  slackSend(channel: '#ci', webhookURL: "${svc_lidarhd}")
                }
              }
            }
          }
        }
        ''')
    # withEnv, a Groovy assignment and a step's named argument start no process: JK003's, not JK024's.
    assert [line for _, line in _found(jenkinsfile, "JK024")] == [7]


def test_cosign_login_with_a_password_flag_is_a_registry_login():
    assert LOGIN_WITH_PASSWORD.search('cosign login "$CI_REGISTRY" -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD"')


@pytest.mark.parametrize(("rules", "found"), [
    ('[{if: $CI_COMMIT_TAG == "dev"}]', [("GL007", "warning")]),
    ("[{if: $CI_COMMIT_BRANCH}]", [("GL007", "error")]),
])
def test_a_rule_naming_one_tag_limits_the_job_to_tags(tmp_path, rules, found):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        publish:
          image: {{name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}}
          timeout: 10m
          rules: {rules}
          script:
            - /kaniko/executor --context . --destination $CI_REGISTRY_IMAGE:dev
        """)
    assert [(f.rule, f.level) for f in lint(read_pipeline(gitlab)) if f.rule == "GL007"] == found


def test_a_push_to_a_registry_on_the_runner_publishes_nothing(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        candidate:
          image: docker:27.3.1-cli
          services: [docker:27.3.1-dind, registry:2.8.3]
          timeout: 20m
          script:
            - docker buildx build --push --tag 127.0.0.1:5000/app:dev .
        """)
    assert _found(gitlab, "GL007", "GL020") == []


@pytest.mark.parametrize(("command", "found"), [
    ('ssh deploy@$HOST "echo $REGISTRY_TOKEN | docker login -u ci --password-stdin && docker compose up -d"', [("GL024", 7)]),
    ("ssh deploy@$HOST 'echo $REGISTRY_TOKEN | docker login -u ci --password-stdin'", []),
    ('ssh deploy@$HOST "docker login -u ci -p $REGISTRY_TOKEN && docker compose up -d"', [("GL006", 7)]),
])
def test_a_secret_in_a_double_quoted_ssh_command_is_in_sshs_arguments(tmp_path, command, found):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        deploy:
          image: alpine:3.20.3
          timeout: 10m
          rules: [{{if: '$CI_COMMIT_BRANCH == "main" && $CI_COMMIT_REF_PROTECTED == "true"'}}]
          script:
            - apk add --no-cache openssh-client
            - {command}
        """)
    assert _found(gitlab, "GL024", "GL006") == found


@pytest.mark.parametrize(("given", "rule"), [
    ("", "GL023"),  # the spec's default, 24: end of life
    ("    inputs: {docker-version: \"27.3.1\"}\n", None),
    ("    inputs: {docker-version: \"27; rm -rf /\"}\n", "GL001"),  # not a plain word: left as the reference
])
def test_a_components_inputs_are_filled_in_from_its_include_or_its_defaults(tmp_path, given, rule):
    _write(tmp_path / "templates/docker-build.yml", """\
        spec:
          inputs:
            docker-version:
              default: "24"
        ---
        build:
          image: docker:$[[ inputs.docker-version ]]-cli
          timeout: 10m
          script: [docker version]
        """)
    gitlab = _write(tmp_path / ".gitlab-ci.yml", "include:\n  - local: templates/docker-build.yml\n" + given)
    found = {f.rule for f in lint(read_pipeline(gitlab)) if f.rule in ("GL001", "GL023")}
    assert found == ({rule} if rule else set())


@pytest.mark.parametrize(("only", "reported"), [
    ("only: ['/^.+\\..+\\..+$/']", True),  # a pattern matches branch names too
    ("only: ['/^.+\\..+\\..+$/']\n  except: [branches]", False),
    ("only: [tags]", False),
])
def test_a_login_with_a_project_secret_under_an_only_pattern_can_run_on_any_branch(tmp_path, only, reported):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", f"""\
        publish:
          image: docker:27.3.1-cli
          timeout: 10m
          {only}
          script:
            - echo "$DOCKERHUB_PWD" | docker login -u "$DOCKERHUB_USER" --password-stdin
            - .ci/publish.sh
        """.replace("\n  except", "\n          except"))
    assert bool(_found(gitlab, "GL022")) is reported


@pytest.mark.parametrize(("name", "secret"), [("DOCKERHUB_PWD", True), ("dockerHubPwd", True), ("PWD", False)])
def test_pwd_after_another_word_is_a_password(name, secret):
    from generator.lint.shell_words import is_secret_name
    assert is_secret_name(name) is secret


def test_sshpass_is_reported_beside_the_secrets_of_the_remote_command_it_runs(tmp_path):
    gitlab = _write(tmp_path / ".gitlab-ci.yml", """\
        deploy:
          image: alpine:3.20.3
          timeout: 10m
          rules: [{if: '$CI_COMMIT_BRANCH == "main" && $CI_COMMIT_REF_PROTECTED == "true"'}]
          script:
            - sshpass -p "$SSH_PASSWORD" ssh deploy@$SSH_HOST "
              docker run -d --name api \\
              -e JWT_SECRET_KEY='$JWT_SECRET' \\
              $IMAGE"
        """)
    messages = [f.message for f in lint(read_pipeline(gitlab)) if f.rule == "GL024"]
    assert any("$SSH_PASSWORD" in m for m in messages) and any("$JWT_SECRET" in m for m in messages)


def test_a_powershell_assignment_runs_no_program():
    from generator.lint.secret_rules import command_line_secrets
    line = "$datasourcePassword = [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($env:SPRING_DATASOURCE_PASSWORD))"
    assert command_line_secrets(line, set(), line) == ([], [])


def test_a_push_method_of_a_loaded_script_is_read_in_the_script(cli, tmp_path):
    import json
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "functionslib.groovy", '''\
        def pushDockerImage(String image) {
            sh "docker push ${image}"
        }
        return this
        ''')
    jenkinsfile = _write(tmp_path / "Jenkinsfile", '''\
        def functionsLib = load 'functionslib.groovy'
        pipeline {
          agent any
          stages {
            stage('push') { steps { script { functionsLib.pushDockerImage('registry.example.com/team/app:1') } } }
          }
        }
        ''')
    rows = json.loads(cli("lint", "--format", "json", str(jenkinsfile)).stdout)
    assert [(Path(row["file"]).name, row["line"]) for row in rows if row["rule"] == "JK020"] == [("functionslib.groovy", 2)]
