"""docker/metadata-action's tag rules: read into the spec's tag vocabulary, and evaluated for one
run as the action itself would tag it (the original's side of --compare)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any

from generator.importing.common import DEFAULT_BRANCH
from generator.importing.expressions import Event, Unreadable, evaluate, truthy
from generator.tagging import parse_version

SEMVER_PARTS = {"{{version}}": "{version}", "{{major}}": "{major}", "{{minor}}": "{minor}", "{{patch}}": "{patch}"}
FIXED = re.compile(r"[A-Za-z0-9_.-]*")


@dataclass
class Rule:
    type: str
    attrs: dict[str, str]
    line: int


@dataclass
class Metadata:
    images: list[str]
    rules: list[Rule]
    latest: str = "auto"
    prefix: str = ""
    suffix: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, what was not understood)


def _csv(line: str) -> dict[str, str]:
    attrs = {}
    for item in next(csv.reader([line], skipinitialspace=True), []):
        key, _, value = item.partition("=")
        attrs[key.strip()] = value.strip()
    return attrs


def _lines(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").splitlines()
    return [str(item).strip() for item in items if str(item).strip() and not str(item).strip().startswith("#")]


def read_metadata(given: dict[str, Any], line: int) -> Metadata:
    """The action's inputs: images, tags (one rule a line) and flavor."""
    images = []
    for entry in _lines(given.get("images")):
        attrs = _csv(entry)
        images.append(attrs.get("name", entry.split(",")[0]) if "name" in attrs else entry.split(",")[0])
    rules, problems = [], []
    raw_tags = _lines(given.get("tags")) or ["type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr"]
    for offset, entry in enumerate(raw_tags):
        attrs = _csv(entry)
        kind = attrs.pop("type", "raw" if "type" not in entry else "")
        if "type" not in entry and "value" not in attrs:
            attrs = {"value": entry}
        rules.append(Rule(kind, attrs, line + 1 + offset))
    meta = Metadata(images, rules)
    for entry in _lines(given.get("flavor")):
        key, _, value = entry.partition("=")
        if key == "latest":
            meta.latest = value
        elif key in ("prefix", "suffix"):
            setattr(meta, key, value.split(",")[0])
        else:
            problems.append((line, f"flavor {entry}"))
    meta.problems = problems
    return meta


def _wrap(rule: Rule, template: str, default_prefix: str = "") -> str:
    return rule.attrs.get("prefix", default_prefix) + template + rule.attrs.get("suffix", "")


def _enable_limits(rule: Rule, branches: list[str], tags: list[str]) -> dict[str, Any] | None:
    """What enable= says in the spec's words: no limit, the default branch, tags only; None when unreadable."""
    enable = rule.attrs.get("enable", "true").strip()
    if enable == "true":
        return {}
    if enable == "{{is_default_branch}}":
        return {"branches": [DEFAULT_BRANCH]}
    on_branch = re.fullmatch(r"\$\{\{\s*github\.ref\s*==\s*(?:'refs/heads/([^']+)'|format\('refs/heads/\{0\}',\s*'([^']+)'\))\s*\}\}", enable)
    if on_branch:
        return {"branches": [on_branch[1] or on_branch[2]]}
    if re.fullmatch(r"\$\{\{\s*startsWith\(github\.ref,\s*'refs/tags/'\)\s*\}\}", enable):
        return {"tags": tags}
    return None


