"""The GitLab CI lint rules (GLnnn)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.lint.document import (
    Job,
    Located,
    LocatedList,
    PipelineFile,
    _ancestors,
    every_pipeline,
    file_of,
    line_of,
    line_within,
)
from generator.lint.findings import (
    ENGINES,
    LOCAL_REGISTRY,
    LOGIN_WITH_PASSWORD,
    PUSHES,
    REMOTE_COMMAND,
    Finding,
    Rule,
    joined,
    login_tool,
    password_flag_line,
    simple_commands,
)
from generator.lint.images import (
    built_repositories,
    image_repository,
    moving_buildkit_tags,
    official_docker,
    runs_dockerd,
    tag_names_a_version,
    tls_on_by_default,
)
from generator.lint.shell_words import (
    MAX_CALLED_LINES,
    called_lines,
    function_definitions,
    guarded_commands,
    refs_listed,
    shell_test_as_rule,
    tags_only,
    unfollowed,
    without_echoes,
)

Check = Callable[[PipelineFile, Rule], Iterator[Finding]]


def _list(value: Any) -> list[Any]:
    # A string where GitLab wants a list (`services: docker:dind`) is refused by GitLab; not iterated by character.
    return value if isinstance(value, list) else []


# Variables: job -> global, and variables naming variables, as GitLab expands them.

# `${NAME:-default}` too: the default stands where nothing sets the name.
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-(?P<default>[^}$]*))?\}|\$(\w+)")
MAX_EXPANDED = 4096  # a value grown past this through variables naming variables is left as written


SWITCHED_OFF = {"", "false", "0", "no", "off"}


def _value(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("value", "")
    if isinstance(value, (dict, list)):
        return None  # GitLab refuses it: the variable does not exist
    return "" if value is None else str(value)


def _variables(pipeline: PipelineFile, job: Job) -> dict[str, str]:
    """The job's variables over the pipeline's (as `inherit: variables:` allows), each expanded."""
    if "variables" not in job.derived:
        job.derived["variables"] = _expanded_variables(pipeline, job)
    return dict(job.derived["variables"])


def _expanded_variables(pipeline: PipelineFile, job: Job) -> dict[str, str]:
    globals_ = {} if job.merged.get("__no_global_variables__") else pipeline.global_variables()
    allowed = job.merged.get("__global_variables__")
    if isinstance(allowed, list):
        globals_ = {k: v for k, v in globals_.items() if str(k) in allowed}
    own = job.merged.get("variables")
    raw: dict[str, tuple[str, bool]] = {}
    for key, value in {**globals_, **(own if isinstance(own, dict) else {})}.items():
        text = _value(value)
        if text is not None:
            raw[str(key)] = (text, not (isinstance(value, dict) and value.get("expand") is False))
    # A rule may set a variable for the runs it admits (`if: $CI_COMMIT_TAG` with `PUSH: "true"`): the job
    # runs with either value, and the one that switches something on is the one a hazard needs.
    rules = job.merged.get("rules")
    for rule in rules if isinstance(rules, list) else ():
        set_by_rule = rule.get("variables") if isinstance(rule, dict) else None
        for key, value in set_by_rule.items() if isinstance(set_by_rule, dict) else ():
            text = _value(value)
            current = raw.get(str(key), ("", True))[0]
            if text is not None and current.strip().lower() in SWITCHED_OFF and text.strip().lower() not in SWITCHED_OFF:
                raw[str(key)] = (text, True)
    resolved: dict[str, str] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> str:
        if name not in resolved:
            text, expand = raw[name]
            resolved[name] = _substitute(text, lambda inner: resolve(inner, (*stack, name)) if inner in raw and inner not in stack else None) if expand else text
        return resolved[name]

    return {name: resolve(name, ()) for name in raw}


def _substitute(text: str, lookup: Callable[[str], str | None]) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        found = lookup(name) if name else None
        return match.group(0) if found is None else found

    out = _VARIABLE.sub(one, text)
    return out if len(out) <= MAX_EXPANDED else text


def _expand(text: str, variables: dict[str, str]) -> str:
    """$NAME / ${NAME} replaced where the pipeline's variables say statically; the rest kept as written."""
    return _substitute(text, variables.get)


# Image references, read for their fixed part even behind an unresolvable prefix.

@dataclass(frozen=True)
class ImageRef:
    written: str
    reference: str  # after the job's variables
    name: str  # the last path part without tag: "docker" for every mirror of the official image
    tag: str | None  # None: unknown (a variable decides it); "" for no tag
    digest: bool
    prefixed: bool  # a registry or mirror path (or a variable standing for one) before the name

    @property
    def official(self) -> bool:
        return official_docker(self.reference)

    @property
    def dind(self) -> bool:
        return runs_dockerd(self.reference)


def _image_ref(written: str, variables: dict[str, str]) -> ImageRef:
    reference = _expand(written, variables)
    last = reference.rsplit("/", 1)[-1].split("@", 1)[0]
    tag: str | None
    if "$" in last:
        # A variable in the last part: what follows it still names a fixed tag, e.g. $CI_REGISTRY_IMAGE:latest.
        variables_in = list(_VARIABLE.finditer(last))
        rest = last[variables_in[-1].end():] if variables_in else last
        tag = rest.split(":", 1)[1] if ":" in rest else None
        # `:${VERSION:-latest}` with VERSION set nowhere in the file: the default is the tag.
        default = variables_in[-1].group("default") if variables_in else None
        if default is not None and tag is None and last[:variables_in[-1].start()].endswith(":"):
            tag = default + rest
        name = last.split(":", 1)[0] if ":" in last.split("$", 1)[0] else ""
    else:
        name, _, tag = last.partition(":")
    return ImageRef(written, reference, name, tag, "@sha256:" in reference, "/" in reference.split("@", 1)[0])


def _images(pipeline: PipelineFile, job: Job) -> list[tuple[ImageRef, Any, Any, Any]]:
    """(image, node holding it, key or index, the service entry or None) for the job's image and
    services, as written or inherited."""
    if "images" not in job.derived:
        job.derived["images"] = list(_read_images(job, _variables(pipeline, job)))
    return job.derived["images"]


def _matrix_values(job: Job) -> dict[str, list[tuple[Any, Any, str]]]:
    """Each `parallel: matrix:` variable's values, with the list and index each is written at."""
    parallel = job.merged.get("parallel")
    rows = parallel.get("matrix") if isinstance(parallel, dict) else None
    values: dict[str, list[tuple[Any, Any, str]]] = {}
    for row in rows if isinstance(rows, list) else ():
        for name, value in row.items() if isinstance(row, dict) else ():
            holder, keys = (value, range(len(value))) if isinstance(value, list) else (row, [name])
            values.setdefault(str(name), []).extend((holder, key, str(holder[key])) for key in keys if isinstance(holder[key], (str, int, float)))
    return values


