"""Multi-platform images (issue 14): one job per platform on its own runner (QEMU only where the
runner is not that platform), tested and scanned there; a merge job that needs them all publishes
exactly the tested digests as one index. Platform jobs can push nowhere.

The merge scripts run here against a stand-in for docker that plays imagetools, and the layout
program against archives shaped as `docker save` writes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests.conftest import GOLDEN, golden_outputs
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _spec_with, assert_located_refusal

NATIVE = GOLDEN / "scenario-12-native-multi-arch"
EMULATED = GOLDEN / "scenario-12-emulated"
PUSHING = "push: {branches: [main], tags: []}\n"


def _load(text: str) -> dict:
    return YAML(typ="safe").load(text)


def _render(tmp_path, override: str, platform: str = "github") -> dict:
    spec = tmp_path / "spec.yml"
    spec.write_text(_spec_with(override))
    return _load(generate(spec, platform)[2])


def _jobs(document: dict) -> dict:
    """GitHub's jobs, or GitLab's with their extends: applied (hidden .gen-ci-* jobs left out)."""
    if "jobs" in document:
        return document["jobs"]
    return {k: v for k, v in resolved(document).items() if isinstance(v, dict) and "script" in v and not k.startswith(".")}


def _qemu_steps(job: dict) -> list[dict]:
    return [step for step in job["steps"] if "setup-qemu-action" in step.get("uses", "")]


# Where each platform builds.


@pytest.mark.parametrize(("override", "expected"), [
    # Native by default on GitHub-hosted runners: amd64 on the default runner, arm64 on ubuntu-24.04-arm.
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64]}]\n",
     {"build-app-amd64": ("ubuntu-24.04", None), "build-app-arm64": ("ubuntu-24.04-arm", None)}),
    # No native runner for arm/v7: QEMU on the default runner, in that platform's job alone.
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm/v7]}]\n",
     {"build-app-amd64": ("ubuntu-24.04", None), "build-app-arm-v7": ("ubuntu-24.04", "arm")}),
    # Emulation when asked, even where a native runner exists.
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64]}]\n"
     "runners: {platforms: {linux/arm64: {emulate: true}}}\n",
     {"build-app-amd64": ("ubuntu-24.04", None), "build-app-arm64": ("ubuntu-24.04", "arm64")}),
    # A runner of the user's own for a platform.
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/s390x]}]\n"
     "runners: {platforms: {linux/s390x: {github: [self-hosted, s390x]}}}\n",
     {"build-app-amd64": ("ubuntu-24.04", None), "build-app-s390x": (["self-hosted", "s390x"], None)}),
    # Self-hosted default runners: no GitHub-hosted arm runner is assumed.
    ("runners: {github: [self-hosted, linux]}\nimages: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64]}]\n",
     {"build-app-amd64": (["self-hosted", "linux"], None), "build-app-arm64": (["self-hosted", "linux"], "arm64")}),
    # One platform: one job, on that platform's runner.
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/arm64]}]\n", {"build-app": ("ubuntu-24.04-arm", None)}),
    ("runners: {github: [ubuntu-24.04-arm]}\nimages: [{repository: ghcr.io/acme/app, platforms: [linux/amd64]}]\n",
     {"build-app": ("ubuntu-24.04-arm", "amd64")}),
])
def test_each_platform_builds_on_its_own_runner(tmp_path, override, expected):
    jobs = _jobs(_render(tmp_path, override))
    found = {}
    for job_id, job in jobs.items():
        if job_id.startswith("build-"):
            qemu = _qemu_steps(job)
            assert len(qemu) <= 1
            found[job_id] = (job["runs-on"], qemu[0]["with"]["platforms"] if qemu else None)
    assert found == expected


def test_each_platform_job_builds_tests_and_scans_only_its_platform(tmp_path):
    jobs = _jobs(_render(tmp_path, "images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64], test: app --version}]\n"))
    for slug, platform in (("amd64", "linux/amd64"), ("arm64", "linux/arm64")):
        steps = {step["name"]: step for step in jobs[f"build-app-{slug}"]["steps"]}
        assert steps["Build app"]["with"]["platforms"] == platform
        assert steps["Test app"]["env"]["PLATFORM"] == platform
        assert steps["Scan app with trivy"]["env"]["PLATFORM"] == platform
        # Caches per platform, so the platforms never evict each other.
        assert steps["Build app"]["with"]["cache-from"] == f"type=gha,scope=app-{slug}"
        assert steps["Build app"]["with"]["cache-to"] == f"type=gha,mode=max,scope=app-{slug}"
        assert steps["Keep the scan report"]["with"]["name"] == f"scan-app-{slug}"


@pytest.mark.parametrize("path", golden_outputs("github"), ids=lambda p: p.parent.name)
def test_qemu_image_is_pinned_by_digest_and_never_cached(path):
    for job in _jobs(_load(path.read_text())).values():
        for step in _qemu_steps(job):
            image = step["with"]["image"]
            assert "@sha256:" in image and ":latest" not in image
            assert step["with"]["cache-image"] is False  # a shared cache entry a release job would restore


@pytest.mark.parametrize("path", golden_outputs("github"), ids=lambda p: p.parent.name)
def test_buildx_is_pinned_and_its_binary_never_cached(path):
    for job in _jobs(_load(path.read_text())).values():
        for step in job["steps"]:
            if "setup-buildx-action" in step.get("uses", ""):
                assert step["with"]["version"].startswith("v0.") and step["with"]["cache-binary"] is False


# The merge: needs every platform; platform jobs cannot push.

REGISTRY_ACTIONS = ("docker/login-action", "aws-actions/configure-aws-credentials", "sigstore/cosign-installer")


@pytest.mark.parametrize("golden", [NATIVE, EMULATED], ids=lambda p: p.name)
def test_github_merge_needs_every_platform_job_and_no_platform_job_can_push(golden):
    jobs = _jobs(_load((golden / "github.yml").read_text()))
    merges = {job_id: job for job_id, job in jobs.items() if job_id.startswith("publish-") and job_id != "publish-gate"}
    assert merges
    for merge_id, merge in merges.items():
        image = merge_id.removeprefix("publish-")
        platform_jobs = sorted(job_id for job_id in jobs if job_id.startswith(f"build-{image}-"))
        assert len(platform_jobs) >= 2 and sorted(merge["needs"]) == sorted(["publish-gate", *platform_jobs])
        downloads = [step["with"]["name"] for step in merge["steps"] if "download-artifact" in step.get("uses", "")]
        assert downloads == [job_id.replace("build-", "candidate-", 1) for job_id in platform_jobs] or \
            sorted(downloads) == sorted(job_id.replace("build-", "candidate-", 1) for job_id in platform_jobs)
        for job_id in platform_jobs:
            job = jobs[job_id]
            assert set(job["permissions"]) <= {"contents", "security-events"} and job["permissions"]["contents"] == "read"
            assert "environment" not in job  # the release environment's secrets stay with the merge job
            text = json.dumps(job)
            assert not any(action in text for action in REGISTRY_ACTIONS)
            assert "secrets." not in text and "github.token" not in text and "docker push" not in text
            # The only copy a platform job makes is into its own OCI layout.
            for step in job["steps"]:
                if "imagetools create" in step.get("run", ""):
                    assert '--tag "oci-layout://$RUNNER_TEMP/gen-ci-candidate/layout:candidate"' in step["run"]


@pytest.mark.parametrize("golden", [NATIVE, EMULATED], ids=lambda p: p.name)
def test_gitlab_merge_needs_every_candidate_and_no_candidate_can_push(golden):
    jobs = _jobs(_load((golden / "gitlab.yml").read_text()))
    merges = {job_id: job for job_id, job in jobs.items() if job_id.startswith("publish-")}
    assert merges
    for merge_id, merge in merges.items():
        image = merge_id.removeprefix("publish-")
        candidates = sorted(job_id for job_id in jobs if job_id.startswith(f"candidate-{image}-"))
        assert len(candidates) >= 2 and sorted(merge["needs"]) == candidates
        # Built, tested and scanned for pipelines that do not publish too, under the same names.
        assert sorted(job_id for job_id in jobs if job_id.startswith(f"build-{image}-")) == [c.replace("candidate-", "build-", 1) for c in candidates]
        for job_id in candidates:
            job = jobs[job_id]
            script = "\n".join(job["before_script"] + job["script"])
            assert "id_tokens" not in job and "environment" not in job
            assert "docker login" not in script and "docker push" not in script and "COSIGN_IMAGE" not in script
            assert not re.search(r"\bcosign (sign|attest|verify)", script)
            assert "CI_REGISTRY_PASSWORD" not in script and "imagetools create" not in script
            assert f"gen-ci-candidate-{job_id.rsplit('-', 1)[-1]}/" in job["artifacts"]["paths"][-1] or \
                any(path.startswith("gen-ci-candidate-") for path in job["artifacts"]["paths"])


def test_gitlab_platform_jobs_run_on_their_tags_and_emulate_only_without_them():
    jobs = _jobs(_load((NATIVE / "gitlab.yml").read_text()))
    assert jobs["build-api-amd64"]["tags"] == ["docker-privileged"]
    assert jobs["build-api-arm64"]["tags"] == ["saas-linux-medium-arm64"]
    for job in jobs.values():
        assert "BINFMT_IMAGE" not in job.get("variables", {})
    emulated = _jobs(_load((EMULATED / "gitlab.yml").read_text()))
    job = emulated["build-tool-arm-v7"]
    assert job["variables"]["PLATFORM"] == "linux/arm/v7" and "@sha256:" in job["variables"]["BINFMT_IMAGE"]
    script = job_script(job)
    emulate = next(i for i, line in enumerate(script) if "Emulating $PLATFORM with QEMU" in line)
    assert '--install arm' in script[emulate + 1] and "--privileged --network=none" in script[emulate + 1]
    # QEMU is registered before anything is built.
    assert emulate < next(i for i, line in enumerate(script) if "docker build" in line)
    assert "BINFMT_IMAGE" not in emulated["build-tool-amd64"]["variables"]


# The merge scripts, run.

FAKE_DOCKER = r"""#!/bin/sh
# imagetools as far as the merge scripts use it: create records; inspect reads $MANIFESTS, where a
# line ending in "manifest" is a single image manifest (docker save) and any other an index.
echo "$*" >> "$LOG"
ref=$(printf '%s' "$*" | awk '{print $NF}')
single() { grep -F "$ref " "$MANIFESTS" | grep -q ' manifest$'; }
case "$*" in
  "buildx imagetools create "*) exit 0 ;;
  *"--raw"*) if single; then echo '{"config": {}}'; else echo '{"manifests": []}'; fi ;;
  *"{{.Manifest.Digest}}"*) if single; then grep -F "$ref " "$MANIFESTS" | cut -d ' ' -f 2; else echo "$MERGED_DIGEST"; fi ;;
  *"{{range .Manifest.Manifests}}"*)
    ref=$(printf '%s' "$*" | awk '{print $NF}')
    grep -F "$ref " "$MANIFESTS" | cut -d ' ' -f 2 | tr ',' '\n'
    echo
    ;;
  *) exit 3 ;;
