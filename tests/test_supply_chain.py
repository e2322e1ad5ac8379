"""Signing, attestations and their verification (issue 13), run as the jobs run them.

The predicate program runs as the pipelines carry it (`python3 -c TEXT`); the GitLab sign script
and the GitHub sign and verify steps run in a shell against stand-ins for docker and cosign that
record what they were asked to do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests.conftest import GOLDEN, golden_outputs
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _errors, _spec_with

SIGNED = GOLDEN / "scenario-11-signed-release"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

TRIVY_VERSION = {"Version": "0.74.0", "VulnerabilityDB": {"Version": 2, "UpdatedAt": "2026-11-22T06:14:03.51Z"}}
TRIVY_REPORT = {
    "CreatedAt": "2026-11-23T10:00:01.123456789+00:00",
    "Results": [
        {"Target": "os", "Vulnerabilities": [{"Severity": "HIGH"}, {"Severity": "LOW"}, {"Severity": "LOW"}]},
        {"Target": "secrets"},
        {"Target": "app", "Vulnerabilities": [{"Severity": "UNKNOWN"}]},
    ],
}
GITHUB_ENV = {
    "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/api",
    "GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_WORKFLOW_REF": "acme/api/.github/workflows/ci.yml@refs/tags/v1.4.2",
    "GITHUB_REF": "refs/tags/v1.4.2",
}
GITLAB_ENV = {
    "GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.example.com/acme/api", "CI_PROJECT_PATH": "acme/api",
    "CI_SERVER_URL": "https://gitlab.example.com", "CI_CONFIG_PATH": ".gitlab-ci.yml", "CI_COMMIT_TAG": "v1.4.2",
    "CI_COMMIT_REF_NAME": "v1.4.2", "CI_COMMIT_SHA": "a" * 40, "CI_PIPELINE_SOURCE": "push", "CI_PIPELINE_ID": "9",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/api/-/pipelines/9", "CI_JOB_URL": "https://gitlab.example.com/acme/api/-/jobs/5",
    "CI_JOB_STARTED_AT": "2026-11-23T10:00:00Z", "CI_RUNNER_ID": "3",
}



@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_outputs_carry_no_program(path):
    """Tools make every predicate and layout: no variable holds a program, no job runs one."""
    text = path.read_text()
    pipeline = YAML(typ="safe").load(text)
    assert not {"GEN_CI_PREDICATES", "GEN_CI_LAYOUT", "GEN_CI_PUSH_LAYOUT"} & set(pipeline.get("variables") or {})
    for marker in ("python3 -c", "PYTHON_IMAGE", "import json", "def main("):
        assert marker not in text, marker


# What the outputs sign, and who may.


@pytest.mark.parametrize("path", golden_outputs("github") + golden_outputs("gitlab"), ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_cosign_names_images_by_digest_only(path):
    calls = re.findall(r"^ *(cosign (?:sign|attest|verify|verify-attestation) .*)$", path.read_text(), re.MULTILINE)
    assert bool(calls) == ("cosign sign" in path.read_text())
    for call in calls:
        assert call.removesuffix(" > /dev/null").endswith(('"$repository@$DIGEST"', '"$repository@$digest"')), call


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_id_tokens_only_in_publish_jobs(path):
    pipeline = YAML(typ="safe").load(path.read_text())
    spec = YAML(typ="safe").load((path.parent / "spec.yml").read_text())
    for name, job in pipeline.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        tokens = job.get("id_tokens", {})
        signs = "cosign sign --yes" in "\n".join(job["script"])
        assert bool(tokens) == (signs or "GEN_CI_AWS_TOKEN" in tokens), name
        if tokens:
            assert job["stage"] == "publish", name
        assert ("SIGSTORE_ID_TOKEN" in tokens) == signs, name
        if signs:
            assert tokens["SIGSTORE_ID_TOKEN"] == {"aud": "sigstore"}
            # The cosign image, pinned by digest: run by the job's daemon, or the job's own image (rootless).
            cosign = job["variables"]["COSIGN_IMAGE"] if "COSIGN_IMAGE" in job.get("variables", {}) else job["image"]["name"]
            assert re.fullmatch(r"\S+:v[\d.]+(-dev)?@sha256:[0-9a-f]{64}", cosign)
            assert spec.get("push", {}).get("sign", True) is True


def test_sign_false_renders_no_signing_and_no_token(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(_spec_with("targets: {github: ci.yml, gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind}\n"
                               "images: [{publish: [{repository: platform}]}]\npush: {sign: false}\n"))
    for platform in ("github", "gitlab"):
        text = generate(spec, platform)[2]
        assert "cosign" not in text and "SIGSTORE" not in text and "id-token" not in text, platform
        assert "GEN_CI_PREDICATES" not in text, platform


# The GitLab sign script, run against stand-ins.

FAKE_DOCKER = r"""#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
log = open(os.environ["LOG"], "a")
log.write(json.dumps(args) + "\n")
state = os.path.join(os.environ["LOG"] + ".containers")
os.makedirs(state, exist_ok=True)
if args[0] == "create":
    # The cosign image runs on the daemon: its arguments wait in a container until it starts.
    assert os.environ["COSIGN_IMAGE"] in args, args
    name = str(len(os.listdir(state)))
    with open(os.path.join(state, name + ".json"), "w") as f:
        json.dump(args[args.index(os.environ["COSIGN_IMAGE"]) + 1:], f)
    print(name)
