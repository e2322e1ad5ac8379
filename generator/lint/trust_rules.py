"""Trust and supply rules (issue 31): what an image goes through before it is published. The other
themes have modules of their own (cache_rules, secret_rules, host_rules); the rule lists of all of
them are here, for the engine."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.lint.cache_rules import (
    GITHUB_CACHE_RULES,
    GITLAB_CACHE_RULES,
    JENKINS_CACHE_RULES,
)
from generator.lint.document import Job, Located, PipelineFile
from generator.lint.findings import LOCAL_REGISTRY, PUSHES, Finding, Rule, joined
from generator.lint.github_rules import SCANNERS
from generator.lint.gitlab_rules import (
    LIMITED,
    CalledLine,
    _images,
    _located_within,
    _ref_scope,
    _runnable,
    _script_texts,
    _script_writer,
    with_child_pipelines,
)
from generator.lint.host_rules import (
    COMPOSE_HOST_RULES,
    GITHUB_HOST_RULES,
    GITLAB_HOST_RULES,
    JENKINS_HOST_RULES,
)
from generator.lint.images import image_repository, image_tag
from generator.lint.jenkins_companions import library_steps, loaded_objects
from generator.lint.jenkins_rules import (
    Groovy,
    _calls,
    _line,
    _Values,
    built_by,
    commands_in_order,
    methods,
    read_groovy,
)
from generator.lint.secret_rules import (
    COMPOSE_SECRET_RULES,
    GITHUB_SECRET_RULES,
    GITLAB_SECRET_RULES,
    JENKINS_SECRET_RULES,
)
from generator.lint.shell_words import without_echoes

# A shared library's step named for scanning an image with a scanner (`trivyImageScan(...)`);
# `trivyFileSystemScan` reads the source tree.
LIBRARY_SCAN = r"(?<![\w.$])(?=\w*(?:trivy|grype|snyk|anchore))(?=\w*(?:image|container|docker))[a-z]\w*\s*\("
# Jenkins plugins' image-scanning steps (Aqua MicroScanner, Prisma Cloud/Twistlock, Sysdig, NeuVector), and Wiz's CLI.
PLUGIN_SCANS = r"\b(?:aquaMicroscanner|prismaCloudScanImage|twistlockScan|sysdigImageScan|neuvector)\b(?=\s*\(?\s*\w+\s*:)|\bwizcli\s+docker\s+scan\b"
MORE_SCANNERS = re.compile(r"\bclair(ctl|-scanner)?\b|\bsnyk\s+container\s+test\b|\bcontainer[_-]scanning\b|" + PLUGIN_SCANS + "|" + LIBRARY_SCAN, re.IGNORECASE)
# A shared library's step named for pushing an image (`dockerPush(imageName: ...)`, `k8sPushImage(image)`):
# a Groovy call, or a method of a library's global (`signalen.pushImageToDockerRegistry(image)`);
# `app.push()` is the plugin's, read on its own.
LIBRARY_PUSH = r"(?<![\w$])(?<!def )(?<!void )(?=[A-Za-z]\w*\s*\()(?=\w*(?:[Dd]ocker|[Ii]mage|[Cc]ontainer))(?=\w*(?:push|Push))\w+\s*\("
# Includes no rule reads that may well hold a scanning job. GitLab's own templates are known: of
# them only Container-Scanning scans an image (SAST, Secret-Detection, Dependency- and
# License-Scanning read the source).
SCANNING_INCLUDE = re.compile(r"scan|secur|trivy|grype", re.IGNORECASE)
IMAGE_SCANNING_TEMPLATE = re.compile(r"container[-_]?scanning", re.IGNORECASE)


def _may_scan(include: str) -> bool:
    """An include the lint cannot read that may hold a scan it cannot place in the pipeline. GitLab's
    own templates are known: of them only Container-Scanning scans an image, and its job is placed."""
    return not include.startswith("template ") and bool(SCANNING_INCLUDE.search(include))


def _with_template_scan(pipeline: PipelineFile, jobs: dict[str, Job]) -> dict[str, Job]:
    """GitLab's Container-Scanning template adds a job `container_scanning` in stage test; a job of
    that name in the file overrides where it runs."""
    # A job of that name in the file, even one switched off (`rules: - when: never`), replaces it.
    if any(job.name == "container_scanning" for job in pipeline.jobs) or not any(entry.startswith("template ") and IMAGE_SCANNING_TEMPLATE.search(entry) for entry in pipeline.not_followed):
        return jobs
    return {**jobs, "container_scanning": Job("container_scanning", Located(), {"stage": "test"}, 1)}
# Only the loopback is the job's own: a registry.demo.local:5000 is a registry others pull from.
# A scan of the source tree or of config files says nothing about the image's packages.
NOT_IMAGE_SCAN = re.compile(r"\btrivy\s+(fs|filesystem|config|repo|repository)\b|\bgrype\s+dir:", re.IGNORECASE)
# A scanner asked for its version or help (a smoke test of a tools image) reads no image.
SCANNER_SMOKE_TEST = re.compile(
    r"\b(?:trivy|grype|anchore(?:-cli)?|snyk(?:\s+container)?|docker\s+scout)\s+(?:--?version|version|--?help|help|-h)(?=\s|$|[\"';&|)])",
    re.IGNORECASE,
)


def _scan(text: str) -> re.Match[str] | None:
    # A scanner's name in an address (its installer's or release's URL) installs it, it scans nothing.
    if "://" in text:
        text = ADDRESS.sub(lambda found: " " * len(found.group(0)), text)
    if NOT_IMAGE_SCAN.search(text):
        text = NOT_IMAGE_SCAN.sub("", text)
    if SCANNER_SMOKE_TEST.search(text):
        text = SCANNER_SMOKE_TEST.sub("", text)
    return SCANNERS.search(text) or MORE_SCANNERS.search(text)


def _scans(text: str) -> bool:
    return _scan(text) is not None


def _push(text: str, extra: re.Pattern[str] | None = None) -> re.Match[str] | None:
    # A push to a job-local registry is a candidate for the scan, not a release.
    found = None if LOCAL_REGISTRY.search(text) else PUSHES.search(text)
    return found or (extra.search(text) if extra else None)


def _scanned_first(text: str, extra: re.Pattern[str] | None = None) -> bool:
    """A scan in the line, before any push the line makes (`trivy image app && docker push app`)."""
    scan = _scan(text)
    push = _push(text, extra)
    return scan is not None and (push is None or scan.start() < push.start())


@functools.lru_cache(maxsize=4096)
def _marks(text: str) -> tuple[bool, bool]:
    """(scanned before any push, pushes) for one shell line, read once however many jobs share it;
    what echo prints is a message, neither."""
    text = without_echoes(text)
    return _scanned_first(text), _push(text) is not None


# --- push without a scan before it (GitLab) -------------------------------------------------


def _stage_order(pipeline: PipelineFile) -> list[str]:
    stages = pipeline.root.get("stages")
    return [".pre", *(map(str, stages) if isinstance(stages, list) else ["build", "test", "deploy"]), ".post"]


def _needs(job: Job) -> set[str]:
    needs = job.merged.get("needs")
    names = {need if isinstance(need, str) else need.get("job") for need in (needs if isinstance(needs, list) else []) if isinstance(need, (str, dict))}
    return {str(name) for name in names if name}


def _earlier(jobs: dict[str, Job], order: list[str]) -> dict[str, set[str]]:
    """For each job, the jobs that finish before it starts: those of earlier stages, and what it
    needs (transitively)."""
    def stage(job: Job) -> int:
        name = str(job.merged.get("stage", "test"))
        return order.index(name) if name in order else order.index("test") if "test" in order else 1

    stages = {name: stage(job) for name, job in jobs.items()}
    before = {index: {name for name, other in stages.items() if other < index} for index in set(stages.values())}
    needed = {}
    for name, job in jobs.items():
        found, pending = set(), list(_needs(job))
        while pending:
            need = pending.pop()
            if need in jobs and need not in found:
                found.add(need)
                pending += _needs(jobs[need])
        needed[name] = found
    # A job that needs this one waits for it, whatever stage it names.
    return {name: {other for other in before[stages[name]] if name not in needed[other]} | needed[name] for name in jobs}


def _scanning_job(pipeline: PipelineFile, job: Job, texts: list[tuple[str, Any, Any]]) -> bool:
    if any(_marks(text)[0] or _scans(without_echoes(text)) for text, _, _ in texts):
        return True
    # A job whose scanner reads the source tree (`trivy fs`) is no image scan, whatever its name or image.
    if any(NOT_IMAGE_SCAN.search(text) for text, _, _ in texts):
        return False
    images = " ".join(image.reference for image, _, _, _ in _images(pipeline, job))
    # A job extending the Container-Scanning template's job runs its scan (a job per image).
    extends_scanner = "container_scanning" in job.source_names
    return extends_scanner or _scans(job.name.replace("-", " ")) or (bool(texts) and _scans(images))


# Tags that publish: a release's version or git tag, a branch's name, the moving words users pull
# (latest, main, stable, ..., and a tag with latest as a part: `dev-latest`), and a version with a
# suffix (`3.13-20260101-abc123`, `$IMAGE_VERSION-...`) that users pin. Others (the commit, the pipeline, `candidate`) name a candidate, and so does a tag
# that starts with the commit or the pipeline (`${CI_COMMIT_SHORT_SHA}${CI_COMMIT_TAG}`): no user pulls it.
RELEASE_TAG = re.compile(
    r"^(?!\$\{?CI_(COMMIT_(SHORT_)?SHA|PIPELINE_I?ID|JOB_ID)\b)(?:.*?)(?:^(v?\d+(\.\d+)+|v?\d+(\.\d+)*-|\$\{?\w*VERSION\b)(?!.*candidate)|CI_COMMIT_TAG|CI_DEFAULT_BRANCH|CI_COMMIT_BRANCH|CI_COMMIT_REF_(NAME|SLUG)"
    r"|^(latest|main|master|stable|edge|prod|production|release|dev|develop|nightly)$|(?<![^._-])latest(?![^._-]))"
)
# `docker push [options] NAME`; build's `--push` flag is followed by more options (`--file x/Dockerfile`), no name.
# Push's options that take a value (buildah's and podman's `-f v2s2`, `--authfile`, `--digestfile`).
PUSH_OPTIONS = r"(?:(?:-f|--format|--authfile|--creds|--digestfile|--cert-dir|--retry|--retry-delay|--compression-format|--sign-by)\s+[^\s-]\S*\s+|-\S+\s+)*"
# A registry client's copy names its destination last (`crane copy SRC DST`, `skopeo copy --dest-creds
# "$U:$P" docker://SRC docker://DST`): read from the end, past options that take a value.
COPY_DESTINATION = r"|\b(?:crane\s+(?:copy|cp)|skopeo\s+copy|regctl\s+image\s+copy)\s[^|;&\n]*?[\"']?(?:docker://)?([^\s\"'|;&-][^\s\"'|;&]*)[\"']?\s*(?=$|[|;&\n])"
DESTINATION = re.compile(r"(?:\s-t|--tag|--destination)[=\s]+[\"']?([^\s\"']+)|(?<!-)\bpush\s+" + PUSH_OPTIONS + r"[\"']?([^\s\"'|;&]+)" + COPY_DESTINATION)


def _destination(found: re.Match[str]) -> str:
    return found.group(1) or found.group(2) or found.group(3)


def _publishes(text: str) -> bool:
    """Whether the command pushes an image under a tag users pull, not only a candidate's."""
    destinations = [_destination(found) for found in DESTINATION.finditer(text)]
    return any(RELEASE_TAG.search(destination.rsplit("/", 1)[-1].partition(":")[2]) for destination in destinations)


