"""GitLab CI files (local includes followed) read into a gen-ci spec.

gen-ci's own outputs are read back whole (_gitlab_own); any other file by the shapes people write
(_gitlab_hand): GitLab's Docker template, plain docker build/tag/push scripts, kaniko, buildah and
rootless BuildKit. Both answer when the original publishes by asking its own conditions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.importing import Imported, Note
from generator.importing._gitlab_hand import GitLabImportError, read_hand
from generator.importing._gitlab_own import is_own, read_own
from generator.lint.document import read_pipeline
from generator.refs import glob_regex
from generator.tagging import Versioning, rules_from_spec, tags_for

# The runs --compare asks about, named as `gen-ci plan --event` names them.
EVENTS = ("push:main", "push:feature/x", "tag:v1.2.3", "pr:main", "schedule:main", "manual:main")
TARGET = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+\.ya?ml$")


__all__ = ["GitLabImportError", "read_gitlab"]


def project_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9 ._-]", "-", path.resolve().parent.name).strip() or "imported"
    return name


def read_gitlab(paths: list[Path]) -> Imported:
    if not paths:
        raise GitLabImportError("gen-ci import: no GitLab file given")
    imported: Imported | None = None
    for path in paths:
        one = _read_one(Path(path))
        imported = one if imported is None else _combine(imported, one)
    assert imported is not None
    return imported


def _read_one(path: Path) -> Imported:
    pipeline = read_pipeline(path)
    if pipeline.kind != "gitlab":
        raise GitLabImportError(f"{path}:1:1: this is a {pipeline.kind} file, not a GitLab CI file")
    if not pipeline.jobs:
        raise GitLabImportError(f"{path}:{pipeline.root.line}:1: no jobs: a GitLab CI file holds at least one job (a mapping with script)")
    text = path.read_text(encoding="utf-8")
    target = path.name if TARGET.match(path.name) else ".gitlab-ci.yml"
    notes = [Note("assumed", str(path), 0, f"the project is named {project_name(path)!r} after its directory", "change name: in the spec")]
    notes += [Note("not-carried", str(path), 1, f"include {entry} was not followed", "import that file too, or carry its jobs by hand")
              for entry in pipeline.not_followed]
    if is_own(pipeline):
        spec, more = read_own(pipeline, text, target, project_name(path))
        return Imported(spec, notes + more, *_own_publishes(spec))
    spec, more, publishes, unreadable = read_hand(pipeline, target, project_name(path))
    return Imported(spec, notes + more, publishes, unreadable)


def _combine(first: Imported, second: Imported) -> Imported:
    """Several files are one pipeline only through include:; separate files add their images."""
    spec = dict(first.spec)
    spec["images"] = [*first.spec.get("images", []), *second.spec.get("images", [])]
    publishes = {event: [*first.original_publishes.get(event, []), *second.original_publishes.get(event, [])] for event in EVENTS}
    return Imported(spec, [*first.notes, *second.notes], publishes, {**first.unreadable, **second.unreadable})


def _admits(patterns: list[str] | bool, ref: str) -> bool:
    return isinstance(patterns, list) and any(re.fullmatch(glob_regex(p), ref) for p in patterns)


def _own_publishes(spec: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """What gen-ci's own output publishes per event: its publish rules and tag scripts as read."""
    push, out = spec["push"], {}
    events = push.get("events", ["push"])
    for event in EVENTS:
        kind, ref = event.split(":", 1)
        ref_type = "tag" if kind == "tag" else "branch"
        patterns = push["tags"] if ref_type == "tag" else push["branches"]
        word = {"tag": "release" if "release" in events else "push"}.get(kind, kind)
        publishing = kind != "pr" and word in events and _admits(patterns, ref)
        references: list[str] = []
        for image in spec["images"] if publishing else []:
            versions = image.get("versions", {})
            versioning = Versioning(versions.get("scheme", "semver"), versions.get("from", "tag"), versions.get("file", ""))
            for registry in image.get("publish", []):
                rules = rules_from_spec(registry.get("tags", image.get("tags", ["ref", "sha"])))
                tags = tags_for(rules, word, ref_type, ref, "0" * 40, [], image.get("tag_prefix", ""), image.get("tag_suffix", ""),
                                bool(image.get("default_variant")), versioning)
                references += [f"{registry['repository']}:{tag}" for tag in tags]
        out[event] = sorted(set(references))
    return out, {}
