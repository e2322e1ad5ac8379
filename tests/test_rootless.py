"""docker.mode rootless (issue 16): no daemon and no privilege, the same guarantees.

The jobs' scripts run here against stand-ins for buildctl and docker buildx imagetools that record
what they were asked; the credentials script runs for real.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess

import pytest
from ruamel.yaml import YAML

from generator import pins
from tests.conftest import GOLDEN
from tests.test_errors import _spec_with, assert_located_refusal

ROOTLESS = GOLDEN / "scenario-13-rootless" / "gitlab.yml"
DIGEST = "sha256:" + "c" * 64


def _jobs() -> dict:
    return {k: v for k, v in YAML(typ="safe").load(ROOTLESS.read_text()).items() if isinstance(v, dict) and "script" in v}


def test_no_job_needs_a_daemon_or_privilege():
    jobs = _jobs()
    assert set(jobs) == {"build-api", "scan-api", "tags-api", "publish-api", "sign-api"}
    text = ROOTLESS.read_text()
    assert "privileged" not in text.replace("privileged containers", "").replace("privilege", "")
    assert "DOCKER_HOST" not in text and "services:" not in text and "docker run" not in text
    for job_id, job in jobs.items():
        assert job["image"]["entrypoint"] == [""], job_id
        # The docker client only as buildx imagetools (registry calls, no daemon), in the publish job.
        commands = [word for line in job["script"] for word in re.findall(r"\bdocker (\S+ \S+)", line.replace("docker.io", ""))]
        assert set(commands) <= ({"buildx imagetools"} if job_id == "publish-api" else set()), job_id
    assert jobs["publish-api"]["image"]["name"].startswith("docker:") and "-cli@sha256:" in jobs["publish-api"]["image"]["name"]
    assert jobs["build-api"]["variables"]["BUILDKITD_FLAGS"] == "--oci-worker-no-process-sandbox"
    assert jobs["build-api"]["image"]["name"] == pins.image("buildkit-rootless")


def test_release_waits_for_the_test_and_the_scan_and_only_it_and_sign_hold_credentials():
    jobs = _jobs()
    assert jobs["publish-api"]["needs"] == ["build-api", "tags-api", "scan-api"]
    assert jobs["sign-api"]["needs"] == ["publish-api", "scan-api"]
    for job_id, job in jobs.items():
        script = "\n".join(job["script"])
        holds = "CI_REGISTRY_PASSWORD" in script or "printenv DOCKERHUB_TOKEN" in script
        assert holds is (job_id in ("publish-api", "sign-api")), job_id
        assert ("id_tokens" in job) is (job_id == "sign-api")
        assert ("rules" in job) is (job_id not in ("build-api", "scan-api")), job_id


class Tools:
    """A directory of stand-in commands on PATH, each recording its arguments."""

    def __init__(self, tmp_path):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "log"

    def add(self, name: str, body: str) -> None:
        (self.bin / name).write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{self.log}"\n{body}\n')
        (self.bin / name).chmod(0o755)

    def run(self, script: str, cwd, env: dict[str, str]) -> subprocess.CompletedProcess:
        full = {**os.environ, **env, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "HOME": str(cwd)}
        return subprocess.run(["sh", "-e", "-c", script], env=full, cwd=cwd, capture_output=True, text=True)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def test_build_records_the_candidate_digest_and_tests_that_exact_digest(tmp_path):
    tools = Tools(tmp_path)
    # The build writes buildctl's metadata file; the test build copies out the Dockerfile it was given.
    tools.add("buildctl-daemonless.sh", f'''
case "$*" in
  *--metadata-file*) printf '{{\\n  "containerimage.digest": "{DIGEST}",\\n  "image.name": ""\\n}}' > gen-ci-build.json ;;
  *) for arg in "$@"; do case "$arg" in dockerfile=*) cp "${{arg#dockerfile=}}/Dockerfile" "$PWD/test.Dockerfile" ;; esac; done ;;
esac''')
    build, test = _jobs()["build-api"]["script"]
    env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_REF_NAME": "main", "CI_COMMIT_SHA": "a" * 40, "CI_PROJECT_URL": "https://gitlab.example.com/acme/api",
           "GEN_CI_TEST_SCRIPT": "api --version"}
    for command in (["init", "-q"], ["-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "--allow-empty", "-m", "c"]):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True)
    done = tools.run(build, tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gen-ci-candidate-digest.txt").read_text() == DIGEST + "\n"
    done = tools.run(test, tmp_path, env)
    assert done.returncode == 0, done.stderr
    test_call = tools.calls()[-1]
    assert "--no-cache" in test_call and "--oci-layout candidate=gen-ci-candidate" in test_call
    assert f"--opt context:candidate=oci-layout://candidate@{DIGEST}" in test_call
    assert "--opt build-arg:GEN_CI_TEST_SCRIPT=api --version" in test_call
    assert (tmp_path / "test.Dockerfile").read_text() == 'FROM candidate\nARG GEN_CI_TEST_SCRIPT\nRUN /bin/sh -c "$GEN_CI_TEST_SCRIPT"\n'
    build_call = tools.calls()[0]
    assert "--output type=oci,dest=gen-ci-candidate,tar=false" in build_call and "push=true" not in build_call
    assert "--opt attest:provenance=mode=max" in build_call and "--opt attest:sbom=" in build_call


def test_credentials_go_to_a_config_file_never_to_an_argument(tmp_path):
    tools = Tools(tmp_path)
    credentials, _ = _jobs()["publish-api"]["script"]
    secret = "p@ss word'\"$(id)"
    env = {"CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": secret,
           "DOCKERHUB_USERNAME": "acme", "DOCKERHUB_TOKEN": secret}
    done = tools.run(credentials, tmp_path, env)
    assert done.returncode == 0, done.stderr
    auths = json.loads((tmp_path / ".docker" / "config.json").read_text())["auths"]
    assert set(auths) == {"registry.gitlab.example.com", "https://index.docker.io/v1/", "docker.io"}
    assert base64.b64decode(auths["docker.io"]["auth"]).decode() == f"acme:{secret}"
    assert base64.b64decode(auths["registry.gitlab.example.com"]["auth"]).decode() == f"gitlab-ci-token:{secret}"
    # printf is the shell's own; the only program started sees the secret on standard input.
    assert "$CI_REGISTRY_PASSWORD" in credentials and "--password" not in credentials


@pytest.mark.parametrize(("served", "attested", "passes"), [(DIGEST, True, True), ("sha256:" + "d" * 64, True, False), (DIGEST, False, False)])
def test_release_copies_the_tested_digest_and_checks_every_copy(tmp_path, served, attested, passes):
    tools = Tools(tmp_path)
    index = '{"manifests":[{"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}' if attested else '{"manifests":[]}'
    tools.add("docker", f"""case "$*" in
  "buildx imagetools inspect --format"*) echo "{served}" ;;
  "buildx imagetools inspect --raw"*) echo '{index}' ;;
  "buildx imagetools create"*) ;;
  *) exit 3 ;;
