"""Declarative Jenkinsfiles read into a gen-ci spec.

The file is read as Groovy tokens into nested calls (`stage('x') { when { ... } steps { ... } }`),
never run. A stage's `when` is evaluated per run as Jenkins would evaluate it; its `sh` scripts and
`docker.build` / `docker.withRegistry` calls say what it builds and pushes. gen-ci's own Jenkinsfiles
are read the same way, their tag script by the reader every platform's output shares."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.importing import EXAMPLE_SHA, Imported, Note
from generator.importing._gitlab_expr import example, glob_of_regex
from generator.importing._gitlab_probe import settle_events
from generator.importing._gitlab_shell import (
    Command,
    commands,
    login,
    pushed,
    read_build,
    variable_name,
)
from generator.importing._gitlab_tagscript import (
    EVENTS,
    START,
    read_tag_script,
    spec_publishes,
)
from generator.importing.common import from_root
from generator.importing.settle import BUILT_AS
from generator.lint.document import LintInputError
from generator.refs import glob_regex
from generator.tagging import rules_from_spec, versioned

TARGET = re.compile(r"^(?:[A-Za-z0-9._-]+/)*(?:Jenkinsfile(?:\.[A-Za-z0-9_-]+)?|[A-Za-z0-9._-]+\.(?:jenkinsfile|groovy))$")


class JenkinsImportError(LintInputError):
    """A Jenkinsfile this reader cannot follow; the message starts with file:line:col."""


# --- Groovy, as far as a declarative pipeline needs -------------------------------------------------

_STRING = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'((?:[^'\\\n]|\\.)*)'|\"((?:[^\"\\\n]|\\.)*)\"", re.DOTALL)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "$": "$", "n": "\n", "t": "\t"}


@dataclass
class Token:
    kind: str  # word, str, punct
    value: str
    line: int


@dataclass
class Call:
    name: str
    args: list[Token]
    body: list[Call] | None
    line: int
    inner: list[Call] = field(default_factory=list)  # calls among the arguments: withCredentials([usernamePassword(...)])

    def strings(self) -> list[str]:
        return [t.value for t in self.args if t.kind == "str"]

    def named(self) -> dict[str, str]:
        out = {}
        for index, token in enumerate(self.args[:-2]):
            if token.kind == "word" and self.args[index + 1].value == ":" and self.args[index + 2].kind == "str":
                out[token.value] = self.args[index + 2].value
        return out

    def walk(self):
        yield self
        for child in [*self.inner, *(self.body or [])]:
            yield from child.walk()


def _unescape(text: str, raw: bool) -> str:
    # A line ending in a backslash inside ''' continues the string ('''\ starts a script on the next line).
    text = text.replace("\\\n", "")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), text)


def tokens(text: str, file: str) -> list[Token]:
    out: list[Token] = []
    index, line = 0, 1
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
            index += 1
        elif char.isspace():
            index += 1
        elif text.startswith("//", index):
            index = text.find("\n", index) if "\n" in text[index:] else len(text)
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end < 0:
                raise JenkinsImportError(f"{file}:{line}:1: a /* comment is not closed")
            line += text.count("\n", index, end)
            index = end + 2
        elif char in "'\"":
            match = _STRING.match(text, index)
            if not match:
                raise JenkinsImportError(f"{file}:{line}:1: a string is not closed (expected {char} before the end of the line)")
            body = next(group for group in match.groups() if group is not None)
            out.append(Token("str", _unescape(body, match[0].startswith(("'''", '"""'))), line))
            line += match[0].count("\n")
            index = match.end()
        elif char.isalpha() or char in "_$":
            match = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]*").match(text, index)
            out.append(Token("word", match[0], line))
            index = match.end()
        else:
            out.append(Token("punct", char, line))
            index += 1
    return out


def _closing(items: list[Token], start: int, file: str) -> int:
    pairs, depth = {"(": ")", "[": "]", "{": "}"}, []
    for index in range(start, len(items)):
        value = items[index].value if items[index].kind == "punct" else ""
        if value in pairs:
            depth.append(pairs[value])
        elif value in (")", "]", "}"):
            if not depth or depth.pop() != value:
                raise JenkinsImportError(f"{file}:{items[index].line}:1: unexpected {value}")
            if not depth:
                return index
    raise JenkinsImportError(f"{file}:{items[start].line}:1: {items[start].value} is not closed")


