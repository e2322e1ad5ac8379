"""Write a first spec, its editor schema and the pre-commit configuration."""

from __future__ import annotations

import json
import re
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generator.diagnostics import SpecError
from generator.installation import Source, installed_from
from generator.model import is_own
from generator.pipeline import compile_spec
from generator.project import repository_root
from generator.resources import schema_path
from generator.writing import write_atomic

SCHEMA_COPY = ".gen-ci/spec.schema.json"
FILES = "(^|/)(gen-ci\\.ya?ml|\\.gen-ci/.+|\\.github/workflows/[^/]+\\.ya?ml|\\.gitlab-ci\\.ya?ml|Jenkinsfile[^/]*|jenkins/compose\\.ya?ml)$"


def pre_commit_config(source: Source) -> str:
    """A local hook with gen-ci as this machine installed it: a working checkout runs as it is
    (language: system, the gen-ci on PATH); anything else is installed by pre-commit into the
    hook's own environment from the same place, never looked up by name on an index."""
    if source.editable:
        how = [
            "        # gen-ci runs from your working checkout (the gen-ci on PATH), as you installed it.",
            "        language: system",
        ]
    else:
        how = [
            "        # pre-commit installs gen-ci from where you installed it; pin another version or commit here.",
            "        language: python",
            f"        additional_dependencies: [{json.dumps(source.requirement)}]",
        ]
    return "\n".join([
        "repos:",
        "  - repo: local",
        "    hooks:",
        "      - id: gen-ci-sync",
        "        name: gen-ci sync",
        "        entry: gen-ci sync",
        *how,
        "        pass_filenames: false",
        f"        files: {FILES}",
    ]) + "\n"


TAG_SCHEMES = {
    "simple": ["ref", "sha"],
    "semver": [{"tag": "edge", "branches": ["main"]}, "sha", "semver", "latest"],
}


@dataclass
class ImageAnswer:
    registries: list[str]  # repositories with their host, or platform[/<name>]
    context: str = "."


@dataclass
class Answers:
    platforms: list[str]
    images: list[ImageAnswer]
    architectures: list[str] = field(default_factory=lambda: ["linux/amd64"])
    name: str | None = None  # the folder's name when not given
    tag_scheme: str = "semver"
    mode: str = "socket"
    test: str | None = None
    scanner: str = "trivy"
    push_branches: list[str] = field(default_factory=lambda: ["main"])
    push_tags: list[str] = field(default_factory=lambda: ["v*"])
    gitlab_tags: list[str] = field(default_factory=list)
    jenkins_agent: str = "static"  # or kubernetes
    check_job: bool = False  # a job that runs gen-ci check in the pipeline, installing gen-ci as this machine did


def _flow(values: list[str]) -> str:
    # JSON strings are YAML 1.2 scalars: answers are data, quoted, never spliced raw.
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _needs_secrets(repository: str, platforms: list[str]) -> bool:
    """The platforms' own tokens reach only their own registries (and ghcr.io only from GitHub);
    Jenkins logs in with its own credentials, named by registry host."""
    others = [p for p in platforms if p != "jenkins"]
    return bool(others) and not is_own(repository) and not (repository.startswith("ghcr.io/") and others == ["github"])


def _registry_lines(repository: str, platforms: list[str]) -> list[str]:
    lines = [f"      - repository: {json.dumps(repository)}"]
    if _needs_secrets(repository, platforms):
        stem = re.sub(r"[^A-Z0-9]+", "_", repository.split("/", 1)[0].upper()).strip("_")
        lines += ["        auth: secrets", f"        username: {stem}_USERNAME", f"        password: {stem}_PASSWORD"]
    return lines


