"""The engine under a build (issue 31): Docker releases that no longer get security fixes, and the
host's Docker socket handed to a tool container or a Jenkins controller, which makes it root on the host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.lint.document import PipelineFile, line_of, line_within
from generator.lint.findings import Finding, Rule, joined
from generator.lint.github_rules import _jobs, _steps, _text, job_steps
from generator.lint.gitlab_rules import (
    _dind_services,
    _expand,
    _images,
    _located,
    _runnable,
    _script_lines,
    _variables,
)
from generator.lint.images import runs_dockerd
from generator.lint.jenkins_rules import (
    _built_from,
    _commands,
    _environment,
    _services,
    commands_at,
    pod_lines,
    read_groovy,
    run_images,
)

# docker 20.10 and everything before it are out of support, and so are 23.0 (its last maintainer's
# end, 2025-05-19) and 24 (never in Moby's maintained branches); the official image stopped building
# both by mid-2024. stable, edge and git stopped moving years ago, at 19.03/20.10.
EOL_TAG = r"(?:(?:1\.\d+|1[0-9]|20|23|24)(?:\.\d+)*(?:-[\w.-]+)?|(?:stable|edge)(?:-[\w.-]+)?|git)"
EOL_IMAGE = re.compile(rf"^(?:[^\s/]+/)*?(?:library/)?docker:(?P<tag>{EOL_TAG})(?:@sha256:[0-9a-f]+)?$")
# The same, as a word in a shell or Groovy line (not tcp://docker:2375, not a path).
EOL_WORD = re.compile(rf"(?<![\w/.:$-])(?:[\w.-]+\.[\w.-]+/(?:[\w.-]+/)*)?(?:library/)?docker:{EOL_TAG}(?![\w.:/-])")
SOCKET_MOUNT = re.compile(
    r"(?:^|\s)(?:-v|--volume)(?:=|\s+)[\"']?/(?:var/)?run/docker\.sock\b"
    r"|(?:^|\s)--mount(?:=|\s+)[\"']?[^\s\"']*(?:source|src)=/(?:var/)?run/docker\.sock\b"
)
RUNS_CONTAINER = re.compile(r"\b(docker|podman|nerdctl)\s+(container\s+)?(run|create)\b")


def _eol(reference: str) -> bool:
    return EOL_IMAGE.match(reference.strip()) is not None


def _eol_message(where: str, reference: str) -> str:
    return f"{where}{reference} is a Docker release that no longer gets security fixes; use a supported version (e.g. docker:29.8.1)"


def gitlab_end_of_life_engine(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        for image, holder, key, _ in _images(pipeline, job):
            reference = image.reference
            if _eol(reference):
                yield rule.finding(pipeline, _located(job, holder, key), _eol_message(f"{job.name}: ", reference), job=job.name)


def _github_images(job: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    container = job.get("container")
    if isinstance(container, str):
        yield container, job, "container"
    elif isinstance(container, dict):
        yield str(container.get("image", "")), container, "image"
    services = job.get("services")
    for service in services.values() if isinstance(services, dict) else []:
        if isinstance(service, dict):
            yield str(service.get("image", "")), service, "image"
    for step in _steps(job):
        uses = str(step.get("uses", ""))
        if uses.startswith("docker://"):
            yield uses[len("docker://"):], step, "uses"
        for word in EOL_WORD.finditer(joined(str(step.get("run", "")))):
            yield word.group(0), step, "run"


def github_end_of_life_engine(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        for reference, holder, key in _github_images(job):
            if _eol(reference):
                yield rule.finding(pipeline, line_of(holder, key), _eol_message(f"{name}: ", reference))


def _groovy_lines(pipeline: PipelineFile) -> Iterator[tuple[int, str]]:
    for first, lines in _commands(pipeline.text):
        command = joined("\n".join(lines))
        if not command.lstrip().startswith(("//", "#", "*", "/*")):
            yield first, command


def _jenkins_lines(pipeline: PipelineFile) -> Iterator[tuple[str, int, str]]:
    """(file, line, text): the Jenkinsfile's code lines, then its pod files' lines."""
    yield from ((pipeline.path, line, command) for line, command in _groovy_lines(pipeline))
    yield from pod_lines(pipeline)


def jenkins_end_of_life_engine(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for file, line, command in _jenkins_lines(pipeline):
        for word in EOL_WORD.finditer(command):
            yield rule.finding(pipeline, (file, line), _eol_message("", word.group(0)))


def compose_end_of_life_engine(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    """A service's image, and a Docker release its command names (`gitlab-runner register
    --docker-image docker:20-dind` gives every job of that runner an end-of-life engine)."""
    for name, service in _services(pipeline):
        if _eol(str(service.get("image", ""))):
            yield rule.finding(pipeline, line_of(service, "image"), _eol_message(f"{name}: ", str(service["image"])))
        for key in ("command", "entrypoint"):
            value = service.get(key)
            items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
            for index, item in enumerate(items):
                for word in EOL_WORD.finditer(str(item)):
                    holder, at = (value, index) if isinstance(value, list) else (service, key)
                    where = line_within(holder, at, word.group(0), pipeline.path)
                    yield rule.finding(pipeline, where, _eol_message(f"{name}: {key} names ", word.group(0)))


# --- the host's socket ------------------------------------------------------------------------


def _mounts_socket(text: str) -> bool:
    # An image pinned by digest (a scanner reading the image from the daemon) is fixed, reviewed code.
    return any(
        RUNS_CONTAINER.search(part) and SOCKET_MOUNT.search(part) and "@sha256:" not in part for part in re.split(r"&&|\|\||;|\n", text)
    )


MOUNT_LINE = re.compile(r"(?:^|\s)(?:-v|--volume|--mount)\b[^\n]*?docker\.sock|\S*docker\.sock:")
SOCKET_ADVICE = "the container can start privileged containers, so it is root on the host; scan from an archive (docker save) or give the tool a dind daemon of its own"


def gitlab_host_socket(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        # Beside a dind service, or with DOCKER_HOST on TCP, the socket path is the dind daemon's own.
        if any(_dind_services(pipeline, job)) or _variables(pipeline, job).get("DOCKER_HOST", "").startswith("tcp://"):
            continue
        variables = _variables(pipeline, job)
        for text, holder, index in _script_lines(job):
            if _mounts_socket(_expand(joined(text), variables)):
                yield rule.finding(pipeline, _located(job, holder, index), f"{job.name}: mounts the host's Docker socket into a container: {SOCKET_ADVICE}", job=job.name)


def github_host_socket(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, file, step, holders, _ in job_steps(pipeline):
        env = {str(key): value for holder in (*holders[1:], step) if isinstance(holder.get("env"), dict) for key, value in holder["env"].items()}
        if not str(env.get("DOCKER_HOST", "")).startswith("tcp://") and _mounts_socket(joined(str(step.get("run", "")))):
            # On the mount, not on an earlier line that only reads the socket (`stat -c %g /var/run/docker.sock`).
            run = str(step.get("run", ""))
            mount = next((found.group(0).strip() for found in map(MOUNT_LINE.search, run.splitlines()) if found), "docker.sock")
            where = (file, line_within(step, "run", mount, file))
            yield rule.finding(pipeline, where, f"{name}: a step mounts the runner's Docker socket into a container: {SOCKET_ADVICE}", job=name)


# The Docker Pipeline plugin shares the workspace with its daemon, so that daemon is the agent host's.
JENKINS_SOCKET = re.compile(
    r"\.(inside|withRun|run)\s*\(\s*(\"|')[^\"']*docker\.sock"
    r"|(?:^|[;{])\s*args\s+(\"|')[^\"']*docker\.sock"
    r"|\bhostPath\b\s*[:(]\s*(path:\s*)?[\"']?/(var/)?run/docker\.sock"
    r"|^\s*path:\s*[\"']?/(var/)?run/docker\.sock"
    # The whole run directory, the socket with it.
    r"|^\s*path:\s*[\"']?/var/run/?[\"']?\s*$",
    re.MULTILINE,
)


# A daemon of the pipeline's own for its steps: DOCKER_HOST on TCP (`DOCKER_HOST=tcp://...`,
# `environment { DOCKER_HOST = 'tcp://...' }`, a pod's `name: DOCKER_HOST` with `value: tcp://...`),
# docker.withServer('tcp://...'), or a container that runs dockerd.
OWN_DAEMON = re.compile(r"""\bDOCKER_HOST['"]?\s*(?:[=:,]|\n)\s*(?:value\s*:\s*)?['"]?tcp://|\bwithServer\s*\(\s*['"]tcp://""")


