"""What each run publishes, decided once for every platform.

The words, one meaning each:
- a *run* is one pipeline of one platform, of one *kind*: `push` (a branch was pushed), `tag`
  (a tag was pushed), `pr` (a pull or merge request, named by its target branch), `schedule`,
  `manual` (started by hand on a branch) or `release` (a GitHub release was published);
- an *event* is the spec's word for a publishing run (`push.events`, a tag rule's `events`):
  `push`, `release`, `manual` or `schedule`;
- a *publish job* is the job that pushes an image; it runs only in a run that publishes.

The templates write `publishing()` as each platform's conditions (GitHub's gate, GitLab's rules,
Jenkins' `when`) and `event_of()` as the event the tag scripts read; `published()` answers for a
run with the same rules in Python (`gen-ci plan`, and the test that every output agrees).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from generator.jenkins import schedule_branch
from generator.model import Image, Model, Push
from generator.refs import glob_regex
from generator.tagging import tags_for

KINDS = ("push", "tag", "pr", "schedule", "manual", "release")
# The platforms that run pipelines; the Jenkins agent runtime is not one.
PIPELINES = ("github", "gitlab", "jenkins")


class PlanError(ValueError):
    """A run that cannot be asked about: a malformed event, or one the platform does not have."""


@dataclass(frozen=True)
class Run:
    kind: str
    ref: str  # the branch or tag; for pr, the target branch
    sha: str = "0" * 40

    @property
    def ref_type(self) -> str:
        return "tag" if self.kind in ("tag", "release") else "branch"


def parse_run(text: str, sha: str | None = None) -> Run:
    kind, colon, ref = text.partition(":")
    if not colon or kind not in KINDS or not ref:
        raise PlanError(f"--event {text!r}: write KIND:REF with KIND one of {', '.join(KINDS)} (push:main, tag:v1.2.3, pr:main)")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{7,64}", sha):
        raise PlanError(f"--sha {sha!r}: write the commit as lower-case hex")
    return Run(kind, ref, (sha or "0" * 40).ljust(40, "0"))


@dataclass(frozen=True)
class Arm:
    """Runs of one kind on refs of one type publish when the ref matches one of the patterns."""

    kind: str  # push, tag, release, schedule or manual
    ref_type: str  # branch or tag
    patterns: tuple[str, ...]

    @property
    def regex(self) -> str:
        """An anchored ERE for the ref name, globs read as GitHub reads ref filters."""
        return "^(" + "|".join(glob_regex(pattern) for pattern in self.patterns) + ")$"


def releases_publish_tags(push: Push, platform: str) -> bool:
    """A tag publishes through its release when the spec lists `release`: on GitHub the release's
    publication (its tag's push then publishes nothing, so one version never gets two digests);
    GitLab and Jenkins have no release event, and a release there makes a tag run."""
    return "release" in push.events


def publishing(push: Push, platform: str) -> list[Arm]:
    """Every kind of run that publishes on this platform, with the refs it publishes."""
    events, arms = set(push.events), []
    branches, tags = tuple(push.branches), tuple(push.tags)
    if branches:
        arms += [Arm(kind, "branch", branches) for kind in ("push", "schedule", "manual") if kind in events]
    if tags:
        if platform == "github" and "release" in events:
            arms.append(Arm("release", "tag", tags))
        elif events & {"push", "release"}:
            arms.append(Arm("tag", "tag", tags))
        if "manual" in events:
            arms.append(Arm("manual", "tag", tags))
    return arms


def arms_context(push: Push, platform: str) -> list[dict[str, object]]:
    """publishing() as the templates read it: each arm with its ref regex, and the git ref's."""
    return [
        {
            "kind": arm.kind,
            "ref_type": arm.ref_type,
            "patterns": list(arm.patterns),
            "regex": arm.regex,
            "git_ref_regex": ("^refs/heads/" if arm.ref_type == "branch" else "^refs/tags/") + arm.regex[1:],
        }
        for arm in publishing(push, platform)
    ]


def event_of(push: Push, platform: str, kind: str) -> str:
    """The spec's event word for a run of this kind, as tag rules read it (GEN_CI_EVENT)."""
    if kind == "tag":
        return "release" if platform != "github" and releases_publish_tags(push, platform) else "push"
    return kind


def _matches(patterns: list[str] | tuple[str, ...], ref: str) -> bool:
    return any(re.fullmatch(glob_regex(pattern), ref) for pattern in patterns)


def runs(model: Model, platform: str, run: Run, default_branch: str = "main") -> bool:
    """Whether the platform starts a pipeline for this run at all."""
    trig = model.triggers
    if run.kind == "release":
        if platform != "github":
            raise PlanError(f"{platform} has no release event: a release there makes a tag run; ask for tag:{run.ref}")
        return bool(trig["release"])
    if platform == "jenkins":
        # A multibranch job builds every branch, tag and change request it discovers; only the
        # schedule is the Jenkinsfile's own, kept on one branch.
        if run.kind == "schedule":
            return bool(trig["schedule"]) and run.ref == schedule_branch(trig["branches"], {"branches": model.push.branches, "events": model.push.events})
        return True
    if run.kind == "push":
        return _matches(trig["branches"], run.ref)
    if run.kind == "tag":
        return _matches(trig["tags"], run.ref)
    if run.kind == "pr":
        # Targets listed: both filter by them. Else GitHub by the trigger branches; GitLab runs every merge request.
        if isinstance(trig["pull_requests"], list):
            return _matches(trig["pull_requests"], run.ref)
        return bool(trig["pull_requests"]) and (platform == "gitlab" or _matches(trig["branches"], run.ref))
    if run.kind == "schedule":
        # GitHub runs schedules on the default branch alone; GitLab on the branch each schedule names.
        return bool(trig["schedule"]) and (platform == "gitlab" or run.ref == default_branch)
    return bool(trig["manual"])


def publishes(model: Model, platform: str, run: Run, default_branch: str = "main") -> bool:
    if not runs(model, platform, run, default_branch) or not model.push.enabled:
        return False
    return any(arm.kind == run.kind and arm.ref_type == run.ref_type and _matches(arm.patterns, run.ref) for arm in publishing(model.push, platform))


def version_file_text(image: Image, checkout: Path | None) -> str:
    """The version file as the run's checkout holds it: this working tree's."""
    if image.versioning.source != "file":
        return ""
    path = (checkout or Path.cwd()) / image.versioning.file
    if not path.is_file():
        raise PlanError(f"{image.id}: the version file {image.versioning.file} is not in the checkout ({path}), so no run could publish; add it or change versions.file")
    return path.read_text(encoding="utf-8", errors="replace")


def image_references(image: Image, event: str, run: Run, released: list[str], checkout: Path | None = None, date: str = "") -> list[str]:
    known = [*released, run.ref] if run.ref_type == "tag" and image.versioning.source == "tag" else list(released)
    text, date = version_file_text(image, checkout), date or utc_date()
    sets = [tags_for(rules, event, run.ref_type, run.ref, run.sha, known, image.tag_prefix, image.tag_suffix,
                     image.default_variant, image.versioning, text, date) for rules in image.tag_sets]
    return [f"{registry.spelled}:{tag}" for registry in image.registries for tag in sets[registry.tag_set]]


def utc_date() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d")


@dataclass(frozen=True)
class Outcome:
    platform: str
    run: Run
    runs: bool
    publishes: bool
    event: str | None  # the spec's word for this run when it publishes
    references: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)


