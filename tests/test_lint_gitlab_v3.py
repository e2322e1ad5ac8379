"""gen-ci lint v3 for GitLab (issue 31): what real CI files do. Precision (unix sockets, TLS from
the image's defaults, codename tags, pushes limited to named refs), recall (variables through
variables and behind prefixes, pushes and logins in every spelling), child pipelines, includes kept
inside the repository, templates reported once, and malformed files that never crash."""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.lint.document import LintInputError, every_pipeline, read_pipeline
from generator.lint.engine import TRUST_RULE_IDS
from generator.lint.engine import lint as lint_every_rule
from generator.lint.gitlab_rules import GITLAB_RULES
from tests.conftest import ROOT
from tests.test_lint import SAFE_JOB

V3 = ROOT / "tests" / "fixtures" / "lint" / "gitlab-v3"


def lint(pipeline):
    """The rules this file is about: the trust rules speak on these fixtures' pushes and logins too,
    and test_lint_trust.py tests them on fixtures of their own."""
    return [finding for finding in lint_every_rule(pipeline) if finding.rule not in TRUST_RULE_IDS]


def _expected(files: list[str]) -> set[tuple[str, int, str]]:
    expected = set()
    for file in files:
        for number, line in enumerate(Path(file).read_text().splitlines(), 1):
            found = re.search(r"# expect: ([A-Z0-9, ]+)$", line)
            for rule in found.group(1).split(", ") if found else []:
                expected.add((str(Path(file).resolve()), number, rule))
    return expected


def _findings(path: Path, base: Path | None = None):
    pipeline = read_pipeline(path, base)
    return pipeline, lint(pipeline)


def _lint_text(tmp_path: Path, text: str):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent(text))
    return lint(read_pipeline(path))


