"""Lint rules for GitHub Actions workflows: the Docker hazards general workflow linters do not cover.

zizmor and actionlint audit expressions, permissions and pinning; these read what a job does with
Docker: daemon flags, TLS, BuildKit pins, scans before pushes, the job container's privileges and
image pins, logins and timeouts. `${{ matrix.* }}`, `${{ env.* }}` and a metadata step's tags are
resolved where the workflow gives them statically; an expression that cannot be resolved is never
taken for a problem, except a `push:` that may be true.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from generator.lint.document import LocalFile, PipelineFile, line_of, line_within
from generator.lint.findings import (
    LOGIN_WITH_PASSWORD,
    PUSHES,
    REGISTRY_LOGIN,
    REMOTE_COMMAND,
    Finding,
    Rule,
    commands,
    joined,
    login_tool,
    password_flag_line,
    simple_commands,
)
from generator.lint.images import (
    built_repositories,
    image_repository,
    image_tag,
    moving_buildkit_tags,
    official_docker,
    runs_dockerd,
    tls_on_by_default,
    unpinned_reason,
)
from generator.lint.shell_words import one_word_expressions, without_echoes

DAEMON_FLAGS = re.compile(r"(^|\s)--(storage-driver|iptables|icc|bip|mtu|tls\w*|host|bridge|insecure-registry|registry-mirror|data-root)\b")
# A make target named for scanning the image (`make scan`, `make scan-image`, `make image-scan`) runs
# the scanner the Makefile names; one that scans code (`sast-scan`, `secret-scan`) is none.
MAKE_SCAN = r"\bg?make\b[^\n;&|]*?\s(?:[\w.-]*(?:image|container|docker)[-_])?scan(?:[-_](?:images?|containers?|docker)[\w.-]*)?(?=[\s;&|)'\"]|$)"
# A scanner's name in a file or cache path (`.cache-trivy`, `trivy.json`) runs nothing.
SCANNERS = re.compile(r"(?<![\w.-])(trivy|grype|snyk\s+container|docker\s+scout|anchore(?![\w-]*\/syft))(?![\w.-])|" + MAKE_SCAN, re.IGNORECASE)
# depot's actions take build-push-action's and bake-action's inputs (`push:`, `tags:`, `set:`) and
# run the same build on depot's remote BuildKit: they push, and build, as docker's do.
BUILD_PUSH_ACTIONS = ("docker/build-push-action", "depot/build-push-action")
BAKE_ACTIONS = ("docker/bake-action", "depot/bake-action")
SCAN_ACTIONS = ("aquasecurity/trivy-action", "anchore/scan-action", "docker/scout-action", "snyk/actions/docker", "crazy-max/ghaction-container-scan")


def _jobs(pipeline: PipelineFile) -> Iterator[tuple[str, dict[str, Any]]]:
    return _jobs_of(pipeline.root)


def _switched_off(holder: dict[str, Any]) -> bool:
    """A job or step whose `if:` is false whatever happens (`if: false`, `always() && false`, a step
    turned off for now): it runs nothing."""
    condition = holder.get("if")
    if condition is False:
        return True
    if not isinstance(condition, str) or "||" in condition:
        return False
    expression = condition.strip().removeprefix("${{").removesuffix("}}")
    return any(part.strip().strip("()").strip() == "false" for part in expression.split("&&"))


def _jobs_of(root: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    jobs = root.get("jobs")
    for name, job in (jobs.items() if isinstance(jobs, dict) else []):
        if isinstance(job, dict) and not _switched_off(job):
            yield str(name), job


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps")
    return [step for step in steps if isinstance(step, dict) and not _switched_off(step)] if isinstance(steps, list) else []


def _dind_services(job: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    services = job.get("services")
    for name, service in (services.items() if isinstance(services, dict) else []):
        if isinstance(service, dict) and runs_dockerd(str(service.get("image", ""))):
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


def _tls_by_default(image: str) -> bool | None:
    """Whether a dind image turns TLS on when DOCKER_TLS_CERTDIR is not set: the official image from
    19.03 on does (its entrypoint defaults to /certs and serves 2376), older ones do not, and the
    defaults of any other image are unknown (None)."""
    return tls_on_by_default(image_tag(image.strip())) if official_docker(image) else None


def _reached_over_tcp(job: dict[str, Any], service: dict[str, Any]) -> bool:
    """Whether the workflow talks to a dind service over TCP: it publishes a port, or the job or a step
    sets DOCKER_HOST to tcp://. A service neither reaches is left alone, as before."""
    hosts = [str(holder.get("env", {}).get("DOCKER_HOST", "")) for holder in [job, *_steps(job)] if isinstance(holder.get("env"), dict)]
    return bool(_text(service.get("ports")).strip()) or any(host.startswith("tcp://") for host in hosts)


def _service_tls(name: str, service_name: str, service: dict[str, Any], job: dict[str, Any]) -> tuple[str, Any, Any, str] | None:
    """(level, holder, key, message) for a dind service's TLS: an error where it serves plain TCP, a
    warning where the workflow reaches it over TCP and its TLS rests on the official image's default
    alone, None where the workflow sets it."""
    env = service.get("env") if isinstance(service.get("env"), dict) else {}
    image = str(service.get("image", ""))
    plain = (f"{name}: the dind service {service_name} serves plain TCP ({{}}), so anything that reaches it owns the daemon; "
             "set DOCKER_TLS_CERTDIR: /certs and use port 2376 with the client certificates")
    if "DOCKER_TLS_CERTDIR" in env and env["DOCKER_TLS_CERTDIR"] in ("", None):
        return "error", env, "DOCKER_TLS_CERTDIR", plain.format("DOCKER_TLS_CERTDIR empty")
    by_default = _tls_by_default(image)
    if "DOCKER_TLS_CERTDIR" not in env and by_default is False:
        return "error", service, "image", plain.format(f"{image} predates TLS by default and DOCKER_TLS_CERTDIR is not set")
    if by_default:
        # The daemon serves TLS on 2376 whatever ports: publishes; a published 2375 reaches nothing.
        if "DOCKER_TLS_CERTDIR" in env or not _reached_over_tcp(job, service):
            return None
        return "warning", service, "image", (
            f"{name}: DOCKER_TLS_CERTDIR is not set, so the dind service {service_name} has TLS only from the {image} image's "
            "default (on since 19.03, off in older and in other images); set DOCKER_TLS_CERTDIR: /certs in its env, publish "
            "2376 and give the steps the client certificates")
    if re.search(r"(^|\D)2375(\D|$)", _text(service.get("ports"))):
        return "error", service, "ports", plain.format("port 2375")
    return None


