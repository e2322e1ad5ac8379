"""Read a workflow gen-ci rendered (its header removed, its spec lost) back into a spec.

The rendered file states its decisions in a few fixed places: the triggers in `on:`, the refs
and events that publish in the publish-gate's script, each image's build step, and each publish
job's tag script, logins and push step. Those are read; the rest is gen-ci's own machinery."""

from __future__ import annotations

import csv
import re
import shlex
from typing import Any

from generator.importing import Imported, Note
from generator.importing.common import (
    additions,
    assume_default_branch,
    regex_globs,
    target_path,
    vocabulary,
)
from generator.importing.workflow import Workflow, expression_name, steps_of

GATE_EVENTS = {"push": "push", "release": "release", "workflow_dispatch": "manual", "schedule": "schedule"}
SEVERITY_WORDS = ("low", "medium", "high", "critical")


def is_gen_ci_output(workflow: Workflow) -> bool:
    """gen-ci's outputs have a publish gate, or build jobs that start a candidate registry."""
    jobs = workflow.jobs
    return "publish-gate" in jobs or any(step.get("name") == "Start the candidate registry" for job in jobs.values() for step in steps_of(job))


def read_own(workflow: Workflow) -> Imported:
    notes: list[Note] = [assume_default_branch(workflow.file)]
    spec: dict[str, Any] = {"version": 1, "name": str(workflow.root.get("name") or "imported")}
    spec["targets"] = {"github": target_path(workflow.file)}
    triggers, called = _triggers(workflow)
    if called:
        spec["github"] = {"called": True}
        notes.append(Note("assumed", workflow.file, workflow.line_of("on"), "a called workflow: its caller decides when it runs, so the spec keeps the default triggers",
                          "set triggers to the caller's"))
    else:
        spec["triggers"] = triggers
    images, scan, mode = _images(workflow, notes)
    if mode != "socket":
        spec["docker"] = {"mode": "dind", **({"github_daemon": "service"} if mode == "service" else {})}
    spec["images"] = images
    if scan:
        spec["scan"] = scan
    spec["push"] = _push(workflow)
    timeout = next((job.get("timeout-minutes") for name, job in workflow.jobs.items() if name.startswith("build-")), None)
    if isinstance(timeout, int) and timeout != 30:
        spec["timeout_minutes"] = timeout
    if "check-generated" in workflow.jobs:
        spec["check_job"] = True
    imported = Imported(spec, notes + additions(workflow.file, set(ADDITIONS_OF_OWN)))
    # The original's tags come from the same rules the spec now holds: there is nothing apart to read.
    for event in ("push:main", "push:feature/x", "pr:main", "tag:v1.2.3"):
        imported.unreadable[event] = "a workflow gen-ci rendered publishes what its spec plans; gen-ci's tests check the round trip on every golden output"
    return imported


ADDITIONS_OF_OWN = ("scan", "pins", "permissions", "sign", "tested", "pull-requests")


def _triggers(workflow: Workflow) -> tuple[dict[str, Any], bool]:
    on = workflow.on
    if set(on) == {"workflow_call"}:
        return {}, True
    push = on.get("push") or {}
    branches = list(push.get("branches") or [])
    triggers: dict[str, Any] = {"branches": branches, "tags": list(push.get("tags") or [])}
    if "pull_request" in on:
        targets = list((on["pull_request"] or {}).get("branches") or ["**"])
        triggers["pull_requests"] = True if targets == branches else targets
    else:
        triggers["pull_requests"] = False
    triggers["schedule"] = [entry["cron"] for entry in on.get("schedule") or [] if isinstance(entry, dict) and "cron" in entry]
    triggers["manual"] = "workflow_dispatch" in on
    triggers["release"] = "release" in on
    if "workflow_call" in on:
        triggers["call"] = True
    return triggers, False


