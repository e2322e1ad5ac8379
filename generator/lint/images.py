"""Image references as every dialect reads them: whether a tag names a version, and whether an image
is the Docker daemon (dind). GitLab, GitHub, Jenkins and Compose rules all ask these two questions
and must answer them alike."""

from __future__ import annotations

import re
from collections.abc import Iterator

# Release codenames name a fixed release, as a number does (debian:bookworm-slim is Debian 12).
CODENAMES = {
    "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie", "forky",
    "trusty", "xenial", "bionic", "focal", "jammy", "noble", "oracular", "plucky", "questing",
}
# Words that name a release channel, not a release: the image under them moves, whatever distro
# suffix stands beside them (node:current-alpine3.18, nginx:stable-alpine, node:lts-bookworm).
CHANNELS = {
    "latest", "lts", "stable", "current", "edge", "mainline", "rolling", "nightly", "weekly", "daily", "testing",
    "unstable", "sid", "rc", "alpha", "beta", "preview", "canary", "next", "experimental", "snapshot",
    "dev", "devel", "develop", "master", "main", "trunk", "head",
}
# A distribution with its release number (alpine3.20, ubuntu22.04, ltsc2022): pins the base, so
# the tag is taken as pinned where nothing else in it moves.
DISTRIBUTIONS = ("alpine", "ubuntu", "debian", "ubi", "centos", "rockylinux", "el", "ltsc", "nanoserver", "windowsservercore")
_DISTRIBUTION_RELEASE = re.compile(rf"(?:{'|'.join(DISTRIBUTIONS)})\d+(?:\.\d+)*")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
# A runtime named with its dotted version (python3.8.5, node18.17) reads as 3.8.5 does; jdk17 does not.
_NAMED_RELEASE = re.compile(r"[a-z]+\d+(?:\.\d+)+")


def _image_version(part: str) -> bool:
    """A tag part that is the image's own version: 3.12, v1.23.2, or a commit id."""
    return bool(re.match(r"v?\d", part)) or bool(_COMMIT.fullmatch(part)) and bool(re.search(r"\d", part))


def tag_names_a_version(tag: str) -> bool:
    """Whether a tag pins what it names: its own version (3.12-slim, v1.2, a commit id) unless it
    says latest; otherwise a codename or a distribution's release (bookworm-slim, alpine3.20) with no
    channel word beside it, or a runtime's dotted release (python3.8.5-slim). lts, current-alpine3.18,
    stable-cli, dind, alpine, jdk17 name no version."""
    parts = re.split(r"[-_]", tag.lower())
    if not tag or "latest" in parts:
        return False
    if any(_image_version(part) for part in parts):
        return True
    if any(part in CHANNELS for part in parts):
        return False
    return any(part in CODENAMES or _DISTRIBUTION_RELEASE.fullmatch(part) or _NAMED_RELEASE.fullmatch(part) for part in parts)


def unpinned_reason(reference: str) -> str | None:
    """Why an image reference moves under the file (no tag, a tag naming no version), or None when
    a digest or the tag pins it."""
    if "@sha256:" in reference:
        return None
    tag = reference.rsplit("/", 1)[-1].partition(":")[2]
    if not tag:
        return "has no tag (so :latest)"
    return None if tag_names_a_version(tag) else f"uses the moving tag :{tag}"


# Where Docker Hub's official images are reached: Docker Hub itself, a pull-through mirror of its
# library (mirror.gcr.io/library), and a prefix left to a variable (GitLab's dependency proxy).
_HUB_PATHS = {"", "docker.io", "docker.io/library", "index.docker.io/library", "registry-1.docker.io/library", "library"}


def _parts(reference: str) -> tuple[str, str, str]:
    """(path before the name, name, tag) of a reference, its digest left off; tag "" for none."""
    path, _, last = reference.strip().split("@", 1)[0].rpartition("/")
    name, _, tag = last.partition(":")
    return path, name, tag


def official_docker(reference: str) -> bool:
    """Docker's own `docker` image, from Docker Hub, a mirror of its library, or behind a variable
    standing for a proxy prefix."""
    path, name, _ = _parts(reference)
    return name == "docker" and (path in _HUB_PATHS or path.startswith("$") or path.endswith(("/library", "/dependency_proxy/containers")))