def dind_without_tls(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, job in _jobs(pipeline):
        for service_name, service in _dind_services(job):
            found = _service_tls(name, service_name, service, job)
            if found:
                level, holder, key, message = found
                yield rule.finding(pipeline, line_of(holder, key), message, level=level)
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


# Expressions and variables: resolved where the workflow says statically, else left as written.

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHELL_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
MAX_VARIANTS = 64


@dataclass(frozen=True)
class Scope:
    """What a step's `${{ }}` expressions can be read from without running the workflow."""

    job: dict[str, Any]
    env: dict[str, str]  # the workflow's, the job's and the step's env, nearest winning
    steps: dict[str, dict[str, Any]]  # the job's steps by id, for steps.<id>.outputs
    inputs: dict[str, list[str]] = field(default_factory=dict)  # a followed local workflow's or action's inputs, as its caller gives them


def _scalar(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _env(*holders: Any) -> dict[str, str]:
    env: dict[str, str] = {}
    for holder in holders:
        found = holder.get("env") if isinstance(holder, dict) else None
        if isinstance(found, dict):
            env.update({str(k): _scalar(v) for k, v in found.items() if not isinstance(v, (dict, list)) and v is not None})
    return env


def _scope(pipeline: PipelineFile, job: dict[str, Any], step: dict[str, Any] | None = None) -> Scope:
    steps = {str(s["id"]): s for s in _steps(job) if "id" in s}
    return Scope(job, _env(pipeline.root, job, step), steps)


def _matrix_values(job: dict[str, Any], path: list[str]) -> list[str] | None:
    """Every value matrix.<path> takes, from the matrix's lists and its include: rows; None when any is computed at run time."""
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict) or not path:
        return None
    listed = matrix.get(path[0], [])
    include = matrix.get("include", [])
    if not isinstance(listed, list) or not isinstance(include, list):
        return None  # fromJSON(...) and other expressions
    rows = [*listed, *(row[path[0]] for row in include if isinstance(row, dict) and path[0] in row)]
    values = []
    for row in rows:
        for part in path[1:]:
            row = row.get(part) if isinstance(row, dict) else None
        if row is None or isinstance(row, (dict, list)):
            return None
        values.append(_scalar(row))
    return values or None


def _metadata_images(step: dict[str, Any]) -> str | None:
    """docker/metadata-action's tags output names the images of its `images:` input (one per line, `name=` or bare)."""
    if not str(step.get("uses", "")).startswith("docker/metadata-action"):
        return None
    names = []
    for line in _text_lines(_inputs(step).get("images")).splitlines():
        fields = [field.strip() for field in line.split(",")]
        names += [field[5:] for field in fields if field.startswith("name=")] or fields[:1]
    return "\n".join(names) or None


def _values(expression: str, scope: Scope) -> list[str] | None:
    parts = expression.split(".")
    if expression in ("true", "false"):
        return [expression]
    if parts[0] == "matrix":
        return _matrix_values(scope.job, parts[1:])
    if parts[0] == "env" and len(parts) == 2 and parts[1] in scope.env:
        return [scope.env[parts[1]]]
    if parts[0] == "inputs" and len(parts) == 2 and parts[1] in scope.inputs:
        return scope.inputs[parts[1]]
    if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs" and parts[1] in scope.steps:
        step = scope.steps[parts[1]]
        written = _metadata_images(step) if parts[3] == "tags" else None
        return [written] if written else _run_output(step, parts[3])
    return None


def _run_output(step: dict[str, Any], name: str) -> list[str] | None:
    """What a run step writes to $GITHUB_OUTPUT as `name`, its shell variables filled in from
    plain assignments earlier in the script (a candidate registry's `address=localhost:5000`)."""
    script = step.get("run")
    if not isinstance(script, str):
        return None
    assigned: dict[str, str] = {}
    values = []
    for line, written in _output_lines(script, name):
        assignment = None if written else re.fullmatch(r"\s*([A-Za-z_]\w*)=(\S.*?)\s*", line)
        if assignment:
            assigned[assignment.group(1)] = assignment.group(2).strip("\"'")
        for value in written:
            values.append(re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: assigned.get(m.group(1), m.group(0)), value))
    return values or None


# An expression counts as one word of a value written out: `name=${{ secrets.X }}`.
_WRITTEN_VALUE = r"((?:\$\{\{.*?\}\}|[^\s\"'])+)"
_ECHOED = re.compile(r"\b(?:echo|printf)\s+(?:-[en]\s+)?([\"']?)(?P<text>.*?)\1\s*>>")


def _output_lines(script: str, name: str) -> Iterator[tuple[str, list[str]]]:
    """Each line of a script with the values it writes to $GITHUB_OUTPUT as `name`: `name=value`, or
    each line echoed between `name<<DELIMITER` and the delimiter (a multi-line value)."""
    delimiter = None
    for line in script.splitlines():
        echoed = _ECHOED.search(line) if "GITHUB_OUTPUT" in line else None
        text = echoed.group("text").strip() if echoed else None
        if delimiter is not None and text is not None:
            delimiter = None if text == delimiter else delimiter
            yield line, [text] if delimiter else []
            continue
        opened = re.fullmatch(rf"{re.escape(name)}<<-?([\w-]+)", text or "")
        if opened:
            delimiter = opened.group(1)
            yield line, []
            continue
        yield line, re.findall(rf"(?:^|[\s\"'])\b{re.escape(name)}={_WRITTEN_VALUE}", line) if "GITHUB_OUTPUT" in line else []


def _variants(text: str, scope: Scope, depth: int = 0) -> list[str]:
    """text once for each value its resolvable expressions take; an unresolvable expression stays as written."""
    for match in EXPRESSION.finditer(text):
        values = _values(match.group(1), scope) if depth < 5 else None
        if values is None:
            continue
        out: list[str] = []
        for value in values:
            # One run gives an expression one value wherever it is written.
            out += _variants(text.replace(match.group(0), value), scope, depth + 1)
            if len(out) >= MAX_VARIANTS:
                break
        return out[:MAX_VARIANTS]
    return [text]