elif args[0] == "cp":
    source, target = args[1], args[2]
    name, path = target.split(":", 1)
    assert path == "/gen-ci" and source.endswith("/.")
    shutil.copytree(source[:-2], os.path.join(state, name + ".files"))
elif args[0] == "start":
    assert args[1] == "--attach"
    name = args[2]
    files = sorted(os.path.relpath(os.path.join(d, f), os.path.join(state, name + ".files")) for d, _, fs in os.walk(os.path.join(state, name + ".files")) for f in fs)
    cosign = json.load(open(os.path.join(state, name + ".json")))
    log.write(json.dumps({{"cosign": cosign, "files": files}}) + "\n")
    if "--predicate" in cosign:
        predicate = os.path.join(state, name + ".files", cosign[cosign.index("--predicate") + 1])
        log.write(json.dumps({{"predicate": cosign[cosign.index("--type") + 1], "body": open(predicate).read()}}) + "\n")
    sys.exit(int(os.environ.get("COSIGN_STATUS", "0")) if cosign[0] == "verify" else 0)
elif args[0] == "rm":
    pass
elif args[0] == "run" and "convert" in args:
    # trivy convert, reading the one report on standard input.
    assert args[-1] == "/dev/stdin" and "--network=none" in args
    report = sys.stdin.read()
    form = args[args.index("--format") + 1]
    log.write(json.dumps({{"convert": form, "report": report}}) + "\n")
    print(json.dumps({{"format": form, "from": json.loads(report)}}))
else:
    sys.exit("unexpected docker call: " + " ".join(args))
"""


def _gitlab(path: Path) -> dict:
    return resolved(YAML(typ="safe").load(path.read_text()))


def _release_script(pipeline: Path, job: str) -> str:
    script = _gitlab(pipeline)[job]["script"]
    return next(item for item in script if "sign_dir=$(mktemp -d)" in item)


def _sign_workspace(tmp_path: Path, digest: str, repositories: str) -> Path:
    """A job's working directory for the sign script: a recording docker, a login, the pushed digest."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(FAKE_DOCKER.format(python=sys.executable))
    (fake / "docker").chmod(0o755)
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text('{"auths": {}}')
    (tmp_path / "gen-ci-digest.txt").write_text(digest + "\n")
    (tmp_path / "gen-ci-repositories.txt").write_text(repositories)
    return fake


