"""An image's own settings: ids and job names, scans, build args and secrets, services, prepare steps, paths and caches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import (
    image_id,
    is_own,
    platform_slug,
    publishes,
    registries,
    registry_host,
)
from generator.quoting import tool_variable, trimmed_by_actions
from generator.rules.common import foreign_to_gitlab, gitlab_images, loaded_keys

# Words YAML 1.1 or 1.2, or GitHub's expressions, read as something other than a name.
RESERVED_IDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}


ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,39}")


# Jobs every output may hold besides the images' own.
FIXED_JOBS = {"publish-gate", "changes", "all-images", "check-generated"}


def _job_names(ident: str, platforms: list[str]) -> set[str]:
    """Every job (and artifact or cache scope) name an image's id can give, on any platform."""
    names = {f"{role}-{ident}" for role in ("build", "publish", "scan", "tags", "describe", "sign")}
    if len(platforms) > 1:
        names |= {f"{role}-{ident}-{platform_slug(p)}" for role in ("build", "candidate") for p in platforms}
    return names


def duplicate_image_ids(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    owners: dict[str, int] = {name: -1 for name in FIXED_JOBS}
    for index, image in enumerate(spec["images"]):
        ident = image_id(image)
        where = ("images", index, "id") if "id" in image else ("images", index, "repository")
        if "id" not in image and not ID_PATTERN.fullmatch(ident) or ident in RESERVED_IDS:
            suggestion = re.sub(r"^[^a-z]+", "", ident) or "app"
            if suggestion in RESERVED_IDS or not ID_PATTERN.fullmatch(suggestion):
                suggestion = "app"
            yield loaded.diagnostic(
                where, "GC106",
                f"the image id {ident!r}{' (taken from the repository)' if 'id' not in image else ''} cannot name jobs: "
                f"{'YAML and expressions read it as a value, not a name' if ident in RESERVED_IDS else 'an id starts with a lower-case letter and holds only a-z, 0-9 and -'}; "
                f"set id: {suggestion}",
            )
            continue
        if ident in seen:
            yield loaded.diagnostic(
                where, "GC106",
                f"image id {ident!r} is already used by images[{seen[ident]}]; job names and cache scopes must be unique, "
                "so give one of them a different id",
            )
            continue
        seen[ident] = index
        for name in sorted(_job_names(ident, image["platforms"])):
            other = owners.setdefault(name, index)
            if other != index:
                taken = "gen-ci's own job" if other < 0 else f"images[{other}] ({image_id(spec['images'][other])})"
                yield loaded.diagnostic(
                    where, "GC106",
                    f"image {ident!r} would make a job {name!r}, which {taken} already names; give this image a different id",
                )
                break


COMPUTED_LABELS = ("org.opencontainers.image.source", "org.opencontainers.image.revision",
                   "org.opencontainers.image.version", "org.opencontainers.image.created")


def label_reserved(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A label of the spec's own that gen-ci computes: two values, one silently lost."""
    for index, image in enumerate(spec["images"]):
        if isinstance(image["labels"], dict):
            for name in image["labels"]:
                if name in COMPUTED_LABELS:
                    yield loaded.diagnostic(("images", index, "labels", name), "GC152",
                                            f"gen-ci computes {name} in the job (the commit, its version and time, the repository); remove it here",
                                            key=True)


def threshold_without_scanner(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    raw_scan = loaded.data.get("scan", {})
    if spec["scan"]["tool"] == "grype" and spec["scan"]["security_report"] and "gitlab" in spec["targets"]:
        yield loaded.diagnostic(
            ("scan", "security_report"), "GC105",
            "GitLab's container scanning report is written with trivy's GitLab template, and grype has none; use scan.tool: trivy",
        )
    if spec["scan"]["tool"] == "none":
        for key in ("fail_on", "ignore_unfixed", "digest", "mode", "security_report"):
            if key in raw_scan:
                yield loaded.diagnostic(
                    ("scan", key), "GC105",
                    f"scan.{key} has no effect with scan.tool: none; choose trivy or grype, or remove scan.{key}",
                )


SECRET_WORDS = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|KEY", re.IGNORECASE)


def secret_in_build_arg(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        for name in image["build_args"]:
            if SECRET_WORDS.search(name):
                yield loaded.diagnostic(
                    ("images", index, "build_args", name), "GC120",
                    f"build arg {name} looks like a secret, and build args stay in the image's history; pass it as a BuildKit "
                    f"secret instead: images[{index}].secrets: {{{name.lower()}: <secret or variable name>}}, read in the "
                    f"Dockerfile with RUN --mount=type=secret,id={name.lower()}",
                    key=True,
                )


def build_secrets_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "github" not in spec["targets"]:
        return
    for index, image in enumerate(spec["images"]):
        for secret_id, name in image["secrets"].items():
            if name.upper().startswith("GITHUB_"):
                yield loaded.diagnostic(("images", index, "secrets", secret_id), "GC121", f"GitHub refuses secret names that start with GITHUB_ ({name}); rename the secret")
        if image["secrets"] and publishes(spec["push"]) and "environment" not in spec["push"]:
            yield loaded.diagnostic(
                ("images", index, "secrets"), "GC110",
                "build secrets on GitHub need push.environment too: the publish jobs build again and read them as "
                "environment secrets of that environment",
                key=True,
            )
        if image["secrets"] and "build_environment" not in spec["push"]:
            yield loaded.diagnostic(
                ("images", index, "secrets"), "GC110",
                "build secrets on GitHub need push.build_environment: the build jobs read them as environment secrets "
                "(and so do the publish jobs, from push.environment), never as repository-wide secrets",
                key=True,
            )


def build_arg_trimmed_on_github(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A build arg value ending in white space reaches buildx through the build step's environment on
    GitHub (build-push-action trims its build-args items); a name the step's tools read cannot."""
    if "github" not in spec["targets"]:
        return
    for index, image in enumerate(spec["images"]):
        for name, value in image["build_args"].items():
            if isinstance(value, str) and trimmed_by_actions(f"{name}={value}") and tool_variable(name):
                yield loaded.diagnostic(
                    ("images", index, "build_args", name), "GC141",
                    f"the value of {name} ends in white space, which docker/build-push-action trims from its build-args, so "
                    f"GitHub passes such a value to buildx in the build step's environment, where {name} is a variable the "
                    "runner, the action, buildx or the shell reads itself; rename the build arg, or remove the white space",
                    key=True,
                )


def _unpinned(image: str) -> str | None:
    """Why an image reference is not pinned, or None: a digest, or a tag other than latest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if digest:
        return None
    if not tag:
        return "has no tag, so it means latest"
    if tag == "latest":
        return "is latest"
    if not any(character.isdigit() for character in tag):
        # lts, alpine, stable, bookworm, edge, mainline: names that move to each new release.
        return f"is tagged {tag!r}, a name with no version in it"
    return None


def image_unpinned(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        places = [(("images", index, "services", number, "image"), service["image"]) for number, service in enumerate(image["services"])]
        if "prepare" in image:
            places.append((("images", index, "prepare", "image"), image["prepare"]["image"]))
        for where, reference in places:
            problem = _unpinned(reference)
            if problem:
                yield loaded.diagnostic(
                    where, "GC126",
                    f"{reference} {problem}, which changes under the pipeline; name a version tag (e.g. postgres:16.4) or a digest (@sha256:...)",
                )


def _outside(path: str) -> bool:
    return ".." in path.split("/")


def path_outside_repository(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    places = [(("shared_paths", number), path) for number, path in enumerate(spec["shared_paths"])]
    places += [(("images", index, "paths", number), path) for index, image in enumerate(spec["images"]) for number, path in enumerate(image.get("paths", []))]
    for where, path in places:
        if _outside(path):
            yield loaded.diagnostic(where, "GC127", f"{path} leaves the repository, where no change is ever seen; name a path relative to its root")


def _inside(path: str, context: str) -> bool:
    context = context.strip("/")
    return context in ("", ".") or path == context or path.startswith(context + "/")


def services_and_prepare(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        if image["services"] and "test" not in image and "checkout_tests" not in image:
            yield loaded.diagnostic(
                ("images", index, "services"), "GC109", "services start for the tests alone, and this image has no test or checkout_tests; add one or remove services",
            )
        seen: dict[str, int] = {}
        for number, service in enumerate(image["services"]):
            if service["name"] in seen:
                yield loaded.diagnostic(
                    ("images", index, "services", number, "name"), "GC128",
                    f"two services are named {service['name']} (entries {seen[service['name']]} and {number}); a name reaches one service, so rename one",
                )
            seen.setdefault(service["name"], number)
        for number, output in enumerate(image.get("prepare", {}).get("outputs", [])):
            if not _inside(output, image["context"]):
                yield loaded.diagnostic(
                    ("images", index, "prepare", "outputs", number), "GC128",
                    f"{output} is outside the build context {image['context']}, so the build would never see it; "
                    f"make the script write under {image['context']}/",
                )
    if spec["shared_paths"] and not any("paths" in image for image in spec["images"]):
        yield loaded.diagnostic(("shared_paths",), "GC109", "shared_paths only widens images[].paths, and no image lists paths; remove it or add paths to an image")


def cache_unusable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in gitlab_images(spec):
        if image["cache"] == "gha":
            yield loaded.diagnostic(
                ("images", index, "cache"),
                "GC103",
                "cache: gha needs GitHub's cache service, and the GitLab jobs build with the daemon's own docker builder, "
                "which cannot export to it; use cache: auto (gha on GitHub, none on GitLab)",
            )


def image_cache_auth(image: dict[str, Any], push: dict[str, Any]) -> str | None:
    """How the publish and platform jobs log in to the image's cache registry (generator.model.cache_registry)."""
    host = registry_host(image["cache_repository"])
    entries = registries(image, push)
    named = [entry for entry in entries if not is_own(entry["repository"]) and registry_host(entry["repository"]) == host]
    own = [entry for entry in entries if is_own(entry["repository"])]
    chosen = (named or own or [None])[0]
    return None if chosen is None else chosen.get("auth", "token")


def cache_unwritable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        where = ("images", index, "cache_repository")
        if image["cache"] != "registry":
            for key in ("cache_repository", "cache_clean_release"):
                if key in loaded_keys(loaded, ("images", index)):
                    yield loaded.diagnostic(("images", index, key), "GC109", f"{key} configures cache: registry; set cache: registry or remove it")
            continue
        if "cache_repository" not in image:
            yield loaded.diagnostic(("images", index, "cache"), "GC129", "cache: registry needs cache_repository: the repository the cache lives in")
            continue
        if len(image["platforms"]) > 1 and "gitlab" in spec["targets"] and image_cache_auth(image, spec["push"]) == "oidc":
            # GitLab's platform jobs log in to the cache registry with the job token or masked variables only.
            yield loaded.diagnostic(
                where, "GC129",
                "a multi-platform image's GitLab platform jobs write the cache with the job token or masked variables, never "
                "through OIDC; put the cache on one of the image's registries that logs in with either",
            )
            continue
        host = registry_host(image["cache_repository"])
        entries = registries(image, spec["push"])
        for target in spec["targets"]:
            own = any(is_own(entry["repository"]) for entry in entries) and (
                host == "ghcr.io" if target == "github" else not foreign_to_gitlab(host)
            )
            if not own and not any(not is_own(entry["repository"]) and registry_host(entry["repository"]) == host for entry in entries):
                hosts = sorted({registry_host(e["repository"]) if not is_own(e["repository"]) else "the platform's own" for e in entries})
                yield loaded.diagnostic(
                    where, "GC129",
                    f"the {target} publish job logs in to {', '.join(hosts) or 'no registry'} only, so it cannot write a cache on {host}; "
                    "put the cache on one of the image's registries",
                )
                break


# Names the job itself sets or reads: a test's candidate variable must never replace one of them.
_RESERVED_VARIABLES = ("PATH", "HOME", "SHELL", "USER", "PWD", "CANDIDATE", "PLATFORM")
_RESERVED_PREFIXES = ("DOCKER_", "COMPOSE_", "BUILDKIT_", "GEN_CI_", "CI_", "GITHUB_", "RUNNER_", "ACTIONS_", "GITLAB_")


# Names that carry credentials on some platform: a prepare script never gets them, even by name.
_CREDENTIAL_WORDS = ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "KEY", "CREDENTIAL", "AUTH", "JWT", "CERT")
CI_PREFIXES = {"github": ("GITHUB_", "RUNNER_"), "gitlab": ("CI_", "GITLAB_")}


def reserved_variable(name: str) -> bool:
    return name in _RESERVED_VARIABLES or name.startswith(_RESERVED_PREFIXES)


def credential_name(name: str) -> bool:
    return any(word in name for word in _CREDENTIAL_WORDS) or name == "DOCKER_AUTH_CONFIG"


def checkout_test_invalid(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        for number, test in enumerate(image.get("checkout_tests", [])):
            where = ("images", index, "checkout_tests", number)
            if "compose" in test and "script" in test:
                yield loaded.diagnostic((*where, "script"), "GC153", "a checkout test runs a compose service or a script, not both; make them two entries")
            elif "compose" in test and "service" not in test:
                yield loaded.diagnostic(where, "GC153", "compose needs service: the compose service to run (docker compose run --rm SERVICE), whose exit status is the test's")
            elif "service" in test and "compose" not in test:
                yield loaded.diagnostic((*where, "service"), "GC153", "service names a service of a compose file; add compose: the file, relative to the repository root")
            elif "compose" not in test and "script" not in test:
                yield loaded.diagnostic(where, "GC153", "a checkout test needs compose (with service) or script")
            variable = test["image_variable"]
            if reserved_variable(variable):
                yield loaded.diagnostic(
                    (*where, "image_variable"), "GC153",
                    f"{variable} is a name the job or its tools read; name the candidate's variable otherwise (IMAGE, APP_IMAGE)",
                )




def prepare_variable_refused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    platforms = [target for target in ("github", "gitlab") if target in spec["targets"]]
    prefixes = tuple(prefix for target in platforms for prefix in CI_PREFIXES[target])
    for index, image in enumerate(spec["images"]):
        for number, name in enumerate(image.get("prepare", {}).get("variables", [])):
            where = ("images", index, "prepare", "variables", number)
            if credential_name(name):
                yield loaded.diagnostic(
                    where, "GC170",
                    f"{name} can carry a credential, and the prepare script runs your repository's code; "
                    "pass what it needs through build secrets (images[].secrets) instead",
                )
            elif name != "CI" and not name.startswith(prefixes):
                known = " or ".join(f"{p}*" for p in prefixes) or "the platform's"
                yield loaded.diagnostic(
                    where, "GC170",
                    f"{name} is not a CI variable of {' or '.join(platforms) or 'the spec'}; name {known} variables "
                    "(CI_COMMIT_TAG, GITHUB_REF_NAME), or put fixed values in the script",
                )


def prepared_version_unset(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        prepare = image.get("prepare", {})
        readers = [name for name, value in image["build_args"].items() if isinstance(value, dict) and value["from"] == "prepare"]
        for name in readers:
            if "version_file" not in prepare:
                yield loaded.diagnostic(
                    ("images", index, "build_args", name, "from"), "GC171",
                    "from: prepare reads the version the prepare step writes; add prepare.version_file (for example dist/VERSION)"
                    + ("" if prepare else " to a prepare step"),
                )
        if "version_file" in prepare:
            where = ("images", index, "prepare", "version_file")
            if not readers:
                yield loaded.diagnostic(where, "GC171", "version_file is read by build_args {from: prepare} alone, and none names it; add one or remove it")
            if not any(prepare["version_file"] == out or prepare["version_file"].startswith(out.rstrip("/") + "/") for out in prepare["outputs"]):
                yield loaded.diagnostic(
                    where, "GC171",
                    f"{prepare['version_file']} is not among the outputs the prepare step sends back ({', '.join(prepare['outputs'])}); "
                    "write it under one of them",
                )
