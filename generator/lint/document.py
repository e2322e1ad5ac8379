"""A CI file read for auditing as its platform reads it, every node still located.

GitLab reads YAML 1.1 with Ruby's parser: a repeated key keeps its last value, repeated `<<` merge
keys all merge, `!reference` names a piece of another job, and a `spec: inputs:` header is a
document of its own. libyaml's composer (through PyYAML) reads the same way, fast; this module
turns its nodes into dicts and lists that remember their file and lines. Local includes are
followed; every other kind is listed as not audited.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"

# Top-level keys that are settings, not jobs.
RESERVED = {
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "spec", "pages:deploy",
}
DEFAULT_KEYS = ("image", "services", "before_script", "after_script", "timeout", "tags", "retry", "interruptible", "cache", "artifacts", "hooks", "id_tokens")


class LintInputError(Exception):
    """The file cannot be audited at all (unreadable, not YAML, not a mapping)."""


class Located(dict):
    """A mapping that knows its file, its line, and each key's line."""

    file: str = ""
    line: int = 1
    key_lines: dict[Any, int]


class LocatedList(list):
    file: str = ""
    line: int = 1
    item_lines: list[int]


class Reference(LocatedList):
    """GitLab's `!reference [job, key, ...]`, resolved once the whole pipeline is read."""


def line_of(node: Any, key: Any = None) -> int:
    if key is not None and isinstance(node, Located):
        return node.key_lines.get(key, node.line)
    if key is not None and isinstance(node, LocatedList) and isinstance(key, int) and key < len(node.item_lines):
        return node.item_lines[key]
    return getattr(node, "line", 1)