# `name=ref@sha256:...`, also with the reference quoted and the digest on a continued line (`\\` in Groovy).
PINNED_VARIABLE = re.compile(r"""\b([A-Za-z_]\w*)=['"]?[^\s'"]*['"]?(?:\\{1,2}\n\s*)?@sha256:[0-9a-f]{64}""")


def _own_daemon(pipeline: PipelineFile) -> bool:
    return any(OWN_DAEMON.search(text) for text in [pipeline.text, *(pod.text for pod in pipeline.pods)]) or any(
        runs_dockerd(image) for _, _, image, _ in run_images(pipeline)
    )


def jenkins_host_socket(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    agent = [(file, line) for file, line, command in _jenkins_lines(pipeline) if JENKINS_SOCKET.search(command)]
    for where in agent:
        yield rule.finding(pipeline, where, f"an agent or tool container gets the host's Docker socket: {SOCKET_ADVICE}")
    # A container a shell step starts talks to the agent's daemon: the host's where the agent was given
    # its socket, and, as GL025 reads a job with no dind service, wherever the file gives the steps no
    # daemon of their own.
    if agent:
        whose = "the host's Docker socket (the agent's)"
    elif not _own_daemon(pipeline):
        whose = "the Docker socket of the agent's daemon (the host's: the file runs none of its own)"
    else:
        return
    groovy = read_groovy(pipeline.text)
    # An image pinned by digest (a scanner reading the image from the daemon) is fixed, reviewed code,
    # also when a shell variable holds it (`scanner=anchore/grype:v0.116.0@sha256:...`).
    pinned = [re.compile(rf"\$\{{?{name}\b") for name in set(PINNED_VARIABLE.findall(pipeline.text))]
    for first, offset, lines in commands_at(pipeline.text):
        command, raw = joined("\n".join(lines)), "\n".join(lines)
        if (pipeline.path, first) in agent or not SOCKET_MOUNT.search(command) or groovy.commented(offset + raw.find("docker.sock")):
            continue
        if "@sha256:" in command or any(name.search(command) for name in pinned):
            continue
        yield rule.finding(pipeline, first, f"a shell step hands {whose} to a container: {SOCKET_ADVICE}")


JENKINS_CONTROLLER = re.compile(r"(^|/)(jenkins/jenkins|jenkinsci/(jenkins|blueocean)|jenkins)(:|@|$)")
CONTROLLER_NAME = re.compile(r"^jenkins([_-]?(controller|master|server|ci))?$")
# The socket, or the run directory that holds it (`/var/run:/var/run`, as cAdvisor is often given).
HOST_SOCKET = re.compile(r"/(var/)?run(/docker\.sock)?/?")
# CI systems' own agents: Jenkins's (inbound-agent, ssh-agent, the old jnlp-slave), GitLab's runner,
# Drone's runners, Woodpecker's agent, Gitea's and Forgejo's runners and Buildkite's agent; not any
# image that happens to be called an agent.
CI_AGENT_IMAGE = re.compile(
    r"(^|/)(jenkins|jenkinsci)/[^:@/]*(agent|slave)|(^|/)gitlab-runner(:|@|$)|(^|/)drone/(drone-runner-[\w-]+|agent)(:|@|$)"
    r"|(^|/)woodpecker(ci)?/woodpecker-agent(:|@|$)|(^|/)(gitea/act_runner|forgejo/runner|buildkite/agent)(:|@|$)"
)


def _ci_agent(name: str, service: dict[str, Any], compose_file: str) -> bool:
    """A CI agent whose work is driving the daemon (socket mode, which gen-ci's own agent file offers
    for trusted builds and explains): its socket is the trade-off it was set up for. One Compose builds
    from an agent image (`FROM jenkins/agent:...`) is one too."""
    image = str(service.get("image", ""))
    built = _built_from(compose_file, service["build"]) if "build" in service else None
    command = _text(service.get("command"))
    # Drone before 1.0 ran its agent from the server's image: `image: drone/drone`, `command: agent`.
    drone_agent = re.search(r"(^|/)drone/drone(:0\.[\w.-]+)?$", image) and re.match(r"\s*agent\b", command)
    if any(CI_AGENT_IMAGE.search(name) for name in (image, built or "")) or "agent.jar" in command or drone_agent:
        return True
    return _self_hosted_runner(name, image, service)


# `ci` names no CI system: a `ci-job-runner` may run anything.
CI_WORDS = {"gh", "github", "gitlab", "actions", "act", "gitea", "forgejo", "woodpecker", "drone", "buildkite"}
# Settings only a runner has: how it registers with its CI and which jobs it takes. Generic GITHUB_*
# and GITLAB_* values are passed to test services too (a commit, a token for reports).
RUNNER_SETTING = re.compile(
    r"^(?:RUNNER_(?:TOKEN|NAME|ID|LABELS|GROUP|SCOPE|WORKDIR|REPOSITORY_URL|EXECUTOR)|(?:\w+_)?REGISTRATION_TOKEN"
    r"|CI_SERVER_(?:URL|TOKEN)|GITLAB_RUNNER_\w+|ACTIONS_RUNNER_\w+|GITEA_RUNNER_\w+)$"
)
# A personal access token registers a runner when a repository or organisation says where.
RUNNER_TOKEN = re.compile(r"^(?:GITHUB_PAT|GH_PAT|GITHUB_ACCESS_TOKEN|ACCESS_TOKEN)$")
RUNNER_SCOPE = re.compile(r"^(?:REPO_URL|REPOSITORY_URL|ORG_URL|ORG_NAME|GITHUB_OWNER|GITHUB_ORG|GITHUB_REPOSITORY|ENTERPRISE_NAME)$")


def _self_hosted_runner(name: str, image: str, service: dict[str, Any]) -> bool:
    """A runner of a CI system packaged by its owners (`hub.example.com/internal/runner`,
    `acme-gh-runner`): called a runner, and saying which CI it serves by its name or its settings."""
    words = set(re.split(r"[-_./:]", f"{name} {image.rsplit(':', 1)[0]}".lower().replace(" ", "-")))
    if "runner" not in words:
        return False
    keys = list(_environment(service))
    return (
        bool(words & CI_WORDS)
        or any(RUNNER_SETTING.match(key) for key in keys)
        or (any(RUNNER_TOKEN.match(key) for key in keys) and any(RUNNER_SCOPE.match(key) for key in keys))
    )


def _controller(name: str, service: dict[str, Any]) -> bool:
    """A Jenkins controller: its image, or a service called jenkins that builds its own."""
    return bool(JENKINS_CONTROLLER.search(str(service.get("image", ""))) or CONTROLLER_NAME.match(name))


def compose_host_socket(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        volumes = service.get("volumes") if isinstance(service.get("volumes"), list) and not _ci_agent(name, service, pipeline.path) else []
        for index, volume in enumerate(volumes):
            source = str(volume.get("source", "")) if isinstance(volume, dict) else str(volume).split(":", 1)[0]
            if not HOST_SOCKET.fullmatch(source):
                continue
            yield rule.finding(
                pipeline, line_of(volumes, index),
                f"{name}: the Jenkins controller mounts the host's Docker socket, so every job and every script-console user is "
                "root on the host; build on agents with a TLS dind daemon of their own" if _controller(name, service) else
                f"{name}: mounts the host's Docker socket, so the service, and whoever controls its image or its input, is root on "
                "the host; give it a daemon of its own, or a socket proxy that allows only what it reads",
            )
            break  # `/var/run` and `/var/run/docker.sock` both mounted hand over one socket


GITLAB_HOST_RULES = [
    Rule("GL023", "end-of-life-engine", "No Docker engine or client release past its end of life (24 and older, stable, edge, git).", gitlab_end_of_life_engine, "warning"),
    Rule("GL025", "host-socket-in-tool-container", "No container a script starts gets the host's Docker socket.", gitlab_host_socket),
]
GITHUB_HOST_RULES = [
    Rule("GH023", "github-end-of-life-engine", "No Docker release past its end of life in services, the job container or steps.", github_end_of_life_engine, "warning"),
    Rule("GH025", "github-host-socket-in-tool-container", "No container a step starts gets the runner's Docker socket.", github_host_socket),
]
JENKINS_HOST_RULES = [
    Rule("JK023", "jenkins-end-of-life-engine", "No Docker release past its end of life in a Jenkinsfile.", jenkins_end_of_life_engine, "warning"),
    Rule("JK025", "jenkins-host-socket-in-tool-container", "No agent or tool container gets the host's Docker socket.", jenkins_host_socket),
]
COMPOSE_HOST_RULES = [
    Rule("JK123", "compose-end-of-life-engine", "No Docker release past its end of life in a service image.", compose_end_of_life_engine, "warning"),
    Rule("JK125", "compose-host-socket-in-service", "No service but a CI agent in socket mode mounts the host's Docker socket.", compose_host_socket),
]