def _push(workflow: Workflow) -> dict[str, Any]:
    gate = workflow.jobs.get("publish-gate")
    script = next((str(step.get("run", "")) for step in steps_of(gate or {}) if step.get("id") == "decide"), "")
    refs = {kind: regex_globs(shlex.split(value)[0]) or [] for kind, value in re.findall(r"^\s*(branch|tag)_refs=(\S+)$", script, re.MULTILINE)}
    events = [GATE_EVENTS[arm] for arm in re.findall(r"^\s*(\w+)\)$", script, re.MULTILINE) if arm in GATE_EVENTS]
    push: dict[str, Any] = {"branches": refs.get("branch", []), "tags": refs.get("tag", [])}
    if events != ["push"] and events:
        push["events"] = list(dict.fromkeys(events))
    upstream = re.search(r'"\$GITHUB_REPOSITORY" != (\S+) \]', script)
    if upstream:
        push["upstream"] = shlex.split(upstream[1])[0]
    for name, job in workflow.jobs.items():
        environment = job.get("environment")
        if isinstance(environment, str) and name.startswith("publish-"):
            push["environment"] = environment
        elif isinstance(environment, str):
            push["build_environment"] = environment
    signs = any("cosign-installer" in str(step.get("uses", "")) for job in workflow.jobs.values() for step in steps_of(job))
    if not signs:
        push["sign"] = False
    return push


def _images(workflow: Workflow, notes: list[Note]) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    images: dict[str, dict[str, Any]] = {}
    scan: dict[str, Any] = {}
    mode = "socket"
    for job in workflow.jobs.values():
        if any("docker-dind" in str(service.get("image", "")) or ":29" in str(service.get("image", "")) for service in (job.get("services") or {}).values() if isinstance(service, dict)):
            mode = "service"
        for step in steps_of(job):
            step_name = str(step.get("name", ""))
            env = step.get("env") if isinstance(step.get("env"), dict) else {}
            if mode == "socket" and "-dind@sha256:" in str(step.get("run", "")) + " ".join(map(str, env.values())):
                mode = "dind"
            built = re.fullmatch(r"Build (\S+)", step_name)
            if built and "build-push-action" in str(step.get("uses", "")):
                _build(images.setdefault(built[1], {"id": built[1]}), step.get("with") or {}, env)
            tested = re.fullmatch(r"Test (\S+)", step_name)
            if tested and "TEST_SCRIPT" in env and tested[1] in images:
                images[tested[1]]["test"] = str(env["TEST_SCRIPT"])
            scanned = re.fullmatch(r"Scan (\S+) with (trivy|grype)", step_name)
            if scanned:
                scan.update(_scan(scanned[2], str(step.get("run", ""))))
            if step_name.startswith("Show the scan in code scanning"):
                scan["security_report"] = True
            for pattern, key in UNREAD:
                if re.fullmatch(pattern, step_name):
                    notes.append(Note("not-carried", workflow.file, workflow.line_of_step(step), f"{step_name}: gen-ci's own {key} are not read back",
                                      f"write images[].{key} again in the spec"))
            computed = re.fullmatch(r"Compute the tags of (\S+)", step_name)
            if computed:
                images.setdefault(computed[1], {"id": computed[1]})["_sets"] = _tag_sets(str(step.get("run", "")), workflow, step, notes)
        _publish(workflow, job, images)
    out = []
    for image in images.values():
        sets = image.pop("_sets", [{"tags": ["ref", "sha"]}])
        registries = image.pop("_registries", [])
        own = sets[0]
        image["publish"] = [{**entry, **({"tags": sets[number]["tags"]} if number and number < len(sets) else {})} for entry, number in registries]
        if not image["publish"]:
            notes.append(Note("not-carried", workflow.file, 0, f"image {image['id']}: no job pushes it, so the spec names no registry",
                              "add its repository to the spec"))
            del image["publish"]
            image["repository"] = f"ghcr.io/imported/{image['id']}"
        image["tags"] = own["tags"]
        image.update({key: value for key, value in own.items() if key != "tags"})
        out.append(image)
    return out, scan, mode


