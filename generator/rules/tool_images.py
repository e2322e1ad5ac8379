"""A spec's own tool images (tool_images): a tool gen-ci runs, a full reference by digest, and one
place each pin is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator import pins
from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.validation import did_you_mean


def tool_images_invalid(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC178: a name gen-ci runs no image for, or a reference without tag and digest; GC179:
    Docker's own images, whose tag is docker.version's."""
    known = sorted(name for name in pins.pins()["images"] if name not in pins.ENGINE_IMAGES)
    for name, reference in spec.get("tool_images", {}).items():
        if name in pins.ENGINE_IMAGES:
            kind = name.removeprefix("docker-")
            yield loaded.diagnostic(
                ("tool_images", name), "GC179",
                f"Docker's {kind} image follows docker.version: write docker.version with docker.dind_digest and docker.cli_digest "
                f"(`gen-ci pins resolve docker:<version>-{kind}` prints each) and remove tool_images.{name}",
                key=True,
            )
        elif name not in known:
            yield loaded.diagnostic(
                ("tool_images", name), "GC178",
                f"gen-ci runs no tool image {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}",
                key=True,
            )
        elif not pins.PINNED.match(reference):
            image, _, digest = reference.partition("@")
            if not digest:
                why = f"it has no digest, and a tag alone is not an identity: `gen-ci pins resolve {image}` prints {image}@sha256:<digest>"
            elif ":" not in image.rsplit("/", 1)[-1]:
                why = f"it has no tag: write the tag the digest was read from, {image}:<tag>@{digest}"
            else:
                why = "it is not host/path:tag@sha256:<64 lower-case hex digits>"
            yield loaded.diagnostic(("tool_images", name), "GC178", f"{reference[:120]!r}: {why}")


def tool_image_pinned_twice(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC169: a tool pinned both in tool_images and by a digest of its own elsewhere in the spec."""
    chosen = spec.get("tool_images", {})
    elsewhere: list[tuple[str, str]] = []
    if spec["scan"]["tool"] in chosen and "digest" in loaded.data.get("scan", {}):
        elsewhere.append((spec["scan"]["tool"], "scan.digest"))
    if "hadolint" in chosen:
        elsewhere += [
            ("hadolint", f"images[{index}].dockerfile_check.digest")
            for index, image in enumerate(spec["images"])
            if "digest" in (image.get("dockerfile_check") or {})
        ]
    for name, other in elsewhere:
        yield loaded.diagnostic(
            ("tool_images", name), "GC169",
            f"{name} is pinned twice, here and by {other}: keep one (tool_images.{name} names image, tag and digest; remove {other})",
        )
