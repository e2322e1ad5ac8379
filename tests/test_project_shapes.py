"""Real project shapes (issue 15): services for tests, prepare steps, change filters, registry cache.

The scripts run here as the jobs run them: the services and prepare shell against a stand-in for
docker (the prepare container's shell runs for real), the changes job's script in a real git
repository, and the summary job's script on each kind of result.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from ruamel.yaml import YAML

from generator.changes import gitlab_paths, path_regex
from generator.pipeline import generate
from tests.conftest import GOLDEN, golden_outputs
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _spec_with, assert_located_refusal
from tests.test_properties import github_evaluate

SERVICES = GOLDEN / "scenario-06-integration-tests"
PREPARE = GOLDEN / "scenario-07-prepare"
MONOREPO = GOLDEN / "scenario-04-monorepo"


def _load(path):
    return YAML(typ="safe").load(path.read_text() if hasattr(path, "read_text") else path)


def _github_jobs(path):
    return _load(path)["jobs"]


def _gitlab_jobs(path):
    """The jobs GitLab runs, with extends: applied; before_script and script as one "script"."""
    jobs = {k: v for k, v in resolved(_load(path)).items() if isinstance(v, dict) and "script" in v and not k.startswith(".")}
    return {k: {**v, "script": job_script(v)} for k, v in jobs.items()}


def _steps(job) -> dict:
    return {step["name"]: step for step in job["steps"]}


# Every container a job starts is removed in its cleanup.

DETACHED = re.compile(r'docker run --detach [^\n]*?--name "([^"]+)"')


@pytest.mark.parametrize("path", golden_outputs("github"), ids=lambda p: p.parent.name)
def test_github_jobs_remove_every_container_they_start(path):
    for job_id, job in _github_jobs(path).items():
        started = {name for step in job["steps"] for name in DETACHED.findall(step.get("run", ""))}
        cleanup = "\n".join(step["run"] for step in job["steps"] if step.get("if") == "${{ always() }}" and "run" in step)
        in_daemon = '"$GEN_CI_NAME-dind"' in cleanup or "services" in job  # removed with the job's own daemon
        for name in started:
            if in_daemon and name == "$GEN_CI_NAME-registry":
                continue
            assert re.search(rf'docker [^\n]*rm [^\n]*"{re.escape(name)}"', cleanup), f"{job_id}: {name} is never removed"


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_jobs_remove_every_container_they_start(path):
    for job_id, job in _gitlab_jobs(path).items():
        started = {name for line in job["script"] for name in DETACHED.findall(line)}
        cleanup = "\n".join(job.get("after_script", []))
        assert any("docker build" in line or "docker save" in line or "imagetools" in line or "trivy" in line or "buildctl" in line
                   or "cosign" in line or "gen-ci-tags" in line or "gen-ci check" in line for line in job["script"]), job_id
        for name in started:
            assert re.search(rf'docker rm [^\n]*"{re.escape(name)}"', cleanup), f"{job_id}: {name} is never removed"


def test_the_services_scenario_starts_services_and_cleans_up_on_both_platforms():
    # GitHub tests in its build job, on every run; its publish job only pushes the digest tested there.
    assert "Test orders" not in _steps(_github_jobs(SERVICES / "github.yml")["publish-orders"])
    steps = _steps(_github_jobs(SERVICES / "github.yml")["build-orders"])
    names = list(steps)
    start, test = names.index("Start the services of orders"), names.index("Test orders")
    assert start < test < names.index("Show the logs of the services of orders") < names.index("Remove the services of orders")
    assert steps["Show the logs of the services of orders"]["if"] == "${{ failure() }}"
    assert '--network "$GEN_CI_NAME-net"' in steps["Test orders"]["run"]
    for job_id in ("build-orders", "publish-orders"):
        job = _gitlab_jobs(SERVICES / "gitlab.yml")[job_id]
        assert any('docker network create "gen-ci-$CI_JOB_ID-net"' in line for line in job["script"])
        assert 'docker network rm "gen-ci-$CI_JOB_ID-net"' in job["after_script"][-2] + job["after_script"][-1]


def test_isolated_dind_services_share_the_daemon_network():
    steps = _steps(_github_jobs(GOLDEN / "scenario-06-integration-tests-dind" / "github.yml")["build-orders"])
    assert "--network=host --add-host postgres:127.0.0.1 --add-host redis:127.0.0.1" in steps["Test orders"]["run"]
    assert "docker network create" not in steps["Start the services of orders"]["run"]


# The services script, run.

FAKE_DOCKER = r"""#!/bin/sh
echo "$*" >> "$LOG"
case "$1" in
  exec)
    count=$(cat "$COUNTER" 2>/dev/null || echo 0)
    echo $((count + 1)) > "$COUNTER"
    [ "$((count + 1))" -ge "$READY_AFTER" ]
    ;;
