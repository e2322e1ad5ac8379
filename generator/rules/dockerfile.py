"""The Dockerfile lint gate (images[].dockerfile_check): what each tool can honour, and where it runs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec

HADOLINT_RULE = re.compile(r"(?:DL|SC)[0-9]{4}")

# BuildKit's check names (docs.docker.com/reference/build-checks), only to catch a misspelt one: a
# name close to one of these but not equal is refused; a name far from all of them may be a newer check.
BUILDKIT_CHECKS = (
    "StageNameCasing", "FromAsCasing", "NoEmptyContinuation", "ConsistentInstructionCasing",
    "DuplicateStageName", "ReservedStageName", "JSONArgsRecommended", "MaintainerDeprecated",
    "UndefinedArgInFrom", "WorkdirRelativePath", "UndefinedVar", "MultipleInstructionsDisallowed",
    "LegacyKeyValueFormat", "InvalidBaseImagePlatform", "RedundantTargetPlatform",
    "SecretsUsedInArgOrEnv", "InvalidDefaultArgInFrom", "FromPlatformFlagConstDisallowed",
    "CopyIgnoredFile", "ExposeProtoCasing", "ExposeInvalidFormat",
)


# Build checks need buildx 0.15 or later (docs.docker.com/build/checks); Docker 27.0 is the first
# engine line whose client image ships it, and whose own BuildKit runs the checks in dind.
CHECK_DOCKER_VERSION = (27, 0, 0)


def _checks(spec: dict[str, Any]) -> Iterator[tuple[tuple, dict[str, Any]]]:
    for index, image in enumerate(spec["images"]):
        if image.get("dockerfile_check") is not None:
            yield ("images", index, "dockerfile_check"), image["dockerfile_check"]


def dockerfile_check_settings(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Levels, digests and ignored rules each tool can honour (GC160-GC162)."""
    for where, check in _checks(spec):
        tool = check.get("tool", "buildkit")
        if tool == "buildkit" and "fail_on" in check:
            yield loaded.diagnostic(
                (*where, "fail_on"), "GC160",
                "BuildKit reports every check at one level (warning), and docker buildx build --call=check fails on any "
                "finding; remove fail_on and ignore the rules you accept, or use tool: hadolint, which has levels",
            )
        if tool == "buildkit" and "digest" in check:
            yield loaded.diagnostic(
                (*where, "digest"), "GC161",
                "BuildKit's check runs in the builder gen-ci already pins, so this digest pins nothing; remove it",
            )
        seen: set[str] = set()
        for number, entry in enumerate(check.get("ignore", [])):
            rule = entry["rule"]
            place = (*where, "ignore", number, "rule")
            if rule in seen:
                yield loaded.diagnostic(place, "GC162", f"{rule} is ignored twice; keep one entry with one reason")
            seen.add(rule)
            if tool == "hadolint" and not HADOLINT_RULE.fullmatch(rule):
                yield loaded.diagnostic(
                    place, "GC162",
                    f"{rule} is not a hadolint rule id (DL or SC and four digits); BuildKit check names need tool: buildkit",
                )
            elif tool == "buildkit" and HADOLINT_RULE.fullmatch(rule):
                yield loaded.diagnostic(
                    place, "GC162",
                    f"{rule} is a hadolint rule id, which BuildKit's checks do not know; use tool: hadolint, or a BuildKit check name",
                )
            elif tool == "buildkit" and rule not in BUILDKIT_CHECKS:
                close = difflib.get_close_matches(rule, BUILDKIT_CHECKS, n=1, cutoff=0.8)
                if close:
                    yield loaded.diagnostic(
                        place, "GC162",
                        f"{rule} is not a BuildKit check, so nothing would be skipped; did you mean {close[0]!r}?",
                    )


def dockerfile_check_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Where gen-ci does not render the gate yet (GC163): rootless jobs have no daemon to run either
    tool's container or buildx in, and the Jenkins target has no such stage."""
    for where, _ in _checks(spec):
        if spec["docker"]["mode"] == "rootless":
            yield loaded.diagnostic(
                where, "GC163",
                "docker.mode rootless builds with buildctl and has no daemon to run the check in; use socket or dind mode",
            )
        elif "jenkins" in spec["targets"]:
            yield loaded.diagnostic(
                where, "GC163",
                "the Jenkins target does not render the Dockerfile check; render it for GitHub or GitLab only",
            )
    for index, image in enumerate(spec["images"]):
        check = image.get("dockerfile_check")
        computed = sorted(name for name, value in image["build_args"].items() if isinstance(value, dict))
        if check is not None and check.get("tool", "buildkit") == "buildkit" and computed:
            # The job computes these during the build (a base image's digest, a version), after the
            # check: BuildKit would check, and resolve, a FROM ${ARG} that is still empty.
            yield loaded.diagnostic(
                ("images", index, "dockerfile_check"), "GC163",
                f"BuildKit's check runs before the job computes {', '.join(computed)}, so it would read them empty; "
                "use tool: hadolint, which reads the Dockerfile alone",
            )
