"""Read hand-written GitHub workflows into a spec: docker/metadata-action with build-push-action,
docker/login-action, plain `docker build/tag/push/run` steps, job services and `on:`."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from generator.importing import Imported, ImportInputError, Note
from generator.importing.common import (
    DEFAULT_BRANCH,
    additions,
    assume_default_branch,
    from_root,
    full_repository,
    image_id,
    matches,
    target_path,
    vocabulary,
)
from generator.importing.expressions import Event, Unreadable, evaluate, truthy
from generator.importing.metadata import (
    Metadata,
    read_metadata,
    spec_rules,
    tags_for_event,
)
from generator.importing.workflow import Workflow, expression_name, steps_of

# Steps that set up what gen-ci's jobs set up themselves.
KNOWN_ACTIONS = ("actions/checkout", "docker/setup-buildx-action", "docker/setup-qemu-action")
SCANNERS = ("aquasecurity/trivy-action", "anchore/scan-action", "docker/scout-action")
SIGNERS = ("sigstore/cosign-installer",)
_SHA = re.compile(r"@[0-9a-f]{40}$")
SERVICE_IMAGE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]{0,99}){0,5}:[A-Za-z0-9_.-]*[0-9][A-Za-z0-9_.-]*(@sha256:[0-9a-f]{64})?")


@dataclass
class Built:
    """One image the original builds: where, how, under which conditions, with which tags."""

    file: str
    line: int
    repositories: list[str]  # as the spec writes them: with their host, or platform
    rules: list[dict[str, Any]]  # the spec's rules, one template each
    build: dict[str, Any] = field(default_factory=dict)  # context, dockerfile, platforms, target, build_args, secrets
    conditions: list[Any] = field(default_factory=list)  # the job's and step's if:
    push: Any = False  # the push: input, or true for docker push
    metadata: Metadata | None = None
    literal: list[str] = field(default_factory=list)  # repository:tag templates it pushes, as the original writes them
    names: list[str] = field(default_factory=list)  # every name a run step gave it (docker build -t, docker tag)
    test: str | None = None
    services: list[dict[str, Any]] = field(default_factory=list)
    environment: str | None = None


def read_hand_written(workflows: list[Workflow]) -> Imported:
    notes: list[Note] = [assume_default_branch(workflows[0].file)]
    built: list[Built] = []
    logins: dict[str, dict[str, Any]] = {}
    present: set[str] = set()
    for workflow in workflows:
        built += _read_workflow(workflow, logins, notes, present)
    pushing = [w for w in workflows if any(b.file == w.file for b in built)] or workflows[:1]
    triggers = _triggers(pushing, notes)
    if not built:
        _nothing_to_import(workflows)
    push = _push(built, triggers, notes)
    images = _images(built, logins, push, notes)
    spec: dict[str, Any] = {"version": 1, "name": _name(pushing[0]), "targets": {"github": target_path(pushing[0].file)},
                            "triggers": triggers.spec, "images": images, "push": push}
    if any(entry.get("auth") == "secrets" for image in images for entry in image.get("publish", [])) and "environment" not in push:
        push["environment"] = "registry"
        notes.append(Note("assumed", pushing[0].file, 0, "registry secrets reach only a job bound to an environment: the spec names one, registry",
                          "create the environment registry and move the registry secrets into it, or name yours in push.environment"))
    if any(image.get("secrets") for image in images):
        push["build_environment"] = "build"
        notes.append(Note("assumed", pushing[0].file, 0, "build secrets reach only a job bound to an environment: the spec names one, build",
                          "create the environment build with the build secrets, or name yours in push.build_environment"))
    imported = Imported(spec, notes + additions(pushing[0].file, present))
    for event in triggers.events():
        try:
            imported.original_publishes[event.key] = _original(built, triggers, event)
        except Unreadable as why:
            imported.unreadable[event.key] = str(why)
    return imported


def _nothing_to_import(workflows: list[Workflow]) -> None:
    names = ", ".join(w.file for w in workflows)
    raise ImportInputError(f"{workflows[0].file}:{workflows[0].line_of('jobs')}:1: no step builds an image "
                           f"(docker/build-push-action, docker build) in {names}; there is nothing to import")


def _name(workflow: Workflow) -> str:
    text = re.sub(r"[\x00-\x1f\x7f${}`\\]+", " ", str(workflow.root.get("name") or "")).strip()
    return text or re.sub(r"\.ya?ml$", "", workflow.file.rsplit("/", 1)[-1]) or "imported"


@dataclass
class Triggers:
    branches: list[str] | None  # None: every branch; []: no branch push runs
    tags: list[str] | None
    pull_requests: list[str] | None  # None: no pull request runs
    schedule: list[str]
    manual: bool
    release: bool
    call: bool = False  # workflow_call: a reusable workflow other workflows run

    @property
    def spec(self) -> dict[str, Any]:
        out = {"branches": self.branch_globs, "tags": self.tag_globs,
               "pull_requests": self.pull_requests if self.pull_requests is not None else False,
               "schedule": self.schedule, "manual": self.manual, "release": self.release}
        return {**out, "call": True} if self.call else out

    @property
    def branch_globs(self) -> list[str]:
        return ["**"] if self.branches is None else self.branches

    @property
    def tag_globs(self) -> list[str]:
        return ["**"] if self.tags is None else self.tags

    def runs(self, event: Event) -> bool:
        if event.kind == "push":
            return self.branches is None or matches(self.branches, event.ref_name)
        if event.kind == "tag":
            return self.tags is None or matches(self.tags, event.ref_name)
        if event.kind == "pr":
            return self.pull_requests is not None and matches(self.pull_requests, event.ref_name)
        if event.kind == "schedule":
            return bool(self.schedule) and event.ref_name == DEFAULT_BRANCH
        if event.kind == "manual":
            return self.manual
        return self.release

    def events(self) -> list[Event]:
        """The runs --compare shows: the usual ones, on refs the original's own patterns name."""
        from generator.commands.plan import _example

        tag = _example(self.tags or ([] if self.tags is None else ["v*"]), "v1.2.3") if self.tags != [] or self.release else "v1.2.3"
        out = [Event("push", DEFAULT_BRANCH), Event("push", "feature/x"), Event("pr", DEFAULT_BRANCH), Event("tag", tag)]
        if self.schedule:
            out.append(Event("schedule", DEFAULT_BRANCH))
        if self.release:
            out.append(Event("release", tag))
        return out