def spec_text(answers: Answers, name: str) -> str:
    outputs = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml", "jenkins": "Jenkinsfile"}
    targets = [f"  {p}: {outputs[p]}" for p in answers.platforms]
    if "jenkins" in answers.platforms and answers.jenkins_agent == "static":
        targets.append("  jenkins_agent: jenkins/compose.yml  # the agent and its TLS-only Docker daemon")
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_COPY}",
        "# gen-ci spec: see docs/spec.md for every key. Regenerate the pipelines with `gen-ci sync`.",
        "version: 1",
        f"name: {json.dumps(name)}",
        "targets:",
        *targets,
        "docker:",
        f"  mode: {answers.mode}",
    ]
    lines.append("images:")
    for image in answers.images:
        lines += ["  - publish:", *(line for registry in image.registries for line in _registry_lines(registry, answers.platforms))]
        if image.context != ".":
            lines.append(f"    context: {json.dumps(image.context)}")
        if answers.architectures != ["linux/amd64"]:
            lines.append(f"    platforms: {_flow(answers.architectures)}")
        lines.append("    tags: " + json.dumps(TAG_SCHEMES[answers.tag_scheme]))
        if answers.test:
            lines.append(f"    test: {json.dumps(answers.test)}")
    lines += ["scan:", f"  tool: {answers.scanner}", "push:",
              f"  branches: {_flow(answers.push_branches)}", f"  tags: {_flow(answers.push_tags)}"]
    if answers.push_branches != ["main"]:
        # A branch publishes only from a pipeline its pushes start (GC114).
        lines += ["triggers:", f"  branches: {_flow(list(dict.fromkeys(['main', *answers.push_branches])))}"]
    if any(_needs_secrets(r, answers.platforms) for image in answers.images for r in image.registries) and "github" in answers.platforms:
        lines.append("  environment: registry  # GitHub keeps the registry secrets as environment secrets")
    if answers.gitlab_tags:
        lines += ["runners:", f"  gitlab: {_flow(answers.gitlab_tags)}"]
    if answers.check_job and "jenkins" not in answers.platforms:
        lines.append("check_job: true")
        source = installed_from()
        if not source.requirement.startswith("gen-ci=="):
            lines.append(f"check_install: {json.dumps(source.requirement)}  # where this gen-ci was installed from")
    if "jenkins" in answers.platforms:
        lines += ["jenkins:", f"  agent: {answers.jenkins_agent}",
                  "  # credentials: {docker.io: dockerhub-push}  # registry host -> Jenkins credentials ID (default: the host)"]
    return "\n".join(lines) + "\n"


def project_name(folder: str) -> str:
    """A name the spec accepts, from the folder's: the characters it refuses ($, braces, backquotes,
    backslashes, control characters) dropped."""
    return re.sub(r"[$`{}\\\x00-\x1f\x7f]+", "", folder).strip() or "app"


def _validate(root: Path, text: str, spec: Path) -> None:
    """Compile the spec before anything is written; a SpecError for answers that cannot work
    names the spec that would have been written, never the scratch copy."""
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        candidate = Path(scratch) / "gen-ci.yml"
        candidate.write_text(text, encoding="utf-8")
        try:
            compile_spec(candidate)
        except SpecError as error:
            raise SpecError([replace(d, file=f"{spec} (not written)") for d in error.diagnostics]) from None


def write_project(directory: Path, answers: Answers, spec_name: str = "gen-ci.yml") -> list[tuple[Path, str]]:
    """Create the spec, the schema copy and (when absent) .pre-commit-config.yaml; returns what it did."""
    if answers.check_job and not installed_from().shared:
        raise ValueError(
            f"the check job installs gen-ci in CI, and this gen-ci came from {installed_from().requirement.split(' @ ', 1)[-1]}, "
            "which CI cannot reach; install gen-ci from a git URL or an index, or leave --check-job out"
        )
    root = repository_root(directory)
    spec = root / spec_name
    if spec.exists():
        raise FileExistsError(f"{spec} exists; gen-ci init never overwrites a spec")
    text = spec_text(answers, answers.name or project_name(root.name))
    _validate(root, text, spec)
    done = []
    write_atomic(root / SCHEMA_COPY, schema_path().read_text(encoding="utf-8"))
    done.append((root / SCHEMA_COPY, "wrote the spec's JSON Schema for editor completion"))
    write_atomic(spec, text)
    done.append((spec, "wrote the spec"))
    pre_commit = root / ".pre-commit-config.yaml"
    snippet = pre_commit_config(installed_from())
    if pre_commit.exists():
        done.append((pre_commit, "exists; add this hook to it:\n" + snippet))
    else:
        write_atomic(pre_commit, snippet)
        done.append((pre_commit, "wrote the pre-commit configuration (then run: pre-commit install)"))
    return done


# What each answer is, in the spec's schema: an answer is checked where it is given.
ANSWER_SCHEMAS = {
    "name": ("a project name", ("properties", "name")),
    "registry": ("a repository", ("$defs", "registry", "properties", "repository")),
    "context": ("a build context", ("$defs", "image", "properties", "context")),
    "architecture": ("a platform", ("$defs", "platform")),
    "test": ("a test script", ("$defs", "image", "properties", "test")),
    "branch": ("a branch pattern", ("$defs", "push_pattern")),
    "runner tag": ("a runner tag", ("$defs", "label")),
}


