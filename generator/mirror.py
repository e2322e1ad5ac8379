"""A pull mirror (docker.mirror): every Docker Hub image a job pulls, by the name a pull-through
cache of Docker Hub serves it under, its tag and digest kept.

A Docker Hub mirror answers at its root for Docker Hub's own paths, as dockerd's --registry-mirror
and BuildKit's mirrors read it: official images under library/, so docker:29.8.1-dind is
mirror.acme.internal/library/docker:29.8.1-dind. Images of other registries are not Docker Hub's
to proxy; the rules and the render refuse them (GC175) rather than let a job pull past the mirror.
"""

from __future__ import annotations

import re

from generator import pins

DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def registry_of(reference: str) -> str:
    """The registry host a reference names; Docker Hub's when its first part is no host."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def on_docker_hub(reference: str) -> bool:
    return registry_of(reference) in DOCKER_HUB_HOSTS


def through(reference: str, mirror: str | None) -> str:
    """reference as pulled through mirror (unchanged without one, or off Docker Hub)."""
    if not mirror or not on_docker_hub(reference):
        return reference
    first, slash, rest = reference.partition("/")
    path = rest if slash and first in DOCKER_HUB_HOSTS else reference
    name = re.split(r"[:@]", path, maxsplit=1)[0]
    return f"{mirror}/{path if '/' in name else 'library/' + path}"


def bypassing(text: str, mirror: str) -> list[str]:
    """The digest-pinned image references in an output that do not come through mirror."""
    return sorted({match[0] for match in pins.IN_TEXT.finditer(text) if not match[0].startswith(mirror + "/")})
