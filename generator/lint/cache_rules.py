"""Build caches shared across trust levels (issue 31): a merge or pull request that writes the
cache a release build reads chooses the layers that release is built from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.lint.document import Job, PipelineFile, line_of
from generator.lint.findings import Finding, Rule, joined
from generator.lint.github_rules import _jobs, _steps
from generator.lint.gitlab_rules import (
    OPEN,
    _expand,
    _located,
    _located_within,
    _runnable,
    _script_lines,
    _variable_written,
    _variables,
    guard_scope,
)
from generator.lint.jenkins_rules import (
    Groovy,
    _closing_brace,
    _Values,
    commands_in_order,
    read_groovy,
)
from generator.lint.shell_words import (
    can_run_for_merge_requests,
    guarded_commands,
    merge_requests_only,
    rules_limited_to_trusted_refs,
    without_stdin,
)

CACHE_FLAG = re.compile(r"--(?P<flag>cache-to|cache-from|export-cache|import-cache)(?:=|\s+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"']+)")
KANIKO_CACHE = re.compile(r"--cache(=true)?(\s|$)")
# An image pushed under the name another build gives --cache-from is a cache that push writes.
PUSHED = re.compile(r"\b(?:docker|podman)\s+(?:image\s+)?push\s+[\"']?([^\s\"']+)")
# A cache named after the ref, the request or the run is not the one another ref's build reads.
GITLAB_SCOPED = re.compile(r"CI_COMMIT_REF_(SLUG|NAME)|CI_COMMIT_BRANCH|CI_MERGE_REQUEST_|CI_COMMIT_(SHORT_)?SHA|CI_PIPELINE_I|CI_JOB_ID|CI_COMMIT_TAG")
GITHUB_SCOPED = re.compile(r"github\.(ref|head_ref|sha|run_id|run_number)|pull_request|event\.number|\bGITHUB_(REF|HEAD_REF|SHA|RUN_ID)")


def cache_ref(value: str) -> str | None:
    """The shared store a --cache-to / --cache-from value names; None for local and inline caches."""
    value = value.strip().strip("\"'")
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts:
        return None
    if "=" not in parts[0]:
        return parts[0]  # the shorthand: a registry reference
    fields = dict(part.split("=", 1) for part in parts if "=" in part)
    kind = fields.get("type", "registry")
    if kind == "registry":
        return fields.get("ref")
    if kind == "gha":
        return "gha:" + fields.get("scope", "buildkit")
    if kind in ("s3", "azblob"):
        return f"{kind}:{fields.get('bucket', fields.get('account_url', ''))}/{fields.get('name', '')}"
    return None


# A build told --no-cache reads no cache, whatever its --cache-from names (it may still write one).
NO_CACHE = re.compile(r"\s--no-cache(?:=true)?(?=\s|$)")


def _shell_caches(text: str) -> Iterator[tuple[str, str]]:
    """('write' or 'read', store) for each cache a shell command names."""
    for command in re.split(r"\n|&&|;", joined(text)) if CACHE_FLAG.search(text) else ():
        reads = not NO_CACHE.search(command)
        for found in CACHE_FLAG.finditer(command):
            ref = cache_ref(found.group("value"))
            write = found.group("flag") in ("cache-to", "export-cache")
            if ref and (write or reads):
                yield ("write" if write else "read"), ref
    for found in PUSHED.finditer(text):
        yield "write", found.group(1)
    if "executor" in text and KANIKO_CACHE.search(text):
        repo = re.search(r"--cache-repo(?:=|\s+)[\"']?([^\s\"']+)", text)
        destination = re.search(r"--destination(?:=|\s+)[\"']?([^\s\"']+)", text)
        # With no --cache-repo, kaniko keeps the cache beside the image it pushes, wherever a variable puts that.
        ref = repo.group(1) if repo else destination.group(1).rsplit(":", 1)[0] + "/cache" if destination else "<destination>/cache"
        yield "write", ref
        yield "read", ref


def _cache_needle(text: str, ref: str) -> str:
    """What to look for on the line that writes the cache, in a script entry of several lines."""
    return next((flag for flag in ("--cache-to", "--export-cache", "--cache-repo", "--cache") if flag in text), "push")


def _cache_written(job: Job, variables: dict[str, str], text: str, holder: Any, index: Any, ref: str) -> tuple[str, int]:
    """Where a job's cache write is written: its flag in the script, or the variable that holds the
    flags (`KANIKO_CACHE_ARGS: --cache --cache-repo=...` in a template), once for the jobs expanding it."""
    if not CACHE_WRITE.search(text):
        held = next((name for name in re.findall(r"\$\{?(\w+)\}?", text) if CACHE_WRITE.search(variables.get(name, ""))), None)
        if held:
            return _located(job, *_variable_written(job, None, held, (holder, index)))
    return _located_within(job, holder, index, _cache_needle(text, ref))


CACHE_WRITE = re.compile(r"--(cache-to|export-cache|cache-repo|cache)\b")


def _reader(reader: str, writer: str) -> str:
    return "the same job reads" if reader == writer else f"{reader} reads"


def gitlab_cache_across_trust(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    workflow = pipeline.root.get("workflow")
    if isinstance(workflow, dict) and rules_limited_to_trusted_refs(workflow.get("rules")):
        return
    readers: dict[str, str] = {}
    writers: list[tuple[Job, str, tuple[str, int]]] = []
    for job in _runnable(pipeline):
        # A push writes a cache only under a name some build reads, but that reader may be the same job.
        lines = [(text, holder, index) for text, holder, index in _script_lines(job) if "cache" in text.lower() or PUSHED.search(text)]
        variables = _variables(pipeline, job) if lines else {}
        for text, holder, index in lines:
            # A here-document's body is written to a file (a wrapper script), not run here.
            expanded = joined(_expand(without_stdin(text), variables))
            for mode, ref in _shell_caches(expanded):
                if mode == "read" and not merge_requests_only(job):
                    readers.setdefault(ref, job.name)
            # A write under a shell test of the ref (`if [ "$CI_COMMIT_BRANCH" = main ]`) is not a merge request's.
            unguarded = "\n".join(command for command, tests in guarded_commands(expanded) if guard_scope(tests)[0] == OPEN)
            untrusted = can_run_for_merge_requests(job) and not rules_limited_to_trusted_refs(pipeline.include_rules.get(job.file))
            for mode, ref in _shell_caches(unguarded) if untrusted else ():
                if mode == "write" and not GITLAB_SCOPED.search(ref):
                    writers.append((job, ref, _cache_written(job, variables, text, holder, index, ref)))
    for job, ref, where in writers:
        if ref in readers:
            yield rule.finding(
                pipeline, where,
                f"{job.name}: can run for merge requests and unprotected branches, and writes the build cache {ref} that "
                f"{_reader(readers[ref], job.name)} on the default branch and tags; write shared caches from protected builds only, or name "
                "the cache after $CI_COMMIT_REF_SLUG",
                job=job.name,
            )


PR_EVENTS = {"pull_request", "pull_request_target"}
STATUS_ONLY = re.compile(r"^[\s!()&|]*((always|success|failure|cancelled)\(\)[\s!()&|]*)*$")


def _triggers(root: dict[str, Any]) -> set[str]:
    on = root.get("on", root.get(True))
    if isinstance(on, str):
        return {on}
    return {str(event) for event in on} if isinstance(on, (list, dict)) else set()


def _may_exclude_prs(condition: Any) -> bool:
    """An `if:` that may keep pull requests out: anything but a status check or a test for them."""
    text = str(condition or "").replace("${{", "").replace("}}", "")
    return not (STATUS_ONLY.match(text) or re.search(r"event_name\s*==\s*'pull_request", text))


def _step_caches(step: dict[str, Any]) -> Iterator[tuple[str, str, int]]:
    inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
    for key, mode in (("cache-to", "write"), ("cache-from", "read")):
        value = inputs.get(key)
        text = "\n".join(map(str, value)) if isinstance(value, list) else str(value or "")
        if "${{" in text and re.search(r"event_name|github\.ref", text) or re.fullmatch(r"\s*\$\{\{[^}]*\}\}\s*", text):
            continue  # chosen per event, or computed: left to the expression
        for entry in re.split(r"\n", text):
            ref = cache_ref(entry)
            if ref:
                yield mode, ref, line_of(inputs, key)
    for mode, ref in _shell_caches(joined(str(step.get("run", "")))):
        yield mode, ref, line_of(step, "run")


def github_cache_across_trust(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    triggers = _triggers(pipeline.root)
    requests, trusted = triggers & PR_EVENTS, triggers - PR_EVENTS
    if not requests or not trusted:
        return
    readers: dict[str, str] = {}
    writers: list[tuple[str, str, int]] = []
    for name, job in _jobs(pipeline):
        for step in _steps(job):
            for mode, ref, line in _step_caches(step):
                if mode == "read":
                    readers.setdefault(ref, name)
                # The Actions cache keeps a pull request's entries to that request, except under pull_request_target.
                elif not (_may_exclude_prs(job.get("if")) or _may_exclude_prs(step.get("if")) or GITHUB_SCOPED.search(ref)) and (
                    not ref.startswith("gha:") or "pull_request_target" in requests
                ):
                    writers.append((name, ref, line))
    for name, ref, line in writers:
        if ref in readers:
            yield rule.finding(
                pipeline, line,
                f"{name}: runs for pull requests and writes the build cache {ref} that {_reader(readers[ref], name)} for "
                "pushes and releases; write shared caches only when github.event_name is not a pull request, or name the cache after the ref",
                job=name,
            )


# --- Jenkins ----------------------------------------------------------------------------------

# A cache named after the branch, the change request or the build is not the one another ref reads.
JENKINS_SCOPED = re.compile(r"BRANCH_NAME|GIT_BRANCH|CHANGE_(ID|BRANCH)|BUILD_(NUMBER|ID|TAG)|GIT_COMMIT|TAG_NAME")
# A file that builds more than one ref (a multibranch pipeline) says so; a job of one branch never
# builds an untrusted one.
# The file setting BRANCH_NAME itself (`environment { BRANCH_NAME = 'main' }`) is a single-branch job.
MULTIBRANCH = re.compile(r"\b(?:BRANCH_NAME(?!\s*=[^=~])|CHANGE_ID|changeRequest|buildingTag)\b|\bwhen\s*\{[^{}]*\bbranch\b")
# A scripted test of the ref (`if (env.BRANCH_NAME == 'main')`) may guard any write: not read here.
SCRIPTED_REF_TEST = re.compile(r"\bif\s*\([^)]{0,300}?\b(?:BRANCH_NAME|GIT_BRANCH|TAG_NAME|CHANGE_ID)\b")
# A stage's `when` comes before what it runs: the first of these blocks in it tells whether it has one.
STAGE_PART = re.compile(r"\b(?:(?P<when>when)|steps|stages|parallel|matrix)\s*\{")
STAGE_NAME = re.compile(r"""\bstage\s*\(\s*(?:name\s*:\s*)?['"]([^'"]*)['"]""")
# What a `when` may hold and still let every branch in (spaces taken out): nothing, a test for
# change requests either way, and the options of the block.
EVERY_BRANCH = re.compile(r"(?:not\{changeRequest\(\)\}|changeRequest\(\)|before(?:Agent|Input|Options)true)*")


@dataclass(frozen=True)
class _Stage:
    name: str
    span: tuple[int, int]
    when: str | None  # the text of its `when { }`, None without one


def _stages(groovy: Groovy) -> list[_Stage]:
    stages = []
    for found in STAGE_NAME.finditer(groovy.text):
        brace = groovy.text.find("{", found.end())
        if brace < 0 or not groovy.in_code(found.start()):
            continue
        stop = _closing_brace(groovy, brace + 1)
        part = STAGE_PART.search(groovy.text, brace + 1, stop)
        when = part if part and part.group("when") else None
        # Spaces taken out, so a condition reads alike however it is laid out.
        text = re.sub(r"\s+", "", groovy.text[when.end():_closing_brace(groovy, when.end())]) if when else None
        stages.append(_Stage(found.group(1), (brace, stop), text))
    return stages


def jenkins_cache_across_trust(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    """A stage that runs for every branch (no `when`, or one that only tests change requests) and
    writes a shared build cache that a stage running for the trusted branches reads. Only where the
    file builds several refs and reads none in scripted `if`s, whose guards are not placed here."""
    groovy = read_groovy(pipeline.text)
    code = "".join(character if groovy.in_code(index) else " " for index, character in enumerate(groovy.text)) if "cache" in pipeline.text.lower() else ""
    if not MULTIBRANCH.search(code) or SCRIPTED_REF_TEST.search(code):
        return
    stages = _stages(groovy)
    values = _Values(groovy)
    readers: dict[str, str] = {}
    writers: list[tuple[str, str, int, str]] = []
    for first, offset, lines in commands_in_order(groovy):
        command = joined("\n".join(lines))
        if command.lstrip().startswith(("//", "#", "*", "/*")) or groovy.in_comment(offset + len(command) - len(command.lstrip())):
            continue
        text = values.resolve(command, True)
        if "cache" not in text.lower() and not PUSHED.search(text):
            continue
        around = [stage for stage in stages if stage.span[0] < offset < stage.span[1]]
        name = around[-1].name if around else "the pipeline"
        whens = [stage.when for stage in around if stage.when is not None]
        every_branch = all(EVERY_BRANCH.fullmatch(when) for when in whens)
        who = "every branch" if any("changeRequest" in when for when in whens) else "every branch and change request"
        trusted_reads = "changeRequest()" not in whens
        for mode, ref in _shell_caches(text):
            if mode == "read" and trusted_reads:
                readers.setdefault(ref, name)
            elif mode == "write" and every_branch and not JENKINS_SCOPED.search(ref):
                writers.append((name, ref, first, who))
    for name, ref, line, who in writers:
        if ref in readers:
            yield rule.finding(
                pipeline, line,
                f"stage {name}: runs for {who}, and writes the build cache {ref} that "
                f"{_reader(readers[ref], name).replace('the same job', 'the same stage')} on the trusted branches; write shared caches "
                "only in stages limited by when { branch ... } or buildingTag(), or name the cache after the branch",
            )


GITLAB_CACHE_RULES = [
    Rule("GL021", "cache-written-by-merge-requests", "Merge-request builds never write a cache that default-branch builds read.", gitlab_cache_across_trust),
]
GITHUB_CACHE_RULES = [
    Rule("GH021", "cache-written-by-pull-requests", "Pull-request builds never write a cache that push or release builds read.", github_cache_across_trust),
]
JENKINS_CACHE_RULES = [
    Rule("JK021", "jenkins-cache-written-by-untrusted-branches", "Stages that run for every branch never write a cache that trusted branches read.", jenkins_cache_across_trust),
]
