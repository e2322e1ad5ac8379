"""`gen-ci import`: read existing CI files into a spec that validates, with a report of what was
not carried over, what was assumed, and what gen-ci adds."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from generator.importing import Imported, ImportInputError, Note
from generator.importing.common import target_path
from generator.importing.settle import settle
from generator.lint.document import LintInputError, is_jenkinsfile, load_documents

READERS = {"github": ("generator.importing.github", "read_github"),
           "gitlab": ("generator.importing.gitlab", "read_gitlab"),
           "jenkins": ("generator.importing.jenkins", "read_jenkins")}
# Where each platform's output may live (the schema's target patterns, simplified), and the name to use otherwise.
TARGETS = {"github": (r"[A-Za-z0-9._/-]+\.ya?ml", ".github/workflows/ci.yml"),
           "gitlab": (r"[A-Za-z0-9._/-]+\.ya?ml", ".gitlab-ci.yml"),
           "jenkins": (r"(?:[A-Za-z0-9._-]+/)*(?:Jenkinsfile(?:\.[A-Za-z0-9_-]+)?|[A-Za-z0-9._-]+\.(?:jenkinsfile|groovy))", "Jenkinsfile")}


class SpecInvalid(Exception):
    """The imported spec does not validate: a gen-ci bug, with the validator's reason."""


def detect(path: Path) -> str:
    """github for a workflow (on: and jobs:), jenkins for a Jenkinsfile (by name or a pipeline block), else gitlab."""

    if is_jenkinsfile(path):
        return "jenkins"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportInputError(f"{path}:1:1: not UTF-8 text; expected a CI file") from None
    try:
        documents = load_documents(text, str(path))
    except LintInputError as error:
        if text.lstrip().startswith(("pipeline", "node", "@Library", "//", "#!groovy")) or "pipeline {" in text:
            return "jenkins"
        raise ImportInputError(str(error)) from None
    root = documents[-1] if documents else None
    if not isinstance(root, dict):
        raise ImportInputError(f"{path}:1:1: expected a CI file: a GitHub workflow, a .gitlab-ci.yml or a Jenkinsfile")
    if ("on" in root or True in root) and isinstance(root.get("jobs"), dict):
        return "github"
    return "gitlab"


def reader(platform: str, first: Path) -> Callable[[list[Path]], Imported]:
    module_name, function = READERS[platform]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise ImportInputError(f"{first}:1:1: importing {platform} files is not available in this gen-ci ({module_name} is missing)") from None
    return getattr(module, function)


def read(files: list[Path], platform: str | None) -> tuple[str, Imported]:
    for file in files:
        if not file.is_file():
            raise ImportInputError(f"{file}:1:1: no such file")
    kinds = {file: platform or detect(file) for file in files}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{file} ({kind})" for file, kind in kinds.items())
        raise ImportInputError(f"{files[0]}:1:1: import files of one platform at a time; these are {listed}")
    chosen = next(iter(kinds.values()))
    try:
        imported = reader(chosen, files[0])(files)
    except LintInputError as error:  # every reader's located error (GitLabImportError, JenkinsImportError) is one
        raise ImportInputError(str(error)) from None
    pattern, fallback = TARGETS[chosen]
    imported.spec["targets"] = {chosen: target_path(str(files[0]), pattern, fallback)}
    imported.notes += settle(imported.spec, chosen, str(files[0]))
    return chosen, imported


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # a spec reads better with every list written out
        return True


def spec_text(imported: Imported, sources: list[Path]) -> str:
    head = "# Written by gen-ci import from " + ", ".join(str(s) for s in sources) + "; review it, then run gen-ci sync.\n"
    return head + yaml.dump(imported.spec, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)


def validate(text: str, near: Path) -> Path:
    """Load and check the spec as `gen-ci check` does, from a file beside where it will live."""
    from generator.diagnostics import SpecError
    from generator.pipeline import compile_spec

    near.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=near, prefix=".gen-ci-import.", suffix=".yml")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    try:
        compile_spec(name)
    except SpecError as error:
        Path(name).unlink(missing_ok=True)
        raise SpecInvalid("; ".join(d.render() for d in error.diagnostics)) from None
    return Path(name)


KIND_TITLES = {"not-carried": "not carried over", "assumed": "assumed", "added": "gen-ci adds (on purpose)"}


def report(notes: list[Note]) -> str:
    """The notes grouped by kind: each `file:line: kind: message — you may advice`."""
    lines = []
    for kind, title in KIND_TITLES.items():
        group = [note for note in notes if note.kind == kind]
        if not group:
            continue
        lines.append(f"{title} ({len(group)}):")
        for note in sorted(group, key=lambda n: (n.file, n.line)) if kind != "added" else group:
            where = f"{note.file}:{note.line}" if note.line else note.file
            advice = f" — you may {note.advice}" if note.advice else ""
            lines.append(f"  {where}: {title}: {note.message}{advice}" if kind != "added" else f"  * {note.message}")
    return "\n".join(lines) + ("\n" if lines else "")
