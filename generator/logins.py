"""Where each registry's docker login goes, per platform, and with which credentials.

Docker keeps one login a registry host: a second `docker login` to a host replaces the first. So
an image's registries get one login per host, and two registries on one host must share their
credentials (GC140). Registries are read as the spec writes them or as the model holds them
(dicts with repository, auth, username, password, aws_role, aws_region).
"""

from __future__ import annotations

from typing import Any

from generator.model import is_own, registry_host

# GitLab's own registry, whose host only the job knows: the shell word its login names.
CI_REGISTRY = '"$CI_REGISTRY"'
GITHUB_REGISTRY = "ghcr.io"

# Registries that are certainly not a GitLab instance's container registry. The job's own check
# that the repository starts with $CI_REGISTRY/ catches every other host at run time.
NOT_GITLAB = ("docker.io", "ghcr.io", "quay.io", "gcr.io", "nvcr.io", "public.ecr.aws", "mcr.microsoft.com")


NOT_GITLAB_SUFFIXES = (".gcr.io", ".pkg.dev", ".amazonaws.com", ".azurecr.io", ".docker.io", ".quay.io")


def foreign_to_gitlab(host: str) -> bool:
    return host in NOT_GITLAB or host.endswith(NOT_GITLAB_SUFFIXES)


def credentials(registry: dict[str, Any]) -> tuple[str | None, ...]:
    """What a login presents: the job token, the named secrets, or the AWS role."""
    auth = registry.get("auth") or "token"
    if auth == "secrets":
        return (auth, registry.get("username"), registry.get("password"))
    if auth == "oidc":
        return (auth, registry.get("aws_role"), registry.get("aws_region"))
    return (auth,)


def login_hosts(registry: dict[str, Any], platform: str) -> tuple[str, ...]:
    """The hosts this registry's login goes to on platform, the one it names first.

    GitLab's job token logs in to $CI_REGISTRY, which a named repository with it must lie under.
    """
    if is_own(registry["repository"]):
        return (GITHUB_REGISTRY,) if platform == "github" else (CI_REGISTRY,)
    host = registry_host(registry["repository"])
    if platform == "gitlab" and (registry.get("auth") or "token") == "token":
        return (CI_REGISTRY, host)
    return (host,)


def logins(registries: list[dict[str, Any]], platform: str, done: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The registries whose login a job performs: the first of each host and credentials, less
    those of `done`, registries the job has logged in to already."""
    seen = {(login_hosts(r, platform)[0], credentials(r)) for r in done or []}
    out = []
    for registry in registries:
        key = (login_hosts(registry, platform)[0], credentials(registry))
        if key not in seen:
            seen.add(key)
            out.append(registry)
    return out


def clashes(registries: list[dict[str, Any]], platform: str) -> list[tuple[int, int, str]]:
    """(first, second, host): two registries whose logins go to one host with different credentials."""
    found = []
    for second, later in enumerate(registries):
        for first, earlier in enumerate(registries[:second]):
            shared = [h for h in login_hosts(earlier, platform) if h in login_hosts(later, platform)]
            if shared and credentials(earlier) != credentials(later):
                found.append((first, second, shared[0]))
                break
    return found


def gitlab_host_checks(registries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """[(host, message)]: named hosts that must not turn out to be $CI_REGISTRY in the job.

    A registry logging in to $CI_REGISTRY (the platform's own, or the job token) and one with other
    credentials on a named host share a host exactly when the job's $CI_REGISTRY is that host,
    which only the job knows. Hosts that are certainly not a GitLab registry need no check.
    """
    own = [r for r in registries if CI_REGISTRY in login_hosts(r, "gitlab")]
    checks: dict[str, str] = {}
    for registry in registries:
        if is_own(registry["repository"]) or (registry.get("auth") or "token") == "token":
            continue
        host = registry_host(registry["repository"])
        other = next((r for r in own if credentials(r) != credentials(registry)), None)
        if other is None or foreign_to_gitlab(host) or host in checks:
            continue
        checks[host] = (
            f"{registry['repository']} and {describe(other)} both log in to {host} (the registry of this project) with "
            "different credentials, and Docker keeps one login a host, so nothing was pushed; give them the same credentials in the spec"
        )
    return list(checks.items())


def describe(registry: dict[str, Any]) -> str:
    """A registry as a message names it."""
    if is_own(registry["repository"]):
        return "the platform registry"
    return str(registry["repository"])