@pytest.mark.parametrize("path", sorted(V3.glob("*.yml")), ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    pipeline, findings = _findings(path)
    files = [file for each in every_pipeline(pipeline) for file in each.files]
    assert {(str(Path(f.file).resolve()), f.line, f.rule) for f in findings} == _expected(files)


def _by_job(findings, rule: str) -> dict[str, str]:
    return {f.message.split(":")[0]: f.level for f in findings if f.rule == rule}


def test_tls_from_the_image_default_is_a_warning_of_its_own():
    _, findings = _findings(V3 / "tls-by-default.gitlab-ci.yml")
    assert _by_job(findings, "GL010") == {"image-default": "warning"}
    assert _by_job(findings, "GL002") == {"too-old": "error", "unknown-image": "error"}
    assert {r.id: r.level for r in GITLAB_RULES}["GL010"] == "warning"


def test_a_unix_socket_is_no_dind_client_but_an_empty_certdir_still_opens_the_daemon(tmp_path):
    job = """\
    default:
      timeout: 30 minutes
    socket:
      image: docker:27.3.1-cli
      services: [{name: docker:27.3.1-dind, alias: docker}]
      variables: {DOCKER_HOST: "unix:///var/run/docker.sock"%s}
      script: [docker info]
    """
    assert _lint_text(tmp_path, job % "") == []
    assert [f.rule for f in _lint_text(tmp_path, job % ', DOCKER_TLS_CERTDIR: ""')] == ["GL002"]


def test_an_empty_certdir_in_the_services_own_variables_is_plain_tcp(tmp_path):
    # The job's DOCKER_TLS_CERTDIR is /certs; the service's own variables override it for the daemon.
    text = SAFE_JOB.replace('      command: ["--storage-driver=overlay2"]\n', '      variables: {DOCKER_TLS_CERTDIR: ""}\n')
    assert text != SAFE_JOB
    assert [(f.rule, f.line) for f in _lint_text(tmp_path, text)] == [("GL002", 7)]  # the service's variables


def test_pushes_limited_to_named_refs_are_warnings_worded_apart():
    _, findings = _findings(V3 / "limited-refs.gitlab-ci.yml")
    levels = _by_job(findings, "GL007")
    assert levels == {
        "default-branch": "warning", "named-branch": "warning", "tags": "warning", "tag-or-main": "warning",
        "merge-requests": "error", "every-branch": "error",
    }
    messages = {f.message.split(":")[0]: f.message for f in findings}
    assert "only on the default branch," in messages["default-branch"]
    assert "only on branch release," in messages["named-branch"]
    assert "only on branch main or tags," in messages["tag-or-main"]
    assert "can run on unprotected refs" in messages["every-branch"]


def test_workflow_rules_limit_every_job(tmp_path):
    text = """\
    workflow:
      rules:
        - if: $CI_COMMIT_TAG
    push:
      image: docker:27.3.1-cli
      timeout: 30 minutes
      script: [docker push registry.example.com/app:1]
    """
    assert [(f.rule, f.level) for f in _lint_text(tmp_path, text)] == [("GL007", "warning")]


def test_a_template_reached_by_three_jobs_is_one_finding_that_says_so():
    _, findings = _findings(V3 / "templates.gitlab-ci.yml")
    service = [f for f in findings if f.rule == "GL001" and f.line == 6]
    assert len(service) == 1 and service[0].message.startswith(".dind: image docker:dind")
    assert service[0].message.endswith("(affects 3 jobs)")
    unused = [f for f in findings if f.line in (13, 15)]
    assert all(f.message.startswith(".unused-template:") and "affects" not in f.message for f in unused)


def test_child_pipelines_are_audited_in_their_own_file_and_artifacts_listed(cli):
    pipeline, findings = _findings(V3 / "child-parent.gitlab-ci.yml")
    child = V3 / "child" / "child.yml"
    assert [Path(p.path) for p in pipeline.children] == [child]
    assert {(Path(f.file), f.rule) for f in findings} == {(child, "GL002"), (child, "GL008")}
    assert pipeline.not_followed == ["artifact generated.yml (made by job generate while the pipeline runs) for the child pipeline of generated-child"]
    result = cli("lint", str(V3 / "child-parent.gitlab-ci.yml"))
    assert result.exit_code == 1 and f"{child}:2: GL002" in result.stdout
    assert "1 include not audited: artifact generated.yml" in result.stderr


def test_child_pipelines_that_trigger_each_other_are_read_once(tmp_path):
    (tmp_path / "a.yml").write_text("again:\n  trigger:\n    include: b.yml\n")
    (tmp_path / "b.yml").write_text("back:\n  trigger:\n    include: [{local: a.yml}, {local: b.yml}]\n")
    (tmp_path / ".gitlab-ci.yml").write_text("start:\n  trigger:\n    include: a.yml\n")
    pipeline = read_pipeline(tmp_path / ".gitlab-ci.yml")
    assert len(list(every_pipeline(pipeline))) <= 4 and lint(pipeline) == []


def test_local_includes_never_leave_the_repository(cli, tmp_path):
    pipeline, findings = _findings(V3 / "outside.gitlab-ci.yml")
    assert findings == [] and pipeline.files == [str(V3 / "outside.gitlab-ci.yml")]
    assert pipeline.not_followed == ["local ../../etc/passwd.yml (outside the repository)", "local ../templates.gitlab-ci.yml (outside the repository)"]
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    outside.mkdir()
    repo.mkdir()
    (outside / "secret.yml").write_text("leak:\n  image: docker:latest\n  script: [true]\n")
    os.symlink(outside / "secret.yml", repo / "link.yml")
    (repo / ".gitlab-ci.yml").write_text("include:\n  - local: /link.yml\n  - local: '*.yml'\nlint:\n  image: python:3.13.1-slim\n  script: [ruff check .]\n")
    result = cli("lint", str(repo / ".gitlab-ci.yml"))
    assert result.exit_code == 0 and result.stdout == ""
    assert "local /link.yml (outside the repository)" in result.stderr and "Traceback" not in result.stderr


def test_a_given_base_is_the_repository_root(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "templates.yml").write_text("build:\n  image: docker:latest\n  script: [true]\n")
    (tmp_path / "ci" / "root.yml").write_text("include:\n  - local: /templates.yml\n")
    assert read_pipeline(tmp_path / "ci" / "root.yml").not_followed == ["local /templates.yml (not found)"]
    assert [f.rule for f in lint(read_pipeline(tmp_path / "ci" / "root.yml", base=tmp_path))] == ["GL001"]


def test_the_shared_login_pattern_keeps_jenkins_seeing_glued_passwords(tmp_path):
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text("pipeline {\n  stages {\n    stage('x') { steps { sh 'docker login -u u -p\"$PW\" reg' } }\n  }\n}\n")
    assert [(f.rule, f.line) for f in lint(read_pipeline(jenkinsfile))] == [("JK002", 3)]


# Malformed input: every shape GitLab refuses must give exit 0, 1 or 2 and a located message, never
# a traceback or "internal error" (exit 3).

MALFORMED_JOBS = [
    "script: 1",
    "script: [1, {a: b}, [docker push x, [[docker login -p x]]]]",
    "variables: [A, B]",
    "variables: {A: [1], B: {value: {x: 1}}, C: null, D: {value: $A, expand: false}}",
    "services: docker:dind",
    "services: [1, [docker:dind], {name: 3}, {name: docker:dind, command: 5, variables: [x]}]",
    "image: 3",
    "image: {name: [docker]}",
    "image: [docker:latest]",
    "extends: .missing",
    "extends: [1, {a: b}]",
    "rules: {if: $CI_COMMIT_TAG}",
    "rules: [1, [a], {if: [x]}, {when: never}]",
    "only: {refs: 3}",
    "only: 7",
    "inherit: {default: 3, variables: [A, 1]}",
    "inherit: true",
    "trigger: {include: 5}",
    "trigger: {include: [{local: 5}, 7, {artifact: x}]}",
    "trigger: [a]",
    "before_script: !reference [.tpl, [x]]",
    "script: !reference [1, 2]",
    "timeout: [1]",
    "services: [{name: '$A$A$A$A$A$A$A$A$A$A'}]\n  variables: {A: '$B$B$B$B$B$B$B$B', B: '$C$C$C$C$C$C$C$C', C: '$A'}",
]

MALFORMED_FILES = [
    "- a\n- b\n",
    "just text\n",
    "",
    "---\na: 1\n---\nb: 2\n",
    "include: 5\njob: {script: [true]}\n",
    "include: [5, [x], {local: 3}, {local: \"a\\0b\"}, {project: x}]\njob: {script: [true]}\n",
    "variables: [A]\nimage: 3\nservices: docker\ndefault: [x]\njob: {script: [docker build .]}\n",
    "workflow: {rules: 5}\njob: {script: [docker push x]}\n",
    "? {a: 1}\n: b\n? [x, {y: 1}]\n: c\n",
    "job: {image: !!int abc}\n",
    "job: {image: !!python/name:os.system x}\n",
    "job: " + "[" * 300 + "]" * 300 + "\n",
    "a: &a [x, y]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    "job: {script: [*d, *d, *d, *d, *d, *d, *d, *d], services: *d}\n",
    "job: {script: [docker build .], extends: job}\n.a: {extends: .b}\n.b: {extends: .a}\nc: {extends: .a, script: [docker push x]}\n",
    "\ufeffjob:\n\tscript: x\n",
]


def _assert_no_crash(cli, path: Path) -> None:
    result = cli("lint", str(path))
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 2:
        assert re.search(rf"{re.escape(str(path))}:\d+(:\d+)?: ", result.stderr), result.stderr


@pytest.mark.parametrize("shape", MALFORMED_JOBS)
def test_a_malformed_job_never_crashes(cli, tmp_path, shape):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(f".tpl:\n  script: [docker build .]\njob:\n  {shape}\n")
    _assert_no_crash(cli, path)


@pytest.mark.parametrize("text", MALFORMED_FILES)
def test_a_malformed_file_never_crashes(cli, tmp_path, text):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(text)
    _assert_no_crash(cli, path)


def test_a_value_gitlab_refuses_is_an_error_at_its_line(cli, tmp_path):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text("job:\n  script: [true]\n  image: !!int abc\n")
    result = cli("lint", str(path))
    assert result.exit_code == 2 and f"{path}:3:10: expected a plain YAML value" in result.stderr


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([
    "", "docker:dind", "docker:27.3.1-dind", "$A", "${B}/docker:24-dind", "tcp://docker:2375", "docker push x",
    "docker login -p x", "--iptables=false", ".tpl", "job", "$CI_COMMIT_TAG", "never", "unix:///x",
]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["name", "alias", "command", "variables", "value", "if", "when", "refs", "include", "local", "A", "B", "DOCKER_TLS_CERTDIR"]), inner, max_size=3,
), max_leaves=12)
_JOB_KEYS = ["script", "before_script", "image", "services", "variables", "extends", "rules", "only", "inherit", "trigger", "timeout"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_JOB_KEYS), _VALUES, max_size=6), st.dictionaries(st.sampled_from(["variables", "default", "include", "services", "workflow"]), _VALUES, max_size=3))
def test_any_job_shape_is_read_without_a_crash(job, top):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / ".gitlab-ci.yml"
        path.write_text(yaml.safe_dump({**top, ".tpl": job, "job": job}))
        try:
            lint(read_pipeline(path))
        except LintInputError as error:
            assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(error))


