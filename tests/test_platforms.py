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