esac
"""


def _digest(char: str) -> str:
    return "sha256:" + char * 64


def _run_merge(tmp_path, run: str, env: dict[str, str], sources: dict[str, str], merged: str, shell: str) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    manifests = tmp_path / "manifests"
    manifests.write_text("".join(f"{ref} {digests}\n" for ref, digests in {**sources, merged: sources.pop("__merged__")}.items()))
    output = tmp_path / "github_output"
    output.touch()
    full_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "LOG": str(tmp_path / "log"), "MANIFESTS": str(manifests),
                "MERGED_DIGEST": _digest("f"), "RUNNER_TEMP": "/rt", "GITHUB_OUTPUT": str(output)}
    done = subprocess.run([shell, "-e", "-c", run], env=full_env, cwd=tmp_path, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr + output.read_text(), (tmp_path / "log").read_text().splitlines()


def _github_merge_step() -> dict:
    jobs = _jobs(_load((NATIVE / "github.yml").read_text()))
    return next(step for step in jobs["publish-api"]["steps"] if step.get("id") == "merge")


@pytest.mark.parametrize("extra", [False, True])
def test_github_merge_publishes_only_an_index_of_exactly_the_tested_digests(tmp_path, extra):
    step = _github_merge_step()
    env = {"DIGEST_1": _digest("a"), "DIGEST_2": _digest("b")}
    amd, arm = f"oci-layout:///rt/gen-ci-candidates/amd64/layout@{_digest('a')}", f"oci-layout:///rt/gen-ci-candidates/arm64/layout@{_digest('b')}"
    tested = {amd: f"{_digest('1')},{_digest('2')}", arm: f"{_digest('3')},{_digest('4')}"}
    merged = ",".join([_digest(c) for c in "1234"] + ([_digest("9")] if extra else []))
    status, output, calls = _run_merge(tmp_path, step["run"], env, {**tested, "__merged__": merged},
                                       f"oci-layout:///rt/gen-ci-index@{_digest('f')}", "bash")
    assert calls[0] == f'buildx imagetools create --tag oci-layout:///rt/gen-ci-index:candidate {amd} {arm}'
    if extra:
        assert status != 0 and "does not list exactly the tested digests" in output and "digest=" not in output
    else:
        assert status == 0 and f"digest={_digest('f')}" in output


@pytest.mark.parametrize("missing", [False, True])
def test_gitlab_merge_publishes_only_an_index_of_exactly_the_tested_images(tmp_path, missing):
    merge = _jobs(_load((NATIVE / "gitlab.yml").read_text()))["publish-api"]
    amd, arm = "oci-layout://gen-ci-candidate-amd64/layout:candidate", "oci-layout://gen-ci-candidate-arm64/layout:candidate"
    merged = ",".join([_digest("1")] if missing else [_digest("1"), _digest("2")])
    # docker save of the classic store keeps each platform's tested image as a single manifest.
    status, output, calls = _run_merge(tmp_path, merge["script"][0], {}, {amd: _digest("1") + " manifest", arm: _digest("2") + " manifest", "__merged__": merged},
                                       f"oci-layout://gen-ci-index@{_digest('f')}", "sh")
    assert calls[0] == f"buildx imagetools create --tag oci-layout://gen-ci-index:candidate {amd} {arm}"
    written = tmp_path / "gen-ci-digest.txt"
    if missing:
        assert status != 0 and "does not list exactly the tested images" in output and not written.exists()
    else:
        assert status == 0 and written.read_text() == _digest("f") + "\n"


def test_github_merge_publishes_and_signs_the_merged_digest():
    jobs = _jobs(_load((NATIVE / "github.yml").read_text()))
    steps = {step["name"]: step for step in jobs["publish-api"]["steps"]}
    assert steps["Push api"]["env"]["CANDIDATE"] == "oci-layout://${{ runner.temp }}/gen-ci-index@${{ steps.merge.outputs.digest }}"
    assert steps["Sign api and attest its scan"]["env"]["DIGEST"] == "${{ steps.merge.outputs.digest }}"
    assert "for predicate in \"$RUNNER_TEMP\"/gen-ci-candidates/*/scan-predicate.json" in steps["Sign api and attest its scan"]["run"]


# The kept candidate (GitLab): docker save writes the OCI layout the merge reads.

SAVING_DOCKER = r"""#!/bin/sh
echo "$*" >> "$LOG"
case "$1" in
  tag) exit 0 ;;
  save)
    # What Docker 25 and later save: an OCI layout whose index names the tag it was saved as.
    dir=$(mktemp -d)
    mkdir -p "$dir/blobs/sha256"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
    printf '{"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "${4##*:}" > "$dir/index.json"
    tar -c -f "$3" -C "$dir" .
    ;;
  *) exit 3 ;;
