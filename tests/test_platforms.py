"""Multi-platform builds on GitHub: QEMU is set up, from a pinned image, for exactly the platforms
the runner does not run natively."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests.conftest import golden_outputs
from tests.test_errors import _spec_with


def _qemu_steps(text: str) -> list[dict]:
    workflow = YAML(typ="safe").load(text)
    return [step for job in workflow["jobs"].values() for step in job["steps"] if "setup-qemu-action" in step.get("uses", "")]


@pytest.mark.parametrize(("runners", "platforms", "emulated"), [
    ("[ubuntu-24.04]", "[linux/amd64]", None),
    ("[ubuntu-24.04]", "[linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6]", "arm64,arm"),
    ("[ubuntu-24.04-arm]", "[linux/arm64]", None),
    ("[ubuntu-24.04-arm]", "[linux/arm64, linux/amd64]", "amd64"),
    ("[self-hosted, linux]", "[linux/s390x]", "s390x"),
])
def test_qemu_for_exactly_the_platforms_the_runner_lacks(tmp_path, runners, platforms, emulated):
    spec = tmp_path / "spec.yml"
    spec.write_text(_spec_with(f"runners: {{github: {runners}}}\nimages: [{{repository: ghcr.io/acme/app, platforms: {platforms}}}]\n"))
    steps = _qemu_steps(generate(spec, "github")[2])
    if emulated is None:
        assert steps == []
    else:
        assert steps and all(step["with"]["platforms"] == emulated for step in steps)


@pytest.mark.parametrize("path", golden_outputs("github"), ids=lambda p: p.parent.name)
def test_qemu_image_is_pinned_by_digest_and_never_cached(path):
    for step in _qemu_steps(path.read_text()):
        image = step["with"]["image"]
        assert "@sha256:" in image and ":latest" not in image
        assert step["with"]["cache-image"] is False  # a shared cache entry a release job would restore




def _step(name_prefix: str) -> dict:
    from tests.conftest import GOLDEN

    workflow = YAML(typ="safe").load((GOLDEN / "multi-platform-release" / "github.yml").read_text())
    return next(step for step in workflow["jobs"]["release-cli"]["steps"] if step["name"].startswith(name_prefix))


def _run_with_fake_docker(tmp_path, step: dict, failing_platform: str = "") -> tuple[int, list[str]]:
    import os
    import subprocess

    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    # Records each call; the scanner "finds" something only on failing_platform.
    (fake / "docker").write_text(
        '#!/bin/sh\necho "$*" >> "$LOG"\n'
        'case "$*" in *"--exit-code 1"*"--platform $FAILING"*|*"--platform $FAILING"*"--exit-code 1"*) [ -n "$FAILING" ] && exit 1 ;; esac\nexit 0\n'
    )
    (fake / "docker").chmod(0o755)
    env = {**{k: str(v) for k, v in step["env"].items()}, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
           "LOG": str(tmp_path / "log"), "FAILING": failing_platform, "GEN_CI_NAME": "gen-ci-1-1-release-cli"}
    env["CANDIDATE"] = "localhost:5000/cli@sha256:" + "e" * 64
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=env, cwd=tmp_path, capture_output=True, text=True)
    return done.returncode, (tmp_path / "log").read_text().splitlines()


def test_the_test_script_runs_on_every_platform(tmp_path):
    status, calls = _run_with_fake_docker(tmp_path, _step("Test cli"))
    runs = [call for call in calls if call.startswith("run ")]
    assert status == 0 and [call.split("--platform ")[1].split()[0] for call in runs] == ["linux/amd64", "linux/arm64"]


@pytest.mark.parametrize("failing", ["linux/amd64", "linux/arm64"])
def test_the_scan_gate_fails_on_any_platform(tmp_path, failing):
    status, calls = _run_with_fake_docker(tmp_path, _step("Scan cli"), failing)
    assert status != 0
    gates = [call for call in calls if "--exit-code 1" in call]
    assert gates and failing in gates[-1]


def test_the_scan_gate_checks_every_platform(tmp_path):
    status, calls = _run_with_fake_docker(tmp_path, _step("Scan cli"))
    gates = [call for call in calls if "--exit-code 1" in call]
    assert status == 0 and ["linux/amd64" in gates[0], "linux/arm64" in gates[1]] == [True, True] and len(gates) == 2
