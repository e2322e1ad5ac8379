"""The GitLab CI lint rules (GLnnn)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.lint.document import Job, PipelineFile, file_of, line_of
from generator.lint.findings import LOGIN_WITH_PASSWORD, PUSHES, Finding, Rule, joined


def _images(job: Job) -> Iterator[tuple[str, Any, Any]]:
    """(reference, node holding it, key or index) for the job's image and services as written or inherited."""
    image = job.merged.get("image")
    if isinstance(image, dict):
        yield str(image.get("name", "")), image, "name"
    elif isinstance(image, str):
        yield image, job.origin("image"), "image"
    for index, service in enumerate(job.merged.get("services") or []):
        if isinstance(service, dict):
            yield str(service.get("name", "")), service, "name"
        elif isinstance(service, str):
            yield service, job.merged.get("services"), index


def _dind_services(job: Job) -> Iterator[tuple[Any, Any, Any]]:
    for index, service in enumerate(job.merged.get("services") or []):
        name = service.get("name", "") if isinstance(service, dict) else service
        if isinstance(name, str) and "dind" in name.split("/")[-1]:
            yield service, job.merged.get("services"), index


def _located(job: Job, holder: Any, key: Any) -> tuple[str, int]:
    line = line_of(holder, key) if holder is not None else 1
    return (file_of(holder, job.file), line) if line > 1 else (job.file, job.line)


def _at(job: Job) -> tuple[str, int]:
    return job.file, job.line


def _variables(pipeline: PipelineFile, job: Job) -> dict[str, str]:
    globals_ = {} if job.merged.get("__no_global_variables__") else pipeline.global_variables()
    merged = {**globals_, **(job.merged.get("variables") or {})}
    out = {}
    for key, value in merged.items():
        out[str(key)] = str(value.get("value", "")) if isinstance(value, dict) else str(value)
    return out


def _script_lines(job: Job) -> Iterator[tuple[str, Any, Any]]:
    for section in ("before_script", "script", "after_script"):
        lines = job.merged.get(section)
        if isinstance(lines, str):
            lines = [lines]
        for index, line in enumerate(lines or []):
            if isinstance(line, str):
                yield line, lines, index


def _runnable(pipeline: PipelineFile) -> list[Job]:
    # Hidden jobs are templates: they are checked through the jobs that use them.
    return [job for job in pipeline.jobs if not job.hidden]


def _expand(reference: str, variables: dict[str, str]) -> str:
    """A reference with its $NAME / ${NAME} replaced where the pipeline's variables say statically."""
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        found = variables.get(name, match.group(0))
        return found if "$" not in found else match.group(0)
    for _ in range(5):  # variables naming variables
        expanded = re.sub(r"\$\{(\w+)\}|\$(\w+)", value, reference)
        if expanded == reference:
            break
        reference = expanded
    return reference


def unpinned_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    reported = set()
    for job in _runnable(pipeline):
        variables = _variables(pipeline, job)
        for written, holder, key in _images(job):
            reference = _expand(written, variables)
            if not reference or "$" in reference or "@sha256:" in reference:
                continue
            last = reference.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            if tag and tag != "latest" and re.search(r"\d", tag):
                continue
            line = _located(job, holder, key)
            if (line, reference) in reported:  # line is (file, line)
                continue
            reported.add((line, reference))
            why = "has no tag (so :latest)" if not tag else f"uses the moving tag :{tag}"
            through = f" (through {written})" if written != reference else ""
            yield rule.finding(pipeline, line, f"{job.name}: image {reference}{through} {why}; pin an exact version, and a digest where you can")