def _shell_variants(text: str, scope: Scope) -> list[str]:
    """A script's variants with continued lines joined, $NAME filled in from env, and comment lines dropped."""
    def filled(match: re.Match[str]) -> str:
        return scope.env.get(match.group(1) or match.group(2), match.group(0))

    out = []
    for variant in _variants(text, scope):
        variant = one_word_expressions(variant)
        code = "\n".join(line for line in joined(variant).splitlines() if not line.lstrip().startswith("#"))
        out.append(SHELL_VARIABLE.sub(filled, code))
    return out


def _inputs(step: dict[str, Any]) -> dict[str, Any]:
    inputs = step.get("with")
    return inputs if isinstance(inputs, dict) else {}


def _text_lines(value: Any) -> str:
    """An action's list input as the action reads it: one item a line, whether written as a YAML list or a string."""
    return "\n".join(map(_scalar, value)) if isinstance(value, list) else _scalar(value) if value is not None else ""


# Shells whose script lines start programs with their arguments; python, node or `perl {0}` read the
# script as code of their own, where `T = '${{ secrets.X }}'` is an assignment, never a command.
SHELLS = {"bash", "sh", "dash", "ksh", "zsh", "pwsh", "powershell", "cmd"}


def runs_shell(step: dict[str, Any], *holders: Any) -> bool:
    """Whether a run step's script is read by a shell: its own shell:, else the nearest holder's
    (the job's, then the workflow's) defaults.run.shell. None set, or one given by an expression, is."""
    shell = step.get("shell")
    for holder in reversed(holders):
        defaults = holder.get("defaults") if shell is None and isinstance(holder, dict) else None
        run = defaults.get("run") if isinstance(defaults, dict) else None
        shell = run.get("shell") if isinstance(run, dict) else shell
    words = str(shell).split() if shell is not None else []
    return not words or "${{" in words[0] or os.path.basename(words[0]).removesuffix(".exe") in SHELLS


# Wrapper actions (ssh, retry, ...) run shell commands given as inputs with names like these.
COMMAND_INPUT = re.compile(r"(^|[-_])(run|script|scripts|command|commands|cmd)$")


NON_SHELL_ACTIONS = ("actions/github-script",)


def _scripts(step: dict[str, Any]) -> Iterator[tuple[Any, str, str]]:
    """(holder, key, text) for each shell script a step runs: its run:, or a wrapper action's command inputs."""
    if isinstance(step.get("run"), str):
        yield step, "run", step["run"]
    # actions/github-script's `script:` is JavaScript: a `docker pull` in its strings is text it prints.
    if "uses" in step and not str(step["uses"]).startswith(NON_SHELL_ACTIONS):
        for key, value in _inputs(step).items():
            if COMMAND_INPUT.search(str(key)) and isinstance(value, str):
                yield _inputs(step), key, value


def _moving_buildx(version: str) -> bool:
    """A setup-buildx `version:` that moves: `latest`, the newest of a channel (`lab:latest`,
    `cloud:latest`), the development builds (`edge`), or a branch of buildx's repository (`...#master`)."""
    version = version.strip().lower()
    return version.rsplit(":", 1)[-1] in {"latest", "edge", "nightly"} or bool(re.search(r"#(master|main)$", version))


