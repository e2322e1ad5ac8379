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
from collections.abc import Iterator
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
    key_ends: dict[Any, int] | None = None  # each value's last line: a `run: |` block spans several
    key_files: dict[Any, str] | None = None  # a pipeline's top-level keys come from its includes too


class LocatedList(list):
    file: str = ""
    line: int = 1
    item_lines: list[int]
    item_files: list[str] | None = None  # where items came in through `!reference` from elsewhere
    item_ends: list[int] | None = None  # each item's last line: a block or folded script entry spans several


class Reference(LocatedList):
    """GitLab's `!reference [job, key, ...]`, resolved once the whole pipeline is read."""


def line_of(node: Any, key: Any = None) -> int:
    if key is not None and isinstance(node, Located):
        return node.key_lines.get(key, node.line)
    if key is not None and isinstance(node, LocatedList) and isinstance(key, int) and key < len(node.item_lines):
        return node.item_lines[key]
    return getattr(node, "line", 1)


def end_of(node: Any, key: Any) -> int:
    """The last line of a list's item or a mapping's value (its first line when unknown)."""
    if isinstance(node, Located):
        return (node.key_ends or {}).get(key, line_of(node, key))
    ends = getattr(node, "item_ends", None)
    return ends[key] if ends and isinstance(key, int) and key < len(ends) else line_of(node, key)


def _source_lines(file: str) -> tuple[str, ...]:
    # Read only for a finding's line, so not kept: a file rewritten between two reads is read anew.
    try:
        return tuple(Path(file).read_text(errors="replace").splitlines())
    except OSError:
        return ()


def line_within(node: Any, key: Any, needle: str, fallback: str, after: int = 0) -> int:
    """The line of a multi-line list item or mapping value (a `|` block, or a command continued
    over lines) where `needle` is written, from line `after` on; its first line when not found."""
    first, last = line_of(node, key), end_of(node, key)
    lines = _source_lines(file_of(node, fallback, key)) if needle and last > first else ()
    for number in range(max(first, after), min(last, len(lines)) + 1):
        # A comment naming the flag (`# --cache-repo keeps layers`) is not where it is written.
        if needle in lines[number - 1] and (needle.startswith("#") or not lines[number - 1].lstrip().startswith("#")):
            return number
    return first


def file_of(node: Any, fallback: str, key: Any = None) -> str:
    if isinstance(node, Located) and node.key_files and key in node.key_files:
        return node.key_files[key]
    files = getattr(node, "item_files", None)
    if files and isinstance(key, int) and key < len(files):
        return files[key]
    return getattr(node, "file", "") or fallback


# Deeper than any real CI file; the rules walk values recursively and must stay within Python's stack.
MAX_DEPTH = 200


