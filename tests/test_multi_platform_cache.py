"""Scenario 30: a registry cache per platform, written only by runs the publish plan says publish.

Read from the rendered golden outputs: the GitHub gate script is run for each run (a pull request,
a fork's push, an upstream push), jobs are kept by their `if:` on the gate's answer, GitLab's rules
are evaluated as GitLab does; then the jobs that run are checked for credentials and cache writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.plan import Run
from tests import agreement
from tests.conftest import GOLDEN
from tests.gitlab_rules import resolved

SCENARIO = GOLDEN / "scenario-30-multi-platform-cache"
SHA = "0123456789abcdef0123456789abcdef01234567"
UPSTREAM = "acme/api"
CACHE = "quay.io/acme/api-cache"
SLUGS = {"amd64", "arm64"}
# (run, repository, publishes): a pull request, a fork's push to main, an upstream push and tag.
RUNS = [
    (Run("pr", "main", SHA), UPSTREAM, False),
    (Run("push", "main", SHA), "someone/api", False),
    (Run("push", "main", SHA), UPSTREAM, True),
    (Run("tag", "v1.2.3", SHA), UPSTREAM, True),
]


def _load(name: str) -> dict:
    return YAML(typ="safe").load((SCENARIO / name).read_text())


def _github_publishes(workflow: dict, run: Run, repository: str, tmp_path: Path) -> bool:
    base = agreement.github_environment(run, tmp_path, repository)
    (gate,) = [step for step in workflow["jobs"]["publish-gate"]["steps"] if step.get("id") == "decide"]
    done = agreement._run_shell(gate["run"], agreement._step_env(gate, base), tmp_path)
    assert done.returncode == 0, done.stderr
    decided = dict(line.split("=", 1) for line in Path(base["GITHUB_OUTPUT"]).read_text().splitlines())
    return decided["publish"] == "true"


def _github_runs(job: dict, publishes: bool) -> bool:
    condition = job.get("if", "")
    if "publish-gate.outputs.publish == 'true'" in condition:
        return publishes
    if "publish-gate.outputs.publish != 'true'" in condition:
        return not publishes
    return "always()" in condition or not condition


def _credentials(job: dict) -> list[str]:
    """What in a GitHub job could write to a registry: a login, a secret, a token with write scopes."""
    held = [step["name"] for step in job.get("steps", []) if "docker/login-action" in step.get("uses", "")]
    held += ["secrets" for step in job.get("steps", []) if "secrets." in str(step)]
    held += [scope for scope, level in (job.get("permissions") or {}).items() if level == "write" and scope in ("packages", "id-token")]
    return held


def _cache_writes(job: dict) -> list[str]:
    return [step["with"]["cache-to"] for step in job.get("steps", []) if "cache-to" in (step.get("with") or {})]


def _cache_reads(job: dict) -> list[str]:
    return [step["with"]["cache-from"] for step in job.get("steps", []) if "cache-from" in (step.get("with") or {})]


@pytest.mark.parametrize(("run", "repository", "publishes"), RUNS, ids=lambda v: getattr(v, "kind", None) and f"{v.kind}:{v.ref}" or str(v))
def test_github_writes_each_platforms_cache_only_on_publishing_runs(run, repository, publishes, tmp_path):
    workflow = _load("github.yml")
    assert _github_publishes(workflow, run, repository, tmp_path) == publishes
    running = {job_id: job for job_id, job in workflow["jobs"].items() if _github_runs(job, publishes)}
    platform_jobs = {job_id: job for job_id, job in running.items() if _cache_reads(job)}
    # Every platform builds on every run, and reads its own cache tag only.
    assert sorted(re.sub(r"^\w+-api-", "", job_id) for job_id in platform_jobs) == sorted(SLUGS)
    for job_id, job in platform_jobs.items():
        slug = job_id.rsplit("-", 1)[1]
        assert _cache_reads(job) == [f"type=registry,ref={CACHE}:cache-{slug}"]
    writers = {job_id: _cache_writes(job) for job_id, job in running.items() if _cache_writes(job)}
    if not publishes:
        # No running job writes the cache or holds anything that could write to a registry.
        assert writers == {}
        assert {job_id: _credentials(job) for job_id, job in running.items() if _credentials(job)} == {}
        return
    assert sorted(writers) == ["candidate-api-amd64", "candidate-api-arm64"]
    for job_id, refs in writers.items():
        slug = job_id.rsplit("-", 1)[1]
        (ref,) = refs
        assert ref.startswith(f"type=registry,ref={CACHE}:cache-{slug},")
        assert "mode=max" in ref.split(",") and "ignore-error=true" in ref.split(",")
        job = running[job_id]
        # It logs in to the cache's registry alone, and a failed login never fails the build.
        logins = [step for step in job["steps"] if "docker/login-action" in step.get("uses", "")]
        assert [step["with"]["registry"] for step in logins] == ["quay.io"]
        assert all(step.get("continue-on-error") is True for step in logins)
        assert "packages" not in (job.get("permissions") or {})
    # The merge publishes exactly the digests the cache-writing platform jobs tested.
    assert sorted(workflow["jobs"]["publish-api"]["needs"]) == ["candidate-api-amd64", "candidate-api-arm64", "publish-gate"]


@pytest.mark.parametrize(("run", "repository", "publishes"), RUNS, ids=lambda v: getattr(v, "kind", None) and f"{v.kind}:{v.ref}" or str(v))
def test_gitlab_writes_each_platforms_cache_only_on_publishing_pipelines(run, repository, publishes):
    pipeline = resolved(_load("gitlab.yml"))
    jobs = agreement.gitlab_jobs(pipeline, run, repository)
    assert jobs is not None
    platform_jobs = {job_id for job_id in jobs if "GEN_CI_CACHE_REF" in (pipeline[job_id].get("variables") or {})}
    assert len(platform_jobs) == len(SLUGS)
    for job_id in platform_jobs:
        slug = job_id.rsplit("-", 1)[1]
        assert pipeline[job_id]["variables"]["GEN_CI_CACHE_REF"] == f"{CACHE}:cache-{slug}"
    scripts = {job_id: "\n".join(agreement._script_items(pipeline[job_id], pipeline)) for job_id in jobs}
    writers = sorted(job_id for job_id, script in scripts.items() if 'docker push "$GEN_CI_CACHE_REF"' in script)
    logged_in = sorted(job_id for job_id, script in scripts.items() if "docker login" in script)
    if not publishes:
        assert writers == [] and logged_in == []
        return
    assert writers == ["candidate-api-amd64", "candidate-api-arm64"]
    assert logged_in == ["candidate-api-amd64", "candidate-api-arm64", "publish-api"]
    for job_id in writers:
        lines = [line for line in scripts[job_id].splitlines() if "docker login" in line or 'docker push "$GEN_CI_CACHE_REF"' in line]
        # Login and push to the cache's registry alone, neither able to fail the job.
        assert lines and all("|| echo" in line for line in lines), lines
        assert all("quay.io" in line for line in lines if "docker login" in line)
