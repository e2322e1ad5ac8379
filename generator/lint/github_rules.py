"""Lint rules for GitHub Actions workflows: the Docker hazards general workflow linters do not cover.

zizmor and actionlint audit expressions, permissions and pinning; these read what a job does with
Docker: daemon flags, TLS, BuildKit pins, scans before pushes, and the job container's privileges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.lint.document import PipelineFile, line_of
from generator.lint.findings import PUSHES, Finding, Rule, joined

DAEMON_FLAGS = re.compile(r"(^|\s)--(storage-driver|iptables|icc|bip|mtu|tls\w*|host|bridge|insecure-registry|registry-mirror|data-root)\b")
SCANNERS = re.compile(r"\b(trivy|grype|snyk\s+container|docker\s+scout|anchore)\b", re.IGNORECASE)
SCAN_ACTIONS = ("aquasecurity/trivy-action", "anchore/scan-action", "docker/scout-action", "snyk/actions", "crazy-max/ghaction-container-scan")


def _jobs(pipeline: PipelineFile) -> Iterator[tuple[str, dict[str, Any]]]:
    jobs = pipeline.root.get("jobs")
    for name, job in (jobs.items() if isinstance(jobs, dict) else []):
        if isinstance(job, dict):
            yield str(name), job


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps")
    return [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else []


def _dind_services(job: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    services = job.get("services")
    for name, service in (services.items() if isinstance(services, dict) else []):
        if isinstance(service, dict) and "dind" in str(service.get("image", "")).rsplit("/", 1)[-1]:
            yield str(name), service


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value or "")


def dind_flags_in_service_options(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        for service_name, service in _dind_services(job):
            flags = DAEMON_FLAGS.findall(_text(service.get("options")))
            if flags:
                listed = ", ".join(sorted({f"--{flag[1]}" for flag in flags}))
                yield rule.finding(
                    pipeline, line_of(service, "options"),
                    f"{name}: services.{service_name}.options holds daemon flags ({listed}); options are docker create options, so "
                    "dockerd never sees them (or the service fails to start). Put daemon flags in the service's command:, or start "
                    "the daemon in a step",
                )


def iptables_and_icc_off(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        places = [
            (service, "options" if "options" in service else "command", _text(service.get("command")) + " " + _text(service.get("options")))
            for _, service in _dind_services(job)
        ]
        places += [(step, "run", joined(str(step["run"]))) for step in _steps(job) if "dind" in str(step.get("run", ""))]
        for holder, key, text in places:
            if re.search(r"--iptables[= ]false", text) and re.search(r"--icc[= ]false", text):
                yield rule.finding(
                    pipeline, line_of(holder, key),
                    f"{name}: dockerd refuses to start with --iptables=false and --icc=false together; use --iptables=false "
                    "--bridge=none, or --icc=false with iptables on",
                )


def dind_without_tls(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        for service_name, service in _dind_services(job):
            env = service.get("env") if isinstance(service.get("env"), dict) else {}
            ports = _text(service.get("ports"))
            if env.get("DOCKER_TLS_CERTDIR", "/certs") in ("", None) or re.search(r"(^|\D)2375(\D|$)", ports):
                empty = "DOCKER_TLS_CERTDIR" in env and env["DOCKER_TLS_CERTDIR"] in ("", None)
                yield rule.finding(
                    pipeline, line_of(env, "DOCKER_TLS_CERTDIR") if empty else line_of(service, "ports"),
                    f"{name}: the dind service {service_name} serves plain TCP (DOCKER_TLS_CERTDIR empty, or port 2375), so anything "
                    "that reaches it owns the daemon; keep DOCKER_TLS_CERTDIR=/certs and use port 2376 with the client certificates",
                )
        for step in _steps(job):
            run = joined(str(step.get("run", "")))
            if "dind" in run and re.search(r"DOCKER_TLS_CERTDIR=(\"\"|''|\s|$)|:2375\b", run):
                yield rule.finding(
                    pipeline, line_of(step, "run"),
                    f"{name}: this step starts a dind daemon without TLS (DOCKER_TLS_CERTDIR empty, or port 2375); keep "
                    "DOCKER_TLS_CERTDIR=/certs and connect on 2376 with the client certificates",
                )
        env = job.get("env") if isinstance(job.get("env"), dict) else {}
        if re.search(r":2375\b", str(env.get("DOCKER_HOST", ""))):
            yield rule.finding(pipeline, line_of(env, "DOCKER_HOST"), f"{name}: DOCKER_HOST names the plain-TCP port 2375; use 2376 with TLS")


def unpinned_buildkit(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        for step in _steps(job):
            uses = str(step.get("uses", ""))
            inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
            if uses.startswith("docker/setup-buildx-action") and str(inputs.get("version", "")).strip() == "latest":
                yield rule.finding(pipeline, line_of(inputs, "version"), f"{name}: setup-buildx version: latest installs whatever buildx is newest on each run; pin a version (e.g. v0.36.1)")
            texts = [(inputs, "driver-opts", _text(inputs.get("driver-opts"))), (step, "run", str(step.get("run", "")))]
            for holder, key, text in texts:
                for image in re.findall(r"moby/buildkit(?::([\w.-]+))?(?:@sha256:[0-9a-f]{64})?", text):
                    if image in ("", "latest", "master", "buildx-stable-1", "stable"):
                        yield rule.finding(
                            pipeline, line_of(holder, key),
                            f"{name}: moby/buildkit{':' + image if image else ''} moves under the build; pin a release (e.g. moby/buildkit:v0.32.2)",
                        )


def _pushes(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
    if uses.startswith("docker/build-push-action") and str(inputs.get("push", "false")).lower() == "true":
        # Pushing to a job-local candidate registry (to test and scan that digest) is not publishing.
        tags = [tag.strip() for tag in re.split(r"[\n,]", _text(inputs.get("tags"))) if tag.strip()]
        return not tags or any(not tag.startswith(("localhost", "127.0.0.1", "${{")) for tag in tags)
    return bool(PUSHES.search(joined(str(step.get("run", "")))))


def _scans(step: dict[str, Any]) -> bool:
    env = step.get("env") if isinstance(step.get("env"), dict) else {}
    said = " ".join([str(step.get("name", "")), str(step.get("run", "")), *map(str, env.values())])
    return str(step.get("uses", "")).startswith(SCAN_ACTIONS) or bool(SCANNERS.search(said))


def _scanned_before(name: str, jobs: dict[str, dict[str, Any]], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a job this one needs (directly or not) scans: its output is what this job publishes."""
    needs = jobs.get(name, {}).get("needs", [])
    for need in [needs] if isinstance(needs, str) else needs if isinstance(needs, list) else []:
        if need in jobs and need not in seen:
            if any(_scans(step) for step in _steps(jobs[need])) or _scanned_before(need, jobs, seen | {name}):
                return True
    return False