def tls_on_by_default(tag: str) -> bool:
    """Whether Docker's official dind image at this tag turns TLS on when DOCKER_TLS_CERTDIR is not
    set: from 19.03 on its entrypoint defaults to /certs and serves 2376; older ones do not. A tag
    naming only the major (docker:19-dind) moves to that major's newest release, 19.03."""
    version = re.match(r"(\d+)(?:\.(\d+))?", tag)
    return not version or (int(version.group(1)), int(version.group(2) or 99)) >= (19, 3)


# The official image's plain version tags and `latest` are the dind variant since Docker 23.0
# (docker-library/official-images, library/docker, February 2023); through 20.10 they were the
# client. `rc` came with 23.0 too. -cli, -git, -windowsservercore tags never run a daemon.
_DAEMON_TAG = re.compile(r"(?:latest|rc|(?P<major>\d+)(?:\.\d+)*(?:-rc(?:\.\d+)?)?)(?:-alpine[\d.]*)?")
FIRST_DIND_RELEASE = 23


def runs_dockerd(reference: str) -> bool:
    """Whether a container of this image is a Docker daemon: any image with dind in its name or tag
    (docker:27-dind, docker:dind-rootless, a team's own ci-dind), and Docker's official image at no
    tag, latest or a version from 23 on (docker:27.3.1 is docker:27.3.1-dind). A job's own image is
    still its client: only a service, a Compose service or a pod container runs the daemon."""
    _, name, tag = _parts(reference)
    if "dind" in f"{name}:{tag}":
        return True
    if not official_docker(reference):
        return False
    found = _DAEMON_TAG.fullmatch(tag) if tag else None
    return not tag or bool(found) and (found.group("major") is None or int(found.group("major")) >= FIRST_DIND_RELEASE)


# BuildKit's image named anywhere in a command or an input (a buildx driver option, a mirror path
# before it). A tag still left to a variable once the caller has filled in what it knows is not judged.
BUILDKIT_IMAGE = re.compile(r"(?<!github\.com/)\bmoby/buildkit(?::(?P<tag>\$\{\{[^}]*\}\}|\$\{?\w+\}?|[\w.-]+))?(?P<digest>@sha256:[0-9a-f]{64})?(?![\w/@.-])")


def moving_buildkit_tags(text: str) -> Iterator[str]:
    """Tags of moby/buildkit in the text that name no release (none, latest, master, buildx-stable-1, rootless); a digest pins."""
    for image in BUILDKIT_IMAGE.finditer(text):
        tag = image.group("tag") or ""
        if not image.group("digest") and not tag.startswith("$") and not re.match(r"v?\d+\.\d+", tag):
            yield tag


def _plain(image: str) -> str:
    # `${NAME}` and `$NAME` are one name, as the shell reads them.
    return re.sub(r"\$\{(\w+)\}", r"$\1", image.split("@", 1)[0])


def image_repository(image: str) -> str:
    """The image without its tag or digest: what a build names and what a job runs are compared by this."""
    image = _plain(image)
    head, _, last = image.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]


# A build command, up to the end of the command, and the names it gives its result; `docker tag`
# gives its second operand.
_BUILD_COMMAND = re.compile(r"(?:\b(?:(?:docker|podman|nerdctl)\s+(?:buildx\s+)?build|buildah\s+(?:bud|build))|/kaniko/executor)\b[^\n;&|]*")
_BUILD_NAME = re.compile(r"(?:\s-t|--tag|--destination)(?:=|\s+)[\"']?([^\s\"';&|]+)")
_MAY_BUILD = re.compile(r"build|\bbud\b|executor|\btag\b")
_TAG_COMMAND = re.compile(r"\b(?:docker|podman|nerdctl|buildah)\s+(?:image\s+)?tag\s+[\"']?[^\s\"';&|]+[\"']?\s+[\"']?([^\s\"';&|]+)")


def built_images(script: str) -> list[str]:
    """The names a script gives the images it builds or tags, as written."""
    if not _MAY_BUILD.search(script):
        return []
    built = [name.group(1) for build in _BUILD_COMMAND.finditer(script) for name in _BUILD_NAME.finditer(build.group(0))]
    return built + [tagged.group(1) for tagged in _TAG_COMMAND.finditer(script)]


def built_repositories(script: str) -> set[str]:
    """The repositories a script builds itself: what a job then runs of those is the pipeline's own
    output, which it pins by building it, not an image that moves under it."""
    return {image_repository(name) for name in built_images(script)}


def image_tag(image: str) -> str:
    """The tag an image reference names, `latest` when it names none."""
    return _plain(image).rsplit("/", 1)[-1].partition(":")[2] or "latest"
