"""gen-ci's own GitLab output read back into its spec.

Everything the spec decides is stated in the output in a fixed place: the tag rules in the tag
script, the registries in the publish script, build options in the build command, test and build
arguments in variables. When and what publishes is asked of the conditions themselves, run by run
(see _gitlab_probe)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from generator.importing import Note
from generator.importing._gitlab_probe import Probe
from generator.importing._gitlab_shell import commands, read_build
from generator.importing._gitlab_tagscript import START, read_tag_script
from generator.lint.document import Job, PipelineFile
from generator.tagging import rules_from_spec, versioned

COMPUTED = {"$version": "version", "$revision": "revision", "$created": "created", "$source": "source", "$prepare": "prepare"}
SEVERITIES = ("low", "medium", "high", "critical")


def is_own(pipeline: PipelineFile) -> bool:
    """Whether gen-ci wrote this file: its jobs compute their tags with gen-ci's tag script."""
    return any(START in _text(job.merged.get("script")) for job in pipeline.jobs)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(item for item in value if isinstance(item, str))
    return value if isinstance(value, str) else ""


def _job(pipeline: PipelineFile, name: str) -> Job | None:
    return next((job for job in pipeline.jobs if job.name == name), None)


def _image_jobs(pipeline: PipelineFile) -> dict[str, list[Job]]:
    """Image id -> the jobs that build it, one per platform, in file order."""
    out: dict[str, list[Job]] = {}
    for job in pipeline.jobs:
        variables = job.merged.get("variables") or {}
        candidate = variables.get("CANDIDATE") if isinstance(variables, dict) else None
        if job.hidden and isinstance(candidate, str) and candidate.startswith("gen-ci/"):
            out.setdefault(candidate[len("gen-ci/"):].split(":", 1)[0], []).append(job)
        elif not job.hidden and job.name.startswith("build-") and "buildctl" in _text(job.merged.get("script")):
            out.setdefault(job.name[len("build-"):], []).append(job)
    return out


def _variable(job: Job, name: str) -> str | None:
    variables = job.merged.get("variables") or {}
    value = variables.get(name) if isinstance(variables, dict) else None
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) else None


def _build(image: dict[str, Any], job: Job) -> None:
    script = _text(job.merged.get("before_script")) + "\n" + _text(job.merged.get("script"))
    builds = [b for c in commands(script) if (b := read_build(c)) and "--oci-layout" not in c.words and "--call=check" not in c.words]
    if not builds:
        return
    build = builds[0]
    if build.dockerfile and build.dockerfile != "Dockerfile":
        image["dockerfile"] = build.dockerfile
    if build.context and build.context not in (".", "$test_dir"):
        image["context"] = build.context
    if build.target:
        image["target"] = build.target
    args: dict[str, Any] = {}
    # A base image of the spec reaches the build by digest, in a variable the job sets from its candidate.
    bases = dict(re.findall(r'^\s*(GEN_CI_BASE_\d+)="\$address/gen-ci/([a-z][a-z0-9-]*)@\$digest"', script, re.MULTILINE))
    for name, value in build.build_args.items():
        if value.startswith("$GEN_CI_BASE_") and value[1:] in bases:
            args[name] = {"from": "image", "image": bases[value[1:]]}
        elif value in COMPUTED:
            args[name] = {"from": COMPUTED[value]}
        elif value == f"$GEN_CI_BUILD_ARG_{name}":
            args[name] = _variable(job, f"GEN_CI_BUILD_ARG_{name}") or ""
    if args:
        image["build_args"] = args
    if build.secrets:
        image["secrets"] = build.secrets
    if any(name.startswith("org.opencontainers.image.") for name in build.labels):
        image["labels"] = True


def _repository(word: str) -> str:
    if word.startswith("$CI_REGISTRY_IMAGE"):
        return "platform" + word[len("$CI_REGISTRY_IMAGE"):]
    return word


def _registries(script: str) -> list[tuple[str, int]]:
    """(repository as the spec writes it, tag set) in the order the publish script names them."""
    sent = re.findall(r"^\s*publish_to (\S+) gen-ci-tags(?:-(\d+))?\.txt", script, re.MULTILINE)
    if sent:
        return [(_repository(shlex.split(word)[0]), int(number or 0)) for word, number in sent]
    listed = re.search(r"printf '%s\\n' (.*?) > gen-ci-repositories\.txt", script)
    file = re.search(r"\) > gen-ci-tags(?:-(\d+))?\.txt", script)
    number = int(file[1] or 0) if file and file[1] else 0
    return [(_repository(word), number) for word in shlex.split(listed[1])] if listed else []


