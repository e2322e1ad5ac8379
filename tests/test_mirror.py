"""The pull mirror (scenario 32): every image a job pulls comes through docker.mirror, pins kept."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from generator import pins
from generator.fingerprint import split
from generator.mirror import through
from generator.pipeline import render_outputs
from tests.conftest import GOLDEN
from tests.test_errors import _errors, _spec_with

CASE = GOLDEN / "scenario-32-pull-mirror"
MIRROR = "mirror.acme.internal"
# Image references written outside a YAML field of their own: a Dockerfile line, a shell variable.
IN_SHELL = re.compile(r"(?:^|\s)(?:FROM|scanner=|GEN_CI_SERVICE_\d+_IMAGE=)'?(?P<ref>[^\s']+)", re.M)


def _fields(node, key=""):
    """(key, value) of every string in a YAML document."""
    if isinstance(node, dict):
        for name, value in node.items():  # a GitLab variable's value: is named by its variable
            yield from _fields(value, key if name == "value" else str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _fields(item, key)
    elif isinstance(node, str):
        yield key, node


def pulled(text: str, yaml: bool) -> set[str]:
    """Every image reference an output makes a job pull: digest-pinned references anywhere, the
    fields that name an image (image:, services' name:, *_IMAGE variables, BuildKit's image=),
    and images in Dockerfile lines and shell assignments."""
    body = split(text)[1]
    found = {match[0] for match in pins.IN_TEXT.finditer(body)} | {match["ref"] for match in IN_SHELL.finditer(body)}
    if yaml:
        for key, value in _fields(YAML(typ="safe").load(body)):
            if key == "image" or key.endswith("_IMAGE") or (key == "name" and ":" in value and " " not in value):
                found.add(value)
            found |= set(re.findall(r"^image=(\S+)$", value, re.M))
    return found


# Each output, and how many images its jobs pull: the static agent's Jenkinsfile runs the scanner
# and the service on the daemon the agent's Compose file starts.
@pytest.mark.parametrize(("output", "images"), [("github.yml", 5), ("gitlab.yml", 4), ("jenkins_agent.yml", 3), ("Jenkinsfile", 2)])
def test_no_job_names_an_image_outside_the_mirror(output, images):
    text = (CASE / output).read_text(encoding="utf-8")
    found = pulled(text, output.endswith(".yml"))
    assert len(found) == images, found
    assert [ref for ref in found if not ref.startswith(MIRROR + "/")] == []
    if output != "Jenkinsfile":  # the dind daemon's own pulls, the build's base images among them
        assert f"--registry-mirror=https://{MIRROR}" in text


def test_the_pins_hold_through_the_mirror():
    text = (CASE / "gitlab.yml").read_text(encoding="utf-8")
    for name in ("docker-dind", "docker-cli", "trivy"):
        pin = pins.pins()["images"][name]
        assert f"{through(pin['image'], MIRROR)}:{pin['tag']}@{pin['digest']}" in text
    assert f"{MIRROR}/library/docker:29.8.1-dind@{pins.pins()['images']['docker-dind']['digest']}" in text


def test_buildkit_pulls_base_images_through_the_mirror_and_publishing_does_not():
    jobs = YAML(typ="safe").load(split((CASE / "github.yml").read_text(encoding="utf-8"))[1])["jobs"]
    steps = [step for job in jobs.values() for step in job.get("steps", [])]
    (registry,) = [step for step in steps if step.get("id") == "registry"]
    assert registry["env"]["MIRROR"] == MIRROR
    assert "printf '[registry.\"docker.io\"]\\n  mirrors = [\"%s\"]\\n' \"$MIRROR\" >> \"$config\"" in registry["run"]
    gitlab = (CASE / "gitlab.yml").read_text(encoding="utf-8")
    assert "docker.io/acme/shop" in gitlab and f"{MIRROR}/acme/shop" not in gitlab


@pytest.mark.parametrize(("reference", "expected"), [
    ("docker:29.8.1-dind@sha256:" + "a" * 64, f"{MIRROR}/library/docker:29.8.1-dind@sha256:" + "a" * 64),
    ("docker.io/library/redis:7.4.1", f"{MIRROR}/library/redis:7.4.1"),
    ("index.docker.io/acme/tool:1", f"{MIRROR}/acme/tool:1"),
    ("aquasec/trivy:0.74.0", f"{MIRROR}/aquasec/trivy:0.74.0"),
    ("ghcr.io/acme/tool:1", "ghcr.io/acme/tool:1"),
    ("localhost:5000/tool:1", "localhost:5000/tool:1"),
])
def test_docker_hub_names_as_a_mirror_serves_them(reference, expected):
    assert through(reference, MIRROR) == expected


def test_a_service_of_another_registry_is_refused(cli, write_spec):
    spec = _spec_with(f"docker: {{mode: dind, mirror: {MIRROR}}}\n"
                      "images: [{repository: ghcr.io/acme/app, test: 'true', services: [{name: db, image: 'quay.io/acme/db:1.2'}]}]\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC175", "$.images[0].services[0].image")]


def test_a_tool_image_of_another_registry_is_refused_until_the_spec_names_it_in_the_mirror(cli, write_spec):
    base = (f"targets: {{gitlab: .gitlab-ci.yml}}\nrunners: {{gitlab: [dind]}}\ndocker: {{mode: dind, mirror: {MIRROR}}}\n"
            "images: [{publish: [{repository: platform}]}]\n")
    rows = _errors(cli(str(write_spec(_spec_with(base)))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC175", "$.docker.mirror")]
    assert "ghcr.io/sigstore/cosign/cosign" in rows[0]["msg"] and "tool_images" in rows[0]["msg"]
    cosign = pins.pins()["images"]["cosign"]
    given = f"{MIRROR}/sigstore/cosign/cosign:{cosign['tag']}@{cosign['digest']}"
    result = cli(str(write_spec(_spec_with(base + f"tool_images: {{cosign: '{given}'}}\n"))))
    assert result.exit_code == 0, result.stderr
    assert pulled(result.stdout, True) and all(ref.startswith(MIRROR + "/") for ref in pulled(result.stdout, True))


@pytest.mark.parametrize("docker", ["{mode: rootless, mirror: m.acme}", "{mode: socket, mirror: m.acme}"])
def test_modes_whose_pulls_gen_ci_cannot_route_are_refused(cli, write_spec, docker):
    spec = _spec_with(f"targets: {{gitlab: .gitlab-ci.yml}}\nrunners: {{gitlab: [dind]}}\ndocker: {docker}\n"
                      "images: [{publish: [{repository: platform}]}]\npush: {sign: false}\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert ("GC176", "$.docker.mirror") in [(r["code"], r["path"]) for r in rows]


def test_without_a_mirror_nothing_changes(write_spec):
    (_, _, text), = render_outputs(write_spec(_spec_with("docker: {mode: dind}\n")))
    assert "--registry-mirror" not in text and "mirrors = " not in text
    assert f"{pins.pins()['images']['docker-dind']['image']}:{pins.pins()['images']['docker-dind']['tag']}@" in text