esac""")
    (tmp_path / "gen-ci-candidate-digest.txt").write_text(DIGEST + "\n")
    (tmp_path / "gen-ci-tags.txt").write_text("1.4.2\nlatest\n")
    _, copy = _jobs()["publish-api"]["script"]
    done = tools.run(copy, tmp_path, {"CI_REGISTRY_IMAGE": "registry.gitlab.example.com/acme/api"})
    copies = [call for call in tools.calls() if call.startswith("docker buildx imagetools create")]
    if passes:
        assert done.returncode == 0, done.stderr
        assert copies == [f"docker buildx imagetools create --tag {repository}:1.4.2 --tag {repository}:latest oci-layout://gen-ci-candidate@{DIGEST}"
                          for repository in ("registry.gitlab.example.com/acme/api", "docker.io/acme/api")]
        assert (tmp_path / "gen-ci-digest.txt").read_text() == DIGEST + "\n"
    else:
        assert done.returncode != 0 and ("not the tested" in done.stderr or "no SBOM or provenance" in done.stderr) and len(copies) == 1
        assert not (tmp_path / "gen-ci-digest.txt").exists()


def test_the_scan_reads_the_layout_once_and_gates_on_its_report_before_release():
    scan = "\n".join(_jobs()["scan-api"]["script"])
    assert "tar -c -f gen-ci-candidate.tar -C gen-ci-candidate oci-layout index.json blobs" in scan and "--input gen-ci-candidate.tar" in scan
    assert scan.count("trivy image") == 1
    assert "convert --format cosign-vuln --output gen-ci-predicates/vuln.json" in scan
    assert scan.rstrip().endswith("convert --format table --severity HIGH,CRITICAL --exit-code 1 > /dev/null")


@pytest.mark.parametrize(("override", "where", "words"), [
    ("targets: {github: ci.yml}\ndocker: {mode: rootless}\n", "$.docker.mode", "GitLab jobs only"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless, network: icc-off}\nimages: [{repository: registry.gitlab.com/a/b}]\n",
     "$.docker.network", "docker.mode rootless"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless, mtu: 1400}\nimages: [{repository: registry.gitlab.com/a/b}]\n",
     "$.docker.mtu", "configures a privileged daemon"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\nscan: {tool: grype}\nimages: [{repository: registry.gitlab.com/a/b}]\n",
     "$.scan.tool", "no shell"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\nimages: [{repository: registry.gitlab.com/a/b, platforms: [linux/amd64, linux/arm64]}]\n",
     "$.images[0].platforms", "one platform per image"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\n"
     "images: [{repository: registry.gitlab.com/a/b, test: t, services: [{name: db, image: 'postgres:16.4'}]}]\n",
     "$.images[0].services", "no daemon to start services"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\n"
     "images: [{repository: registry.gitlab.com/a/b, prepare: {image: 'golang:1.23.4', script: make, outputs: [dist]}}]\n",
     "$.images[0].prepare", "no daemon to run the prepare image"),
    ("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\n"
     "images: [{repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/a}]\n"
     "push: {auth: oidc, aws_role: 'arn:aws:iam::123456789012:role/p', aws_region: eu-west-1}\n",
     "$.push.auth", "ECR credentials"),
])
def test_what_rootless_cannot_do_is_refused_where_it_is_written(cli, write_spec, tmp_path, override, where, words):
    assert_located_refusal(cli, write_spec(_spec_with(override)), tmp_path / "out.yml", "GC130", where, words)


def test_rootless_without_a_scanner_signs_provenance_alone_and_passes_shellcheck(tmp_path):
    """The property test found a one-word loop (shellcheck SC2043) when only provenance is attested."""
    from generator.pipeline import generate
    from tests.conftest import gitlab_scripts, run_tool

    spec = tmp_path / "spec.yml"
    spec.write_text(_spec_with("targets: {gitlab: .gitlab-ci.yml}\ndocker: {mode: rootless}\nscan: {tool: none}\n"
                               "images: [{publish: [{repository: platform}]}]\npush: {branches: [main]}\n"))
    output = tmp_path / "gitlab.yml"
    output.write_text(generate(spec, "gitlab")[2])
    jobs = {k: v for k, v in YAML(typ="safe").load(output.read_text()).items() if isinstance(v, dict) and "script" in v}
    assert set(jobs) == {"build-image", "tags-image", "publish-image", "sign-image"}
    sign = "\n".join(jobs["sign-image"]["script"])
    # BuildKit's SBOM and provenance travel in the index the signature covers; there is no scan to attest.
    assert 'cosign verify "$@"' in sign and "attest" not in sign
    checked = run_tool("shellcheck", "--shell=sh", *gitlab_scripts(output, tmp_path))
    assert checked.returncode == 0, checked.stdout