def unpinned_buildkit(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    # Into the repository's composite actions too: a setup step written there is reported there.
    for name, file, step, holders, _ in job_steps(pipeline):
        job = holders[1]
        uses = str(step.get("uses", ""))
        inputs = _inputs(step)
        scope = _scope(pipeline, job, step)
        moving = sorted({v for v in _variants(_scalar(inputs.get("version", "")), scope) if _moving_buildx(v)})
        if uses.startswith("docker/setup-buildx-action") and moving:
            yield rule.finding(
                pipeline, (file, line_of(inputs, "version")),
                f"{name}: setup-buildx version: {moving[0].strip()} installs whatever buildx is newest (in that channel) on each run; "
                "pin a release (e.g. v0.36.1)", job=name,
            )
        # Every setup-buildx input may name the BuildKit image: driver-opts, buildkitd-flags, the append: nodes' driver-opts.
        texts = [(inputs, key, _text(value)) for key, value in inputs.items()] if uses.startswith("docker/setup-buildx-action") else []
        texts += list(_scripts(step))
        for holder, key, text in texts:
            moving = sorted({tag for variant in _shell_variants(text, scope) for tag in moving_buildkit_tags(variant)})
            if moving:
                images = ", ".join(f"moby/buildkit{':' + tag if tag else ''}" for tag in moving)
                yield rule.finding(
                    pipeline, (file, line_within(holder, key, "moby/buildkit", file)),
                    f"{name}: {images} moves under the build; pin a release (e.g. moby/buildkit:v0.32.2)", job=name,
                )


LOCAL_REGISTRY = ("localhost", "127.0.0.1", "[::1]")
# Destinations on the runner itself (podman, buildah and skopeo transports), never a registry.
LOCAL_TRANSPORT = re.compile(r"(oci|oci-archive|docker-archive|dir|containers-storage|docker-daemon):")
# Flags whose value is an input of the build, never where it goes.
NOT_DESTINATION = {"-f", "--file", "--iidfile", "--metadata-file", "--platform", "--target", "--build-arg", "--label", "--secret",
                   "--ssh", "--cache-from", "--cache-to", "--build-context", "--builder", "--source"}


def _local_only(command: str) -> bool:
    """Whether every image a push command names is on a job-local candidate registry (localhost:5000)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    references, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            flag, has_value, word = word.partition("=")
            if flag in NOT_DESTINATION:
                skip = not has_value
                continue
        references += re.findall(r"(?:^|,)name=([^,]+)", word) or ([word] if "=" not in word else [])
    references = [r for r in references if ("/" in r or ":" in r) and not r.startswith((".", "/", "~"))]
    return bool(references) and all(r.startswith(LOCAL_REGISTRY) or LOCAL_TRANSPORT.match(r) for r in references)


def _script_pushes(text: str, scope: Scope) -> bool:
    for variant in _shell_variants(without_echoes(text), scope):
        for command in re.split(r"&&|\|\||[;|\n]", variant):
            command = re.sub(r"--push=false\b", "", command)
            if PUSHES.search(command) and not _local_only(command):
                return True
    return False


SHELL_PROGRAMS = {"bash", "sh", "zsh", "dash"}
IMAGE_WORDS = re.compile(r"docker|image|container|registry|oci")
# A login, or a cloud CLI making one's password (`aws ecr get-login-password`).
LOGIN_OR_TOKEN = re.compile(rf"{REGISTRY_LOGIN.pattern}|\becr\s+get-login")


def _own_script_pushes(text: str, scope: Scope) -> bool:
    """A script of the repository's own, whose code the file does not show, that says it pushes: given
    `--push` (`./build.sh --push`), or named for it (`bash ci/docker_push.sh`), in a job that holds
    registry credentials for it. Without credentials such a script cannot publish."""
    if not _holds_credentials(scope):
        return False
    for variant in _shell_variants(text, scope):
        for program, command in simple_commands(variant):
            words = command.split()
            arguments = words[words.index(program) + 1:] if program in words else []
            # `bash ci/push.sh`: the script is the shell's first operand.
            path = next((word for word in arguments if not word.startswith("-")), "") if program in SHELL_PROGRAMS else program
            if not ("/" in path or path.endswith(".sh")) or path.startswith(("/usr/", "/bin/")):
                continue
            # A push script must say what it pushes: push-docs.sh publishes no image.
            named = "push" in re.split(r"[-_.]", os.path.basename(path).lower()) and IMAGE_WORDS.search(path.lower())
            if named or "--push" in arguments:
                return True
    return False


def _holds_credentials(scope: Scope) -> bool:
    """Whether a job can log in to a registry: a login action or command in a step, or a secret other
    than the job's own token in the step's env."""
    for step in _steps(scope.job):
        if str(step.get("uses", "")).split("@")[0].endswith("login-action"):
            return True
        if any(LOGIN_OR_TOKEN.search(text) for _, _, text in _scripts(step)):
            return True
    return any("secrets." in value and "secrets.GITHUB_TOKEN" not in value for value in scope.env.values())


def _on(value: Any, scope: Scope) -> bool:
    """An action's boolean input as it may evaluate: on unless every way it can resolve is false (an unknown expression may be true)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    return any(v.strip().lower() == "true" or "${{" in v for v in _variants(_scalar(value), scope))


def _build_push_pushes(inputs: dict[str, Any], scope: Scope) -> bool:
    outputs = [line for text in _variants(_text_lines(inputs.get("outputs")), scope) for line in text.splitlines()]
    to_registry = any(re.search(r"type=registry\b|(^|,)\s*push=(true\b|\$\{\{)", line) for line in outputs)
    if not (_on(inputs.get("push"), scope) or to_registry):
        return False
    # Pushing to a job-local candidate registry (to test and scan that digest) is not publishing.
    destinations = [tag for text in _variants(_text_lines(inputs.get("tags")), scope) for tag in re.split(r"[\n,]", text)]
    destinations += [name for line in outputs for name in re.findall(r"(?:^|,)\s*\"?name=([^,\"]+)", line)]
    destinations = [d.strip() for d in destinations if d.strip()]
    return not destinations or not all(d.startswith(LOCAL_REGISTRY) for d in destinations)


# Another vendor's action that builds and publishes an image (whoan/docker-build-with-cache-action, a
# "build and push" deploy action): it is given an image name and a registry or its credentials, and
# its name says it builds, pushes or publishes.
IMAGE_INPUT = re.compile(r"^(image|image[-_]?(name|tag|tags)|repository|tags)$", re.IGNORECASE)
REGISTRY_INPUT = re.compile(r"registry|username|password|token", re.IGNORECASE)
PUBLISHING = re.compile(r"build|push|publish", re.IGNORECASE)


PUSHES_IMAGES_BY_NAME = re.compile(r"(?=.*push)(?=.*(registry|image|docker|container|oci|ecr|gcr|ghcr|quay))", re.IGNORECASE)


def _vendor_build_pushes(step: dict[str, Any], scope: Scope) -> bool:
    uses = str(step.get("uses", ""))
    if not uses or uses.startswith(("docker/", "./", "docker://", *BUILD_PUSH_ACTIONS, *BAKE_ACTIONS)) or SCANNERS.search(uses):
        return False
    inputs = _inputs(step)
    keys = [str(key) for key in inputs]
    # The action's own name, not the step's: "Push Docker Description" pushes a README.
    name = uses.split("@")[0].rsplit("/", 1)[-1]
    said = PUBLISHING.search(name)
    told_not = "push" in inputs and not _on(inputs.get("push"), scope)
    if told_not or not said or not any(IMAGE_INPUT.match(key) for key in keys):
        return False
    # An action named for pushing an image (`push-to-registry`, `docker-push`) needs no credentials of
    # its own: it uses the login an earlier step made.
    return bool(PUSHES_IMAGES_BY_NAME.search(name)) or any(REGISTRY_INPUT.search(key) for key in keys)


def _pushes(step: dict[str, Any], scope: Scope) -> bool:
    uses = str(step.get("uses", ""))
    inputs = _inputs(step)
    # Another action taking build-push-action's `push:` and image `tags:` inputs (a wrapper, or the
    # repository's own `./` action) pushes as it does; git actions push with neither pair.
    if uses.startswith(BUILD_PUSH_ACTIONS) or ("push" in inputs and "tags" in inputs and not uses.startswith(("docker/", *BAKE_ACTIONS))):
        # build-push-action v1 pushed unless told not to; v2 turned the default around.
        v1 = re.match(r"docker/build-push-action@v1(\.|$)", uses) and "push" not in inputs
        return _build_push_pushes({**inputs, "push": True} if v1 else inputs, scope)
    if uses.startswith(BAKE_ACTIONS) and "/subaction/" not in uses:
        sets = "\n".join(_variants(_text_lines(inputs.get("set")), scope))
        return _on(inputs.get("push"), scope) or bool(re.search(r"\.output=(type=registry\b|[^\n]*\bpush=true\b)", sets))
    if _vendor_build_pushes(step, scope):
        return True
    return any(_script_pushes(text, scope) or _own_script_pushes(text, scope) for _, _, text in _scripts(step))


# What a tag list cannot be read through: an expression left unresolved, a shell parameter or a
# command substitution (a step output read from its script), whose commas, colons and slashes
# belong to it, not to the list.
OPAQUE = re.compile(r"\$\{\{(?:[^}\n]|\}(?!\})){0,500}\}\}|\$\{[^}\n]{0,500}\}|\$\((?:[^()\n]|\([^()\n]*\)){0,500}\)")
PLAIN_REFERENCE = re.compile(r"\$\{\{\s*[\w.-]+\s*\}\}")


BAKE_FILE = re.compile(r"steps\.([\w-]+)\.outputs\.bake-file(?:-tags)?\b")


def _tagged_repositories(step: dict[str, Any], scope: Scope) -> list[str]:
    """The repositories an action's `tags:` name, each once: two registries fed by one step are two
    publications to scan (a metadata step's `images:` lines are distinct repositories by design). A
    tag that is one expression may name any of them, so it adds none."""
    # A matrix's values are separate runs of the step, so the variants are not added up.
    found: list[str] = _run_repositories(step, scope)
    # bake-action given a metadata step's bake file (`cwd://${{ steps.meta.outputs.bake-file-tags }}`)
    # tags the images of that step's `images:`.
    baked = [
        images for found_file in BAKE_FILE.finditer(_text_lines(_inputs(step).get("files")))
        if (meta := scope.steps.get(found_file.group(1))) and (images := _metadata_images(meta))
    ]
    for text in [*_variants(_text_lines(_inputs(step).get("tags")), scope), *baked]:
        opaque: list[str] = []

        def masked(match: re.Match[str]) -> str:
            opaque.append(match.group(0))
            return f"\0{len(opaque) - 1}\0"

        repositories = []
        for tag in re.split(r"[\n,]", OPAQUE.sub(masked, text)):
            tag = tag.strip().split("@", 1)[0]
            whole = re.fullmatch(r"\0(\d+)\0", tag)
            # `${{ inputs.ghcr_image }}` names one repository; a computed expression may name any.
            if not tag or (whole and not PLAIN_REFERENCE.fullmatch(opaque[int(whole.group(1))])) or tag.startswith(LOCAL_REGISTRY):
                continue
            slash = tag.rfind("/")
            colon = tag.find(":", slash + 1)
            repository = tag[:colon] if colon >= 0 else tag
            repositories.append(re.sub(r"\0(\d+)\0", lambda m: opaque[int(m.group(1))], repository))
        repositories = list(dict.fromkeys(repositories))
        found = repositories if len(repositories) > len(found) else found
    return found


RUN_TAG = re.compile(r"(?:\s-t|\s--tag)[=\s]+[\"']?([^\s\"']+)")
RUN_PUSH = re.compile(r"\b(?:docker|podman)\s+push\s+(?:-\S+\s+)*[\"']?([^\s\"'$-][^\s\"']*)")


SCRIPT_LITERAL = re.compile(r"""(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z_]\w*)=("[^"$`]*"|'[^']*'|[^\s"'$`;&|]+)[ \t]*$""")


def _fixed_assignments(text: str) -> dict[str, str]:
    """The script's own variables set to fixed text on a line of their own (`GHCR="ghcr.io/acme/app:1"`)."""
    return {name: value.strip("\"'") for name, value in SCRIPT_LITERAL.findall(text)}


def _run_repositories(step: dict[str, Any], scope: Scope) -> list[str]:
    """The repositories a script's pushes name (`buildx build --push -t a:1 -t b:1`, `docker push a:1`,
    `imagetools create -t a:1`), with env, expressions and the script's own fixed assignments filled
    in, each once; one still written through a variable is left to the step's single finding."""
    repositories: list[str] = []
    for _, _, text in _scripts(step):
        code = max(_shell_variants(text, replace(scope, env={**scope.env, **_fixed_assignments(text)})), key=len, default="")
        # A command continued over several lines (`imagetools create \` then `-t a:1`) is one command.
        for command in re.split(r"\n|&&|;", re.sub(r"\\\r?\n", " ", code)):
            tags = RUN_TAG.findall(command) if re.search(r"--push\b|push=true|type=registry|imagetools\s+create", command) else []
            for tag in tags + RUN_PUSH.findall(command):
                tag = tag.split("@", 1)[0]
                colon = tag.find(":", tag.rfind("/") + 1)
                repository = tag[:colon] if colon >= 0 else tag
                # `${{ needs.vars.outputs.ghcr_image }}` names one repository, as in a `tags:` input.
                named = "$" not in repository and "/" in repository or PLAIN_REFERENCE.fullmatch(repository)
                if named and not repository.startswith(LOCAL_REGISTRY):
                    repositories.append(repository)
    return list(dict.fromkeys(repositories))


def _tight(text: str) -> str:
    """Expressions written without their inner spaces: `${{ a.b }}` and `${{a.b}}` are one."""
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"${{\1}}", text)