def _run_sign(tmp_path: Path, golden: Path, job_name: str, extra: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list]:
    job = _gitlab(golden)[job_name]
    env = {
        **GITLAB_ENV, **{k: v for k, v in job["variables"].items() if isinstance(v, str)},
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path / "home"), "LOG": str(tmp_path / "log"),
        "SIGSTORE_ID_TOKEN": "secret-token", "CI_JOB_ID": "5", **(extra or {}),
    }
    done = subprocess.run(["sh", "-e", "-c", _release_script(golden, job_name)], env=env, cwd=tmp_path, capture_output=True, text=True)
    log = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()] if (tmp_path / "log").exists() else []
    return done, log


def test_gitlab_signs_attests_and_verifies_every_repository_by_digest(tmp_path):
    _sign_workspace(tmp_path, "sha256:" + "b" * 64, "registry.gitlab.example.com/acme/api\ndocker.io/acme/api\n")
    (tmp_path / "scan-api.json").write_text(json.dumps(TRIVY_REPORT))
    done, log = _run_sign(tmp_path, SIGNED / "gitlab.yml", "publish-api")
    assert done.returncode == 0, done.stderr
    assert all("secret-token" not in json.dumps(entry) for entry in log)  # the token travels by name, never as an argument
    cosign = [entry["cosign"] for entry in log if isinstance(entry, dict) and "cosign" in entry]
    digest = "sha256:" + "b" * 64
    identity = ["--certificate-identity", "https://gitlab.example.com/acme/api//.gitlab-ci.yml@refs/tags/v1.4.2", "--certificate-oidc-issuer", "https://gitlab.example.com"]
    for repository in ("registry.gitlab.example.com/acme/api", "docker.io/acme/api"):
        subject = f"{repository}@{digest}"
        mine = [call for call in cosign if call[-1] == subject]
        assert mine[0] == ["sign", "--yes", subject]
        assert [call[call.index("--type") + 1] for call in mine if call[0] == "attest"] == ["cyclonedx", "vuln"]
        assert ["verify", *identity, subject] in mine
        assert [call[call.index("--type") + 1] for call in mine if call[0] == "verify-attestation"] == ["cyclonedx", "vuln"]
        assert all(call[1:1 + len(identity)] == identity for call in mine if call[0].startswith("verify"))
        # Verification comes after everything it checks was written.
        assert max(i for i, c in enumerate(mine) if c[0] in ("sign", "attest")) < min(i for i, c in enumerate(mine) if c[0].startswith("verify"))
    # Every cosign container got the logins and the predicates before it started.
    assert all({"config.json", "predicates/cyclonedx.json", "predicates/vuln.json"} <= set(entry["files"]) for entry in log if isinstance(entry, dict) and "files" in entry)
    # Both predicates were converted from the one report the gate read: no scanner ran again.
    converted = [entry for entry in log if isinstance(entry, dict) and "convert" in entry]
    assert sorted(entry["convert"] for entry in converted) == ["cosign-vuln", "cyclonedx"]
    assert all(json.loads(entry["report"]) == TRIVY_REPORT for entry in converted)
    attested = {entry["predicate"]: json.loads(entry["body"]) for entry in log if isinstance(entry, dict) and "predicate" in entry}
    assert attested["vuln"] == {"format": "cosign-vuln", "from": TRIVY_REPORT}
    assert not any(isinstance(entry, list) and entry[0] == "run" and "image" in entry for entry in log)


def test_gitlab_sign_fails_when_a_consumer_could_not_verify(tmp_path):
    _sign_workspace(tmp_path, "sha256:" + "b" * 64, "registry.gitlab.example.com/acme/api\n")
    (tmp_path / "scan-api.json").write_text(json.dumps(TRIVY_REPORT))
    done, _ = _run_sign(tmp_path, SIGNED / "gitlab.yml", "publish-api", {"COSIGN_STATUS": "1"})
    assert done.returncode != 0