def _triggers(workflows: list[Workflow], notes: list[Note]) -> Triggers:
    branches: list[str] | None = []
    tags: list[str] | None = []
    prs: list[str] | None = None
    schedule: list[str] = []
    manual = release = call = False
    for workflow in workflows:
        on = workflow.on
        line = workflow.line_of("on")
        if "push" in on:
            push = on["push"] or {}
            if not isinstance(push, dict):
                push = {}
            if "branches" not in push and "tags" not in push:
                branches = tags = None
            else:
                branches = None if branches is None else [*branches, *_listed(push.get("branches"))]
                tags = None if tags is None else [*tags, *_listed(push.get("tags"))]
            for key in ("branches-ignore", "tags-ignore", "paths", "paths-ignore"):
                if key in push:
                    notes.append(Note("not-carried", workflow.file, line, f"on.push.{key}: the spec's triggers list the refs that run",
                                      "list the branches and tags in triggers; images[].paths narrows builds by path"))
        if "pull_request" in on:
            targets = (on["pull_request"] or {}).get("branches") if isinstance(on["pull_request"], dict) else None
            prs = [*(prs or []), *_listed(targets)] if targets else ["**"]
        if "pull_request_target" in on:
            notes.append(Note("not-carried", workflow.file, line, "on.pull_request_target: runs untrusted code with the base's secrets",
                              "leave it: gen-ci's pull request runs never see secrets"))
        schedule += [str(e["cron"]) for e in _entries(on.get("schedule")) if isinstance(e, dict) and "cron" in e]
        manual |= "workflow_dispatch" in on
        call |= "workflow_call" in on
        release |= "release" in on
        types = (on.get("release") or {}).get("types") if isinstance(on.get("release"), dict) else None
        if types and "published" not in types:
            notes.append(Note("assumed", workflow.file, line, f"on.release types {types}: gen-ci runs when a release is published",
                              "check that publishing a release is the moment to push"))
    return Triggers(branches, tags, prs, schedule, manual, release, call)


