"""What a rendering target cannot do: rootless mode and Jenkins."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.jenkins import schedule_branch
from generator.loading import LoadedSpec
from generator.model import is_own, registry_host
from generator.rules.common import registry_entries


def rootless_limits(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """What rootless mode (no daemon, no privilege) cannot do, each refused where it is written."""
    if spec["docker"]["mode"] != "rootless":
        return
    why = "docker.mode rootless"
    raw_docker = loaded.data.get("docker", {})
    for key in ("dind_digest", "storage_driver", "network", "iptables", "icc", "mtu", "bip", "github_daemon"):
        if key in raw_docker:
            yield loaded.diagnostic(("docker", key), "GC130", f"docker.{key} configures a privileged daemon, which {why} does not run; remove it")
    if "github" in spec["targets"]:
        yield loaded.diagnostic(
            ("docker", "mode"), "GC130",
            f"{why} renders GitLab jobs only: GitHub-hosted runners have a Docker daemon (use mode: socket), and rootless "
            "jobs on self-hosted container runners are not rendered yet",
        )
    if spec["scan"]["tool"] == "grype":
        yield loaded.diagnostic(("scan", "tool"), "GC130", f"{why} runs the scanner as the job's image, and grype's image has no shell; use tool: trivy")
    for index, image in enumerate(spec["images"]):
        where = ("images", index)
        yield from _registry_tags(image, where, "GC130", why, loaded)
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic((*where, "platforms"), "GC130", f"{why} builds one platform per image: emulation needs a privileged binfmt set-up; use mode: dind for multi-platform images")
        if image["services"]:
            yield loaded.diagnostic((*where, "services"), "GC130", f"{why} has no daemon to start services beside the test; use mode: dind or socket for tests that need services")
        if "checkout_tests" in image:
            yield loaded.diagnostic(
                (*where, "checkout_tests"), "GC130",
                f"{why} has no daemon to run the candidate beside compose files and scripts; use mode: dind or socket, or test inside the image with test",
            )
        if "prepare" in image:
            yield loaded.diagnostic((*where, "prepare"), "GC130", f"{why} has no daemon to run the prepare image; use mode: dind or socket")
        if image["cache"] == "registry":
            yield loaded.diagnostic((*where, "cache"), "GC130", f"{why} builds without registry credentials in the build job, so it cannot write a registry cache; use cache: none")
    for entry, repository_at, auth_at in registry_entries(spec):
        if entry.get("auth") == "oidc":
            yield loaded.diagnostic(auth_at, "GC130", f"{why} has no AWS CLI beside the copy tool to trade the OIDC token for ECR credentials; use auth: secrets")


def _registry_tags(image: dict[str, Any], where: tuple[str | int, ...], code: str, why: str, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for number, entry in enumerate(image.get("publish", [])):
        if "tags" in entry:
            yield loaded.diagnostic((*where, "publish", number, "tags"), code,
                                    f"{why} publishes one set of tags to every registry of an image; move these rules to the image's tags")


def jenkins_limits(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """What the Jenkins target does not render, each refused where it is written."""
    if "jenkins" not in spec["targets"]:
        return
    why = "the Jenkins target"
    mode = spec["docker"]["mode"]
    if mode == "rootless":
        yield loaded.diagnostic(("docker", "mode"), "GC131", f"{why} renders socket and dind modes; rootless BuildKit jobs are GitLab-only")
    if mode == "socket" and spec["jenkins"]["agent"] == "kubernetes":
        yield loaded.diagnostic(
            ("jenkins", "agent"), "GC131",
            "Kubernetes agents get no host Docker socket from gen-ci (a hostPath socket hands every build the node's root); "
            "use docker.mode dind, whose pod runs a TLS-only DinD sidecar",
        )
    # Left at its default, sign applies to the spec's other targets and Jenkins publishes unsigned.
    if spec["push"]["sign"] and "sign" in loaded.data.get("push", {}):
        yield loaded.diagnostic(
            ("push", "sign"), "GC131",
            f"{why} cannot sign keyless: Jenkins gives builds no OIDC identity for Sigstore; remove sign "
            "(GitHub and GitLab outputs of this spec still sign by default), or render Jenkins from a spec of its own",
        )
    if isinstance(spec["triggers"]["pull_requests"], list):
        yield loaded.diagnostic(
            ("triggers", "pull_requests"), "GC131",
            f"{why} builds the change requests its branch source discovers, whatever their target; filter targets in the "
            "job's branch source (Discover pull requests), and write pull_requests: true",
        )
    for index, image in enumerate(spec["images"]):
        where = ("images", index)
        yield from _registry_tags(image, where, "GC131", why, loaded)
        for key in ("history", "variables", "version_file"):
            if key in image.get("prepare", {}):
                yield loaded.diagnostic(
                    (*where, "prepare", key), "GC131",
                    f"{why} renders the prepare step without history, CI variables or a version file; render it for GitHub or GitLab",
                )
        if "checkout_tests" in image:
            yield loaded.diagnostic(
                (*where, "checkout_tests"), "GC131",
                f"{why} runs the test inside the image only; run compose files and scripts in a stage of your own after gen-ci's, or render them for GitHub or GitLab",
            )
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic((*where, "platforms"), "GC131", f"{why} builds one platform per image; list one platform, or build multi-platform images on GitHub or GitLab")
        if image.get("paths"):
            yield loaded.diagnostic(
                (*where, "paths"), "GC131",
                f"{why} builds every image on every run: Jenkins' changeset condition compares with the previous build, not the "
                "target branch, so it cannot honour paths; remove paths, or render Jenkins from a spec of its own",
            )
        if image["cache"] in ("registry", "gha"):
            yield loaded.diagnostic((*where, "cache"), "GC131", f"{why} builds with the agent daemon's own layer cache; use cache: auto or none")
    if spec["triggers"]["schedule"] and schedule_branch(spec["triggers"]["branches"], spec["push"]) is None:
        publishing = "schedule" in spec["push"]["events"]
        yield loaded.diagnostic(
            ("triggers", "schedule"), "GC131",
            f"{why} keeps a schedule on one branch job, named exactly (no * or +), that triggers.branches reaches"
            + (" and push.branches lists, since schedules publish" if publishing else "") + "; name such a branch",
        )
    if spec["shared_paths"]:
        yield loaded.diagnostic(("shared_paths",), "GC131", f"{why} builds every image on every run, so shared_paths has no effect there; remove it")
    for entry, repository_at, auth_at in registry_entries(spec):
        if is_own(entry["repository"]):
            yield loaded.diagnostic(repository_at, "GC131", f"{why} has no registry of its own; name the repository with its host")
        elif entry.get("auth") == "oidc":
            yield loaded.diagnostic(auth_at, "GC131", f"{why} logs in with Jenkins credentials (jenkins.credentials); use auth: secrets")


def jenkins_settings_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    targets, jenkins = spec["targets"], spec["jenkins"]
    if "jenkins_agent" in targets and "jenkins" not in targets:
        yield loaded.diagnostic(("targets", "jenkins_agent"), "GC132", "the agent runtime serves the Jenkinsfile's builds; add targets.jenkins (for example Jenkinsfile)", key=True)
    if "jenkins_agent" in targets and jenkins["agent"] == "kubernetes":
        yield loaded.diagnostic(
            ("targets", "jenkins_agent"), "GC132",
            "Kubernetes agents carry their pod (DinD sidecar included) inside the Jenkinsfile; remove targets.jenkins_agent", key=True,
        )
    if "jenkins" not in targets and "jenkins" in loaded.data:
        yield loaded.diagnostic(("jenkins",), "GC132", "jenkins settings apply to targets.jenkins, which this spec does not render; add it or remove them", key=True)
        return
    hosts = {registry_host(entry["repository"]) for entry, _, _ in registry_entries(spec) if not is_own(entry["repository"])}
    for host in jenkins["credentials"]:
        if host not in hosts:
            hint = difflib.get_close_matches(host, sorted(hosts), n=1)
            named = f"; did you mean {hint[0]}?" if hint else f" (they publish to {', '.join(sorted(hosts)) or 'none'})"
            yield loaded.diagnostic(("jenkins", "credentials", host), "GC132", f"no image publishes to {host}{named}", key=True)
    if jenkins["agent"] == "kubernetes" and "label" in loaded.data.get("jenkins", {}):
        yield loaded.diagnostic(("jenkins", "label"), "GC132", "Kubernetes agents are the build's own pod, chosen by no label; remove label")
    if "controller_url" in jenkins and "jenkins_agent" not in targets:
        yield loaded.diagnostic(("jenkins", "controller_url"), "GC132", "controller_url is where the rendered agent runtime connects; add targets.jenkins_agent or remove it")
