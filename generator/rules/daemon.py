"""The Docker daemon a job talks to: dind flags dockerd accepts, socket runners, the service daemon's pin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator import pins
from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import network_switches

# The one Docker Engine major line every output runs: daemon, client and the buildx it ships.
ENGINE_LINE = 29

DOCKERD_REFUSAL = (
    "You specified --iptables=false with --icc=false. ICC=false uses iptables to function. "
    "Please set --icc or --iptables to true"
)


def iptables_and_icc_off(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    docker = spec["docker"]
    if network_switches(docker) == (False, False):
        where = ("docker", "icc") if "icc" in docker else ("docker", "iptables")
        yield loaded.diagnostic(
            where,
            "GC101",
            f'dockerd refuses to start with both iptables and icc off ("{DOCKERD_REFUSAL}"); '
            "use network: isolated (--iptables=false --bridge=none: no bridge, so no container-to-container traffic) "
            "or network: icc-off (--icc=false with iptables on), and drop the iptables/icc overrides",
        )


def socket_without_runner_tags(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "gitlab" in spec["targets"] and spec["docker"]["mode"] == "socket" and not spec["runners"]["gitlab"]:
        explicit = "mode" in loaded.data.get("docker", {})
        yield loaded.diagnostic(
            ("docker", "mode") if explicit else ("targets", "gitlab"), "GC107",
            "socket mode on GitLab needs runners whose config.toml binds /var/run/docker.sock; "
            "set runners.gitlab to the tags that select them (see docs/docker.md, socket mode)",
        )


def tool_image_unpinned(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Every engine and builder image runs by digest: gen-ci's own pin, or the spec's (GC172)."""
    docker, written = spec["docker"], loaded.data.get("docker", {})
    version, pinned = docker["version"], pins.image_tag("docker-dind").removesuffix("-dind")
    needed = [key for key, used in (("dind_digest", docker["mode"] == "dind"), ("cli_digest", bool({"gitlab", "jenkins"} & set(spec["targets"])))) if used]
    if "version" not in written:
        # A digest names one version's image; with the default version it would pin another engine.
        for key in ("dind_digest", "cli_digest"):
            if key in written:
                yield loaded.diagnostic(
                    ("docker", key), "GC172",
                    f"a digest pins one version's image, and no docker.version says which; gen-ci pins Docker {pinned} "
                    f"by digest already: remove docker.{key}, or write the version it belongs to as docker.version",
                )
    elif version != pinned:
        if int(version.split(".")[0]) < ENGINE_LINE:
            yield loaded.diagnostic(
                ("docker", "version"), "GC172",
                f"Docker {version} is not the engine line gen-ci renders ({ENGINE_LINE}.x); remove docker.version to use {pinned}, "
                f"which gen-ci pins by digest, or name a {ENGINE_LINE}.x release with its digests",
            )
        elif missing := [key for key in needed if key not in docker]:
            yield loaded.diagnostic(
                ("docker", "version"), "GC172",
                f"gen-ci pins Docker {pinned} by digest, not {version}: add docker.{' and docker.'.join(missing)} "
                f"(gen-ci pins resolve docker:{version}-{'dind' if missing[0] == 'dind_digest' else 'cli'} prints one), or remove docker.version",
            )
    if docker["buildkit"] != pins.image_tag("buildkit"):
        yield loaded.diagnostic(
            ("docker", "buildkit"), "GC172",
            f"gen-ci pins moby/buildkit {pins.image_tag('buildkit')} by digest, not {docker['buildkit']}; remove docker.buildkit",
        )