def _where(file: str, mark: Any) -> str:
    return f"{file}:{mark.line + 1}:{mark.column + 1}"


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.memo: dict[int, Any] = {}
        self.depth = 0

    def convert(self, node: yaml.Node) -> Any:
        if id(node) in self.memo:  # an alias: the same object, as a YAML reader shares it
            return self.memo[id(node)]
        if self.depth >= MAX_DEPTH:
            raise LintInputError(f"{_where(self.file, node.start_mark)}: nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            return self._convert(node)
        finally:
            self.depth -= 1

    def _convert(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            out = Reference() if node.tag == "!reference" else LocatedList()
            out.file, out.line, out.item_lines, out.item_ends = self.file, node.start_mark.line + 1, [], []
            self.memo[id(node)] = out
            for item in node.value:
                out.append(self.convert(item))
                out.item_lines.append(item.start_mark.line + 1)
                out.item_ends.append(_last_line(item))
            return out
        if node.tag.startswith("tag:yaml.org,2002:"):
            try:
                return self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                # `!!int abc`, `!!python/...`: GitLab's safe reader refuses them too.
                raise LintInputError(f"{_where(self.file, node.start_mark)}: expected a plain YAML value, found {node.tag} {str(node.value)[:40]!r}") from None
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
                            out.key_ends = {**(value.key_ends or {}), **(out.key_ends or {})}
                continue
            key = self.convert(key_node)
            if isinstance(key, list):
                key = tuple(key)
            if not _hashable(key):
                key = str(key)  # a mapping as a key: GitLab refuses it, and no rule reads it
            out[key] = self.convert(value_node)  # a repeated key keeps its last value, as GitLab does
            out.key_lines[key] = key_node.start_mark.line + 1
            out.key_ends = out.key_ends if out.key_ends is not None else {}
            out.key_ends[key] = _last_line(value_node)
        for key, value in merged.items():
            out.setdefault(key, value)
        return out


def _last_line(node: yaml.Node) -> int:
    # A block scalar ends at the start of the line after it (column 0); a plain one on its own line.
    return node.end_mark.line + (0 if node.end_mark.column == 0 else 1)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


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
    source_names: list[str] = field(default_factory=list)  # the templates' names, then "default", "the pipeline"
    # What rules derive from the job once (its expanded variables), so each rule need not again.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def hidden(self) -> bool:
        return self.name.startswith(".")

    def origin(self, key: str) -> Any:
        """The mapping where the job's effective `key` is written, for locating findings."""
        return next((node for node in [self.node, *self.sources] if isinstance(node, dict) and key in node), None)

    def written_in(self, key: str) -> str:
        """The name of the job or template where `key` is written: one finding names one place."""
        places = zip([self.name, *self.source_names], [self.node, *self.sources])
        return next((name for name, node in places if isinstance(node, dict) and key in node), self.name)


@dataclass(frozen=True)
class LocalFile:
    """A reusable workflow a job calls, or an action a step uses, from the repository itself (`uses: ./...`)."""

    path: str
    root: Located


@dataclass(frozen=True)
class PodFile:
    """A pod's YAML that a Jenkinsfile's kubernetes agent names with `yamlFile`, read as text as the pod rules read inline YAML."""

    line: int  # where the Jenkinsfile names it
    path: str
    text: str


@dataclass
class PipelineFile:
    path: str
    root: Located
    kind: str = "gitlab"  # or "github", "compose", "jenkins"
    jobs: list[Job] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read: the root, then its local includes
    not_followed: list[str] = field(default_factory=list)  # includes no rule could look into
    text: str = ""  # a Jenkinsfile's own text: Groovy, read by line
    children: list[PipelineFile] = field(default_factory=list)  # `trigger: include:` child pipelines
    referenced: set[str] = field(default_factory=set)  # jobs and templates named by `!reference`
    base: str = ""  # the repository root that local paths start from
    local: dict[str, LocalFile] = field(default_factory=dict)  # GitHub: `uses: ./...` read, by the path as written
    pods: list[PodFile] = field(default_factory=list)  # Jenkins: the pod files `yamlFile` names, read
    # GitLab: the `rules:` of the include that brought a file in; its jobs exist only where they hold.
    include_rules: dict[str, list[Any]] = field(default_factory=dict)
    # A child pipeline runs only where its parent's workflow and trigger job do: ("rules" or "only", value).
    parent_limits: list[tuple[str, Any]] = field(default_factory=list)

    def global_variables(self) -> dict[str, Any]:
        variables = self.root.get("variables")
        return dict(variables) if isinstance(variables, dict) else {}


def every_pipeline(pipeline: PipelineFile) -> Iterator[PipelineFile]:
    """The pipeline and its child pipelines, each audited as GitLab runs it: on its own."""
    yield pipeline
    for child in pipeline.children:
        yield from every_pipeline(child)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    # GitLab's extends deep-merges mappings and replaces everything else.
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _merge_located(base: dict[str, Any], override: dict[str, Any]) -> Located:
    """_merge for mappings from two files (a job written in two includes, the root's `variables:`
    over an include's): each key located where its effective value is written, as a rule reports
    the definition GitLab uses, not the job."""
    out = Located()
    out.file, out.line = getattr(override, "file", "") or getattr(base, "file", ""), getattr(override, "line", 1)
    out.key_lines, out.key_ends, out.key_files = {}, {}, {}
    for source in (base, override):
        fallback = getattr(source, "file", "")
        for key, value in source.items():
            earlier = out.get(key)
            out[key] = _merge_located(earlier, value) if isinstance(value, dict) and isinstance(earlier, dict) else value
            if isinstance(source, Located) and key in source.key_lines:
                out.key_lines[key], out.key_ends[key] = line_of(source, key), end_of(source, key)
                out.key_files[key] = file_of(source, fallback, key)
            else:
                for known in (out.key_lines, out.key_ends, out.key_files):
                    known.pop(key, None)
    return out


def _ancestors(name: str, root: dict, seen: tuple[str, ...] = ()) -> list[tuple[str, Located]]:
    node = root.get(name)
    if not isinstance(node, dict) or name in seen:
        return []
    parents = node.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents if isinstance(parents, list) else []
    out: list[tuple[str, Located]] = []
    for parent in reversed(parents):  # the last parent wins in GitLab
        if isinstance(parent, str) and isinstance(root.get(parent), dict):
            out += [(parent, root[parent]), *_ancestors(parent, root, (*seen, name))]
    return out


def _resolve(value: Any, root: dict, depth: int = 0, memo: dict[int, Any] | None = None) -> Any:
    """`!reference` replaced by what it names (GitLab allows ten levels); lists of references flattened.
    memo keeps a value shared through YAML aliases shared, so a file of nested aliases stays small."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, Reference):
        target: Any = root
        for part in value:
            target = target.get(part) if isinstance(target, dict) and _hashable(part) else None
        return _resolve(target, root, depth + 1, memo) if depth < 10 else None
    if isinstance(value, list):
        out = LocatedList()
        out.file, out.line, out.item_lines = getattr(value, "file", ""), getattr(value, "line", 1), []
        memo[id(value)] = out
        out.item_files, out.item_ends = [], []
        lines = getattr(value, "item_lines", [])
        for index, item in enumerate(value):
            resolved = _resolve(item, root, depth, memo)
            if isinstance(item, Reference) and isinstance(resolved, list):
                # Flattened in, each item still located where the referenced list writes it.
                out.extend(resolved)
                out.item_lines.extend(line_of(resolved, n) for n in range(len(resolved)))
                out.item_files.extend(file_of(resolved, out.file, n) for n in range(len(resolved)))
                out.item_ends.extend(end_of(resolved, n) for n in range(len(resolved)))
            else:
                out.append(resolved)
                out.item_lines.append(lines[index] if index < len(lines) else out.line)
                out.item_files.append(out.file)
                out.item_ends.append(end_of(value, index))
        return out
    if isinstance(value, dict):
        out_map = Located()
        out_map.file, out_map.line = getattr(value, "file", ""), getattr(value, "line", 1)
        out_map.key_lines = dict(getattr(value, "key_lines", {}))
        out_map.key_ends = dict(getattr(value, "key_ends", None) or {})
        memo[id(value)] = out_map
        for key, item in value.items():
            out_map[key] = _resolve(item, root, depth, memo)
        return out_map
    return value


def _references(value: Any, seen: set[int]) -> Iterator[str]:
    """The jobs and templates `!reference` tags name, each shared value visited once."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Reference) and value and isinstance(value[0], str):
        yield value[0]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _references(child, seen)


def _is_github_workflow(root: dict) -> bool:
    # A YAML 1.1 reader turns the `on` key into true; GitLab has no top-level `on` or `jobs` keyword.
    # A workflow missing `on:` is still one when a job has GitHub's own keys (a GitLab job named jobs has none).
    jobs = root.get("jobs")
    if "on" in root or True in root:
        return "jobs" in root
    return isinstance(jobs, dict) and any(isinstance(j, dict) and ({"runs-on", "steps"} & j.keys()) for j in jobs.values())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _read_file(path: Path, inputs: Any = None) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LintInputError(f"{path}:1:1: cannot read: {exc}") from None
    documents = load_documents(text, str(path))
    if "$[[" in text and len(documents) == 2 and isinstance(documents[0], dict) and isinstance(documents[0].get("spec"), dict):
        # A component's body, read with the inputs its include gives, else its spec's defaults.
        header_end = text.find("\n---", text.find("spec"))
        if header_end >= 0:
            filled = text[:header_end] + _interpolated(text[header_end:], documents[0]["spec"].get("inputs"), inputs)
            documents = load_documents(filled, str(path)) if filled != text else documents
    return documents


# `$[[ inputs.name ]]`, also with functions after it (`$[[ inputs.name | expand_vars ]]`).
INPUT_REFERENCE = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*(?:\|[^\]\n]*)?\]\]")
# A value put into the text as it is: one that YAML reads back as the same plain word (a version,
# an image, a name). Anything else stays as the reference, which no rule takes for a value.
PLAIN_INPUT = re.compile(r"[\w.:/@+-]*")