def file_of(node: Any, fallback: str) -> str:
    return getattr(node, "file", "") or fallback


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.memo: dict[int, Any] = {}

    def convert(self, node: yaml.Node) -> Any:
        if id(node) in self.memo:  # an alias: the same object, as a YAML reader shares it
            return self.memo[id(node)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            out = Reference() if node.tag == "!reference" else LocatedList()
            out.file, out.line, out.item_lines = self.file, node.start_mark.line + 1, []
            self.memo[id(node)] = out
            for item in node.value:
                out.append(self.convert(item))
                out.item_lines.append(item.start_mark.line + 1)
            return out
        if node.tag.startswith("tag:yaml.org,2002:"):
            return self.constructor.construct_object(node, deep=True)
        return node.value  # a custom tag on a scalar: its text

    def _mapping(self, node: yaml.MappingNode) -> Located:
        out = Located()
        out.file, out.line, out.key_lines = self.file, node.start_mark.line + 1, {}
        self.memo[id(node)] = out
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                # In one merge key, earlier mappings win; a later `<<` key overrides an earlier one.
                for source in reversed(sources):
                    value = self.convert(source)
                    if isinstance(value, dict):
                        merged.update(value)
                        if isinstance(value, Located):
                            out.key_lines.update({k: line for k, line in value.key_lines.items() if k not in out.key_lines})
                continue
            key = self.convert(key_node)
            if isinstance(key, list):
                key = tuple(key)
            out[key] = self.convert(value_node)  # a repeated key keeps its last value, as GitLab does
            out.key_lines[key] = key_node.start_mark.line + 1
        for key, value in merged.items():
            out.setdefault(key, value)
        return out


def load_documents(text: str, file: str) -> list[Any]:
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise LintInputError(f"{file}:{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    converter = _Converter(file)
    return [converter.convert(node) for node in nodes if node is not None]


@dataclass
class Job:
    name: str
    node: Located  # the job as written, for positions
    merged: dict[str, Any]  # with `extends`, `default:` and `!reference` applied
    line: int
    file: str = ""
    sources: list[Any] = field(default_factory=list)  # where inherited keys are written, nearest first

    @property
    def hidden(self) -> bool:
        return self.name.startswith(".")

    def origin(self, key: str) -> Any:
        """The mapping where the job's effective `key` is written, for locating findings."""
        return next((node for node in [self.node, *self.sources] if isinstance(node, dict) and key in node), None)


@dataclass
class PipelineFile:
    path: str
    root: Located
    kind: str = "gitlab"  # or "github", "compose", "jenkins"
    jobs: list[Job] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read: the root, then its local includes
    not_followed: list[str] = field(default_factory=list)  # includes no rule could look into
    text: str = ""  # a Jenkinsfile's own text: Groovy, read by line

    def global_variables(self) -> dict[str, Any]:
        variables = self.root.get("variables")
        return dict(variables) if isinstance(variables, dict) else {}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    # GitLab's extends deep-merges mappings and replaces everything else.
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _ancestors(name: str, root: dict, seen: tuple[str, ...] = ()) -> list[Located]:
    node = root.get(name)
    if not isinstance(node, dict) or name in seen:
        return []
    parents = node.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents if isinstance(parents, list) else []
    out: list[Located] = []
    for parent in reversed(parents):  # the last parent wins in GitLab
        if isinstance(parent, str) and isinstance(root.get(parent), dict):
            out += [root[parent], *_ancestors(parent, root, (*seen, name))]
    return out


def _resolve(value: Any, root: dict, depth: int = 0) -> Any:
    """`!reference` replaced by what it names (GitLab allows ten levels); lists of references flattened."""
    if isinstance(value, Reference):
        target: Any = root
        for part in value:
            target = target.get(part) if isinstance(target, dict) else None
        return _resolve(target, root, depth + 1) if depth < 10 else None
    if isinstance(value, list):
        out = LocatedList()
        out.file, out.line, out.item_lines = getattr(value, "file", ""), getattr(value, "line", 1), []
        lines = getattr(value, "item_lines", [])
        for index, item in enumerate(value):
            resolved = _resolve(item, root, depth)
            line = lines[index] if index < len(lines) else out.line
            items = resolved if isinstance(item, Reference) and isinstance(resolved, list) else [resolved]
            out.extend(items)
            out.item_lines.extend([line] * len(items))
        return out
    if isinstance(value, dict) and not isinstance(value, Reference):
        out_map = Located()
        out_map.file, out_map.line = getattr(value, "file", ""), getattr(value, "line", 1)
        out_map.key_lines = dict(getattr(value, "key_lines", {}))
        for key, item in value.items():
            out_map[key] = _resolve(item, root, depth)
        return out_map
    return value


def _is_github_workflow(root: dict) -> bool:
    # A YAML 1.1 reader turns the `on` key into true; GitLab has no top-level `on` or `jobs` keyword.
    jobs = root.get("jobs")
    return ("on" in root or True in root) and isinstance(jobs, dict) and all(isinstance(j, dict) for j in jobs.values())


def _includes(root: dict) -> list[Any]:
    include = root.get("include")
    if include is None:
        return []
    return include if isinstance(include, list) else [include]


def _read_file(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LintInputError(f"{path}:1:1: cannot read: {exc}") from None
    return load_documents(text, str(path))


def _pipeline_document(documents: list[Any], path: str) -> Located:
    # A component's `spec: inputs:` header is a document of its own, before the pipeline.
    if len(documents) == 2 and isinstance(documents[0], dict) and "spec" in documents[0]:
        documents = documents[1:]
    if not documents:
        raise LintInputError(f"{path}:1:1: the file is empty")
    if len(documents) > 1:
        raise LintInputError(f"{path}:1:1: {len(documents)} YAML documents; a CI file is one (after an optional spec: header)")
    root = documents[0]
    if not isinstance(root, Located):
        raise LintInputError(f"{path}:1:1: a CI file is a mapping of jobs and settings")
    return root


def _follow_includes(root: Located, base: Path, pipeline: PipelineFile, depth: int = 0) -> Located:
    """The pipeline with its local includes merged in, as GitLab merges them: the including file wins."""
    merged = Located()
    merged.file, merged.line, merged.key_lines = root.file, root.line, {}
    for entry in _includes(root):
        local = entry if isinstance(entry, str) and not entry.startswith(("http://", "https://")) else None
        if isinstance(entry, dict):
            if "local" in entry:
                local = entry["local"]
            else:
                kind = next((k for k in ("project", "remote", "component", "template") if k in entry), "unknown")
                pipeline.not_followed.append(f"{kind} {entry.get(kind, '')}".strip())
                continue
        if not isinstance(local, str):
            if isinstance(entry, str):
                pipeline.not_followed.append(f"remote {entry}")
            continue
        pattern = str(base / local.lstrip("/"))
        paths = sorted(glob.glob(pattern, recursive=True)) if any(c in local for c in "*?[") else [pattern]
        for found in paths:
            if depth >= 100 or found in pipeline.files:
                continue
            if not os.path.isfile(found):
                pipeline.not_followed.append(f"local {local} (not found)")
                continue
            pipeline.files.append(found)
            included = _pipeline_document(_read_file(Path(found)), found)
            included = _follow_includes(included, base, pipeline, depth + 1)
            for key, value in included.items():
                merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
                merged.key_lines[key] = included.key_lines.get(key, 1)
    for key, value in root.items():
        if key == "include":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key in ("variables", "default", "workflow"):
            value = _merge(merged[key], value)
        merged[key] = value
        merged.key_lines[key] = root.key_lines.get(key, 1)
    return merged


# Before a Jenkinsfile's pipeline may come a shebang, comments, shared-library and import lines.
_JENKINS_PREAMBLE = re.compile(r"\s*(?://[^\n]*|/\*.*?\*/|#![^\n]*|@Library\b[^\n]*|import\s[^\n]*|_[ \t]*(?=\n|$))", re.DOTALL)
_JENKINS_START = re.compile(r"""\s*(?:pipeline\s*\{|node\s*(?:\(\s*(?:'[^'\n]*'|"[^"\n]*"|[\w.]+)?\s*\)\s*)?\{|podTemplate\s*\()""")
_COMPOSE_NAME = re.compile(r"(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml|.+\.compose\.ya?ml")
# Keys a GitLab job may have and a Compose v1 service never does.
_JOB_KEYS = {"script", "trigger", "extends", "stage", "rules", "only", "except", "needs", "run", "before_script", "after_script"}


def is_jenkinsfile(path: Path, text: str = "") -> bool:
    """By name (Jenkinsfile, Jenkinsfile.release, release.Jenkinsfile, *.groovy, *.gvy), else by
    what the text starts with: a declarative `pipeline {`, a scripted `node {` or a `podTemplate(`."""
    if path.name.startswith("Jenkinsfile") or path.suffix.lower() in (".jenkinsfile", ".groovy", ".gvy"):
        return True
    position = 0
    while found := _JENKINS_PREAMBLE.match(text, position):
        if found.end() == position:
            break
        position = found.end()
    return bool(_JENKINS_START.match(text, position))


def is_compose(path: Path, root: dict) -> bool:
    """By name (docker-compose.yml, compose.yaml, *.compose.yml), by a mapping of `services:`, or as
    Compose's first format: every top-level key a service with an image or a build, none a GitLab job."""
    if _COMPOSE_NAME.fullmatch(path.name.lower()) or isinstance(root.get("services"), dict):
        return True
    return bool(root) and all(
        isinstance(name, str) and not name.startswith(".") and isinstance(service, dict)
        and (isinstance(service.get("image"), str) or "build" in service) and not _JOB_KEYS & set(service)
        for name, service in root.items()
    )


def read_pipeline(path: str | Path, base: str | Path | None = None) -> PipelineFile:
    """base: the repository root that `include: local` paths start from (default: the file's directory)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LintInputError(f"{path}:1:1: cannot read: {exc}") from None
    if is_jenkinsfile(path, text):
        return PipelineFile(str(path), Located(), kind="jenkins", files=[str(path)], text=text)
    root = _pipeline_document(load_documents(text, str(path)), str(path))
    if _is_github_workflow(root):
        return PipelineFile(str(path), root, kind="github", files=[str(path)])
    # Compose's services are a mapping by name; GitLab's top-level services are a list of images.
    if is_compose(path, root):
        return PipelineFile(str(path), root, kind="compose", files=[str(path)])
    pipeline = PipelineFile(str(path), root, files=[str(path)])
    root = _follow_includes(root, Path(base) if base else path.parent, pipeline)
    pipeline.root = root
    defaults = root.get("default") if isinstance(root.get("default"), dict) else {}
    top = {k: root[k] for k in ("image", "services", "before_script", "after_script") if k in root}
    for name, node in root.items():
        if not isinstance(name, str) or name in RESERVED or not isinstance(node, Located):
            continue
        ancestors = _ancestors(name, root)
        chain = [*reversed(ancestors), node]
        inherit = next((source["inherit"] for source in reversed(chain) if isinstance(source.get("inherit"), dict)), {})
        allowed = inherit.get("default", True)
        inherited = {k: v for k, v in {**top, **defaults}.items() if allowed is True or (isinstance(allowed, list) and k in allowed)}
        merged = dict(inherited)
        for source in chain:  # farthest first, so nearer definitions win
            merged = _merge(merged, dict(source))
        merged = dict(_resolve(merged, root))
        if inherit.get("variables") is False:
            merged["__no_global_variables__"] = True
        sources = [*ancestors, defaults, root]
        pipeline.jobs.append(Job(name, node, merged, line_of(root, name), node.file, sources))
    return pipeline