def outcome(model: Model, platform: str, run: Run, released: list[str] = (), default_branch: str = "main",
            checkout: Path | None = None, date: str = "") -> Outcome:
    if platform not in PIPELINES:
        raise PlanError(f"--platform {platform}: choose one of {', '.join(PIPELINES)}")
    started = runs(model, platform, run, default_branch)
    publishing_run = started and publishes(model, platform, run, default_branch)
    event = event_of(model.push, platform, run.kind) if publishing_run else None
    references = sorted({ref for image in model.images for ref in image_references(image, event, run, list(released), checkout, date)}) if event else []
    return Outcome(platform, run, started, publishing_run, event, references, jobs(model, platform, publishing_run) if started else [])


def chains(model: Model) -> list[list[str]]:
    """Images built from images, each chain in build order: they publish together, only if every one passed."""
    out: list[list[str]] = []
    for image in model.images:
        if image.chain and image.chain not in out:
            out.append(list(image.chain))
    return out


def chain_notes(model: Model) -> list[str]:
    """What `gen-ci plan` says of each chain under its table."""
    notes = []
    for chain in chains(model):
        built_from = {image.id: sorted(set(image.build_args_image.values())) for image in model.images if image.id in chain}
        order = "; ".join(f"{ident} from {', '.join(bases)}" for ident, bases in built_from.items() if bases)
        notes.append(f"{', '.join(chain)}: built in one pipeline ({order}, by the tested candidate's digest); "
                     "they publish together, only if every one of them passed its build, test and scan")
    return notes


def jobs(model: Model, platform: str, publishing_run: bool) -> list[str]:
    """The jobs (Jenkins: stages) a run holds, every image's files taken as changed."""
    if platform == "jenkins":
        names = ["Describe"]
        for image in model.images:
            names += [f"Build {image.id}", *([f"Test {image.id}"] if image.test else []), *([f"Scan {image.id}"] if model.scan.tool != "none" else [])]
        return names + (["Publish"] if publishing_run and any(image.registries for image in model.images) else [])
    names = ["check-generated"] if model.check_job else []
    filtered = any(image.paths for image in model.images)
    if platform == "github":
        names += (["publish-gate"] if model.push.enabled else []) + (["changes"] if filtered else [])
    for image in model.images:
        slugs = [build.slug for build in image.builds] if image.kept_candidate else []
        if platform == "gitlab" and model.docker.mode == "rootless":
            # Daemonless: one build and one scan serve both kinds of run; publishing adds its own jobs.
            names += [f"build-{image.id}", *([f"scan-{image.id}"] if model.scan.tool != "none" else [])]
            if publishing_run:
                names += [f"tags-{image.id}", f"publish-{image.id}", *([f"sign-{image.id}"] if model.push.sign else [])]
            continue
        if platform == "github":
            # Every run builds, tests and scans; a publishing run's jobs write the registry cache (candidate-).
            cached = model.push.enabled and image.cache == "registry" and publishing_run
            names += [f"{'candidate' if cached else 'build'}-{key}" for key in [f"{image.id}-{slug}" for slug in slugs] or [image.id]]
        elif not publishing_run:
            names += [f"build-{image.id}-{slug}" for slug in slugs] or [f"build-{image.id}"]
        elif slugs:
            names += [f"candidate-{image.id}-{slug}" for slug in slugs]
        if publishing_run:
            names.append(f"publish-{image.id}")
    return names + (["all-images"] if platform == "github" and filtered else [])
