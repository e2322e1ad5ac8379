"""Pinned actions and images: the pins file shipped in the package, plus a project's overrides.

A project's overrides (`.gen-ci/pins.json`, written by `gen-ci pins adopt`) keep a bot's pin
bump across `gen-ci sync`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

USES = re.compile(r"^(?P<indent>\s*(?:-\s+)?)uses: (?P<name>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+(?:\.\d+)*)\s*$")


@cache
def pins() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "pins.json").read_text(encoding="utf-8"))


def read_overrides(path: Path) -> dict[str, dict[str, str]]:
    """A project's validated pin overrides; a located SpecError (GC116) when the file is not valid.

    Its values land in `uses:` lines, so nothing in it is trusted before it passes its schema.
    """
    from generator.diagnostics import SpecError
    from generator.loading import load_spec
    from generator.validation import did_you_mean, pins_schema, validate_schema

    if not path.is_file():
        return {}
    loaded = load_spec(path, kind="pin file")
    try:
        validate_schema(loaded, pins_schema())
    except SpecError as error:
        raise SpecError([replace(d, code="GC116") for d in error.diagnostics]) from None
    overrides = loaded.data.get("actions", {})
    known = sorted(pins()["actions"])
    unknown = [
        loaded.diagnostic(("actions", name), "GC116", f"gen-ci emits no action {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}", key=True)
        for name in overrides
        if name not in known
    ]
    if unknown:
        raise SpecError(unknown)
    return overrides


def resolver(overrides: dict[str, dict[str, str]]):
    """`action(name)` for templates: `owner/repo@<sha> # <version>`, overrides first."""

    def action(name: str) -> str:
        pin = overrides.get(name) or pins()["actions"][name]
        return f"{name}@{pin['sha']} # {pin['version']}"

    return action


def action(name: str) -> str:
    return resolver({})(name)


def image(name: str) -> str:
    """`name:tag@sha256:...`: a tag alone is not an identity, so every pinned image carries its digest."""
    pin = pins()["images"][name]
    reference = f"{pin['image']}:{pin['tag']}"
    return f"{reference}@{pin['digest']}" if pin["digest"] else reference


def image_tag(name: str) -> str:
    return pins()["images"][name]["tag"]


def tool(name: str) -> str:
    return pins()["tools"][name]


def uses_lines(text: str) -> dict[int, tuple[str, str, str]]:
    """Line index -> (action, sha, version) for every SHA-pinned uses: line."""
    found = {}
    for index, line in enumerate(text.splitlines()):
        match = USES.match(line)
        if match:
            found[index] = (match["name"], match["sha"], match["version"])
    return found
