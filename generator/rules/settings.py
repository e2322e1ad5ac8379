"""Settings that would do nothing for this spec: refused where they are written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec


def setting_without_effect(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for key in ("check_requirements", "check_install"):
        if key in spec and not spec["check_job"]:
            yield loaded.diagnostic((key,), "GC109", f"{key} is read by the check job alone; set check_job: true or remove it")
    if "check_requirements" in spec and "check_install" in spec:
        yield loaded.diagnostic(("check_install",), "GC109", "check_requirements already says what the check job installs (hash-pinned); keep one of the two")
    yield from _platform_settings_unused(spec, loaded)
    raw_docker = loaded.data.get("docker", {})
    # version and cli_digest also pin the client image of GitLab's socket jobs, so they stay valid there.
    dind_only = ("dind_digest", "storage_driver", "network", "iptables", "icc", "mtu", "bip", "github_daemon")
    if spec["docker"]["mode"] == "rootless":
        return  # rootless_limits refuses the daemon's settings there, as needing privileges
    if spec["docker"]["mode"] == "socket":
        for key in dind_only:
            if key in raw_docker:
                yield loaded.diagnostic(("docker", key), "GC109", f"docker.{key} configures the dind daemon and has no effect in socket mode; remove it or set mode: dind")
    elif spec["docker"]["network"] == "isolated":
        for key in ("bip", "mtu"):
            if key in raw_docker:
                yield loaded.diagnostic(
                    ("docker", key), "GC109",
                    f"docker.{key} configures the default bridge, which the isolated profile does not create "
                    "(builds use the dind container's own network, MTU included); use network: icc-off or remove it",
                )


# Settings that only some outputs read: (path in the spec, the platforms that read it).
PLATFORM_SETTINGS = [
    (("check_job",), ("github", "gitlab")),
    (("push", "build_environment"), ("github",)),
    (("runners", "github"), ("github",)),
    (("runners", "gitlab"), ("gitlab",)),
    (("docker", "github_daemon"), ("github",)),
    (("triggers", "release"), ("github",)),
    (("triggers", "call"), ("github",)),
]


def _platform_settings_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A setting the user wrote (defaults never count) that no output of this spec reads."""
    rendered = set(spec["targets"])
    for path, readers in PLATFORM_SETTINGS:
        node: Any = loaded.data
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict) or path[-1] not in node or rendered & set(readers):
            continue
        if path[-1] in ("release", "call", "check_job") and not node[path[-1]]:
            continue  # turned off: says what every output already does
        yield loaded.diagnostic(
            path, "GC109",
            f"{'.'.join(path)} is read only by {' and '.join(readers)} outputs, and this spec renders "
            f"{', '.join(sorted(rendered))}; remove it",
            key=True,
        )
