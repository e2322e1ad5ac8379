"""Images built from images (scenario 27): read from the rendered outputs, not their text.

The dependent's build waits for its base's of the same platform and receives the base's tested
candidate by digest; every publish job of a chain waits for every candidate job of it; GitLab's
jobs copy exactly the kept layout into a registry of their own with regctl; the rules refuse what a
chain cannot be, where it is written.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import GOLDEN, buildx_build_args
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import LINE, _errors

CASE = GOLDEN / "scenario-27-images-from-images"
DIGEST = "sha256:" + "ab" * 32


def _load(name: str) -> dict:
    return YAML(typ="safe").load((CASE / name).read_text(encoding="utf-8"))


def _needs(job: dict) -> set[str]:
    needs = job.get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return {need if isinstance(need, str) else need["job"] for need in needs}


def _step(job: dict, step_id: str) -> dict:
    return next(step for step in job["steps"] if step.get("id") == step_id)


def _fake_docker(directory: Path, log: Path, digest: str = DIGEST) -> None:
    """A docker on PATH that records its arguments, publishes port 5000 on 49153 and pushes layouts as digest."""
    script = directory / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        'case "$1" in\n'
        '  port) echo 127.0.0.1:49153 ;;\n'
        # regctl's containers: created with their arguments, started for their output (a digest for image digest).
        '  create) case "$*" in *" image digest "*) echo digest-container ;; *) echo copy-container ;; esac ;;\n'
        f'  start) case "$*" in *digest-container*) echo "{digest}" ;; esac ;;\n'
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


# GitHub


def test_github_dependent_build_waits_for_its_base_and_builds_from_its_digest(tmp_path):
    jobs = _load("github.yml")["jobs"]
    app, base = jobs["build-app-amd64"], jobs["build-base-amd64"]
    assert "build-base-amd64" in _needs(app)
    # The base's job reports its tested digest and keeps the candidate on every run, not only when publishing.
    assert base["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"
    kept = [step for step in base["steps"] if step.get("name", "").startswith(("Keep the tested candidate", "Upload the tested candidate"))]
    assert len(kept) == 2 and all("if" not in step for step in kept)
    upload = next(step for step in kept if step.get("uses", "").startswith("actions/upload-artifact"))
    download = next(step for step in app["steps"] if step.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["name"] == upload["with"]["name"] == "candidate-base-amd64"
    # The build arg is what the bases step writes, which is the base job's digest in this job's candidate registry.
    build = _step(app, "build")
    assert buildx_build_args(build) == {"BASE_IMAGE": "${{ steps.bases.outputs.base }}"}
    bases = _step(app, "bases")
    assert bases["env"]["DIGEST_1"] == "${{ needs.build-base-amd64.outputs.digest }}"
    log, output = tmp_path / "docker.log", tmp_path / "output"
    _fake_docker(tmp_path, log)
    env = {**os.environ, **{k: v for k, v in bases["env"].items() if not v.startswith("${{")},
           "PATH": f"{tmp_path}:{os.environ['PATH']}", "DIGEST_1": DIGEST, "BUILDER": "b", "RUNNER_TEMP": str(tmp_path),
           "REPOSITORY": "localhost:41000/app", "RUNNER_REPOSITORY": "127.0.0.1:41000/app", "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-e", "-c", bases["run"]], env=env, check=True)
    assert output.read_text().strip() == f"base=localhost:41000/app/base@{DIGEST}"
    copy = log.read_text()
    assert "buildx imagetools create --builder b --tag 127.0.0.1:41000/app/base:candidate" in copy
    assert f"oci-layout://{tmp_path}/gen-ci-bases/base/layout@{DIGEST}" in copy
    # Without a digest from the base's job, nothing is built.
    env["DIGEST_1"] = ""
    assert subprocess.run(["bash", "-e", "-c", bases["run"]], env=env, capture_output=True).returncode != 0


def test_github_every_publish_job_of_the_chain_needs_every_candidate_job():
    jobs = _load("github.yml")["jobs"]
    candidates = {"build-base-amd64", "build-app-amd64"}
    for publish in ("publish-base", "publish-app"):
        assert candidates <= _needs(jobs[publish]), publish
        assert "needs.publish-gate.outputs.publish == 'true'" in jobs[publish]["if"]
        # No status function in the condition: GitHub's default success() skips it when any need failed.
        assert "always()" not in jobs[publish]["if"] and "failure()" not in jobs[publish]["if"]


# GitLab


def test_gitlab_job_graph():
    pipeline = resolved(_load("gitlab.yml"))
    assert "build-base-amd64" in _needs(pipeline["build-app-amd64"])
    assert "candidate-base-amd64" in _needs(pipeline["candidate-app-amd64"])
    candidates = {"candidate-base-amd64", "candidate-app-amd64"}
    for publish in ("publish-base", "publish-app"):
        assert _needs(pipeline[publish]) == candidates, publish
        # Only its own image's layout is downloaded; the rest of the chain is waited for.
        own = "candidate-" + publish.removeprefix("publish-") + "-amd64"
        assert all(isinstance(need, str) and need == own or need.get("artifacts") is False for need in pipeline[publish]["needs"])
    # The base keeps its layout on every run; the dependent's own layout is kept for publishing only.
    assert "gen-ci-candidate-base-amd64/" in pipeline["build-base-amd64"]["artifacts"]["paths"]
    assert not any("candidate" in path for path in pipeline["build-app-amd64"]["artifacts"]["paths"])


@pytest.mark.parametrize("job_id", ["build-app-amd64", "candidate-app-amd64"])
def test_gitlab_build_arg_carries_the_base_digest(tmp_path, job_id):
    job = resolved(_load("gitlab.yml"))[job_id]
    script = [item for item in job_script(job) if "docker build" in item or "REGCTL_IMAGE" in item]
    assert len(script) == 2 and "REGCTL_IMAGE" in script[0]
    (tmp_path / "gen-ci-candidate-base-amd64" / "layout").mkdir(parents=True)
    (tmp_path / "gen-ci-candidate-base-amd64" / "layout" / "index.json").write_text("{}")
    log = tmp_path / "docker.log"
    _fake_docker(tmp_path, log)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "CI_JOB_ID": "7", "PLATFORM": "linux/amd64",
           "CANDIDATE": "gen-ci/app:7", "REGISTRY_IMAGE": "registry:2", "REGCTL_IMAGE": "regctl:1"}
    subprocess.run(["sh", "-e", "-c", "\n".join(script)], env=env, cwd=tmp_path, check=True, capture_output=True)
    lines = log.read_text().splitlines()
    build = next(line for line in lines if line.startswith("build "))
    assert f"--build-arg BASE_IMAGE=localhost:49153/gen-ci/base@{DIGEST} " in build
    # regctl copies exactly the kept layout (handed over by docker cp before it starts) into the job's registry.
    copy = next(line for line in lines if line.startswith("create ") and " image copy " in line)
    assert copy.endswith("regctl:1 --host reg=localhost:5000,tls=disabled image copy ocidir://layout:candidate localhost:5000/gen-ci/base:candidate")
    assert lines.index("cp gen-ci-candidate-base-amd64/layout copy-container:/") < lines.index("start --attach copy-container") < lines.index(build)
    # A push that reports no digest stops the job before the build.
    log.unlink()
    _fake_docker(tmp_path, log, digest="")
    assert subprocess.run(["sh", "-e", "-c", "\n".join(script)], env=env, cwd=tmp_path, capture_output=True).returncode != 0
    assert not any(line.startswith("build ") for line in log.read_text().splitlines())


# The rules, each located where it is written


SPEC = """\
version: 1
name: acme
targets: {targets}
images:
  - id: base
    repository: ghcr.io/acme/base
    platforms: [linux/amd64]
  - id: app
    repository: ghcr.io/acme/app
    platforms: {platforms}
    build_args:
      BASE_IMAGE: {arg}