def answer_problem(kind: str, value: str) -> str | None:
    """Why `value` cannot be this answer ("is not ..."), with what to write where one is near; None if it can."""
    from jsonschema import Draft202012Validator

    from generator.validation import spec_schema

    schema = spec_schema()
    label, where = ANSWER_SCHEMAS[kind]
    node = schema
    for part in where:
        node = node[part]
    validator = Draft202012Validator({**node, "$defs": schema["$defs"]})
    if validator.is_valid(value):
        return None
    hint = ""
    for candidate in _near(kind, value):
        if validator.is_valid(candidate):
            hint = f"; did you mean {candidate}?"
            break
    examples = node.get("examples") or [item for item in node.get("enum", [])][:4]
    shown = f" (for example {', '.join(map(str, examples))})" if examples else ""
    return f"is not {label} gen-ci can use. {node.get('description', '').rstrip('.')}{shown}{hint}"


def _near(kind: str, value: str) -> list[str]:
    """What a user most likely meant: the same text lower-cased, with a host, or with an OS."""
    stripped = value.strip()
    near = [stripped, stripped.lower()]
    if kind == "registry" and "/" in stripped and "." not in stripped.split("/", 1)[0] and not is_own(stripped.lower()):
        near.append(f"docker.io/{stripped.lower()}")
    if kind == "architecture":
        near.append(f"linux/{stripped.lower()}")
    return [candidate for candidate in near if candidate != value]


class AnswerError(ValueError):
    """An answer given as an option that cannot work: the option, why, and what to write."""


Ask = Callable[..., Any]


def _problem(kind: str, value: str, platforms: list[str]) -> str | None:
    problem = answer_problem(kind, value)
    if problem is None and kind == "registry" and is_own(value) and "jenkins" in platforms:
        problem = "is in the project's own registry, which Jenkins does not have; name the repository with its host, e.g. docker.io/acme/app"
    return problem


def _checked(kind: str, platforms: list[str]) -> Callable[[str], list[str]]:
    """A prompt's reader: comma-separated answers, each checked; click asks again on BadParameter."""
    import click

    def read(raw: str) -> list[str]:
        values = [value.strip() for value in str(raw).split(",") if value.strip()]
        if not values:
            raise click.BadParameter(f"give at least one {kind}")
        for value in values:
            if problem := _problem(kind, value, platforms):
                raise click.BadParameter(f"{value!r} {problem}")
        if kind == "architecture" and len(values) > 1 and "jenkins" in platforms:
            raise click.BadParameter("Jenkins builds one platform per image; choose one")
        return values

    return read


def _given(option: str, kind: str, values: list[str], platforms: list[str]) -> list[str]:
    for value in values:
        if problem := _problem(kind, value, platforms):
            raise AnswerError(f"{option} {value!r} {problem}")
    if kind == "architecture" and len(values) > 1 and "jenkins" in platforms:
        raise AnswerError(f"{option}: Jenkins builds one platform per image; give one")
    return values


def _repository_default(context: str, index: int, platforms: list[str]) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", Path(context).name.lower()).strip("-") or f"app{index}"
    return f"registry.example.com/acme/{name}" if "jenkins" in platforms else f"platform/{name}"


def _images(given: dict[str, Any], platforms: list[str], ask: Ask | None) -> list[ImageAnswer]:
    if given["images"] and given["registries"]:
        raise AnswerError("--image and --registry: give --registry for one image's registries, or one --image per image")
    if given["registries"]:
        return [ImageAnswer(_given("--registry", "registry", list(given["registries"]), platforms))]
    if given["images"]:
        images = []
        for written in given["images"]:
            context, _, repository = written.rpartition("=")
            _given("--image", "context", [context or "."], platforms)
            registries = [r.strip() for r in repository.split(",")]
            images.append(ImageAnswer(_given("--image", "registry", registries, platforms), context or "."))
        return images
    single = "registry.example.com/acme/app" if "jenkins" in platforms else "platform"  # Jenkins has no registry of its own
    if ask is None:
        return [ImageAnswer([single])]
    import click

    count = ask("How many images does this project build", default=1, type=click.IntRange(1, 20))
    if count == 1:
        return [ImageAnswer(ask("Registries to publish to (comma-separated; platform = this project's own)",
                                default=single, value_proc=_checked("registry", platforms)))]
    images = []
    for index in range(1, count + 1):
        (context,) = ask(f"Image {index}: build context directory", default=".", value_proc=_checked("context", platforms))
        registries = ask(f"Image {index}: registries (comma-separated; platform/<name> = this project's own)",
                         default=_repository_default(context, index, platforms), value_proc=_checked("registry", platforms))
        images.append(ImageAnswer(registries, context))
    return images


