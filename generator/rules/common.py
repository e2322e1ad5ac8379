"""What every rule module shares: the rule's signature and readers of the spec every rule asks the same way."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.logins import foreign_to_gitlab  # noqa: F401 - the rules read it from here
from generator.model import registries

Rule = Callable[[dict[str, Any], LoadedSpec], Iterator[Diagnostic]]


def loaded_keys(loaded: LoadedSpec, path: tuple) -> set[str]:
    node: Any = loaded.data
    for part in path:
        node = node[part]
    return set(node)


def registry_entries(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple, tuple]]:
    """(registry, path of its repository, path where its auth is written) for every registry of every image."""
    for index, image in enumerate(spec["images"]):
        if "publish" in image:
            for number, entry in enumerate(registries(image, spec["push"])):
                where = ("images", index, "publish", number)
                yield entry, (*where, "repository"), (*where, "auth") if "auth" in image["publish"][number] else where
        else:
            for entry in registries(image, spec["push"]):
                yield entry, ("images", index, "repository"), ("push", "auth")


def gitlab_images(spec: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    if "gitlab" in spec["targets"]:
        yield from enumerate(spec["images"])


def is_ecr(host: str) -> bool:
    return host == "public.ecr.aws" or re.fullmatch(r"[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", host) is not None
