"""GitHub: one scan per tested digest, outputs made by the scanner's own tools, no program text.

The scan steps run in bash against a stand-in docker that records every container it is asked to
start and what it was given on stdin; the publish job is read for what it reuses from the build job.
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

from generator.pipeline import compile_spec
from generator.plan import jobs
from tests.conftest import GOLDEN, golden_outputs

GITHUB = golden_outputs("github")
GRYPE_TYPE = "https://github.com/anchore/grype/tree/main/schema/grype/json"


def _workflow(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def _steps(job: dict) -> dict[str, dict]:
    return {step["name"]: step for step in job["steps"]}


def _scans(script: str) -> int:
    """Scanner runs that read an image: trivy's `image` command, or grype's registry source."""
    return len(re.findall(r'"\$SCANNER_IMAGE" image\b', script)) + script.count('"registry:$CANDIDATE"')


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.parent.name)
def test_no_program_text_in_the_workflow(path):
    text = path.read_text()
    assert "GEN_CI_PREDICATES" not in text and "python3 -c" not in text and "PYTHON_IMAGE" not in text
    assert "env" not in _workflow(path)  # nothing at the top a job could run as code


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.parent.name)
def test_each_platform_job_scans_its_digest_once_and_the_publish_job_never(path):
    spec = YAML(typ="safe").load((path.parent / "spec.yml").read_text())
    tool = (spec.get("scan") or {}).get("tool", "trivy")
    for job_id, job in _workflow(path)["jobs"].items():
        script = "\n".join(step.get("run", "") for step in job.get("steps", []))
        builds = [step for step in job.get("steps", []) if step.get("id") == "build"]
        if builds and tool != "none":
            assert _scans(script) == 1, job_id
        else:
            assert _scans(script) == 0 and "SCANNER_IMAGE" not in json.dumps(job), job_id
        if job_id.startswith("publish-") and job_id != "publish-gate":
            assert not builds, job_id


@pytest.mark.parametrize("path", [p for p in GITHUB if "trivy convert" in p.read_text() or "convert --format" in p.read_text()], ids=lambda p: p.parent.name)
def test_every_trivy_output_is_converted_from_the_one_report(path):
    for job_id, job in _workflow(path)["jobs"].items():
        for step in job.get("steps", []):
            if not step.get("name", "").endswith("with trivy"):
                continue
            script = step["run"]
            # The one scan writes the JSON report; the function every conversion goes through reads that file.
            # With exceptions (scenario 33) the scanner is created, handed the ignore file, then started.
            assert re.search(r'--format json "\$CANDIDATE" > "\$REPORT"$|^docker start --attach "\$scanner" > "\$REPORT"$', script, re.M), job_id
            assert 'convert "$@" /dev/stdin < "$REPORT"' in script, job_id
            converts = re.findall(r"^convert (.*)$", script, re.M)
            assert all("--format" in c for c in converts) and "--format table" in converts, job_id
            assert step["env"]["REPORT"].endswith(".json")


# The trivy step, run.

FAKE_DOCKER = r'''#!{python}
import json, os, sys
args = sys.argv[1:]
fed = sys.stdin.read() if "--interactive" in args else None
with open(os.environ["LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "stdin": fed}}) + "\n")
image = os.environ["SCANNER_IMAGE"]
if image in args:
    command = args[args.index(image) + 1]
    if command == "image":
        print(json.dumps({{"ArtifactName": "candidate", "Results": []}}))
    elif command == "convert":
        fmt = args[args.index("--format") + 1]
        print(fmt + " of " + fed.strip())
        if "--exit-code" in args and os.environ.get("FINDINGS") == "1":
            sys.exit(int(args[args.index("--exit-code") + 1]))
'''


def _fake(tmp_path: Path, body: str) -> Path:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "docker").write_text(body.format(python=sys.executable))
    (fake / "docker").chmod(0o755)
    return fake


def _run(step: dict, tmp_path: Path, fake: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in step["env"].items() if "${{" not in v}, "CANDIDATE": "localhost:5000/api@sha256:" + "a" * 64,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path / "temp"), "GEN_CI_NAME": "gen-ci-1-1-build-api",
        "LOG": str(tmp_path / "log"), **extra,
    }
    (tmp_path / "temp").mkdir(exist_ok=True)
    (tmp_path / "work").mkdir(exist_ok=True)
    return subprocess.run(["bash", "-e", "-c", step["run"]], env=env, cwd=tmp_path / "work", capture_output=True, text=True)


@pytest.mark.parametrize("findings", ["0", "1"])
def test_trivy_scans_once_and_the_gate_sarif_and_predicate_read_that_report(tmp_path, findings):
    step = _steps(_workflow(GOLDEN / "scenario-11-signed-release" / "github.yml")["jobs"]["build-api"])["Scan api with trivy"]
    done = _run(step, tmp_path, _fake(tmp_path, FAKE_DOCKER), FINDINGS=findings)
    # The gate's verdict is the step's: findings at fail_on (high) or above fail it.
    assert (done.returncode == 0) == (findings == "0"), done.stdout + done.stderr
    calls = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    image = step["env"]["SCANNER_IMAGE"]
    commands = [call["args"][call["args"].index(image) + 1] for call in calls]
    assert commands == ["image", "convert", "convert", "convert", "convert"]
    report = (tmp_path / "work" / "scan-api.json").read_text()
    formats = []
    for call in calls[1:]:
        assert call["stdin"] == report and call["args"][-1] == "/dev/stdin"  # the same report, byte for byte
        assert "--network=none" in call["args"]
        formats.append(call["args"][call["args"].index("--format") + 1])
    assert formats == ["cosign-vuln", "sarif", "table", "table"]
    gate = calls[-1]["args"]
    assert gate[gate.index("--severity") + 1] == "HIGH,CRITICAL" and gate[gate.index("--exit-code") + 1] == "1"
    # Written before the gate decides, so a failing scan still reaches code scanning and the artifact.
    predicate = tmp_path / "temp" / "gen-ci-candidate" / "scan-predicate.json"
    assert predicate.read_text().startswith("cosign-vuln of ")
    assert (tmp_path / "work" / "scan-api.sarif").read_text().startswith("sarif of ")


# The grype step, run.

FAKE_GREP_DOCKER = r'''#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[0] == "run":
    sys.exit(int(os.environ["GRYPE_EXIT"]))
if args[0] == "cp":
    source = args[1].split(":", 1)[1]
    with open(args[2], "w") as out:
        out.write(json.dumps({{"from": source}}))
'''


@pytest.mark.parametrize("status", ["0", "1"])
def test_grype_runs_once_with_every_output_and_its_verdict_is_the_steps(tmp_path, status):
    step = _steps(_workflow(GOLDEN / "failing-scan-policy" / "github.yml")["jobs"]["build-strict"])["Scan strict with grype"]
    done = _run(step, tmp_path, _fake(tmp_path, FAKE_GREP_DOCKER), GRYPE_EXIT=status)
    assert str(done.returncode) == status, done.stderr
    calls = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert [call[0] for call in calls] == ["run", "cp", "rm"]
    run = calls[0]
    assert run[run.index("--fail-on") + 1] == "low"
    assert "json=/cache/report.json" in run and calls[1][1].endswith(":/cache/report.json")
    # Report and predicate are kept whatever the verdict: the predicate is grype's own JSON report.
    report = (tmp_path / "work" / "scan-strict.json").read_text()
    assert json.loads(report) == {"from": "/cache/report.json"}
    assert (tmp_path / "temp" / "gen-ci-candidate" / "scan-predicate.json").read_text() == report


def test_grype_report_mode_writes_sarif_from_the_same_run(tmp_path):
    step = _steps(_workflow(GOLDEN / "scan-report-only" / "github.yml")["jobs"]["build-legacy"])["Scan legacy with grype"]
    done = _run(step, tmp_path, _fake(tmp_path, FAKE_GREP_DOCKER), GRYPE_EXIT="0")
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert [call[0] for call in calls] == ["run", "cp", "cp", "rm"] and "--fail-on" not in calls[0]
    assert {"json=/cache/report.json", "sarif=/cache/report.sarif", "table"} <= set(calls[0])


@pytest.mark.parametrize("path", [p for p in GITHUB if "cosign attest" in p.read_text()], ids=lambda p: p.parent.name)
def test_the_scan_attestation_is_typed_by_its_scanner_and_verified_as_that_type(path):
    spec = YAML(typ="safe").load((path.parent / "spec.yml").read_text())
    expected = GRYPE_TYPE if (spec.get("scan") or {}).get("tool", "trivy") == "grype" else "vuln"
    for job_id, job in _workflow(path)["jobs"].items():
        steps = [step for step in job.get("steps", []) if re.search(r"^ *cosign (attest|verify-attestation) ", step.get("run", ""), re.M)]
        for step in steps:
            assert step["env"]["PREDICATE_TYPE"] == expected, job_id
        if steps:
            script = "\n".join(step["run"] for step in steps)
            assert 'cosign attest --yes --type "$PREDICATE_TYPE"' in script
            assert 'cosign verify-attestation "$@" --type "$PREDICATE_TYPE"' in script


@pytest.mark.parametrize("path", [p for p in GITHUB if "publish-gate:" in p.read_text()], ids=lambda p: p.parent.name)
def test_the_publish_job_pushes_the_digest_its_build_job_tested(path):
    workflow = _workflow(path)
    for job_id, job in workflow["jobs"].items():
        if not job_id.startswith("publish-") or job_id == "publish-gate":
            continue
        needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
        steps = _steps(job)
        push = next(step for name, step in steps.items() if name.startswith("Push "))
        downloads = {step["with"]["name"] for step in job["steps"] if "download-artifact" in step.get("uses", "")}
        for name in downloads:
            # Each artifact is the one a job this job waits for uploaded, only on runs that publish.
            (maker,) = [n for n in needs if any(s.get("with", {}).get("name") == name and "upload-artifact" in s.get("uses", "")
                                                 for s in workflow["jobs"][n]["steps"])]
            assert workflow["jobs"][maker]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"
        candidate = push["env"]["CANDIDATE"]
        single = re.fullmatch(r"oci-layout://\$\{\{ runner.temp \}\}/gen-ci-candidates/[\w-]+/layout@\$\{\{ needs\.([\w-]+)\.outputs\.digest \}\}", candidate)
        if single:
            assert single.group(1) in needs and f"candidate-{single.group(1).split('-', 1)[1]}" in downloads
        else:
            assert candidate == "oci-layout://${{ runner.temp }}/gen-ci-index@${{ steps.merge.outputs.digest }}", job_id


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.parent.name)
def test_the_plan_names_jobs_the_workflow_has(path):
    model = compile_spec(path.parent / "spec.yml")[1]
    workflow = _workflow(path)
    for publishing in (False, True):
        named = jobs(model, "github", publishing)
        assert set(named) <= set(workflow["jobs"]), (publishing, set(named) - set(workflow["jobs"]))


def test_the_dind_golden_is_at_most_293_lines():
    """Half of 0.3.0's 586: a reviewer reads the whole workflow in a pull request."""
    assert len((GOLDEN / "github-dind" / "github.yml").read_text().splitlines()) <= 293
