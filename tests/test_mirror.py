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


# GitLab's dependency proxy (scenario 32 on GitLab alone): the same routing under the CI variable
# that holds the proxy's prefix, a login for the dind daemon, and the prefix handed to the build.
PROXY_CASE = GOLDEN / "scenario-32-dependency-proxy"
PROXY = "${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}"
PROXY_SPEC = ("targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\n"
              "docker: {mode: dind, mirror: $CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}\npush: {sign: false}\n")


def _named_images(text: str) -> set[str]:
    """What a GitLab output names as an image: image:, services' name:, *_IMAGE variables."""
    found = set()
    for key, value in _fields(YAML(typ="safe").load(split(text)[1])):
        if key == "image" or key.endswith("_IMAGE") or (key == "name" and ":" in value and " " not in value):
            found.add(value)
    return found


def _proxy_jobs() -> dict:
    return YAML(typ="safe").load(split((PROXY_CASE / "gitlab.yml").read_text(encoding="utf-8"))[1])


def test_no_job_names_an_image_outside_the_dependency_proxy():
    text = (PROXY_CASE / "gitlab.yml").read_text(encoding="utf-8")
    named = _named_images(text)
    # The job's client, the dind daemon, the scanner and the test's Redis.
    assert len(named) == 4, named
    assert [ref for ref in named if not ref.startswith(PROXY + "/")] == []
    # No digest-pinned reference anywhere else in the text (scripts, comments) escapes the proxy.
    assert [match[0] for match in pins.IN_TEXT.finditer(split(text)[1])] == []
    assert "--registry-mirror" not in text  # a path on the GitLab host is no registry mirror


def test_the_pins_hold_through_the_dependency_proxy():
    named = _named_images((PROXY_CASE / "gitlab.yml").read_text(encoding="utf-8"))
    for name, short in (("docker-dind", "docker"), ("docker-cli", "docker"), ("trivy", "aquasec/trivy")):
        pin = pins.pins()["images"][name]
        assert f"{PROXY}/{short}:{pin['tag']}@{pin['digest']}" in named
    assert f"{PROXY}/redis:7.4.1-alpine" in named


def test_the_dind_daemon_logs_in_to_the_proxy_before_it_pulls_and_the_password_stays_off_the_command_line():
    jobs = _proxy_jobs()
    login = ('printenv CI_DEPENDENCY_PROXY_PASSWORD | docker login --username "$CI_DEPENDENCY_PROXY_USER" '
             '--password-stdin "$CI_DEPENDENCY_PROXY_SERVER"')
    for name in (".gen-ci-docker", ".gen-ci-shop"):
        steps = jobs[name]["before_script"]
        assert steps.index(login) == 1, name  # right after the daemon answers
        assert all("docker run" not in step and "docker build" not in step for step in steps[:2])
    assert "--password " not in str(jobs) and " -p " not in str(jobs)
    # The service variable GitLab must expand for the prefix is no longer expand: false.
    assert jobs[".gen-ci-shop"]["variables"]["GEN_CI_SERVICE_1_IMAGE"] == f"{PROXY}/redis:7.4.1-alpine"


def test_the_build_gets_the_prefix_and_the_render_says_which_base_images_it_cannot_route():
    notes: list[str] = []
    render_outputs(PROXY_CASE / "spec.yml", warn=notes.append)
    build = [step for step in _proxy_jobs()[".gen-ci-shop"]["before_script"] if "docker build" in step]
    assert len(build) == 1 and '--build-arg GEN_CI_DOCKER_HUB="$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX"' in build[0]
    (note,) = notes
    assert note.startswith(f"{PROXY_CASE / 'spec.yml'}:12:11: note: $.docker.mirror:")
    assert "GEN_CI_DOCKER_HUB" in note and "still comes from Docker Hub" in note


def test_a_named_mirror_draws_no_base_image_note():
    notes: list[str] = []
    render_outputs(CASE / "spec.yml", warn=notes.append)
    assert notes == []