def calls(items: list[Token], file: str, start: int = 0, end: int | None = None) -> list[Call]:
    out: list[Call] = []
    end = len(items) if end is None else end
    index = start
    while index < end:
        token = items[index]
        if token.kind == "punct" and token.value == "{":
            close = _closing(items, index, file)
            out.append(Call("", [], calls(items, file, index + 1, close), token.line))
            index = close + 1
            continue
        if token.kind != "word":
            index += 1
            continue
        nxt, args, inner = index + 1, [], []
        if nxt < end and items[nxt].value == "(" and items[nxt].kind == "punct":
            close = _closing(items, nxt, file)
            args = items[nxt + 1:close]
            inner = calls(items, file, nxt + 1, close)
            nxt = close + 1
        else:
            # Command syntax: `branch 'main'`, `tag pattern: 'x', comparator: 'REGEXP'`, `sh '''...'''`.
            while nxt < end and items[nxt].line == token.line and (items[nxt].kind == "str" or items[nxt].value in (",", ":")
                                                                     or (items[nxt].kind == "word" and nxt + 1 < end and items[nxt + 1].value == ":")):
                args.append(items[nxt])
                nxt += 1
        body = None
        if nxt < end and items[nxt].kind == "punct" and items[nxt].value == "{":
            close = _closing(items, nxt, file)
            body = calls(items, file, nxt + 1, close)
            nxt = close + 1
        out.append(Call(token.value, args, body, token.line, inner))
        index = nxt
    return out


# --- when, run by run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JRun:
    kind: str  # push, tag, pr, schedule, manual, manual-tag
    ref: str


def _glob_matches(pattern: str, ref: str, comparator: str) -> bool:
    if comparator == "REGEXP":
        try:
            return re.fullmatch(pattern, ref) is not None
        except re.error:
            return False
    if comparator == "EQUALS":
        return pattern == ref
    return re.fullmatch(glob_regex(pattern), ref) is not None


@dataclass
class When:
    unread: list[tuple[int, str]] = field(default_factory=list)  # (line, condition) taken as true

    def holds(self, conditions: list[Call], run: JRun) -> bool:
        return all(self._one(c, run) for c in conditions)

    def _one(self, call: Call, run: JRun) -> bool:
        tag_run = run.kind in ("tag", "manual-tag")
        body = [c for c in call.body or [] if c.name]
        name = call.name
        if name in ("allOf", ""):
            return self.holds(body, run)
        if name == "anyOf":
            return any(self._one(c, run) for c in body)
        if name == "not":
            return not self.holds(body, run)
        if name in ("beforeAgent", "beforeInput", "beforeOptions"):
            return True
        if name == "branch":
            named, strings = call.named(), call.strings()
            pattern = named.get("pattern") or (strings[0] if strings else "*")
            return not tag_run and run.kind != "pr" and _glob_matches(pattern, run.ref, named.get("comparator", "GLOB"))
        if name == "tag":
            named, strings = call.named(), call.strings()
            pattern = named.get("pattern") or (strings[0] if strings else "*")
            return tag_run and _glob_matches(pattern, run.ref, named.get("comparator", "GLOB"))
        if name == "buildingTag":
            return tag_run
        if name == "changeRequest":
            target = call.named().get("target")
            return run.kind == "pr" and (target is None or _glob_matches(target, run.ref, call.named().get("comparator", "GLOB")))
        if name == "triggeredBy":
            cause = (call.named().get("cause") or (call.strings() or [""])[0])
            if "Timer" in cause:
                return run.kind == "schedule"
            if "UserId" in cause:
                return run.kind in ("manual", "manual-tag")
            self.unread.append((call.line, f"triggeredBy {cause}"))
            return False
        if name == "expression" and any("params.GEN_CI_PUBLISH" in c.name for c in call.walk()):
            return run.kind in ("manual", "manual-tag")
        self.unread.append((call.line, name))
        return True


def _find(items: list[Call], name: str) -> list[Call]:
    return [c for top in items for c in top.walk() if c.name == name]


def _stages(root: list[Call]) -> list[Call]:
    """Every stage that has steps (a parallel or sequential stage's own stages, not the wrapper)."""
    return [c for c in _find(root, "stage") if any(child.name == "steps" for child in c.body or [])]


def _scripts(stage: Call) -> list[tuple[str, int]]:
    return [(s, c.line) for c in stage.walk() if c.name == "sh" for s in (c.strings()[:1] or [c.named().get("script", "")]) if s]


