"""Scenarios 16 to 24 (../shared/reference/scenarios.md): `gen-ci plan` prints exactly the
references each lists, per event and platform. The agreement test proves the rendered files
publish the same; this file holds the scenarios' own words."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, invoke
from tests.gitlab_rules import job_script, resolved

SHA = "0123456789abcdef0123456789abcdef01234567"

SCENARIOS = {
    "scenario-16-short-sha": {
        ("github", "push:main"): ["ghcr.io/acme/app:main", "ghcr.io/acme/app:main-0123456", "ghcr.io/acme/app:sha-0123456"],
        ("github", "tag:v1.4.2"): ["ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:sha-0123456"],
        ("github", "pr:main"): [],
    },
    "scenario-17-keep-v": {
        ("github", "tag:v1.4.2"): ["docker.io/acme/app:v1.4.2", "docker.io/acme/app:v1.4", "docker.io/acme/app:v1", "docker.io/acme/app:latest"],
        ("github", "tag:v2.0.0-rc.1"): ["docker.io/acme/app:v2.0.0-rc.1"],
    },
    "scenario-18-fixed-tags": {
        (platform, event): refs
        for platform in ("github", "gitlab")
        for event, refs in (("push:main", ["platform:latest"]), ("schedule:main", ["platform:nightly"]),
                            ("manual:main", ["platform:stable"]), ("push:dev", []), ("pr:main", []))
    },
    "scenario-19-calver": {
        ("github", "release:2026.07.2"): ["ghcr.io/acme/app:2026.07.2", "ghcr.io/acme/app:2026.07", "ghcr.io/acme/app:latest"],
        ("github", "release:2026.08.0-beta1"): ["ghcr.io/acme/app:2026.08.0-beta1"],
    },
    "scenario-20-version-file": {
        ("github", "push:main"): ["ghcr.io/acme/app:3.2.1", "ghcr.io/acme/app:3.2", "ghcr.io/acme/app:latest"],
        ("github", "pr:main"): [],
    },
    "scenario-24-pr-targets-classes": {
        (platform, event): refs
        for platform in ("github", "gitlab")
        for event, refs in (("tag:v1.2.3", ["ghcr.io/acme/app:v1.2.3"]), ("tag:v1.2.x", []), ("push:main", ["ghcr.io/acme/app:main"]),
                            ("pr:develop", []))
    },
    "scenario-21-tags-per-registry": {
        ("github", "tag:v1.4.2"): ["docker.io/acme/app:1.4.2", "docker.io/acme/app:latest", "ghcr.io/acme/app:1.4.2",
                                   "ghcr.io/acme/app:1.4", "ghcr.io/acme/app:latest", "ghcr.io/acme/app:sha-0123456"],
        ("github", "push:main"): ["ghcr.io/acme/app:edge"],
    },
    "scenario-22-own-registry-images": {
        ("github", "push:main"): ["platform/api:main", "platform/docs:main", "platform/worker:main"],
        ("gitlab", "push:main"): ["platform/api:main", "platform/docs:main", "platform/worker:main"],
    },
    "scenario-23-release-only": {
        ("github", "tag:v1.4.2"): [],
        ("github", "release:v1.4.2"): ["ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:1.4", "ghcr.io/acme/app:1", "ghcr.io/acme/app:latest"],
    },
    "scenario-28-own-jobs": {  # the same plan whether the files are included or called
        (platform, event): [f"{repository}:{tag}" for repository in ("docker.io/acme/app", "platform") for tag in tags]
        for platform in ("github", "gitlab")
        for event, tags in (("push:main", ["edge", "sha-0123456789ab"]), ("tag:v1.4.2", ["1.4.2", "1.4", "1", "sha-0123456789ab"]),
                            ("pr:main", []))
    },
}
CASES = [(golden, platform, event, refs) for golden, runs in SCENARIOS.items() for (platform, event), refs in runs.items()]


@pytest.mark.parametrize(("golden", "platform", "event", "expected"), CASES, ids=[f"{g}-{p}-{e}" for g, p, e, _ in CASES])
def test_plan_prints_what_the_scenario_lists(golden, platform, event, expected):
    spec = ROOT / "golden" / golden / "spec.yml"
    result = invoke("plan", str(spec), "--platform", platform, "--event", event, "--sha", SHA, "--released", "v0.0.1")
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(expected)


@pytest.mark.parametrize(("platform", "target", "runs"), [(p, t, r) for p in ("github", "gitlab") for t, r in
                                                         (("develop", True), ("release/2.x", True), ("main", True), ("feature/x", False))])
def test_pull_requests_run_for_the_targets_listed(platform, target, runs):
    """Scenario 24: pull requests into develop and release/* run, though only main publishes."""
    import json

    spec = ROOT / "golden" / "scenario-24-pr-targets-classes" / "spec.yml"
    result = invoke("plan", str(spec), "--platform", platform, "--event", f"pr:{target}", "--format", "json")
    (outcome,) = json.loads(result.stdout)
    assert outcome["runs"] is runs and outcome["references"] == []


def test_labels_reach_the_image_and_annotations_its_index():
    """Scenario 25: each build labels the image; each merge annotates the index, on both platforms."""
    from ruamel.yaml import YAML

    golden = ROOT / "golden" / "scenario-25-labels"
    labels = {"org.opencontainers.image.title": "acme", "org.opencontainers.image.licenses": "MIT", "com.acme.team": "platform"}
    workflow = YAML(typ="safe").load((golden / "github.yml").read_text())
    builds = [step for job in workflow["jobs"].values() for step in job["steps"] if "build-push-action" in step.get("uses", "")]
    assert builds and all(f"{k}={v}" in step["with"]["labels"].splitlines() for step in builds for k, v in labels.items())
    (merge,) = [step for job in workflow["jobs"].values() for step in job["steps"] if step.get("id") == "merge"]
    assert sorted(v for k, v in merge["env"].items() if k.startswith("ANNOTATION_")) == sorted(f"index:{k}={v}" for k, v in labels.items())
    pipeline = resolved(YAML(typ="safe").load((golden / "gitlab.yml").read_text()))
    scripts = {name: "\n".join(job_script(job)) for name, job in pipeline.items() if isinstance(job, dict)}
    builds = [script for name, script in scripts.items() if "docker build " in script]
    assert builds and all(f"--label {k}={v}" in script for script in builds for k, v in labels.items())
    assert any(all(f"--annotation index:{k}={v}" in script for k, v in labels.items()) and "imagetools create" in script for script in scripts.values())


REGISTRY_TAGS = ("images: [{publish: [{repository: docker.io/acme/app, auth: secrets, username: U, password: P, tags: [latest]}]}]\n"
                 "push: {environment: registry}\n")


@pytest.mark.parametrize(("head", "code"), [
    ("targets: {jenkins: Jenkinsfile}\ndocker: {mode: dind}\n", "GC131"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\nrunners: {gitlab: [rootless]}\n", "GC130"),
])
def test_tags_per_registry_are_refused_where_they_do_not_render(write_spec, head, code):
    spec = write_spec("version: 1\nname: acme\n" + head + REGISTRY_TAGS.replace("push: {environment: registry}\n", ""))
    result = invoke("render", str(spec))
    assert result.exit_code == 2 and f"error[{code}]: $.images[0].publish[0].tags:" in result.stderr, result.stderr


def test_a_registry_tag_rule_that_never_fires_is_refused_where_written(write_spec):
    spec = write_spec("version: 1\nname: acme\ntargets: {github: ci.yml}\n" + REGISTRY_TAGS.replace("[latest]", "[{tag: x, events: [schedule]}]"))
    result = invoke("render", str(spec))
    assert result.exit_code == 2 and "error[GC150]: $.images[0].publish[0].tags[0]:" in result.stderr, result.stderr


def test_every_scenario_is_a_golden():
    assert all((ROOT / "golden" / golden / "spec.yml").is_file() for golden in SCENARIOS)
