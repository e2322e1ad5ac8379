"""Tag rules: names that fit, variants apart, and rules some publishing run can apply."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import normalise_repository, publishes, registries
from generator.tagging import KEYWORDS, MAX_TAG, rules_from_spec, versioned


def tag_lists(image: dict[str, Any], index: int) -> Iterator[tuple[tuple[str | int, ...], list]]:
    """Where each list of tag rules of an image is written: its tags, and each registry's own."""
    yield ("images", index, "tags"), image["tags"]
    for number, entry in enumerate(image.get("publish", [])):
        if "tags" in entry:
            yield ("images", index, "publish", number, "tags"), entry["tags"]


def invalid_tag_rule(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        extra = len(image.get("tag_prefix", "")) + len(image.get("tag_suffix", ""))
        for at, items in tag_lists(image, index):
            for number, rule in enumerate(rules_from_spec(items)):
                close = difflib.get_close_matches(rule.tag, KEYWORDS, n=1, cutoff=0.75)
                if isinstance(items[number], str) and rule.tag not in KEYWORDS and close:
                    yield loaded.diagnostic(
                        (*at, number), "GC118",
                        f"{rule.tag!r} would be published as a fixed tag name; did you mean the keyword {close[0]!r}? "
                        f"(to publish the name itself, write {{tag: {rule.tag}}} and a condition)",
                    )
                if rule.tag not in KEYWORDS and len(rule.tag) + extra > MAX_TAG:
                    yield loaded.diagnostic(
                        (*at, number), "GC118",
                        f"{rule.tag!r} with the prefix and suffix makes a tag of {len(rule.tag) + extra} characters; Docker allows {MAX_TAG}",
                    )
        if "tag_suffix" not in image and image["default_variant"]:
            yield loaded.diagnostic(("images", index, "default_variant"), "GC109", "default_variant only has an effect with tag_suffix; remove it or add a suffix")


def _tag_spaces(image: dict[str, Any]) -> set[tuple[str, str]]:
    """(prefix, suffix) pairs whose tags an image publishes: the suffixed ones and, for a default variant, the plain ones."""
    prefix, suffix = image.get("tag_prefix", ""), image.get("tag_suffix", "")
    return {(prefix, suffix), (prefix, "")} if suffix and image["default_variant"] else {(prefix, suffix)}


def variants_collide(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Two images publishing to one repository with the same prefix and suffix could push the same tag."""
    seen: dict[tuple[str, str, str], int] = {}
    for index, image in enumerate(spec["images"]):
        for entry in registries(image, spec["push"]):
            for prefix, suffix in sorted(_tag_spaces(image)):
                key = (normalise_repository(entry["repository"]), prefix, suffix)
                other = seen.setdefault(key, index)
                if other != index:
                    message = (
                        f"images[{other}] and images[{index}] both publish {prefix}<tag>{suffix} tags to {entry['repository']}, "
                        "so one would overwrite the other; give each a different tag_suffix (and at most one default_variant)"
                    )
                    yield loaded.diagnostic(("images", other), "GC119", message)
                    yield loaded.diagnostic(("images", index), "GC119", message)


def versions_incomplete(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A version source that names no file, a file no run reads, or a file outside the checkout."""
    for index, image in enumerate(spec["images"]):
        versions = image["versions"]
        where = ("images", index, "versions")
        if versions["from"] == "file" and "file" not in versions:
            yield loaded.diagnostic((*where, "from"), "GC151", "versions from a file need the file: add file: VERSION (or package.json, pyproject.toml, Cargo.toml)")
        elif versions["from"] == "tag" and "file" in versions:
            yield loaded.diagnostic((*where, "file"), "GC151", "versions come from git tags (from: tag), so no run reads this file; add from: file, or remove file")
        elif "file" in versions and _leaves_checkout(loaded.file, versions["file"]):
            yield loaded.diagnostic((*where, "file"), "GC151", f"{versions['file']} (relative to the spec) leaves the repository, which a job's checkout holds; name a file inside it")
        rules = [rule for _, items in tag_lists(image, index) for rule in rules_from_spec(items)]
        if "versions" in loaded.data["images"][index] and not any(versioned(rule) for rule in rules):
            yield loaded.diagnostic(where, "GC109", "no tag rule of this image reads a version ({version}, {major}, semver, latest), so versions has no effect; remove it or add such a rule")


def _leaves_checkout(spec_path: str, file: str) -> bool:
    from pathlib import Path

    from generator.project import repository_root

    folder = Path(spec_path).resolve().parent
    root = repository_root(folder)
    return not (folder / file).resolve().is_relative_to(root.resolve())


def tag_rule_never_fires(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A tag rule no publishing run could ever apply: accepted, it would silently publish nothing."""
    push = spec["push"]
    events = set(push["events"])
    if not publishes(push):
        return
    for index, image in enumerate(spec["images"]):
        for at, items in tag_lists(image, index):
            yield from _never_fire(at, items, image, push, events, loaded)


def _never_fire(at: tuple[str | int, ...], items: list, image: dict[str, Any], push: dict[str, Any], events: set[str],
                loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for number, rule in enumerate(rules_from_spec(items)):
        where = (*at, number)
        reachable = set(rule.events or events) & events
        if not reachable:
            yield loaded.diagnostic(
                where, "GC150",
                f"{rule.tag!r} is published on {', '.join(rule.events)} runs, but push.events lists only "
                f"{', '.join(push['events'])}: it would never be published; add {rule.events[0]} to push.events or change the rule's events",
            )
            continue
        types = set()
        if push["branches"] and reachable & {"push", "schedule", "manual"}:
            types.add("branch")
        if push["tags"] and reachable & {"push", "release", "manual"}:
            types.add("tag")
        if rule.branches or rule.tags:
            types &= ({"branch"} if rule.branches else set()) | ({"tag"} if rule.tags else set())
        # A version comes from a tag run's tag, or from the version file on every run.
        if versioned(rule) and "tag" not in types and image["versions"]["from"] == "tag":
            fix = (f"name the branches that get it: {{tag: latest, events: [{', '.join(sorted(reachable))}], branches: [main]}}"
                   if rule.tag == "latest" else "publish it on runs of push.tags")
            yield loaded.diagnostic(
                where, "GC150",
                f"{rule.tag} comes from a version tag, and no run this rule applies to builds one, so it would never be published; {fix}",
            )
        elif not types:
            yield loaded.diagnostic(
                where, "GC150",
                f"{rule.tag!r} applies only to refs no publishing run of this spec builds (push.branches: {push['branches']}, "
                f"push.tags: {push['tags']}, events: {sorted(reachable)}), so it would never be published; widen its branches or tags",
            )