WHOLE_VARIABLE = re.compile(r"\$\{?[\w.]+\}?")


def _repository(reference: str) -> str:
    """An image reference's repository, `${X}` read as `$X`; "" where a variable may hold the whole
    reference (`--destination "$DEST"`), which names no repository the lint can compare."""
    name = re.sub(r"\$\{(\w+)\}", r"$\1", reference.strip("\"'")).split("@", 1)[0]
    if WHOLE_VARIABLE.fullmatch(name):
        return ""
    # The tag starts at the last part's first colon outside `${...}` (`${SHA::8}`, `${V:-1}` are in it).
    masked = re.sub(r"\$\{[^}]*\}", lambda found: "$" + "_" * (len(found.group()) - 1), name)
    colon = masked.find(":", masked.rfind("/") + 1)
    return name[:colon] if colon >= 0 else name


# What reads as an image repository, not a build context (`.`) or a shell word past the command:
# a registry path, or a variable standing for one.
IMAGE_NAME = re.compile(r"[\w${][\w.${}-]*(/[\w.${}-]+)+|\$\{?\w+\}?")


def pushed_repositories(text: str) -> frozenset[str]:
    """The image repositories a push names; {""} where one cannot be told apart."""
    return frozenset(_repository(_destination(found)) for found in DESTINATION.finditer(text)) or frozenset({""})


