"""Specs that rendered wrong CI (one section per defect), each checked on the output's behaviour:
scripts run in a real shell against stand-ins for docker, Jenkinsfiles read by real Groovy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests import test_jenkins as jenkins
from tests.conftest import gitlab_scripts, run_tool

THREE = (
    "version: 1\n"
    "name: acme\n"
    "targets: {github: ci.yml, gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile}\n"
    "runners: {gitlab: [dind]}\n"
    "docker: {mode: dind}\n"
    "push: {auth: secrets, username: REGISTRY_USER, password: REGISTRY_PASSWORD, environment: release}\n"
)


def render(tmp_path: Path, text: str, platform: str) -> str:
    spec = tmp_path / "gen-ci.yml"
    spec.write_text(text)
    return generate(spec, platform)[2]


def load(text: str) -> dict:
    return YAML(typ="safe").load(text)


def jenkinsfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jenkins" / "Jenkinsfile"
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(tmp_path, text, "jenkins"))
    jenkins.tree.cache_clear()  # the tree is cached by path, and this path is rewritten
    return path


# A docker stand-in that records each invocation's arguments, one a line, after a "docker" line.
RECORDING_DOCKER = '#!/bin/sh\n{ echo "-- docker"; printf "%s\\n" "$@"; } >> "$DOCKER_LOG"\n'


def run_script(tmp_path: Path, script: str, env: dict[str, str], cwd: Path) -> list[list[str]]:
    """Run script under sh -e with the recording docker first on PATH; the docker calls it made."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(RECORDING_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.unlink(missing_ok=True)
    full = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DOCKER_LOG": str(log)}
    done = subprocess.run(["sh", "-e", "-c", script], env=full, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    calls: list[list[str]] = []
    for line in log.read_text().split("\n")[:-1] if log.exists() else []:
        if line == "-- docker":
            calls.append([])
        else:
            calls[-1].append(line)
    return calls


def build_args(calls: list[list[str]]) -> dict[str, str]:
    (build,) = [call for call in calls if call[:1] == ["build"]]
    return dict(build[i + 1].split("=", 1) for i, arg in enumerate(build) if arg == "--build-arg")


# 5 and 7. Computed build args: the same version on every platform, and only what the image reads.

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tagged_repository(tmp_path) -> Path:
    """A checkout whose history holds an older version tag: git describe would name the commit after it."""
    work = tmp_path / "work"
    work.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(work)]
    subprocess.run([*git, "init", "--quiet"], check=True)
    for message in ("one", "two"):
        subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", message], check=True)
        if message == "one":
            subprocess.run([*git, "tag", "v0.9.0"], check=True)
    return work


