"""gen-ci lint v9, from holdout6's late sets: Compose commands that carry a secret (JK124), one
GitHub step pushing two repositories (two GH005 findings), and shell conditions read as commands."""

from __future__ import annotations

import textwrap
from pathlib import Path

from generator.lint.document import read_pipeline
from generator.lint.engine import lint


def _lint(path: Path, text: str) -> list[tuple[str, int, str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return [(f.rule, f.line, f.message) for f in lint(read_pipeline(path))]


def _rules(path: Path, text: str, rule: str) -> list[int]:
    return [line for found, line, _ in _lint(path, text) if found == rule]


def test_a_secret_in_a_compose_health_check_entrypoint_or_build_arg(tmp_path):
    lines = _rules(tmp_path / "docker-compose.yml", """\
        services:
          runner:
            image: gitlab/gitlab-runner:v17.5.3
            entrypoint:
              - sh
              - -c
              - |
                while ! curl -fsS "https://gitlab.example.com/-/readiness?token=$$READINESS_TOKEN"; do sleep 1; done
                exec gitlab-runner run
          api:
            build:
              context: .
              args:
                NPM_TOKEN: ${NPM_TOKEN}
                NODE_VERSION: ${NODE_VERSION}
            healthcheck:
              test: ["CMD", "curl", "-fsS", "-u", "probe:${PROBE_PASSWORD}", "http://localhost:8080/health"]
          db:
            image: postgres:17.2
            environment:
              POSTGRES_PASSWORD: example
            healthcheck:
              test: ["CMD-SHELL", "psql -U postgres --password=$$POSTGRES_PASSWORD -c 'select 1'"]
          web:
            image: nginx:1.27.3
            command: ["nginx", "-g", "daemon off;"]
            environment:
              API_TOKEN: ${API_TOKEN}
        """, "JK124")
    # The readiness probe's token, the secret-named build arg and the probe's password; not the
    # version arg, not the test database's written-out password, not a secret passed by environment.
    assert lines == [8, 14, 17]


def test_a_compose_v1_file_is_read_too(tmp_path):
    assert _rules(tmp_path / "docker-compose.yml", """\
        app:
          image: example/app:1.4.2
          command: ./serve --api-token=${API_TOKEN}
        """, "JK124") == [3]


WORKFLOW = """\
    on: push
    jobs:
      image:
        runs-on: ubuntu-24.04
        timeout-minutes: 20
        strategy:
          matrix:
            name: [api, worker]
        steps:
          - id: meta
            uses: docker/metadata-action@318604b99e75e41977312d83839a89be02ca4893
            with:
              images: |
                docker.io/acme/app
                ghcr.io/acme/app
          - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83
            with:
              push: true
              tags: ${{ steps.meta.outputs.tags }}
          - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83
            with:
              push: true
              tags: ghcr.io/acme/${{ matrix.name }}:1.0,ghcr.io/acme/${{ matrix.name }}:latest
    """


def test_one_step_pushing_two_repositories_is_two_findings_and_a_matrix_stays_one(tmp_path):
    found = [(line, message) for rule, line, message in _lint(tmp_path / ".github" / "workflows" / "ci.yml", WORKFLOW) if rule == "GH005"]
    assert [line for line, _ in found] == [18, 18, 22]
    assert "pushes docker.io/acme/app, which" in found[0][1] and "pushes ghcr.io/acme/app, which" in found[1][1]
    # Two tags of one image per matrix run: one finding, worded as before.
    assert "pushes an image that" in found[2][1]


def test_a_shell_condition_is_a_command(tmp_path):
    lines = _rules(tmp_path / ".gitlab-ci.yml", """\
        deploy:
          image: alpine:3.21
          timeout: 10m
          script:
            - if curl -fsS "https://deploy.example.com/hook?token=$DEPLOY_TOKEN"; then echo done; fi
            - until curl -fsS https://status.example.com/ready; do sleep 5; done
        """, "GL024")
    assert lines == [5]


KANIKO = """\
    stages: [build, scan, release]
    .protected:
      timeout: 20 minutes
      rules:
        - if: $CI_COMMIT_REF_PROTECTED == "true"
    build:
      extends: .protected
      stage: build
      image:
        name: gcr.io/kaniko-project/executor:v1.23.2-debug
        entrypoint: [""]
      variables:
        IMAGE_VERSION: "3.13"
      script:
        - /kaniko/executor --context . --destination "$CI_REGISTRY_IMAGE:{tag}" --destination "$CI_REGISTRY_IMAGE:${{IMAGE_VERSION}}-candidate"
    scan:
      extends: .protected
      stage: scan
      image: aquasec/trivy:0.57.1
      script:
        - trivy image --exit-code 1 "$CI_REGISTRY_IMAGE:${{IMAGE_VERSION}}-candidate"
    release:
      extends: .protected
      stage: release
      image: gcr.io/go-containerregistry/crane:v0.20.2
      script:
        - crane copy "$CI_REGISTRY_IMAGE:${{IMAGE_VERSION}}-candidate" "$CI_REGISTRY_IMAGE:${{IMAGE_VERSION}}"
    """


def test_a_version_tag_pushed_beside_the_candidate_is_published_before_the_scan(tmp_path):
    # `3.13-<date>-<sha>` is what users pin; pushed with the candidate, it skips the scan.
    for tag in ("${IMAGE_VERSION}-$(date -u +%Y%m%d)-${CI_COMMIT_SHORT_SHA}", "2.4-$CI_PIPELINE_IID"):
        assert _rules(tmp_path / ".gitlab-ci.yml", KANIKO.format(tag=tag), "GL020") == [15]
    # The commit's own tag beside the candidate is a candidate too.
    assert _rules(tmp_path / ".gitlab-ci.yml", KANIKO.format(tag="$CI_COMMIT_SHORT_SHA"), "GL020") == []


def test_a_daemon_told_to_listen_on_2375_by_its_command(tmp_path):
    assert _rules(tmp_path / "docker-compose.yml", """\
        services:
          dind:
            image: docker:29.1.3-dind
            privileged: true
            command:
              - dockerd
              - --host=tcp://0.0.0.0:2375
              - --tls=false
          tls:
            image: docker:29.1.3-dind
            privileged: true
            command: ["dockerd", "--host=tcp://0.0.0.0:2376", "--tlsverify"]
          proxy:
            image: nginx:1.27.3
            command: ["nginx", "-g", "daemon off; # --tls=false"]
        """, "JK101") == [7]


def test_self_hosted_runners_in_socket_mode_are_ci_agents(tmp_path):
    lines = _rules(tmp_path / "docker-compose.yml", """\
        services:
          runner_register:
            image: registry.example.com/internal/runner
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
            environment:
              - GITLAB_RUNNER_TOKEN=${TOKEN}
          runner:
            build: .
            image: acme-gh-runner:1.4.0
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
          test-runner:
            image: acme/test-runner:2.0.1
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
        """, "JK125")
    # A test runner that says no CI system it serves is a tool container like any other.
    assert lines == [16]


def test_a_child_pipeline_gets_the_trust_rules_too(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "ci.yml").write_text(textwrap.dedent("""\
        image-build:
          image: docker:20.10.12-cli
          timeout: 20 minutes
          script:
            - docker build -t "$CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHORT_SHA" .
            - docker push "$CI_REGISTRY_IMAGE/api:$CI_COMMIT_SHORT_SHA"
            - argocd app sync api --auth-token "$ARGO_TOKEN"
        """))
    found = _lint(tmp_path / ".gitlab-ci.yml", """\
        api:
          trigger:
            include:
              - "/api/ci.yml"
            strategy: depend
        """)
    child = str((tmp_path / "api" / "ci.yml"))
    assert {(rule, line) for rule, line, _ in found} >= {("GL020", 6), ("GL023", 2), ("GL024", 7)}
    assert all(f.file == child for f in lint(read_pipeline(tmp_path / ".gitlab-ci.yml")) if f.rule in ("GL020", "GL023", "GL024"))


def test_a_computed_tag_names_no_repository_of_its_own(tmp_path):
    found = _rules(tmp_path / ".github" / "workflows" / "ci.yml", """\
        on: push
        jobs:
          image:
            runs-on: ubuntu-24.04
            timeout-minutes: 20
            steps:
              - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83
                with:
                  push: true
                  tags: |
                    ${{ github.ref_name == 'main' && format('ghcr.io/acme/api:sha-{0}', github.sha) || format('ghcr.io/acme/api:pr-{0}', github.sha) }}
                    ${{ github.ref_name == 'main' && 'ghcr.io/acme/api:edge' || '' }}
              - id: branch
                run: echo "name=${GITHUB_REF#refs/heads/}" >> "$GITHUB_OUTPUT"
              - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83
                with:
                  push: true
                  tags: |
                    ghcr.io/acme/web:${{ steps.branch.outputs.name }}
                    ghcr.io/acme/web:latest
        """, "GH005")
    assert found == [9, 17]


DOCKER_JOBS = """\
    on: push
    permissions:
      contents: read
    jobs:
      test:
        runs-on: ubuntu-24.04
        container:
          image: ghcr.io/${{ github.repository }}/ci
          options: --user 1001
        steps:
          - uses: docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772
            with:
              registry: ghcr.io
              username: ${{ github.actor }}
              password: ${{ secrets.GITHUB_TOKEN }}
          - uses: acme/run-tests@8f4b7f84864484a7bf31766abe9204da3cbe65b3
      build:
        runs-on: ubuntu-24.04
        container:
          image: ghcr.io/acme/ci
        steps:
          - uses: docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435
            with:
              driver-opts: |
                network=host
                image=moby/buildkit:master
      call:
        uses: ./.github/workflows/build.yml
    """
CALLED = """\
    on: workflow_call
    jobs:
      image:
        runs-on: ubuntu-24.04
        steps:
          - run: docker build -t app .
    """


def test_docker_jobs_timeouts_and_images_as_a_reviewer_places_them(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "build.yml").write_text(textwrap.dedent(CALLED))
    found = {(rule, Path(file).name, line) for rule, file, line in
             ((f.rule, f.file, f.line) for f in lint(read_pipeline(_written(workflows / "ci.yml", DOCKER_JOBS))))}
    # A login and another vendor's action drive no engine; the called workflow's job does, in its file.
    assert ("GH010", "ci.yml", 5) not in found and ("GH010", "build.yml", 3) in found
    # The repository's own package, built by another workflow, moves as any untagged image does.
    assert ("GH009", "ci.yml", 8) in found and ("GH009", "ci.yml", 20) in found
    # The moving BuildKit image is reported on its own line of the block.
    assert ("GH004", "ci.yml", 26) in found


def _written(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


JENKINSFILE = """\
    def call(Map parameters = [:]) {
        def kanikoImage = parameters.get('kanikoImage', 'gcr.io/kaniko-project/executor:debug')
        def helmImage = parameters.get('helmImage', 'alpine/helm:3.16.3')
        def craneImage = parameters.craneImage ?: 'gcr.io/go-containerregistry/crane:debug'
        podTemplate(yaml: \"\"\"
    spec:
      containers:
      - name: kaniko
        image: ${kanikoImage}
      - name: helm
        image: ${helmImage}
      - name: crane
        image: ${craneImage}
      - name: dind
        image: docker:18.06.3-dind
        securityContext:
          privileged: true
      - name: tools
        image: registry.example.com/tools:1.2.0
        volumeMounts:
        - mountPath: /var/run
          name: run
      volumes:
      - name: run
        hostPath:
          path: /var/run
      - name: cache
        hostPath:
          path: /var/lib/cache
    \"\"\") {
            node(POD_LABEL) {
                docker
                    .image('acme-build-agent')
                    .inside('-e CI=1') {
                        sh 'make test'
                    }
                withCredentials([string(credentialsId: "${env.SONAR_TOKEN_ID}", variable: 'SONAR_TOKEN')]) {
                    sh 'make sonar'
                }
            }
        }
    }
    pipeline {
      agent none
      stages {
        stage('Image') {
          agent { docker { image 'docker:27.3.1-cli'; args '-v /var/run/docker.sock:/var/run/docker.sock' } }
          steps { sh 'docker version' }
        }
      }
    }
    """


def test_jenkins_images_through_defaults_chains_and_old_daemons(tmp_path):
    found = {(rule, line) for rule, line, _ in _lint(tmp_path / "Jenkinsfile", JENKINSFILE)}
    # A default the library gives runs unless the caller says otherwise; a pinned one is quiet.
    assert {("JK004", 9), ("JK004", 13)} <= found and ("JK004", 11) not in found
    # docker.image() chained over lines runs an untagged image.
    assert ("JK004", 33) in found
    # A dind daemon from before 19.03 serves plain TCP.
    assert ("JK001", 15) in found
    # The run directory holds the socket; a cache directory does not. Agent args after `;` count.
    assert ("JK025", 26) in found and ("JK025", 29) not in found and ("JK025", 47) in found
    # A credential binding's id is no secret on a command line.
    assert not any(rule == "JK024" for rule, _ in found)


GITLAB = """\
    stages: [test, build]
    test:
      stage: test
      image: php:8.4.1-cli
      timeout: 20m
      services:
        - name: ${DATABASE_IMAGE}
          alias: database
      parallel:
        matrix:
          - DATABASE_IMAGE:
              - mysql:lts
              - mariadb:11.4.4
      script:
        - phpunit
    publish:
      stage: build
      image: google/cloud-sdk:502.0.0
      timeout: 30m
      rules:
        - if: $CI_COMMIT_BRANCH == $RELEASE_BRANCH
      script:
        - eval $(aws ecr get-login --no-include-email)
        - aws ecr get-login-password | docker login --username AWS --password-stdin example.dkr.ecr.eu-west-1.amazonaws.com
        - gcloud builds submit --tag "europe-docker.pkg.dev/acme/app/api:$CI_COMMIT_SHORT_SHA" .
        - gcloud builds submit --config cloudbuild.yaml .
    """


def test_matrix_images_variable_branches_old_ecr_logins_and_cloud_build(tmp_path):
    found = _lint(tmp_path / ".gitlab-ci.yml", GITLAB)
    rules = {(rule, line) for rule, line, _ in found}
    # Each matrix value is judged where it is written.
    assert ("GL001", 12) in rules and ("GL001", 13) not in rules
    # A branch a project variable names is one branch: the milder finding.
    [push] = [message for rule, line, message in found if rule == "GL007"]
    assert "branch $RELEASE_BRANCH" in push
    assert [line for rule, line in sorted(rules) if rule == "GL006"] == [23]
    assert ("GL020", 25) in rules and ("GL020", 26) not in rules


def test_a_dind_image_running_a_tool_and_a_run_directory_mount(tmp_path):
    found = {(rule, line) for rule, line, _ in _lint(tmp_path / "docker-compose.yml", """\
        services:
          shield:
            image: docker:27.3.1-dind
            privileged: true
            entrypoint: /bin/sh
            command: ["-c", "exec shield --watch"]
            environment:
              DOCKER_TLS_CERTDIR: ""
          cadvisor:
            image: gcr.io/cadvisor/cadvisor:v0.49.1
            volumes:
              - /var/run:/var/run:ro
              - /var/lib/docker/:/var/lib/docker:ro
        """)}
    assert ("JK102", 4) in found and not any(rule == "JK101" for rule, _ in found)
    assert ("JK125", 12) in found and ("JK125", 13) not in found


def test_a_camel_case_password_in_a_url(tmp_path):
    assert _rules(tmp_path / "Jenkinsfile", """\
        pipeline {
          agent any
          stages {
            stage('Deploy') {
              steps {
                withCredentials([usernamePassword(credentialsId: 'git', usernameVariable: 'USER', passwordVariable: 'PASS')]) {
                  script { env.encodedPass = URLEncoder.encode(PASS, 'UTF-8') }
                  sh 'git clone https://${USER}:${encodedPass}@git.example.com/acme/deploy.git'
                  sh 'git clone https://${USER}@git.example.com/acme/${passFile}.git'
                }
              }
            }
          }
        }
        """, "JK024") == [8]


def test_one_kaniko_command_publishing_two_repositories_is_two_findings(tmp_path):
    found = _lint(tmp_path / ".gitlab-ci.yml", """\
        release:
          image:
            name: gcr.io/kaniko-project/executor:v1.23.2-debug
            entrypoint: [""]
          timeout: 30m
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          variables:
            IMAGE: $CI_REGISTRY_IMAGE
          script:
            - |
              /kaniko/executor --context . \\
                --destination "${IMAGE}:${CI_COMMIT_SHORT_SHA}" \\
                --destination "quay.io/acme/app:${CI_COMMIT_SHORT_SHA}" \\
                --destination "quay.io/acme/app:latest"
        build:
          image: docker:27.3.1-cli
          timeout: 30m
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          script:
            - |
              docker build -t acme/app:$CI_COMMIT_SHORT_SHA -t acme/app:latest .
              docker push "$IMAGE_NAME:latest"
        """)
    pushes = sorted((line, message.split(",")[0]) for rule, line, message in found if rule == "GL020")
    # Each repository on the line that names it (a variable's on the push); the build's own tags
    # are not pushed by the block beside them.
    assert pushes == [(13, "release: pushes $CI_REGISTRY_IMAGE"), (14, "release: pushes quay.io/acme/app"),
                      (24, "build: pushes an image that nothing scanned before it (no scanner earlier in the job")]


def test_a_file_bindings_path_is_no_secret_and_an_old_drone_agent_is_an_agent(tmp_path):
    assert _rules(tmp_path / "Jenkinsfile", """\
        node {
            withCredentials([file(credentialsId: 'app-secret', variable: 'secret'),
                             string(credentialsId: 'api', variable: 'apiSecret')]) {
                sh "cp ${secret} src/main/resources/secret.yml"
                sh "curl -H 'X-Key: ${apiSecret}' https://api.example.com/deploy"
            }
        }
        """, "JK003") == [5]
    assert _rules(tmp_path / "docker-compose.yml", """\
        services:
          drone-agent:
            image: drone/drone:0.8.10
            command: agent
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
          drone-server:
            image: drone/drone:0.8.10
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
        """, "JK125") == [10]


def test_gitlab_switched_off_scanners_compose_engines_and_branch_caches(tmp_path):
    found = _lint(tmp_path / ".gitlab-ci.yml", """\
        include:
          - template: Jobs/Container-Scanning.gitlab-ci.yml
        stages: [test, build, scan]
        container_scanning:
          rules:
            - when: never
        scan:app:
          extends: container_scanning
          stage: scan
          variables:
            CS_IMAGE: $CI_REGISTRY_IMAGE:latest
        build:
          stage: build
          image: docker:27.3.1-cli
          services:
            - name: docker:27.3.1-dind
              command: ["dockerd", "--tls=false"]
          script:
            - docker build --cache-from "$CI_REGISTRY_IMAGE:latest" -t "$CI_REGISTRY_IMAGE:latest" .
            - docker push "$CI_REGISTRY_IMAGE:latest"
          rules:
            - if: $CI_COMMIT_BRANCH
        e2e:
          stage: test
          image: docker:27.3.1-cli
          script:
            - docker-compose run --rm tests
        """)
    rules = {(rule, line) for rule, line, _ in found}
    # The template's scan job is switched off and the one extending it runs after the push.
    assert ("GL020", 20) in rules
    # Any branch pushes the image its own default-branch run reads as a cache.
    assert ("GL021", 20) in rules
    # The service's command is where its first word replaces dockerd.
    assert ("GL004", 17) in rules
    # docker-compose drives the engine as docker compose does.
    assert ("GL008", 23) in rules


def test_a_root_kept_in_a_folder_and_includes_from_the_checkout_dir(tmp_path, monkeypatch):
    (tmp_path / ".gitlab" / "ci").mkdir(parents=True)
    (tmp_path / ".gitlab" / "ci" / "build.yml").write_text(textwrap.dedent("""\
        build:
          image: docker:20.10.16
          script:
            - docker login -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"
        """))
    (tmp_path / ".gitlab" / "ci" / "scan.yml").write_text(textwrap.dedent("""\
        sbom:
          image: alpine:3.21.0
          timeout: 10m
          script:
            - curl -sSfL https://raw.githubusercontent.com/anchore/syft/main/install.sh | sh -s -- -b /tmp
            - /tmp/syft "$CI_REGISTRY_IMAGE:latest" -o json > sbom.json
        """))
    monkeypatch.chdir(tmp_path)
    found = {(rule, Path(file).name, line) for rule, file, line in ((f.rule, f.file, f.line) for f in lint(read_pipeline(_written(
        tmp_path / ".gitlab" / ".gitlab-ci.yml", """\
        include:
          - local: '/.gitlab/ci/build.yml'
          - local: ${CI_PROJECT_DIR}/.gitlab/ci/scan.yml
        """))))}
    # The folder holding the root file is no repository root of its own: the includes are read.
    assert ("GL006", "build.yml", 4) in found and ("GL023", "build.yml", 2) in found


def test_an_sbom_tool_is_no_scanner(tmp_path):
    found = _rules(tmp_path / ".gitlab-ci.yml", """\
        stages: [sbom, publish]
        sbom:
          stage: sbom
          image: alpine:3.21.0
          timeout: 10m
          script:
            - curl -sSfL https://raw.githubusercontent.com/anchore/syft/main/install.sh | sh -s -- -b /tmp
            - /tmp/syft "$CI_REGISTRY_IMAGE:latest" -o json > sbom.json
        publish:
          stage: publish
          image: docker:27.3.1-cli
          timeout: 10m
          rules:
            - if: $CI_COMMIT_REF_PROTECTED == "true"
          script:
            - docker push "$CI_REGISTRY_IMAGE:latest"
        """, "GL020")
    assert found == [16]


def test_each_secret_of_a_command_over_several_lines(tmp_path):
    assert _rules(tmp_path / ".gitlab-ci.yml", """\
        configure:
          image: alpine:3.21.0
          script:
            - |
              sed -e "s/<DB_PASSWORD>/${DB_PASSWORD}/" \\
                -e "s/<DB_NAME>/${DB_NAME}/" \\
                -e "s/<SMTP_PASSWORD>/${SMTP_PASSWORD}/" \\
                config.sample > config.yml
        """, "GL024") == [5, 7]


def test_jenkins_single_branch_jobs_key_files_and_images_made_elsewhere(tmp_path):
    found = {(rule, line) for rule, line, _ in _lint(tmp_path / "Jenkinsfile", """\
        def images
        pipeline {
          agent any
          environment {
            BRANCH_NAME = 'main'
          }
          stages {
            stage('Build') {
              steps {
                sh '/kaniko/executor --context . --destination registry.example.com/app:1 --cache=true --cache-repo registry.example.com/app/cache'
                script { images = load 'jenkins/build.groovy' }
              }
            }
            stage('Publish') {
              steps {
                script {
                  docker.withRegistry('', 'hub') { images.serverImage.push('1.2.0') }
                }
                withCredentials([sshUserPrivateKey(credentialsId: 'git', keyFileVariable: 'SSH_KEY')]) {
                  sh 'GIT_SSH_COMMAND="ssh -i $SSH_KEY" git push origin main'
                }
              }
            }
          }
        }
        """)}
    # A file that sets BRANCH_NAME itself builds one branch: its cache is its own.
    assert not any(rule == "JK021" for rule, _ in found)
    # A key file's variable is a path.
    assert not any(rule == "JK024" for rule, _ in found)
    # An image object a loaded file made, pushed through the plugin.
    assert ("JK020", 17) in found


def test_a_secret_picked_by_a_computed_name(tmp_path):
    assert _rules(tmp_path / ".github" / "workflows" / "ci.yml", """\
        on: push
        jobs:
          site:
            runs-on: ubuntu-24.04
            timeout-minutes: 10
            strategy:
              matrix:
                key_name: [STAGING_API_KEY, PROD_API_KEY]
            steps:
              - run: docker compose run -e "API_KEY=${{ secrets[matrix.key_name] }}" --rm web
        """, "GH024") == [10]


def test_a_gradle_push_task_named_for_it_and_one_socket_through_two_mounts(tmp_path):
    assert _rules(tmp_path / "Jenkinsfile", """\
        node {
            stage('Publish') {
                sh './gradlew buildDockerImage pushDockerImage'
                sh './gradlew publishToMavenLocal'
            }
        }
        """, "JK020") == [3]
    assert _rules(tmp_path / "docker-compose.yml", """\
        services:
          cadvisor:
            image: gcr.io/cadvisor/cadvisor:v0.49.1
            volumes:
              - /var/run:/var/run:ro
              - /var/run/docker.sock:/var/run/docker.sock:ro
        """, "JK125") == [5]
