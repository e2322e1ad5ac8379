"""lint jk9 (holdout6 jenkins-b/-c): a pod file a Jenkinsfile below the root names from the checkout's
root, SonarQube's token on the command line (JK024), a scanner's version check that scans nothing
(JK020), genuinetools' img as a login and push client, the access key id an aws() binding masks
(JK003), a random Groovy value that is no secret, and each build arg's secret on its own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint


def _found(path: Path, rule: str) -> list[tuple[str, int]]:
    return [(Path(f.file).name, f.line) for f in lint(read_pipeline(path)) if f.rule == rule]


def _jenkins(tmp_path: Path, steps: str, head: str = "") -> Path:
    path = tmp_path / "Jenkinsfile"
    path.write_text(f"{head}pipeline {{\n  agent any\n  stages {{\n    stage('s') {{\n      steps {{\n{steps}      }}\n    }}\n  }}\n}}\n")
    return path


# --- yamlFile from the checkout's root ------------------------------------------------------------

POD = "spec:\n  containers:\n    - name: client\n      image: {image}\n"
NESTED = "pipeline {\n  agent { kubernetes { yamlFile 'build/pods/agent.yaml' } }\n  stages { stage('s') { steps { sh 'true' } } }\n}\n"


def _nested(tmp_path: Path, image: str) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build" / "pods").mkdir(parents=True)
    (tmp_path / "build" / "pods" / "agent.yaml").write_text(POD.format(image=image))
    (tmp_path / "build" / "Release.groovy").write_text(NESTED)
    return tmp_path / "build" / "Release.groovy"


def test_a_pod_file_is_read_from_the_root_for_a_jenkinsfile_below_it(tmp_path):
    path = _nested(tmp_path, "docker:latest")
    assert _found(path, "JK004") == [("agent.yaml", 4)]
    assert read_pipeline(path).not_followed == []


def test_a_pinned_image_in_that_pod_file_stays_quiet(tmp_path):
    path = _nested(tmp_path, "docker:27.3.1-cli@sha256:" + "a" * 64)
    assert _found(path, "JK004") == [] and len(read_pipeline(path).pods) == 1


def test_without_a_repository_root_the_nested_pod_file_is_not_audited(tmp_path):
    (tmp_path / "build" / "pods").mkdir(parents=True)
    (tmp_path / "build" / "pods" / "agent.yaml").write_text(POD.format(image="docker:latest"))
    (tmp_path / "build" / "Release.groovy").write_text(NESTED)
    pipeline = read_pipeline(tmp_path / "build" / "Release.groovy")
    assert pipeline.pods == [] and pipeline.not_followed == ["yamlFile build/pods/agent.yaml (not found)"]


# --- one step list, one rule: the lines it fires on (none for a near-miss) --------------------------

CASES = [
    # SonarQube's token: `sonar.login` holds it, and a user with an empty password is a token.
    ("sonar-token", "JK024", [6, 7],
     ("        sh 'mvn -B sonar:sonar -Dsonar.login=${QA_LOGIN}'\n"
     "        sh 'curl -s -u ${QA_LOGIN}: https://qa.example.test/api/status'\n")),
    ("sonar-user-names", "JK024", [],
     ("        sh 'mvn -B sonar:sonar -Dsonar.login=${QA_LOGIN} -Dsonar.password=secret-in-file'\n"
     "        sh 'curl -s -u ${QA_LOGIN}:fixed https://qa.example.test/api/status'\n"
     "        sh 'curl -s -u ${QA_USER}: https://qa.example.test/api/status'\n")),
    # A scanner asked for its version scans nothing; a registry with a port is no loopback.
    ("version-check", "JK020", [8],
     ("        sh label: 'Check grype', script: 'grype --version'\n"
     "        sh 'docker build -t registry.example.internal:5000/app .'\n"
     "        sh 'docker push registry.example.internal:5000/app'\n")),
    ("real-scan", "JK020", [],
     ("        sh 'docker build -t registry.example.internal:5000/app .'\n"
     "        sh label: 'Scan', script: 'grype registry.example.internal:5000/app'\n"
     "        sh 'docker push registry.example.internal:5000/app'\n")),
    ("ipv6-loopback", "JK020", [], "        sh 'docker push [::1]:5000/app'\n"),
    ("localhost", "JK020", [], "        sh 'docker push localhost:5000/app'\n"),
    # A random Groovy value names a run; a token a command reads is still one.
    ("random-value", "JK024", [],
     ("        script {\n"
     "          def runToken = UUID.randomUUID().toString().take(8)\n"
     "          sh \"docker network create net-${runToken}\"\n"
     "        }\n")),
    ("token-from-a-command", "JK024", [8],
     ("        script {\n"
     "          def runToken = sh(returnStdout: true, script: 'vault read -field=t secret/ci').trim()\n"
     "          sh \"deploy --token ${runToken}\"\n"
     "        }\n")),
]


@pytest.mark.parametrize(("rule", "lines", "steps"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_steps(tmp_path, rule, lines, steps):
    assert _found(_jenkins(tmp_path, steps), rule) == [("Jenkinsfile", line) for line in lines]


# --- img (genuinetools) --------------------------------------------------------------------------------


def test_img_login_with_a_password_flag_and_img_push(tmp_path):
    path = _jenkins(tmp_path, (
        "        sh 'img login -u AWS -p ${pwd} registry.example.test'\n"
        "        sh 'img push registry.example.test/app:1'\n"
    ))
    assert _found(path, "JK002") == [("Jenkinsfile", 6)]
    assert _found(path, "JK020") == [("Jenkinsfile", 7)]


def test_img_with_stdin_and_img_build_only_stay_quiet(tmp_path):
    path = _jenkins(tmp_path, (
        "        sh 'echo $PW | img login -u AWS --password-stdin registry.example.test'\n"
        "        sh 'img build -t app . && echo \"$img push later\"'\n"
        "        sh 'for img in a b; do $img push; done'\n"
    ))
    assert _found(path, "JK002") == [] and _found(path, "JK020") == []


def test_img_is_read_by_gitlab_and_github_alike(tmp_path):
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text(
        "release:\n  image: alpine:3.20\n  script:\n    - img login -u bot -p \"$REGISTRY_PASSWORD\" registry.example.test\n"
        "    - img push registry.example.test/app:1\n"
    )
    assert {f.rule for f in lint(read_pipeline(gitlab))} >= {"GL006", "GL020"}
    workflow = tmp_path / ".github" / "workflows" / "release.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: img login -u bot -p \"${{ secrets.REGISTRY_PASSWORD }}\" registry.example.test\n"
        "      - run: img push registry.example.test/app:1\n"
    )
    assert {f.rule for f in lint(read_pipeline(workflow))} >= {"GH008", "GH005"}


# --- JK003: the access key id of an aws() binding --------------------------------------------------------

AWS = "        withCredentials([aws(accessKeyVariable: 'KEY_ID', credentialsId: 'c', secretKeyVariable: 'KEY_SECRET')]) {{\n{body}        }}\n"


def test_an_interpolated_access_key_id_is_a_warning(tmp_path):
    path = _jenkins(tmp_path, AWS.format(body='          sh "export AWS_ACCESS_KEY_ID=${KEY_ID}"\n'))
    findings = [f for f in lint(read_pipeline(path)) if f.rule == "JK003"]
    assert [(f.line, f.level) for f in findings] == [(7, "warning")] and "KEY_ID" in findings[0].message


def test_the_access_key_id_read_by_the_shell_stays_quiet(tmp_path):
    path = _jenkins(tmp_path, AWS.format(body="          sh 'export AWS_ACCESS_KEY_ID=${KEY_ID}'\n          sh \"echo ${OTHER_ID}\"\n"))
    assert _found(path, "JK003") == []


BUILD = (
    "        withCredentials([string(credentialsId: 'a', variable: 'APP_KEY_BASE'), string(credentialsId: 'b', variable: 'CHAIN_URL')]) {{\n"
    "          sh 'docker build \\\\\n"
    "            --build-arg APP_KEY_BASE=${{APP_KEY_BASE}} \\\\\n"
    "            --build-arg CHAIN_URL=${{{chain}}} \\\\\n"
    "            --build-arg GIT_HEAD=${{GIT_HEAD}} .'\n"
    "        }}\n"
)


def test_each_bound_secret_a_build_arg_passes_is_reported_on_its_line(tmp_path):
    path = _jenkins(tmp_path, BUILD.format(chain="CHAIN_URL"))
    assert _found(path, "JK024") == [("Jenkinsfile", 8), ("Jenkinsfile", 9)]


def test_an_unbound_url_in_a_build_arg_stays_quiet(tmp_path):
    path = _jenkins(tmp_path, BUILD.format(chain="MIRROR_URL"))
    assert _found(path, "JK024") == [("Jenkinsfile", 8)]


# --- JK021: a build cache written by every branch and read by the trusted ones ---------------------------

CACHE = """\
pipeline {{
  agent any
  stages {{
    stage('Image') {{
{when}      steps {{
        sh 'docker buildx build --cache-from type=registry,ref=reg.example.test/app:{ref} --cache-to type=registry,ref=reg.example.test/app:{ref},mode=max -t reg.example.test/app:1 .'
      }}
    }}
    stage('Kaniko') {{
      when {{ not {{ changeRequest() }} }}
      steps {{
        sh '/kaniko/executor --context . --cache=true --cache-repo reg.example.test/{repo} --destination reg.example.test/app:2'
      }}
    }}
    stage('Deploy') {{
      when {{ branch 'main' }}
      steps {{ sh 'deploy.sh' }}
    }}
  }}
}}
"""


def test_a_cache_written_by_every_branch_is_reported_per_stage(tmp_path):
    path = tmp_path / "Jenkinsfile"
    path.write_text(CACHE.format(when="", ref="buildcache", repo="kaniko-cache"))
    findings = [f for f in lint(read_pipeline(path)) if f.rule == "JK021"]
    assert [f.line for f in findings] == [6, 12]
    assert "every branch and change request" in findings[0].message and "runs for every branch," in findings[1].message


def test_a_cache_of_the_trusted_branch_or_named_after_the_branch_stays_quiet(tmp_path):
    path = tmp_path / "Jenkinsfile"
    path.write_text(CACHE.format(when="      when { branch 'main' }\n", ref="buildcache-${BRANCH_NAME}", repo="kaniko-cache-${BRANCH_NAME}"))
    assert _found(path, "JK021") == []
    path.write_text(CACHE.format(when="      when { buildingTag() }\n", ref="buildcache", repo="kaniko-${BUILD_NUMBER}"))
    assert _found(path, "JK021") == []


def test_a_single_branch_job_or_a_scripted_ref_test_is_not_judged(tmp_path):
    one_branch = "pipeline {\n  agent any\n  stages {\n    stage('Image') {\n      steps {\n" \
        "        sh 'docker buildx build --cache-from type=registry,ref=r.example.test/c --cache-to type=registry,ref=r.example.test/c .'\n" \
        "      }\n    }\n  }\n}\n"
    path = tmp_path / "Jenkinsfile"
    path.write_text(one_branch)
    assert _found(path, "JK021") == []
    path.write_text(one_branch.replace("      steps {\n", "      steps {\n        script { if (env.BRANCH_NAME == 'main') { echo 'x' } }\n"))
    assert _found(path, "JK021") == []
    path.write_text(one_branch.replace("stage('Image') {\n", "stage('Image') {\n      when { not { changeRequest() } }\n"))
    assert _found(path, "JK021") == [("Jenkinsfile", 7)]