def github_outputs(document: dict, job: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    (describe,) = [s for s in document["jobs"][job]["steps"] if s.get("id") == "describe"]
    output = tmp_path / "github-output"
    output.write_text("")
    run_script(tmp_path, describe["run"], {
        "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": ref_type, "GITHUB_REF_NAME": ref_name, "GITHUB_SHA": COMMIT,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_OUTPUT": str(output),
    }, cwd)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def gitlab_build(document: dict, job: str) -> str:
    (script,) = [line for line in document[job]["script"] if "docker build" in line]
    return script


def gitlab_build_args(script: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_REF_NAME": ref_name, "CI_COMMIT_SHA": COMMIT,
           "CI_PROJECT_URL": "https://gitlab.com/acme/app", "PLATFORM": "linux/amd64", "CANDIDATE": "gen-ci/app:1"}
    if ref_type == "tag":
        env["CI_COMMIT_TAG"] = ref_name
    return build_args(run_script(tmp_path, script, env, cwd))


JENKINS_RUN = {"GIT_COMMIT": COMMIT, "GIT_URL": "https://git.example.com/acme/app.git", "GEN_CI_EVENT": "push",
               "BUILD_TAG": "jenkins-acme-app-1", "JOB_NAME": "acme/app", "BUILD_NUMBER": "1"}


def jenkins_build_args(found: dict, image: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    """The Describe stage, then the image's build, as one Jenkins run on one workspace."""
    (describe,) = jenkins.scripts([found["Describe"]])
    (build,) = jenkins.scripts([found[f"Build {image}"]])
    env = {**JENKINS_RUN, ("TAG_NAME" if ref_type == "tag" else "BRANCH_NAME"): ref_name}
    run_script(tmp_path, describe, env, cwd)
    return build_args(run_script(tmp_path, build, env, cwd))


VERSIONS = [("branch", "main", COMMIT[:12]), ("tag", "v1.2.3", "1.2.3"), ("tag", "v2.0.0-rc.1", "2.0.0-rc.1"),
            ("tag", "release/2024 spring", "release-2024-spring")]


def test_the_computed_version_is_the_same_on_every_platform(tmp_path, tagged_repository):
    """A semver tag gives its version, another tag its name, any other ref the commit: never git describe,
    whose answer depends on the checkout's depth and fetched tags (GitHub and GitLab differ in both)."""
    text = THREE + "images: [{id: app, repository: registry.example.com/acme/app, build_args: {VERSION: {from: version}}}]\n"
    github, gitlab = load(render(tmp_path, text, "github")), load(render(tmp_path, text, "gitlab"))
    stages = jenkins.stages(jenkinsfile(tmp_path, text))
    for ref_type, ref_name, expected in VERSIONS:
        found = {
            "github": github_outputs(github, "build-app", ref_type, ref_name, tmp_path, tagged_repository)["version"],
            "gitlab": gitlab_build_args(gitlab_build(gitlab, "build-app"), ref_type, ref_name, tmp_path, tagged_repository)["VERSION"],
            "jenkins": jenkins_build_args(stages, "app", ref_type, ref_name, tmp_path, tagged_repository)["VERSION"],
        }
        assert found == dict.fromkeys(found, expected), (ref_type, ref_name)


# Images reading none, one, several and all of the computed values, in one spec.
COMPUTED = {
    "none": {},
    "one": {"VERSION": "version"},
    "two": {"VERSION": "version", "BUILD_DATE": "created"},
    "three": {"COMMIT": "revision", "SOURCE_URL": "source", "BUILD_DATE": "created"},
}


def test_the_build_computes_only_what_the_image_reads_and_shellcheck_agrees(tmp_path, tagged_repository):
    images = []
    for number, (image, computed) in enumerate(COMPUTED.items()):
        args = ", ".join([f"{name}: {{from: {field}}}" for name, field in computed.items()] + ["PLAIN: x"])
        images.append(f"{{id: {image}, repository: registry.example.com/acme/{image}, tag_suffix: '-{number}', build_args: {{{args}}}}}")
    text = THREE + f"images: [{', '.join(images)}]\n"
    github, gitlab = load(render(tmp_path, text, "github")), load(render(tmp_path, text, "gitlab"))
    path = jenkinsfile(tmp_path, text)
    stages = jenkins.stages(path)
    metadata = {"version", "revision", "created", "source"}
    for image, computed in COMPUTED.items():
        # GitHub: the describe step outputs exactly the computed values; none at all needs no step.
        if computed:
            assert set(github_outputs(github, f"build-{image}", "branch", "main", tmp_path, tagged_repository)) == set(computed.values())
        else:
            assert not [s for s in github["jobs"][f"build-{image}"]["steps"] if s.get("id") == "describe"]
        # GitLab and Jenkins: the build gets each computed value, and its script sets no other.
        gitlab_script = gitlab_build(gitlab, f"build-{image}")
        (jenkins_script,) = jenkins.scripts([stages[f"Build {image}"]])
        for found, script in (
            (gitlab_build_args(gitlab_script, "branch", "main", tmp_path, tagged_repository), gitlab_script),
            (jenkins_build_args(stages, image, "branch", "main", tmp_path, tagged_repository), jenkins_script),
        ):
            assert set(found) == {*computed, "PLAIN"} and all(found[name] for name in computed), image
            assigned = {name for name in metadata if f"\n{name}=" in "\n" + script or f"read -r {name} " in script}
            assert assigned == set(computed.values()), image
    # The Jenkins describe stage computes what some image reads: here every value.
    (describe,) = jenkins.scripts([stages["Describe"]])
    assert all(f"\n{name}=" in describe for name in metadata)
    # And the checkers see no variable set in vain, on any platform.
    (tmp_path / "ci.yml").write_text(render(tmp_path, text, "github"))
    result = run_tool("actionlint", "-no-color", str(tmp_path / "ci.yml"))
    assert result.returncode == 0, result.stdout
    (tmp_path / "gitlab.yml").write_text(render(tmp_path, text, "gitlab"))
    result = run_tool("shellcheck", "--shell=sh", *gitlab_scripts(tmp_path / "gitlab.yml", tmp_path))
    assert result.returncode == 0, result.stdout
    result = run_tool("shellcheck", "--shell=sh", "--severity=style", *jenkins.script_files(path, tmp_path))
    assert result.returncode == 0, result.stdout
