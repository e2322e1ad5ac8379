"""lint v6: a plain-TCP daemon reported where its variable is written, a pipeline's own images,
registry logins made from cloud keys, Compose's -e and secrets that hold URLs, and a Jenkins scan
that reads another tag than the one pushed."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint.document import every_pipeline, read_pipeline
from generator.lint.engine import lint
from generator.lint.images import (
    built_images,
    built_repositories,
    image_repository,
    image_tag,
)
from generator.lint.secret_rules import _shell_of
from generator.lint.shell_words import (
    guarded_commands,
    is_secret_name,
    shell_test_as_rule,
    without_echoes,
)
from generator.lint.trust_rules import _scanned_another_tag
from tests.conftest import ROOT
from tests.test_lint import _expected

V6 = ROOT / "tests" / "fixtures" / "lint" / "v6"
FIXTURES = sorted([*V6.glob("*.yml"), *V6.glob("*.Jenkinsfile")])


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    files = [file for each in every_pipeline(read_pipeline(path)) for file in each.files]
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(read_pipeline(path))}
    assert found == _expected(files)


def test_the_fixtures_cover_every_changed_rule():
    files = [file for path in FIXTURES for each in every_pipeline(read_pipeline(path)) for file in each.files]
    assert {rule for (_, _, rule) in _expected(files)} == {"GL001", "GL002", "GL006", "GL007", "GL022", "GH004", "GH005", "GH009", "GH010", "GH024", "JK004", "JK020", "JK024"}


def _messages(path: Path, rule: str) -> list[str]:
    return [f.message for f in lint(read_pipeline(path)) if f.rule == rule]


def _one(tmp_path: Path, text: str, rule: str):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(text)
    (finding,) = [f for f in lint(read_pipeline(path)) if f.rule == rule]
    return finding


# --- GL002 where the variable is written ---------------------------------------------------------

def test_a_pipeline_wide_plain_tcp_daemon_is_one_finding_naming_the_pipeline_and_its_jobs():
    certdir, host = _messages(V6 / "plain-tcp-written-once.gitlab-ci.yml", "GL002")
    assert certdir.startswith("the pipeline: DOCKER_TLS_CERTDIR is empty")
    # The client's side is a second line to change, reported where it is written too.
    assert host.startswith("the pipeline: DOCKER_HOST points at the plain-TCP port 2375")
    assert certdir.endswith("(affects 2 jobs)") and host.endswith("(affects 2 jobs)")


def test_a_job_or_service_that_writes_the_variable_is_named():
    messages = _messages(V6 / "plain-tcp-per-job.gitlab-ci.yml", "GL002")
    assert sorted(message.split(":", 1)[0] for message in messages) == ["build", "scan"]


def test_a_template_that_writes_the_variable_is_named(tmp_path):
    finding = _one(
        tmp_path,
        ".daemon:\n  variables:\n    DOCKER_TLS_CERTDIR: ''\n"
        "build:\n  extends: .daemon\n  timeout: 30m\n  image: docker:27.3.1-cli\n  services:\n    - name: docker:27.3.1-dind\n      alias: docker\n"
        "  script:\n    - docker build -t app .\n",
        "GL002",
    )
    assert (finding.line, finding.message.split(":", 1)[0]) == (3, ".daemon")


# --- GL001 and the pipeline's own images ----------------------------------------------------------

@pytest.mark.parametrize(("script", "built"), [
    ("docker build -t app:1 .", {"app"}),
    ("docker buildx build --push --tag ${CI_REGISTRY_IMAGE}:latest --tag=$CI_REGISTRY_IMAGE/tools:1 .", {"$CI_REGISTRY_IMAGE", "$CI_REGISTRY_IMAGE/tools"}),
    ("podman build -t 'registry.example.com:5000/team/app' .", {"registry.example.com:5000/team/app"}),
    ("buildah bud -t app .", {"app"}),
    ("/kaniko/executor --context . --destination $CI_REGISTRY_IMAGE/etl:latest", {"$CI_REGISTRY_IMAGE/etl"}),
    ("docker tag app:1 mirror.example.com/app:1", {"mirror.example.com/app"}),
    ("docker build . && docker run -t app:1 echo", set()),  # -t of another command names nothing built
    ("docker pull app:1", set()),
])
def test_what_a_script_builds(script, built):
    assert built_repositories(script) == built


@pytest.mark.parametrize(("image", "repository", "tag"), [
    ("app", "app", "latest"),
    ("app:1.2", "app", "1.2"),
    ("registry.example.com:5000/app:1", "registry.example.com:5000/app", "1"),
    ("${CI_REGISTRY_IMAGE}:${CI_COMMIT_SHA}", "$CI_REGISTRY_IMAGE", "$CI_COMMIT_SHA"),
    ("app@sha256:" + "a" * 64, "app", "latest"),
])
def test_repository_and_tag_of_an_image(image, repository, tag):
    assert (image_repository(image), image_tag(image)) == (repository, tag)


def test_an_image_built_elsewhere_keeps_its_finding():
    messages = _messages(V6 / "own-image.gitlab-ci.yml", "GL001")
    assert [message.split(":", 1)[0] for message in messages] == ["other"]


# --- GL022 from cloud keys ------------------------------------------------------------------------

def test_a_login_from_named_cloud_keys_names_the_key_and_the_job():
    (message,) = _messages(V6 / "cloud-keys-login.gitlab-ci.yml", "GL022")
    assert message.startswith("feature: logs in to a registry with $AWS_SECRET_ACCESS_KEY")


def test_keys_from_a_differently_named_variable_count(tmp_path):
    finding = _one(
        tmp_path,
        "push:\n  script:\n    - aws configure set aws_secret_access_key $PROD_AWS_SECRET_ACCESS_KEY\n"
        "    - aws ecr get-login-password | docker login -u AWS --password-stdin $REGISTRY\n",
        "GL022",
    )
    assert finding.line == 4 and "$PROD_AWS_SECRET_ACCESS_KEY" in finding.message


# --- GH024: Compose's -e, secrets holding URLs ----------------------------------------------------

@pytest.mark.parametrize(("name", "secret"), [
    ("secrets.LYRA_BASE_URL", True),
    ("secrets.SLACK_WEBHOOK_URL", True),
    ("secrets.DATABASE_URL", True),
    ("secrets.REGISTRY_URL", False),
    ("secrets.SERVER_URL", False),
    ("secrets.HOST_URL", False),
    ("secrets.DOCKERHUB_USERNAME", False),
    ("BASE_URL", False),  # a plain variable's name alone says it describes
])
def test_a_url_kept_in_secrets_is_a_secret_unless_it_names_a_place(name, secret):
    assert is_secret_name(name) is secret


# --- JK020: a scan of another tag -------------------------------------------------------------------

BUILT = {"shop": {"$BUILD_ID", "latest"}, "registry.example.com/shop": {"candidate"}}


@pytest.mark.parametrize(("command", "stale"), [
    ("trivy image shop:latest", None),
    ("trivy image --exit-code 1 registry.example.com/shop:candidate", None),
    ("trivy image registry.example.com/shop:latest", "registry.example.com/shop:latest"),
    ("grype shop:1.0 && grype shop:latest", None),  # one of them is the build
    ("trivy image other:latest", None),  # not this file's repository: nothing known
    ("trivy image $IMAGE", None),
])
def test_a_scan_of_a_tag_never_built(command, stale):
    assert _scanned_another_tag(command, BUILT) == stale


def test_the_finding_says_which_scan_read_another_image():
    (message,) = _messages(V6 / "scan-another-tag.Jenkinsfile", "JK020")
    assert "the only scan before it reads shop:latest, a tag this file never builds" in message


def test_every_name_a_build_gives_is_read():
    assert built_images("docker build -t shop:${BUILD_ID} -t shop:latest . && docker tag shop:1 shop:candidate") == [
        "shop:${BUILD_ID}", "shop:latest", "shop:candidate",
    ]


# --- JK024: the shell text of a Groovy step ---------------------------------------------------------

@pytest.mark.parametrize(("step", "shell"), [
    ("sh 'tailscale up --authkey=$KEY'", "tailscale up --authkey=$KEY"),
    ("sh 'tailscale up --authkey=$KEY'  // a comment", "tailscale up --authkey=$KEY"),
    ('sh(script: "up --authkey \\$KEY")', "up --authkey $KEY"),
    ("sh 'echo \\$HOME'", "echo \\$HOME"),  # single quotes keep the backslash for the shell
    ("bat 'login %TOKEN%'", "login %TOKEN%"),
    ("echo not a step", "echo not a step"),
])
def test_the_shell_text_of_a_groovy_step(step, shell):
    assert _shell_of(step) == shell


# --- GL007 where the refs meet the push -------------------------------------------------------------

def test_a_template_that_decides_for_its_jobs_is_one_finding_naming_it():
    messages = {f.line: f.message for f in lint(read_pipeline(V6 / "push-refs-written-once.gitlab-ci.yml")) if f.rule == "GL007"}
    assert messages[16].startswith(".publish-main: pushes images only on branch main") and messages[16].endswith("(affects 2 jobs)")
    assert messages[31].startswith(".feature: pushes images but can run on unprotected refs") and messages[31].endswith("(affects 2 jobs)")
    assert messages[55].startswith("release: ") and "affects" not in messages[55]


def test_a_job_used_as_a_template_decides_for_the_jobs_extending_it(tmp_path):
    finding = _one(
        tmp_path,
        "push-bot:\n  timeout: 30m\n  script:\n    - trivy image app && docker push app\n  rules:\n    - if: $CI_COMMIT_TAG\n"
        "push-lambda:\n  extends: push-bot\n"
        "push-events:\n  extends: push-bot\n",
        "GL007",
    )
    assert finding.line == 1 and finding.message.endswith("(affects 3 jobs)")


# --- a push under a shell test of the ref ------------------------------------------------------------

SCRIPT = """mkdir -p out
if [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]; then
  docker push app:1