"""


def _rows(cli, write_spec, arg, targets="{github: ci.yml}", platforms="[linux/amd64]"):
    return [(r["code"], r["path"], r["msg"], int(r["line"]))
            for r in _errors(cli(str(write_spec(SPEC.format(targets=targets, platforms=platforms, arg=arg)))))]


def test_rule_image_without_from_image(cli, write_spec):
    [(code, path, _, line)] = _rows(cli, write_spec, "{from: version, image: base}")
    assert (code, path, line) == ("GC154", "$.images[1].build_args.BASE_IMAGE.image", 12)


def test_rule_from_image_without_image(cli, write_spec):
    [(code, path, msg, _)] = _rows(cli, write_spec, "{from: image}")
    assert (code, path) == ("GC154", "$.images[1].build_args.BASE_IMAGE.from") and "base" in msg


def test_rule_unknown_image_suggests_the_closest(cli, write_spec):
    [(code, path, msg, line)] = _rows(cli, write_spec, "{from: image, image: bsae}")
    assert (code, path, line) == ("GC155", "$.images[1].build_args.BASE_IMAGE.image", 12) and "did you mean 'base'" in msg


def test_rule_itself(cli, write_spec):
    [(code, _, msg, _)] = _rows(cli, write_spec, "{from: image, image: app}")
    assert code == "GC155" and "itself" in msg


def test_rule_other_platforms(cli, write_spec):
    [(code, path, _, line)] = _rows(cli, write_spec, "{from: image, image: base}", platforms="[linux/amd64, linux/arm64]")
    assert (code, path, line) == ("GC157", "$.images[1].platforms", 10)


def test_rule_jenkins(cli, write_spec):
    rows = _rows(cli, write_spec, "{from: image, image: base}", targets="{jenkins: Jenkinsfile}")
    assert [(code, path) for code, path, _, _ in rows] == [("GC158", "$.images[1].build_args.BASE_IMAGE")]


def test_rule_old_gitlab_client(cli, write_spec):
    spec = SPEC.format(targets="{gitlab: .gitlab-ci.yml}", platforms="[linux/amd64]", arg="{from: image, image: base}")
    spec = spec.replace("ghcr.io/acme", "registry.gitlab.com/acme") + "runners: {gitlab: [docker]}\n"
    spec += f"docker: {{mode: dind, version: 29.3.1, dind_digest: 'sha256:{'b' * 64}', cli_digest: 'sha256:{'c' * 64}'}}\n"
    rows = _errors(cli(str(write_spec(spec))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC158", "$.docker.version")]


def test_rule_cycle(cli, write_spec):
    spec = SPEC.format(targets="{github: ci.yml}", platforms="[linux/amd64]", arg="{from: image, image: base}")
    spec = spec.replace("    platforms: [linux/amd64]\n  - id: app", "    platforms: [linux/amd64]\n    build_args: {APP: {from: image, image: app}}\n  - id: app", 1)
    rows = _errors(cli(str(write_spec(spec))))
    assert {r["code"] for r in rows} == {"GC156"} and "base -> app -> base" in rows[0]["msg"]


def test_a_chain_renders_and_plans_together(cli, write_spec):
    spec = write_spec(SPEC.format(targets="{github: ci.yml}", platforms="[linux/amd64]", arg="{from: image, image: base}"))
    assert cli(str(spec)).exit_code == 0
    planned = cli("plan", str(spec))
    assert planned.exit_code == 0, planned.stderr
    assert "base, app: built in one pipeline" in planned.stdout and "only if every one of them passed" in planned.stdout


assert LINE  # the located form every refusal above is read with


def test_rule_chain_job_names_clash(cli, write_spec):
    spec = SPEC.format(targets="{github: ci.yml}", platforms="[linux/amd64]", arg="{from: image, image: base}")
    spec += "  - id: app-amd64\n    repository: ghcr.io/acme/other\n"
    rows = _errors(cli(str(write_spec(spec))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC106", "$.images[1].id")]
