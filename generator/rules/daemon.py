"""The Docker daemon a job talks to: dind flags dockerd accepts, socket runners, the service daemon's pin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import network_switches

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


def service_daemon_without_digest(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    docker = spec["docker"]
    if "github" in spec["targets"] and docker["mode"] == "dind" and docker["github_daemon"] == "service" and "dind_digest" not in docker:
        yield loaded.diagnostic(
            ("docker", "github_daemon"), "GC111",
            "a service daemon is pulled by the runner before any step, by its reference alone; pin it with docker.dind_digest "
            "(docker buildx imagetools inspect docker:<version>-dind), or use github_daemon: step",
        )