def test_services_given_as_a_string_are_not_read_letter_by_letter(tmp_path):
    assert _lint_text(tmp_path, "job:\n  image: docker:27.3.1-cli\n  services: docker:dind\n  script: [true]\n") == []


def test_a_plain_tcp_daemon_named_through_a_proxy_variable_in_a_template_is_one_finding(tmp_path):
    # The costliest miss of the real-file run: thirteen jobs, one template, the image in a variable.
    jobs = "".join(f"job-{n}:\n  extends: .dind\n  script: [docker build -t app-{n} .]\n" for n in range(13))
    findings = _lint_text(tmp_path, """\
variables:
  DIND: ${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/docker:24.0.9-dind
  DIND_SERVICE: $DIND
  DOCKER_HOST: tcp://docker:2375
.dind:
  timeout: 30 minutes
  image: docker:24.0.9-cli
  services:
    - name: $DIND_SERVICE
      alias: docker
""" + jobs)
    assert [(f.rule, f.line) for f in findings] == [("GL002", 4)]  # where DOCKER_HOST is written
    assert findings[0].message.endswith("(affects 13 jobs)")


def test_a_login_in_a_template_is_one_finding_where_the_template_writes_it(tmp_path):
    # Reached through extends by two jobs and through !reference, from another file, by a third.
    (tmp_path / "templates.yml").write_text(".login:\n  before_script:\n    - docker login -u u -p\"$PW\" registry.example.com\n")
    findings = _lint_text(tmp_path, """\
    include: [{local: templates.yml}]
    default:
      timeout: 30 minutes
      image: docker:27.3.1-cli
    one: {extends: .login, script: [docker build .]}
    two: {extends: .login, script: [docker build .]}
    three:
      before_script:
        - echo start
        - !reference [.login, before_script]
      script: [docker build .]
    """)
    assert [(Path(f.file).name, f.line, f.rule) for f in findings] == [("templates.yml", 3, "GL006")]
    assert findings[0].message.startswith(".login:") and findings[0].message.endswith("(affects 3 jobs)")


@pytest.mark.parametrize(("condition", "level"), [
    ('$CI_COMMIT_TAG != ""', "warning"),
    ("$CI_COMMIT_TAG =~ /^v[0-9]+/", "warning"),
    ('"main" == $CI_COMMIT_BRANCH', "warning"),
    ('$CI_COMMIT_BRANCH != "main"', "error"),
    ("$CI_COMMIT_BRANCH =~ /^release-/", "error"),
    ('$CI_COMMIT_TAG || $CI_PIPELINE_SOURCE == "web"', "error"),
    ('$CI_COMMIT_REF_PROTECTED == "true" && ($CI_COMMIT_TAG || $CI_PIPELINE_SOURCE == "web")', None),
])
def test_how_far_a_condition_limits_a_push(tmp_path, condition, level):
    text = SAFE_JOB.replace("docker build -t app .", "docker push app") + f"  rules:\n    - if: '{condition}'\n"
    assert [f.level for f in _lint_text(tmp_path, text)] == ([level] if level else [])
