"""Golden outputs are the tool's own output, compared byte for byte."""

from __future__ import annotations

import pytest

from generator.pipeline import generate
from tests.conftest import GOLDEN, ROOT, output_name

CASES = sorted(p.parent.name for p in GOLDEN.glob("*/spec.yml"))


def _targets(case: str) -> list[str]:
    from generator.loading import load_spec

    return sorted(load_spec(GOLDEN / case / "spec.yml").data["targets"])


@pytest.mark.parametrize("case", CASES)
def test_golden_matches_fresh_render(case, monkeypatch):
    monkeypatch.chdir(ROOT)
    for platform in _targets(case):
        _, _, text = generate(f"golden/{case}/spec.yml", platform)
        expected = (GOLDEN / case / output_name(platform)).read_text(encoding="utf-8")
        assert text == expected, f"golden/{case}/{output_name(platform)} is stale: run `python -m generator.golden`"


@pytest.mark.parametrize("case", CASES)
def test_templates_write_canonical_text_by_construction(case, monkeypatch):
    """At run time a render is only parsed (libyaml); the canonical emitter would change nothing."""
    from generator.emitting import canonical
    from generator.fingerprint import split

    monkeypatch.chdir(ROOT)
    for platform in set(_targets(case)) - {"jenkins"}:  # a Jenkinsfile is Groovy: see test_jenkins
        _, body = split(generate(f"golden/{case}/spec.yml", platform)[2])
        assert canonical(body) == body, f"golden/{case}/{platform}.yml: the templates wrote text the emitter would rewrite"


@pytest.mark.parametrize("case", CASES)
def test_no_output_without_a_target(case):
    # A golden is a checkout's root: the spec, its outputs, and a version file the spec reads
    # (and, scenario 28, the hand-written files that combine with the outputs: tests/test_combining.py).
    # Scenario 34 keeps `gen-ci policy`'s two dialects beside its outputs: tests/test_policy.py.
    outputs = {p.name for p in (GOLDEN / case).iterdir()} - {"spec.yml", "VERSION", "hand-written", "policy-sigstore.yml", "policy-kyverno.yml"}
    assert outputs == {output_name(platform) for platform in _targets(case)}


def test_golden_cases_cover_every_mode_platform_and_profile():
    from generator.pipeline import compile_spec

    seen = set()
    for case in CASES:
        _, model = compile_spec(GOLDEN / case / "spec.yml")
        profile = model.docker.daemon_flags if model.docker.mode == "dind" else ()
        network = "isolated" if "--bridge=none" in profile else "icc-off" if "--icc=false" in profile else "-"
        for platform in model.targets:
            seen.add((platform, model.docker.mode, network))
            if len(model.images) > 1:
                seen.add((platform, "monorepo"))
            if any(len(i.platforms) > 1 for i in model.images) and model.push.tags and model.scan.tool != "none":
                seen.add((platform, "multi-platform release"))
            if model.scan.fail_on == "low":
                seen.add((platform, "strict scan"))
    for platform in ("github", "gitlab"):
        assert (platform, "dind", "isolated") in seen
        assert (platform, "dind", "icc-off") in seen
        assert (platform, "monorepo") in seen
        assert (platform, "strict scan") in seen
    assert ("github", "socket", "-") in seen and ("gitlab", "socket", "-") in seen
    assert ("github", "multi-platform release") in seen
    for platform in ("jenkins", "jenkins_agent"):
        assert (platform, "dind", "isolated") in seen and (platform, "socket", "-") in seen


SCENARIOS = {  # scenarios.md number -> targets its golden renders (where the platform can)
    "scenario-01-two-registries": {"github"},
    "scenario-02-nightly": {"github", "gitlab"},
    "scenario-03-variants": {"github", "gitlab"},
    "scenario-05-gitlab-registries": {"gitlab"},
    "scenario-08-build-metadata": {"github", "gitlab"},
    "scenario-09-release-events": {"github", "gitlab"},
    "scenario-14-build-secrets": {"github", "gitlab"},
    "scenario-15-fork-safety": {"github", "gitlab"},
    "scan-reports": {"github", "gitlab"},  # scenario 11's reports (signing and attestations are still to come)
    "scan-report-only": {"github"},
}


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_release_model_scenarios_are_goldens(case):
    assert case in CASES and set(_targets(case)) == SCENARIOS[case]
