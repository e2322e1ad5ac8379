"""Write a first spec, its editor schema and the pre-commit configuration."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.diagnostics import SpecError
from generator.installation import Source, installed_from
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
class Answers:
    platforms: list[str]
    registries: list[str]  # repositories with their host, or "platform"
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
    return bool(others) and repository != "platform" and not (repository.startswith("ghcr.io/") and others == ["github"])


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
        "images:",
        "  - publish:",
        *(line for registry in answers.registries for line in _registry_lines(registry, answers.platforms)),
    ]
    lines += ["    tags: " + json.dumps(TAG_SCHEMES[answers.tag_scheme])]
    if answers.test:
        lines.append(f"    test: {json.dumps(answers.test)}")
    lines += ["scan:", f"  tool: {answers.scanner}", "push:",
              f"  branches: {_flow(answers.push_branches)}", f"  tags: {_flow(answers.push_tags)}"]
    if any(_needs_secrets(r, answers.platforms) for r in answers.registries) and "github" in answers.platforms:
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
    text = spec_text(answers, project_name(root.name))
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