esac
"""


def test_gitlab_candidate_keeps_the_tested_image_as_the_layout_the_merge_reads(tmp_path):
    jobs = _jobs(_load((NATIVE / "gitlab.yml").read_text()))
    keep = next(item for item in jobs["candidate-api-arm64"]["script"] if "docker save" in item)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text(SAVING_DOCKER)
    (tmp_path / "bin" / "docker").chmod(0o755)
    (tmp_path / "scan-api-arm64.json").write_text("{}")
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "LOG": str(tmp_path / "log"), "CANDIDATE": "gen-ci/api:7",
           "REPORT": "scan-api-arm64.json", "SCANNER_IMAGE": "trivy"}
    # Stop before the predicates: the layout is what this test reads.
    done = subprocess.run(["sh", "-e", "-c", keep.split("mkdir -p \"$out/predicates\"")[0]], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "log").read_text().splitlines()
    assert calls == ["tag gen-ci/api:7 gen-ci/api:candidate", "save --output gen-ci-saved.tar gen-ci/api:candidate"]
    index = json.loads((tmp_path / "gen-ci-candidate-arm64" / "layout" / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "candidate"
    assert not (tmp_path / "gen-ci-saved.tar").exists()
    # The merge reads exactly that layout, under that name.
    assert "oci-layout://gen-ci-candidate-arm64/layout:candidate" in jobs["publish-api"]["script"][0]
    # The predicates it keeps come from the report its own scan wrote.
    assert 'convert --format cosign-vuln > "$out/predicates"/vuln-arm64.json' in keep


# Bad input.


@pytest.mark.parametrize(("override", "code", "where", "words"), [
    ("runners: {platforms: {linux/arm64: {github: [ubuntu-24.04-arm]}}}\n", "GC124", "$.runners.platforms.linux/arm64", "which no image builds"),
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm/v7]}]\nrunners: {platforms: {linux/arm/v6: {emulate: true}}}\n",
     "GC124", "$.runners.platforms.linux/arm/v6", "did you mean linux/arm/v7?"),
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64]}]\n"
     "runners: {platforms: {linux/arm64: {github: [ubuntu-24.04-arm], emulate: true}}}\n",
     "GC125", "$.runners.platforms.linux/arm64.emulate", "natively on its runners or under QEMU"),
    ("runners: {github: [ubuntu-24.04-arm], platforms: {linux/arm64: {emulate: true}}}\n"
     "images: [{repository: ghcr.io/acme/app, platforms: [linux/arm64]}]\n",
     "GC125", "$.runners.platforms.linux/arm64.emulate", "already are linux/arm64"),
    ("targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind, version: 29.3.1, "
     f"dind_digest: 'sha256:{'b' * 64}', cli_digest: 'sha256:{'c' * 64}'}}\n"
     "images: [{repository: registry.gitlab.com/a/b, platforms: [linux/amd64, linux/arm64]}]\n",
     "GC102", "$.docker.version", "29.4.0 or newer"),
    ("images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64/v8]}]\n", "GC012", "$.images[0].platforms[1]", "did you mean 'linux/arm64'"),
])
def test_bad_platform_input_is_located_and_writes_nothing(cli, write_spec, tmp_path, override, code, where, words):
    assert_located_refusal(cli, write_spec(_spec_with(override)), tmp_path / "out.yml", code, where, words)


def test_gitlab_multi_platform_renders_with_the_pinned_engine(tmp_path):
    jobs = _jobs(_render(tmp_path, "targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind}\n"
                                   "images: [{repository: registry.gitlab.com/a/b, platforms: [linux/amd64, linux/arm64]}]\n" + PUSHING, "gitlab"))
    assert {"build-b-amd64", "build-b-arm64", "candidate-b-amd64", "candidate-b-arm64", "publish-b"} <= set(jobs)


def test_a_merge_job_with_nothing_to_set_has_no_empty_variables(tmp_path):
    """The property test found `variables:` with nothing under it (null) on a socket merge job without signing."""
    document = _render(tmp_path, "targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [docker]}\ndocker: {mode: socket}\n"
                                 "images: [{repository: registry.gitlab.com/a/b, platforms: [linux/amd64, linux/arm64]}]\n"
                                 "push: {branches: [main], sign: false}\n", "gitlab")
    assert "variables" not in document["publish-b"]
    assert all(value is not None for job in document.values() if isinstance(job, dict) for value in job.values())


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_every_gitlab_job_names_its_candidate_for_itself(path):
    """Socket-mode jobs share the runner's daemon: a candidate named per pipeline would let a
    platform job (or a retry) test, scan or push another job's image."""
    from ruamel.yaml import YAML

    pipeline = YAML(typ="safe").load(path.read_text())
    named = [job["variables"]["CANDIDATE"] for job in pipeline.values() if isinstance(job, dict) and "CANDIDATE" in (job.get("variables") or {})]
    for name in named:
        assert name.endswith(":$CI_JOB_ID"), name
