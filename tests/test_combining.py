"""Scenario 28: the generated files combine with hand-written ones.

GitLab: a hand-written .gitlab-ci.yml includes the generated file (gitlab.include), merged as GitLab
merges it, and no publish job starts before the including file's unit-tests passed. GitHub: a
hand-written workflow calls the generated one (github.called) and reads the pushed digest and tags.
The hand-written files live beside the golden (golden/scenario-28-own-jobs/hand-written/) and pass
the same judges as the outputs.
"""

from __future__ import annotations

import shutil

import pytest
from ruamel.yaml import YAML

from generator.pipeline import compile_spec, generate
from generator.plan import Run, outcome
from tests import agreement
from tests.conftest import GOLDEN, invoke, run_tool
from tests.gitlab_rules import jobs_created, merged, predefined, resolved
from tests.test_errors import _errors, _spec_with
from tests.test_gitlab_rules import BUSY, QUIET, SPEC

CASE = GOLDEN / "scenario-28-own-jobs"
HAND = CASE / "hand-written"
SHA = "0123456789abcdef0123456789abcdef01234567"


def _load(path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def _rendered(write_spec, text: str) -> dict:
    return YAML(typ="safe").load(generate(write_spec(text))[2])


# --- GitLab ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "expected"), [*QUIET, *BUSY],
                         ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else None)
def test_an_included_file_adds_the_jobs_its_own_pipeline_would_hold(write_spec, case, expected):
    """The workflow's conditions moved into the jobs: every kind of pipeline gets the same jobs."""
    event, ref, tag, protected, mr_open = case
    busy = (case, expected) in BUSY
    text = SPEC % {"manual": str(busy).lower(), "schedule": '["0 4 * * 1"]' if busy else "[]"}
    variables = predefined(event, ref, tag=tag, protected=protected, mr_open=mr_open)
    alone = jobs_created(_rendered(write_spec, text), variables)
    included = _rendered(write_spec, text + "gitlab: {include: true}\n")
    # A hand-written file that runs every pipeline (no workflow of its own) and one job of its own.
    including = {"include": [{"local": "ci/images.yml"}], "unit-tests": {"stage": "test", "script": ["true"]}}
    combined = jobs_created(merged(including, {"ci/images.yml": included}), variables)
    assert alone == expected
    assert combined - {"unit-tests"} == (expected or set())


def test_the_included_file_leaves_stages_workflow_and_default_to_the_including_file():
    generated = _load(CASE / "gitlab.yml")
    assert not {"stages", "workflow", "default"} & set(generated)
    jobs = {name: job for name, job in resolved(generated).items() if isinstance(job, dict) and "script" in job and not name.startswith(".")}
    assert jobs and all(job["stage"] == ".post" and "needs" in job for job in jobs.values())
    assert all(job["inherit"] == {"default": False, "variables": ["GEN_CI_PUBLISH"]} for job in jobs.values())
    for name, job in jobs.items():
        if name.startswith("publish-"):
            # Not optional: a publish job with no unit-tests in its pipeline makes the pipeline invalid, never a push.
            assert {"job": "unit-tests", "artifacts": False} in job["needs"], name
            assert all(not (isinstance(need, dict) and need.get("optional")) for need in job["needs"]), name
        else:
            assert job["needs"] == [], name


def test_the_merged_pipeline_publishes_only_after_unit_tests_and_as_the_plan_says():
    model = compile_spec(CASE / "spec.yml")[1]
    including = _load(HAND / ".gitlab-ci.yml")
    assert including["include"] == [{"local": model.targets["gitlab"]}]
    pipeline = merged(including, {model.targets["gitlab"]: _load(CASE / "gitlab.yml")})
    assert pipeline["stages"] == ["test"] and pipeline["unit-tests"]["stage"] == "test"
    assert "rules" not in pipeline["unit-tests"]  # in every pipeline a publish job may be in
    seen = set()
    for kind in ("push", "pr", "manual", "schedule"):
        for ref in ("main", "develop", "v1.4.2"):
            run = Run("tag" if ref.startswith("v") and kind == "push" else kind, ref, SHA)
            expected = outcome(model, "gitlab", run, ["v1.0.0"])
            jobs = agreement.gitlab_jobs(pipeline, run)
            hand_written_runs = agreement.GITLAB_SOURCES[run.kind] in ("push", "merge_request_event", "web")
            assert jobs == (({*expected.jobs, "unit-tests"} if expected.runs else {"unit-tests"}) if hand_written_runs else None), run
            seen.add(expected.publishes)
    assert seen == {True, False}