def _read_images(job: Job, variables: dict[str, str]) -> Iterator[tuple[ImageRef, Any, Any, Any]]:
    for found in _written_images(job, variables):
        yield found
        # An image named by a matrix variable runs once per value: each judged where it is written.
        ref, _, _, service = found
        for name, values in _matrix_values(job).items():
            if re.search(rf"\$\{{?{name}\}}?(?!\w)", ref.written):
                for holder, key, value in values:
                    yield _image_ref(ref.written, {**variables, name: value}), holder, key, service


def _written_images(job: Job, variables: dict[str, str]) -> Iterator[tuple[ImageRef, Any, Any, Any]]:
    image = job.merged.get("image")
    if isinstance(image, dict) and isinstance(image.get("name"), str):
        # A mapping merged through extends is a new one: the name is located where it is written.
        written = next((node["image"] for node in [job.node, *job.sources] if isinstance(node, dict) and isinstance(node.get("image"), Located) and "name" in node["image"]), image)
        yield _image_ref(image["name"], variables), written, "name", None
    elif isinstance(image, str):
        yield _image_ref(image, variables), job.origin("image"), "image", None
    services = _list(job.merged.get("services"))
    for index, service in enumerate(services):
        name = service.get("name") if isinstance(service, dict) else service
        if isinstance(name, str):
            # A mapping's image is where its `name:` is written (after an anchor's own line, `- &db`).
            holder, key = (service, "name") if _positioned(service, "name") else (services, index)
            yield _image_ref(name, variables), holder, key, service


def _dind_services(pipeline: PipelineFile, job: Job) -> Iterator[tuple[ImageRef, Any, Any, Any]]:
    return ((ref, holder, key, service) for ref, holder, key, service in _images(pipeline, job) if service is not None and ref.dind)


def _positioned(holder: Any, key: Any) -> bool:
    """Whether the holder knows where `key` is written. A mapping merged through extends is built
    anew and knows nothing; line 1 is a real place (an included file's top-level `image:`)."""
    if isinstance(holder, Located):
        return key in holder.key_lines
    return isinstance(holder, LocatedList) and isinstance(key, int) and key < len(holder.item_lines)


def _located(job: Job, holder: Any, key: Any) -> tuple[str, int]:
    return (file_of(holder, job.file, key), line_of(holder, key)) if _positioned(holder, key) else (job.file, job.line)


def _located_within(job: Job, holder: Any, key: Any, needle: str, after: int = 0) -> tuple[str, int]:
    """Where `needle` is written in a script entry that spans several lines (a `|` block)."""
    file, line = _located(job, holder, key)
    return (file, line_within(holder, key, needle, job.file, after)) if _positioned(holder, key) else (file, line)


def _at(job: Job) -> tuple[str, int]:
    return job.file, job.line


def _flat(value: Any, depth: int = 0) -> Iterator[tuple[str, Any, int]]:
    # GitLab flattens nested script arrays (ten levels); anything else in a script it refuses.
    for index, item in enumerate(_list(value)):
        if isinstance(item, str):
            yield item, value, index
        elif isinstance(item, list) and depth < 10:
            yield from _flat(item, depth + 1)


SCRIPT_SECTIONS = ("before_script", "script", "after_script")


# A shell comment on a line of its own runs nothing: blanked, so each line keeps its number. One
# ending in `{` is a comment a folded scalar (`- >`) joined with the function header after it,
# which its author wrote as code: kept.
_COMMENT_LINE = re.compile(r"(?m)^[ \t]*#(?![^\n]*\{[ \t]*$)[^\n]*$")


def _written_script_lines(job: Job) -> Iterator[tuple[str, Any, Any, str]]:
    for section in SCRIPT_SECTIONS:
        lines = job.merged.get(section)
        if isinstance(lines, str):
            yield _COMMENT_LINE.sub("", lines) if "#" in lines else lines, job.origin(section), section, section
        else:
            yield from ((_COMMENT_LINE.sub("", text) if "#" in text else text, holder, key, section) for text, holder, key in _flat(lines))


class CalledLine(LocatedList):
    """A line of a shell function's body, run where the script calls it: located where the body
    writes it, and read as part of the section that defines the function."""

    section: str = ""
    call: tuple[Any, Any] = (None, None)  # the script entry that calls the function
    function: str = ""
    call_text: str = ""  # the call as written, to locate it


def _called_line(job: Job, holder: Any, key: Any, section: str, name: str, raw: str, text: str) -> CalledLine:
    _, start = _located(job, holder, key)
    header = line_within(holder, key, name, job.file, start) if _positioned(holder, key) else start
    out = CalledLine([text])
    out.file, out.section = file_of(holder, job.file, key), section
    out.line = line_within(holder, key, raw, job.file, header) if _positioned(holder, key) else start
    out.item_lines, out.item_ends, out.item_files = [out.line], [out.line], [out.file]
    return out


def _shell(section: str) -> str:
    # before_script and script run in one shell, after_script in a shell of its own.
    return "after_script" if section == "after_script" else "main"


def _script_lines(job: Job) -> Iterator[tuple[str, Any, Any]]:
    """(text, holder, key) of each script entry: holder[key] is where it is written, so a finding can
    be located in it. A section written as one string (`script: |`) is held by its job's mapping.
    A shell function the script defines runs nothing where it is defined; where it is called, each
    line of its body follows the call (before_script and script are one shell, after_script another)."""
    if "script_lines" in job.derived:
        yield from job.derived["script_lines"]
        return
    written = list(_written_script_lines(job))
    bodies: dict[str, dict[str, tuple[str, Any, Any, str]]] = {"main": {}, "after_script": {}}
    kept = []
    for text, holder, key, section in written:
        shell = _shell(section)
        without, found = function_definitions(text) if "{" in text else (text, {})
        for name, body in found.items():
            bodies[shell][name] = (body, holder, key, section)
        kept.append(without)
    # A function named where no call of it is found (`cmd | fn`, a wrapper the lint does not know) is
    # read where it is written, as before calls were followed: a missed call must not hide its body.
    uncalled = {
        shell: unfollowed(
            [without for (_, _, _, section), without in zip(written, kept) if _shell(section) == shell],
            {name: body for name, (body, *_) in found.items()},
        )
        for shell, found in bodies.items()
    }
    if uncalled["main"] or uncalled["after_script"]:
        kept = [
            function_definitions(text, uncalled[_shell(section)])[0] if "{" in text else text
            for text, _, _, section in written
        ]
    out: list[tuple[str, Any, Any]] = []
    added = 0
    for (text, holder, key, section), without in zip(written, kept):
        out.append((without, holder, key))
        shell = bodies[_shell(section)]
        if not shell or added >= MAX_CALLED_LINES:
            continue
        skipped = uncalled[_shell(section)]
        for name, raw, run, call in called_lines(without, {name: body for name, (body, *_) in shell.items() if name not in skipped}):
            _, where, place, defined_in = shell[name]
            line = _called_line(job, where, place, defined_in, name, raw, run)
            line.call, line.function, line.call_text = (holder, key), name, call
            out.append((run, line, 0))
            added += 1
            if added >= MAX_CALLED_LINES:
                break
    job.derived["script_lines"] = out
    yield from out