DESCRIBED = re.compile(r"\$\{\{ steps\.describe\.outputs\.(version|revision|created|source) \}\}")


# Steps whose settings this reader leaves to the user: they change no run's published tags.
UNREAD = ((r"Start the services of \S+", "services"), (r"Test \S+ from the checkout", "checkout_tests"),
          (r"Prepare the build context of \S+", "prepare"), (r"Check the Dockerfile of \S+", "dockerfile_check"))


def _build(image: dict[str, Any], given: dict[str, Any], env: dict[str, Any]) -> None:
    if given.get("context", ".") != ".":
        image["context"] = str(given["context"])
    if given.get("file", "Dockerfile") != "Dockerfile":
        image["dockerfile"] = str(given["file"])
    if given.get("target"):
        image["target"] = str(given["target"])
    platform = str(given.get("platforms", "linux/amd64"))
    platforms = image.setdefault("platforms", [])
    platforms += [p.strip() for p in platform.split(",") if p.strip() and p.strip() not in platforms]
    if platforms == ["linux/amd64"]:
        image.pop("platforms")
    args: dict[str, Any] = {}
    for row in csv.reader(str(given.get("build-args", "")).splitlines()):
        for item in row:
            key, _, value = item.partition("=")
            computed = DESCRIBED.fullmatch(value)
            if computed:
                args[key] = {"from": computed[1]}
            elif key and "${{" not in value:
                args[key] = value
    if args:
        image["build_args"] = args
    secrets = {}
    for line in str(given.get("secret-envs", "")).splitlines():
        ident, _, variable = line.strip().partition("=")
        named = expression_name(env.get(variable))
        if named and named[0] == "secrets":
            secrets[ident] = named[1]
    if secrets:
        image["secrets"] = secrets
    labels = dict(line.strip().partition("=")[::2] for line in str(given.get("labels", "")).splitlines() if "=" in line)
    if labels:
        own = {k: v for k, v in labels.items() if not k.startswith("org.opencontainers.image.") or k.rsplit(".", 1)[-1] not in ("source", "revision", "version", "created")}
        image["labels"] = own or True


def _scan(tool: str, script: str) -> dict[str, Any]:
    scan: dict[str, Any] = {"tool": tool}
    severity = re.search(r"--severity ([A-Z,]+) --exit-code 1", script) or re.search(r"--fail-on (\w+)", script)
    if severity:
        scan["fail_on"] = severity[1].split(",")[0].lower()
    else:
        scan["mode"] = "report"
    return scan


def _publish(workflow: Workflow, job: dict[str, Any], images: dict[str, dict[str, Any]]) -> None:
    """The repositories a publish job pushes to, with their logins and tag sets."""
    logins: dict[str, dict[str, Any]] = {}
    for step in steps_of(job):
        given = step.get("with") or {}
        uses = str(step.get("uses", ""))
        if "docker/login-action" in uses:
            username, password = expression_name(given.get("username")), expression_name(given.get("password"))
            host = str(given.get("registry", "docker.io"))
            if password and password[0] == "secrets":
                logins[host] = {"auth": "secrets", "username": username[1] if username else "USERNAME", "password": password[1]}
            else:
                logins[host] = {}
        elif "configure-aws-credentials" in uses:
            logins["amazonaws.com"] = {"auth": "oidc", "aws_role": str(given.get("role-to-assume", "")), "aws_region": str(given.get("aws-region", ""))}
        pushed = re.fullmatch(r"Push (\S+)", str(step.get("name", "")))
        if pushed:
            env = step.get("env") if isinstance(step.get("env"), dict) else {}
            entries = []
            for repository, number in _repositories(str(step.get("run", "")), env):
                host = repository.split("/", 1)[0]
                login = logins.get(host) or (logins.get("amazonaws.com") if host.endswith(".amazonaws.com") else None) or {}
                entries.append(({"repository": repository, **login}, number))
            images.setdefault(pushed[1], {"id": pushed[1]})["_registries"] = entries


