"""gen-ci plan: what a spec publishes per run, as users ask it, and the event words it decides once."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import GOLDEN, invoke

SHA = "0123456789abcdef0123456789abcdef01234567"
BASE = """\
version: 1
name: acme
targets: {%(targets)s}
images:
  - repository: %(repository)s
    tags: %(tags)s
triggers: {branches: [main], tags: ["v*"], release: %(release)s, schedule: ["0 4 * * 1"]}
push: {branches: [main], tags: ["v*"], events: %(events)s%(auth)s}
docker: {mode: dind}
%(runners)s"""
# Credentials every platform accepts for one registry.
SECRETS = ", auth: secrets, username: REGISTRY_USER, password: REGISTRY_TOKEN, environment: release"


def _spec(write_spec, tags="[ref, sha]", events="[push]", targets="github: ci.yml", release="false"):
    everywhere = targets != "github: ci.yml"
    return write_spec(BASE % {
        "tags": tags, "events": events, "targets": targets, "release": release,
        "repository": "docker.io/acme/app" if everywhere else "ghcr.io/acme/app", "auth": SECRETS if everywhere else "",
        "runners": "runners: {gitlab: [dind]}\n" if "gitlab" in targets else "",
    })


def plan(spec, *args, fails: bool = False):
    result = invoke("plan", str(spec), "--sha", SHA, "--released", "v1.0.0", *args)
    assert (result.exit_code != 0) == fails, result.stderr
    return result


def test_a_tag_publishes_its_versions_and_its_sha(write_spec):
    spec = _spec(write_spec, tags="[sha, semver, latest]")
    result = plan(spec, "--platform", "github", "--event", "tag:v1.4.2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "ghcr.io/acme/app:1\nghcr.io/acme/app:1.4\nghcr.io/acme/app:1.4.2\nghcr.io/acme/app:latest\nghcr.io/acme/app:sha-0123456789ab\n"
    )
    assert plan(spec, "--platform", "github", "--event", "pr:main").stdout == ""


def test_a_backport_moves_only_its_own_series(write_spec):
    spec = _spec(write_spec, tags="[semver, latest]")
    result = invoke("plan", str(spec), "-p", "github", "-e", "tag:v1.2.9", "--released", "v1.4.0", "--released", "v1.2.8")
    assert result.stdout == "ghcr.io/acme/app:1.2\nghcr.io/acme/app:1.2.9\n"


def test_the_ref_tag_is_published_on_every_publishing_event(write_spec):
    spec = _spec(write_spec, tags="[ref]", events="[push, schedule]")
    assert plan(spec, "-p", "github", "-e", "schedule:main").stdout == "ghcr.io/acme/app:main\n"
    assert plan(spec, "-p", "github", "-e", "schedule:develop").stdout == ""  # GitHub schedules run on the default branch


def test_a_fixed_latest_on_named_branches_fires(write_spec):
    spec = _spec(write_spec, tags="[{tag: latest, branches: [main]}, semver]")
    assert plan(spec, "-p", "github", "-e", "push:main").stdout == "ghcr.io/acme/app:latest\n"


def test_a_release_claims_its_tag_so_one_version_gets_one_digest(write_spec):
    spec = _spec(write_spec, tags="[semver]", events="[push, release]", release="true", targets="github: ci.yml, gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile")
    assert plan(spec, "-p", "github", "-e", "tag:v1.4.2").stdout == ""
    once = "docker.io/acme/app:1\ndocker.io/acme/app:1.4\ndocker.io/acme/app:1.4.2\n"
    assert plan(spec, "-p", "github", "-e", "release:v1.4.2").stdout == once
    # GitLab and Jenkins have no release event: a release there is its tag's run.
    for platform in ("gitlab", "jenkins"):
        assert plan(spec, "-p", platform, "-e", "tag:v1.4.2").stdout == once
        refused = plan(spec, "-p", platform, "-e", "release:v1.4.2", fails=True)
        assert refused.exit_code == 2 and f"{platform} has no release event" in refused.stderr and "tag:v1.4.2" in refused.stderr
    data = json.loads(plan(spec, "-p", "gitlab", "-e", "tag:v1.4.2", "--format", "json").stdout)
    assert data[0]["publishing_event"] == "release" and data[0]["jobs"] == ["publish-app"]


def test_release_only_publishing_never_publishes_a_branch_on_jenkins(write_spec):
    spec = _spec(write_spec, events="[release]", targets="jenkins: Jenkinsfile")
    assert plan(spec, "-e", "push:main").stdout == ""
    assert plan(spec, "-e", "tag:v1.4.2").stdout == "docker.io/acme/app:sha-0123456789ab\ndocker.io/acme/app:v1.4.2\n"


def test_without_an_event_a_table_of_the_usual_runs(write_spec):
    spec = _spec(write_spec, targets="github: ci.yml, gitlab: .gitlab-ci.yml")
    table = plan(spec).stdout
    assert "github   push:main" in table and "gitlab   pr:main" in table
    assert "docker.io/acme/app:main" in table and "publishes nothing" in table and "no run" in table


def test_against_a_git_ref_shows_what_a_change_starts_publishing(tmp_path, monkeypatch):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    spec = tmp_path / "gen-ci.yml"
    spec.write_text(BASE % {"tags": "[sha, semver]", "events": "[push]", "targets": "github: ci.yml", "release": "false", "repository": "ghcr.io/acme/app", "auth": "", "runners": ""})
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "x"], check=True, env={**__import__("os").environ, **env})
    spec.write_text(spec.read_text().replace("[sha, semver]", "[sha, semver, latest]"))
    monkeypatch.chdir(tmp_path)
    result = invoke("plan", "--against", "HEAD", "--released", "v1.0.0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "github tag:v1.2.3: + ghcr.io/acme/app:latest\n"
    assert invoke("plan", "--against", "no-such-ref").exit_code == 2


def test_mermaid_draws_the_jobs(write_spec):
    result = plan(_spec(write_spec), "--format", "mermaid")
    assert result.stdout.startswith("flowchart LR\n") and "publish to ghcr.io/acme/app" in result.stdout


@pytest.mark.parametrize(("args", "words"), [
    (("-e", "push"), "write KIND:REF"),
    (("-e", "deploy:main"), "write KIND:REF"),
    (("-e", "push:main", "-p", "gitlab"), "this spec renders github"),
    (("-e", "push:main", "--sha", "XYZ"), "--sha"),
])
def test_a_question_it_cannot_answer_says_why(write_spec, args, words):
    result = plan(_spec(write_spec), *args, fails=True)
    assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_several_platforms_need_one_named(write_spec):
    spec = _spec(write_spec, targets="github: ci.yml, gitlab: .gitlab-ci.yml")
    result = plan(spec, "-e", "push:main", fails=True)
    assert result.exit_code == 2 and "--platform" in result.stderr


@pytest.mark.parametrize(("tags", "events", "words"), [
    ("[{tag: nightly, events: [schedule]}]", "[push]", "push.events lists only push"),
    ("[{tag: latest, events: [schedule]}]", "[push, schedule]", "{tag: latest, events: [schedule], branches: [main]}"),
    ("[{tag: semver, branches: [main]}]", "[push]", "semver comes from a version tag"),
    ("[{tag: x, tags: ['v*']}]", "[schedule]", "applies only to refs"),
])
def test_a_tag_rule_that_could_never_fire_is_refused_where_it_is_written(write_spec, tags, events, words):
    result = invoke(str(_spec(write_spec, tags=tags, events=events)))
    assert result.exit_code == 2 and "error[GC150]" in result.stderr and words in result.stderr
    assert ":6:" in result.stderr  # the tags line


def test_a_schedule_that_publishes_names_its_branch(write_spec):
    spec = write_spec(BASE.replace("push: {branches: [main]", "push: {branches: []") % {
        "tags": "[sha]", "events": "[schedule]", "targets": "github: ci.yml", "release": "false", "repository": "ghcr.io/acme/app", "auth": "", "runners": ""})
    result = invoke(str(spec))
    assert result.exit_code == 2 and "error[GC114]" in result.stderr and "push.branches: [main]" in result.stderr


def test_every_golden_has_a_plan_for_every_platform_it_renders():
    for spec in sorted(GOLDEN.glob("*/spec.yml")):
        result = invoke("plan", str(spec), "--sha", SHA, "--released", "v1.0.0")
        assert result.exit_code == 0 and result.stdout, (spec, result.stderr)
