"""Pinned actions and images: the pins file shipped in the package, plus a project's overrides.

A project's overrides (`.gen-ci/pins.json`, written by `gen-ci pins adopt`) keep a bot's pin
bump across `gen-ci sync`. A tool image is chosen in this order: the spec's own `tool_images`,
then the project's overrides, then gen-ci's pins.json (`images_in_use` says which apply while a
spec is built and rendered).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

USES = re.compile(r"^(?P<indent>\s*(?:-\s+)?)uses: (?P<name>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+(?:\.\d+)*)\s*$")


# docker/distribution's reference grammar: [host[:port]/]path:tag[@digest]
COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
HOST = rf"(?:{LABEL}(?:\.{LABEL})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST = r"sha256:[0-9a-f]{64}"
# A full reference with its digest, as a spec's tool_images gives one. Its characters are plain in
# YAML, shell and Groovy alike (no IPv6 brackets): some templates write an image unquoted.
PINNED = re.compile(rf"^(?P<image>(?:{LABEL}(?:\.{LABEL})*(?::[0-9]+)?/)?{COMPONENT}(?:/{COMPONENT})*):(?P<tag>{TAG})@(?P<digest>{DIGEST})$(?!\n)")
# A digest-pinned reference inside an output's text.
IN_TEXT = re.compile(rf"(?<![\w.:/@-])(?P<image>(?:{HOST}/)?{COMPONENT}(?:/{COMPONENT})*):(?P<tag>{TAG})@(?P<digest>{DIGEST})(?![0-9a-f])")

# The tool images of the spec being built and rendered: name -> {image, tag, digest}.
_IN_USE: ContextVar[dict[str, dict[str, str]] | None] = ContextVar("gen_ci_tool_images", default=None)

# The pull mirror of the spec being built and rendered (docker.mirror), or None.
_MIRROR: ContextVar[str | None] = ContextVar("gen_ci_mirror", default=None)

# Their tag follows docker.version (docker.dind_digest, docker.cli_digest): no override or
# tool_images entry may name another tag for them.
ENGINE_IMAGES = ("docker-dind", "docker-cli")


@cache
def pins() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "pins.json").read_text(encoding="utf-8"))


def read_overrides(path: Path) -> dict[str, dict[str, str]]:
    """A project's validated action overrides; a located SpecError (GC116) when the file is not valid."""
    return read_all_overrides(path)[0]


def read_all_overrides(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """(actions, images): a project's validated pin overrides; a located SpecError (GC116) when
    the file is not valid.

    Its values land in `uses:` lines and image references, so nothing in it is trusted before it
    passes its schema and names an action or tool image gen-ci emits, in that image's repository.
    """
    from generator.diagnostics import SpecError
    from generator.loading import load_spec
    from generator.validation import did_you_mean, pins_schema, validate_schema

    if not path.is_file():
        return {}, {}
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
    images = loaded.data.get("images", {})
    tools = sorted(pins()["images"])
    for name, pin in images.items():
        if name not in tools:
            unknown.append(loaded.diagnostic(
                ("images", name), "GC116", f"gen-ci runs no tool image {name!r}{did_you_mean(name, tools)}; known: {', '.join(tools)}", key=True))
            continue
        own = pins()["images"][name]
        if pin["image"] != own["image"]:
            unknown.append(loaded.diagnostic(
                ("images", name, "image"), "GC116",
                f"{name} is {own['image']}, not {pin['image']}: an override keeps gen-ci's repository; a mirror or another image goes in the spec's tool_images"))
        elif name in ENGINE_IMAGES and pin["tag"] != own["tag"]:
            unknown.append(loaded.diagnostic(
                ("images", name, "tag"), "GC116",
                f"the tag of {name} follows docker.version ({own['tag']} by default), not an override: write docker.version with docker.dind_digest and docker.cli_digest in the spec"))
    if unknown:
        raise SpecError(unknown)
    return overrides, images


def spec_images(tool_images: dict[str, str]) -> dict[str, dict[str, str]]:
    """A spec's tool_images (checked by the rules: every value matches PINNED) as pins."""
    found = {}
    for name, reference in tool_images.items():
        match = PINNED.match(reference)
        if match:
            found[name] = {"image": match["image"], "tag": match["tag"], "digest": match["digest"]}
    return found


@contextmanager
def images_in_use(tool_images: dict[str, str] | None, overrides: dict[str, dict[str, str]] | None,
                  mirror: str | None = None) -> Iterator[dict[str, dict[str, str]]]:
    """While a spec is built and rendered, `image(name)` (the templates' pinned_image) answers with
    the spec's tool_images first, then the project's overrides, then gen-ci's pins.json, through
    the spec's pull mirror when it names one."""
    chosen = {**(overrides or {}), **spec_images(tool_images or {})}
    token, mirror_token = _IN_USE.set(chosen), _MIRROR.set(mirror)
    try:
        yield chosen
    finally:
        _IN_USE.reset(token)
        _MIRROR.reset(mirror_token)


def mirrored(reference: str) -> str:
    """reference as the jobs pull it: through the pull mirror in use, if any."""
    from generator.mirror import through

    return through(reference, _MIRROR.get())


def resolver(overrides: dict[str, dict[str, str]]):
    """`action(name)` for templates: `owner/repo@<sha> # <version>`, overrides first."""

    def action(name: str) -> str:
        pin = overrides.get(name) or pins()["actions"][name]
        return f"{name}@{pin['sha']} # {pin['version']}"

    return action


def action(name: str) -> str:
    return resolver({})(name)


def image_pin(name: str) -> dict[str, str]:
    """{image, tag, digest} of a tool image: the spec's, the project's override, else gen-ci's."""
    return (_IN_USE.get() or {}).get(name) or pins()["images"][name]


def spelled(pin: dict[str, str]) -> str:
    return f"{pin['image']}:{pin['tag']}@{pin['digest']}"


def image(name: str) -> str:
    """`name:tag@sha256:...`: a tag alone is not an identity, so every pinned image carries its digest."""
    pin = image_pin(name)
    reference = f"{pin['image']}:{pin['tag']}"
    return mirrored(f"{reference}@{pin['digest']}" if pin["digest"] else reference)


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