def gather(given: dict[str, Any], ask: Ask | None) -> Answers:
    """The answers: each option checked as given, each question asked (ask=None: the defaults)."""
    import click

    def one(text: str, value: Any, default: Any, **kwargs: Any) -> Any:
        if value not in (None, ()):
            return value
        return default if ask is None else ask(text, default=default, **kwargs)

    def several(text: str, option: str, kind: str, values: tuple[str, ...], default: str, platforms: list[str]) -> list[str]:
        if values:
            return _given(option, kind, list(values), platforms)
        return [default] if ask is None else ask(text, default=default, value_proc=_checked(kind, platforms))

    if given["name"] is not None and (problem := answer_problem("name", given["name"])):
        raise AnswerError(f"--name {given['name']!r} {problem}")
    platforms = list(given["platforms"]) or [one("Platform (github, gitlab, jenkins; both = github and gitlab)", None, "github",
                                                 type=click.Choice(["github", "gitlab", "jenkins", "both"]))]
    platforms = ["github", "gitlab"] if platforms == ["both"] else platforms
    images = _images(given, platforms, ask)
    architectures = several("Platforms to build each image for (comma-separated: linux/amd64, linux/arm64, ...)",
                            "--arch", "architecture", given["architectures"], "linux/amd64", platforms)
    tag_scheme = one("Tag scheme (simple: branch or tag name and sha; semver: edge on main, sha, 1.4.2, 1.4, 1 and latest)",
                     given["tag_scheme"], "semver", type=click.Choice(["simple", "semver"]))
    mode = one("Docker mode (socket: the runner's daemon; dind: a controlled nested daemon)", given["mode"],
               "dind" if {"gitlab", "jenkins"} & set(platforms) else "socket", type=click.Choice(["socket", "dind"]))
    test = given["test_command"]
    if test is not None:
        _given("--test", "test", [test], platforms)
    elif ask is not None:
        test = ask("Test script run inside each image (empty for none)", default="", show_default=False,
                   value_proc=lambda raw: _checked("test", platforms)(raw)[0] if raw.strip() else "")
    return Answers(
        platforms=platforms,
        images=images,
        architectures=architectures,
        name=given["name"],
        tag_scheme=tag_scheme,
        mode=mode,
        test=test or None,
        scanner=one("Scanner", given["scanner"], "trivy", type=click.Choice(["trivy", "grype", "none"])),
        push_branches=several("Branches that push (comma-separated)", "--push-branch", "branch", given["push_branches"], "main", platforms),
        gitlab_tags=(several("GitLab runner tags (comma-separated)", "--gitlab-tag", "runner tag", given["gitlab_tags"], "docker", platforms)
                     if "gitlab" in platforms else []),
        jenkins_agent=(one("Jenkins agents (static: by label, with the agent runtime; kubernetes: a pod per build)", given["jenkins_agent"],
                           "static", type=click.Choice(["static", "kubernetes"])) if "jenkins" in platforms else "static"),
        check_job=given["check_job"],
    )


def as_command(answers: Answers) -> str:
    """The init command that gives these answers again, so none is lost to an error."""
    words = ["gen-ci", "init", "--yes"]
    if answers.name:
        words += ["--name", answers.name]
    for platform in answers.platforms:
        words += ["--platform", platform]
    if len(answers.images) == 1 and answers.images[0].context == ".":
        for registry in answers.images[0].registries:
            words += ["--registry", registry]
    else:
        for image in answers.images:
            words += ["--image", f"{image.context}={','.join(image.registries)}"]
    for architecture in answers.architectures:
        words += ["--arch", architecture]
    words += ["--tags", answers.tag_scheme, "--mode", answers.mode, "--scanner", answers.scanner]
    if answers.test:
        words += ["--test", answers.test]
    for branch in answers.push_branches:
        words += ["--push-branch", branch]
    for tag in answers.gitlab_tags:
        words += ["--gitlab-tag", tag]
    if "jenkins" in answers.platforms:
        words += ["--jenkins-agent", answers.jenkins_agent]
    if answers.check_job:
        words.append("--check-job")
    return shlex.join(words)
