"""Where images go and with which credentials: logins, OIDC, environments, secret names, signing identities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.logins import CI_REGISTRY, clashes, credentials, describe
from generator.model import is_own, publishes, registry_host
from generator.rules.common import foreign_to_gitlab, is_ecr, registry_entries


def push_without_credentials(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if not publishes(spec["push"]):
        return
    for entry, repository_at, auth_at in registry_entries(spec):
        auth, named = entry.get("auth", "token"), "push" if auth_at[0] == "push" else "this registry"
        needed = {"secrets": ("username", "password"), "oidc": ("aws_role", "aws_region")}.get(auth, ())
        for key in needed:
            if key not in entry:
                yield loaded.diagnostic(
                    auth_at, "GC104",
                    f"auth: {auth} needs {key} ({named}) to get registry credentials; name the secret (GitHub) or "
                    "masked, protected variable (GitLab) that holds it" if auth == "secrets" else f"auth: oidc needs {key} ({named}) to get registry credentials",
                )
        if auth != "token" or is_own(entry["repository"]):
            continue
        host = registry_host(entry["repository"])
        if "github" in spec["targets"] and host != "ghcr.io":
            yield loaded.diagnostic(
                repository_at, "GC104",
                "auth: token uses GITHUB_TOKEN, which can push only to ghcr.io; use auth: secrets with a username and "
                "password for this registry, oidc for AWS ECR, or repository: platform for the project's own registry",
            )
        if "gitlab" in spec["targets"] and foreign_to_gitlab(host):
            yield loaded.diagnostic(
                repository_at, "GC104",
                f"auth: token logs in with the job's CI_REGISTRY_PASSWORD, which belongs to the project's own GitLab registry "
                f"($CI_REGISTRY) alone, never to {host}; use auth: secrets with masked, protected variables for this registry",
            )


def oidc_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for entry, repository_at, _ in registry_entries(spec):
        if entry.get("auth") == "oidc" and not is_ecr(registry_host(entry["repository"])):
            yield loaded.diagnostic(
                repository_at, "GC108",
                "auth: oidc exchanges the job's OIDC token for AWS credentials, which log in to Amazon ECR only "
                "(<account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws); use auth: secrets for this registry",
            )


def secrets_without_environment(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    push = spec["push"]
    if "github" not in spec["targets"] or not publishes(push) or "environment" in push:
        return
    for entry, _, auth_at in registry_entries(spec):
        if entry.get("auth") == "secrets":
            yield loaded.diagnostic(
                auth_at, "GC110",
                "auth: secrets on GitHub needs push.environment: keep the registry credentials as environment secrets, "
                "released only to the push job and only past the environment's protection rules",
            )
            return


def registry_secret_name_refused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "github" not in spec["targets"]:
        return
    places = [(("push",), spec["push"])] + [
        (("images", index, "publish", number), entry)
        for index, image in enumerate(spec["images"])
        for number, entry in enumerate(image.get("publish", []))
    ]
    for where, entry in places:
        for key in ("username", "password"):
            name = entry.get(key, "")
            if name.upper().startswith("GITHUB_"):
                yield loaded.diagnostic((*where, key), "GC121", f"GitHub refuses secret names that start with GITHUB_ ({name}); rename the secret")


def repository_or_publish(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        if ("repository" in image) == ("publish" in image):
            both = "repository" in image
            yield loaded.diagnostic(
                ("images", index, "publish" if both else ""), "GC117",
                "name where the image goes with either repository (one registry, push.auth) or publish (several registries, "
                + ("each with its own auth), not both" if both else "each with its own auth); it has neither"),
                key=both,
            )


def _login_place(host: str, platform: str) -> str:
    return "$CI_REGISTRY (GitLab)" if host == CI_REGISTRY else f"{host} (GitHub)" if platform == "github" and host == "ghcr.io" else host


def registry_logins_clash(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Two registries of one image whose logins go to one host with different credentials: Docker
    keeps one login a host, so the second would replace the first before either push."""
    if not publishes(spec["push"]):
        return
    by_image: dict[int, list[tuple[dict[str, Any], tuple]]] = {}
    for entry, repository_at, _ in registry_entries(spec):
        by_image.setdefault(repository_at[1], []).append((entry, repository_at))
    reported = set()
    for platform in ("github", "gitlab", "jenkins"):
        if platform not in spec["targets"]:
            continue
        for entries in by_image.values():
            # Jenkins has no platform registry (GC131 says so where it is written).
            kept = [(e, at) for e, at in entries if platform != "jenkins" or not is_own(e["repository"])]
            for first, second, host in clashes([e for e, _ in kept], platform):
                (earlier, earlier_at), (later, where) = kept[first], kept[second]
                if where in reported:
                    continue
                reported.add(where)
                said = {c: ("the job token" if c[0] == "token" else f"{c[0]} {c[1]}/{c[2]}") for c in (credentials(earlier), credentials(later))}
                names = [describe(later), describe(earlier)]
                if names[0] == names[1]:  # the same repository twice: say which entries
                    names = [f"{name} (publish[{at[3]}])" for name, at in zip(names, (where, earlier_at))]
                yield loaded.diagnostic(
                    where, "GC140",
                    f"{names[0]} and {names[1]} both log in to {_login_place(host, platform)}, with "
                    f"{said[credentials(later)]} and {said[credentials(earlier)]}; Docker keeps one login a host, so "
                    "the last login would push to both: give both registries the same credentials",
                )


def signing_unverifiable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    push = spec["push"]
    if not push["sign"]:
        return
    if not publishes(push):
        if "sign" in loaded.data.get("push", {}):
            yield loaded.diagnostic(
                ("push", "sign"), "GC122",
                "push.sign signs what is pushed, and this spec pushes nothing (no push.branches, no push.tags, no "
                "scheduled publishing); set push.sign: false or name the refs that publish",
            )
        return
    if "github" in spec["targets"] and spec["triggers"]["call"]:
        yield loaded.diagnostic(
            ("triggers", "call"), "GC123",
            "a called workflow's signing certificate names this file at the ref the caller chose, which the job cannot "
            "see (github.workflow_ref names the caller), so the verify step could never match; set push.sign: false "
            "or remove triggers.call",
        )
    if "github" in spec["targets"] and loaded.data.get("github", {}).get("called") is True:
        yield loaded.diagnostic(
            ("github", "called"), "GC123",
            "a called workflow's signing certificate names the caller's workflow and ref (github.workflow_ref), so the verify "
            "step could never match this file; set push.sign: false or leave github.called out",
        )