def push_without_scan(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    jobs = dict(_jobs(pipeline))
    for name, job in jobs.items():
        scanned = _scanned_before(name, jobs)
        for step in _steps(job):
            if _pushes(step) and not scanned:
                yield rule.finding(
                    pipeline, line_of(step),
                    f"{name}: this step pushes an image that no earlier step of the job scanned; build to a local or candidate "
                    "location, scan it (trivy, grype), and push only that tested digest",
                )
                break
            scanned = scanned or _scans(step)


def _container(job: dict[str, Any]) -> dict[str, Any] | None:
    container = job.get("container")
    return container if isinstance(container, dict) else None


def privileged_job_container(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        container = _container(job)
        if container and re.search(r"--privileged\b(?!=false)", _text(container.get("options"))):
            yield rule.finding(
                pipeline, line_of(container, "options"),
                f"{name}: the job container runs --privileged, so every step (and every action) is root on the runner; keep "
                "privilege on a dind container alone, or use the runner's daemon",
            )


def host_socket_in_job_container(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        container = _container(job)
        if not container:
            continue
        for key in ("volumes", "options"):
            if "docker.sock" in _text(container.get(key)):
                yield rule.finding(
                    pipeline, line_of(container, key),
                    f"{name}: the job container mounts the host's Docker socket, which is root on the runner for every step; run "
                    "Docker steps on the runner itself, or use a dind daemon with TLS",
                )


GITHUB_RULES = [
    Rule("GH001", "dind-flags-in-service-options", "Daemon flags of a dind service never go in services.options.", dind_flags_in_service_options),
    Rule("GH002", "github-iptables-and-icc-off", "No --iptables=false together with --icc=false.", iptables_and_icc_off),
    Rule("GH003", "github-dind-without-tls", "A dind daemon keeps TLS (DOCKER_TLS_CERTDIR set, port 2376).", dind_without_tls),
    Rule("GH004", "unpinned-buildkit", "buildx and BuildKit pinned to releases, never latest.", unpinned_buildkit),
    Rule("GH005", "push-without-scan", "A job scans an image before it pushes it.", push_without_scan),
    Rule("GH006", "privileged-job-container", "The job container is never --privileged.", privileged_job_container),
    Rule("GH007", "host-socket-in-job-container", "The job container never mounts the host's Docker socket.", host_socket_in_job_container),
]