def _repository_line(step: dict[str, Any], scope: Scope, file: str, repository: str) -> int | None:
    """Where a script pushes one of several repositories: the first line naming it, itself or through
    a variable the script or env fixes to it (`--tag $GHCR_STABLE`)."""
    if not repository or not isinstance(step.get("run"), str):
        return None
    text = str(step["run"])
    holders = [name for name, value in {**scope.env, **_fixed_assignments(text)}.items() if repository in str(value)]
    for line in text.splitlines():
        if line.lstrip().startswith("#") or re.match(r"\s*(?:export\s+)?\w+=", line):
            continue
        filled = _tight(next(iter(_variants(line, scope)), line))
        if re.search(re.escape(_tight(repository)) + r"(?![\w./-])", filled) or any(re.search(rf"\$\{{?{re.escape(name)}\b", line) for name in holders):
            return line_within(step, "run", line.strip(), file)
    return None


PUSH_WORD = re.compile(r"--push\b|\bpush=true\b|type=registry\b|\bpush\b")


def _push_line(step: dict[str, Any], scope: Scope, file: str) -> int:
    """The line that pushes, where a reviewer fixes it: the action's push, outputs or set input, or
    the script line with the push (a command continued over lines: the line that says push)."""
    inputs = _inputs(step)
    for key in ("push", "outputs", "set"):
        if key in inputs and (key != "push" or _on(inputs[key], scope)):
            return line_of(inputs, key)
    for holder, key, text in _scripts(step):
        lines = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
        pushing = (next((line for line in lines if _script_pushes(line, scope)), None)
                   or next((line for line in lines if _own_script_pushes(line, scope)), None)
                   or next((line for line in lines if PUSH_WORD.search(line)), None))
        if pushing:
            return line_within(holder, key, pushing, file)
    return line_of(step)