def _interpolated(text: str, declared: Any, given: Any) -> str:
    values: dict[str, str] = {}
    for name, spec in declared.items() if isinstance(declared, dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("default"), (str, int, float)) and not isinstance(spec.get("default"), bool):
            values[str(name)] = str(spec["default"])
    for name, value in given.items() if isinstance(given, dict) else ():
        values.pop(str(name), None)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values[str(name)] = str(value)

    def filled(found: re.Match[str]) -> str:
        value = values.get(found.group(1))
        return value if value is not None and PLAIN_INPUT.fullmatch(value) else found.group(0)

    return INPUT_REFERENCE.sub(filled, text)


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


def _inside(path: str, base: Path) -> bool:
    # Resolved, so neither `..` nor a symlink leads out of the repository.
    real, top = os.path.realpath(path), os.path.realpath(base)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _unreadable_path(path: str, base: Path) -> str | None:
    """Why a file a pipeline names from the repository root is not read, or None when it is."""
    if not _inside(path, base):
        return "outside the repository"
    return None if os.path.isfile(path) else "not found"


def _repository_roots(start: Path) -> Iterator[Path]:
    """The directories above start that may be the repository's root, nearest first: those holding
    `.git` or a `.gitlab-ci.yml`, then the working directory when start lies inside it (an exported
    tree). Start itself is the given file's own directory, already tried: a root kept in a folder
    (`.gitlab/.gitlab-ci.yml`) is no marker of its own."""
    for folder in start.resolve().parents:
        if (folder / ".git").exists() or (folder / ".gitlab-ci.yml").is_file():
            relative = os.path.relpath(folder)
            yield Path(folder if relative.startswith("..") else relative)
    if _inside(str(start), Path(".")):
        yield Path(".")