def _unscanned_push(job: str, repository: str, through: str = "") -> str:
    what = f"{repository}, which" if repository else "an image that"
    return (
        f"{job}: pushes {what} nothing scanned before it{through} (no scanner earlier in the job, in an earlier stage or in its "
        "needs); push a candidate, scan it (trivy, grype, container_scanning), and publish only what passed"
    )


def _gitlab_scanned_parts(texts: list[tuple[str, Any, Any]], known: set[str]) -> set[str] | None:
    """The last parts of the pushed repositories a scanning job's scanner lines name; None when a
    scan names none of them (`trivy image "$IMAGE"` unresolved, a template's job, a scan by name)."""
    parts: set[str] = set()
    for text, _, _ in texts:
        found = _scan(without_echoes(text))
        if found is None:
            continue
        named = {_last_part(image_repository(word)) for word in re.findall(r"[^\s'\"]+", text[found.start():])} & known
        if not named:
            return None
        parts |= named
    return parts or None


def _named_branches(pipeline: PipelineFile, job: Job) -> frozenset[str] | None:
    """The branches a job's rules limit it to, each named outright (`$CI_COMMIT_BRANCH == "dev"`);
    None where it may run on others, on tags, or on a branch a variable or the default names."""
    level, refs = _ref_scope(pipeline, job)
    names = [name.strip() for ref in refs for name in ref.removeprefix("branch ").split(",")]
    if level != LIMITED or not refs or any(not ref.startswith("branch ") or "$" in ref for ref in refs):
        return None
    return frozenset(names)


