"""Hand-written GitLab pipelines read into a spec: the jobs that build and push images.

A job's commands say what it builds (docker, kaniko, buildah, rootless BuildKit), what it pushes and
under which tags; its rules (or only/except) and the shell `if` around a push say when. Every tag is
turned into a rule of gen-ci's vocabulary ($CI_COMMIT_SHORT_SHA -> {sha8}); what has no word there
is reported, never guessed."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from generator.importing import Note
from generator.importing._gitlab_expr import run_env
from generator.importing._gitlab_probe import Probe, settle_events
from generator.importing._gitlab_shell import (
    Build,
    Command,
    Login,
    commands,
    login,
    pushed,
    read_build,
    tagged,
    variable_name,
)
from generator.importing._gitlab_tagscript import EVENTS
from generator.importing.common import from_root
from generator.importing.settle import BUILT_AS
from generator.lint.document import Job, LintInputError, PipelineFile

# CI variables a tag may hold, as gen-ci's placeholders.
PLACEHOLDERS = {"CI_COMMIT_SHORT_SHA": "{sha8}", "CI_COMMIT_SHA": "{sha40}", "CI_COMMIT_REF_SLUG": "{ref}", "CI_COMMIT_REF_NAME": "{ref}",
                "CI_COMMIT_BRANCH": "{ref}", "CI_COMMIT_TAG": "{ref}"}
TOKEN_PASSWORDS = {"CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_BUILD_TOKEN"}
RUN_VALUES = {"-e", "--env", "--network", "--net", "-v", "--volume", "--name", "--entrypoint", "-w", "--workdir", "-u", "--user",
              "-p", "--publish", "--platform", "--env-file", "--mount", "--add-host", "-l", "--label", "--pull"}
BUILDS = re.compile(r"docker (?:buildx )?build|kaniko|buildah|buildctl")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


class GitLabImportError(LintInputError):
    """A file that holds no pipeline to import; the message starts with file:line:col."""


@dataclass
class Push:
    reference: str  # with the job's own variables expanded, CI variables kept
    job: Job
    line: int
    conditions: list[str]
    source: str | None = None  # the local name it was tagged from


@dataclass
class ImageDraft:
    repository: str  # the repository its build names first, as expanded
    build: Build | None
    job: Job | None
    names: set[str] = field(default_factory=set)  # every reference that stands for it
    pushes: list[Push] = field(default_factory=list)
    test: str | None = None
    services: list[dict[str, Any]] = field(default_factory=list)


def _script(job: Job) -> list[tuple[str, int]]:
    """(text, line of its first line) of every before_script and script item."""
    out = []
    for key in ("before_script", "script"):
        items = job.merged.get(key)
        items = [items] if isinstance(items, str) else items if isinstance(items, list) else []
        lines = getattr(items, "item_lines", [])
        for index, item in enumerate(items):
            if isinstance(item, str):
                line = lines[index] if index < len(lines) else job.line
                out.append((item, line + 1 if "\n" in item.rstrip("\n") else line))
    return out


def _services(job: Job) -> list[Any]:
    """A job's services: a list of images or mappings (one image written alone counts as one)."""
    services = job.merged.get("services")
    return [services] if isinstance(services, str) else services if isinstance(services, list) else []


def _expand(word: str, variables: dict[str, str], depth: int = 0) -> str:
    """The job's own variables put in (theirs only: CI variables stay, the run gives them)."""
    if depth > 5:
        return word
    def one(match: re.Match[str]) -> str:
        value = variables.get(match[1])
        return _expand(value, variables, depth + 1) if isinstance(value, str) and not match[1].startswith("CI_") else match[0]
    return _VARIABLE.sub(one, word)


def _variables(pipeline: PipelineFile, job: Job) -> dict[str, str]:
    out: dict[str, str] = {}
    for source in (pipeline.global_variables(), job.merged.get("variables")):
        if isinstance(source, dict):
            for name, value in source.items():
                value = value.get("value") if isinstance(value, dict) else value
                if isinstance(value, (str, int, float)):
                    out[str(name)] = str(value)
    return out