def spec_rules(meta: Metadata, branches: list[str], tags: list[str]) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    """The spec's tag rules (one template each, for common.vocabulary), and what could not be carried:
    (line, what, advice). branches and tags: the refs whose pushes publish."""
    out: list[dict[str, Any]] = []
    dropped: list[tuple[int, str, str]] = []
    versioned = False
    for rule in meta.rules:
        limits = _enable_limits(rule, branches, tags)
        text = ",".join([f"type={rule.type}", *(f"{k}={v}" for k, v in rule.attrs.items())])
        if limits is None:
            dropped.append((rule.line, f"tag rule {text}: its enable= condition", "narrow the tag with events, branches or tags in the spec"))
            continue
        made: list[dict[str, Any]] = []
        event = rule.attrs.get("event", "")
        if rule.type == "ref" and event == "branch":
            made = [{"tag": _wrap(rule, "{ref}"), "branches": branches}]
        elif rule.type == "ref" and event == "tag":
            made, versioned = [{"tag": _wrap(rule, "{ref}"), "tags": tags}], True
        elif rule.type == "ref" and event == "pr":
            dropped.append((rule.line, f"tag rule {text}: gen-ci never publishes from a pull request", "leave it: the original does not push it either while push: is off for pull requests"))
        elif rule.type == "semver":
            pattern = rule.attrs.get("pattern", "{{version}}")
            template = pattern
            for part, placeholder in SEMVER_PARTS.items():
                template = template.replace(part, placeholder)
            template = template.replace("{{raw}}", "{ref}")
            if "{{" in template:
                dropped.append((rule.line, f"tag rule {text}: its pattern", "write the tag as a template of {version}, {major}, {minor}, {patch}"))
                continue
            made, versioned = [{"tag": _wrap(rule, template), **({"tags": tags} if "{ref}" in template else {})}], True
        elif rule.type == "sha":
            length = "{sha40}" if rule.attrs.get("format") == "long" else "{sha7}"
            made = [{"tag": _wrap(rule, length, "sha-")}]
        elif rule.type == "raw" and rule.attrs.get("value") == "latest":
            made = [{"tag": "latest", "branches": limits.get("branches", branches)}]
        elif rule.type == "raw":
            made = [{"tag": _wrap(rule, rule.attrs.get("value", ""))}]
        elif rule.type == "schedule":
            pattern = rule.attrs.get("pattern", "nightly").replace("{{date 'YYYYMMDD'}}", "{date}")
            made = [{"tag": _wrap(rule, pattern), "events": ["schedule"]}]
        elif rule.type == "edge":
            made = [{"tag": _wrap(rule, rule.attrs.get("value", "edge")), "branches": [rule.attrs.get("branch", DEFAULT_BRANCH)]}]
        else:
            dropped.append((rule.line, f"tag rule {text}", "write the tag it makes into the spec's tags"))
        for item in made:
            if item["tag"] != "latest" and not re.fullmatch(r"(?:[A-Za-z0-9_.-]|\{[a-z0-9]+\})+", item["tag"]):
                dropped.append((rule.line, f"tag rule {text}: {item['tag']} is not a tag template gen-ci reads", "write the tag into the spec's tags"))
                continue
            out.append({**item, **{k: v for k, v in limits.items() if k not in item}})
    if meta.latest == "true" or (meta.latest == "auto" and versioned):
        out.append({"tag": "latest"})
    if meta.latest == "true":
        out.append({"tag": "latest", "branches": branches})
    return out, dropped


def _sanitise(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:128]


def tags_for_event(meta: Metadata, event: Event) -> list[str]:
    """The tags the action computes for this run (prefix and suffix of the flavor included)."""
    out: list[str] = []
    latest = False
    is_tag = event.ref.startswith("refs/tags/")
    for rule in meta.rules:
        enable = rule.attrs.get("enable", "true")
        if enable == "{{is_default_branch}}":
            if event.ref != f"refs/heads/{DEFAULT_BRANCH}":
                continue
        elif not truthy(evaluate(enable, event)):
            continue
        kind, attrs = rule.type, rule.attrs
        made: list[str] = []
        if kind == "ref" and attrs.get("event") == "branch" and event.ref.startswith("refs/heads/"):
            made = [_sanitise(event.ref_name)]
        elif kind == "ref" and attrs.get("event") == "tag" and is_tag:
            made, latest = [_sanitise(event.ref_name)], True
        elif kind == "ref" and attrs.get("event") == "pr" and event.kind == "pr":
            made = ["pr-1"]
        elif kind == "semver" and is_tag:
            parts = parse_version(event.ref_name, "semver")
            if parts["version"]:
                pattern = attrs.get("pattern", "{{version}}")
                if parts["prerelease"] and "{{version}}" not in pattern and "{{raw}}" not in pattern:
                    continue
                full = {"version": parts["version"], **{k: parts[k] for k in ("major", "minor", "patch")}}
                made = [re.sub(r"\{\{(\w+)\}\}", lambda m, full=full: event.ref_name if m[1] == "raw" else full.get(m[1], m[0]), pattern)]
                latest = latest or not parts["prerelease"]
        elif kind == "sha":
            made = [attrs.get("prefix", "sha-") + (event.sha if attrs.get("format") == "long" else event.sha[:7]) + attrs.get("suffix", "")]
            out += made
            continue
        elif kind == "raw":
            made = [attrs.get("value", "")]
        elif kind == "schedule" and event.kind == "schedule":
            made = [attrs.get("pattern", "nightly").replace("{{date 'YYYYMMDD'}}", "20260101")]
        elif kind == "edge" and event.ref == f"refs/heads/{attrs.get('branch', DEFAULT_BRANCH)}":
            made = [attrs.get("value", "edge")]
        elif kind not in ("ref", "semver", "schedule", "edge"):
            raise Unreadable(f"type={kind} tags are not computed here")
        out += [attrs.get("prefix", "") + tag + attrs.get("suffix", "") for tag in made]
    tags = [meta.prefix + tag + meta.suffix for tag in out if tag]
    if meta.latest == "true" or (meta.latest == "auto" and latest and is_tag):
        tags.append("latest")
    return list(dict.fromkeys(tags))
