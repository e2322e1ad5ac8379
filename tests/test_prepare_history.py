"""Scenario 29: a prepare step with history and CI variables hands a checked version to the build.
The rendered steps run for real: a `docker` stand-in runs the container's own command on the copy it
receives, with only the environment `docker run --env` would pass."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _errors, _spec_with

GOLDEN = ROOT / "golden" / "scenario-29-prepare-history"
# Runs `docker run ... IMAGE -c SCRIPT ARGS...` as the container would: in an empty root of its own,
# with no environment but the names --env passes (NAME from the caller, or NAME=VALUE).
DOCKER = r'''#!/usr/bin/env python3
import os, subprocess, sys
args = sys.argv[1:]
assert args[0] == "run", args
env = {"PATH": os.environ["PATH"]}
i = 1
while args[i] != "-c":
    if args[i] == "--env":
        name, sep, value = args[i + 1].partition("=")
        if sep:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
        i += 2
    else:
        i += 1
script = args[i + 1].replace("/tmp/gen-ci", os.environ["CONTAINER_ROOT"])
sys.exit(subprocess.run(["sh", "-c", script, *args[i + 2:]], env=env).returncode)
'''


def _run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@example.com", "-c", "user.name=a", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "checkout"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "Makefile").write_text(".PHONY: dist\ndist:\n\tmkdir -p dist && echo built > dist/agent\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "tag", "v1.4.0")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    # Where a GitLab checkout keeps its token.
    _git(repo, "remote", "add", "origin", "https://gitlab-ci-token:glcbt-secret@gitlab.example.com/acme/agent.git")
    return repo


def _steps(job: str = "build-agent") -> dict[str, dict]:
    workflow = yaml.safe_load((GOLDEN / "github.yml").read_text())
    return {step["name"]: step for step in workflow["jobs"][job]["steps"]}


def _environment(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(DOCKER)
    (bin_dir / "docker").chmod(0o755)
    root = tmp_path / "container"
    root.mkdir(exist_ok=True)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CONTAINER_ROOT": str(root), "HOME": str(tmp_path),
            "GITHUB_REF_NAME": "main", "GITHUB_SHA": "0" * 40, "GITHUB_TOKEN": "ghs-secret", "GEN_CI_NAME": "n"}


def test_the_script_sees_history_and_named_variables_and_no_credentials(tmp_path: Path, checkout: Path) -> None:
    step = _steps()["Prepare the build context of agent"]
    env = _environment(tmp_path) | {key: str(value) for key, value in step["env"].items()}
    env["GEN_CI_PREPARE_SCRIPT"] = (
        "mkdir -p dist && git describe --tags --always > dist/VERSION && make dist"
        " && { env; cat .git/config 2>&1 || true; } > dist/seen"
    )
    result = _run(step["run"], checkout, env)
    assert result.returncode == 0, result.stderr
    assert (checkout / "dist" / "VERSION").read_text().startswith("v1.4.0-1-g")
    assert (checkout / "dist" / "agent").read_text() == "built\n"
    seen = (checkout / "dist" / "seen").read_text()
    assert "GITHUB_REF_NAME=main" in seen
    assert "secret" not in seen  # neither the job's token variable nor the remote URL in .git/config
    assert "No such file" in seen


def test_the_build_gets_the_version_only_when_it_is_one_plain_word(tmp_path: Path) -> None:
    step = _steps()["Describe the build"]
    for text, expected in (("v1.4.0-1-gabc1234\r\nmore\n", "v1.4.0-1-gabc1234"), ("::set-env name=X::1\n", None),
                           ("1.0 $(id)\n", None), ("", None), ("v" * 129 + "\n", None)):
        (tmp_path / "dist").mkdir(exist_ok=True)
        (tmp_path / "dist" / "VERSION").write_text(text)
        output = tmp_path / "output"
        output.write_text("")
        env = {**os.environ, **{k: str(v) for k, v in step["env"].items()}, "GITHUB_OUTPUT": str(output),
               "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_SHA": "0" * 40}
        result = _run(step["run"], tmp_path, env)
        if expected is None:
            assert result.returncode == 1, text
            assert "not a version" in result.stderr or "longer than 128" in result.stderr
            assert text.strip() not in result.stderr + result.stdout or not text.strip()
        else:
            assert result.returncode == 0, result.stderr
            assert output.read_text() == f"prepare={expected}\n"


def test_gitlab_fetches_every_tag_before_the_prepare_step() -> None:
    pipeline = resolved(yaml.safe_load((GOLDEN / "gitlab.yml").read_text()))
    job = pipeline["build-agent"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    prepare = next(item for item in job_script(job) if "GEN_CI_PREPARE_SCRIPT" in item)
    assert prepare.index("git fetch --quiet --tags origin") < prepare.index("docker run")
    assert "--exclude=./.git/config" in prepare and "--env CI_COMMIT_REF_NAME" in prepare


@pytest.mark.parametrize(("prepare", "code", "words"), [
    ("variables: [CI_JOB_TOKEN]", "GC170", "credential"),
    ("variables: [GITHUB_TOKEN]", "GC170", "credential"),
    ("variables: [NPM_REGISTRY]", "GC170", "not a CI variable"),
    ("version_file: dist/VERSION", "GC171", "none names it"),
    ("version_file: build/VERSION", "GC171", "not among the outputs"),
])
def test_prepare_settings_refused_where_written(cli, write_spec, prepare: str, code: str, words: str) -> None:
    spec = _spec_with(f"images: [{{repository: ghcr.io/acme/app, prepare: {{image: 'golang:1.23.4', script: make, outputs: [dist], {prepare}}}}}]\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert any(row["code"] == code and words in row["msg"] and "prepare" in row["path"] for row in rows), [r.string for r in rows]


def test_jenkins_refuses_history_where_written(cli, write_spec) -> None:
    spec = _spec_with("targets: {jenkins: Jenkinsfile}\nimages: [{repository: docker.io/a/b, prepare: {image: 'golang:1.23.4', script: make, outputs: [dist], history: true}}]\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert [(row["code"], row["path"]) for row in rows] == [("GC131", "$.images[0].prepare.history")]
