"""Images built from images: build_args {from: image, image: <id>} name another image of the spec."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import image_id


def _image_args(spec: dict[str, Any]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for index, image in enumerate(spec["images"]):
        for name, value in image["build_args"].items():
            if isinstance(value, dict) and (value["from"] == "image" or "image" in value):
                yield index, name, value


def _bases(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Image id -> the ids of the spec's images it builds from (unknown ids left out)."""
    ids = {image_id(image) for image in spec["images"]}
    out: dict[str, set[str]] = {image_id(image): set() for image in spec["images"]}
    for index, _, value in _image_args(spec):
        own = image_id(spec["images"][index])
        if value["from"] == "image" and value.get("image") in ids and value.get("image") != own:
            out[own].add(value["image"])
    return out


def build_arg_image(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC154 incomplete, GC155 unknown or itself, GC157 other platforms."""
    ids = [image_id(image) for image in spec["images"]]
    for index, name, value in _image_args(spec):
        where = ("images", index, "build_args", name)
        own = ids[index]
        if value["from"] != "image":
            yield loaded.diagnostic((*where, "image"), "GC154",
                                    f"image names the base image of from: image, and this build arg is from: {value['from']}; "
                                    "remove image, or write from: image", key=True)
            continue
        if "image" not in value:
            yield loaded.diagnostic((*where, "from"), "GC154",
                                    f"from: image needs image: the id of the spec's image {name} is built from (one of {', '.join(i for i in ids if i != own) or 'none'})")
            continue
        base = value["image"]
        if base == own:
            yield loaded.diagnostic((*where, "image"), "GC155", f"image {own!r} cannot be built from itself; name another image of the spec")
            continue
        if base not in ids:
            close = difflib.get_close_matches(base, [i for i in ids if i != own], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (the spec's images are {', '.join(i for i in ids if i != own) or 'none other'})"
            yield loaded.diagnostic((*where, "image"), "GC155", f"no image of this spec has the id {base!r}{hint}")
            continue
        base_platforms = spec["images"][ids.index(base)]["platforms"]
        if list(base_platforms) != list(spec["images"][index]["platforms"]):
            yield loaded.diagnostic(
                ("images", index, "platforms"), "GC157",
                f"{own} is built from {base} ({', '.join(base_platforms)}) for {', '.join(spec['images'][index]['platforms'])}: each "
                f"platform builds from {base}'s tested candidate of that platform, so give both images the same platforms",
            )


def image_chain_cycle(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    bases = _bases(spec)
    ids = [image_id(image) for image in spec["images"]]
    reported: set[str] = set()
    for start in ids:
        todo = [(start, [start])]  # depth first along build args: (image, the images walked to reach it)
        while todo:
            current, path = todo.pop()
            for base in sorted(bases.get(current, ())):
                if base == start and start not in reported:
                    reported.update(path)
                    index = ids.index(start)
                    name = next(n for n, v in spec["images"][index]["build_args"].items()
                                if isinstance(v, dict) and v.get("image") in bases[start] and v.get("image") == (path + [start])[1])
                    yield loaded.diagnostic(
                        ("images", index, "build_args", name, "image"), "GC156",
                        f"images are built from each other in a circle ({' -> '.join(path + [start])}), so none could build first; "
                        "break the circle",
                    )
                elif base not in path:
                    todo.append((base, path + [base]))


def image_chain_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    bases = _bases(spec)
    members = {ident for ident, of in bases.items() if of} | {base for of in bases.values() for base in of}
    if not members:
        return
    ids = [image_id(image) for image in spec["images"]]
    first = next(index for index, _, value in _image_args(spec))
    arg = next(name for index, name, value in _image_args(spec) if index == first)
    where = ("images", first, "build_args", arg)
    if "jenkins" in spec["targets"]:
        yield loaded.diagnostic(where, "GC158", "the Jenkins target builds every image in one agent and does not pass one image's "
                                "candidate to another yet; render this spec for github and gitlab, or write the base's published digest as a plain value")
    if spec["docker"]["mode"] == "rootless":
        yield loaded.diagnostic(where, "GC158", "docker.mode rootless does not pass one image's candidate to another yet; use mode: dind or socket")
    for index, image in enumerate(spec["images"]):
        if ids[index] not in members:
            continue
        if "paths" in image:
            yield loaded.diagnostic(("images", index, "paths"), "GC158",
                                    f"{ids[index]} is in an image chain, which builds and publishes together on every run; remove paths")
        if image["cache"] == "registry":
            yield loaded.diagnostic(("images", index, "cache"), "GC158",
                                    f"{ids[index]} is in an image chain, whose candidate jobs hold no registry credentials to write a registry cache; use cache: auto or none")


def image_chain_old_client(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GitLab publishes a chain's images from their kept OCI layouts with buildx imagetools, as it merges platforms."""
    from generator.rules.platforms import GITLAB_MERGE_VERSION

    version = tuple(int(part) for part in spec["docker"]["version"].split("."))
    if "gitlab" not in spec["targets"] or version >= GITLAB_MERGE_VERSION or spec["docker"]["mode"] == "rootless":
        return
    if not any(value["from"] == "image" and "image" in value for _, _, value in _image_args(spec)):
        return
    first = next(index for index, _, value in _image_args(spec))
    arg = next(name for index, name, _ in _image_args(spec) if index == first)
    yield loaded.diagnostic(
        ("docker", "version") if "version" in loaded.data.get("docker", {}) else ("images", first, "build_args", arg),
        "GC158",
        f"GitLab publishes the images of a chain from their kept OCI layouts with buildx imagetools, which the "
        f"docker:{spec['docker']['version']}-cli image's buildx cannot do; set docker.version to 29.4.0 or newer",
    )


def chain_job_names_clash(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """An image of a chain names its jobs per platform even with one platform (build-<id>-<platform>),
    which another image's jobs may already name (GC106, as duplicate_image_ids says for several platforms)."""
    from generator.model import platform_slug
    from generator.rules.images import _job_names

    bases = _bases(spec)
    members = {ident for ident, of in bases.items() if of} | {base for of in bases.values() for base in of}
    ids = [image_id(image) for image in spec["images"]]
    taken = {name: index for index, image in enumerate(spec["images"]) for name in _job_names(ids[index], image["platforms"])}
    for index, image in enumerate(spec["images"]):
        if ids[index] not in members or len(image["platforms"]) > 1:
            continue
        for role in ("build", "candidate"):
            name = f"{role}-{ids[index]}-{platform_slug(image['platforms'][0])}"
            if taken.get(name, index) != index:
                other = taken[name]
                yield loaded.diagnostic(
                    ("images", index, "id") if "id" in image else ("images", index),
                    "GC106",
                    f"image {ids[index]!r} is in an image chain, whose jobs are named per platform ({name}), which "
                    f"images[{other}] ({ids[other]}) already names; give this image a different id",
                )
                break
