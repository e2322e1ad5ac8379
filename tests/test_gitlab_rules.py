"""GitLab's workflow and job rules, evaluated for every kind of pipeline against what the spec says."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests.gitlab_rules import evaluate, jobs_created, predefined

SPEC = """\
version: 1
name: acme
targets: {gitlab: .gitlab-ci.yml}
docker: {mode: dind}
runners: {gitlab: [dind]}
images: [{id: app, repository: registry.gitlab.com/acme/app}]
triggers: {branches: [main, "release/*"], tags: ["v*"], pull_requests: true, manual: %(manual)s, schedule: %(schedule)s}
push: {branches: [main, "release/*"], tags: ["v*"]}
"""

BUILD, RELEASE = {"build-app"}, {"publish-app"}

# (event, ref, tag, protected, merge request open) -> jobs, or None for no pipeline at all.
QUIET = [
    (("push", "main", False, True, False), RELEASE),
    (("push", "main", False, False, False), BUILD),  # an unprotected main never gets the protected password
    (("push", "release/1.x", False, True, True), RELEASE),  # a release branch with an open MR still releases
    (("push", "release/1.x", False, True, False), RELEASE),
    (("push", "release/1.x", False, False, True), None),  # unprotected: its MR pipeline covers it
    (("push", "release/a/b", False, True, False), None),  # release/* stays in one path segment, as on GitHub
    (("push", "feature/x", False, False, True), None),
    (("push", "feature/x", False, False, False), None),  # not a trigger branch
    (("push", "MAIN", False, False, False), None),  # rules compare exactly
    (("merge_request_event", "feature/x", False, False, True), BUILD),
    (("push", "v1.4.2", True, True, False), RELEASE),
    (("push", "v1.4.2", True, False, False), BUILD),
    (("push", "x1.0", True, True, False), None),
    (("schedule", "main", False, True, False), None),  # no schedule in the spec
    (("web", "main", False, True, False), None),  # manual: false
    (("api", "main", False, True, False), None),
    (("trigger", "main", False, True, False), None),
]
BUSY = [
    (("schedule", "main", False, True, False), BUILD),  # schedules build, test and scan; they never push
    (("web", "main", False, True, False), BUILD),
    (("web", "release/1.x", False, True, True), BUILD),
    (("api", "main", False, True, False), None),
]


def _pipeline(write_spec, manual: bool, schedule: list[str]) -> dict:
    spec = write_spec(SPEC % {"manual": str(manual).lower(), "schedule": schedule or "[]"})
    _, _, text = generate(spec)
    return YAML(typ="safe").load(text)


@pytest.mark.parametrize(("case", "expected"), QUIET, ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else None)
def test_rules_without_schedule_or_manual_runs(write_spec, case, expected):
    event, ref, tag, protected, mr_open = case
    variables = predefined(event, ref, tag=tag, protected=protected, mr_open=mr_open)
    assert jobs_created(_pipeline(write_spec, False, []), variables) == expected


@pytest.mark.parametrize(("case", "expected"), BUSY, ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else None)
def test_rules_with_schedule_and_manual_runs(write_spec, case, expected):
    event, ref, tag, protected, mr_open = case
    variables = predefined(event, ref, tag=tag, protected=protected, mr_open=mr_open)
    assert jobs_created(_pipeline(write_spec, True, ["0 4 * * 1"]), variables) == expected


def test_schedules_are_listed_for_the_project_settings(write_spec):
    spec = write_spec(SPEC % {"manual": "false", "schedule": '["0 4 * * 1", "30 2 1 * *"]'})
    _, _, text = generate(spec)
    assert "Pipeline schedules" in text
    assert '#   "0 4 * * 1"\n#   "30 2 1 * *"\n' in text


def test_the_evaluator_reads_gitlab_expressions():
    variables = {"A": "main", "B": "", "C": "release/1"}
    assert evaluate('$A == "main" && ($B || $C =~ /^release\\/.*$/)', variables)
    assert not evaluate('$A == "main" && $B', variables)
    assert evaluate('$MISSING == "x" || $A != "x"', variables)
    assert not evaluate("$MISSING", variables)
    assert evaluate('$A == "x" || $A == "y" && $B || $C', variables)  # && binds tighter


def test_includes_merge_as_gitlab_merges_them():
    """The including file's keys win: stages and workflow replaced, a job of the same name deep-merged."""
    from tests.gitlab_rules import merged

    included = {"stages": ["build"], "workflow": {"rules": [{"if": "$A"}]}, "job": {"stage": "build", "script": ["a"], "variables": {"X": "1"}}}
    including = {"include": [{"local": "ci/x.yml"}], "stages": ["test"], "job": {"variables": {"Y": "2"}}}
    out = merged(including, {"ci/x.yml": included})
    assert out["stages"] == ["test"] and out["workflow"] == {"rules": [{"if": "$A"}]}
    assert out["job"] == {"stage": "build", "script": ["a"], "variables": {"X": "1", "Y": "2"}}