def _listed(value: Any) -> list[str]:
    """A ref filter as GitHub takes it: a list of patterns, or one pattern written as a string."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    return [str(item) for item in value if isinstance(item, (str, int, float))] if isinstance(value, list) else []


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _read_workflow(workflow: Workflow, logins: dict[str, dict[str, Any]], notes: list[Note], present: set[str]) -> list[Built]:
    root = workflow.root
    if "permissions" in root or all("permissions" in job for job in workflow.jobs.values()):
        present.add("permissions")
    env = {str(k): str(v) for k, v in (root.get("env") or {}).items()} if isinstance(root.get("env"), dict) else {}
    built: list[Built] = []
    uses_all = [str(step.get("uses")) for job in workflow.jobs.values() for step in steps_of(job) if step.get("uses")]
    if uses_all and all(_SHA.search(u) for u in uses_all):
        present.add("pins")
    for name, job in workflow.jobs.items():
        job_env = {**env, **({str(k): str(v) for k, v in job["env"].items()} if isinstance(job.get("env"), dict) else {})}
        metas: dict[str, Metadata] = {}
        services = _services(workflow, job, notes)
        for step in steps_of(job):
            uses = str(step.get("uses", "")).split("@")[0]
            given = step.get("with") if isinstance(step.get("with"), dict) else {}
            line = workflow.line_of_step(step)
            if uses == "docker/metadata-action":
                meta = read_metadata({k: _substitute(v, job_env) for k, v in given.items()}, workflow.line_of_step(given, "tags") if "tags" in given else line)
                metas[str(step.get("id", ""))] = meta
                notes += [Note("not-carried", workflow.file, at, f"metadata-action {what}", "set it in the spec by hand") for at, what in meta.problems]
            elif uses == "docker/login-action":
                _login(given, logins)
            elif uses == "docker/build-push-action":
                built.append(_build_push(workflow, job, step, given, metas, job_env, notes))
                built[-1].services = services
            elif uses.startswith(SCANNERS):
                present.add("scan")
            elif uses.startswith(SIGNERS):
                present.add("sign")
            elif "run" in step:
                found = _run_step(workflow, job, step, job_env, logins, built, notes)
                if found is not None:
                    found.services = services
                    built.append(found)
            elif uses and not uses.startswith(KNOWN_ACTIONS):
                notes.append(Note("not-carried", workflow.file, line, f"job {name}: step {step.get('name') or uses} ({uses})",
                                  "run it in a job of your own beside gen-ci's (README: Combining with your own CI)"))
    return built


def _substitute(value: Any, env: dict[str, str]) -> Any:
    """`${{ env.NAME }}` replaced by the workflow's or job's env value, as GitHub does before a step starts."""
    if not isinstance(value, str):
        return value
    for _ in range(3):
        value = re.sub(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", lambda m: env.get(m[1], m[0]), value)
    return value


def _services(workflow: Workflow, job: dict[str, Any], notes: list[Note]) -> list[dict[str, Any]]:
    out = []
    for name, service in (job.get("services") or {}).items() if isinstance(job.get("services"), dict) else []:
        service = service if isinstance(service, dict) else {"image": service}
        image = str(service.get("image", ""))
        line = workflow.line_of_step(job["services"], name)
        if not SERVICE_IMAGE.fullmatch(image) or not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", str(name)):
            notes.append(Note("not-carried", workflow.file, line, f"service {name} ({image}): its image is not pinned to a version, or its name is no host name",
                              "add it to images[].services with a version tag"))
            continue
        entry: dict[str, Any] = {"name": str(name), "image": image}
        if isinstance(service.get("env"), dict):
            entry["env"] = {str(k): str(v) for k, v in service["env"].items()}
        health = re.search(r"--health-cmd[= ](\"[^\"]*\"|'[^']*'|\S+)", str(service.get("options", "")))
        if health:
            entry["ready"] = {"command": shlex.split(health[1])[0], "timeout_seconds": 60}
        if service.get("ports"):
            notes.append(Note("assumed", workflow.file, line, f"service {name}: the test reaches it by its name, {name}, not on localhost ports",
                              "point the test at the service's name"))
        out.append(entry)
    return out


def _login(given: dict[str, Any], logins: dict[str, dict[str, Any]]) -> None:
    host = str(given.get("registry") or "docker.io").lower()
    host = "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host
    username, password = expression_name(given.get("username")), expression_name(given.get("password"))
    if host == "ghcr.io" and password in (("secrets", "GITHUB_TOKEN"), ("github", "token")):
        logins[host] = {}
    elif password and password[0] == "secrets":
        logins[host] = {"auth": "secrets", "username": username[1] if username and username[0] in ("secrets", "vars") else "",
                        "password": password[1]}
    else:
        logins[host] = {"unreadable": True}


def _conditions(job: dict[str, Any], step: dict[str, Any]) -> list[Any]:
    return [c for c in (job.get("if"), step.get("if")) if c is not None]


def _repository(name: str) -> str | None:
    """A repository as the spec names it, or None when it holds an expression this reader cannot know."""
    name = name.strip()
    if re.fullmatch(r"ghcr\.io/\$\{\{\s*github\.repository\s*\}\}", name, re.IGNORECASE):
        return "platform"
    if "${{" in name or "$" in name:
        return None
    return full_repository(name)


def _build_push(workflow: Workflow, job: dict[str, Any], step: dict[str, Any], given: dict[str, Any],
                metas: dict[str, Metadata], env: dict[str, str], notes: list[Note]) -> Built:
    line = workflow.line_of_step(step)
    tags = _substitute(str(given.get("tags", "")), env)
    meta_ref = re.fullmatch(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.tags\s*\}\}", tags.strip())
    found = Built(workflow.file, line, [], [], conditions=_conditions(job, step), push=given.get("push", False),
                  environment=job.get("environment") if isinstance(job.get("environment"), str) else None)
    if meta_ref and meta_ref[1] in metas:
        found.metadata = metas[meta_ref[1]]
        for name in found.metadata.images:
            repository = _repository(name)
            if repository is None:
                notes.append(Note("not-carried", workflow.file, line, f"image {name}: its name holds an expression read only when the job runs",
                                  "write the repository in the spec"))
            else:
                found.repositories.append(repository)
    else:
        for entry in re.split(r"[,\n]", tags):
            if entry.strip():
                found.literal.append(entry.strip())
    build = found.build
    for key, spec_key in (("context", "context"), ("file", "dockerfile"), ("target", "target")):
        value = given.get(key)
        if value and "${{" not in from_root(str(value)) and from_root(str(value)) not in (".", "Dockerfile"):
            build[spec_key] = from_root(str(value))
    if given.get("platforms"):
        build["platforms"] = [p.strip() for p in re.split(r"[,\n]", str(given["platforms"])) if p.strip()]
    args, secrets = {}, {}
    for entry in str(given.get("build-args", "")).splitlines():
        key, _, value = entry.strip().partition("=")
        if key and "${{" not in value:
            args[key] = value
        elif key:
            notes.append(Note("not-carried", workflow.file, line, f"build arg {key}={value}: an expression",
                              "use build_args {from: version|revision|created|source}, or images[].secrets for a secret"))
    for entry in str(given.get("secrets", "")).splitlines():
        key, _, value = entry.strip().partition("=")
        named = expression_name(value.strip().strip('"'))
        if key and named and named[0] == "secrets":
            secrets[key] = named[1]
    if args:
        build["build_args"] = args
    if secrets:
        build["secrets"] = secrets
    return found


def _commands(script: str) -> list[list[str]]:
    """The commands of a run script, each as words; expressions kept as single words."""
    script = script.replace("\\\n", " ")
    expressions: list[str] = []

    def hold(match: re.Match[str]) -> str:
        expressions.append(match[0])
        return f"@@{len(expressions) - 1}@@"

    script = re.sub(r"\$\{\{.*?\}\}", hold, script)
    out = []
    for line in script.splitlines():
        for part in re.split(r"&&|;|\|\|?", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            if words:
                out.append([re.sub(r"@@(\d+)@@", lambda m: expressions[int(m[1])], word) for word in words])
    return out


# CI variables in a tag, in the spec's placeholders.
VARIABLES = ((r"\$\{\{\s*github\.sha\s*\}\}|\$\{GITHUB_SHA\}|\$GITHUB_SHA", "{sha40}"),
             (r"\$\{GITHUB_SHA::7\}", "{sha7}"),
             (r"\$\{\{\s*github\.ref_name\s*\}\}|\$\{GITHUB_REF_NAME\}|\$GITHUB_REF_NAME", "{ref}"))


def _template(tag: str) -> str | None:
    for pattern, placeholder in VARIABLES:
        tag = re.sub(pattern, placeholder, tag)
    return tag if re.fullmatch(r"(?:[A-Za-z0-9_.-]|\{[a-z0-9]+\})+", tag) else None


def _run_step(workflow: Workflow, job: dict[str, Any], step: dict[str, Any], env: dict[str, str],
              logins: dict[str, dict[str, Any]], built: list[Built], notes: list[Note]) -> Built | None:
    """A `docker build -t ... && docker push ...` step; a `docker run` of a built image is its test."""
    script = _substitute(str(step.get("run", "")), env)
    line = workflow.line_of_step(step)
    commands = _commands(script)
    found: Built | None = None
    names: list[str] = []
    understood = False
    for words in commands:
        if words[:1] != ["docker"]:
            continue
        verb = words[1:3] if words[1:2] == ["buildx"] else words[1:2]
        args = words[1 + len(verb):]
        if verb in (["build"], ["buildx", "build"]):
            understood = True
            found = Built(workflow.file, line, [], [], conditions=_conditions(job, step), push="--push" in args)
            options = _options(args, {"-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform"})
            names += options.get("-t", []) + options.get("--tag", [])
            found.names = names
            dockerfile = (options.get("-f") or options.get("--file") or ["Dockerfile"])[0]
            context = options.get("", ["."])[-1]
            if dockerfile not in ("Dockerfile", "./Dockerfile"):
                found.build["dockerfile"] = from_root(dockerfile)
            if context not in (".", "./"):
                found.build["context"] = from_root(context)
            if options.get("--build-arg"):
                found.build["build_args"] = dict(a.partition("=")[::2] for a in options["--build-arg"] if "$" not in a)
            if options.get("--target"):
                found.build["target"] = options["--target"][0]
        elif verb == ["tag"] and len(args) == 2:
            understood = True
            owner = found or next((b for b in reversed(built) if args[0] in b.names), None)
            if owner is not None:
                owner.names.append(args[1])
        elif verb == ["push"] and args:
            understood = True
            if found is None:
                found = next((b for b in reversed(built) if args[-1] in b.names), None)
                if found is not None:  # pushed by a later step: that step's conditions decide
                    found.conditions = _conditions(job, step)
            if found is not None:
                found.push = True
                found.literal.append(args[-1])
        elif verb == ["login"]:
            understood = True
            host = next((a for a in args if not a.startswith("-") and "$" not in a and "." in a), "docker.io")
            password = re.search(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", script)
            user = _options(args, {"-u", "--username"})
            username = expression_name((user.get("-u") or user.get("--username") or [""])[0])
            if host == "ghcr.io" and ("GITHUB_TOKEN" in script or "github.token" in script):
                logins[host] = {}
            elif password:
                logins[host] = {"auth": "secrets", "username": username[1] if username else "", "password": password[1]}
        elif verb == ["run"]:
            understood = True
            _test(args, built + ([found] if found else []), names)
    if found is None or any(found is b for b in built):
        if not understood:
            first = script.strip().splitlines()[0] if script.strip() else ""
            notes.append(Note("not-carried", workflow.file, line, f"step {step.get('name') or first!r}: a script gen-ci does not model",
                              "run it in a job of your own beside gen-ci's (README: Combining with your own CI), or as images[].prepare"))
        return None
    # Pushed names (or, without docker push, every --tag of a buildx --push).
    pushed = found.literal or (found.names if found.push else [])
    found.literal = list(dict.fromkeys(pushed))
    return found


def _options(args: list[str], takes_value: set[str]) -> dict[str, list[str]]:
    """Options of a docker command: each value option's values; "" holds the positional words."""
    out: dict[str, list[str]] = {}
    index = 0
    while index < len(args):
        word = args[index]
        name, eq, value = word.partition("=")
        if word.startswith("-") and name in takes_value:
            if not eq:
                index += 1
                value = args[index] if index < len(args) else ""
            out.setdefault(name, []).append(value)
        elif not word.startswith("-"):
            out.setdefault("", []).append(word)
        index += 1
    return out


