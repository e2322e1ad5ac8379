"""Scenarios 16 to 24 (../shared/reference/scenarios.md): `gen-ci plan` prints exactly the
references each lists, per event and platform. The agreement test proves the rendered files
publish the same; this file holds the scenarios' own words."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, invoke

SHA = "0123456789abcdef0123456789abcdef01234567"

SCENARIOS = {
    "scenario-16-short-sha": {
        ("github", "push:main"): ["ghcr.io/acme/app:main", "ghcr.io/acme/app:main-0123456", "ghcr.io/acme/app:sha-0123456"],
        ("github", "tag:v1.4.2"): ["ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:sha-0123456"],
        ("github", "pr:main"): [],
    },
    "scenario-17-keep-v": {
        ("github", "tag:v1.4.2"): ["docker.io/acme/app:v1.4.2", "docker.io/acme/app:v1.4", "docker.io/acme/app:v1", "docker.io/acme/app:latest"],
        ("github", "tag:v2.0.0-rc.1"): ["docker.io/acme/app:v2.0.0-rc.1"],
    },
    "scenario-18-fixed-tags": {
        (platform, event): refs
        for platform in ("github", "gitlab")
        for event, refs in (("push:main", ["platform:latest"]), ("schedule:main", ["platform:nightly"]),
                            ("manual:main", ["platform:stable"]), ("push:dev", []), ("pr:main", []))
    },
    "scenario-19-calver": {
        ("github", "release:2026.07.2"): ["ghcr.io/acme/app:2026.07.2", "ghcr.io/acme/app:2026.07", "ghcr.io/acme/app:latest"],
        ("github", "release:2026.08.0-beta1"): ["ghcr.io/acme/app:2026.08.0-beta1"],
    },
    "scenario-20-version-file": {
        ("github", "push:main"): ["ghcr.io/acme/app:3.2.1", "ghcr.io/acme/app:3.2", "ghcr.io/acme/app:latest"],
        ("github", "pr:main"): [],
    },
    "scenario-22-own-registry-images": {
        ("github", "push:main"): ["platform/api:main", "platform/docs:main", "platform/worker:main"],
        ("gitlab", "push:main"): ["platform/api:main", "platform/docs:main", "platform/worker:main"],
    },
    "scenario-23-release-only": {
        ("github", "tag:v1.4.2"): [],
        ("github", "release:v1.4.2"): ["ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:1.4", "ghcr.io/acme/app:1", "ghcr.io/acme/app:latest"],
    },
}
CASES = [(golden, platform, event, refs) for golden, runs in SCENARIOS.items() for (platform, event), refs in runs.items()]


@pytest.mark.parametrize(("golden", "platform", "event", "expected"), CASES, ids=[f"{g}-{p}-{e}" for g, p, e, _ in CASES])
def test_plan_prints_what_the_scenario_lists(golden, platform, event, expected):
    spec = ROOT / "golden" / golden / "spec.yml"
    result = invoke("plan", str(spec), "--platform", platform, "--event", event, "--sha", SHA, "--released", "v0.0.1")
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(expected)


def test_every_scenario_is_a_golden():
    assert all((ROOT / "golden" / golden / "spec.yml").is_file() for golden in SCENARIOS)
