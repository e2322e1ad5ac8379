"""A pull mirror (docker.mirror): where it can route every pull, and images it cannot proxy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.mirror import on_docker_hub, prefix, proxy_variable


def mirror_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC176: a mode whose base images some daemon gen-ci does not start would pull past the mirror."""
    docker = spec["docker"]
    if "mirror" not in docker:
        return
    variable = proxy_variable(docker["mirror"])
    elsewhere = sorted(set(spec["targets"]) - {"gitlab"})
    if variable and elsewhere:
        yield loaded.diagnostic(
            ("docker", "mirror"), "GC176",
            f"${variable} is GitLab's dependency proxy, which only GitLab jobs can reach; the spec also targets {', '.join(elsewhere)}: "
            "name a pull-through cache's host instead (mirror.acme.internal), or target GitLab alone")
    if docker["mode"] == "rootless":
        yield loaded.diagnostic(("docker", "mirror"), "GC176", "docker.mode rootless does not render a pull mirror yet; use docker.mode: dind")
    elif docker["mode"] == "socket" and {"gitlab", "jenkins"} & set(spec["targets"]):
        yield loaded.diagnostic(
            ("docker", "mirror"), "GC176",
            "in socket mode the runner's own daemon pulls the build's base images, by its own daemon.json (registry-mirrors), "
            "which no pipeline sets: use docker.mode: dind, whose daemon gen-ci starts with --registry-mirror")


def mirror_bypassed(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC175: a service or prepare image of a registry other than Docker Hub, not already in the mirror."""
    mirror = spec["docker"].get("mirror")
    if not mirror:
        return
    start = prefix(mirror) + "/"
    fix = ("pull it from Docker Hub (a copy there comes through the proxy), or name a pull-through cache's host as docker.mirror"
           if proxy_variable(mirror) else f"name it in the mirror ({mirror}/...)")
    for index, image in enumerate(spec["images"]):
        named = [(("images", index, "services", number, "image"), service["image"]) for number, service in enumerate(image["services"])]
        if "prepare" in image:
            named.append((("images", index, "prepare", "image"), image["prepare"]["image"]))
        for path, reference in named:
            if not on_docker_hub(reference) and not reference.startswith(start):
                yield loaded.diagnostic(path, "GC175", f"{reference} is not on Docker Hub, which {mirror} proxies, so the job would pull it past the mirror: {fix}")