def split_reference(reference: str) -> tuple[str, str]:
    last = reference.rsplit("/", 1)[-1]
    if "@" in last:
        return reference.split("@", 1)[0], ""
    if ":" in last:
        repository, _, tag = reference.rpartition(":")
        return repository, tag
    return reference, "latest"


def spelled(repository: str) -> str | None:
    """A repository as the spec writes it, or None when a variable the run alone knows names it."""
    if repository.startswith(("$CI_REGISTRY_IMAGE", "${CI_REGISTRY_IMAGE}")):
        rest = repository.split("}", 1)[1] if repository.startswith("${") else repository[len("$CI_REGISTRY_IMAGE"):]
        # The path under the project's registry as the spec names it (platform/<name>, two levels at most), or unknown.
        return "platform" + rest if re.fullmatch(r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*){0,2}", rest) else None
    if "$" in repository:
        return None
    first = repository.split("/", 1)[0]
    if "/" not in repository or ("." not in first and ":" not in first and first != "localhost"):
        repository = f"docker.io/{repository if '/' in repository else 'library/' + repository}"
    return repository.lower() if repository == repository.lower() else None


def template(tag: str) -> str | None:
    """A tag word as a gen-ci tag rule's text; None when it reads something else."""
    text = _VARIABLE.sub(lambda m: PLACEHOLDERS.get(m[1], "\0"), tag)
    if "\0" in text or not re.fullmatch(r"(?:[A-Za-z0-9_.-]|\{[a-z0-9]+\})+", text) or text[0] in ".-":
        return None
    return text


def _shell_test(condition: str, env: dict[str, str]) -> bool | None:
    """`[ ... ]` / `[[ ... ]]` tests of the CI variables, as the shell reads them; None when not one."""
    match = re.fullmatch(r"!?\s*\[\[?\s*(.*?)\s*\]\]?\s*", condition.strip())
    if not match:
        return None
    try:
        words = shlex.split(match[1])
    except ValueError:
        return None
    values = [_VARIABLE.sub(lambda m: env.get(m[1], ""), w) for w in words]
    negate = condition.strip().startswith("!")
    if len(values) == 2 and values[0] in ("-n", "-z"):
        result = bool(values[1]) == (values[0] == "-n")
    elif len(values) == 3 and values[1] in ("=", "==", "!="):
        result = (values[0] == values[2]) == (values[1] != "!=")
    else:
        return None
    return result != negate


def _narrowing(conditions: list[str], default_branch: str) -> tuple[str, list[str]] | None:
    """What the shell `if`s around a push narrow it to: ("branches"|"tags", patterns)."""
    for condition in conditions:
        text = condition.replace("{", "").replace("}", "")
        if re.search(r"\$CI_COMMIT_BRANCH\"?\s*==?\s*\"?\$CI_DEFAULT_BRANCH|\$CI_DEFAULT_BRANCH\"?\s*==?\s*\"?\$CI_COMMIT_BRANCH", text):
            return "branches", [default_branch]
        named = re.search(r"\$CI_COMMIT_(?:BRANCH|REF_NAME)\"?\s*==?\s*\"?([A-Za-z0-9._/-]+)\"?", text)
        if named:
            return "branches", [named[1]]
        if re.search(r"-n \"?\$CI_COMMIT_TAG", text):
            return "tags", ["**"]
        if re.search(r"-z \"?\$CI_COMMIT_TAG", text):
            return "branches", ["**"]
    return None


