"""Scenario 26: tests from the checkout. The rendered steps run for real in a shell, in a checkout
holding the test files, with a `docker` that records each call and the candidate variable it saw."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _errors, _spec_with

GOLDEN = ROOT / "golden" / "scenario-26-checkout-tests"
DIGEST_REF = "localhost:5000/shop@sha256:" + "ab" * 32
DOCKER = """#!/bin/sh
{ printf 'IMAGE=%s NETWORK=%s |' "${IMAGE-unset}" "${GEN_CI_NETWORK-unset}"; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'; } >> "$CALLS"
if [ "$1 $2" = "image inspect" ]; then echo "sha256:$(printf 'cd%.0s' $(seq 32))"; fi
exit "${DOCKER_EXIT:-0}"
"""
SMOKE = """#!/bin/sh
echo "smoke IMAGE=$IMAGE NETWORK=$GEN_CI_NETWORK" >> "$CALLS"
"""


def _checkout(tmp_path: Path, executable: bool = True) -> tuple[Path, dict[str, str]]:
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "compose.yml").write_text("services: {tests: {image: ${IMAGE}}}\n")
    smoke = checkout / "tests" / "smoke.sh"
    smoke.write_text(SMOKE)
    if executable:
        smoke.chmod(smoke.stat().st_mode | stat.S_IXUSR)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(tmp_path / "calls")}
    return checkout, env


def _github_step(name: str) -> dict:
    workflow = yaml.safe_load((GOLDEN / "github.yml").read_text())
    steps = workflow["jobs"]["build-shop"]["steps"]
    return next(step for step in steps if step["name"] == name)


def _run(script: str, checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=checkout, env=env,
                          capture_output=True, text=True, check=False)


def test_github_tests_get_the_candidate_by_digest_and_the_services_network(tmp_path: Path) -> None:
    checkout, env = _checkout(tmp_path)
    step = _github_step("Test shop from the checkout")
    env |= {"CANDIDATE": DIGEST_REF, "PLATFORM": "linux/amd64", "GEN_CI_NAME": "gen-ci-7-1-build-shop"}
    result = _run(step["run"], checkout, env)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    # The compose file gets the candidate in IMAGE, under a project name of the job's own.
    assert f"IMAGE={DIGEST_REF} NETWORK=gen-ci-7-1-build-shop-net | [compose] [--file] [tests/compose.yml] " \
           "[--project-name] [gen-ci-7-1-build-shop-checkout-1] [run] [--rm] [tests]" in calls
    assert f"smoke IMAGE={DIGEST_REF} NETWORK=gen-ci-7-1-build-shop-net" in calls


def test_a_failing_compose_test_fails_the_step_before_the_script(tmp_path: Path) -> None:
    checkout, env = _checkout(tmp_path)
    step = _github_step("Test shop from the checkout")
    env |= {"CANDIDATE": DIGEST_REF, "PLATFORM": "linux/amd64", "GEN_CI_NAME": "n", "DOCKER_EXIT": "3"}
    result = _run(step["run"], checkout, env)
    assert result.returncode != 0
    assert "smoke" not in (tmp_path / "calls").read_text()


def test_a_script_without_its_executable_bit_fails_with_the_fix(tmp_path: Path) -> None:
    checkout, env = _checkout(tmp_path, executable=False)
    step = _github_step("Test shop from the checkout")
    env |= {"CANDIDATE": DIGEST_REF, "PLATFORM": "linux/amd64", "GEN_CI_NAME": "n"}
    result = _run(step["run"], checkout, env)
    assert result.returncode == 1
    assert "git update-index --chmod=+x tests/smoke.sh" in result.stderr


@pytest.mark.parametrize("status", ["failure", "success"])
def test_cleanup_takes_the_compose_project_down_and_shows_its_logs_on_failure(tmp_path: Path, status: str) -> None:
    checkout, env = _checkout(tmp_path)
    step = _github_step("Remove the test containers of shop")
    assert step["if"] == "${{ always() }}"
    env |= {"GEN_CI_NAME": "n", "JOB_STATUS": status}
    result = _run(step["run"], checkout, env)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text()
    assert "[--project-name] [n-checkout-1] [down] [--volumes] [--remove-orphans]" in calls
    assert ("[logs]" in calls) == (status == "failure")
    assert "[rm] [--force] [--volumes] [n-redis]" in calls


def test_service_command_words_reach_docker_one_by_one(tmp_path: Path) -> None:
    checkout, env = _checkout(tmp_path)
    step = _github_step("Start the services of shop")
    env |= {key: str(value) for key, value in step["env"].items()} | {"GEN_CI_NAME": "n", "GEN_CI_SERVICE_1_ARG_3": "two words; $(id)"}
    result = _run(step["run"], checkout, env)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text()
    assert "[redis:7.4.1-alpine] [redis-server] [--requirepass] [two words; $(id)]" in calls


def test_gitlab_tests_get_a_reference_no_registry_can_answer(tmp_path: Path) -> None:
    checkout, env = _checkout(tmp_path)
    pipeline = resolved(yaml.safe_load((GOLDEN / "gitlab.yml").read_text()))
    script = next(item for item in job_script(pipeline["build-shop"]) if "checkout_tests" in item or "compose" in item)
    env |= {"CANDIDATE": "gen-ci/shop:99", "CI_JOB_ID": "99"}
    result = subprocess.run(["sh", "-e", "-c", script], cwd=checkout, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    tested = "gen-ci.invalid/candidate:" + "cd" * 32
    calls = (tmp_path / "calls").read_text()
    assert f"[tag] [gen-ci/shop:99] [{tested}]" in calls
    assert f"IMAGE={tested} NETWORK=gen-ci-99-net | [compose] [--file] [tests/compose.yml] [--project-name] [gen-ci-99-checkout-1]" in calls
    assert f"smoke IMAGE={tested} NETWORK=gen-ci-99-net" in calls


CHECKOUT_TEST = "images: [{repository: registry.gitlab.com/a/b, checkout_tests: [{script: tests/smoke.sh}]}]\n"


@pytest.mark.parametrize(("setting", "code", "words"), [
    ("targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [k8s]}\ndocker: {mode: rootless}\n", "GC130", "no daemon"),
    ("targets: {jenkins: Jenkinsfile}\nimages: [{repository: docker.io/a/b, checkout_tests: [{script: tests/smoke.sh}]}]\n", "GC131", "a stage of your own"),
    ("images: [{repository: registry.gitlab.com/a/b, checkout_tests: [{script: t.sh, image_variable: DOCKER_HOST}]}]\n", "GC153", "DOCKER_HOST"),
    ("images: [{repository: registry.gitlab.com/a/b, checkout_tests: [{compose: c.yml, service: t, script: t.sh}]}]\n", "GC153", "not both"),
    ("images: [{repository: registry.gitlab.com/a/b, checkout_tests: [{script: ../t.sh}]}]\n", "GC013", "An executable in the repository"),
])
def test_checkout_tests_refused_where_they_cannot_run(cli, write_spec, setting: str, code: str, words: str) -> None:
    rows = _errors(cli(str(write_spec(_spec_with(CHECKOUT_TEST + setting)))))
    found = [row for row in rows if row["code"] == code]
    assert found and words in found[0]["msg"], [row.string for row in rows]
    assert "checkout_tests" in found[0]["path"] or code == "GC131"