def _auth(script: str) -> tuple[dict[str, dict[str, str]], bool]:
    """Host -> credentials from the logins ("$CI_REGISTRY" for the project's own), and whether the job token is used."""
    out: dict[str, dict[str, str]] = {}
    token = "$CI_REGISTRY_PASSWORD" in script
    for password, user, host in re.findall(r'printenv (\S+) \| docker login --username "\$\(printenv (\S+)\)" --password-stdin (\S+)', script):
        out[shlex.split(host)[0]] = {"auth": "secrets", "username": shlex.split(user)[0], "password": shlex.split(password)[0]}
    for host, user, password in re.findall(r'entry (\S+) "\$\(printenv (\S+)\)" "\$\(printenv (\S+)\)"', script):
        out[shlex.split(host)[0]] = {"auth": "secrets", "username": user, "password": password}
    for role, region, host in re.findall(r"AWS_ROLE_ARN=([^' ]+)'? --env '?AWS_REGION=([^' ]+).*?--password-stdin (\S+)", script, re.DOTALL):
        out[shlex.split(host)[0]] = {"auth": "oidc", "aws_role": role, "aws_region": region}
    return out, token


def _tag_sets(script: str) -> dict[int, dict[str, Any]]:
    functions = re.findall(r"^\s*tag_set_(\d+)\(\) \{\n(.*?)^\s*\}\n\s*tag_set_\1 >", script, re.MULTILINE | re.DOTALL)
    if functions:
        return {int(number): read_tag_script(body) for number, body in functions}
    return {0: read_tag_script(script)}


def _image(image_id: str, jobs: list[Job], publish: Job | None, tags_job: Job | None) -> dict[str, Any]:
    image: dict[str, Any] = {"id": image_id}
    _build(image, jobs[0])
    platforms = [p for job in jobs if (p := _variable(job, "PLATFORM"))]
    script = _text(jobs[0].merged.get("script")) + _text(jobs[0].merged.get("before_script"))
    platforms = platforms or re.findall(r"--opt platform=(\S+)", script)
    if platforms and platforms != ["linux/amd64"]:
        image["platforms"] = platforms
    prepare = _prepare(jobs[0])
    if prepare:
        image["prepare"] = prepare
    test = _variable(jobs[0], "GEN_CI_TEST_SCRIPT")
    if test is not None:
        image["test"] = test
    source = publish if publish is not None else jobs[0]
    publish_script = _text(source.merged.get("script"))
    tag_text = _text(tags_job.merged.get("script")) if tags_job is not None else publish_script
    sets = _tag_sets(tag_text)
    registries = _registries(publish_script)
    hosts, token = _auth(publish_script + (_text(tags_job.merged.get("script")) if tags_job else ""))
    # Set 0 is the image's own tags; with one set only, whichever it is serves every registry.
    first = sets.get(0) or next(iter(sets.values()), {"tags": []})
    used = {number for _, number in registries}
    image["tags"] = first["tags"]
    for key in ("tag_prefix", "tag_suffix"):
        if first.get(key.split("_", 1)[1]):
            image[key] = first[key.split("_", 1)[1]]
    if first.get("default_variant") and first.get("suffix"):
        image["default_variant"] = True
    if first.get("versions") and any(versioned(rule) for rule in rules_from_spec(first["tags"])):
        image["versions"] = first["versions"]
    entries = []
    for repository, number in registries:
        host = "$CI_REGISTRY" if repository.startswith("platform") else repository.split("/", 1)[0]
        entry: dict[str, Any] = {"repository": repository, **hosts.get(host, {"auth": "token"} if token else {})}
        if len(used) > 1 and number in sets and number != 0:
            entry["tags"] = sets[number]["tags"]
        entries.append(entry)
    if entries:
        image["publish"] = entries
    return image


def _scan(pipeline: PipelineFile) -> dict[str, Any]:
    text = "\n".join(_text(job.merged.get("before_script")) + _text(job.merged.get("script")) + str(job.merged.get("variables", "")) + str(job.merged.get("image", ""))
                     for job in pipeline.jobs)
    tool = "grype" if "anchore/grype:" in text else "trivy" if "aquasec/trivy:" in text else "none"
    out: dict[str, Any] = {"tool": tool}
    severity = re.search(r"--severity ([A-Z,]+) --exit-code 1", text)
    fail_on = re.search(r"--fail-on (\w+)", text)
    if severity:
        out["fail_on"] = min((s.lower() for s in severity[1].split(",")), key=SEVERITIES.index)
    elif fail_on:
        out["fail_on"] = fail_on[1]
    elif tool != "none":
        out["mode"] = "report"
    if "--ignore-unfixed" in text or "--only-fixed" in text:
        out["ignore_unfixed"] = True
    if "gl-container-scanning-report" in text:
        out["security_report"] = True
    return out


def _docker(pipeline: PipelineFile) -> dict[str, Any]:
    base = _job(pipeline, ".gen-ci-docker")
    if base is None:
        return {"mode": "rootless"}
    services = base.merged.get("services") or []
    flags = [flag for service in services if isinstance(service, dict) for flag in service.get("command") or []]
    if not services:
        return {"mode": "socket"}
    out: dict[str, Any] = {"mode": "dind"}
    if "--icc=false" in flags:
        out["network"] = "icc-off"
    for flag in flags:
        if isinstance(flag, str) and flag.startswith("--mtu="):
            out["mtu"] = int(flag.split("=", 1)[1])
        if isinstance(flag, str) and flag.startswith("--bip="):
            out["bip"] = flag.split("=", 1)[1]
        if flag == "--storage-driver=vfs":
            out["storage_driver"] = "vfs"
    return out