class HandReader:
    def __init__(self, pipeline: PipelineFile, default_branch: str = "main") -> None:
        self.pipeline, self.default_branch = pipeline, default_branch
        self.notes: list[Note] = []
        self.images: list[ImageDraft] = []
        self.logins: list[tuple[Login, Job]] = []
        self.jobs = [job for job in pipeline.jobs if not job.hidden]
        self.modes: list[str] = []
        self.socket_tags: list[str] = []

    def note(self, kind: str, job: Job | None, line: int, message: str, advice: str = "") -> None:
        self.notes.append(Note(kind, (job.file if job else "") or self.pipeline.path, line, message, advice))

    # --- what each job does --------------------------------------------------------------------------

    def read_jobs(self) -> list[Job]:
        publishers = []
        for job in self.jobs:
            variables = _variables(self.pipeline, job)
            found = [(Command([_expand(w, variables) for w in c.words], line + c.line - 1, c.conditions), line) for text, line in _script(job) for c in commands(text)]
            builds, pushes, retags = [], [], {}
            for command, _ in found:
                build = read_build(command)
                if build:
                    builds.append(build)
                    if build.pushes:
                        pushes += [Push(ref, job, command.line, command.conditions) for ref in build.tags]
                pushes += [Push(ref, job, command.line, command.conditions) for ref in pushed(command)]
                pair = tagged(command)
                if pair:
                    retags[pair[1]] = pair[0]
                entered = login(command)
                if entered:
                    self.logins.append((entered, job))
            for push in pushes:
                push.source = retags.get(push.reference)
            for build in builds:
                self._image_of_build(build, job)
            if pushes:
                publishers.append(job)
                for push in pushes:
                    self._image_of_push(push)
            if builds:
                self.modes.append(self._mode(job, builds))
            tested = self._test(job, found)
            if not builds and not pushes and not tested:
                self.note("not-carried", job, job.line, f"job {job.name} is not modelled: gen-ci builds, tests, scans and publishes images only",
                          "keep it in a hand-written .gitlab-ci.yml that includes gen-ci's file (gitlab.include: true)")
        return publishers

    def _image_of_build(self, build: Build, job: Job) -> None:
        names = set(build.tags)
        repositories = [split_reference(name)[0] for name in build.tags] or [f"{job.name}"]
        same = next((d for d in self.images if d.repository in repositories or d.names & names), None)
        if same is None:
            self.images.append(ImageDraft(repositories[0], build, job, names))
        else:
            same.names |= names
            if same.build is None:
                same.build, same.job = build, job

    def _image_of_push(self, push: Push) -> None:
        repository = split_reference(push.reference)[0]
        draft = next((d for d in self.images if push.reference in d.names or (push.source and push.source in d.names)), None)
        draft = draft or next((d for d in self.images if any(split_reference(n)[0] == repository for n in d.names) or d.repository == repository), None)
        if draft is None and len(self.images) == 1:
            draft = self.images[0]
        if draft is None:
            draft = ImageDraft(repository, None, None)
            self.images.append(draft)
            self.note("assumed", push.job, push.line, f"{push.reference} is pushed without a build in this file; it is taken to be an image of its own",
                      "check images[].context and dockerfile")
        draft.names.add(push.reference)
        draft.pushes.append(push)

    def _mode(self, job: Job, builds: list[Build]) -> str:
        tools = {b.tool for b in builds}
        services = _services(job)
        names = [s.get("name", "") if isinstance(s, dict) else str(s) for s in services]
        if tools & {"kaniko", "buildah", "buildctl"}:
            self.note("assumed", job, job.line, f"job {job.name} builds without a daemon ({', '.join(sorted(tools))}): the spec uses rootless BuildKit (docker.mode rootless)",
                      "runners that allow a dind service can use docker.mode dind instead")
            return "rootless"
        if any("dind" in name for name in names):
            return "dind"
        tags = job.merged.get("tags")
        if isinstance(tags, list) and tags and all(isinstance(tag, str) and "$" not in tag for tag in tags):
            # The runners this job's tags select are the ones whose daemon it uses: socket mode, on them.
            self.socket_tags = self.socket_tags or [str(tag) for tag in tags]
            self.note("assumed", job, job.line, f"job {job.name} runs docker with no dind service, on runners tagged {', '.join(tags)}: "
                      "taken as those runners' own daemon (docker.mode socket, runners.gitlab)", "check that those runners bind /var/run/docker.sock")
            return "socket"
        self.note("assumed", job, job.line, f"job {job.name} runs docker with no dind service and no runner tags: the spec uses a dind service (docker.mode dind)",
                  "for the runner's own daemon, set docker.mode socket and runners.gitlab to the tags of runners that bind /var/run/docker.sock")
        return "dind"

    def _test(self, job: Job, found: list[tuple[Command, int]]) -> bool:
        tested = False
        for command, _ in found:
            words = command.words
            if words[:2] != ["docker", "run"]:
                continue
            index, entrypoint = 2, None
            while index < len(words) and words[index].startswith("-"):
                name = words[index].split("=", 1)[0]
                if name == "--entrypoint":
                    entrypoint = words[index + 1] if "=" not in words[index] else words[index].split("=", 1)[1]
                index += 2 if name in RUN_VALUES and "=" not in words[index] else 1
            if index >= len(words):
                continue
            draft = next((d for d in self.images if words[index] in d.names), None)
            if draft is None:
                continue
            rest = words[index + 1:]
            if entrypoint in ("sh", "/bin/sh", "bash", "/bin/bash") and rest[:1] == ["-c"] and len(rest) > 1:
                draft.test = rest[1]
            else:
                draft.test = shlex.join(rest) if rest else "true"
                if entrypoint:
                    self.note("not-carried", job, command.line, f"the test's --entrypoint {entrypoint} is not carried", "put the full command in images[].test")
            for service in _services(job):
                self._service(draft, service, job)
            tested = True
        return tested

    def _service(self, draft: ImageDraft, service: Any, job: Job) -> None:
        image = service.get("name") if isinstance(service, dict) else service
        if not isinstance(image, str) or "dind" in image:
            return
        alias = service.get("alias") if isinstance(service, dict) else None
        name = (alias or image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]).split(",")[0]
        tag = image.rsplit("/", 1)[-1]
        if ":" not in tag or tag.endswith(":latest") or not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
            self.note("not-carried", job, job.line, f"service {image} is not carried: gen-ci runs services pinned to a version tag or digest",
                      "add it to images[].services with a pinned image")
            return
        draft.services.append({"name": name, "image": image})

    # --- the spec --------------------------------------------------------------------------------------

    def tag_rules(self, draft: ImageDraft, probe: Probe) -> list[Any]:
        rules: list[Any] = []
        for push in draft.pushes:
            _, tag = split_reference(push.reference)
            text = template(tag)
            if text is None:
                self.note("not-carried", push.job, push.line, f"the tag {tag!r} reads something gen-ci's tag rules cannot say",
                          "choose rules of ref, sha, semver, latest and {placeholders} in images[].tags")
                continue
            if "CI_COMMIT_REF_SLUG" in tag:
                self.note("assumed", push.job, push.line, "$CI_COMMIT_REF_SLUG is carried as {ref}: gen-ci keeps the ref's case and its length up to 128",
                          "refs in lower case of letters, digits and - read the same")
            arms = probe.push([push.job])
            narrowed = _narrowing(push.conditions, self.default_branch)
            if push.conditions and narrowed is None:
                self.note("not-carried", push.job, push.line, f"the shell condition {push.conditions[-1]!r} around this push is not modelled",
                          "narrow the tag rule with branches: or tags: by hand")
            if narrowed is None and "CI_COMMIT_TAG" in tag:
                narrowed = ("tags", arms["tags"] or ["**"])
            if narrowed is None and "CI_COMMIT_BRANCH" in tag:
                narrowed = ("branches", arms["branches"] or ["**"])
            if narrowed is None and arms["branches"] and not arms["tags"]:
                narrowed = ("branches", arms["branches"])
            if narrowed is None and arms["tags"] and not arms["branches"]:
                narrowed = ("tags", arms["tags"])
            if text == "latest" and narrowed is None:
                self.note("assumed", push.job, push.line, "latest is pushed on every run here; gen-ci moves it on tags only for the newest stable version",
                          "add {tag: latest, branches: [...]} for branches that should move it too")
            rule: Any = {"tag": text, narrowed[0]: list(narrowed[1])} if narrowed else "ref" if text == "{ref}" else text
            if rule not in rules:
                rules.append(rule)
        return rules

    def registry(self, repository: str, job: Job | None) -> dict[str, Any] | None:
        name = spelled(repository)
        if name is None:
            self.note("not-carried", job, job.line if job else 1, f"the registry of {repository} could not be named: a variable the run alone knows holds it",
                      "add the repository to images[].publish")
            return None
        host = "$CI_REGISTRY" if name.startswith("platform") else name.split("/", 1)[0]
        entered = next((entry for entry, _ in self.logins if entry.host in (host, "${CI_REGISTRY}") or
                        (host == "docker.io" and entry.host in ("index.docker.io", "https://index.docker.io/v1/", "docker.io"))), None)
        user = variable_name(entered.username) if entered else None
        password = variable_name(entered.password) if entered else None
        if name.startswith("platform") and (entered is None or password in TOKEN_PASSWORDS):
            return {"repository": name}
        if entered is not None and password in TOKEN_PASSWORDS:
            self.note("assumed", job, entered.line, f"{name} is logged in to with the job token: taken to be this project's registry", "")
            return {"repository": name}
        if entered is None or not user or not password:
            upper = re.sub(r"[^A-Z0-9]", "_", name.split("/", 1)[0].upper())
            user, password = user or f"{upper}_USERNAME", password or f"{upper}_PASSWORD"
            self.note("assumed", job, entered.line if entered else (job.line if job else 1),
                      f"no login names {name}'s credentials by variable: the spec reads masked variables {user} and {password}",
                      "create those masked, protected variables or rename them in images[].publish")
        return {"repository": name, "auth": "secrets", "username": user, "password": password}

    def image(self, draft: ImageDraft, probe: Probe, taken: set[str]) -> dict[str, Any]:
        base = spelled(draft.repository) or draft.repository
        ident = re.sub(r"[^a-z0-9-]", "-", (base.rsplit("/", 1)[-1] if "/" in base else "app").lower()).strip("-") or "app"
        ident = ident if ident[:1].isalpha() else f"image-{ident}"
        while ident in taken:
            ident = f"{ident}-{len(taken) + 1}"
        taken.add(ident)
        image: dict[str, Any] = {"id": ident[:40]}
        build = draft.build
        if build is not None:
            if build.dockerfile and build.dockerfile not in ("Dockerfile", "./Dockerfile"):
                image["dockerfile"] = from_root(build.dockerfile)
            context = from_root(build.context or ".")
            if context not in (".", "./"):
                image["context"] = context
            if build.target:
                image["target"] = build.target
            args = self._build_args(build, draft.job)
            if args:
                image["build_args"] = args
            if build.platforms and build.platforms != ["linux/amd64"]:
                image["platforms"] = build.platforms
        registries: list[dict[str, Any]] = []
        for push in draft.pushes:
            entry = self.registry(split_reference(push.reference)[0], push.job)
            if entry and entry["repository"] not in [r["repository"] for r in registries]:
                registries.append(entry)
        if registries:
            image["publish"] = registries
        else:
            image[BUILT_AS] = draft.repository
        rules = self.tag_rules(draft, probe)
        if rules:
            image["tags"] = rules
        if draft.test is not None:
            image["test"] = draft.test
        if draft.services:
            image["services"] = draft.services
        return image

    def _build_args(self, build: Build, job: Job | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in build.build_args.items():
            if "$" not in value:
                out[name] = value
            elif value.strip("{}$") == "CI_COMMIT_SHA":
                out[name] = {"from": "revision"}
            elif value.strip("{}$") in ("CI_COMMIT_TAG", "CI_COMMIT_REF_NAME"):
                out[name] = {"from": "version"}
                self.note("assumed", job, build.line, f"build arg {name} ({value}) is carried as from: version (a tag's version, else the commit's first 12 hex digits)", "")
            else:
                self.note("not-carried", job, build.line, f"build arg {name} reads {value}, which the spec cannot fill in",
                          "give a fixed value or one of from: version, revision, created, source")
        return out


def read_hand(pipeline: PipelineFile, target: str, name: str, default_branch: str = "main") -> tuple[dict[str, Any], list[Note], dict[str, list[str]], dict[str, str]]:
    reader = HandReader(pipeline, default_branch)
    publishers = reader.read_jobs()
    if not reader.images:
        templates = [job.name for job in pipeline.jobs if job.hidden and BUILDS.search(str(job.merged.get("script", "")))]
        hint = (f"; build commands appear only in hidden templates ({', '.join(templates)}): if another file's jobs extend them, import the file that includes both"
                if templates else "")
        raise GitLabImportError(f"{pipeline.path}:1:1: no job builds or pushes an image (docker, kaniko, buildah or buildctl){hint}")
    probe = Probe(pipeline, reader.jobs, publishers, default_branch)
    triggers = probe.triggers()
    push = probe.push() if publishers else {"branches": [], "tags": []}
    taken: set[str] = set()
    images = [reader.image(draft, probe, taken) for draft in reader.images]
    notes = list(reader.notes)
    if "CI_DEFAULT_BRANCH" in str([job.merged for job in reader.jobs]) or "CI_DEFAULT_BRANCH" in str(pipeline.root.get("workflow", "")):
        notes.append(Note("assumed", pipeline.path, 0, f"$CI_DEFAULT_BRANCH is taken to be {default_branch}", "change the branch names in the spec if yours differs"))
    if triggers.pop("schedule"):
        notes.append(Note("assumed", pipeline.path, 0, "GitLab keeps schedules in the project's settings, not in this file: none is carried",
                          "list your schedules' crons in triggers.schedule"))
    notes += settle_events(push, [], pipeline.path)
    mode = reader.modes[0] if reader.modes else "dind"
    spec: dict[str, Any] = {"version": 1, "name": name, "targets": {"gitlab": target}, "triggers": triggers, "docker": {"mode": mode},
                            "images": images, "push": push}
    if mode == "socket":
        spec["runners"] = {"gitlab": reader.socket_tags}
    text = str(pipeline.root)
    if not re.search(r"trivy|grype|container_scanning|Container-Scanning", text, re.IGNORECASE):
        notes.append(Note("added", pipeline.path, 0, "a vulnerability scan (trivy, failing on high) now runs before any push", "set scan.fail_on or scan.mode: report"))
    if "cosign" not in text:
        notes.append(Note("added", pipeline.path, 0, "every pushed digest is signed with cosign (keyless), with its scan attested", "push.sign: false turns it off"))
    notes.append(Note("added", pipeline.path, 0, "tool images are pinned by digest; registry credentials reach the publish jobs alone, on protected refs", ""))
    notes += probe.notes
    publishes, unreadable = original(reader, probe)
    return spec, notes, publishes, unreadable


def original(reader: HandReader, probe: Probe) -> tuple[dict[str, list[str]], dict[str, str]]:
    """What the file itself publishes per event, read from its conditions and tag words."""
    out: dict[str, list[str]] = {}
    unreadable: dict[str, str] = {}
    for event in EVENTS:
        kind, ref = event.split(":", 1)
        if kind == "schedule":
            unreadable[event] = "GitLab keeps schedules in the project's settings: whether one exists is not in the file"
        env = run_env(kind, ref, reader.default_branch, probe.extra)
        if not probe.pipeline_runs(env):
            out[event] = []
            continue
        references: list[str] = []
        for draft in reader.images:
            for push in draft.pushes:
                if not probe._admits(push.job, env):
                    continue
                tests = [_shell_test(condition, env) for condition in push.conditions]
                if None in tests:
                    unreadable[event] = f"a shell condition around a push ({push.conditions[tests.index(None)]}) is not modelled"
                    continue
                if not all(tests):
                    continue
                repository, tag = split_reference(push.reference)
                name = spelled(repository)
                value = _VARIABLE.sub(lambda m, env=env: env.get(m[1], "\0"), tag)
                if name is None or "\0" in value:
                    unreadable[event] = f"{push.reference} reads a value only the run knows"
                    continue
                references.append(f"{name}:{value}")
        out[event] = sorted(set(references))
    # An event missing is one whose side cannot be read.
    return {event: refs for event, refs in out.items() if event not in unreadable}, unreadable