def _conditions(stage: Call) -> list[Call]:
    return [child for c in stage.body or [] if c.name == "when" for child in c.body or [] if child.name]


# --- the reader ------------------------------------------------------------------------------------

def read_jenkins(paths: list[Path]) -> Imported:
    if len(paths) != 1:
        raise JenkinsImportError(f"gen-ci import: one Jenkinsfile at a time ({len(paths)} given)")
    path = Path(paths[0])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JenkinsImportError(f"{path}:1:1: cannot read: {exc}") from None
    root = calls(tokens(text, str(path)), str(path))
    pipeline = next((c for c in root if c.name == "pipeline" and c.body is not None), None)
    if pipeline is None:
        raise JenkinsImportError(f"{path}:1:1: no `pipeline {{ ... }}` block: only declarative Jenkinsfiles are read (a scripted node {{ }} pipeline is not)")
    reader = _Reader(path, text, pipeline)
    return reader.read()


class _Reader:
    def __init__(self, path: Path, text: str, pipeline: Call) -> None:
        self.path, self.text, self.pipeline = path, text, pipeline
        self.file = str(path)
        self.notes: list[Note] = []
        self.when = When()
        self.stages = _stages(pipeline.body or [])
        self.own = START in text

    def note(self, kind: str, line: int, message: str, advice: str = "") -> None:
        self.notes.append(Note(kind, self.file, line, message, advice))

    def read(self) -> Imported:
        target = self.path.name if TARGET.match(self.path.name) else "Jenkinsfile"
        name = re.sub(r"[^A-Za-z0-9 ._-]", "-", self.path.resolve().parent.name).strip() or "imported"
        self.note("assumed", 0, f"the project is named {name!r} after its directory", "change name: in the spec")
        images, publishing_stages, stage_tags = self._images()
        if not images:
            raise JenkinsImportError(f"{self.file}:{self.pipeline.line}:1: no stage builds an image (docker build, docker.build, kaniko, buildah or buildctl)")
        push, publish_runs = self._push(publishing_stages)
        if not self.own:
            self._tags(images, stage_tags, publish_runs)
        spec: dict[str, Any] = {"version": 1, "name": name, "targets": {"jenkins": target}}
        crons = self._crons()
        spec["triggers"] = {"branches": list(self._trigger_branches(push)), "tags": list(self._trigger_tags(push)), "schedule": crons}
        if not self.own:
            self.notes += settle_events(push, crons, self.file)
        spec["docker"] = {"mode": self._mode()}
        spec["images"] = images
        spec["scan"] = self._scan()
        spec["push"] = push
        jenkins = self._jenkins(images)
        if jenkins:
            spec["jenkins"] = jenkins
        for line, condition in self.when.unread:
            self.note("not-carried", line, f"the condition {condition} is not modelled; it was taken as true",
                      "check push.branches, push.tags and push.events against it")
        if not self.own:
            self._added(spec)
        # gen-ci's own file publishes what its tag scripts say under its publish conditions: the spec read back.
        publishes, unreadable = spec_publishes(spec) if self.own else self._original(publish_runs, stage_tags)
        return Imported(spec, self.notes, publishes, unreadable)

    # images and what each stage pushes

    def _images(self) -> tuple[list[dict[str, Any]], list[Call], dict[str, list[tuple[str, Any]]]]:
        images: list[dict[str, Any]] = []
        publishing: list[Call] = []
        pushes: dict[str, list[tuple[str, Any]]] = {}  # stage name -> (reference, tag rule)
        for stage in self.stages:
            title = (stage.strings() or [""])[0]
            built = self._builds(stage)
            refs = self._pushes(stage)
            if self.own and title.startswith("Build ") and built:
                image_id = title[len("Build "):].split(" ", 1)[0]
                if not any(image["id"] == image_id for image in images):
                    images.append(self._own_image(image_id, built[0], stage))
                continue
            for build in built:
                repository = _repository(build.tags[0]) if build.tags else None
                image = {"id": _ident(repository or title), **_build_fields(build)}
                if repository and not any(i.get("_repository") == repository for i in images):
                    image["_repository"] = repository
                    images.append(image)
            if refs:
                publishing.append(stage)
                pushes[title] = refs
            elif not built and not self.own and title not in ("Describe",):
                tests = self._test(stage, images)
                if not tests:
                    self.note("not-carried", stage.line, f"stage {title!r} is not modelled: gen-ci builds, tests, scans and publishes images only",
                              "keep it in a Jenkinsfile of your own, or drop it if gen-ci's jobs cover it")
        if self.own:
            self._own_publish(images)
            return images, [s for s in self.stages if (s.strings() or [""])[0] == "Publish"], {}
        return images, publishing, pushes

    def _builds(self, stage: Call):
        out = []
        for script, line in _scripts(stage):
            for command in commands(script):
                build = read_build(command)
                if build and "--call=check" not in command.words:
                    build.line = line + command.line - 1
                    out.append(build)
        for call in stage.walk():
            if call.name == "docker.build" and call.strings():
                words = call.strings()
                command = Command(["docker", "build", "-t", words[0], *(shlex.split(words[1]) if len(words) > 1 else ["."])], call.line)
                out.append(read_build(command))
        return [b for b in out if b]

    def _pushes(self, stage: Call) -> list[tuple[str, Any]]:
        """(reference or repository:tag, the call or command) each stage pushes."""
        out: list[tuple[str, Any]] = []
        for script, line in _scripts(stage):
            for command in commands(script):
                for reference in pushed(command):
                    out.append((reference, command))
                build = read_build(command)
                if build and build.pushes:
                    out += [(ref, command) for ref in build.tags]
        # img = docker.build("name:tag") anywhere in the file: img.push('tag') pushes that name.
        built = dict(re.findall(r"(\w+)\s*=\s*docker\.build\(\s*[\"']([^\"']+)[\"']", self.text))
        for call in stage.walk():
            if call.name.endswith(".push"):
                base = built.get(call.name[:-len(".push")], "")
                tag = (call.strings() or [""])[0]
                repository = base.rsplit(":", 1)[0] if ":" in base.rsplit("/", 1)[-1] else base
                registry = self._registry_of(stage, call)
                out.append((f"{registry}/{repository}".lstrip("/") + (f":{tag}" if tag else ""), call))
        return out

    def _registry_of(self, stage: Call, push: Call) -> str:
        for call in stage.walk():
            if call.name == "docker.withRegistry" and push in list(call.walk()):
                url = (call.strings() or [""])[0]
                return re.sub(r"^https?://", "", url).rstrip("/")
        return ""

    def _tags(self, images: list[dict[str, Any]], pushes: dict[str, list[tuple[str, Any]]], runs: dict[JRun, list[Call]]) -> None:
        branches, tags = self._probes()
        for title, refs in pushes.items():
            # The refs this stage publishes on narrow its tags, as a tag rule's branches or tags.
            held = [run for run, stages in runs.items() if run.kind != "pr" and any((s.strings() or [""])[0] == title for s in stages)]
            on_branches = _narrow([p for p in branches for run in held if run.kind in ("push", "schedule", "manual") and example(p) == run.ref])
            on_tags = _narrow([p for p in tags for run in held if run.kind in ("tag", "manual-tag") and example(p) == run.ref])
            for reference, where in refs:
                repository, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "latest")
                repository = _repository(repository)
                image = next((i for i in images if i.get("_repository") == repository), None)
                if image is None:
                    if not images:
                        continue
                    image = images[0]
                registry = next((r for r in image.setdefault("publish", []) if r["repository"] == repository), None)
                if registry is None:
                    registry = {"repository": repository}
                    image["publish"].append(registry)
                template = _template(tag)
                if template is None:
                    self.note("not-carried", where.line, f"the tag {tag!r} of {repository} reads something gen-ci's tags cannot say",
                              "choose tag rules from ref, sha, semver, latest and {placeholders}")
                    continue
                rule: Any = template
                if on_branches and not on_tags:
                    rule = {"tag": "{ref}" if template == "ref" else template, "branches": list(on_branches)}
                elif on_tags and not on_branches:
                    rule = {"tag": "{ref}" if template == "ref" else template, "tags": list(on_tags)}
                image.setdefault("tags", [])
                if rule not in image["tags"]:
                    image["tags"].append(rule)
        for image in images:
            built = image.pop("_repository", None)
            if built and not image.get("publish"):
                image[BUILT_AS] = built
            if not image.get("tags"):
                image.pop("tags", None)

    def _test(self, stage: Call, images: list[dict[str, Any]]) -> bool:
        for script, line in _scripts(stage):
            for command in commands(script):
                words = command.words
                if words[:2] == ["docker", "run"] and images:
                    built = [i for i in images]
                    rest = [w for w in words[2:] if not w.startswith("-")]
                    if rest:
                        images[0]["test"] = shlex.join(rest[1:]) if len(rest) > 1 else "true"
                        return bool(built)
        return False

    # gen-ci's own output

    def _own_image(self, image_id: str, build, stage: Call) -> dict[str, Any]:
        image = {"id": image_id, **_build_fields(build)}
        # Build secrets come from Jenkins credentials bound to GEN_CI_SECRET_<n>, named by their ids.
        bound = {c.named().get("variable"): c.named().get("credentialsId") for c in stage.walk() if c.name == "string"}
        secrets = {ident: bound[env] for ident, env in build.secrets.items() if bound.get(env)}
        if secrets:
            image["secrets"] = secrets
        for tests in self.stages:
            if (tests.strings() or [""])[0] == f"Test {image_id}":
                for script, _ in _scripts(tests):
                    found = re.search(r"^GEN_CI_TEST_SCRIPT=(.*)$", script, re.MULTILINE)
                    if found:
                        image["test"] = shlex.split(found[1])[0] if shlex.split(found[1]) else ""
        describe = "\n".join(s for stage in self.stages if (stage.strings() or [""])[0] == "Describe" for s, _ in _scripts(stage))
        found = re.search(r"\(\n(# Tags for this ref.*?)\n\) > gen-ci-tags-" + re.escape(image_id) + r"\.txt", describe, re.DOTALL)
        read = read_tag_script(found[1]) if found else {"tags": []}
        image["tags"] = read["tags"]
        for key in ("prefix", "suffix"):
            if read.get(key):
                image[f"tag_{key}"] = read[key]
        if read.get("default_variant") and read.get("suffix"):
            image["default_variant"] = True
        if read.get("versions") and any(versioned(rule) for rule in rules_from_spec(read["tags"])):
            image["versions"] = read["versions"]
        return image

    def _own_publish(self, images: list[dict[str, Any]]) -> None:
        for stage in self.stages:
            if (stage.strings() or [""])[0] != "Publish":
                continue
            script = "\n".join(s for s, _ in _scripts(stage))
            listed = re.findall(r"^set -- (.+)$", script, re.MULTILINE)
            candidates = re.findall(r'^candidate="gen-ci/([a-z0-9-]+):\$run"', script, re.MULTILINE)
            for image_id, words in zip(candidates or [images[0]["id"]], listed):
                image = next((i for i in images if i["id"] == image_id), images[0])
                image["publish"] = [{"repository": word} for word in shlex.split(words)]

    def _jenkins(self, images: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if any(c.name == "kubernetes" for c in _find(self.pipeline.body or [], "agent") for c in c.walk()):
            out["agent"] = "kubernetes"
        label = next((c for c in _find(self.pipeline.body or [], "label")), None)
        if label is not None and "agent" not in out:
            words = re.findall(r"'([A-Za-z0-9][A-Za-z0-9._-]*)'", " ".join(label.strings())) or label.strings()
            plain = [w for w in words if not w.endswith("-change-requests")]
            if plain and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", plain[-1]) and plain[-1] != "docker":
                out["label"] = plain[-1]
        hosts = {}
        for stage in self.stages:
            ids = {c.named().get("passwordVariable"): c.named().get("credentialsId") for c in stage.walk() if c.name == "usernamePassword"}
            for script, _ in _scripts(stage):
                for command in commands(script):
                    entered = login(command)
                    variable = variable_name(entered.password) if entered else None
                    if entered and ids.get(variable) and ids[variable] != entered.host:
                        hosts[entered.host] = ids[variable]
            for call in stage.walk():
                if call.name == "docker.withRegistry" and len(call.strings()) > 1:
                    host = re.sub(r"^https?://", "", call.strings()[0]).rstrip("/") or "docker.io"
                    if call.strings()[1] != host:
                        hosts[host] = call.strings()[1]
        if hosts:
            out["credentials"] = hosts
        return out

    # when it publishes

    def _probes(self) -> tuple[list[str], list[str]]:
        branches, tags = ["main", "**"], ["v*", "**"]
        for stage in self.stages:
            for condition in _conditions(stage):
                for call in condition.walk():
                    named, strings = call.named(), call.strings()
                    pattern = named.get("pattern") or (strings[0] if strings else None)
                    if not pattern or call.name not in ("branch", "tag"):
                        continue
                    glob = glob_of_regex(f"/{pattern}/") if named.get("comparator") == "REGEXP" else pattern
                    if glob:
                        (branches if call.name == "branch" else tags).append(glob)
        return list(dict.fromkeys(branches)), list(dict.fromkeys(tags))

    def _push(self, stages: list[Call]) -> tuple[dict[str, Any], dict[JRun, list[Call]]]:
        branches, tags = self._probes()
        runs: dict[JRun, list[Call]] = {}
        for kind in ("push", "schedule", "manual", "tag", "manual-tag", "pr"):
            for pattern in tags if kind in ("tag", "manual-tag") else branches:
                run = JRun(kind, example(pattern))
                holding = [stage for stage in stages if self.when.holds(_conditions(stage), run) and self._reaches(stage, run)]
                if holding:
                    runs.setdefault(run, holding)
        events, out_branches, out_tags = [], [], []
        for run in runs:
            if run.kind == "pr":
                continue
            pattern = next(p for p in (tags if run.kind in ("tag", "manual-tag") else branches) if example(p) == run.ref)
            (out_tags if run.kind in ("tag", "manual-tag") else out_branches).append(pattern)
            events.append({"tag": "push", "manual-tag": "manual"}.get(run.kind, run.kind))
        if any(run.kind == "pr" for run in runs):
            self.note("not-carried", stages[0].line if stages else 0, "the original pushes images on change requests; gen-ci never publishes from a pull request",
                      "nothing to do: pull requests build, test and scan")
        push: dict[str, Any] = {"branches": _narrow(out_branches), "tags": _narrow(out_tags)}
        events = list(dict.fromkeys(events))
        if events and events != ["push"]:
            push["events"] = events
        return push, runs

    def _reaches(self, stage: Call, run: JRun) -> bool:
        """The enclosing stages' conditions hold too (a stage inside a stage's `stages`)."""
        for outer in _find(self.pipeline.body or [], "stage"):
            if outer is not stage and stage in list(outer.walk()) and not self.when.holds(_conditions(outer), run):
                return False
        return True

    def _trigger_branches(self, push: dict[str, Any]) -> list[str]:
        found = re.search(r"discover these branches:\n((?://       .*\n)+)", self.text)
        if found:
            return [line[len("//       "):].strip().strip('"') for line in found[1].splitlines()]
        return push["branches"] or ["main"]

    def _trigger_tags(self, push: dict[str, Any]) -> list[str]:
        found = re.search(r"build strategy that builds tags.*?\n((?://       [^\n]*\n)+)", self.text, re.DOTALL)
        if found:
            return [line[len("//       "):].strip().strip('"') for line in found[1].splitlines()]
        return push["tags"]

    def _crons(self) -> list[str]:
        out = []
        for call in _find(self.pipeline.body or [], "cron"):
            for text in call.strings():
                for line in text.splitlines():
                    line = line.strip()
                    if not line or line.startswith(("TZ=", "#")):
                        continue
                    fields = line.split()
                    if len(fields) == 5 and "H" in line:
                        self.note("assumed", call.line, f"the cron {line!r} uses Jenkins' H (a spread minute); the spec says 0 there",
                                  "pick the minute and hour in triggers.schedule")
                        line = " ".join("0" if f.startswith("H") else f for f in fields)
                    if len(line.split()) == 5:
                        out.append(line)
                    else:
                        self.note("not-carried", call.line, f"the cron {line!r} is not five fields", "write triggers.schedule by hand")
        return out

    def _mode(self) -> str:
        if self.own:
            return "socket" if "Socket mode" in self.text else "dind"
        if "dind" in self.text or "DOCKER_TLS" in self.text:
            return "dind"
        self.note("assumed", 0, "the agent's Docker daemon is taken to be the host's own (docker.mode socket)",
                  "use docker.mode dind for a daemon of the pipeline's own")
        return "socket"

    def _scan(self) -> dict[str, Any]:
        tool = "grype" if "anchore/grype:" in self.text else "trivy" if "aquasec/trivy:" in self.text else None
        if tool is None:
            return {"tool": "trivy"}
        out: dict[str, Any] = {"tool": tool}
        severity = re.search(r"--severity ([A-Z,]+)", self.text)
        fail_on = re.search(r"--fail-on (\w+)", self.text)
        if fail_on:
            out["fail_on"] = fail_on[1]
        elif severity:
            out["fail_on"] = min((s.lower() for s in severity[1].split(",")), key=("low", "medium", "high", "critical").index)
        return out

    def _added(self, spec: dict[str, Any]) -> None:
        if not re.search(r"trivy|grype", self.text):
            self.note("added", 0, "a vulnerability scan (trivy, failing on high) now gates every push", "set scan.fail_on or scan.mode: report")
        self.note("added", 0, "every tool image is pinned by digest, and credentials are bound only for the publishing stage", "")

    # what the original publishes

    def _original(self, runs: dict[JRun, list[Call]], pushes: dict[str, list[tuple[str, Any]]]) -> tuple[dict[str, list[str]], dict[str, str]]:
        out: dict[str, list[str]] = {}
        unreadable: dict[str, str] = {}
        for event in EVENTS:
            kind, ref = event.split(":", 1)
            run = JRun(kind, ref)
            if kind == "schedule" and not _find(self.pipeline.body or [], "cron"):
                out[event] = []  # no cron trigger: Jenkins never starts a scheduled run
                continue
            publishing = [s for held in runs.values() for s in held]
            stages = [s for s in self.stages if s in publishing]
            holding = [s for s in stages if self.when.holds(_conditions(s), run) and self._reaches(s, run)]
            references = []
            for stage in holding:
                for reference, _ in pushes.get((stage.strings() or [""])[0], []):
                    value = _substitute(reference, run)
                    if value is None:
                        unreadable[event] = f"{reference} reads a value only the build knows"
                    else:
                        references.append(value)
            out[event] = sorted(set(references))
        return out, unreadable


def _narrow(patterns: list[str]) -> list[str]:
    patterns = list(dict.fromkeys(patterns))
    return ["**"] if "**" in patterns else patterns


def _repository(word: str) -> str:
    word = re.sub(r"^https?://", "", word)
    first = word.split("/", 1)[0]
    if "/" not in word or ("." not in first and ":" not in first and first != "localhost"):
        return f"docker.io/{word if '/' in word else 'library/' + word}"
    return word


def _ident(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", text.rsplit("/", 1)[-1].split(":", 1)[0].lower()).strip("-")
    return (name if name[:1].isalpha() else f"image-{name}")[:40].strip("-") or "app"


def _build_fields(build) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if build.dockerfile and from_root(build.dockerfile) != "Dockerfile":
        out["dockerfile"] = from_root(build.dockerfile)
    if build.context and from_root(build.context) != ".":
        out["context"] = from_root(build.context)
    if build.target:
        out["target"] = build.target
    computed = {"$version": "version", "$revision": "revision", "$created": "created", "$source": "source"}
    args = {name: ({"from": computed[value]} if value in computed else value) for name, value in build.build_args.items()
            if value in computed or "$" not in value}
    if args:
        out["build_args"] = args
    platforms = [p for p in build.platforms if p != "linux/amd64" or len(build.platforms) > 1]
    if platforms:
        out["platforms"] = build.platforms
    if any(name.startswith("org.opencontainers.image.") for name in build.labels):
        out["labels"] = True
    return out


JENKINS_VALUES = {"BRANCH_NAME": "{ref}", "TAG_NAME": "{ref}", "GIT_COMMIT": "{sha40}", "GIT_BRANCH": "{ref}"}


def _template(tag: str) -> str | None:
    """A pushed tag as a gen-ci tag rule: Jenkins' values as placeholders, fixed text as it is."""
    text = re.sub(r"\$\{?(?:env\.)?([A-Z_]+)\}?", lambda m: JENKINS_VALUES.get(m[1], "\0"), tag)
    if "\0" in text or not re.fullmatch(r"(?:[A-Za-z0-9_.-]|\{[a-z0-9]+\})+", text):
        return None
    return {"{ref}": "ref"}.get(text, text)


def _substitute(reference: str, run: JRun) -> str | None:
    values = {"BRANCH_NAME": run.ref if run.kind != "pr" else "PR-1", "TAG_NAME": run.ref if run.kind == "tag" else "",
              "GIT_COMMIT": EXAMPLE_SHA, "GIT_BRANCH": run.ref}
    missing = []
    text = re.sub(r"\$\{?(?:env\.)?([A-Z_]+)\}?", lambda m: values.get(m[1]) if m[1] in values else missing.append(m[1]) or "", reference)
    return None if missing else _repository(text.rsplit(":", 1)[0]) + ":" + text.rsplit(":", 1)[1] if ":" in text.rsplit("/", 1)[-1] else None