elif [[ -n $CI_COMMIT_TAG ]]; then
  docker push app:2; echo done
else
  echo "no push; here"
fi
test "$CI_COMMIT_REF_NAME" = main && docker push app:3
docker push app:4"""


def test_each_command_with_the_tests_it_runs_under():
    assert list(guarded_commands(SCRIPT)) == [
        ("mkdir -p out", ()),
        ("docker push app:1", ('[ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]',)),
        ("docker push app:2", ("[[ -n $CI_COMMIT_TAG ]]",)),
        ("echo done", ("[[ -n $CI_COMMIT_TAG ]]",)),
        ('echo "no push; here"', ()),
        ("docker push app:3", ('test "$CI_COMMIT_REF_NAME" = main',)),
        ("docker push app:4", ()),
    ]


@pytest.mark.parametrize(("test", "rule"), [
    ('[ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]', "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"),
    ('[ "${CI_COMMIT_REF_NAME}" == main ]', '$CI_COMMIT_REF_NAME == "main"'),
    ("[[ -n $CI_COMMIT_TAG ]]", "$CI_COMMIT_TAG"),
    ('[ "$CI_COMMIT_BRANCH" = main ] || [ -n "$CI_COMMIT_TAG" ]', '$CI_COMMIT_BRANCH == "main" || $CI_COMMIT_TAG'),
    ('[[ "$CI_COMMIT_REF_PROTECTED" == "true" ]]', '$CI_COMMIT_REF_PROTECTED == "true"'),
    ('[ -z "$CI_COMMIT_TAG" ]', "false"),
    ('[ ! "$CI_COMMIT_BRANCH" = main ]', "false"),
])
def test_a_shell_test_read_as_a_rule(test, rule):
    assert shell_test_as_rule(test) == rule


def test_the_same_cache_write_outside_the_test_is_a_merge_requests(tmp_path):
    text = (V6 / "push-under-shell-test.gitlab-ci.yml").read_text()
    unguarded = text.replace('if [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ] || [ -n "$CI_COMMIT_TAG" ]; then', "if true; then")
    assert unguarded != text
    finding = _one(tmp_path, unguarded, "GL021")
    assert finding.message.startswith("container: can run for merge requests")


# --- what echo prints, in every dialect ------------------------------------------------------------

@pytest.mark.parametrize(("text", "kept"), [
    ('ssh host "hostname && echo ready" "docker login -p $P r"', 'ssh host "hostname && echo " "docker login -p $P r"'),
    ("sh 'echo docker push x | sh'", "sh 'echo docker push x | sh'"),
    ("sh 'echo docker push x'", "sh 'echo '"),
    ('echo "docker login -p $P" && docker push y', "echo && docker push y"),
])
def test_echo_prints_no_further_than_the_string_it_is_written_in(text, kept):
    assert " ".join(without_echoes(text).split()) == " ".join(kept.split())


def test_no_dialect_reads_an_echoed_login_or_push():
    for name in ("echoed-commands.gitlab-ci.yml", "echoed-commands.yml"):
        findings = lint(read_pipeline(V6 / name))
        assert not [f for f in findings if f.rule in {"GL006", "GL007", "GL020", "GL022", "GH005", "GH008"} and f.line < 12]


def test_a_jenkins_command_over_several_lines_is_reported_where_its_secret_is_named(tmp_path):
    path = tmp_path / "Jenkinsfile"
    path.write_text(
        "node {\n    sh \"\"\"\n        curl -X POST https://hub.example.com/login \\\\\n"
        "          -H 'content-type: application/json' \\\\\n"
        "          -d '{ \"password\": \"\\$HUB_PSW\" }'\n    \"\"\"\n}\n"
    )
    (finding,) = [f for f in lint(read_pipeline(path)) if f.rule == "JK024"]
    assert finding.line == 5