def dind_without_tls(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        services = list(_dind_services(job))
        if not services:
            continue
        variables = _variables(pipeline, job)
        _, holder, index = services[0]
        line = _located(job, holder, index)
        if variables.get("DOCKER_TLS_CERTDIR", "unset") == "":
            yield rule.finding(pipeline, line, f"{job.name}: DOCKER_TLS_CERTDIR is empty, so the dind daemon listens on plain TCP 2375 and anything that reaches it owns it; set DOCKER_TLS_CERTDIR: /certs")
        elif ":2375" in variables.get("DOCKER_HOST", ""):
            yield rule.finding(pipeline, line, f"{job.name}: DOCKER_HOST points at the plain-TCP port 2375; use tcp://docker:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH=/certs/client")
        elif "DOCKER_TLS_CERTDIR" not in variables or (
            variables.get("DOCKER_TLS_VERIFY", "") in ("", "0") and not _docker_client_sets_tls(job, variables)
        ):
            yield rule.finding(pipeline, line, f"{job.name}: the dind client is not configured for TLS; set DOCKER_TLS_CERTDIR: /certs, DOCKER_HOST: tcp://docker:2376, DOCKER_TLS_VERIFY: '1' and DOCKER_CERT_PATH: /certs/client")


def _docker_client_sets_tls(job: Job, variables: dict[str, str]) -> bool:
    """GitLab's documented set-up: the official docker image's entrypoint turns on TLS itself when
    DOCKER_TLS_CERTDIR is set and DOCKER_HOST names port 2376 (or is unset)."""
    image = job.merged.get("image")
    name = str(image.get("name", "") if isinstance(image, dict) else image or "")
    official = re.fullmatch(r"(docker\.io/)?(library/)?docker(:[^/@]*)?(@sha256:[0-9a-f]{64})?", _expand(name, variables)) is not None
    return official and variables.get("DOCKER_HOST", "tcp://docker:2376").endswith(":2376")


def dind_missing_alias(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        for service, holder, index in _dind_services(job):
            name = str(service.get("name", "") if isinstance(service, dict) else service)
            # GitLab derives the alias from the image name: docker:dind is reached as docker already.
            if "/" not in name.split("@")[0]:
                continue
            if not (isinstance(service, dict) and service.get("alias") == "docker"):
                yield rule.finding(pipeline, _located(job, holder, index), f"{job.name}: the dind service has no `alias: docker`; the TLS certificate names docker, and a registry or mirror path changes the derived alias")


def dind_command_drops_entrypoint(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        for service, holder, index in _dind_services(job):
            command = service.get("command") if isinstance(service, dict) else None
            if isinstance(command, str):
                command = [command]
            for entry in command or []:
                if not str(entry).startswith("--"):
                    yield rule.finding(pipeline, _located(job, holder, index), f"{job.name}: service command entry {entry!r} does not start with --, so the entrypoint replaces dockerd's default command and its TLS set-up; pass daemon flags only, in --flag=value form")
                    break


def iptables_and_icc_off(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        for service, holder, index in _dind_services(job):
            command = service.get("command") if isinstance(service, dict) else None
            flags = " ".join(map(str, command)) if isinstance(command, list) else str(command or "")
            if re.search(r"--iptables[= ]false", flags) and re.search(r"--icc[= ]false", flags):
                yield rule.finding(pipeline, _located(job, holder, index), f"{job.name}: dockerd refuses to start with --iptables=false and --icc=false together; use --iptables=false --bridge=none, or --icc=false with iptables on")


def password_on_command_line(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in pipeline.jobs:
        for text, holder, index in _script_lines(job):
            found = LOGIN_WITH_PASSWORD.search(joined(text))
            if found:
                yield rule.finding(
                    pipeline, _located(job, holder, index),
                    f"{job.name}: {found.group('tool')} login with a password flag puts the secret on the command line and in process lists; "
                    "pipe it to --password-stdin (or write a Docker config file)",
                )


def _protected_only(job: Job) -> bool:
    rules = job.merged.get("rules")
    if not isinstance(rules, list) or not rules:
        return False
    for entry in rules:
        if not isinstance(entry, dict):
            return False
        if entry.get("when") == "never":
            continue
        condition = str(entry.get("if", ""))
        # The protected test must bind the whole condition: no `||` outside parentheses.
        top_level = condition
        while re.search(r"\([^()]*\)", top_level):
            top_level = re.sub(r"\([^()]*\)", "_", top_level)
        if not re.search(r"\$CI_COMMIT_REF_PROTECTED\s*==\s*[\"']true[\"']", top_level) or "||" in top_level:
            return False
    return True


def push_on_unprotected_ref(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        if any(PUSHES.search(joined(text)) for text, _, _ in _script_lines(job)) and not _protected_only(job):
            yield rule.finding(pipeline, _at(job), f"{job.name}: pushes images but can run on unprotected refs, where protected variables are absent and anyone with push access controls the image; add rules: - if: $CI_COMMIT_REF_PROTECTED == \"true\" && ...")


# Engines run containers or builds, so a hung one holds the runner. Registry clients (skopeo,
# crane, regctl, oras) only talk to registries and are left out.
ENGINES = {"docker", "podman", "buildah", "buildctl", "buildctl-daemonless.sh", "nerdctl", "executor"}
# Words a command may start with before the program it runs.
PREFIXES = {"sudo", "exec", "time", "command", "nohup", "env", "!"}
SEPARATORS = re.compile(r"&&|\|\||[;|&\n]|\$\(|`|\b(?:then|do|else)\b")


def _commands(text: str) -> Iterator[str]:
    """The program of each simple command in a script line: the first word after any separator,
    past variable assignments and wrappers such as sudo."""
    for part in SEPARATORS.split(text):
        words = part.split()
        while words and (words[0] in PREFIXES or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
            words = words[1:]
        if words:
            yield words[0].strip("'\"(")


def _runs_engine(text: str) -> bool:
    for program in _commands(text):
        name = program.rsplit("/", 1)[-1]
        if name in ENGINES and (name != "executor" or "kaniko" in program):
            return True
    return False


def _runs_a_container_engine(job: Job) -> bool:
    """The reason for GL008 (a hung daemon holds the runner) applies only where an engine runs: an
    engine command the job runs, or a dind service the job declares itself (a service inherited
    from default: or a template counts only when the job talks to a daemon)."""
    if "services" in job.node and any(_dind_services(job)):
        return True
    return any(_runs_engine(text) for text, _, _ in _script_lines(job))


def job_without_timeout(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        if "timeout" not in job.merged and "trigger" not in job.merged and _runs_a_container_engine(job):
            yield rule.finding(pipeline, _at(job), f"{job.name}: no timeout, so a hung daemon holds the runner for the project's maximum; set timeout: (e.g. 30 minutes)")


def debug_trace(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    scopes = [("the pipeline", pipeline.root.get("variables"))] + [(j.name, j.node.get("variables")) for j in pipeline.jobs]
    for scope, variables in scopes:
        if not isinstance(variables, dict):
            continue
        for name in ("CI_DEBUG_TRACE", "CI_DEBUG_SERVICES"):
            value = variables.get(name)
            value = value.get("value") if isinstance(value, dict) else value
            if str(value).lower() in ("true", "1"):
                yield rule.finding(pipeline, (file_of(variables, pipeline.path), line_of(variables, name)), f"{scope}: {name} is enabled, which prints every variable, secrets included, into the job log; remove it")


GITLAB_RULES = [
    Rule("GL001", "unpinned-image", "Images and services pinned to an exact version (not :latest or a moving tag).", unpinned_image),
    Rule("GL002", "dind-without-tls", "The dind daemon is reached over TLS on 2376, never plain TCP on 2375.", dind_without_tls),
    Rule("GL003", "dind-missing-alias", "The dind service has alias: docker.", dind_missing_alias),
    Rule("GL004", "dind-command-drops-entrypoint", "dind service command: entries start with --.", dind_command_drops_entrypoint),
    Rule("GL005", "iptables-and-icc-off", "No --iptables=false together with --icc=false.", iptables_and_icc_off),
    Rule("GL006", "password-on-command-line", "No docker login -p / --password.", password_on_command_line),
    Rule("GL007", "push-on-unprotected-ref", "Jobs that push run only on protected refs.", push_on_unprotected_ref),
    Rule("GL008", "job-without-timeout", "Every job has a timeout.", job_without_timeout),
    Rule("GL009", "debug-trace-enabled", "CI_DEBUG_TRACE and CI_DEBUG_SERVICES are not enabled.", debug_trace),
]
