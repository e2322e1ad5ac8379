"""gen-ci's own tag script (generator.tagging.tag_script) read back into tag rules.

The script is the one place an output states an image's tag rules whole, on every platform: each
rule is a block under its event and ref conditions, each template a `tag "..."` line."""

from __future__ import annotations

import re
import shlex
from typing import Any

from generator.importing import EXAMPLE_SHA
from generator.importing._gitlab_expr import glob_of_regex
from generator.refs import glob_regex
from generator.tagging import SEMVER_TEMPLATES, Versioning, rules_from_spec, tags_for

START = "# Tags for this ref"
# The runs --compare asks about, named as `gen-ci plan --event` names them.
EVENTS = ("push:main", "push:feature/x", "tag:v1.2.3", "pr:main", "schedule:main", "manual:main")
_EVENTS = re.compile(r'case "\$GEN_CI_EVENT" in (.*?)\) true ;;')
_REFS = re.compile(r'\[ "\$GEN_CI_REF_TYPE" = (branch|tag) \] && printf .*? grep -Eq (\'[^\']*\'|\S+)')
_PRINTF = re.compile(r"printf '(?:%s)+\\n' ([^;]*)")


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return []


def _template(word: str) -> str:
    """A tag line's word ("${major}.${minor}") as the rule's template ({major}.{minor})."""
    return re.sub(r"\$\{([a-z0-9]+)\}", r"{\1}", word)


def _globs(quoted: str) -> list[str]:
    regex = _words(quoted)[0] if _words(quoted) else quoted
    inner = regex[2:-2] if regex.startswith("^(") and regex.endswith(")$") else regex
    globs = [glob_of_regex(f"/^{part}$/") for part in inner.split("|")]
    return [g for g in globs if g] if all(globs) else []


def _condition(line: str) -> dict[str, Any] | None:
    """A rule's narrowing, or None for a line that only guards a template (a version present)."""
    if "GEN_CI_EVENT" not in line and "GEN_CI_REF_NAME" not in line:
        return None
    out: dict[str, Any] = {}
    events = _EVENTS.search(line)
    if events:
        out["events"] = [w for w in _words(events[1].replace("|", " "))]
    for kind, regex in _REFS.findall(line):
        out["branches" if kind == "branch" else "tags"] = _globs(regex)
    return out


def _block_end(lines: list[str], start: int) -> int:
    depth = 0
    for index in range(start, len(lines)):
        word = lines[index].split(" ", 1)[0].rstrip(";")
        depth += word == "if"
        depth -= word == "fi"
        if depth == 0:
            return index
    return len(lines) - 1


def _tags_in(lines: list[str]) -> list[str]:
    return [_template(_words(line)[1]) for line in lines if line.startswith("tag ") and len(_words(line)) > 1]


def _rules(templates: list[str], condition: dict[str, Any]) -> list[Any]:
    """One block's templates as rules: the semver three fold back into their keyword."""
    names: list[str] = []
    rest = list(templates)
    while rest:
        if tuple(rest[:3]) == SEMVER_TEMPLATES:
            names.append("semver")
            rest = rest[3:]
            continue
        name = rest.pop(0)
        names.append({"{ref}": "ref", "sha-{sha12}": "sha"}.get(name, name))
    return [{"tag": name, **condition} if condition else name for name in names]


def read_tag_script(text: str) -> dict[str, Any]:
    """{tags: [rules], prefix, suffix, default_variant, versions} from one tag script's text."""
    lines = [line.strip() for line in text.splitlines()]
    out: dict[str, Any] = {"tags": []}
    for line in lines:
        if line.startswith("tag() {"):
            emits = _PRINTF.findall(line)
            words = _words(emits[0]) if emits else []
            position = words.index("$t") if "$t" in words else -1
            if position > 0:
                out["prefix"] = words[0]
            if 0 <= position < len(words) - 1:
                out["suffix"] = words[-1]
            out["default_variant"] = len(emits) > 1
        elif line.startswith("scheme=") and "# a " in line:
            out.setdefault("versions", {})["scheme"] = line.rsplit("# a ", 1)[1].split()[0]
        elif line.startswith("raw_version=$("):
            files = [w for w in _words(line.split("$(", 1)[1].rstrip(")")) if not w.startswith("-") and w not in ("sed", "1p", "|", "tr", "head", "\\r", "-d", "-n", "1")]
            if files:
                out.setdefault("versions", {}).update({"from": "file", "file": files[-1]})
    try:
        body = lines[lines.index("{") + 1:next(i for i, line in enumerate(lines) if line.startswith("} | awk"))]
    except (ValueError, StopIteration):
        return out
    index = 0
    while index < len(body):
        line = body[index]
        if line.startswith("if "):
            end = _block_end(body, index)
            condition = _condition(line)
            inner = body[index + 1:end]
            out["tags"] += _rules(_tags_in(inner), condition or {})
            index = end + 1
            continue
        out["tags"] += _rules(_tags_in([line]), {})
        index += 1
    out["tags"] = _merge_guards(out["tags"])
    return out


def _merge_guards(rules: list[Any]) -> list[Any]:
    """Unconditional templates come one guard block each: fold the semver three seen apart."""
    names = [rule if isinstance(rule, str) else None for rule in rules]
    out: list[Any] = []
    index = 0
    while index < len(rules):
        if tuple(names[index:index + 3]) == SEMVER_TEMPLATES:
            out.append("semver")
            index += 3
            continue
        out.append(rules[index])
        index += 1
    return out


def _admits(patterns: list[str] | bool, ref: str) -> bool:
    return isinstance(patterns, list) and any(re.fullmatch(glob_regex(p), ref) for p in patterns)


def spec_publishes(spec: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
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
                tags = tags_for(rules, word, ref_type, ref, EXAMPLE_SHA, [], image.get("tag_prefix", ""), image.get("tag_suffix", ""),
                                bool(image.get("default_variant")), versioning)
                references += [f"{registry['repository']}:{tag}" for tag in tags]
        out[event] = sorted(set(references))
    return out, {}