def _repositories(script: str, env: dict[str, Any]) -> list[tuple[str, int]]:
    out, number = [], 0
    for line in script.splitlines():
        tested = re.search(r'-s "\$RUNNER_TEMP/\$GEN_CI_NAME-tags(?:-(\d+))?"', line)
        if tested:
            number = int(tested[1] or 0)
        if "$repositories" not in line or not line.strip().startswith("printf '%s\\n'"):
            continue
        words = shlex.split(line)
        for word in words[2:]:
            if word in (">", ">>"):
                break
            if word.startswith("$platform_repository"):
                out.append(("platform" + word[len("$platform_repository"):], number))
            elif word.startswith("$") and word[1:] in env:
                out.append((str(env[word[1:]]), number))
    return out


def _tag_sets(script: str, workflow: Workflow, step: dict[str, Any], notes: list[Note]) -> list[dict[str, Any]]:
    """Each tag set's rules, prefix, suffix and versions, read back from the script tagging.py writes."""
    chunks = re.split(r"^\s*tag_set_\d+\(\) \{$", script, flags=re.MULTILINE)
    chunks = chunks[1:] if len(chunks) > 1 else chunks
    first_line = workflow.line_of_step(step, "run") + 1
    return [_tag_set(chunk, workflow.file, first_line + script[: script.find(chunk)].count("\n"), notes) for chunk in chunks]


def _tag_set(chunk: str, file: str, first_line: int, notes: list[Note]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    emit = re.search(r"^\s*tag\(\) \{ t=.*?\); (.*) \}$", chunk, re.MULTILINE)
    if emit:
        printfs = [shlex.split(part) for part in emit[1].rstrip(";").split("; ")]
        words = printfs[0][2:]
        at = words.index("$t")
        if at:
            out["tag_prefix"] = words[0]
        if at + 1 < len(words):
            out["tag_suffix"] = words[at + 1]
            if len(printfs) > 1:
                out["default_variant"] = True
    versions: dict[str, Any] = {}
    scheme = re.search(r"# a (semver|calver|two-part) version$", chunk, re.MULTILINE)
    if scheme and scheme[1] != "semver":
        versions["scheme"] = scheme[1]
    version_file = re.search(r"^\s*if \[ ! -f (\S+) \]; then$", chunk, re.MULTILINE)
    if version_file:
        versions.update({"from": "file", "file": shlex.split(version_file[1])[0]})
    if versions:
        out["versions"] = versions
    rules, conditions = [], []
    lines = chunk.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "{"), len(lines))
    for offset, line in enumerate(lines[start + 1:], start + 1):
        text = line.strip()
        if text.startswith("} | awk"):
            break
        if text.startswith("if ") and text.endswith("; then"):
            conditions.append(text[3:-6])
        elif text == "fi":
            conditions.pop()
        elif text.startswith("tag "):
            limits = next((_limits(c) for c in conditions if not c.startswith(("[ -n", '[ "$GEN_CI_REF_TYPE" = branch ] ||'))), {})
            word = shlex.split(text[4:])[0]
            rules.append({"tag": re.sub(r"\$\{(\w+)\}", r"{\1}", word), **limits})
        else:
            notes.append(Note("not-carried", file, first_line + offset, f"a line of the tag script gen-ci does not write: {text}",
                              "add the tag it makes to the image's tags"))
    out["tags"] = vocabulary(rules)
    return out


def _limits(condition: str) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    events = re.search(r'case "\$GEN_CI_EVENT" in (.*?)\) true', condition)
    if events:
        limits["events"] = [shlex.split(word)[0] for word in events[1].split(" | ")]
    for kind, key in (("branch", "branches"), ("tag", "tags")):
        found = re.search(rf'\[ "\$GEN_CI_REF_TYPE" = {kind} \] && printf \S+ "\$GEN_CI_REF_NAME" \| grep -Eq (\'[^\']*\'|\S+)', condition)
        if found:
            limits[key] = regex_globs(shlex.split(found[1])[0]) or []
    return limits