def _scans(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    if uses.startswith("docker/scout-action"):
        return bool(re.search(r"\b(cves|quickview|compare)\b", _text(_inputs(step).get("command"))))
    env = step.get("env") if isinstance(step.get("env"), dict) else {}
    said = " ".join([str(step.get("name", "")), *(text for _, _, text in _scripts(step)), *map(str, env.values())])
    return uses.startswith(SCAN_ACTIONS) or bool(SCANNERS.search(said))


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs")
    return [needs] if isinstance(needs, str) else [n for n in needs if isinstance(n, str)] if isinstance(needs, list) else []


# --- GH005 through the repository's own reusable workflows and composite actions -----------------

MAX_CALL_DEPTH = 20  # deeper than any repository nests its workflows and actions


@dataclass(frozen=True)
class _Place:
    """Where steps are written and what reaches them: a followed workflow or action is audited with
    what its caller gives it, and its findings stay in its own file."""

    file: str
    holders: tuple[Any, ...]  # what gives the steps env: the workflow and the job, and an action's steps the step using it
    inputs: dict[str, list[str]]
    called: str  # where the file was called from, for the message ("" in the file given)
    job: str  # the job of the file given that the finding counts toward
    stack: tuple[str, ...]  # the files on the way (resolved), so a file calling itself is not followed again


def _followed(pipeline: PipelineFile, uses: Any, stack: tuple[str, ...]) -> LocalFile | None:
    """The local workflow or action `uses:` names, when the reader found it and following it makes no cycle."""
    local = pipeline.local.get(uses) if isinstance(uses, str) else None
    return local if local and os.path.realpath(local.path) not in stack and len(stack) < MAX_CALL_DEPTH else None


def _composite_steps(action: LocalFile | None) -> list[dict[str, Any]] | None:
    runs = action.root.get("runs") if action else None
    if not isinstance(runs, dict) or runs.get("using") != "composite":
        return None  # a JavaScript or Docker action: its code is not YAML the lint reads
    return [step for step in runs.get("steps") or [] if isinstance(step, dict) and not _switched_off(step)] if isinstance(runs.get("steps"), list) else []


def _called_inputs(declared: Any, given: dict[str, Any], scope: Scope) -> dict[str, list[str]]:
    """Each input's possible values: what the caller passes (its expressions resolved where the caller
    can resolve them), else the declared default, else GitHub's empty value for the type."""
    values: dict[str, list[str]] = {}
    for name, spec in declared.items() if isinstance(declared, dict) else ():
        spec = spec if isinstance(spec, dict) else {}
        default = spec.get("default")
        empty = {"boolean": "false", "number": "0"}.get(str(spec.get("type")), "")
        values[str(name)] = [_scalar(default) if default is not None else empty]
    for name, value in given.items():
        if not isinstance(value, (dict, list)):
            values[str(name)] = _variants(_scalar(value), scope)
    return values


def _step_scans(pipeline: PipelineFile, step: dict[str, Any], stack: tuple[str, ...]) -> bool:
    action = _followed(pipeline, step.get("uses"), stack)
    inner = _composite_steps(action)
    if action and inner is not None:
        return any(_step_scans(pipeline, s, (*stack, os.path.realpath(action.path))) for s in inner)
    return _scans(step)


def _job_scans(pipeline: PipelineFile, job: dict[str, Any], stack: tuple[str, ...]) -> bool:
    """Whether a job scans. A reusable workflow the lint cannot read (remote, or missing) may scan;
    a local one does when one of its jobs does."""
    if "uses" in job:
        callee = _followed(pipeline, job["uses"], stack)
        if callee is None:
            return True
        inner = (*stack, os.path.realpath(callee.path))
        return any(_job_scans(pipeline, called, inner) for _, called in _jobs_of(callee.root))
    return any(_step_scans(pipeline, step, stack) for step in _steps(job))


def _scanned_before(pipeline: PipelineFile, name: str, jobs: dict[str, dict[str, Any]], stack: tuple[str, ...],
                    seen: frozenset[str] = frozenset()) -> bool:
    """Whether a job this one needs (directly or not) scans: its output is what this job publishes."""
    for need in _needs(jobs.get(name, {})):
        if need not in jobs or need in seen:
            continue
        if _job_scans(pipeline, jobs[need], stack) or _scanned_before(pipeline, need, jobs, stack, seen | {name}):
            return True
    return False


def _where(pipeline: PipelineFile, file: str, line: int) -> str:
    relative = os.path.relpath(file, pipeline.base) if pipeline.base else file
    return f"{file if relative.startswith('..') else relative}:{line}"


def _steps_pushes(pipeline: PipelineFile, rule: Rule, job: dict[str, Any], steps: list[dict[str, Any]], scanned: bool,
                  place: _Place) -> tuple[list[Finding], bool]:
    """GH005's findings in steps run in order (into the composite actions they use), and whether a scan ran by their end."""
    findings: list[Finding] = []
    ids = {str(s["id"]): s for s in steps if "id" in s}
    for step in steps:
        scope = Scope(job, _env(*place.holders, step), ids, place.inputs)
        action = _followed(pipeline, step.get("uses"), place.stack)
        inner = _composite_steps(action)
        if action and inner is not None:
            called = f" (in the action used at {_where(pipeline, place.file, line_of(step))})"
            into = _Place(action.path, (*place.holders, step), _called_inputs(action.root.get("inputs"), _inputs(step), scope),
                          called, place.job, (*place.stack, os.path.realpath(action.path)))
            found, inner_scanned = _steps_pushes(pipeline, rule, job, inner, scanned, into)
            findings += found
            scanned = scanned or inner_scanned
            continue
        if not scanned and _pushes(step, scope):
            repositories = _tagged_repositories(step, scope)
            for repository in repositories if len(repositories) > 1 else [""]:
                what = f"{repository}, which" if repository else "an image that"
                findings.append(replace(rule.finding(
                    pipeline, (place.file, _repository_line(step, scope, place.file, repository) or _push_line(step, scope, place.file)),
                    f"{place.job}: this step pushes {what} no earlier step of the job scanned{place.called}; build to a local "
                    "or candidate location, scan it (trivy, grype), and push only that tested digest", job=place.job,
                ), subject=repository))
        scanned = scanned or _scans(step)
    return findings, scanned


def _workflow_pushes(pipeline: PipelineFile, rule: Rule, root: dict[str, Any], place: _Place) -> Iterator[Finding]:
    jobs = dict(_jobs_of(root))
    for name, job in jobs.items():
        scanned = _scanned_before(pipeline, name, jobs, place.stack)
        top = place.job or name
        callee = _followed(pipeline, job.get("uses"), place.stack)
        if callee is not None and not scanned:
            # `with:` of a calling job sees matrix and inputs, not env.
            inputs = _called_inputs(_workflow_call(callee.root).get("inputs"), _inputs(job), Scope(job, {}, {}, place.inputs))
            called = f" (in the workflow called at {_where(pipeline, place.file, line_of(job, 'uses'))})"
            yield from _workflow_pushes(pipeline, rule, callee.root, _Place(
                callee.path, (), inputs, called, top, (*place.stack, os.path.realpath(callee.path))))
        if "uses" in job:
            if not scanned and _remote_call_pushes(job, root, place):
                yield rule.finding(
                    pipeline, (place.file, line_of(_inputs(job), "push")),
                    f"{top}: passes push: to the reusable workflow {job['uses']}, which publishes what it builds{place.called}, and no job "
                    "this one needs scanned the image; scan a candidate in a job it needs, or have the workflow scan before it pushes",
                    job=top,
                )
            continue
        found, _ = _steps_pushes(pipeline, rule, job, _steps(job), scanned, _Place(place.file, (root, job), place.inputs, place.called, top, place.stack))
        yield from found


def _hands_credentials(job: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether a calling job gives the called workflow a way into a registry: secrets (`inherit` or
    named), or a GITHUB_TOKEN that may write packages or mint an OIDC token for a cloud registry. Where
    neither the job nor the workflow sets permissions, the repository's default may allow both."""
    if job.get("secrets"):
        return True
    permissions = job.get("permissions", root.get("permissions"))
    if permissions is None or permissions == "write-all":
        return True
    return isinstance(permissions, dict) and any(permissions.get(scope) == "write" for scope in ("packages", "id-token"))


def _remote_call_pushes(job: dict[str, Any], root: dict[str, Any], place: _Place) -> bool:
    """A job calling another repository's reusable workflow with a `push:` input that may be true, and
    the credentials to push: the caller decides that push. Only an input named push is read; what else
    the workflow does is unknown."""
    uses = job.get("uses")
    inputs = _inputs(job)
    if not isinstance(uses, str) or uses.startswith("./") or "push" not in inputs or not _hands_credentials(job, root):
        return False
    # `with:` of a calling job sees matrix and inputs, not env.
    return _on(inputs["push"], Scope(job, {}, {}, place.inputs))


def _workflow_call(root: dict[str, Any]) -> dict[str, Any]:
    # A YAML 1.1 reader turns the `on` key into true.
    on = root.get("on", root.get(True))
    call = on.get("workflow_call") if isinstance(on, dict) else None
    return call if isinstance(call, dict) else {}


def push_without_scan(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    yield from _workflow_pushes(pipeline, rule, pipeline.root, _Place(pipeline.path, (), {}, "", "", (os.path.realpath(pipeline.path),)))


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


def job_steps(pipeline: PipelineFile) -> Iterator[tuple[str, str, dict[str, Any], tuple[Any, ...], list[dict[str, Any]]]]:
    """(job, file, step, holders, siblings) for each step a job runs, into the local composite actions it
    uses. A step written in an action is the action's: reported in its file, once however many jobs use it."""
    for name, job in _jobs(pipeline):
        yield from _walk_steps(pipeline, name, pipeline.path, _steps(job), (pipeline.root, job), (os.path.realpath(pipeline.path),))


def _walk_steps(pipeline: PipelineFile, name: str, file: str, steps: list[dict[str, Any]], holders: tuple[Any, ...],
                stack: tuple[str, ...]) -> Iterator[tuple[str, str, dict[str, Any], tuple[Any, ...], list[dict[str, Any]]]]:
    for step in steps:
        action = _followed(pipeline, step.get("uses"), stack)
        inner = _composite_steps(action)
        if action and inner is not None:
            yield from _walk_steps(pipeline, name, action.path, inner, (*holders, step), (*stack, os.path.realpath(action.path)))
        else:
            yield name, file, step, holders, steps


def password_on_command_line(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, file, step, _, _ in job_steps(pipeline):
        for holder, key, text in _scripts(step):
            code = "\n".join(line for line in joined(text).splitlines() if not line.lstrip().startswith("#"))
            found = LOGIN_WITH_PASSWORD.search(without_echoes(code))
            if found:
                yield rule.finding(
                    pipeline, (file, line_within(holder, key, password_flag_line(text, code[: found.end()].count("login")), file)),
                    f"{name}: {login_tool(found)} login with a password flag puts the secret on the command line and in process "
                    "lists (and a ${{ secrets.X }} there is pasted into the script itself); use docker/login-action, or pipe it "
                    "to --password-stdin from env:", job=name,
                )


def _job_images(job: dict[str, Any]) -> Iterator[tuple[str, Any, Any, str]]:
    """(what, holder, key, image as written) for the job container and each service."""
    container = job.get("container")
    if isinstance(container, str):
        yield "container", job, "container", container
    elif isinstance(container, dict) and isinstance(container.get("image"), str):
        yield "container", container, "image", container["image"]
    services = job.get("services")
    for service_name, service in (services.items() if isinstance(services, dict) else []):
        if isinstance(service, dict) and isinstance(service.get("image"), str):
            yield f"services.{service_name}", service, "image", service["image"]


def _literal_tag_unpinned(image: str) -> str | None:
    """unpinned_reason of an image whose last path part (name and tag) is written out, whatever
    expressions name its registry or owner (ghcr.io/${{ github.repository }}/dind); None when an
    expression is in that part, whose tag is unknown."""
    image = one_word_expressions(image)
    return None if "${{" in image.rsplit("/", 1)[-1] else unpinned_reason(image)


def _sibling_workflows(pipeline: PipelineFile) -> Iterator[dict[str, Any]]:
    """The other workflows beside this one in `.github/workflows/`, as plain YAML (unreadable ones skipped)."""
    folder = os.path.dirname(os.path.abspath(pipeline.path))
    if not folder.replace(os.sep, "/").endswith(".github/workflows"):
        return
    for path in sorted(glob.glob(os.path.join(folder, "*.y*ml"))):
        if os.path.samefile(path, pipeline.path):
            continue
        try:
            with open(path, encoding="utf-8") as stream:
                root = yaml.safe_load(stream)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(root, dict):
            yield root


def _built_here(pipeline: PipelineFile, siblings: bool = False) -> set[str]:
    """The repositories the workflow builds itself: a build action's `tags:` (or v1's `repository:`)
    and the names scripts give builds (`docker build -t`); with siblings, those the repository's other
    workflows build too (a dind image build-images.yml builds is the project's own output)."""
    built: set[str] = set()
    others = (found for root in _sibling_workflows(pipeline) for found in _jobs_of(root)) if siblings else ()
    for _, job in [*_jobs(pipeline), *others]:
        for step in _steps(job):
            inputs = _inputs(step)
            if str(step.get("uses", "")).startswith(BUILD_PUSH_ACTIONS):
                names = re.split(r"[\n,]", _text(inputs.get("tags"))) + [_text(inputs.get("repository"))]
                built |= {image_repository(name.strip()) for name in names if name.strip()}
            built |= {repository for _, _, text in _scripts(step) for repository in built_repositories(text)}
    return built


def unpinned_container_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    built = _built_here(pipeline)
    everywhere: set[str] | None = None  # the other workflows are read only for an image that would be reported
    for name, job in _jobs(pipeline):
        # A job's container and services see matrix (and inputs, vars, needs), never env.
        scope = Scope(job, {}, {})
        for what, holder, key, written in _job_images(job):
            # An empty image (matrix rows with container: '') runs on the runner itself; an image this
            # workflow builds is its own output, as GL001 reads it.
            images = {variant.strip().removeprefix("docker://") for variant in _variants(written, scope)} - {""}
            images = {image for image in images if image_repository(image) not in built}
            moving = sorted((image, why) for image in images for why in [_literal_tag_unpinned(image)] if why)
            if moving:
                everywhere = _built_here(pipeline, siblings=True) if everywhere is None else everywhere
                moving = [(image, why) for image, why in moving if image_repository(image) not in everywhere]
            if moving:
                listed = "; ".join(f"{image} {why}" for image, why in moving)
                yield rule.finding(
                    pipeline, line_of(holder, key),
                    f"{name}: {what} image {listed}; the job runs whatever it points to that day. Pin an exact version, and a "
                    "digest where you can", job=name,
                )


DOCKER_PROGRAMS = {"docker", "docker-compose", "buildx", "podman", "buildah", "nerdctl"}


# An action that runs its script input over ssh (appleboy/ssh-action, ...): named for it.
SSH_ACTION = re.compile(r"^[\w.-]+/[\w.-]*(?<![\w])ssh(?![a-z])[\w.-]*@", re.IGNORECASE)


def _step_runs_docker(pipeline: PipelineFile, step: dict[str, Any], stack: tuple[str, ...]) -> bool:
    """A step that drives Docker: a docker/* action (not metadata-action or a bake subaction, which only compute
    names and matrices), depot's build actions, a container step (uses: docker://), an engine command in a
    script, or a local composite action one of whose steps does."""
    uses = str(step.get("uses", ""))
    # A login writes credentials; metadata and bake's subactions compute names: none drives an engine.
    if uses.startswith(("docker/", "docker://")) and not (uses.startswith(("docker/metadata-action", "docker/login-action")) or "/subaction/" in uses):
        return True
    if uses.startswith((*BUILD_PUSH_ACTIONS, *BAKE_ACTIONS)) and "/subaction/" not in uses:
        return True
    if _vendor_build_pushes(step, Scope(step, {}, {})):
        return True
    # What ssh runs, and what an ssh action's script input runs, runs on the remote host: a hung
    # remote daemon is the host's problem, as GL008 reads it.
    scripts = [] if SSH_ACTION.search(uses) else [text for _, _, text in _scripts(step)]
    if any(program.rsplit("/", 1)[-1] in DOCKER_PROGRAMS for text in scripts for program in commands(REMOTE_COMMAND.sub("ssh", text))):
        return True
    action = _followed(pipeline, step.get("uses"), stack)
    inner = _composite_steps(action)
    if action is None or inner is None:
        return False
    return any(_step_runs_docker(pipeline, s, (*stack, os.path.realpath(action.path))) for s in inner)


def _runs_docker(pipeline: PipelineFile, job: dict[str, Any]) -> bool:
    stack = (os.path.realpath(pipeline.path),)
    return any(_step_runs_docker(pipeline, step, stack) for step in _steps(job)) or any(_dind_services(job))


def _workflows(pipeline: PipelineFile) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file, root) of the workflow given and of each local reusable workflow its jobs call, however
    deep: a called workflow's jobs run as the caller's, and are fixed in the callee's file."""
    pending = [(pipeline.path, pipeline.root, (os.path.realpath(pipeline.path),))]
    seen: set[str] = set()
    while pending:
        file, root, stack = pending.pop(0)
        if stack[-1] in seen:
            continue
        seen.add(stack[-1])
        yield file, root
        for _, job in _jobs_of(root):
            callee = _followed(pipeline, job.get("uses"), stack)
            if callee is not None:
                pending.append((callee.path, callee.root, (*stack, os.path.realpath(callee.path))))


def docker_job_without_timeout(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for file, root in _workflows(pipeline):
        jobs = root.get("jobs")
        for name, job in _jobs_of(root):
            if "timeout-minutes" not in job and "uses" not in job and _runs_docker(pipeline, job):
                line = next((line_of(jobs, key) for key in jobs if str(key) == name), 1)
                yield rule.finding(
                    pipeline, (file, line),
                    f"{name}: runs a container engine with no timeout-minutes, so a hung build or daemon holds the runner for the default 360 "
                    "minutes; set timeout-minutes: on the job (e.g. 30)",
                    job=name,
                )


GITHUB_RULES = [
    Rule("GH001", "dind-flags-in-service-options", "Daemon flags of a dind service never go in services.options.", dind_flags_in_service_options),
    Rule("GH002", "github-iptables-and-icc-off", "No --iptables=false together with --icc=false.", iptables_and_icc_off),
    Rule("GH003", "github-dind-without-tls", "A dind daemon keeps TLS (DOCKER_TLS_CERTDIR set, port 2376).", dind_without_tls),
    Rule("GH004", "unpinned-buildkit", "buildx and BuildKit pinned to releases, never latest.", unpinned_buildkit),
    Rule("GH005", "push-without-scan", "A job scans an image before it pushes it.", push_without_scan),
    Rule("GH006", "privileged-job-container", "The job container is never --privileged.", privileged_job_container),
    Rule("GH007", "host-socket-in-job-container", "The job container never mounts the host's Docker socket.", host_socket_in_job_container),
    Rule("GH008", "github-password-on-command-line", "A registry login never takes its password as a flag.", password_on_command_line),
    Rule("GH009", "github-unpinned-container-image", "Job container and service images name a version, not latest, dind or stable.",
         unpinned_container_image, level="warning"),
    Rule("GH010", "github-docker-job-without-timeout", "A job that runs Docker sets timeout-minutes.", docker_job_without_timeout, level="warning"),
]