def _local_files(local: str, base: Path, not_followed: list[str]) -> list[str]:
    """The files a `local:` include names, read from the repository root and never outside it. The
    root is taken to be the given file's directory; a file kept deeper (a template library's
    `templates/all.yml` including `templates/docker.yml`) names paths from the repository's root,
    which is looked up when the path is not found from its own directory."""
    if "\0" in local:
        not_followed.append(f"local {local!r} (not a path)")
        return []
    # The checkout's own directory names the repository root (`local: ${CI_PROJECT_DIR}/ci/docker.yml`).
    local = re.sub(r"^\$\{?CI_PROJECT_DIR\}?(?=/|$)", "", local)
    found = _local_files_from(local, base, [])
    for root in _repository_roots(base) if not found else ():
        if os.path.realpath(root) != os.path.realpath(base):
            found = _local_files_from(local, root, [])
            if found:
                break
    return found or _local_files_from(local, base, not_followed)


def _local_files_from(local: str, base: Path, not_followed: list[str]) -> list[str]:
    pattern = str(base / local.lstrip("/"))
    paths = sorted(glob.glob(pattern, recursive=True)) if any(c in local for c in "*?[") else [pattern]
    found = []
    for path in paths:
        why = _unreadable_path(path, base)
        if why:
            not_followed.append(f"local {local} ({why})")
        else:
            found.append(path)
    return found