# An assignment on a line of its own, also one closing a branch of an `if` written over continued lines (`...; \`).
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=([\"']?)([^\"'\n]*)\2\s*(?:;\s*)?\\?\s*$")
_OTHER_BRANCH = re.compile(r"^\s*(?:else|elif)\b")
_BRANCHES_END = re.compile(r"^\s*fi\b")


def _script_texts(pipeline: PipelineFile, job: Job) -> list[tuple[str, Any, Any]]:
    """Script lines joined across continuations and with variables filled in: the job's, and those a
    line of the script assigns (`PUSH_CMD="docker push"`), so a command held in a variable is seen."""
    if "scripts" not in job.derived:
        job.derived["scripts"] = list(_read_scripts(pipeline, job))
    return job.derived["scripts"]


def _read_scripts(pipeline: PipelineFile, job: Job) -> Iterator[tuple[str, Any, Any]]:
    variables = _variables(pipeline, job)
    for text, holder, index in _script_lines(job):
        branched: set[str] = set()  # names an earlier branch of the open `if` assigned
        alternative = False
        for line in text.splitlines():
            if _OTHER_BRANCH.match(line):
                alternative = True
            elif _BRANCHES_END.match(line):
                alternative, branched = False, set()
            found = _ASSIGNMENT.match(line)
            if found and re.search(r"\$\(|`", found.group(3)):
                variables.pop(found.group(1), None)  # a command's output: unknown here, left as `$NAME`
            elif found:
                name, value = found.group(1), _expand(found.group(3), variables)
                # Another branch's value is one the command may get too (`push=true` on tags, a local
                # export elsewhere): both are read.
                variables[name] = f"{variables[name]} {value}" if alternative and name in branched and name in variables else value
                branched.add(name)
        # Filled in first: a variable of options (`$KANIKO_ARGS` on a line of its own) joins its command.
        yield joined(_expand(text, variables)), holder, index


def _runnable(pipeline: PipelineFile) -> list[Job]:
    return [job for job in pipeline.jobs if not job.hidden and not _switched_off(job)]


def _switched_off(job: Job) -> bool:
    """A job every rule of which says `when: never` (a template's job turned off, such as the
    Container-Scanning template's `container_scanning`) never runs: it scans, pushes and holds nothing."""
    rules = job.merged.get("rules")
    return isinstance(rules, list) and bool(rules) and all(isinstance(entry, dict) and entry.get("when") == "never" for entry in rules)


def _audited(pipeline: PipelineFile) -> list[Job]:
    """Jobs, and the templates no job here uses (a library of templates for other projects): those
    are audited where they are written, for what they say on their own."""
    used = {name for job in _runnable(pipeline) for name in job.source_names} | pipeline.referenced
    return [job for job in pipeline.jobs if not job.hidden or job.name not in used]


def _counted(job: Job) -> str | None:
    # A template's finding counts the jobs it reaches, not itself.
    return None if job.hidden else job.name


OWN_REGISTRY = re.compile(r"\$\{?CI_REGISTRY_IMAGE\b")


def _built_here(repository: str, built: set[str], own: dict[str, list[tuple[str, int]]]) -> bool:
    """Whether the pipeline builds this repository: named as built, or spelled out under the project's
    own registry path (`registry.gitlab.com/group/project/tool` where `$CI_REGISTRY_IMAGE/tool` is
    built) or under a variable naming the registry (`harbor.example.com/devops/tool` where
    `$HARBOR/devops/tool` is); own holds those paths by their last name, with the parts the variable stands for."""
    # The project's own registry holds the project's own output, whichever pipeline or Makefile builds it.
    if repository in built or OWN_REGISTRY.match(repository):
        return True
    candidates = own.get(repository.rsplit("/", 1)[-1], []) if "$" not in repository else []
    return any(repository.endswith(rest) and repository.count("/") >= rest.count("/") + parts_before - 1 for rest, parts_before in candidates)


def unpinned_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    # Named as written and as the job's variables spell it out (`$HARBOR/devops/ansible` is the
    # `harbor.example.com/devops/ansible` a later job runs in).
    built: set[str] = set()
    for job in pipeline.jobs:
        for text, _, _ in _script_texts(pipeline, job):
            names = built_repositories(text)
            built |= names
            # Under $CI_REGISTRY_IMAGE everything is the project's own already.
            if any("$" in name and not OWN_REGISTRY.match(name) for name in names):
                built |= built_repositories(_expand(text, _variables(pipeline, job)))
    own: dict[str, list[tuple[str, int]]] = {}
    for name in built:
        # A variable standing for the registry (`$CI_REGISTRY_IMAGE/tool`, `$HARBOR_REGISTRY/devops/tool`
        # read from a file at run time): the path after it is the project's own.
        registry = re.match(r"\$\{?\w+\}?(?=/)", name)
        if registry:
            # The project's registry path stands for a host, a group and the project; another, a host at least.
            parts_before = 3 if OWN_REGISTRY.match(name) else 1
            own.setdefault(name.rsplit("/", 1)[-1], []).append((name[registry.end():], parts_before))
    audited = _audited(pipeline)
    for job in audited:
        for ref, holder, key, _ in _images(pipeline, job):
            why = None if _built_here(image_repository(ref.reference), built, own) else _moving(ref)
            if why:
                written = _image_written(pipeline, job, holder, key)
                where = job.written_in("services" if isinstance(key, int) else "image") if written == _located(job, holder, key) else "variables"
                yield rule.finding(pipeline, written, f"{where}: image {why}; pin an exact version, and a digest where you can", job=_counted(job))
        yield from _unpinned_buildkit(pipeline, rule, job)
    # A default image every job replaces still runs whatever job an include or a later edit adds.
    # The top-level `image:` is the older spelling of `default: image:`.
    default = pipeline.root.get("default")
    holder, where_written = (default, "default") if isinstance(default, Located) and "image" in default else (pipeline.root, "the pipeline")
    image = holder.get("image") if isinstance(holder, Located) else None
    name = image.get("name") if isinstance(image, dict) else image
    if isinstance(name, str) and not any(job.written_in("image") == where_written for job in audited if not job.hidden):
        ref = _image_ref(name, {str(k): _value(v) or "" for k, v in pipeline.global_variables().items()})
        why = None if _built_here(image_repository(ref.reference), built, own) else _moving(ref)
        if why:
            where = (file_of(holder, pipeline.path, "image"), line_of(holder, "image"))
            yield rule.finding(pipeline, where, f"{where_written}: image {why}; pin an exact version, and a digest where you can")


WHOLE_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def _image_written(pipeline: PipelineFile, job: Job, holder: Any, key: Any) -> tuple[str, int]:
    """Where an image is named: an `image: $RUNNER_IMAGE` is named where the variable is set, once
    for every job that uses it."""
    value = holder[key] if isinstance(holder, (dict, list)) and (key in holder if isinstance(holder, dict) else isinstance(key, int) and key < len(holder)) else None
    value = value.get("name") if isinstance(value, dict) else value
    whole = WHOLE_VARIABLE.fullmatch(value.strip()) if isinstance(value, str) else None
    if whole:
        name = whole.group(1)
        found = _variable_written(job, None, name, (None, None))
        if found[0] is None:
            variables = pipeline.root.get("variables")
            found = (variables, name) if isinstance(variables, Located) and name in variables else (None, None)
        if found[0] is not None:
            return _located(job, *found)
    return _located(job, holder, key)


def _moving(ref: ImageRef) -> str | None:
    """What makes an image reference move ("... has no tag (so :latest)"), or None for a pinned one."""
    # A name with no letter or digit (`name: _`, a placeholder a template overrides) names no image.
    if ref.digest or ref.tag is None or (ref.tag and tag_names_a_version(ref.tag)) or not (ref.name or ref.tag) or (ref.name and not re.search(r"[a-z0-9]", ref.name)):
        return None
    why = "has no tag (so :latest)" if not ref.tag else f"uses the moving tag :{ref.tag}"
    through = f" (through {ref.written})" if ref.written != ref.reference else ""
    return f"{ref.reference}{through} {why}"


def _unpinned_buildkit(pipeline: PipelineFile, rule: Rule, job: Job) -> Iterator[Finding]:
    """The BuildKit image a script names (a buildx driver's image=, a buildkitd container it runs)
    moves as an `image:` does. A template's script is located where written, once for its jobs."""
    for text, holder, key in _script_texts(pipeline, job):
        moving = sorted(set(moving_buildkit_tags(text)))
        if moving:
            images = ", ".join(f"moby/buildkit{':' + tag if tag else ''}" for tag in moving)
            yield rule.finding(
                pipeline, _located_within(job, holder, key, "moby/buildkit"),
                f"{_script_writer(pipeline, job, holder, key)}: the script's BuildKit image {images} moves under the build; pin a release (e.g. moby/buildkit:v0.32.2)",
                job=_counted(job),
            )


# dind and TLS. The official docker:dind image sets DOCKER_TLS_CERTDIR=/certs itself since 19.03.

def _tls_by_default(ref: ImageRef) -> bool | None:
    """Whether the dind image turns TLS on when the job sets nothing: True for the official image
    from 19.03 on, False before, None for an image whose defaults are unknown."""
    return tls_on_by_default(ref.tag or "") if ref.name == "docker" else None


# A daemon told to listen on TCP 2375 (`--host=tcp://0.0.0.0:2375`, `-H tcp://:2375`) serves it without TLS.
PLAIN_TCP_LISTENER = re.compile(r"tcp://[^\s\"',]*:2375\b")


def _daemon_tls(pipeline: PipelineFile, job: Job, template: bool) -> Iterator[tuple[str, str, Any, Any]]:
    """(rule id, message, holder, key) for the job's first dind service. A template is audited only
    for what it states itself: an empty DOCKER_TLS_CERTDIR or port 2375."""
    variables = _variables(pipeline, job)
    ref, holder, key, service = next(_dind_services(pipeline, job), (None, None, None, None))
    if ref is None:
        # No service written: a runner configured to supply dind (services in its config.toml) still
        # reads the job's DOCKER_TLS_CERTDIR, so an empty one a Docker-running job or its template
        # sets turns TLS off there. One set for the whole pipeline may be a leftover: not read so.
        holder, key = _variable_written(job, None, "DOCKER_TLS_CERTDIR", (None, None))
        if variables.get("DOCKER_TLS_CERTDIR") == "" and holder is not pipeline.root.get("variables") and not variables.get("DOCKER_HOST", "").startswith("unix://") and _talks_to_docker(pipeline, job):
            yield "GL002", "DOCKER_TLS_CERTDIR is empty in a job that runs Docker with no dind service of its own, so the dind service the runner's configuration supplies listens on plain TCP 2375; set DOCKER_TLS_CERTDIR: /certs", holder, key
        return
    own = service.get("variables") if isinstance(service, dict) else None
    daemon = {**variables, **{str(k): _value(v) or "" for k, v in (own.items() if isinstance(own, dict) else ())}}
    certdir, host = daemon.get("DOCKER_TLS_CERTDIR"), variables.get("DOCKER_HOST", "")
    # The daemon's side and the client's are two lines to change, each reported where it is written.
    if certdir == "":
        # Whatever the job's client uses, the daemon itself then listens on plain TCP.
        yield "GL002", "DOCKER_TLS_CERTDIR is empty, so the dind daemon listens on plain TCP 2375 and anything that reaches it owns it; set DOCKER_TLS_CERTDIR: /certs", *_variable_written(job, own, "DOCKER_TLS_CERTDIR", (holder, key))
    if re.search(r":2375\b", host):
        yield "GL002", "DOCKER_HOST points at the plain-TCP port 2375; use tcp://docker:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH=/certs/client", *_variable_written(job, None, "DOCKER_HOST", (holder, key))
    command = service.get("command") if isinstance(service, dict) else None
    listens_plain = isinstance(command, list) and any(PLAIN_TCP_LISTENER.search(str(word)) for word in command)
    if listens_plain:
        yield "GL002", "the service's command makes the daemon listen on plain TCP 2375, where anything that reaches it owns it; drop that --host and let the image serve TLS on 2376 (DOCKER_TLS_CERTDIR: /certs)", service, "command"
    if certdir == "" or re.search(r":2375\b", host) or listens_plain:
        return
    if host.startswith("unix://"):
        return  # a unix socket is a daemon of the job's own, not this service over the network
    elif certdir is None:
        # A template no job here uses states its service and no TLS setting: that is judged too.
        by_default = _tls_by_default(ref)
        if by_default:
            yield "GL010", f"DOCKER_TLS_CERTDIR is not set, so TLS rests on the defaults of the {ref.reference} image (on since 19.03, off in older and in other images); set DOCKER_TLS_CERTDIR: /certs, DOCKER_HOST: tcp://docker:2376, DOCKER_TLS_VERIFY: '1' and DOCKER_CERT_PATH: /certs/client", holder, key
        elif by_default is False:
            yield "GL002", f"{ref.reference} predates TLS by default (19.03) and DOCKER_TLS_CERTDIR is not set, so the daemon listens on plain TCP 2375; use docker:27 or later and set DOCKER_TLS_CERTDIR: /certs", holder, key
        elif not template and _talks_to_docker(pipeline, job):
            yield "GL002", "the dind client is not configured for TLS; set DOCKER_TLS_CERTDIR: /certs, DOCKER_HOST: tcp://docker:2376, DOCKER_TLS_VERIFY: '1' and DOCKER_CERT_PATH: /certs/client", holder, key
    # The client's side matters only to a job that is a client: a pipeline-wide service reaches lint
    # and test jobs in other images too, which never open a connection to it. A template's jobs elsewhere may set it.
    # DOCKER_TLS is the client's --tls: encrypted, with the job's client certificate, though the server's name goes unchecked.
    elif not template and all(variables.get(name, "") in ("", "0") for name in ("DOCKER_TLS_VERIFY", "DOCKER_TLS")) and not _docker_client_sets_tls(job, variables) and _talks_to_docker(pipeline, job):
        yield "GL002", "the dind client is not configured for TLS; set DOCKER_TLS_CERTDIR: /certs, DOCKER_HOST: tcp://docker:2376, DOCKER_TLS_VERIFY: '1' and DOCKER_CERT_PATH: /certs/client", holder, key


DOCKER_CLIENTS = {"docker", "docker-compose"}


def _own_dind(job: Job) -> bool:
    # `default:` and the pipeline's own variables are the last two sources: they reach every job.
    for node in [job.node, *job.sources[:-2]]:
        if not isinstance(node, dict):
            continue
        variables = node.get("variables")
        if "services" in node or (isinstance(variables, dict) and str(variables.get("DOCKER_HOST", "")).startswith("tcp://")):
            return True
    return False


def _talks_to_docker(pipeline: PipelineFile, job: Job) -> bool:
    """Whether the job is a Docker client: it runs in the official docker image (the image is there
    to talk to the daemon), a script line runs docker or docker-compose on the runner, or it sets up
    its dind itself (its services, or DOCKER_HOST at tcp://, written by the job or a template it
    extends): Testcontainers, Maven and Gradle talk to the daemon with no docker command."""
    if _client_image(pipeline, job) or _own_dind(job):
        return True
    return any(
        program.rsplit("/", 1)[-1] in DOCKER_CLIENTS
        for text, _, _ in _script_texts(pipeline, job)
        for program, _ in simple_commands(REMOTE_COMMAND.sub("ssh", without_echoes(text)))
    )


def _variable_written(job: Job, service_variables: Any, name: str, otherwise: tuple[Any, Any]) -> tuple[Any, Any]:
    """Where the value the job sees for `name` is written: the service's own variables, then the job's
    and its templates', then the pipeline's. A value written once for many jobs is reported once there."""
    holders = [service_variables, *(node.get("variables") for node in [job.node, *job.sources] if isinstance(node, dict))]
    return next(((holder, name) for holder in holders if isinstance(holder, dict) and name in holder and _positioned(holder, name)), otherwise)


def dind_tls(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    """GL002 and GL010 both: one reading of the daemon's TLS, each rule taking its own findings."""
    for job in _audited(pipeline):
        for rule_id, message, holder, key in _daemon_tls(pipeline, job, job.hidden):
            if rule_id == rule.id:
                yield rule.finding(pipeline, _located(job, holder, key), f"{_tls_writer(job, holder)}: {message}", job=_counted(job))


def _tls_writer(job: Job, holder: Any) -> str:
    places = zip([job.name, *job.source_names], [job.node, *job.sources])
    return next((name for name, node in places if isinstance(node, dict) and node.get("variables") is holder), job.written_in("services"))


def _docker_client_sets_tls(job: Job, variables: dict[str, str]) -> bool:
    """GitLab's documented set-up: the official docker image's entrypoint turns on TLS itself when
    DOCKER_TLS_CERTDIR is set and DOCKER_HOST names port 2376 (or is unset)."""
    image = job.merged.get("image")
    name = image.get("name", "") if isinstance(image, dict) else image
    ref = _image_ref(name if isinstance(name, str) else "", variables)
    return ref.official and variables.get("DOCKER_HOST", "tcp://docker:2376").endswith(":2376")


def dind_missing_alias(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _audited(pipeline):
        for ref, holder, index, service in _dind_services(pipeline, job):
            # GitLab derives the alias from the image name: docker:dind is reached as docker already.
            if ref.prefixed and not (isinstance(service, dict) and service.get("alias") == "docker"):
                yield rule.finding(pipeline, _located(job, holder, index), f"{job.written_in('services')}: the dind service has no `alias: docker`; the TLS certificate names docker, and a registry or mirror path changes the derived alias", job=_counted(job))


def _service_command(service: Any) -> list[str]:
    command = service.get("command") if isinstance(service, dict) else None
    return [command] if isinstance(command, str) else [str(entry) for entry in _list(command)]


def _command_place(job: Job, holder: Any, index: Any, service: Any) -> tuple[str, int]:
    """Where a service's `command:` is written, else the service's own line."""
    return _located(job, service, "command") if _positioned(service, "command") else _located(job, holder, index)


def dind_command_drops_entrypoint(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _audited(pipeline):
        for _, holder, index, service in _dind_services(pipeline, job):
            # The image's entrypoint puts dockerd in front when the first word is a flag; a later word
            # may be a flag's value (`["--registry-mirror", "https://mirror.gcr.io"]`).
            entry = next(iter(_service_command(service)), None)
            if entry is not None and not entry.startswith("-"):
                yield rule.finding(pipeline, _command_place(job, holder, index, service), f"{job.written_in('services')}: service command entry {entry!r} does not start with --, so the entrypoint replaces dockerd's default command and its TLS set-up; pass daemon flags only, in --flag=value form", job=_counted(job))


def iptables_and_icc_off(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _audited(pipeline):
        for _, holder, index, service in _dind_services(pipeline, job):
            flags = " ".join(_service_command(service))
            if re.search(r"--iptables[= ]false", flags) and re.search(r"--icc[= ]false", flags):
                yield rule.finding(pipeline, _command_place(job, holder, index, service), f"{job.written_in('services')}: dockerd refuses to start with --iptables=false and --icc=false together; use --iptables=false --bridge=none, or --icc=false with iptables on", job=_counted(job))


def password_on_command_line(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in pipeline.jobs:
        for text, holder, index in _script_texts(pipeline, job):
            code = without_echoes(text)
            # Each login of a `|` block on its own line: two registries are two secrets on command lines.
            for found in LOGIN_WITH_PASSWORD.finditer(code):
                raw = holder[index] if isinstance(holder[index], str) else text
                yield rule.finding(
                    pipeline, _located_within(job, holder, index, password_flag_line(raw, code[: found.end()].count("login")) or "login"),
                    f"{job.name}: {login_tool(found)} login with a password flag puts the secret on the command line and in process lists; "
                    "pipe it to --password-stdin (or write a Docker config file)",
                    job=_counted(job),
                )


# Which refs a job can run on, from its rules: or only: (and the workflow's rules).

PROTECTED, LIMITED, OPEN = 2, 1, 0
_BRANCH = r"\$(?:CI_COMMIT_BRANCH|CI_COMMIT_REF_NAME)"
_ATOMS = [
    (re.compile(r"\$CI_COMMIT_REF_PROTECTED\s*==\s*[\"']true[\"']"), PROTECTED, "protected refs"),
    (re.compile(rf"{_BRANCH}\s*==\s*\$CI_DEFAULT_BRANCH|\$CI_DEFAULT_BRANCH\s*==\s*{_BRANCH}"), LIMITED, "the default branch"),
    (re.compile(rf"{_BRANCH}\s*==\s*([\"'][^\"'*]+[\"'])|([\"'][^\"'*]+[\"'])\s*==\s*{_BRANCH}"), LIMITED, "branch {}"),
    # A project variable holds one name: `$CI_COMMIT_BRANCH == $RELEASE_BRANCH` is one branch too.
    (re.compile(rf"{_BRANCH}\s*==\s*(\$(?!CI_)\w+)\b|(\$(?!CI_)\w+)\s*==\s*{_BRANCH}"), LIMITED, "branch {}"),
    # `=~ /^main$/`, `=~ /^(main|master)$/`: anchored at both ends, names only, so exactly those branches.
    (re.compile(rf"{_BRANCH}\s*=~\s*/\^\(?([\w-]+(?:\|[\w-]+)*)\)?\$/"), LIMITED, "branch {}"),
    (re.compile(r"\$CI_COMMIT_TAG(\s*!=\s*(null|\"\"|'')|\s*=~\s*/.*/|\s*==\s*([\"'])[^\"'\s]+\3)?"), LIMITED, "tags"),
]
# `only:` keywords that name every ref of a kind, not one.
_ONLY_KEYWORDS = {"branches", "merge_requests", "pushes", "web", "schedules", "api", "triggers", "pipelines", "external", "chat", "external_pull_requests"}


def _split_top(condition: str, operator: str) -> list[str]:
    if operator not in condition:
        return [condition]
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(condition):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and condition.startswith(operator, index) and index >= start:
            parts.append(condition[start:index])
            start = index + len(operator)
    return [*parts, condition[start:]]


def _condition_scope(condition: str, depth: int = 0) -> tuple[int, set[str]]:
    """How far an `if:` limits the refs a job runs on, and the refs it names."""
    condition = condition.strip()
    alternatives = _split_top(condition, "||")
    if len(alternatives) > 1:
        scopes = [_condition_scope(part, depth + 1) for part in alternatives]
        return min(level for level, _ in scopes), {ref for _, refs in scopes for ref in refs}
    terms = _split_top(condition, "&&")
    if len(terms) > 1:
        scopes = [_condition_scope(part, depth + 1) for part in terms]
        best = max(level for level, _ in scopes)
        return best, {ref for level, refs in scopes if level == best for ref in refs}
    if condition.startswith("(") and condition.endswith(")") and depth < 20:
        return _condition_scope(condition[1:-1], depth + 1)
    for pattern, level, name in _ATOMS:
        found = pattern.fullmatch(condition)
        if found:
            return level, {name.format(next((g for g in found.groups() if g), "").strip("\"'").replace("|", ", "))}
    return OPEN, set()


def _excluded_scope(condition: str) -> tuple[int, set[str]]:
    """What the refs that get past `- if: <condition>` + `when: never` have in common: past
    `$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH` only the default branch is left. Read for `!=`
    comparisons, alone or joined by ||, whose `==` form names a scope."""
    scopes = [
        _condition_scope(part.replace("!=", "==", 1)) if part.count("!=") == 1 and "==" not in part else (OPEN, set())
        for part in _split_top(condition.strip(), "||")
    ]
    best = max(level for level, _ in scopes)
    return best, {ref for level, refs in scopes if level == best for ref in refs}


def _rules_scope(rules: Any) -> tuple[int, set[str]]:
    """Rules are tried in order and the first that matches decides, so a `when: never` rule narrows
    every rule after it to the refs that get past it."""
    floor: tuple[int, set[str]] = (OPEN, set())
    scopes = []
    for entry in _list(rules):
        condition = str(entry["if"]) if isinstance(entry, dict) and "if" in entry else None
        if isinstance(entry, dict) and entry.get("when") == "never":
            # With changes: or exists: beside the if:, a ref the condition names may still get past.
            if condition is not None and set(entry) <= {"if", "when"}:
                floor = max(floor, _excluded_scope(condition), key=lambda s: s[0])
            continue
        scopes.append(max(_condition_scope(condition) if condition is not None else (OPEN, set()), floor, key=lambda s: s[0]))
    if not scopes:
        return OPEN, set()
    return min(level for level, _ in scopes), {ref for _, refs in scopes for ref in refs}


def _only_scope(only: Any) -> tuple[int, set[str]]:
    names: set[str] = set()
    for ref in refs_listed(only):
        # `master@group/project`: that ref, in that project only (forks run nothing).
        ref = ref.split("@", 1)[0] if isinstance(ref, str) and not ref.startswith("/") else ref
        if not isinstance(ref, str) or ref in _ONLY_KEYWORDS or ref.startswith("/") or "@" in ref:
            return OPEN, set()
        names.add("tags" if ref == "tags" else f"branch {ref}")
    return (LIMITED, names) if names else (OPEN, set())


def _ref_scope(pipeline: PipelineFile, job: Job) -> tuple[int, set[str]]:
    if "rules" in job.merged:
        scope = _rules_scope(job.merged["rules"])
    elif "only" in job.merged:
        scope = _only_scope(job.merged["only"])
    else:
        scope = OPEN, set()
    if "rules" not in job.merged and scope[0] == OPEN and tags_only(job.merged.get("only"), job.merged.get("except")):
        scope = LIMITED, {"tags"}
    workflow = pipeline.root.get("workflow")
    if isinstance(workflow, dict) and "rules" in workflow:
        scope = max(scope, _rules_scope(workflow["rules"]), key=lambda s: s[0])
    # A job of a file included under rules (`include: - local: x.yml rules: [...]`) exists only where they hold.
    if job.file in pipeline.include_rules:
        scope = max(scope, _rules_scope(pipeline.include_rules[job.file]), key=lambda s: s[0])
    for kind, value in pipeline.parent_limits:
        scope = max(scope, _rules_scope(value) if kind == "rules" else _only_scope(value), key=lambda s: s[0])
    return scope


TopKeys = dict[str, list[tuple[int, str]]]


def _top_keys(pipeline: PipelineFile) -> TopKeys:
    """(line, name) of the top-level keys each file writes, in order: read once per pipeline."""
    root, keys = pipeline.root, {}
    for key in root:
        keys.setdefault(file_of(root, pipeline.path, key), []).append((line_of(root, key), str(key)))
    return {file: sorted(found) for file, found in keys.items()}


def _owner(keys: TopKeys, place: tuple[str, int]) -> tuple[str, int] | None:
    """The top-level job or template whose mapping holds a line: (name, its line)."""
    file, line = place
    found = keys.get(file, [])
    index = bisect.bisect_right(found, (line, "\uffff")) - 1
    return (found[index][1], found[index][0]) if index >= 0 else None


def _deciding_place(pipeline: PipelineFile, keys: TopKeys, job: Job, push: tuple[Any, Any]) -> tuple[tuple[str, int], str]:
    """Where a pushing job's refs meet its push, and the name written there. A template (through
    `extends:` or a YAML anchor) that writes the `rules:`/`only:` and pushes, itself or through a
    template it extends, decides for every job that uses it: one finding there. A job that brings
    the two together itself (rules from one template, the push from another or its own script), or
    that has no rules at all, is reported at the job."""
    ref_key = "rules" if "rules" in job.merged else "only" if "only" in job.merged else None
    holder = job.origin(ref_key) if ref_key else None
    if holder is None or not _positioned(holder, ref_key):
        return _at(job), job.name
    refs, pushes = _owner(keys, _located(job, holder, ref_key)), _owner(keys, _located(job, *push))
    if refs is None or pushes is None or refs[0] == job.name:
        return _at(job), job.name
    if refs == pushes or pushes[0] in {name for name, _ in _ancestors(refs[0], pipeline.root)}:
        file, _ = _located(job, holder, ref_key)
        return (file, refs[1]), refs[0]
    return _at(job), job.name


def guard_scope(tests: tuple[str, ...]) -> tuple[int, set[str]]:
    """How far the shell tests a command runs under limit the refs it runs on."""
    return max([(OPEN, set()), *(_condition_scope(shell_test_as_rule(test)) for test in tests)], key=lambda scope: scope[0])


def _push_scope(pipeline: PipelineFile, job: Job) -> tuple[tuple[int, set[str]], tuple[Any, Any]] | None:
    """The refs the job's pushes run on, and where the first is written: the job's rules, narrowed
    for each push by a shell test it runs under (`if [ "$CI_COMMIT_BRANCH" = main ]; then docker push`)."""
    rules = _ref_scope(pipeline, job)
    first, scopes = None, []
    for text, holder, key in _script_texts(pipeline, job):
        text = without_echoes(text)
        # A push to a registry on the runner itself publishes nothing (GL020 reads it the same way).
        if PUSHES.search(text) and not LOCAL_REGISTRY.search(text):
            first = first or (holder, key)
            scopes += [max(rules, guard_scope(tests), key=lambda s: s[0]) for command, tests in guarded_commands(text) if PUSHES.search(command)]
    if first is None:
        return None
    scopes = scopes or [rules]  # a push no single command shows (one held across lines) keeps the rules'
    level = min(level for level, _ in scopes)
    return (level, {ref for each, refs in scopes if each == level for ref in refs}), first


def push_on_unprotected_ref(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    limited = []
    keys = _top_keys(pipeline)
    for job in _runnable(pipeline):
        found = _push_scope(pipeline, job)
        if found is None:
            continue
        (level, refs), push = found
        if level in (OPEN, LIMITED):
            place, name = _deciding_place(pipeline, keys, job, push)
        if level == OPEN:
            yield rule.finding(pipeline, place, f"{name}: pushes images but can run on unprotected refs, where protected variables are absent and anyone with push access controls the image; add rules: - if: $CI_COMMIT_REF_PROTECTED == \"true\" && ...", job=job.name)
        elif level == LIMITED:
            limited.append(rule.finding(
                pipeline, place,
                f"{name}: pushes images only on {' or '.join(sorted(refs))}, refs that are safe only while the project protects them; "
                "say so in the rule (if: $CI_COMMIT_REF_PROTECTED == \"true\" && ...) so an unprotected ref of that name never pushes",
                level="warning", job=job.name,
            ))
    yield from limited  # errors first: where one place reaches both, the stronger one is reported


# Engines run containers or builds, so a hung one holds the runner. Registry clients (skopeo,
# crane, regctl, oras) only talk to registries and are left out, as are an engine's bookkeeping
# commands (a login, a tag, removing an old container): they return at once, and a job doing only
# those builds and runs nothing.
BOOKKEEPING = {"login", "logout", "version", "info", "tag", "rmi", "images", "inspect", "context", "config", "ps", "stop", "kill", "rm", "rename"}
def _runs_engine(text: str, login: bool = False) -> bool:
    """Whether the line runs an engine; of its bookkeeping commands, a login counts when `login`."""
    for program, part in simple_commands(REMOTE_COMMAND.sub("ssh", text)):
        name = program.rsplit("/", 1)[-1]
        if name not in ENGINES or (name == "executor" and "kaniko" not in program):
            continue
        words = [word for word in part.split() if not word.startswith("-")]
        after = words.index(program) + 1 if program in words else len(words)
        subcommand = words[after] if after < len(words) else ""
        if subcommand == "system" and words[after + 1:after + 2] in (["df"], ["info"]):
            subcommand = "info"  # `docker system df` reports, as `docker info` does
        if subcommand not in BOOKKEEPING or (login and subcommand == "login"):
            return True
    return False


def _engine_sections(pipeline: PipelineFile, job: Job) -> list[str]:
    """The script sections that run an engine, `script:` first. A login in the job's own script, or
    in a template it extends, says it uses the daemon; a pipeline-wide before_script says nothing."""
    texts = _script_texts(pipeline, job)
    return [
        section for section in SCRIPT_SECTIONS[1:2] + SCRIPT_SECTIONS[:1] + SCRIPT_SECTIONS[2:]
        if any(_runs_engine(text, job.written_in(section) not in ("default", "the pipeline")) for text, holder, key in texts if holder is job.merged.get(section) or key == section or getattr(holder, "section", None) == section)
    ]


def _runs_a_container_engine(pipeline: PipelineFile, job: Job) -> bool:
    """The reason for GL008 (a hung daemon holds the runner) applies only where an engine runs: an
    engine command the job runs, a dind service the job declares itself, or one a template gives a
    job that runs in the docker client image (a service inherited from default: counts only when
    the job talks to a daemon)."""
    dind = any(_dind_services(pipeline, job))
    if dind and ("services" in job.node or _client_image(pipeline, job) and job.written_in("services") not in ("default", "the pipeline")):
        return True
    return bool(_engine_sections(pipeline, job))


def _client_image(pipeline: PipelineFile, job: Job) -> bool:
    image = next((ref for ref, _, _, service in _images(pipeline, job) if service is None), None)
    # docker:27 is the dind image too, and as the job's own image it is the client all the same.
    return image is not None and image.official


def _template_writing(pipeline: PipelineFile, job: Job, key: str) -> str:
    """The job or template where `key` is written, a YAML merge key (`<<: *anchor`) followed to the
    top-level mapping the anchor names."""
    name = job.written_in(key)
    node = pipeline.root.get(name)
    value = node.get(key) if isinstance(node, Located) else None
    if not isinstance(value, (list, dict)) or not isinstance(node, Located):
        return name
    line = line_of(node, key)
    # An alias (`script: *build`) names a value written above, under another mapping's key.
    if getattr(value, "file", node.file) == node.file and getattr(value, "line", line) < line:
        line = value.line
    # Merged in: the value is shared with the mapping that writes it, the nearest one above its key.
    holders = [
        (other.line, other_name) for other_name, other in pipeline.root.items()
        if isinstance(other, Located) and other.get(key) is value and other.file == node.file and other.line <= line
    ]
    return max(holders)[1] if holders else name


def _script_writer(pipeline: PipelineFile, job: Job, holder: Any, key: Any) -> str:
    """The job or template that writes the script section holding holder[key]."""
    section = key if isinstance(key, str) else getattr(holder, "section", None) or next((name for name in SCRIPT_SECTIONS if job.merged.get(name) is holder), None)
    return _template_writing(pipeline, job, section) if section else job.name


def _engine_written_in(pipeline: PipelineFile, job: Job) -> tuple[str, tuple[str, int]]:
    """The job or template whose script runs the engine (its `script:` before its before_script),
    or else the one that writes the script a dind service serves: a timeout belongs there, once for
    every job that extends it. A dind service the job writes itself places it at the job; one merged
    in from an anchor (`<<: *job`) does not, as jobs sharing the anchor may differ in their scripts."""
    sections = _engine_sections(pipeline, job)
    own_services = "services" in job.node and _template_writing(pipeline, job, "services") == job.name
    name = _template_writing(pipeline, job, sections[0] if sections else "services" if own_services else "script")
    if name != job.name and isinstance(pipeline.root.get(name), Located):
        return name, (pipeline.root[name].file or job.file, line_of(pipeline.root, name))
    return job.name, _at(job)


def job_without_timeout(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        if "timeout" not in job.merged and "trigger" not in job.merged and _runs_a_container_engine(pipeline, job):
            name, where = _engine_written_in(pipeline, job)
            yield rule.finding(pipeline, where, f"{name}: no timeout, so a hung daemon holds the runner for the project's maximum; set timeout: (e.g. 30 minutes)", job=job.name)


def debug_trace(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    scopes = [("the pipeline", pipeline.root.get("variables"))] + [(j.name, j.node.get("variables")) for j in pipeline.jobs]
    for scope, variables in scopes:
        if not isinstance(variables, dict):
            continue
        for name in ("CI_DEBUG_TRACE", "CI_DEBUG_SERVICES"):
            if str(_value(variables.get(name))).lower() in ("true", "1"):
                yield rule.finding(pipeline, (file_of(variables, pipeline.path), line_of(variables, name)), f"{scope}: {name} is enabled, which prints every variable, secrets included, into the job log; remove it")


def with_child_pipelines(check: Check) -> Check:
    """A rule run on the pipeline and on each `trigger: include:` child, each as its own pipeline."""
    def run(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
        for each in every_pipeline(pipeline):
            yield from check(each, rule)
    return run


GITLAB_RULES = [
    Rule(rule_id, name, summary, with_child_pipelines(check), level)
    for rule_id, name, summary, check, level in [
        ("GL001", "unpinned-image", "Images and services pinned to an exact version (not :latest or a moving tag).", unpinned_image, "error"),
        ("GL002", "dind-without-tls", "The dind daemon is reached over TLS on 2376, never plain TCP on 2375.", dind_tls, "error"),
        ("GL003", "dind-missing-alias", "The dind service has alias: docker.", dind_missing_alias, "error"),
        ("GL004", "dind-command-drops-entrypoint", "dind service command: entries start with --.", dind_command_drops_entrypoint, "error"),
        ("GL005", "iptables-and-icc-off", "No --iptables=false together with --icc=false.", iptables_and_icc_off, "error"),
        ("GL006", "password-on-command-line", "No docker login -p / --password.", password_on_command_line, "error"),
        ("GL007", "push-on-unprotected-ref", "Jobs that push run only on protected refs.", push_on_unprotected_ref, "error"),
        ("GL008", "job-without-timeout", "Every job has a timeout.", job_without_timeout, "error"),
        ("GL009", "debug-trace-enabled", "CI_DEBUG_TRACE and CI_DEBUG_SERVICES are not enabled.", debug_trace, "error"),
        ("GL010", "dind-tls-by-image-default", "DOCKER_TLS_CERTDIR is set by the pipeline, not left to the dind image's default.", dind_tls, "warning"),
    ]
]