esac
"""


def _run(tmp_path, script: str, env: dict[str, str], shell: str = "sh") -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")  # the wait loop without the waiting
    for tool in ("docker", "sleep"):
        (bin_dir / tool).chmod(0o755)
    full = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "LOG": str(tmp_path / "log"),
            "COUNTER": str(tmp_path / "counter")}
    done = subprocess.run([shell, "-e", "-c", script], env=full, cwd=tmp_path, capture_output=True, text=True)
    log = (tmp_path / "log").read_text().splitlines() if (tmp_path / "log").exists() else []
    return done.returncode, done.stdout + done.stderr, log


@pytest.mark.parametrize(("ready_after", "passes"), [(1, True), (25, True), (61, False)])
def test_services_wait_for_readiness_within_the_timeout(tmp_path, ready_after, passes):
    step = _steps(_github_jobs(SERVICES / "github.yml")["build-orders"])["Start the services of orders"]
    hostile = "test'; rm -rf / #$(id)${{ x }}"
    env = {**{k: str(v) for k, v in step["env"].items()}, "GEN_CI_NAME": "gen-ci-1-1-build-orders",
           "READY_AFTER": str(ready_after), "GEN_CI_SERVICE_1_ENV_2_POSTGRES_PASSWORD": hostile}
    status, output, log = _run(tmp_path, step["run"], env, "bash")
    runs = [line for line in log if line.startswith("run --detach")]
    assert runs[0].startswith("run --detach --name gen-ci-1-1-build-orders-postgres --network gen-ci-1-1-build-orders-net --network-alias postgres")
    assert f"--env POSTGRES_PASSWORD={hostile}" in runs[0]  # data: one argument, never evaluated
    assert runs[0].endswith("postgres:16.4-alpine") and runs[1].endswith("redis:7.4.1-alpine")
    execs = [line for line in log if line.startswith("exec ")]
    assert execs[0] == "exec gen-ci-1-1-build-orders-postgres sh -c pg_isready --username orders --dbname orders"
    if passes:
        assert status == 0 and "postgres is ready" in output and "redis is ready" in output
    else:
        assert status != 0 and "postgres was not ready after 60 seconds" in output
        assert "logs --tail 100 gen-ci-1-1-build-orders-postgres" in log and len(execs) == 60


def test_gitlab_services_script_reads_the_same_variables(tmp_path):
    job = _gitlab_jobs(SERVICES / "gitlab.yml")["build-orders"]
    script = next(line for line in job["script"] if "docker network create" in line)
    env = {k: (v["value"] if isinstance(v, dict) else str(v)) for k, v in job["variables"].items()}
    status, _, log = _run(tmp_path, script, {**env, "CI_JOB_ID": "42", "READY_AFTER": "1"})
    assert status == 0 and log[0] == "network create gen-ci-42-net"
    assert "--env POSTGRES_USER=orders" in log[1] and log[1].endswith("postgres:16.4-alpine")
    assert all(value["expand"] is False for key, value in job["variables"].items() if key.startswith("GEN_CI_SERVICE_"))


# The prepare step, run: the container's shell runs for real, in a directory standing in for it.

FAKE_PREPARE_DOCKER = r"""#!{python}
import os, subprocess, sys
args = sys.argv[1:]
script = args[args.index("-c") + 1].replace("/tmp/gen-ci", os.environ["CONTAINER_ROOT"])
env = {{"PATH": os.environ["PATH"], "GEN_CI_PREPARE_SCRIPT": os.environ["GEN_CI_PREPARE_SCRIPT"]}}
sys.exit(subprocess.run(["sh", "-c", script] + args[args.index("-c") + 2:], env=env).returncode)
"""


def test_prepare_returns_only_the_named_outputs_and_never_sees_git(tmp_path):
    step = _steps(_github_jobs(PREPARE / "github.yml")["build-agent"])["Prepare the build context of agent"]
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[http] extraheader = AUTHORIZATION: basic secret\n")
    (repo / "cmd").mkdir()
    (repo / "cmd" / "main.go").write_text("package main\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_PREPARE_DOCKER.format(python=sys.executable))
    (bin_dir / "docker").chmod(0o755)
    script = (
        "mkdir -p dist && { [ -d .git ] && echo saw-git || echo no-git; } > dist/agent && cat cmd/main.go >> dist/agent"
        " && echo stray > stray.txt"
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CONTAINER_ROOT": str(tmp_path / "container"),
           "GEN_CI_PREPARE_IMAGE": step["env"]["GEN_CI_PREPARE_IMAGE"], "GEN_CI_PREPARE_SCRIPT": script}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (repo / "dist" / "agent").read_text() == "no-git\npackage main\n"
    assert not (repo / "stray.txt").exists()  # only the named outputs come back


def test_a_failing_prepare_fails_the_job_and_changes_nothing(tmp_path):
    step = _steps(_github_jobs(PREPARE / "github.yml")["build-agent"])["Prepare the build context of agent"]
    repo = tmp_path / "repo"
    repo.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_PREPARE_DOCKER.format(python=sys.executable))
    (bin_dir / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CONTAINER_ROOT": str(tmp_path / "container"),
           "GEN_CI_PREPARE_IMAGE": "x", "GEN_CI_PREPARE_SCRIPT": "mkdir dist && echo half > dist/agent && exit 3"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, cwd=repo, capture_output=True, text=True)
    assert done.returncode != 0 and not (repo / "dist").exists()


def test_prepare_runs_before_the_build_on_both_platforms():
    names = list(_steps(_github_jobs(PREPARE / "github.yml")["build-agent"]))
    assert names.index("Prepare the build context of agent") < names.index("Build agent")
    job = _gitlab_jobs(PREPARE / "gitlab.yml")["publish-agent"]
    prepare = next(i for i, line in enumerate(job["script"]) if "GEN_CI_PREPARE_SCRIPT" in line)
    build = next(i for i, line in enumerate(job["script"]) if "docker build" in line)
    assert prepare < build and job["variables"]["GEN_CI_PREPARE_SCRIPT"]["expand"] is False
    assert "--exclude=./.git" in job["script"][prepare]


# Change filters.


@pytest.mark.parametrize(("path", "matches", "misses"), [
    ("services/cart", ["services/cart", "services/cart/main.go", "services/cart/a/b.go"], ["services/cartography/x", "services/car"]),
    ("proto/checkout/*.proto", ["proto/checkout/a.proto"], ["proto/checkout/v1/a.proto", "proto/checkout/a.protox"]),
    ("services/**", ["services/a", "services/a/b/c"], ["servicesx/a"]),
    ("**/Dockerfile", ["Dockerfile", "a/b/Dockerfile"], ["a/Dockerfile.dev"]),
    ("go.mod", ["go.mod"], ["go.mod.bak", "xgo.mod"]),
])
def test_a_path_means_one_thing(path, matches, misses):
    regex = re.compile(f"^({path_regex(path)})$")
    assert all(regex.match(name) for name in matches) and not any(regex.match(name) for name in misses)


def test_gitlab_paths_say_the_same_in_fnmatch():
    assert gitlab_paths(["services/cart", "services/**", "proto/*.proto"]) == [
        "services/cart", "services/cart/**/*", "services/**/*", "proto/*.proto",
    ]


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def monorepo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "ci")
    for name in ("services/cart/main.go", "services/catalog/main.go", "services/checkout/main.go", "libs/go/x.go", "README.md"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("v1\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _decide(repo, tmp_path, event: str, touched: list[str], ref_type: str = "branch", before: str | None = None) -> dict[str, str]:
    base = _git(repo, "rev-parse", "HEAD")
    for name in touched:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("v2\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "change", "--allow-empty")
    step = _steps(_github_jobs(MONOREPO / "github.yml")["changes"])["Compare with the base"]
    output = tmp_path / "output"
    output.write_text("")
    env = {**os.environ, "GITHUB_EVENT_NAME": event, "GITHUB_REF_TYPE": ref_type, "GITHUB_SHA": _git(repo, "rev-parse", "HEAD"),
           "BASE": base if event == "pull_request" else "", "BEFORE": before if before is not None else (base if event == "push" else ""),
           "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path)}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.parametrize(("event", "touched", "expected"), [
    ("pull_request", ["services/cart/main.go"], {"cart": "true", "catalog": "false", "checkout": "false"}),
    ("push", ["services/catalog/new.go"], {"cart": "false", "catalog": "true", "checkout": "false"}),
    ("pull_request", ["libs/go/x.go"], {"cart": "true", "catalog": "true", "checkout": "true"}),  # shared
    ("pull_request", ["proto/checkout/api.proto"], {"cart": "false", "catalog": "false", "checkout": "true"}),
    ("pull_request", ["proto/checkout/v2/api.proto", "README.md"], {"cart": "false", "catalog": "false", "checkout": "false"}),
    ("schedule", [], {"cart": "true", "catalog": "true", "checkout": "true"}),
    ("workflow_dispatch", [], {"cart": "true", "catalog": "true", "checkout": "true"}),
])
def test_the_changes_job_decides_per_image(monorepo, tmp_path, event, touched, expected):
    assert _decide(monorepo, tmp_path, event, touched) == expected


def test_tags_and_new_branches_build_everything(monorepo, tmp_path):
    everything = {"cart": "true", "catalog": "true", "checkout": "true"}
    assert _decide(monorepo, tmp_path, "push", ["README.md"], ref_type="tag") == everything
    assert _decide(monorepo, tmp_path, "push", ["README.md"], before="0" * 40) == everything


def test_image_jobs_wait_for_changes_and_all_images_gathers_them():
    jobs = _github_jobs(MONOREPO / "github.yml")
    for image in ("cart", "catalog", "checkout"):
        for job_id in (f"build-{image}", f"publish-{image}"):
            assert "changes" in jobs[job_id]["needs"] and f"needs.changes.outputs.{image} == 'true'" in jobs[job_id]["if"]
    summary = jobs["all-images"]
    assert summary["if"] == "${{ always() }}" and summary["permissions"] == {}
    assert set(summary["needs"]) == {job_id for job_id in jobs if job_id != "all-images"}
    assert jobs["changes"]["permissions"] == {"contents": "read"}
    checkout = jobs["changes"]["steps"][0]["with"]
    assert checkout["persist-credentials"] is False and checkout["filter"] == "blob:none"


@pytest.mark.parametrize(("results", "passes"), [
    ("success success skipped", True), ("skipped skipped", True), ("success failure", False), ("cancelled success", False),
])
def test_all_images_fails_only_on_a_failed_or_cancelled_job(tmp_path, results, passes):
    step = _github_jobs(MONOREPO / "github.yml")["all-images"]["steps"][0]
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env={**os.environ, "RESULTS": results}, capture_output=True, text=True)
    assert (done.returncode == 0) is passes


def test_gitlab_jobs_carry_changes_rules_and_no_compare_to():
    for job_id, job in _gitlab_jobs(MONOREPO / "gitlab.yml").items():
        rules = job["rules"]
        with_changes = [rule for rule in rules if "changes" in rule]
        assert len(with_changes) == 1 and "compare_to" not in with_changes[0]["changes"], job_id
        image = job_id.split("-", 1)[1]
        paths = with_changes[0]["changes"]["paths"]
        assert f"services/{image}/**/*" in paths and "libs/go/**/*" in paths and "go.mod" in paths
        if job_id.startswith("build-"):
            assert rules[0]["when"] == "never" and rules[-1] is with_changes[0]  # no change, no job


# Registry cache.


def test_github_registry_cache_is_written_by_release_jobs_only():
    jobs = _github_jobs(MONOREPO / "github.yml")
    for image in ("cart", "catalog", "checkout"):
        ref = f"registry.example.com/acme/{image}-cache:cache-amd64"
        build = _steps(jobs[f"build-{image}"])[f"Build {image}"]["with"]
        assert build["cache-from"] == f"type=registry,ref={ref}" and "cache-to" not in build
        # Publishing runs build in candidate-<image>, which logs in to the cache's registry alone; publish-<image> only pushes.
        assert f"Build {image}" not in _steps(jobs[f"publish-{image}"])
        steps = _steps(jobs[f"candidate-{image}"])
        names = list(steps)
        assert names.index("Log in to registry.example.com for the build cache") < names.index(f"Build {image}")
        release = steps[f"Build {image}"]["with"]
        assert release["cache-to"] == f"type=registry,ref={ref},mode=max,ignore-error=true,image-manifest=true,oci-mediatypes=true"
        # cart starts its release builds clean.
        assert ("cache-from" in release) is (image != "cart")


def test_gitlab_registry_cache_is_inline_and_never_fails_the_release():
    jobs = _gitlab_jobs(MONOREPO / "gitlab.yml")
    build = "\n".join(jobs["build-catalog"]["script"])
    assert '--cache-from "$GEN_CI_CACHE_REF"' in build and "BUILDKIT_INLINE_CACHE" not in build
    release = jobs["publish-cart"]["script"]
    text = "\n".join(release)
    assert "--cache-from" not in text and "--build-arg BUILDKIT_INLINE_CACHE=1" in text
    cache_push = next(i for i, line in enumerate(release) if 'docker push "$GEN_CI_CACHE_REF"' in line)
    publish = next(i for i, line in enumerate(release) if 'docker push "$first:$tag"' in line)
    assert publish < cache_push and '|| echo "the build cache was not written' in release[cache_push]


# Spec values stay data.


def test_service_and_prepare_values_are_inert(tmp_path):
    hostile = "${{ secrets.REGISTRY_PASSWORD }}'\"; $(id) `id`"
    spec = tmp_path / "spec.yml"
    spec.write_text(json.dumps({  # JSON is YAML: the hostile text needs no YAML quoting here
        "version": 1, "name": "acme", "targets": {"github": "ci.yml", "gitlab": ".gitlab-ci.yml"},
        "runners": {"gitlab": ["docker-socket"]},
        "images": [{
            "repository": "registry.example.com/a/b", "test": "run",
            "services": [{"name": "db", "image": "postgres:16.4", "env": {"PASSWORD": hostile}, "ready": {"command": hostile, "timeout_seconds": 5}}],
            "prepare": {"image": "golang:1.23.4", "script": hostile, "outputs": ["dist"]},
        }],
        "push": {"auth": "secrets", "username": "U", "password": "P", "environment": "e"},
    }))
    steps = _steps(_load(generate(spec, "github")[2])["jobs"]["build-b"])
    service_env = steps["Start the services of b"]["env"]
    assert github_evaluate(service_env["GEN_CI_SERVICE_1_ENV_1_PASSWORD"]) == hostile
    assert github_evaluate(service_env["GEN_CI_SERVICE_1_READY"]) == hostile
    assert github_evaluate(steps["Prepare the build context of b"]["env"]["GEN_CI_PREPARE_SCRIPT"]) == hostile
    for step in steps.values():
        assert "secrets." not in step.get("run", "") and "$(id)" not in step.get("run", "")
    job = _gitlab_jobs_from_text(generate(spec, "gitlab")[2])["build-b"]
    for key in ("GEN_CI_SERVICE_1_ENV_1_PASSWORD", "GEN_CI_SERVICE_1_READY", "GEN_CI_PREPARE_SCRIPT"):
        assert job["variables"][key] == {"value": hostile, "expand": False}
    assert "$(id)" not in "\n".join(job["script"] + job["after_script"])


def _gitlab_jobs_from_text(text):
    jobs = {k: v for k, v in resolved(YAML(typ="safe").load(text)).items() if isinstance(v, dict) and "script" in v and not k.startswith(".")}
    return {k: {**v, "script": job_script(v)} for k, v in jobs.items()}


# Bad input.


@pytest.mark.parametrize(("override", "code", "where", "words"), [
    ("images: [{repository: ghcr.io/acme/app, test: run, services: [{name: db, image: postgres}]}]\n",
     "GC126", "$.images[0].services[0].image", "has no tag, so it means latest"),
    ("images: [{repository: ghcr.io/acme/app, test: run, services: [{name: db, image: 'postgres:latest'}]}]\n",
     "GC126", "$.images[0].services[0].image", "is latest"),
    ("images: [{repository: ghcr.io/acme/app, prepare: {image: golang, script: make, outputs: [dist]}}]\n",
     "GC126", "$.images[0].prepare.image", "version tag"),
    ("images: [{repository: ghcr.io/acme/app, test: run, services: [{name: db, image: 'postgres:16', ready: {command: pg_isready}}]}]\n",
     "GC014", "$.images[0].services[0].ready", "timeout_seconds"),
    ("images: [{repository: ghcr.io/acme/app, paths: [services/../../etc]}]\n", "GC127", "$.images[0].paths[0]", "leaves the repository"),
    ("images: [{repository: ghcr.io/acme/app, paths: [a]}]\nshared_paths: [../libs]\n", "GC127", "$.shared_paths[0]", "leaves the repository"),
    ("images: [{repository: ghcr.io/acme/app, test: run, services: [{name: db, image: 'a:1'}, {name: db, image: 'b:1'}]}]\n",
     "GC128", "$.images[0].services[1].name", "two services are named db"),
    ("images: [{repository: ghcr.io/acme/app, context: app, prepare: {image: 'golang:1.23.4', script: make, outputs: [app/dist, dist]}}]\n",
     "GC128", "$.images[0].prepare.outputs[1]", "outside the build context app"),
    ("images: [{repository: ghcr.io/acme/app, services: [{name: db, image: 'a:1'}]}]\n", "GC109", "$.images[0].services", "no test"),
    ("images: [{repository: ghcr.io/acme/app, cache: registry}]\n", "GC129", "$.images[0].cache", "needs cache_repository"),
    ("images: [{repository: ghcr.io/acme/app, cache: registry, cache_repository: quay.io/acme/cache}]\n",
     "GC129", "$.images[0].cache_repository", "cannot write a cache on quay.io"),
    ("targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind}\n"
     "images: [{repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app, platforms: [linux/amd64, linux/arm64], cache: registry, "
     "cache_repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app-cache}]\n"
     "push: {branches: [main], auth: oidc, aws_role: 'arn:aws:iam::123456789012:role/ci', aws_region: eu-west-1}\n",
     "GC129", "$.images[0].cache_repository", "never through OIDC"),
    ("images: [{repository: ghcr.io/acme/app, cache_repository: ghcr.io/acme/c}]\n", "GC109", "$.images[0].cache_repository", "set cache: registry"),
])
def test_bad_project_shapes_are_located_and_write_nothing(cli, write_spec, tmp_path, override, code, where, words):
    assert_located_refusal(cli, write_spec(_spec_with(override)), tmp_path / "out.yml", code, where, words)


def test_the_cache_may_live_on_the_platforms_own_registry(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(_spec_with("images: [{publish: [{repository: platform}], cache: registry, cache_repository: ghcr.io/acme/app-cache}]\n"))
    steps = _steps(_load(generate(spec, "github")[2])["jobs"]["candidate-image"])
    assert steps["Log in to ghcr.io for the build cache"]["with"]["password"] == "${{ github.token }}"


@pytest.mark.parametrize("spelling", ["services/cart", "services/cart/", "./services/cart", "./services/cart/", "services//cart", "services/./cart/"])
def test_path_spellings_users_write_match_the_files_they_mean(monorepo, tmp_path, write_spec, spelling):
    """A directory written with a trailing slash, a leading ./ or doubled slashes means that directory."""
    from fnmatch import fnmatchcase

    from generator.changes import any_path_regex, gitlab_paths
    from generator.pipeline import compile_spec

    spec = write_spec(
        "version: 1\nname: shop\ntargets: {github: ci.yml, gitlab: .gitlab-ci.yml}\ndocker: {mode: dind}\nrunners: {gitlab: [dind]}\n"
        f"images: [{{id: cart, publish: [{{repository: platform}}], context: services/cart, paths: ['{spelling}']}}]\n"
    )
    (paths,) = [image.paths for image in compile_spec(spec)[1].images]
    assert paths == ["services/cart"]
    regex = any_path_regex(paths)
    for changed, builds in (("services/cart/main.go", True), ("services/cart/a/b.go", True), ("services/cartography/x", False), ("README.md", False)):
        run = subprocess.run(["grep", "-Eq", regex], input=changed + "\n", text=True)
        assert (run.returncode == 0) == builds, changed
        # GitLab's rules:changes: Ruby's fnmatch with FNM_PATHNAME, approximated here segment by segment.
        assert any(fnmatchcase(changed, p.replace("**/*", "*")) for p in gitlab_paths(paths)) == builds, changed


# Several images in the project's own registry.

OWN = "version: 1\nname: shop\ntargets: {targets}\ndocker: {{mode: dind}}\nrunners: {{gitlab: [dind]}}\nimages:\n{images}"


def _own_images(*repositories: str, targets: str = "{github: ci.yml, gitlab: .gitlab-ci.yml}") -> str:
    images = "".join(f"  - publish: [{{repository: {r}}}]\n    context: {r.rsplit('/', 1)[-1]}\n" for r in repositories)
    return OWN.format(targets=targets, images=images)


def test_platform_names_an_image_in_the_projects_own_registry(write_spec, cli):
    spec = write_spec(_own_images("platform/api", "platform/tools/worker"))
    result = cli("plan", str(spec), "--platform", "gitlab", "--event", "push:main")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["platform/api:main", "platform/api:sha-000000000000",
                                     "platform/tools/worker:main", "platform/tools/worker:sha-000000000000"]
    from generator.pipeline import compile_spec

    assert [image.id for image in compile_spec(spec)[1].images] == ["api", "worker"]


@pytest.mark.parametrize(("repository", "column"), [("platform/a/b/c", 28), ("platform/", 28), ("platform/API", 28)])
def test_a_platform_path_gitlab_cannot_hold_is_refused_where_written(write_spec, cli, repository, column):
    """GitLab takes up to two names after the project's path, lower-case like every repository."""
    spec = write_spec(_own_images(repository))
    result = cli("render", str(spec), "--target", "gitlab")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{spec}:7:{column}: error[GC013]: $.images[0].publish[0].repository:" in result.stderr, result.stderr


def test_one_path_in_the_projects_own_registry_is_one_repository(write_spec, cli):
    result = cli("render", str(write_spec(_own_images("platform/api", "platform/api"))), "--target", "github")
    assert result.exit_code == 2 and "error[GC119]" in result.stderr, result.stderr


def test_jenkins_has_no_own_registry_for_a_platform_path(write_spec, cli):
    spec = write_spec(_own_images("platform/api", targets="{jenkins: Jenkinsfile}").replace("runners: {gitlab: [dind]}\n", ""))
    result = cli("render", str(spec))
    assert result.exit_code == 2 and "error[GC131]: $.images[0].publish[0].repository:" in result.stderr, result.stderr