def _unreadable(entry: Any) -> str | None:
    """How an include that cannot be read offline is listed as not audited; None for a local one."""
    if isinstance(entry, str):
        return f"remote {entry}" if entry.startswith(("http://", "https://")) else None
    if not isinstance(entry, dict) or "local" in entry:
        return None
    if "artifact" in entry:
        return f"artifact {entry.get('artifact')} (made by job {entry.get('job', '?')} while the pipeline runs)"
    kind = next((k for k in ("project", "remote", "component", "template") if k in entry), "unknown")
    return f"{kind} {entry.get(kind, '')}".strip()


def _follow_includes(root: Located, base: Path, pipeline: PipelineFile, depth: int = 0, rules: list[Any] | None = None) -> Located:
    """The pipeline with its local includes merged in, as GitLab merges them: the including file wins.
    rules: the include rules the file itself came in under, which hold for what it includes too."""
    merged = Located()
    merged.file, merged.line, merged.key_lines, merged.key_files = root.file, root.line, {}, {}
    for entry in _as_list(root.get("include")):
        skipped = _unreadable(entry)
        if skipped:
            pipeline.not_followed.append(skipped)
        local = entry.get("local") if isinstance(entry, dict) else entry
        # Anything else (a number, a list) GitLab refuses; there is nothing to audit in it.
        if skipped or not isinstance(local, str):
            continue
        entry_rules = entry.get("rules") if isinstance(entry, dict) and isinstance(entry.get("rules"), list) else rules
        for found in _local_files(local, base, pipeline.not_followed):
            if depth >= 100 or found in pipeline.files:
                continue
            pipeline.files.append(found)
            if entry_rules:
                pipeline.include_rules[found] = entry_rules
            given = entry.get("inputs") if isinstance(entry, dict) else None
            included = _pipeline_document(_read_file(Path(found), given), found)
            included = _follow_includes(included, base, pipeline, depth + 1, entry_rules)
            for key, value in included.items():
                merged[key] = _merge_located(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
                merged.key_lines[key] = included.key_lines.get(key, 1)
                merged.key_files[key] = (included.key_files or {}).get(key, included.file)
    for key, value in root.items():
        if key == "include":
            continue
        # A job the including file writes again is deep-merged into the included one, as `variables:` is.
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merge_located(merged[key], value)
        merged[key] = value
        merged.key_lines[key] = root.key_lines.get(key, 1)
        merged.key_files[key] = root.file
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


def _jobs(root: Located) -> Iterator[Job]:
    defaults = root.get("default") if isinstance(root.get("default"), dict) else {}
    top = {k: root[k] for k in ("image", "services", "before_script", "after_script") if k in root}
    for name, node in root.items():
        if not isinstance(name, str) or name in RESERVED or not isinstance(node, Located):
            continue
        ancestors = _ancestors(name, root)
        chain = [*reversed([node for _, node in ancestors]), node]
        inherit = next((source["inherit"] for source in reversed(chain) if isinstance(source.get("inherit"), dict)), {})
        allowed = inherit.get("default", True)
        inherited = {k: v for k, v in {**top, **defaults}.items() if allowed is True or (isinstance(allowed, list) and k in allowed)}
        merged = dict(inherited)
        for source in chain:  # farthest first, so nearer definitions win
            merged = _merge(merged, dict(source))
        merged = dict(_resolve(merged, root))
        inherit_variables = inherit.get("variables", True)
        if inherit_variables is False:
            merged["__no_global_variables__"] = True
        elif isinstance(inherit_variables, list):
            merged["__global_variables__"] = [str(v) for v in inherit_variables]
        sources = [*[node for _, node in ancestors], defaults, root]
        names = [*[parent for parent, _ in ancestors], "default", "the pipeline"]
        yield Job(name, node, merged, line_of(root, name), node.file, sources, names)


def _gitlab(root: Located, path: str, base: Path, files: list[str], top: PipelineFile | None, seen: set[tuple[str, ...]]) -> PipelineFile:
    """A GitLab pipeline with its includes, jobs and child pipelines; `top` collects what was not
    audited, so the command lists a child's unreadable includes with its parent's."""
    pipeline = PipelineFile(path, root, files=list(files), base=str(base))
    top = top or pipeline
    pipeline.root = _follow_includes(root, base, pipeline)
    pipeline.jobs = list(_jobs(pipeline.root))
    pipeline.referenced = set(_references(pipeline.root, set()))
    if pipeline is not top:
        top.not_followed.extend(pipeline.not_followed)
    for job in pipeline.jobs:
        trigger = job.merged.get("trigger")
        if job.hidden or not isinstance(trigger, dict) or "include" not in trigger:
            continue
        child = _child(job, trigger["include"], base, top, seen)
        if child is not None:
            workflow = pipeline.root.get("workflow")
            limits = [("rules", workflow["rules"])] if isinstance(workflow, dict) and "rules" in workflow else []
            limits += [("rules", pipeline.include_rules[job.file])] if job.file in pipeline.include_rules else []
            limits += [(key, job.merged[key]) for key in ("rules", "only") if key in job.merged][:1]
            child.parent_limits = [*pipeline.parent_limits, *limits]
            pipeline.children.append(child)
    return pipeline


def _child(job: Job, include: Any, base: Path, top: PipelineFile, seen: set[tuple[str, ...]]) -> PipelineFile | None:
    """The child pipeline a `trigger: include:` starts: its files read like includes of an empty root."""
    not_followed: list[str] = []
    files: list[str] = []
    for entry in _as_list(include):
        skipped = _unreadable(entry)
        local = entry.get("local") if isinstance(entry, dict) else entry
        if skipped:
            not_followed.append(skipped)
        elif isinstance(local, str):
            files += _local_files(local, base, not_followed)
    top.not_followed.extend(f"{item} for the child pipeline of {job.name}" for item in not_followed)
    key = tuple(os.path.realpath(found) for found in files)
    if not files or key in seen or len(seen) >= 100:
        return None
    seen.add(key)
    root = Located()
    root.file, root.line, root.key_lines = files[0], 1, {}
    root["include"] = [{"local": os.path.relpath(found, base)} for found in files]
    return _gitlab(root, files[0], base, [], top, seen)


# --- what a GitHub workflow or a Jenkinsfile reads from its own repository --------------------

MAX_LOCAL_FILES = 100  # more local workflows and actions than any repository has; a bound on what one file makes the lint read


def github_base(path: Path) -> Path:
    """A workflow's repository root: GitHub reads workflows from <root>/.github/workflows/, and `uses: ./`
    paths start at the root; a workflow kept anywhere else is taken to sit at its root, as a GitLab file is."""
    parent = path.parent
    return parent.parent.parent if parent.name == "workflows" and parent.parent.name == ".github" else parent


def _local_uses(root: Any) -> Iterator[str]:
    """The `./` paths a workflow's jobs and steps, or a composite action's steps, call."""
    jobs = root.get("jobs") if isinstance(root, dict) else None
    runs = root.get("runs") if isinstance(root, dict) else None
    holders = [job for job in jobs.values() if isinstance(job, dict)] if isinstance(jobs, dict) else []
    steps = [step for job in holders for step in _as_list(job.get("steps"))]
    steps += _as_list(runs.get("steps")) if isinstance(runs, dict) else []
    for holder in [*holders, *steps]:
        uses = holder.get("uses") if isinstance(holder, dict) else None
        if isinstance(uses, str) and uses.startswith("./") and "\0" not in uses:
            yield uses


def _local_target(uses: str, base: Path) -> str:
    # A reusable workflow is a file; an action is a directory holding action.yml (or action.yaml).
    path = str(base / uses[2:])
    if os.path.isdir(path):
        return next((os.path.join(path, name) for name in ("action.yml", "action.yaml") if os.path.isfile(os.path.join(path, name))),
                    os.path.join(path, "action.yml"))
    return path


def _follow_local_uses(pipeline: PipelineFile, base: Path) -> None:
    """Every local workflow and action the workflow calls, and those they call, read once each;
    a path out of the repository or one that is missing is listed as not audited."""
    pending = list(_local_uses(pipeline.root))
    seen = {os.path.realpath(file) for file in pipeline.files}
    while pending and len(pipeline.local) < MAX_LOCAL_FILES:
        uses = pending.pop(0)
        if uses in pipeline.local or any(item.startswith(f"uses {uses} (") for item in pipeline.not_followed):
            continue
        path = _local_target(uses, base)
        why = _unreadable_path(path, base)
        if why:
            pipeline.not_followed.append(f"uses {uses} ({why})")
            continue
        pipeline.local[uses] = LocalFile(path, _pipeline_document(_read_file(Path(path)), path))
        if os.path.realpath(path) not in seen:
            seen.add(os.path.realpath(path))
            pipeline.files.append(path)
        pending += _local_uses(pipeline.local[uses].root)


# `kubernetes { yamlFile 'pod.yaml' }`, also `yamlFile: '...'` and `yamlFile('...')`; a path Groovy computes is not read.
_YAML_FILE = re.compile(r"""\byamlFile\b\s*[:(]?\s*(['"])([^'"\n$]+)\1""")


def _read_pods(pipeline: PipelineFile, base: Path) -> None:
    """The pod files a Jenkinsfile names, from the repository root as Jenkins reads them (readTrusted:
    a path from the root of the checkout), and never outside it; one that is missing is listed as not audited."""
    # Imported here: the module with the Groovy reader imports this one.
    from generator.lint.jenkins_rules import read_groovy

    groovy = read_groovy(pipeline.text)
    for match in _YAML_FILE.finditer(pipeline.text):
        if not groovy.in_code(match.start()):
            continue
        named = match.group(2).strip()
        path = str(base / named.lstrip("/"))
        why = _unreadable_path(path, base)
        # A Jenkinsfile kept below the root (ci/Build.groovy) still names its pod from the checkout's
        # root, as readTrusted reads it; the file's own directory is tried first, as for GitLab's includes.
        for root in _repository_roots(base) if why else ():
            at_root = str(root / named.lstrip("/"))
            if os.path.realpath(root) != os.path.realpath(base) and not _unreadable_path(at_root, root):
                path, why = at_root, None
                break
        try:
            text = "" if why else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            why = "cannot read"
        if why:
            pipeline.not_followed.append(f"yamlFile {named} ({why})")
        elif all(pod.path != path for pod in pipeline.pods):
            pipeline.pods.append(PodFile(groovy.line(match.start()), path, text))
            pipeline.files.append(path)


def read_pipeline(path: str | Path, base: str | Path | None = None) -> PipelineFile:
    """base: the repository root that local paths (`include: local`, `uses: ./`, `yamlFile`) start from
    (default: the file's directory; for a workflow in .github/workflows/, the directory holding .github)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LintInputError(f"{path}:1:1: cannot read: {exc}") from None
    if is_jenkinsfile(path, text):
        pipeline = PipelineFile(str(path), Located(), kind="jenkins", files=[str(path)], text=text, base=str(Path(base) if base else path.parent))
        _read_pods(pipeline, Path(pipeline.base))
        return pipeline
    root = _pipeline_document(_read_file(path) if "$[[" in text else load_documents(text, str(path)), str(path))
    if _is_github_workflow(root):
        if not isinstance(root["jobs"], dict):
            found = "a list" if isinstance(root["jobs"], list) else repr(root["jobs"])[:40]
            raise LintInputError(f"{path}:{line_of(root, 'jobs')}:1: jobs: expected a mapping of job ids to jobs, found {found}")
        pipeline = PipelineFile(str(path), root, kind="github", files=[str(path)], base=str(Path(base) if base else github_base(path)))
        _follow_local_uses(pipeline, Path(pipeline.base))
        return pipeline
    # Compose's services are a mapping by name; GitLab's top-level services are a list of images.
    if is_compose(path, root):
        return PipelineFile(str(path), root, kind="compose", files=[str(path)])
    return _gitlab(root, str(path), Path(base) if base else path.parent, [str(path)], None, {(os.path.realpath(path),)})
