"""Each hardening rule of the GitHub output, checked on every golden workflow."""

from __future__ import annotations

import json
import re

import pytest
from ruamel.yaml import YAML

from generator import pins
from tests.conftest import ROOT, golden_outputs

WORKFLOWS = golden_outputs("github")
SHA_PIN = re.compile(r"^(?P<name>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")


def _load(path):
    yaml = YAML(typ="rt")
    return yaml.load(path.read_text())


def _jobs(path):
    return _load(path)["jobs"]


def _steps(path):
    for job_id, job in _jobs(path).items():
        for step in job["steps"]:
            yield job_id, job, step


params = pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.parent.name)


@params
def test_top_level_permissions_are_empty(path):
    assert _load(path)["permissions"] == {}


# Jobs that start nothing and hold no permission at all.
BARE_JOBS = ("publish-gate", "all-images")


@params
def test_each_job_permission_is_explained(path):
    for job_id, job in _jobs(path).items():
        if job_id in BARE_JOBS:
            assert job["permissions"] == {}
            continue
        assert job["permissions"], job_id
        for scope in job["permissions"]:
            comment = job["permissions"].ca.items.get(scope)
            assert comment and comment[2].value.strip().startswith("#"), f"{job_id}.{scope} has no why-comment"


@params
def test_write_scopes_only_on_the_push_job(path):
    """packages and id-token only where a push needs them; security-events only where a scan uploads."""
    for job_id, job in _jobs(path).items():
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        uploads = any("upload-sarif" in step.get("uses", "") for step in job["steps"])
        assert ("security-events" in writes) == uploads, job_id
        if job_id.startswith("build-"):
            assert writes - {"security-events"} == set(), job_id
        else:
            assert writes <= {"packages", "id-token", "security-events"}


@params
def test_oidc_only_where_it_is_used(path):
    """id-token: write exactly in the jobs that trade it: at AWS STS, or at Sigstore's Fulcio."""
    signs = {}
    for job_id, job in _jobs(path).items():
        uses_aws = any("configure-aws-credentials" in s.get("uses", "") for s in job["steps"])
        signs[job_id] = any("cosign sign --yes" in s.get("run", "") for s in job["steps"])
        assert ("id-token" in job["permissions"]) == (uses_aws or signs[job_id]), job_id
        if signs[job_id]:
            assert job_id.startswith("publish-") and "publish == 'true'" in job["if"], job_id
    releases = any(job_id.startswith("publish-") for job_id in signs)
    asked = _load(path.parent / "spec.yml").get("push", {}).get("sign", True)
    assert any(signs.values()) == (releases and asked)


