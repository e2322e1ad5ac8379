"""Combining with hand-written files (scenario 28): gitlab.include, gitlab.publish_needs, github.called."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.combining import GITLAB_KEYWORDS, generated_name
from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import publishes


def own_job_name_clash(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A job of the including file that a publish job needs must not be one of gen-ci's own."""
    for index, name in enumerate(loaded.data.get("gitlab", {}).get("publish_needs", []) or []):
        if not isinstance(name, str):
            continue
        if generated_name(name):
            yield loaded.diagnostic(
                ("gitlab", "publish_needs", index), "GC165",
                f"{name!r} is a name gen-ci gives its own jobs (build-*, candidate-*, publish-*, tags-*, scan-*, sign-*, "
                "describe-*, check-generated): in the merged pipeline one would replace the other; rename your job (unit-tests)",
            )
        elif name in GITLAB_KEYWORDS:
            yield loaded.diagnostic(("gitlab", "publish_needs", index), "GC165", f"{name!r} is a GitLab keyword, never a job's name; name the job itself")


def combine_setting_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """gitlab:/github: settings for a platform the spec does not render, or needs with nothing to gate."""
    for platform in ("gitlab", "github"):
        if platform in loaded.data and platform not in spec["targets"]:
            other = "; Jenkins has no include or call: see docs/jenkins.md, combining with your own stages" if "jenkins" in spec["targets"] else ""
            yield loaded.diagnostic(
                (platform,), "GC166", f"{platform} settings apply to targets.{platform}, which this spec does not render; add it or remove them{other}", key=True,
            )
    gitlab = loaded.data.get("gitlab", {})
    if not isinstance(gitlab, dict) or not gitlab.get("publish_needs"):
        return
    if not gitlab.get("include"):
        yield loaded.diagnostic(
            ("gitlab", "publish_needs"), "GC166",
            "publish_needs names jobs of a hand-written file that includes this one, and a file of its own holds none; "
            "set gitlab.include: true and include it from your .gitlab-ci.yml", key=True,
        )
    elif not publishes(spec["push"]):
        yield loaded.diagnostic(("gitlab", "publish_needs"), "GC166", "nothing is ever pushed (no push.branches, no push.tags), so no publish job waits for these jobs; remove publish_needs", key=True)


def include_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if loaded.data.get("gitlab", {}).get("include") is True and spec["docker"]["mode"] == "rootless":
        yield loaded.diagnostic(
            ("gitlab", "include"), "GC167",
            "an included file is rendered for daemon jobs (dind or socket); docker.mode rootless renders a file of its own only; "
            "use mode: dind, or leave include out",
        )