def test_gitlab_merge_attests_every_platforms_sbom_and_scan_once(tmp_path):
    _sign_workspace(tmp_path, "sha256:" + "c" * 64, "registry.gitlab.example.com/acme/api\n")
    for slug in ("amd64", "arm64"):
        # What each candidate job made from its own tested image's report.
        (tmp_path / f"gen-ci-candidate-{slug}" / "predicates").mkdir(parents=True)
        (tmp_path / f"gen-ci-candidate-{slug}" / "predicates" / f"cyclonedx-{slug}.json").write_text(json.dumps({"bomFormat": "CycloneDX", "for": slug}))
        (tmp_path / f"gen-ci-candidate-{slug}" / "predicates" / f"vuln-{slug}.json").write_text(json.dumps({"scanner": {"for": slug}}))
    done, log = _run_sign(tmp_path, GOLDEN / "scenario-12-native-multi-arch" / "gitlab.yml", "publish-api")
    assert done.returncode == 0, done.stderr
    cosign = [entry["cosign"] for entry in log if isinstance(entry, dict) and "cosign" in entry]
    attests = [(call[call.index("--type") + 1], call[call.index("--predicate") + 1]) for call in cosign if call[0] == "attest"]
    assert attests == [
        ("cyclonedx", "predicates/cyclonedx-amd64.json"), ("cyclonedx", "predicates/cyclonedx-arm64.json"),
        ("vuln", "predicates/vuln-amd64.json"), ("vuln", "predicates/vuln-arm64.json"),
    ]
    assert all(call[-1] == "registry.gitlab.example.com/acme/api@sha256:" + "c" * 64 for call in cosign)
    # No image is scanned or converted here: every platform's predicates came from where it was tested.
    assert not any(isinstance(entry, dict) and "convert" in entry for entry in log)


def _runs(script: list[str], pattern: str) -> int:
    return sum(len(re.findall(pattern, item)) for item in script)


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_scans_each_image_once_a_job_and_converts_the_rest(path):
    """One scanner run a job that builds; table, gate, GitLab report and predicates by trivy convert."""
    pipeline = _gitlab(path)
    scanned = 0
    for name, job in pipeline.items():
        if not isinstance(job, dict) or name.startswith(".") or "script" not in job:
            continue
        script = job_script(job)
        scans = _runs(script, r'"\$SCANNER_IMAGE" (?:image|"docker:)') + _runs(script, r"\btrivy image\b")
        builds = _runs(script, r"\bdocker build\b")
        if name.startswith("scan-") or (builds and "SCANNER_IMAGE" in job.get("variables", {})):
            assert scans == 1, name
        else:
            assert scans == 0, name
        scanned += scans
        text = "\n".join(script)
        if scans and ('"$SCANNER_IMAGE" image' in text or "trivy image" in text):
            # The one run writes JSON; the gate is trivy convert's verdict on that report.
            scan_run = next(item for item in script if '"$SCANNER_IMAGE" image' in item or "trivy image" in item)
            assert "--format json" in scan_run and "--exit-code" not in scan_run.split("convert()")[0], name
            if "--exit-code 1" in text:
                assert re.search(r"^ *convert --format table --severity \S+ --exit-code 1", text, re.MULTILINE), name
    spec = YAML(typ="safe").load((path.parent / "spec.yml").read_text())
    assert bool(scanned) == ((spec.get("scan") or {}).get("tool", "trivy") != "none")


# The GitHub steps, run against stand-ins.


def _steps(job: str) -> dict[str, dict]:
    workflow = YAML(typ="safe").load((SIGNED / "github.yml").read_text())
    return {step["name"]: step for step in workflow["jobs"][job]["steps"]}