def _never_together(first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    return first is not None and second is not None and not first & second


def gitlab_push_without_scan(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    if any(_may_scan(entry) for entry in pipeline.not_followed):
        return  # a scanning job we cannot read may run before any push
    jobs = _with_template_scan(pipeline, {job.name: job for job in _runnable(pipeline)})
    # With what the script assigns itself filled in (`OUTPUT="type=image,...,push=$DEPLOY"` then `--output "$OUTPUT"`).
    texts = {name: _script_texts(pipeline, job) for name, job in jobs.items()}
    scanners = {name for name, job in jobs.items() if _scanning_job(pipeline, job, texts[name])}
    pushers = {name for name in jobs if any(_marks(text)[1] for text, _, _ in texts[name])}
    earlier = _earlier(jobs, _stage_order(pipeline))
    # A scan limited to other branches than the push (scans on dev, promotes on main) never runs in
    # the push's pipeline.
    branches = {name: _named_branches(pipeline, jobs[name]) for name in scanners | pushers}
    for name in pushers:
        earlier[name] = {other for other in earlier[name] if other not in scanners or not _never_together(branches[name], branches[other])}
    later: dict[str, set[str]] = {name: set() for name in jobs}
    for name, before in earlier.items():
        for other in before:
            later[other].add(name)
    # What each scanning job names, of the repositories the pipeline pushes: a scan of the backend
    # says nothing of the frontend pushed after it. None where the lint cannot tell (covers all).
    known = {_last_part(repository) for texts_of in texts.values() for text, _, _ in texts_of if _marks(text)[1]
             for repository in pushed_repositories(text) if repository}
    scanned_by = {scan: _gitlab_scanned_parts(texts[scan], known) for scan in scanners}
    for name in sorted(pushers):
        before = earlier[name] & scanners
        if before and any(scanned_by[scan] is None for scan in before):
            continue
        covered = set().union(*(scanned_by[scan] or set() for scan in before))
        if covered:
            covered = _with_retags(covered, "\n".join(text for text, _, _ in texts[name]))
        # A push that a later job scans and a job after that publishes again is the scan's candidate,
        # unless it also goes to a tag users pull (main, latest, a version): that is published unscanned.
        later_scans = later[name] & scanners
        candidates = bool(later_scans) and any(later[scan] & pushers for scan in later_scans)
        assigned = [text for text, _, _ in _script_texts(pipeline, jobs[name])] if candidates and jobs[name].node else []
        # One finding for each image the job pushes unscanned (its tags are one image), at its first push.
        reported: set[str] = set()
        for number, (text, holder, index) in enumerate(texts[name]):
            scanned, pushes = _marks(text)
            if scanned:
                break
            if pushes and candidates and not _publishes(assigned[number] if number < len(assigned) else text):
                continue
            repositories = pushed_repositories(text) if pushes else frozenset()
            # A copy of a scanned image (`imagetools create -t ghcr.io/x/app:1 $CI_REGISTRY_IMAGE:$SHA`) is scanned too.
            named = {_last_part(image_repository(word)) for word in re.findall(r"[^\s'\"]+", text)}
            if pushes and covered and ("" in repositories or {_last_part(repository) for repository in repositories} <= covered or named & covered):
                continue
            if pushes and reported and (repositories <= reported or "" in reported or "" in repositories):
                continue
            if pushes and isinstance(holder, CalledLine):
                # Pushed by a shell function the job calls: reported at the call, for each image it
                # names, as each job's call decides the tag it publishes.
                reported |= repositories
                for repository in sorted(repositories):
                    where = _located_within(jobs[name], *holder.call, holder.call_text or holder.function)
                    message = _unscanned_push(name, repository, f", through the shell function {holder.function}")
                    yield replace(rule.finding(pipeline, where, message, job=name), subject=repository)
            elif pushes:
                reported |= repositories
                found = _push(text)
                needle = found.group(0).split()[-1] if found else ""
                # One command publishing two repositories (kaniko's destinations) publishes two images.
                # Only what the push commands name: a block's build tags are not pushed by it.
                commands = [command for command in re.split(r"\n|&&|;", joined(text)) if PUSHES.search(command)]
                images = {repository for command in commands for repository in pushed_repositories(command) if IMAGE_NAME.fullmatch(repository)}
                # Each of several repositories one command publishes is a finding, where it is written; one
                # repository is the command's finding, at the push (a template's, once for its jobs).
                several = sorted(images) if len(images) > 1 and "" not in repositories else []
                for repository in several or [""]:
                    at = _located_within(jobs[name], holder, index, needle)
                    if commands and at == _located_within(jobs[name], holder, index, ""):
                        # The push is a variable's value (`push=$PUSH`): placed at the command that expands it.
                        at = _located_within(jobs[name], holder, index, commands[0].split()[0])
                    if repository:
                        # Where the repository is written; where a variable stands for it, where the push is.
                        start = _located_within(jobs[name], holder, index, "")
                        # Where it is named as the destination (`--tag X`) first: a cache's `ref=X:...` may come earlier.
                        spellings = (repository, re.sub(r"\$(\w+)", r"${\1}", repository))
                        flags = [f"{flag}{quote}" for flag in ("--tag ", "--tag=", "-t ", "--destination ", "--destination=") for quote in ("", '"', "'")]
                        forms = [f"{flag}{spelling}" for spelling in spellings for flag in flags] + list(spellings)
                        places = [_located_within(jobs[name], holder, index, form) for form in forms]
                        at = next((place for place in places if place != start), at)
                    # Named for the job or template that writes the push: a template's finding is its jobs' one.
                    writer = _script_writer(pipeline, jobs[name], holder, index)
                    # A template pushing what each job's variables name (`$CI_REGISTRY_IMAGE/$SERVICE`)
                    # publishes one image per job: each is a finding, at the template's push.
                    subject = repository or (next(iter(repositories)) if len(repositories) == 1 else "")
                    yield replace(rule.finding(pipeline, at, _unscanned_push(writer, repository), job=name), subject=subject)


# --- push without a scan before it (Jenkins) ------------------------------------------------

# An image object of the Docker Pipeline plugin: made by docker.build/docker.image, or run as one.
# Groovy calls a method without parentheses too: `app = docker.build registry + ":$BUILD_NUMBER"`.
DOCKER_OBJECT = re.compile(r"\b(\w+)\s*=\s*docker\.(?:build|image)\b\s*[(\w'\"]|\b(\w+)\.(?:inside|withRun)\s*[({]")
STAGE = re.compile(r"\bstage\s*\(")
# Where a push names where the image goes, strongest first (a cache's `type=registry` goes nowhere).
PUSH_PLACES = [re.compile(r"--destination\b|--output[= ][^\n]*(type=registry|push=true)"), re.compile(r"--push\b|\bpush\b|\.push\s*\(")]
STAGE_NAME = re.compile(r"""\bstage\s*\(\s*(?:'[^'\n]*'|"[^"\n]*")\s*\)""")


def _scanned_another_tag(command: str, built: dict[str, set[str]]) -> str | None:
    """The image a scan names when it names only tags of the file's own repositories that the file
    never builds (a stale `app:latest` while `app:$BUILD_ID` is built and pushed): that scan read
    some other image, not the one pushed. A tag held in a variable (`app:${tag}`) may be the built one."""
    named = [word for word in re.findall(r"[^\s'\"]+", command) if image_repository(word) in built]
    return named[0] if named and not any(image_tag(word) in built[image_repository(word)] or "$" in image_tag(word) for word in named) else None


# A scanner's name in an address (its release's download URL) installs it, it scans nothing.
ADDRESS = re.compile(r"\b[a-z][\w+.-]*://[^\s'\"]*")


def _as_run(command: str) -> str:
    """A Jenkinsfile's shell line as far as it runs something: no echoed text, no addresses."""
    return ADDRESS.sub(" ", without_echoes(command))


# What a push names: a tag given to a build that pushes, or push's own operand.
PUSHED_NAME = re.compile(r"(?:\s-t|--tag|--destination)[=\s]+[\"']?([^\s\"']+)|\bpush\s+" + PUSH_OPTIONS + r"[\"']?([^\s\"'|;&)]+)")


# An image object of the plugin made from a literal or a name holding one: `app = docker.build("app:1")`.
OBJECT_MADE = re.compile(r"""\b(\w+)\s*=\s*docker\.(?:build|image)\b\s*\(?\s*(?:(?=['"])|(\w+)\b(?!\s*[.(]))""")
INLINE_PLUGIN_PUSH = re.compile(r"""\bdocker\.(?:build|image)\s*\(\s*(?=['"])""")


def _plugin_images(groovy: Any, values: _Values) -> dict[str, list[tuple[int, str]]]:
    """What each of the plugin's image objects is made of, where: a name may be made again later."""
    objects: dict[str, list[tuple[int, str]]] = {}
    for match in OBJECT_MADE.finditer(groovy.text):
        if not groovy.in_code(match.start()):
            continue
        literal = groovy.literal_at(match.end()) if match.group(2) is None else values.literals.get(match.group(2))
        if literal:
            objects.setdefault(match.group(1), []).append((match.start(), values.of(literal)))
    return objects


def _pushed_repositories(groovy: Any, values: _Values, command: str, span: tuple[int, int], objects: dict[str, list[tuple[int, str]]]) -> set[str]:
    """The repositories a push names, Groovy's values filled in; empty when it names none the lint
    can read (a build tool's task, an image object made from something unresolved)."""
    found = {values.resolve(name.group(1) or name.group(2), True) for name in PUSHED_NAME.finditer(command)}
    for name, made in objects.items():
        if re.search(rf"\b{re.escape(name)}\.push\s*\(", command):
            found.add(([image for at, image in made if at < span[0]] or [made[0][1]])[-1])
    # docker.build('app:1').push() on the line itself: read from the file, whose offsets the line keeps.
    for match in INLINE_PLUGIN_PUSH.finditer(groovy.text, *span):
        literal = groovy.literal_at(match.end())
        if literal and re.match(r"""(?:\s*,(?:[^()'"\n]|'[^'\n]*'|"[^"\n]*")*)?\s*\)\s*\.push\s*\(""", groovy.text[literal.stop + len(literal.quote):]):
            found.add(values.of(literal))
    # A name that is one variable (`${FRONT_TAG}`, `${env.IMAGE}`) may hold any tag of any image: it names none.
    return {image_repository(image) for image in found if image and not image.startswith(("-", "$(", "`")) and _repository(image)}


# A pod's YAML naming a scanner's container (`- name: trivy`, `image: aquasec/trivy:0.51.1`) runs no
# scan: the steps that later run in that container do.
POD_KEY_LINE = re.compile(r"(?m)^[ \t]*(?:-[ \t]+)?(?:name|image|containerName)[ \t]*:.*$")
# A step's `label: "Test anchore-cli"` names the step in the build's log; it runs nothing.
STEP_LABEL = re.compile(r"""\blabel\s*:\s*(?:"[^"\n]*"|'[^'\n]*')""")


STAGE_OPENING = re.compile(r"\bstage\s*\(\s*(?:'[^'\n]*'|\"[^\"\n]*\")\s*\)\s*\{")
WHEN_OPENING = re.compile(r"\bwhen\s*\{")
BRANCH_CONDITION = re.compile(r"""\bbranch\s*\(?\s*(?:pattern\s*:\s*)?['"]([^'"\n]+)['"]""")
# What a `when` may hold that says only which branches run the stage.
BRANCH_ONLY = re.compile(r"""\s*(?:anyOf\s*\{|\}|branch\s*\(?\s*(?:pattern\s*:\s*)?['"][^'"\n]+['"]\s*\)?|beforeAgent\s+true)*\s*""")


def _block_end(groovy: Groovy, opening: int) -> int:
    """The offset of the brace closing the block that opens at `opening` (strings and comments skipped)."""
    depth = 0
    for found in re.finditer(r"[{}]", groovy.text[opening:]):
        at = opening + found.start()
        if not groovy.in_code(at):
            continue
        depth += 1 if found.group(0) == "{" else -1
        if depth == 0:
            return at
    return len(groovy.text)


def _stage_branches(groovy: Groovy, offset: int) -> frozenset[str] | None:
    """The branches a declarative `when { branch 'main' }` (or `anyOf` of branches) lets the stage
    around offset run on; None where every branch runs it or the condition says more than branches."""
    stages = [found for found in STAGE_OPENING.finditer(groovy.text, 0, offset) if groovy.in_code(found.start())]
    for stage in reversed(stages):
        end = _block_end(groovy, stage.end() - 1)
        if end < offset:
            continue
        when = WHEN_OPENING.search(groovy.text, stage.end(), end)
        if when is None or not groovy.in_code(when.start()):
            return None
        body = groovy.text[when.end():_block_end(groovy, when.end() - 1)]
        branches = frozenset(BRANCH_CONDITION.findall(body))
        return branches if branches and BRANCH_ONLY.fullmatch(body) else None
    return None


def _library_push(pipeline: PipelineFile) -> str:
    """LIBRARY_PUSH without the functions the file defines itself and the steps its repository's own
    library defines, and the methods of scripts it loads: their bodies are read where they are written."""
    text = pipeline.text
    defined = sorted(set(re.findall(r"\b(?:def|void|String|boolean|int|Object)\s+(\w+)\s*\(", text)))
    base = Path(pipeline.base or Path(pipeline.path).parent)
    steps = sorted(library_steps(Path(pipeline.path), text, base) | (loaded_objects(text, base) if "load" in text else set()))
    # A step's methods (`dockerOperations.dockerBuildAndPush(...)`) are written in the step's file too.
    return "".join(rf"(?<!{re.escape(name)}\.)" for name in steps) + "".join(rf"(?!{re.escape(name)}\s*\()" for name in defined + steps) + LIBRARY_PUSH


# A library step's argument that names the image (`dockerPush(imageName: env.IMAGE)`); a tag's
# argument only where it holds the whole reference (`imageTag: "${REPO}/app:${TAG}"`).
IMAGE_ARGUMENT = re.compile(r"""\b(?:(image(?:Name|Repo|Repository)?|repository|repo|dockerImage|img)|(imageTag|tag))\s*:\s*(?:(['"])(.*?)\3|((?:env\.)?\w+))""")


def _call_arguments(text: str, step: re.Pattern[str], start: int, stop: int) -> str:
    """The arguments of the library step called between `start` and `stop`, up to its closing
    parenthesis, however many lines they take."""
    call = step.search(text, start, stop)
    if call is None:
        return ""
    opening, depth = text.index("(", call.start()), 0
    for index in range(opening, min(len(text), opening + 4000)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[opening:index + 1]
    return ""


def _argument_images(arguments: str, values: _Values) -> set[str]:
    images = set()
    for found in IMAGE_ARGUMENT.finditer(arguments):
        literal = values.literals.get(found.group(5).removeprefix("env.")) if found.group(5) else None
        image = values.of(literal) if literal else values.resolve(found.group(4), found.group(3) == '"') if found.group(3) else ""
        if image and (found.group(1) or "/" in image) and _repository(image):
            images.add(image_repository(image))
    return images


def _last_part(repository: str) -> str:
    # A scan of the local `app:1` reads what is then tagged and pushed as `registry/team/app:1`.
    return repository.rsplit("/", 1)[-1]


def _scanned_parts(groovy: Any, values: _Values, command: str, offset: int, known: set[str]) -> set[str]:
    """The last parts of the repositories a scan names, of those the file builds or pushes; empty
    when it names none the lint can tell (`trivy image "$IMG"`, `--input image.tar`)."""
    named = _argument_images(_call_arguments(groovy.text, re.compile(LIBRARY_SCAN, re.IGNORECASE), offset, offset + len(command) + 1), values)
    words = {_last_part(image_repository(values.resolve(word, True))) for word in re.findall(r"[^\s'\"]+", command)}
    return {_last_part(image) for image in named} | (words & known)


def _with_retags(parts: set[str], text: str) -> set[str]:
    """The scanned parts and the names `docker tag` gives them."""
    pairs = [(_last_part(image_repository(source)), _last_part(image_repository(target)))
             for source, target in re.findall(r"\b(?:docker|podman|nerdctl)\s+(?:image\s+)?tag\s+[\"']?([^\s\"';&|]+)[\"']?\s+[\"']?([^\s\"';&|]+)", text)]
    grown = set(parts)
    for _ in range(3):
        grown |= {target for source, target in pairs if source in grown}
    return grown


def _pushing_calls_again(groovy: Any, plugin_push: re.Pattern[str]) -> dict[int, str]:
    """Calls of a method the file defines that pushes an image its parameters name, each after the
    first with other arguments (`buildAndPush("api")`, then `buildAndPush("web")`): the body is read
    once, where it is first called, and each later call pushes another image. By where it is called."""
    defined = methods(groovy)
    pushing = set()
    for name, each in defined.items():
        for method in each:
            header = groovy.text[method.at:method.body[0]]
            listed = re.search(r"\(([^)]*)\)", header) or re.match(r"\s*([\w\s,]+)->", groovy.text[method.body[0]:method.body[1]])
            parameters = [piece.split("=")[0].split()[-1] for piece in listed.group(1).split(",") if piece.split("=")[0].split()] if listed else []
            body = _as_run(joined(groovy.text[method.body[0]:method.body[1]]))
            # What each push names, or the whole line where it names nothing the lint reads (`app.push()`).
            pushes = [" ".join(found.group(1) or found.group(2) for found in PUSHED_NAME.finditer(line)) or line
                      for line in body.splitlines() if _push(line, plugin_push)]
            if any(re.search(rf"\$\{{?\s*{re.escape(parameter)}\b", line) for parameter in parameters for line in pushes):
                pushing.add(name)
    seen: dict[str, set[str]] = {}
    again = {}
    for at, name in _calls(groovy, defined):
        if name not in pushing or any(start <= at < stop for method in defined[name] for start, stop in [method.body]):
            continue
        arguments = re.sub(r"\s+", " ", _call_arguments(groovy.text, re.compile(rf"{re.escape(name)}\s*\("), at, at + len(name) + 1))
        if seen.setdefault(name, set()) and arguments not in seen[name]:
            again[at] = f"{name}{arguments}"
        seen[name].add(arguments)
    return again


# A pod container whose own command is kaniko's executor (`command: [/kaniko/executor]`, `args:` with
# `- --destination=...`) builds and pushes when the pod starts, before any stage could scan.
POD_KANIKO = re.compile(r"^[ \t]*(?:command|args)[ \t]*:[^\n]*(?:\n[ \t]*-[^\n]*)*?kaniko/executor", re.MULTILINE)
POD_DESTINATION = re.compile(r"^[ \t]*-[ \t]*[\"']?--destination[=\s]", re.MULTILINE)
POD_CONTAINER = re.compile(r"^[ \t]*-[ \t]*name[ \t]*:", re.MULTILINE)


def _pod_kaniko_pushes(text: str) -> Iterator[int]:
    """The lines of pod YAML where a kaniko container started with its build names a destination."""
    for executor in POD_KANIKO.finditer(text):
        following = POD_CONTAINER.search(text, executor.end())
        container = text[executor.start():following.start() if following else len(text)]
        if "--no-push" in container:
            continue
        destination = POD_DESTINATION.search(container)
        if destination:
            yield _line(text, executor.start() + destination.start())


def jenkins_push_without_scan(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for file, text in [(pipeline.path, pipeline.text), *((pod.path, pod.text) for pod in pipeline.pods)]:
        for line in _pod_kaniko_pushes(text):
            yield rule.finding(pipeline, (file, line),
                               "a pod container runs kaniko's executor as its command and pushes when the pod starts, before any "
                               "stage could scan the image; build in a step, scan the candidate (trivy, grype), and push only what passed")
    names = sorted({name for pair in DOCKER_OBJECT.findall(pipeline.text) for name in pair if name and name != "docker"})
    # In a file that logs in through the plugin (withRegistry), an image object made elsewhere (a
    # loaded file's `images.serverImage`, a library's `appImage`) pushes as a local one does.
    made_elsewhere = r"|\b[\w.]*[iI]mage\w*\.push\s*\(" if re.search(r"\bwith(?:Docker)?Registry\b", pipeline.text) else ""
    plugin_push = re.compile(
        r"\bdocker\.(build|image)\s*\(.*\)\s*\.push\s*\(" + "".join(rf"|\b{re.escape(n)}\.push\s*\(" for n in names) + made_elsewhere
        + "|" + _library_push(pipeline)
    )
    groovy = read_groovy(pipeline.text)
    values = _Values(groovy)
    built: dict[str, set[str]] = {}
    for image in built_by(groovy, values):
        built.setdefault(image_repository(image), set()).add(image_tag(image))
    objects = _plugin_images(groovy, values)
    reported: set[int] = set()
    # Once per image and stage: one image pushed under several tags is one problem, a second image
    # pushed unscanned is another. A push whose image the lint cannot name goes with the stage's first.
    stage_pushed: set[str | None] = set()
    stale = None  # a scan of a tag the file never builds
    # Each image is scanned for itself: after a scan that names its images, another image's push is
    # still unscanned. A scan naming none the lint can tell covers every push after it.
    known = {_last_part(repository) for repository in built} | {
        _last_part(image_repository(values.resolve(found.group(1) or found.group(2), True))) for found in PUSHED_NAME.finditer(groovy.text)}
    covered: set[str] = set()
    # A scan in a stage that runs on some branches alone covers only pushes on those branches.
    scanned_on: frozenset[str] | None = None
    again = _pushing_calls_again(groovy, plugin_push)
    for first, offset, lines in commands_in_order(groovy):
        command = joined("\n".join(lines))
        start = offset + len(command) - len(command.lstrip())
        if command.lstrip().startswith(("//", "#", "*", "/*")) or groovy.in_comment(start):
            continue
        command = _as_run(command)
        if STAGE.search(command):
            stage_pushed = set()
        if _scanned_first(STAGE_NAME.sub("stage()", STEP_LABEL.sub("", POD_KEY_LINE.sub("", command))), plugin_push):
            stale = _scanned_another_tag(command, built)
            if stale is None:
                parts = _scanned_parts(groovy, values, command, offset, known)
                branches = _stage_branches(groovy, start)
                if branches is not None:
                    scanned_on = branches | (scanned_on or frozenset())
                elif not parts:
                    return  # what runs after this is scanned
                else:
                    covered = _with_retags(covered | parts, groovy.text)
        stop = offset + sum(len(line) + 1 for line in lines)
        for at in sorted(call for call in again if offset <= call < stop and again[call] not in stage_pushed and not covered):
            stage_pushed.add(again[at])
            yield rule.finding(pipeline, groovy.line(at), "pushes an image through a method this file defines, with arguments of its own, "
                               "and no earlier step or stage scanned it; build a candidate, scan it (trivy, grype), and push only what passed")
        # A stage's name is a label (`stage("docker push")`), no command.
        if not _push(STAGE_NAME.sub("stage()", command), plugin_push) or first in reported:
            continue
        repositories = _pushed_repositories(groovy, values, command, (offset, stop), objects)
        repositories |= _argument_images(_call_arguments(groovy.text, re.compile(LIBRARY_PUSH), offset, offset + len(command) + 1), values)
        if covered and {_last_part(repository) for repository in repositories} <= covered:
            continue
        pushed_on = _stage_branches(groovy, start) if scanned_on is not None else None
        if scanned_on is not None and pushed_on is not None and pushed_on <= scanned_on:
            continue
        new = repositories - stage_pushed if repositories else (set() if stage_pushed else {None})
        if not new:
            continue
        stage_pushed |= new | {None}
        reported.add(first)
        scanned = (
            f"the only scan before it reads {stale}, a tag this file never builds" if stale
            else f"the scan before it runs only on {' and '.join(sorted(scanned_on))}, while this push runs on other branches too" if scanned_on
            else "no earlier step or stage scanned it"
        )
        # A command over several lines is reported where it names where the image goes.
        at = next((first + index for place in PUSH_PLACES for index, line in enumerate(lines) if place.search(line)), first)
        yield rule.finding(
            pipeline, at,
            f"pushes an image, and {scanned}; build a candidate, scan it (trivy, grype), and push only what passed",
        )


# A `trigger: include:` child is a pipeline of its own, audited as the rules of gitlab_rules audit it.
GITLAB_TRUST_RULES = [replace(rule, check=with_child_pipelines(rule.check)) for rule in [
    Rule("GL020", "gitlab-push-without-scan", "A pushed image was scanned first: earlier in the job, in an earlier stage or a job it needs.", gitlab_push_without_scan),
    *GITLAB_CACHE_RULES,
    *GITLAB_SECRET_RULES,
    *GITLAB_HOST_RULES,
]]
GITHUB_TRUST_RULES = [
    *GITHUB_CACHE_RULES,
    *GITHUB_SECRET_RULES,
    *GITHUB_HOST_RULES,
]
JENKINS_TRUST_RULES = [
    Rule("JK020", "jenkins-push-without-scan", "A Jenkinsfile scans an image before it pushes it.", jenkins_push_without_scan),
    *JENKINS_CACHE_RULES,
    *JENKINS_SECRET_RULES,
    *JENKINS_HOST_RULES,
]
COMPOSE_TRUST_RULES = [*COMPOSE_SECRET_RULES, *COMPOSE_HOST_RULES]
