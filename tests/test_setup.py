"""gen-ci setup names everything a spec's outputs read from the platform, for every golden."""

from __future__ import annotations

import pytest

from generator.pipeline import compile_spec
from tests.conftest import GOLDEN, invoke

SPECS = sorted(GOLDEN.glob("*/spec.yml"))


def _needs(spec) -> set[str]:
    """Every name an output of this spec reads from the platform's settings."""
    _, model = compile_spec(spec)
    names = set()
    for image in model.images:
        names |= set(image.secrets.values())
        for registry in image.registries:
            names |= {name for name in (registry.username, registry.password, registry.aws_role) if name}
    names |= {name for name in (model.push.environment, model.push.build_environment) if name}
    if "jenkins" in model.targets:
        names |= set(model.jenkins.credentials.values())
    if "gitlab" in model.targets:
        names |= set(model.runners["gitlab"]) | set(model.triggers["schedule"])
    return names


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_setup_names_every_secret_variable_and_environment(spec):
    result = invoke("setup", str(spec))
    assert result.exit_code == 0, result.stderr
    for name in _needs(spec):
        assert f"`{name}`" in result.stdout or name in result.stdout.split(), (name, result.stdout)


def test_setup_reaches_every_kind_of_need():
    kinds = set()
    for spec in SPECS:
        text = invoke("setup", str(spec)).stdout
        kinds |= {word for word in ("Environment secrets", "CI/CD variables", "Protected branches", "Rulesets", "AWS: an OIDC",
                                    "Package access", "Username/password credentials", "pipeline schedule", "Secret text") if word in text}
    assert len(kinds) == 9, kinds


def test_an_invalid_spec_gets_its_located_errors(write_spec):
    result = invoke("setup", str(write_spec("version: 1\nname: x\ntargets: {github: ci.yml}\nimages: [{repository: ghcr.io/a/b, cache: gah}]\n")))
    assert result.exit_code == 2 and "error[GC012]" in result.stderr


def test_build_secrets_are_asked_for_only_where_a_job_builds_with_them():
    """Publish jobs push the tested image and build nothing, so only the build environment needs the secret."""
    spec = GOLDEN / "scenario-14-build-secrets" / "spec.yml"
    _, model = compile_spec(spec)
    text = invoke("setup", str(spec)).stdout
    (line,) = [line for line in text.splitlines() if "Environment secret `" in line and "a BuildKit secret of" in line]
    assert f"`{model.push.build_environment}`" in line and f"`{model.push.environment}`" not in line