@pytest.mark.parametrize(("reference", "mirror", "expected"), [
    ("docker:29.8.1-dind@sha256:" + "a" * 64, "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", f"{PROXY}/docker:29.8.1-dind@sha256:" + "a" * 64),
    ("docker.io/library/redis:7.4.1", "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", f"{PROXY}/redis:7.4.1"),
    ("aquasec/trivy:0.74.0", "${CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX}", "${CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX}/aquasec/trivy:0.74.0"),
    ("ghcr.io/acme/tool:1", "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", "ghcr.io/acme/tool:1"),
])
def test_docker_hub_names_as_the_dependency_proxy_serves_them(reference, mirror, expected):
    assert through(reference, mirror) == expected


def test_the_dependency_proxy_on_another_target_is_refused(cli, write_spec):
    spec = _spec_with(PROXY_SPEC.replace("targets: {gitlab: .gitlab-ci.yml}", "targets: {gitlab: .gitlab-ci.yml, github: ci.yml}")
                      + "images: [{publish: [{repository: platform}]}]\n")
    rows = _errors(cli(str(write_spec(spec)), "--target", "gitlab"))
    assert [(r["code"], r["path"]) for r in rows] == [("GC176", "$.docker.mirror")]
    assert "github" in rows[0]["msg"] and "GitLab's dependency proxy" in rows[0]["msg"]


def test_a_service_of_another_registry_is_refused_by_the_dependency_proxy(cli, write_spec):
    spec = _spec_with(PROXY_SPEC + "images: [{publish: [{repository: platform}], test: 'true', "
                      "services: [{name: db, image: 'quay.io/acme/db:1.2'}]}]\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC175", "$.images[0].services[0].image")]
    assert "Docker Hub" in rows[0]["msg"]


def test_a_tool_off_docker_hub_is_refused_until_tool_images_names_a_docker_hub_copy(cli, write_spec):
    base = PROXY_SPEC.replace("push: {sign: false}\n", "") + "images: [{publish: [{repository: platform}]}]\n"
    rows = _errors(cli(str(write_spec(_spec_with(base)))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC175", "$.docker.mirror")]
    assert "ghcr.io/sigstore/cosign/cosign" in rows[0]["msg"] and "Docker Hub copy" in rows[0]["msg"]
    cosign = pins.pins()["images"]["cosign"]
    copy = f"docker.io/acme/cosign:{cosign['tag']}@{cosign['digest']}"
    result = cli(str(write_spec(_spec_with(base + f"tool_images: {{cosign: '{copy}'}}\n"))))
    assert result.exit_code == 0, result.stderr
    assert f"{PROXY}/acme/cosign:{cosign['tag']}@{cosign['digest']}" in result.stdout
    assert [ref for ref in _named_images(result.stdout) if not ref.startswith(PROXY + "/")] == []


def test_a_service_variable_that_only_ends_in_image_keeps_its_value_literal(cli, write_spec):
    spec = _spec_with(PROXY_SPEC + "images: [{publish: [{repository: platform}], test: 'true', "
                      "services: [{name: db, image: 'redis:7', env: {base_image: '$HOME'}}]}]\n")
    result = cli(str(write_spec(spec)))
    assert result.exit_code == 0, result.stderr
    variables = YAML(typ="safe").load(split(result.stdout)[1])[".gen-ci-image"]["variables"]
    assert variables["GEN_CI_SERVICE_1_ENV_1_BASE_IMAGE"] == {"value": "$HOME", "expand": False}
    assert variables["GEN_CI_SERVICE_1_IMAGE"] == f"{PROXY}/redis:7"


def test_buildkits_dockerfile_check_reads_from_lines_as_the_build_will(cli, write_spec):
    spec = _spec_with(PROXY_SPEC + "images: [{publish: [{repository: platform}], dockerfile_check: {tool: buildkit}}]\n")
    result = cli(str(write_spec(spec)))
    assert result.exit_code == 0, result.stderr
    (check,) = [line for line in result.stdout.splitlines() if "--call=check" in line]
    assert '--build-arg "GEN_CI_DOCKER_HUB=$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX"' in check


@pytest.mark.parametrize("mirror", ["'${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX'", "$CI_REGISTRY_IMAGE"])
def test_a_misspelt_proxy_variable_is_a_located_error(cli, write_spec, mirror):
    spec = _spec_with(PROXY_SPEC.replace("$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", mirror) + "images: [{publish: [{repository: platform}]}]\n")
    rows = _errors(cli(str(write_spec(spec))))
    assert [r["path"] for r in rows] == ["$.docker.mirror"]