def _runner_tags(pipeline: PipelineFile, images: dict[str, list[Job]]) -> list[str]:
    base = _job(pipeline, ".gen-ci-docker") or next((jobs[0] for jobs in images.values()), None)
    tags = base.merged.get("tags") if base else None
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


def _timeout(pipeline: PipelineFile) -> int | None:
    for job in pipeline.jobs:
        value = job.merged.get("timeout")
        if job.name != "check-generated" and isinstance(value, str) and (m := re.fullmatch(r"(\d+) minutes?", value)):
            return int(m[1])
    return None


def read_own(pipeline: PipelineFile, text: str, target: str, name: str) -> tuple[dict[str, Any], list[Note]]:
    notes: list[Note] = []
    images = _image_jobs(pipeline)
    publishers = {image_id: _job(pipeline, f"publish-{image_id}") for image_id in images}
    probe = Probe(pipeline, [job for job in pipeline.jobs if not job.hidden], [j for j in publishers.values() if j is not None])
    triggers, push = probe.triggers(), probe.push()
    triggers["schedule"] = _crons(text) if triggers["schedule"] else []
    spec: dict[str, Any] = {"version": 1, "name": name, "targets": {"gitlab": target}, "triggers": triggers, "docker": _docker(pipeline)}
    spec["images"] = [_image(image_id, jobs, publishers[image_id], _job(pipeline, f"tags-{image_id}")) for image_id, jobs in images.items()]
    spec["scan"] = _scan(pipeline)
    environment = next((job.merged.get("environment") for job in publishers.values() if job and job.merged.get("environment")), None)
    if isinstance(environment, dict) and isinstance(environment.get("name"), str):
        push["environment"] = environment["name"]
    if not any("cosign sign" in _text(job.merged.get("script")) for job in pipeline.jobs):
        push["sign"] = False
    spec["push"] = push
    tags = _runner_tags(pipeline, images)
    if tags:
        spec["runners"] = {"gitlab": tags}
    timeout = _timeout(pipeline)
    if timeout and timeout != 30:
        spec["timeout_minutes"] = timeout
    check = _job(pipeline, "check-generated")
    if check is not None:
        spec["check_job"] = True
        requirements = _variable(check, "REQUIREMENTS")
        if requirements:
            spec["check_requirements"] = requirements
    if "workflow" not in pipeline.root and "stages" not in pipeline.root:
        spec["gitlab"] = {"include": True}
        needs = next((job.merged.get("needs") for job in publishers.values() if job is not None), None) or []
        own = [n.get("job") if isinstance(n, dict) else n for n in needs]
        outside = [n for n in own if isinstance(n, str) and not n.startswith(("candidate-", "build-", "tags-", "scan-", "publish-"))]
        if outside:
            spec["gitlab"]["publish_needs"] = outside
    for image, jobs in zip(spec["images"], images.values()):
        if "docker network create" in _text(jobs[0].merged.get("before_script")):
            notes.append(Note("not-carried", jobs[0].file or pipeline.path, jobs[0].line, f"{image['id']}: the test services and checkout tests are not read back",
                              "copy images[].services and checkout_tests into the spec from the job's docker run lines"))
        if _variable(jobs[0], "GEN_CI_DOCKERFILE"):
            notes.append(Note("not-carried", jobs[0].file or pipeline.path, jobs[0].line, f"{image['id']}: the Dockerfile check is not read back",
                              "add images[].dockerfile_check with the ignored rules' reasons"))
    return spec, notes + probe.notes


def _prepare(job: Job) -> dict[str, Any] | None:
    """The prepare step: its image, script and version file in variables, its outputs and the CI
    variables it passes on the docker run that runs it."""
    image, script = _variable(job, "GEN_CI_PREPARE_IMAGE"), _variable(job, "GEN_CI_PREPARE_SCRIPT")
    if not image or script is None:
        return None
    out: dict[str, Any] = {"image": image, "script": script, "outputs": []}
    for command in commands(_text(job.merged.get("before_script"))):
        if "$GEN_CI_PREPARE_IMAGE" in command.words and "prepare" in command.words:
            words = command.words
            end = words.index(">") if ">" in words else len(words)
            out["outputs"] = words[len(words) - words[::-1].index("prepare"):end]
            if "--exclude=./.git/config" in words:
                out["history"] = True
            passed = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--env" and words[i + 1].startswith(("CI_", "GITLAB_"))]
            if passed:
                out["variables"] = passed
    version_file = _variable(job, "GEN_CI_PREPARED_FILE")
    if version_file:
        out["version_file"] = version_file
    return out


def _crons(text: str) -> list[str]:
    """GitLab keeps schedules in the project: gen-ci lists the spec's crons in a comment."""
    found = re.search(r"# per line below.*?\n((?:#   .*\n)+)", text)
    return [line[4:].strip().strip('"') for line in found[1].splitlines()] if found else ["0 4 * * *"]
