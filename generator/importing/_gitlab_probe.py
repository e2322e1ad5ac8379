"""When a GitLab pipeline runs and when it publishes, asked of its own conditions run by run.

Every ref the conditions name (a branch compared, a tag regex, an `only:` entry) becomes a probe:
a run on a ref that pattern matches. The workflow and each job's rules (or only/except) decide it
exactly as GitLab would, so gen-ci's outputs and hand-written files are read the same way."""

from __future__ import annotations

from typing import Any

from generator.importing import Note
from generator.importing._gitlab_expr import (
    Compare,
    ExpressionError,
    Present,
    atoms,
    evaluate,
    example,
    glob_of_regex,
    parse,
    python_regex,
    rules_allow,
    run_env,
)
from generator.lint.document import Job, PipelineFile

BRANCH_VARIABLES = ("CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
NOWHERE = "gen-ci-import-nowhere"
ONLY_KEYWORDS = {"branches": ("push", "schedule", "manual"), "tags": ("tag",), "merge_requests": ("pr",), "schedules": ("schedule",),
                 "web": ("manual",), "pushes": ("push", "tag"), "external_pull_requests": ("pr",)}


class Probe:
    def __init__(self, pipeline: PipelineFile, jobs: list[Job], publishers: list[Job], default_branch: str = "main", tag_event: str = "push") -> None:
        self.pipeline, self.jobs, self.publishers = pipeline, jobs, publishers
        self.default_branch, self.tag_event = default_branch, tag_event
        self.parsed: dict[str, Any] = {}
        self.notes: list[Note] = []
        self.extra: dict[str, str] = {}
        self.branches: list[str] = [default_branch, "**"]
        self.tags: list[str] = ["**"]
        self.targets: list[str] = []
        self.upstream: str | None = None
        workflow = pipeline.root.get("workflow") if isinstance(pipeline.root.get("workflow"), dict) else {}
        self.workflow = workflow.get("rules") if isinstance(workflow, dict) else None
        for job in jobs:
            self._collect(job.merged.get("rules"), job)
            for key in ("only", "except"):
                self._collect_only(job.merged.get(key))
        self._collect(self.workflow, None)
        self.tag_event = "release" if self._release_tags() else tag_event

    def _release_tags(self) -> bool:
        return any("GEN_CI_EVENT=release" in str(job.merged.get("script", "")) for job in self.publishers)

    def _collect(self, rules: Any, job: Job | None) -> None:
        for rule in rules if isinstance(rules, list) else []:
            condition = rule.get("if") if isinstance(rule, dict) else None
            if not isinstance(condition, str):
                continue
            try:
                node = self.parsed[condition] = parse(condition)
            except ExpressionError as exc:
                where = job.file if job else self.pipeline.path
                self.notes.append(Note("not-carried", where or self.pipeline.path, job.line if job else 1,
                                       f"a rule's if: cannot be read ({exc}); it is taken as never matching", "write the rule in the spec's triggers by hand"))
                continue
            for atom in atoms(node):
                self._candidate(atom)

    def _candidate(self, atom: Compare | Present) -> None:
        if isinstance(atom, Present):
            return
        kind, value = atom.value
        glob = value if kind == "str" else glob_of_regex(value) if kind == "re" else self.default_branch if value == "CI_DEFAULT_BRANCH" else None
        if atom.variable == "CI_PROJECT_PATH" and kind == "str" and atom.op == "==":
            self.upstream = value
            self.extra["CI_PROJECT_PATH"] = value
        if not glob:
            return
        if atom.variable in BRANCH_VARIABLES:
            self.branches.append(glob)
        if atom.variable == "CI_MERGE_REQUEST_TARGET_BRANCH_NAME":
            self.targets.append(glob)
        if atom.variable in ("CI_COMMIT_TAG", "CI_COMMIT_REF_NAME"):
            self.tags.append(glob)

    def _collect_only(self, value: Any) -> None:
        refs = value.get("refs") if isinstance(value, dict) else value
        for entry in refs if isinstance(refs, list) else []:
            if not isinstance(entry, str) or entry in ONLY_KEYWORDS or entry in ("api", "triggers", "chat", "pipelines"):
                continue
            glob = glob_of_regex(entry) if entry.startswith("/") else entry
            if glob:
                self.branches.append(glob)
            if glob and entry.startswith("/"):  # a name is a branch's; a tag of the same name is not probed
                self.tags.append(glob)

    # --- one run ---------------------------------------------------------------------------------

    def env(self, kind: str, ref: str) -> dict[str, str]:
        ref_kind = "manual" if kind == "manual-tag" else kind
        env = run_env(ref_kind, ref, self.default_branch, self.extra)
        if kind == "manual-tag":
            env.pop("CI_COMMIT_BRANCH", None)
            env["CI_COMMIT_TAG"] = ref
        if kind in ("manual", "manual-tag"):
            env["GEN_CI_PUBLISH"] = "yes"
        return env

    def _admits(self, job: Job, env: dict[str, str]) -> bool:
        merged = job.merged
        if "rules" in merged:
            return bool(rules_allow(merged["rules"], env, self.parsed))
        if "only" in merged or "except" in merged:
            only = merged.get("only", ["branches", "tags"])
            return _only_matches(only, env, self) and not ("except" in merged and _only_matches(merged["except"], env, self, default=False))
        # No conditions: every pipeline the workflow makes; without a workflow GitLab makes no
        # merge request pipeline unless a job asks for one.
        return self.workflow is not None or env["CI_PIPELINE_SOURCE"] != "merge_request_event"

    def pipeline_runs(self, env: dict[str, str]) -> bool:
        return self.workflow is None or bool(rules_allow(self.workflow, env, self.parsed))

    def runs(self, kind: str, ref: str) -> bool:
        env = self.env(kind, ref)
        return self.pipeline_runs(env) and any(self._admits(job, env) for job in self.jobs)

    def publishes(self, kind: str, ref: str, jobs: list[Job] | None = None) -> bool:
        env = self.env(kind, ref)
        return self.pipeline_runs(env) and any(self._admits(job, env) for job in (jobs if jobs is not None else self.publishers))

    # --- the spec's words -------------------------------------------------------------------------

    def triggers(self) -> dict[str, Any]:
        branches = _unique([p for p in self.branches if self.runs("push", example(p))])
        tags = _unique([p for p in self.tags if self.runs("tag", example(p))])
        if self.runs("pr", NOWHERE):
            pull_requests: Any = True
        else:
            pull_requests = _unique([p for p in [*self.targets, *self.branches] if self.runs("pr", example(p))]) or False
        scheduled = any(self.runs("schedule", example(p)) for p in self.branches)
        # A pipeline started by hand on a tag is a manual run too; the original may publish only from those.
        manual = any(self.runs("manual", example(p)) for p in self.branches) or any(self.runs("manual-tag", example(p)) for p in self.tags)
        return {"branches": branches, "tags": tags, "pull_requests": pull_requests, "schedule": scheduled, "manual": manual}

    def push(self, jobs: list[Job] | None = None) -> dict[str, Any]:
        events: list[str] = []
        branches: list[str] = []
        tags: list[str] = []
        for kind, event in (("push", "push"), ("schedule", "schedule"), ("manual", "manual")):
            found = [p for p in self.branches if self.publishes(kind, example(p), jobs)]
            if found:
                events.append(event)
                branches += found
        found = [p for p in self.tags if self.publishes("tag", example(p), jobs)]
        if found:
            events.append(self.tag_event)
            tags += found
        manual_tags = [p for p in self.tags if self.publishes("manual-tag", example(p), jobs)]
        if manual_tags:
            events.append("manual")
            tags += manual_tags
        out: dict[str, Any] = {"branches": _unique(branches), "tags": _unique(tags)}
        events = list(dict.fromkeys(events))
        if events and events != ["push"]:
            out["events"] = events
        if self.upstream:
            out["upstream"] = self.upstream
        return out


def _only_matches(value: Any, env: dict[str, str], probe: Probe, default: bool = True) -> bool:
    """GitLab's only/except: refs keywords, names and /regexes/, and variables expressions."""
    kind = {"push": "tag" if env.get("CI_COMMIT_TAG") else "push", "merge_request_event": "pr", "schedule": "schedule", "web": "manual"}.get(env["CI_PIPELINE_SOURCE"], "")
    refs = value.get("refs") if isinstance(value, dict) else value
    variables = value.get("variables") if isinstance(value, dict) else None
    matched = default if refs is None else False
    for entry in refs if isinstance(refs, list) else []:
        if not isinstance(entry, str):
            continue
        if entry in ONLY_KEYWORDS:
            matched = matched or kind in ONLY_KEYWORDS[entry] or (entry == "branches" and kind == "manual" and not env.get("CI_COMMIT_TAG"))
        elif entry.startswith("/"):
            regex = python_regex(entry)
            matched = matched or (kind != "pr" and regex is not None and regex.search(env["CI_COMMIT_REF_NAME"]) is not None)
        else:
            matched = matched or (kind != "pr" and entry == env["CI_COMMIT_REF_NAME"])
    if isinstance(variables, list) and variables:
        found = False
        for expression in variables:
            try:
                found = found or evaluate(parse(str(expression)), env)
            except ExpressionError:
                continue
        matched = matched and found if refs is not None else found
    return matched


def _unique(patterns: list[str]) -> list[str]:
    """Patterns once each; everything else dropped where ** already takes every ref."""
    patterns = list(dict.fromkeys(patterns))
    return ["**"] if "**" in patterns else patterns


def settle_events(push: dict[str, Any], crons: list[str], file: str) -> list[Note]:
    """Publishing events the spec can hold: a schedule needs a cron line, and a run by hand
    publishes in gen-ci only when asked to, which the report says."""
    events = push.get("events", ["push"])
    notes = []
    if "schedule" in events and not crons:
        events = [event for event in events if event != "schedule"]
        notes.append(Note("assumed", file, 0, "the original would publish on scheduled runs, and no schedule is carried, so none publishes",
                          "list the crons in triggers.schedule and add schedule to push.events"))
    if "manual" in events:
        notes.append(Note("assumed", file, 0, "the original publishes on runs started by hand; gen-ci does that only when asked (GEN_CI_PUBLISH)",
                          "start such runs with GEN_CI_PUBLISH set to yes (GitLab) or the GEN_CI_PUBLISH parameter (Jenkins)"))
    if events and events != ["push"]:
        push["events"] = events
    else:
        push.pop("events", None)
    return notes
