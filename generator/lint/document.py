"""A .gitlab-ci.yml read for auditing: jobs with `extends` applied, every node still located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

# Top-level keys that are settings, not jobs.
RESERVED = {
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "spec",
}


class LintInputError(Exception):
    """The file cannot be audited at all (unreadable, not YAML, not a mapping)."""


@dataclass
class Job:
    name: str
    node: CommentedMap  # the job as written, for positions
    merged: dict[str, Any]  # with `extends` and `default:` applied
    line: int
    sources: list[CommentedMap] = field(default_factory=list)  # where inherited keys are written, nearest first

    @property
    def hidden(self) -> bool:
        return self.name.startswith(".")

    def origin(self, key: str) -> CommentedMap | None:
        """The mapping where the job's effective `key` is written, for locating findings."""
        return next((node for node in [self.node, *self.sources] if isinstance(node, dict) and key in node), None)


@dataclass
class PipelineFile:
    path: str
    root: CommentedMap
    jobs: list[Job] = field(default_factory=list)

    def global_variables(self) -> dict[str, Any]:
        variables = self.root.get("variables")
        return dict(variables) if isinstance(variables, dict) else {}


def line_of(node: Any, key: Any = None) -> int:
    try:
        if key is not None and isinstance(node, CommentedMap):
            return node.lc.key(key)[0] + 1
        if key is not None and isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
        return node.lc.line + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 1


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    # GitLab's extends deep-merges mappings and replaces everything else.
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _ancestors(name: str, root: CommentedMap, seen: tuple[str, ...] = ()) -> list[CommentedMap]:
    node = root.get(name)
    if not isinstance(node, dict) or name in seen:
        return []
    parents = node.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents if isinstance(parents, list) else []
    out: list[CommentedMap] = []
    for parent in reversed(parents):  # the last parent wins in GitLab
        if isinstance(parent, str) and isinstance(root.get(parent), dict):
            out += [root[parent], *_ancestors(parent, root, (*seen, name))]
    return out


def _is_github_workflow(root: CommentedMap) -> bool:
    # A YAML 1.1 reader turns the `on` key into true; GitLab has no top-level `on` or `jobs` keyword.
    jobs = root.get("jobs")
    return ("on" in root or True in root) and isinstance(jobs, dict) and all(isinstance(j, dict) for j in jobs.values())


def read_pipeline(path: str | Path) -> PipelineFile:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")  # keeps GitLab's !reference tags as tagged nodes instead of failing
    try:
        root = yaml.load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LintInputError(f"{path}:1:1: cannot read: {exc}") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise LintInputError(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(root, CommentedMap):
        raise LintInputError(f"{path}:1:1: a GitLab CI file is a mapping of jobs and settings")
    if _is_github_workflow(root):
        key = next(k for k in root if k in ("on", True, "jobs"))
        raise LintInputError(
            f"{path}:{line_of(root, key)}:1: this is a GitHub Actions workflow (top-level on: and jobs:); "
            "gen-ci lint audits GitLab CI files, so audit it with actionlint and zizmor instead"
        )
    pipeline = PipelineFile(str(path), root)
    defaults = root.get("default") if isinstance(root.get("default"), dict) else {}
    inherited = {k: root[k] for k in ("image", "services", "before_script", "after_script") if k in root}
    for name, node in root.items():
        if not isinstance(name, str) or name in RESERVED or not isinstance(node, CommentedMap):
            continue
        ancestors = _ancestors(name, root)
        merged = _merge(inherited, dict(defaults))
        for source in [*reversed(ancestors), node]:  # farthest first, so nearer definitions win
            merged = _merge(merged, dict(source))
        sources = [*ancestors, defaults, root]
        pipeline.jobs.append(Job(name, node, merged, line_of(root, name), sources))
    return pipeline
