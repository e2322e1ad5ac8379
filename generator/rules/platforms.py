"""Multi-platform images: the runners each platform builds on and the client that merges them."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import github_native
from generator.rules.common import gitlab_images

# The first docker:<version>-cli image whose buildx (0.33) reads and writes OCI layouts with imagetools.
GITLAB_MERGE_VERSION = (29, 4, 0)


def multi_platform_on_old_client(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    version = tuple(int(part) for part in spec["docker"]["version"].split("."))
    if version >= GITLAB_MERGE_VERSION or spec["docker"]["mode"] == "rootless":  # rootless: GC130 says why
        return
    for index, image in gitlab_images(spec):
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic(
                ("docker", "version") if "version" in loaded.data.get("docker", {}) else ("images", index, "platforms"),
                "GC102",
                f"the GitLab merge job joins the platforms' tested images with buildx imagetools and OCI layouts, which the "
                f"docker:{spec['docker']['version']}-cli image's buildx cannot do; set docker.version to 29.4.0 or newer",
            )


def _default_native(spec: dict[str, Any]) -> dict[str, str]:
    """The platform each target's default runners run natively."""
    natives = {}
    if "github" in spec["targets"]:
        natives["github"] = github_native(spec["runners"]["github"])
    if "gitlab" in spec["targets"]:
        natives["gitlab"] = "linux/amd64"
    return natives


def runner_mapping_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    built = {platform for image in spec["images"] for platform in image["platforms"]}
    for platform, mapping in spec["runners"]["platforms"].items():
        where = ("runners", "platforms", platform)
        if platform not in built:
            yield loaded.diagnostic(
                where, "GC124",
                f"runners.platforms names {platform}, which no image builds{did_you_mean_platform(platform, built)}; "
                "remove it or add the platform to an image's platforms",
                key=True,
            )
            continue
        if mapping.get("emulate") and ("github" in mapping or "gitlab" in mapping):
            yield loaded.diagnostic(
                (*where, "emulate"), "GC125",
                f"{platform} is given native runners and emulate: true; a platform builds natively on its runners or "
                "under QEMU on the default runners, so remove one",
            )
        elif mapping.get("emulate"):
            for target, native in _default_native(spec).items():
                if native == platform:
                    yield loaded.diagnostic(
                        (*where, "emulate"), "GC125",
                        f"the default {target} runners already are {platform}, so there is nothing to emulate; remove emulate",
                    )


def did_you_mean_platform(platform: str, built: set[str]) -> str:
    close = difflib.get_close_matches(platform, sorted(built), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
