"""GitLab CI files (local includes followed) read into a gen-ci spec.

gen-ci's own outputs are read back whole (_gitlab_own); any other file by the shapes people write
(_gitlab_hand): GitLab's Docker template, plain docker build/tag/push scripts, kaniko, buildah and
rootless BuildKit. Both answer when the original publishes by asking its own conditions."""

from __future__ import annotations

import re
from pathlib import Path

from generator.importing import Imported, Note
from generator.importing._gitlab_hand import GitLabImportError, read_hand
from generator.importing._gitlab_own import is_own, read_own
from generator.importing._gitlab_tagscript import EVENTS, spec_publishes
from generator.lint.document import read_pipeline

TARGET = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+\.ya?ml$")


KINDS = {"compose": "a Docker Compose file (services: by name)", "github": "a GitHub workflow", "jenkins": "a Jenkinsfile"}
READS = "gen-ci import reads GitHub workflows, .gitlab-ci.yml files and declarative Jenkinsfiles that build images"

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
        raise GitLabImportError(f"{path}:1:1: this is {KINDS.get(pipeline.kind, 'a ' + pipeline.kind + ' file')}, not a GitLab CI file; {READS}")
    if not pipeline.jobs:
        raise GitLabImportError(f"{path}:{pipeline.root.line}:1: no jobs: a GitLab CI file holds at least one job (a mapping with script)")
    text = path.read_text(encoding="utf-8")
    target = path.name if TARGET.match(path.name) else ".gitlab-ci.yml"
    notes = [Note("assumed", str(path), 0, f"the project is named {project_name(path)!r} after its directory", "change name: in the spec")]
    notes += [Note("not-carried", str(path), 1, f"include {entry} was not followed", "import that file too, or carry its jobs by hand")
              for entry in pipeline.not_followed]
    if is_own(pipeline):
        spec, more = read_own(pipeline, text, target, project_name(path))
        return Imported(spec, notes + more, *spec_publishes(spec))
    spec, more, publishes, unreadable = read_hand(pipeline, target, project_name(path))
    return Imported(spec, notes + more, publishes, unreadable)


def _combine(first: Imported, second: Imported) -> Imported:
    """Several files are one pipeline only through include:; separate files add their images."""
    spec = dict(first.spec)
    spec["images"] = [*first.spec.get("images", []), *second.spec.get("images", [])]
    publishes = {event: [*first.original_publishes.get(event, []), *second.original_publishes.get(event, [])] for event in EVENTS}
    return Imported(spec, [*first.notes, *second.notes], publishes, {**first.unreadable, **second.unreadable})