@params
def test_checkout_never_persists_credentials(path):
    checkouts = [s for _, _, s in _steps(path) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


@params
def test_every_job_has_a_timeout_and_everything_is_named(path):
    doc = _load(path)
    assert doc["name"]
    for job_id, job in doc["jobs"].items():
        assert isinstance(job["timeout-minutes"], int), job_id
        assert job["name"], job_id
        assert all(step.get("name") for step in job["steps"]), job_id


@params
def test_concurrency_cancels_only_pull_requests(path):
    workflow = _load(path)
    if set(workflow["on"]) == {"workflow_call"}:
        # github.called: a group of its own would be the caller's and deadlock; the caller's governs.
        assert "concurrency" not in workflow
        workflow = _load(path.parent / "hand-written" / "caller.yml")
    concurrency = workflow["concurrency"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    # Outside pull requests every run is its own group: a pending release is never replaced.
    assert concurrency["group"].endswith("${{ github.event.pull_request.number || github.run_id }}")


@params
def test_everything_a_job_starts_is_named_for_its_run(path):
    """Concurrent jobs on one self-hosted runner must not share containers, volumes or host ports."""
    for job_id, job in _jobs(path).items():
        if job_id in ("check-generated", "changes", *BARE_JOBS):  # start no container
            continue
        assert job["env"]["GEN_CI_NAME"] == f"gen-ci-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}-{job_id}"
        for step in job["steps"]:
            run = step.get("run", "")
            assert not re.search(r"--(name|volume) gen-ci-|\brm [^\n]*gen-ci-(dind|registry)\b", run), step["name"]
            assert not re.search(r"--publish 127\.0\.0\.1:\d+:", run), step["name"]
        for service in (job.get("services") or {}).values():
            # The daemon's TLS port and the candidate registry's, on loopback only.
            assert service["ports"] == ["127.0.0.1::2376", "127.0.0.1::5000"] and "volumes" not in service


@params
def test_publishing_is_decided_exactly_by_a_job_without_permissions(path):
    """if: compares case-insensitively and has no globs, so a bare job decides in the shell."""
    jobs = _jobs(path)
    if "publish-gate" not in jobs:
        assert not any(job_id.startswith("publish-") for job_id in jobs)
        return
    gate = jobs["publish-gate"]
    assert gate["permissions"] == {} and "uses" not in str(gate["steps"])
    assert '=~ $' in gate["steps"][0]["run"] or "schedule)" in gate["steps"][0]["run"]
    publishing = "needs.publish-gate.outputs.publish == 'true'"
    for job_id, job in jobs.items():
        if job_id in ("publish-gate", "changes", "all-images", "check-generated"):
            continue
        needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
        image = job_id.split("-", 1)[1]
        changed = f" && needs.changes.outputs.{image} == 'true'" if "changes" in needs else ""
        merged = [need for need in needs if need.startswith("build-")]
        assert needs[0] == "publish-gate"
        if job_id.startswith("candidate-"):
            # A platform job that writes a registry cache: publishing runs alone, as a publish job.
            assert job["if"] == "${{ " + publishing + changed + " }}", job_id
        elif job_id.startswith("publish-"):
            # A multi-platform merge also waits for every platform job.
            assert job["if"] == "${{ " + publishing + changed + " }}", job_id
        elif any(job_id in other["needs"] for other_id, other in jobs.items() if other_id.startswith("publish-") and isinstance(other.get("needs"), list)):
            # A platform job runs in every run; only its steps that keep the candidate are gated.
            assert job.get("if") == ("${{ " + changed.removeprefix(" && ") + " }}" if changed else None), job_id
            gated = [step for step in job["steps"] if step.get("if") == "${{ " + publishing + " }}"]
            expected = (["Keep", "Upload"], ["Keep", "Describe", "Upload"])
            if any(job_id in other["needs"] for other_id, other in jobs.items() if other_id.startswith("build-") and isinstance(other.get("needs"), list)):
                # The base of an image chain keeps its candidate on every run: the jobs built from it read it.
                expected = ([], ["Describe"])
            assert [step["name"].split(" ")[0] for step in gated] in expected, job_id
        else:
            assert not merged and job["if"] == "${{ needs.publish-gate.outputs.publish != 'true'" + changed + " }}", job_id


@params
def test_no_dangerous_triggers(path):
    triggers = _load(path)["on"]
    assert not {"pull_request_target", "workflow_run"} & set(triggers)


@params
def test_no_expressions_inside_run(path):
    for job_id, _, step in _steps(path):
        assert "${{" not in step.get("run", ""), f"{job_id}: {step['name']}"


@params
def test_actions_pinned_to_a_recorded_sha(path):
    recorded = pins.pins()["actions"]
    for _, _, step in _steps(path):
        if "uses" not in step:
            continue
        match = SHA_PIN.match(step["uses"])
        assert match, step["uses"]
        assert recorded[match["name"]]["sha"] == match["sha"]
    text = path.read_text()
    for line in text.splitlines():
        if "uses:" in line:
            name = line.split("uses:")[1].split("@")[0].strip()
            assert line.rstrip().endswith(f"# {recorded[name]['version']}"), line


@params
def test_push_job_is_bound_to_the_named_environment(path):
    from generator.loading import load_spec

    spec = load_spec(path.parent / "spec.yml").data
    environment = spec.get("push", {}).get("environment")
    for job_id, job in _jobs(path).items():
        if job_id.startswith(("publish-", "candidate-")) and job_id not in BARE_JOBS:
            assert job.get("environment") == environment
        elif job_id.startswith("build-") and any(image.get("secrets") for image in spec["images"]):
            assert job.get("environment") == spec["push"]["build_environment"]  # build secrets are environment secrets too
        else:
            assert "environment" not in job


# Docker's dind image, or the same through a pull mirror (scenario 32).
DOCKER_DIND = r"^(?:[a-z0-9.:-]+/library/)?docker:[0-9.]+-dind@"


@params
def test_privileged_only_on_the_daemon(path):
    for job_id, job in _jobs(path).items():
        assert "container" not in job, job_id  # jobs run on the runner itself, never in a privileged container
        for service_id, service in (job.get("services") or {}).items():
            assert service_id == "dind" and service["options"] == "--privileged", job_id
            assert re.match(DOCKER_DIND, service["image"]), service["image"]
        for step in job["steps"]:
            run = step.get("run", "")
            if "--privileged" in run:
                assert run.count("--privileged") == 1 and '"$DIND_IMAGE"' in run, step["name"]
                assert re.match(DOCKER_DIND, step["env"]["DIND_IMAGE"]), step["env"]["DIND_IMAGE"]


@params
def test_registry_login_only_in_the_push_job(path):
    from generator.loading import load_spec

    caches = {image["cache_repository"].split("/")[0] for image in load_spec(path.parent / "spec.yml").data["images"] if "cache_repository" in image}
    for job_id, _, step in _steps(path):
        if "login-action" in step.get("uses", ""):
            if job_id.startswith("candidate-"):
                # Publishing runs' platform jobs log in to the cache's registry alone, and may fail to.
                assert step["with"]["registry"] in caches and step["continue-on-error"] is True, job_id
            else:
                assert job_id.startswith("publish-"), job_id


def test_pins_file_entries_are_full_shas_with_versions():
    for name, pin in pins.pins()["actions"].items():
        assert re.fullmatch(r"[0-9a-f]{40}", pin["sha"]), name
        assert re.fullmatch(r"v\d+\.\d+\.\d+", pin["version"]), name
    for name in pins.pins()["images"]:
        # A tag says which release; the digest is the identity, and its source says where it was read.
        assert re.fullmatch(r"\S+:(?:[a-z]+-)?v?\d+\.\d+\.\d+(-[a-z]+[0-9]*)*@sha256:[0-9a-f]{64}", pins.image(name)), name
        assert pins.pins()["images"][name]["source"], name


def test_the_schemas_docker_defaults_are_the_versions_pins_json_holds_digests_for():
    """A default the pins do not cover would render its image by tag alone, and no rule sees a default."""
    from generator.validation import spec_schema

    docker = spec_schema()["properties"]["docker"]["properties"]
    assert f"{docker['version']['default']}-dind" == pins.image_tag("docker-dind")
    assert f"{docker['version']['default']}-cli" == pins.image_tag("docker-cli")
    assert docker["buildkit"]["default"] == pins.image_tag("buildkit")
    assert f"{docker['buildkit']['default']}-rootless" == pins.image_tag("buildkit-rootless")


def test_every_image_digest_was_read_from_a_recorded_source():
    """A digest enters pins.json only with the research record that says where it was read."""
    records = json.loads((ROOT / "docs" / "research" / "image-digests.json").read_text())
    recorded = {(r["image"], r["tag"], r["digest"]) for r in records if r["digest"] and r["source"]}
    for name, pin in pins.pins()["images"].items():
        assert (pin["image"], pin["tag"], pin["digest"]) in recorded, name


@pytest.mark.parametrize("path", [p for platform in ("github", "gitlab", "jenkins", "jenkins_agent") for p in golden_outputs(platform)],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_image_a_golden_runs_is_pinned_by_digest(path):
    """Each of gen-ci's tool images appears only as its pinned tag and digest: never by tag alone."""
    text = path.read_text()
    for name, pin in pins.pins()["images"].items():
        for found in re.finditer(rf"(?<![\w./-]){re.escape(pin['image'])}:(?!\d+(?![\w.-]))[\w.-]+(@sha256:[0-9a-f]{{64}})?", text):
            assert found[1], f"{path}: {found[0]} runs by tag alone"