def test_the_hand_written_gitlab_file_and_the_included_one_pass_the_judges(tmp_path):
    shutil.copy(HAND / ".gitlab-ci.yml", tmp_path / ".gitlab-ci.yml")
    (tmp_path / "ci").mkdir()
    shutil.copy(CASE / "gitlab.yml", tmp_path / "ci" / "images.gitlab-ci.yml")
    (tmp_path / ".git").mkdir()
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(tmp_path / ".gitlab-ci.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)  # include: local is read from the repository's root
        linted = invoke("lint", ".gitlab-ci.yml", "ci/images.gitlab-ci.yml")
    assert linted.exit_code == 0 and "not audited" not in linted.stderr, linted.stdout + linted.stderr


# --- GitHub ---------------------------------------------------------------------------------

def _caller_layout(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    shutil.copy(HAND / "caller.yml", workflows / "ci.yml")
    shutil.copy(CASE / "github.yml", workflows / "images.yml")
    return workflows


def test_the_caller_and_the_called_workflow_pass_the_judges(tmp_path):
    workflows = _caller_layout(tmp_path)
    # actionlint reads the called file: inputs, secrets and outputs of the call are checked both ways.
    result = run_tool("actionlint", "-no-color", str(workflows / "ci.yml"), str(workflows / "images.yml"))
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    for persona in ("pedantic", "auditor"):
        result = run_tool("zizmor", "--offline", "--no-progress", "--persona", persona, str(workflows))
        assert result.returncode == 0 and "No findings to report" in result.stdout + result.stderr, result.stdout
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflows / "ci.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_caller_grants_what_the_called_jobs_ask_and_passes_every_secret():
    called, caller = _load(CASE / "github.yml"), _load(HAND / "caller.yml")
    call = caller["jobs"]["images"]
    assert set(called["on"]) == {"workflow_call"} and "concurrency" not in called
    assert call["uses"] == "$/.github/workflows/images.yml" and call["needs"] == "unit-tests" and "if" not in call
    asked = {(scope, level) for job in called["jobs"].values() for scope, level in (job.get("permissions") or {}).items()}
    assert asked <= set(call["permissions"].items())
    declared = called["on"]["workflow_call"]["secrets"]
    assert set(declared) == set(call["secrets"]) and all(entry["required"] for entry in declared.values())
    assert set(called["on"]["workflow_call"]["outputs"]) == {"app-digest", "app-tags"}


def test_a_called_workflow_cannot_sign(cli, write_spec):
    rows = _errors(cli(str(write_spec(_spec_with("github: {called: true}\n")))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC123", "$.github.called")]


@pytest.mark.parametrize(("override", "path"), [
    ("gitlab: {publish_needs: [unit-tests]}\n", "$.gitlab.publish_needs"),
    ("gitlab: {include: true, publish_needs: [check-generated]}\n", "$.gitlab.publish_needs[0]"),
    ("gitlab: {include: true, publish_needs: [variables]}\n", "$.gitlab.publish_needs[0]"),
])
def test_needs_that_cannot_work_are_refused_where_written(cli, write_spec, override, path):
    base = "targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind}\nimages: [{repository: registry.gitlab.com/a/b}]\n"
    rows = _errors(cli(str(write_spec(_spec_with(base + override)))))
    assert [r["path"] for r in rows] == [path], [r.string for r in rows]


def test_jenkins_is_pointed_at_its_documented_way(cli, write_spec):
    rows = _errors(cli(str(write_spec(_spec_with("targets: {jenkins: Jenkinsfile}\ngithub: {called: true}\n")))))
    assert [r["code"] for r in rows] == ["GC166"] and "docs/jenkins.md" in rows[0]["msg"]


MULTI = """\
version: 1
name: acme-multi
targets: {gitlab: ci/images.gitlab-ci.yml}
docker: {mode: dind}
check_job: true
runners: {gitlab: [docker-privileged], platforms: {linux/arm64: {gitlab: [arm]}}}
images:
  - {id: api, publish: [{repository: platform/api}], platforms: [linux/amd64, linux/arm64], paths: [services/api/**]}
  - {id: web, publish: [{repository: platform/web}], paths: [services/web/**]}
triggers: {manual: true, schedule: ["0 4 * * 1"], pull_requests: true}
push: {branches: [main], tags: ["v*"], events: [push, manual, schedule], sign: false}
"""


def test_several_platforms_change_filters_and_the_check_job_combine_too(write_spec, tmp_path):
    alone = _rendered(write_spec, MULTI)
    text = generate(write_spec(MULTI + "gitlab: {include: true, publish_needs: [unit-tests, 'lint:python']}\n"))[2]
    included = YAML(typ="safe").load(text)
    assert "Pipeline schedules" in text and '#   "0 4 * * 1"' in text
    assert included["publish-api"]["needs"] == ["candidate-api-amd64", "candidate-api-arm64",
                                                {"job": "unit-tests", "artifacts": False}, {"job": "lint:python", "artifacts": False}]
    for event, ref, tag, protected in [("push", "main", False, True), ("push", "main", False, False), ("push", "v1.2.3", True, True),
                                       ("merge_request_event", "main", False, False), ("schedule", "main", False, True),
                                       ("web", "main", False, True), ("api", "main", False, True)]:
        for mr_open, publish in ((False, "no"), (True, "no"), (False, "yes")):
            variables = {**predefined(event, ref, tag=tag, protected=protected, mr_open=mr_open), "GEN_CI_PUBLISH": publish}
            assert (jobs_created(alone, variables) or set()) == jobs_created(included, variables), (event, ref, protected, mr_open, publish)
    path = tmp_path / "images.gitlab-ci.yml"
    path.write_text(text)
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    linted = invoke("lint", str(path))
    assert linted.exit_code == 0, linted.stdout + linted.stderr


def test_setup_says_what_the_hand_written_files_must_do():
    result = invoke("setup", str(CASE / "spec.yml"))
    assert result.exit_code == 0, result.stderr
    assert "calls `.github/workflows/images.yml`" in result.stdout and "`DOCKERHUB_USERNAME`, `DOCKERHUB_TOKEN` by name" in result.stdout
    assert "includes `ci/images.gitlab-ci.yml`" in result.stdout and "its jobs `unit-tests` exist in every pipeline that publishes" in result.stdout