def _test(args: list[str], built: list[Built], names: list[str]) -> None:
    """`docker run [options] IMAGE COMMAND...` of a built image: that image's test script."""
    skip = {"-e", "--env", "-v", "--volume", "--network", "--name", "-p", "--publish", "--platform", "--entrypoint", "-w", "--workdir", "-u", "--user"}
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in skip else 1
    if index >= len(args):
        return
    image, command = args[index], args[index + 1:]
    owner = next((b for b in reversed(built) if image in b.names or image in b.literal), None)
    if owner is None and built and built[-1].metadata is not None:
        owner = built[-1]
    if owner is None or not command:
        return
    if command[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"]) and len(command) == 3:
        owner.test = command[2]
    else:
        owner.test = shlex.join(command)


def _push(built: list[Built], triggers: Triggers, notes: list[Note]) -> dict[str, Any]:
    """Which runs publish, in the spec's words, read from each image's push: and if: conditions."""
    samples = {"push": Event("push", DEFAULT_BRANCH), "tag": Event("tag", "v1.2.3"), "schedule": Event("schedule", DEFAULT_BRANCH),
               "manual": Event("manual", DEFAULT_BRANCH), "release": Event("release", "v1.2.3"), "pr": Event("pr", DEFAULT_BRANCH)}
    triggered = {"push": triggers.branches != [], "tag": triggers.tags != [], "schedule": bool(triggers.schedule),
                 "manual": triggers.manual, "release": triggers.release, "pr": triggers.pull_requests is not None}
    kinds: set[str] = set()
    for item in built:
        for kind, event in samples.items():
            if not triggered[kind]:
                continue
            try:
                if _pushes(item, event):
                    kinds.add(kind)
            except Unreadable as why:
                notes.append(Note("assumed", item.file, item.line, f"whether it pushes on a {kind} run: {why}; the spec publishes from push branches and tags",
                                  "check push.events, push.branches and push.tags"))
                if kind in ("push", "tag"):
                    kinds.add(kind)
    if "pr" in kinds:
        notes.append(Note("not-carried", built[0].file, built[0].line, "pushing from pull requests: gen-ci never pushes from a pull request",
                          "leave it: pull requests build, test and scan"))
    events = [e for e in ("push", "schedule", "manual") if e in kinds]
    tags = triggers.tag_globs if "tag" in kinds and triggers.tags != [] else []
    if "release" in kinds and not tags:
        events.append("release")
        tags = triggers.tag_globs if triggers.tags else ["**"]
        if not triggers.tags:
            triggers.tags = tags
    elif "release" in kinds:
        notes.append(Note("not-carried", built[0].file, built[0].line, "publishing on release events as well as tag pushes: gen-ci publishes a version once",
                          "choose push.events: [release] to publish when a release is published instead of on the tag's push"))
    if "tag" in kinds and "push" not in events:
        events.insert(0, "push")
    branches = triggers.branch_globs if "push" in kinds or {"schedule", "manual"} & kinds else []
    if "schedule" in kinds and DEFAULT_BRANCH not in branches and "**" not in branches:
        branches = [*branches, DEFAULT_BRANCH]
    if "manual" in kinds:
        notes.append(Note("assumed", built[0].file, built[0].line, "a run by hand publishes only when the person starting it sets the publish input",
                          "keep it, or leave manual out of push.events"))
    push: dict[str, Any] = {"branches": branches, "tags": tags}
    if events and events != ["push"]:
        push["events"] = events
    environment = next((b.environment for b in built if b.environment), None)
    if environment:
        push["environment"] = environment
    if not branches and not tags:
        push["sign"] = False
    return push


def _pushes(item: Built, event: Event) -> bool:
    return all(truthy(evaluate(c, event)) for c in item.conditions) and truthy(evaluate(item.push, event))


def _images(built: list[Built], logins: dict[str, dict[str, Any]], push: dict[str, Any], notes: list[Note]) -> list[dict[str, Any]]:
    taken: set[str] = set()
    out = []
    for item in built:
        if item.metadata is not None:
            rules, dropped = spec_rules(item.metadata, push["branches"] or ["**"], push["tags"] or ["**"])
            notes += [Note("not-carried", item.file, line, what, advice) for line, what, advice in dropped]
            prefix, suffix = item.metadata.prefix, item.metadata.suffix
            if (prefix or suffix) and item.metadata.latest != "false":
                notes.append(Note("assumed", item.file, item.line, "the flavor's prefix and suffix go on latest too, as gen-ci puts them on every tag",
                                  "keep it, or drop latest from the tags"))
        else:
            rules, prefix, suffix = _literal_rules(item, push, notes)
        if any(r["tag"] in ("{major}.{minor}", "{major}") for r in rules):
            notes.append(Note("assumed", item.file, item.line, "{major}.{minor} and {major} move only while this version is the newest of its line (the original moves them on every version tag)",
                              "keep it: an older line's patch no longer takes over a newer line's tag"))
        publish = []
        for repository in item.repositories:
            host = repository.split("/", 1)[0]
            login = logins.get(host, {"missing": True}) if repository != "platform" else {}
            if login.get("missing") or login.get("unreadable") or (login and not login.get("username")):
                entry = {"repository": repository, "auth": "secrets", "username": login.get("username") or "REGISTRY_USERNAME",
                         "password": login.get("password") or "REGISTRY_PASSWORD"}
                if host != "ghcr.io" or login.get("missing") is None:
                    notes.append(Note("assumed", item.file, item.line, f"{repository}: the login's user name or password is not a named secret; the spec names {entry['username']} and {entry['password']}",
                                      "store them as secrets under those names, or change them in the spec"))
                if host == "ghcr.io" and login.get("missing"):
                    entry = {"repository": repository}
            else:
                entry = {"repository": repository, **login}
            publish.append(entry)
        first = item.repositories[0] if item.repositories else "app"
        image: dict[str, Any] = {"id": image_id("app" if first == "platform" else first, taken)}
        image["publish"] = publish or [{"repository": "platform"}]
        if not publish:
            notes.append(Note("assumed", item.file, item.line, "no repository could be read for this build; the spec publishes to the project's own registry",
                              "write the repository in images[].publish"))
        image["tags"] = vocabulary(rules) or ["sha"]
        if prefix:
            image["tag_prefix"] = prefix
        if suffix:
            image["tag_suffix"] = suffix
        image.update(item.build)
        if item.test:
            image["test"] = item.test
        if item.services and item.test:
            image["services"] = item.services
        elif item.services:
            notes.append(Note("not-carried", item.file, item.line, f"services {', '.join(s['name'] for s in item.services)}: gen-ci starts services for an image's test, and no test of this image was read",
                              "add images[].test, then images[].services"))
        out.append(image)
    return out


def _literal_rules(item: Built, push: dict[str, Any], notes: list[Note]) -> tuple[list[dict[str, Any]], str, str]:
    """The tags of a run step or a literal tags: input, as templates; the repositories they name."""
    rules: list[dict[str, Any]] = []
    for reference in item.literal:
        name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "latest")
        repository = _repository(name)
        template = _template(tag)
        if repository is None or template is None:
            notes.append(Note("not-carried", item.file, item.line, f"{reference}: a name or tag read only when the job runs",
                              "write the repository and tag in the spec"))
            continue
        if repository not in item.repositories:
            item.repositories.append(repository)
        rule: dict[str, Any] = {"tag": template}
        if template == "latest":
            rule["branches"] = push["branches"] or ["**"]
        elif template == "{ref}":
            rule["tag"] = "{ref}"
        rules.append(rule)
    return rules, "", ""


def _original(built: list[Built], triggers: Triggers, event: Event) -> list[str]:
    """What the original pushes on this run: repository:tag, sorted."""
    if not triggers.runs(event):
        return []
    out: set[str] = set()
    for item in built:
        if not _pushes(item, event):
            continue
        if item.metadata is not None:
            tags = tags_for_event(item.metadata, event)
            names = [_repository(n) for n in item.metadata.images]
            if None in names:
                raise Unreadable("an image name holds an expression")
            out |= {f"{name}:{tag}" for name in names for tag in tags}
            continue
        for reference in item.literal:
            name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "latest")
            repository = _repository(name)
            if repository is None:
                raise Unreadable(f"{reference} names its repository with an expression")
            for pattern, placeholder in VARIABLES:
                value = {"{sha40}": event.sha, "{sha7}": event.sha[:7], "{ref}": event.context("github.ref_name")}[placeholder]
                tag = re.sub(pattern, value, tag)
            if "$" in tag:
                raise Unreadable(f"the tag {tag} is read only when the job runs")
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
                raise Unreadable(f"the tag {tag!r} is not a valid Docker tag, so the original's push fails on this run")
            out.add(f"{repository}:{tag}")
    return sorted(out)
