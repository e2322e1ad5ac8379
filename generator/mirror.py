"""A pull mirror (docker.mirror): every Docker Hub image a job pulls, by the name a pull-through
cache of Docker Hub serves it under, its tag and digest kept.

A named mirror host answers at its root for Docker Hub's own paths, as dockerd's --registry-mirror
and BuildKit's mirrors read it: official images under library/, so docker:29.8.1-dind is
mirror.acme.internal/library/docker:29.8.1-dind. GitLab's dependency proxy is spelled by the CI
variable that holds its group prefix ($CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX, or the DIRECT_ one
for a subgroup), which no host name can be; official images go under it by their short name
(${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/docker:29.8.1-dind), the proxy taking library/ as implied.
Images of other registries are not Docker Hub's to proxy; the rules and the render refuse them
(GC175) rather than let a job pull past the mirror.
"""

from __future__ import annotations

import re

from generator import pins

DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
PROXY_VARIABLES = ("CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", "CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX")
# The build arg that carries the dependency proxy's prefix to a Dockerfile's FROM lines.
BASE_ARG = "GEN_CI_DOCKER_HUB"


def registry_of(reference: str) -> str:
    """The registry host a reference names; Docker Hub's when its first part is no host."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def on_docker_hub(reference: str) -> bool:
    return registry_of(reference) in DOCKER_HUB_HOSTS


def proxy_variable(mirror: str | None) -> str | None:
    """The GitLab variable holding the dependency proxy's prefix, when mirror names the proxy."""
    if mirror and mirror.startswith("$"):
        return mirror.strip("${}")
    return None


def prefix(mirror: str) -> str:
    """What every reference through mirror starts with: its host, or the proxy's ${VARIABLE}, which
    GitLab expands in image:, services: and variables."""
    variable = proxy_variable(mirror)
    return f"${{{variable}}}" if variable else mirror


def through(reference: str, mirror: str | None) -> str:
    """reference as pulled through mirror (unchanged without one, or off Docker Hub)."""
    if not mirror or not on_docker_hub(reference):
        return reference
    first, slash, rest = reference.partition("/")
    path = rest if slash and first in DOCKER_HUB_HOSTS else reference
    name = re.split(r"[:@]", path, maxsplit=1)[0]
    if proxy_variable(mirror):
        return f"{prefix(mirror)}/{path.removeprefix('library/')}"
    return f"{mirror}/{path if '/' in name else 'library/' + path}"


def bypassing(text: str, mirror: str) -> list[str]:
    """The digest-pinned image references in an output that do not come through mirror."""
    start = prefix(mirror) + "/"
    return sorted({match[0] for match in pins.IN_TEXT.finditer(text) if not match[0].startswith(start)})


def base_image_note(mirror: str | None) -> str | None:
    """What the dependency proxy cannot do for the build's base images, said on every render."""
    variable = proxy_variable(mirror)
    if not variable:
        return None
    return (f"the build passes ${variable} as the build arg {BASE_ARG}: a FROM line reads it "
            f"(ARG {BASE_ARG}=docker.io, then FROM ${{{BASE_ARG}}}/library/python:3.13) to pull its base image "
            "through the dependency proxy; a base image named plainly in FROM still comes from Docker Hub, "
            "since dockerd's --registry-mirror takes a host, not the proxy's path")