@pytest.mark.parametrize(("index", "verify_status", "passes"), [
    ('{"manifests": [{"annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]}', 0, True),
    ('{"manifests": [{"platform": {"os": "linux"}}]}', 0, False),  # no SBOM or provenance in the index
    ('{"manifests": [{"annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]}', 1, False),  # signature does not verify
])
def test_github_verify_step_fails_unless_signature_and_attestations_check_out(tmp_path, index, verify_status, passes):
    steps = _steps("publish-api")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "cosign").write_text(f'#!/bin/sh\necho "$*" >> "$LOG"\ncase "$1" in verify) exit {verify_status} ;; esac\n')
    (fake / "docker").write_text(f"#!/bin/sh\necho '{index}'\n")
    for name in ("cosign", "docker"):
        (fake / name).chmod(0o755)
    temp = tmp_path / "runner"
    temp.mkdir()
    (temp / "gen-ci-1-1-release-api-repositories").write_text("ghcr.io/acme/api\ndocker.io/acme/api\n")
    env = {
        **GITHUB_ENV, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(temp), "GEN_CI_NAME": "gen-ci-1-1-release-api",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), "LOG": str(tmp_path / "log"), "DIGEST": "sha256:" + "c" * 64, "BUILDER": "b",
    }
    step = steps["Verify api as a consumer would"]
    assert step["env"]["PREDICATE_TYPE"] == "vuln"  # trivy's cosign-vuln predicate
    env["PREDICATE_TYPE"] = step["env"]["PREDICATE_TYPE"]
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert (done.returncode == 0) == passes, done.stdout + done.stderr
    if passes:
        summary = (tmp_path / "summary").read_text()
        assert "--certificate-identity 'https://github.com/acme/api/.github/workflows/ci.yml@refs/tags/v1.4.2'" in summary
        assert f"docker.io/acme/api@sha256:{'c' * 64}" in summary
        calls = (tmp_path / "log").read_text().splitlines()
        assert len([c for c in calls if c.startswith("verify-attestation ") and "--type vuln" in c]) == 2


def test_github_signs_each_repository_after_the_push(tmp_path):
    steps = list(_steps("publish-api"))
    assert steps.index("Push api") < steps.index("Sign api and attest its scan") < steps.index("Verify api as a consumer would")
    # The scan ran before, in the build job whose tested digest and predicate this job downloaded.
    assert "Scan api with trivy" in _steps("build-api") and not any(name.startswith("Scan ") for name in steps)
    assert steps.index("Download the tested candidate") < steps.index("Push api")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "cosign").write_text('#!/bin/sh\necho "$*" >> "$LOG"\n')
    (fake / "cosign").chmod(0o755)
    (tmp_path / "gen-ci-x-repositories").write_text("ghcr.io/acme/api\ndocker.io/acme/api\n")
    (tmp_path / "gen-ci-candidates" / "amd64").mkdir(parents=True)
    (tmp_path / "gen-ci-candidates" / "amd64" / "scan-predicate.json").write_text("{}")
    step = _steps("publish-api")["Sign api and attest its scan"]
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path), "GEN_CI_NAME": "gen-ci-x", "LOG": str(tmp_path / "log"),
           "DIGEST": "sha256:" + "d" * 64, "PREDICATE_TYPE": step["env"]["PREDICATE_TYPE"]}
    assert step["env"]["DIGEST"] == "${{ needs.build-api.outputs.digest }}"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "log").read_text().splitlines()
    subject = f"@sha256:{'d' * 64}"
    predicate = tmp_path / "gen-ci-candidates" / "amd64" / "scan-predicate.json"
    assert calls == [
        f"sign --yes ghcr.io/acme/api{subject}",
        f"attest --yes --type vuln --predicate {predicate} ghcr.io/acme/api{subject}",
        f"sign --yes docker.io/acme/api{subject}",
        f"attest --yes --type vuln --predicate {predicate} docker.io/acme/api{subject}",
    ]


# Bad input: located, exit 2, nothing written.


@pytest.mark.parametrize(("override", "code", "path"), [
    ("push: {sign: true, branches: [], tags: []}\n", "GC122", "$.push.sign"),
    ("triggers: {call: true}\n", "GC123", "$.triggers.call"),
    ("images: [{publish: [{repository: docker.io/acme/app, auth: secrets, username: GITHUB_USER, password: HUB}]}]\npush: {environment: release}\n",
     "GC121", "$.images[0].publish[0].username"),
])
def test_signing_and_secret_name_errors_are_located(cli, write_spec, tmp_path, override, code, path):
    output = tmp_path / "ci.yml"
    output.write_text("kept\n")
    result = cli(str(write_spec(_spec_with(override))), "-o", str(output))
    rows = _errors(result)
    assert result.exit_code == 2 and [(r["code"], r["path"]) for r in rows] == [(code, path)]
    assert output.read_text() == "kept\n"
