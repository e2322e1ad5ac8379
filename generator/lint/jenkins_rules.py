"""Lint rules for Jenkinsfiles and the Compose files that run Jenkins beside a Docker daemon.

The common hand-written set-up runs DinD with DOCKER_TLS_CERTDIR="" and points the controller at
tcp://docker:2375: anything that reaches that port owns the daemon, and through --privileged the
host. These rules refuse it, wherever it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.lint.document import PipelineFile, line_of
from generator.lint.findings import LOGIN_WITH_PASSWORD, Finding, Rule, joined

PLAIN_TCP = re.compile(r"\btcp://[^\s'\"/]+:2375\b")
TLS_OFF = re.compile(r"""\bDOCKER_TLS_CERTDIR\s*[=:]\s*(""|''|(?=\s|$|[;&|]))""", re.MULTILINE)
# A Groovy GString with a credential in it: Groovy fills it in before the shell ever runs.
INTERPOLATED_SECRET = re.compile(r"""\b(sh|bat|powershell)\s*\(?\s*(script:\s*)?"(?:[^"\\]|\\.)*\$\{?[A-Za-z_.]*(PASS|TOKEN|SECRET|KEY)""", re.IGNORECASE)


def _lines(pipeline: PipelineFile, pattern: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str]]]:
    for match in pattern.finditer(pipeline.text):
        yield pipeline.text.count("\n", 0, match.start()) + 1, match


def jenkins_plain_tcp(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for line, match in _lines(pipeline, PLAIN_TCP):
        yield rule.finding(pipeline, line, f"{match.group(0)} is a daemon on plain TCP: whoever reaches the port owns it; use TLS on 2376 with client certificates")
    for line, _ in _lines(pipeline, TLS_OFF):
        yield rule.finding(pipeline, line, "an empty DOCKER_TLS_CERTDIR turns the daemon's TLS off; set it to /certs and share /certs/client with the client")


PASSWORD_FLAG = re.compile(r"\s(-p|--password|--pass)(\s|=)")


def jenkins_password_on_command_line(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for first, lines in _commands(pipeline.text):
        found = LOGIN_WITH_PASSWORD.search(joined("\n".join(lines)))
        if found:
            # Reported where the flag is written, also on a continued line.
            line = first + next((n for n, text in enumerate(lines) if PASSWORD_FLAG.search(text)), 0)
            yield rule.finding(pipeline, line, f"{found.group('tool')} login with a password flag puts the secret on the command line; pipe it to --password-stdin")


def _commands(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each command by its first line number, with the lines it continues (a trailing backslash)."""
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        first, command = number + 1, [lines[number]]
        while command[-1].endswith("\\") and number + 1 < len(lines):
            number += 1
            command.append(lines[number])
        yield first, command
        number += 1


def jenkins_interpolated_secret(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for line, _ in _lines(pipeline, INTERPOLATED_SECRET):
        yield rule.finding(
            pipeline, line,
            "a credential inside a double-quoted Groovy string is interpolated by Groovy, so it reaches the command line and the "
            "build's step arguments; use a single-quoted script and let the shell read the variable",
        )


def _services(pipeline: PipelineFile) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in pipeline.root.get("services", {}).items():
        if isinstance(service, dict):
            yield str(name), service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()} if isinstance(environment, dict) else {}


def _is_dind(service: dict[str, Any]) -> bool:
    return bool(re.search(r"(^|/)docker:[^@\s]*dind", str(service.get("image", ""))))


def compose_plain_tcp(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        environment = _environment(service)
        if _is_dind(service) and environment.get("DOCKER_TLS_CERTDIR", "/certs") == "":
            yield rule.finding(pipeline, line_of(service, "environment"), f"{name}: an empty DOCKER_TLS_CERTDIR serves the daemon on plain TCP 2375; set it to /certs")
        for key, value in environment.items():
            if PLAIN_TCP.search(value):
                yield rule.finding(pipeline, line_of(service, "environment"), f"{name}: {key}={value} talks to a daemon on plain TCP; use tcp://docker:2376 with TLS")
        for port in service.get("ports") or []:
            if re.search(r"(^|:)237[56](/tcp)?$", str(port.get("target", port) if isinstance(port, dict) else port)):
                yield rule.finding(pipeline, line_of(service, "ports"), f"{name}: publishes the Docker daemon's port {port}; keep it on a private network with its client alone")


def compose_privileged_beyond_dind(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        if service.get("privileged") is True and not _is_dind(service):
            yield rule.finding(pipeline, line_of(service, "privileged"), f"{name}: privileged, and not a docker:*-dind daemon; privilege belongs to the dind container alone")


def compose_unpinned_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        image = service.get("image")
        if image is None:
            continue
        tag = str(image).rsplit("/", 1)[-1].partition(":")[2]
        # A tag that names no version (latest, lts, dind, stable) moves under the file.
        if "@" not in str(image) and not re.search(r"[0-9]", tag):
            yield rule.finding(pipeline, line_of(service, "image"), f"{name}: {image} names no version; pin an exact version, and a digest where you can")


JENKINS_RULES = [
    Rule("JK001", "jenkins-plain-tcp-daemon", "A Jenkinsfile never talks to a daemon on tcp://...:2375 or turns DinD's TLS off.", jenkins_plain_tcp),
    Rule("JK002", "jenkins-password-on-command-line", "docker login reads the password from standard input.", jenkins_password_on_command_line),
    Rule("JK003", "jenkins-interpolated-secret", "Credentials never go into double-quoted Groovy strings.", jenkins_interpolated_secret),
]
COMPOSE_RULES = [
    Rule("JK101", "compose-plain-tcp-daemon", "DinD keeps TLS, clients use 2376, and no daemon port is published.", compose_plain_tcp),
    Rule("JK102", "compose-privileged-beyond-dind", "Only the docker:*-dind service is privileged.", compose_privileged_beyond_dind),
    Rule("JK103", "compose-unpinned-image", "Every service image names a version: not untagged, latest, lts or dind.", compose_unpinned_image),
]
