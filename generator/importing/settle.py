"""The last step of every reader: an imported spec must validate, so whatever a hand-written file
said that the spec cannot hold gets the safe valid value here, with an "assumed" note of what was
chosen and what to change. A spec that still does not validate afterwards is a gen-ci bug.

Readers may leave `_built_as` on an image: the repository its build named, used when the original
never pushes it (the spec must still name where an image would go)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.diagnostics import json_path
from generator.importing import Note

BUILT_AS = "_built_as"
# Registries the spec can name without a host: the platform's own (Jenkins has none).
OWN_REGISTRY = {"github": "platform", "gitlab": "platform"}
_MAX_ROUNDS = 50


def settle(spec: dict[str, Any], platform: str, file: str) -> list[Note]:
    notes: list[Note] = []
    notes += _schema_values(spec, file)
    notes += _ids(spec, file)
    notes += _registries(spec, platform, file)
    notes += _daemon(spec, platform, file)
    notes += _some_trigger(spec, file)
    notes += _events(spec, file)
    _keyword_lookalikes(spec)
    notes += _collisions(spec, file)
    notes += _unfired_rules(spec, file)
    notes += _schema_values(spec, file)  # what the semantic fixes left, once more
    return notes


# --- values the schema refuses -------------------------------------------------------------------


def _validator() -> Any:
    from jsonschema import Draft202012Validator, validators

    from generator.validation import spec_schema

    integers = Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return validators.extend(Draft202012Validator, type_checker=integers)(spec_schema())


def _schema_values(spec: dict[str, Any], file: str) -> list[Note]:
    """Leave out each value the schema refuses (a list item, else an optional key), innermost first,
    until the spec's shape is valid: gen-ci's default then applies, and the note says what was dropped."""
    from generator.schemacheck import quickly_valid
    from generator.validation import spec_schema

    if quickly_valid(spec, spec_schema()):
        return []
    validator = _validator()
    notes: list[Note] = []
    for _ in range(_MAX_ROUNDS):
        errors = sorted(validator.iter_errors(_plain(spec)), key=lambda e: -len(e.absolute_path))
        if not errors:
            break
        error = errors[0]
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = error.schema.get("properties", {})
            path = (*path, next(key for key in error.instance if key not in allowed))
        fixed = _lowercased(spec, path) or _drop(spec, path, error)
        if fixed is None:
            break
        notes.append(Note("assumed", file, 0, fixed, "set it by hand in the spec if the original's value matters"))
    return notes


def _plain(value: Any) -> Any:
    """The spec as plain JSON data (readers may build it from located YAML nodes)."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items() if k != BUILT_AS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _at(spec: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        spec = spec[part]
    return spec


def _lowercased(spec: dict[str, Any], path: tuple[Any, ...]) -> str | None:
    """A repository Docker would refuse for its capitals names the same one in lower case."""
    if not path or path[-1] != "repository":
        return None
    value = _at(spec, path)
    if not isinstance(value, str) or value == value.lower() or not re.fullmatch(r"[A-Za-z0-9._:/-]+", value):
        return None
    _at(spec, path[:-1])[path[-1]] = value.lower()
    return f"{json_path(path)}: {value} is written in lower case ({value.lower()}): Docker refuses capitals in a repository"


REQUIRED_TOP = {"version", "name", "targets", "images"}


def _drop(spec: dict[str, Any], path: tuple[Any, ...], error: Any) -> str | None:
    """Remove the value at path, or the nearest list item or optional key holding it."""
    for depth in range(len(path), 0, -1):
        parent_path, key = path[:depth - 1], path[depth - 1]
        parent = _at(spec, parent_path)
        if isinstance(parent, list):
            if parent_path == ("images",) and len(parent) == 1:
                return None  # the one image is what the spec is about: nothing to fall back to
            removed = parent.pop(key)
            return f"{json_path(path[:depth])}: {_short(removed)} is not something the spec can hold ({_reason(error)}); it is left out"
        if isinstance(parent, dict) and not (parent_path == () and key in REQUIRED_TOP) and key not in _required(parent_path):
            removed = parent.pop(key)
            return f"{json_path(path[:depth])}: {_short(removed)} is not something the spec can hold ({_reason(error)}); gen-ci's default applies"
    return None


def _required(parent_path: tuple[Any, ...]) -> set[str]:
    """Keys a mapping at this place cannot do without: leaving them out would leave it invalid."""
    names = [p for p in parent_path if isinstance(p, str)]
    last = names[-1] if names else ""
    return {"publish": {"repository"}, "tags": {"tag"}, "services": {"name", "image"}, "ready": {"command", "timeout_seconds"},
            "prepare": {"image", "script", "outputs"}, "ignore": {"rule", "reason"}}.get(last, set()) if parent_path and isinstance(parent_path[-1], int) else set()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(error: Any) -> str:
    if error.validator == "pattern":
        return "not a value of the form it takes"
    if error.validator == "enum":
        return "one of " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "type":
        return f"not a {error.validator_value}"
    if error.validator == "additionalProperties":
        return "no such setting"
    return str(error.message)[:80]


def _ids(spec: dict[str, Any], file: str) -> list[Note]:
    """An id YAML or an expression reads as a value (true, null) cannot name jobs: it gets another, unique one."""
    from generator.importing.common import image_id
    from generator.rules.images import RESERVED_IDS

    images = [image for image in spec.get("images", []) if isinstance(image, dict)]
    taken = {str(image.get("id")) for image in images}
    notes = []
    for image in images:
        if image.get("id") in RESERVED_IDS:
            old, image["id"] = image["id"], image_id(f"image-{image['id']}", taken)
            notes.append(Note("assumed", file, 0, f"the image id {old} reads as a value, not a name: it is {image['id']}", "choose another id"))
    return notes


# --- where each image goes ------------------------------------------------------------------------


def _registries(spec: dict[str, Any], platform: str, file: str) -> list[Note]:
    """Every image must name where it goes. An image the original never pushes (it only builds and
    tests, or pushes somewhere only the run knows) gets a repository; when no image publishes at all
    the spec publishes nothing, as the original."""
    images = spec.get("images", [])
    homeless = [image for image in images if "repository" not in image and not image.get("publish")]
    for image in images:
        if "publish" in image and not image["publish"]:
            image.pop("publish")
    if not homeless:
        for image in images:
            image.pop(BUILT_AS, None)
        return []
    notes: list[Note] = []
    if len(homeless) < len(images):
        for image in homeless:
            images.remove(image)
            notes.append(Note("not-carried", file, 0, f"image {image.get('id')} is not carried: the original never pushes it where a spec can name",
                              "add it to images with its repository or publish if it should publish"))
        return notes
    several = len(images) > 1
    for image in images:
        built = image.pop(BUILT_AS, None)
        repository = _home(platform, image.get("id", "app"), built, several)
        image["publish"] = [{"repository": repository}]
        notes.append(Note("assumed", file, 0, f"image {image.get('id')} is built but never pushed where a spec can name: it is given publish {repository}, "
                                              "and the spec publishes nothing, as the original",
                          "set images[].publish and push.branches / push.tags to publish it"))
    spec["push"] = {"branches": [], "tags": []}
    return notes


def _home(platform: str, ident: str, built: str | None, several: bool) -> str:
    from generator.importing.common import full_repository
    from generator.validation import spec_schema

    # A bare local name (app:test) names no registry; one with a path (acme/app) names where it would go.
    if built and "/" in built and "$" not in built and "{" not in built:
        named = built.rsplit("@", 1)[0]
        if ":" in named.rsplit("/", 1)[-1]:
            named = named.rsplit(":", 1)[0]
        named = full_repository(named)
        if re.fullmatch(spec_schema()["$defs"]["registry"]["properties"]["repository"]["pattern"], named):
            return named
    own = OWN_REGISTRY.get(platform)
    if own:
        return f"{own}/{ident}" if several else own
    return f"docker.io/library/{ident}"


# --- the build daemon -------------------------------------------------------------------------------


def _daemon(spec: dict[str, Any], platform: str, file: str) -> list[Note]:
    docker = spec.setdefault("docker", {}) if isinstance(spec.get("docker"), dict) else {}
    mode = docker.get("mode", "socket")
    runners = spec.get("runners", {}) if isinstance(spec.get("runners"), dict) else {}
    if platform == "gitlab" and mode == "socket" and not runners.get("gitlab"):
        docker["mode"] = "dind"
        spec["docker"] = docker
        return [Note("assumed", file, 0, "the original runs docker on a runner's own daemon, and no runner tags say which runners bind the socket: "
                                         "the spec uses a dind service (docker.mode dind)",
                     "for socket mode, set docker.mode socket and runners.gitlab to the tags of runners whose config.toml binds /var/run/docker.sock")]
    jenkins = spec.get("jenkins") if isinstance(spec.get("jenkins"), dict) else {}
    if platform == "jenkins" and jenkins.get("agent") == "kubernetes" and mode != "dind":
        docker["mode"] = "dind"
        spec["docker"] = docker
        return [Note("assumed", file, 0, "the original builds on a Kubernetes agent; gen-ci gives such agents a TLS dind sidecar, never the node's socket (docker.mode dind)", "")]
    return []


# --- when it publishes ------------------------------------------------------------------------------

# The triggers that start a run of their own (gen-ci's rule GC113); a call or release alone does not.
TRIGGER_DEFAULTS = {"branches": ["main"], "tags": ["v*"], "pull_requests": True, "schedule": [], "manual": True}


def _some_trigger(spec: dict[str, Any], file: str) -> list[Note]:
    """A pipeline nothing starts cannot be rendered: the original runs on events the spec has no word
    for (another workflow's call on GitLab, a webhook), so the spec runs when started by hand."""
    triggers = spec.setdefault("triggers", {})
    if not isinstance(triggers, dict) or any(triggers.get(key, default) for key, default in TRIGGER_DEFAULTS.items()):
        return []
    triggers["manual"] = True
    return [Note("assumed", file, 0, "none of the original's triggers is one the spec has: the spec runs when started by hand (triggers.manual)",
                 "list the branches, tags or schedule that should run it in triggers")]


def _events(spec: dict[str, Any], file: str) -> list[Note]:
    """A publishing event no trigger starts could never publish: it is left out, and said so."""
    push, triggers = spec.get("push"), spec.get("triggers", {})
    if not isinstance(push, dict) or not isinstance(push.get("events"), list) or not isinstance(triggers, dict):
        return []
    needs = {"manual": triggers.get("manual", True), "schedule": bool(triggers.get("schedule")),
             "release": triggers.get("release", False) or "github" not in spec.get("targets", {})}
    kept = [event for event in push["events"] if needs.get(event, True)]
    notes = [Note("assumed", file, 0, f"the original would publish on {event} runs, which the spec's triggers never start: push.events leaves {event} out",
                  f"turn on the {event} trigger and add {event} to push.events") for event in push["events"] if event not in kept]
    # A run publishes only the refs push.branches or push.tags name (gen-ci's rule GC114).
    refs = {"release": ("tags",), "schedule": ("branches",), "manual": ("branches", "tags")}
    named = [event for event in kept if any(push.get(key) for key in refs.get(event, ("branches", "tags")))]
    notes += [Note("assumed", file, 0, f"the original publishes on {event} runs from refs the spec cannot name: push.events leaves {event} out",
                   f"list the branches or tags that publish in push.branches or push.tags, then add {event} to push.events")
              for event in kept if event not in named and event != "push"]
    kept = [event for event in kept if event in named or event == "push"]
    if kept and kept != ["push"]:
        push["events"] = kept
    else:
        push.pop("events", None)
    return notes


def _keyword_lookalikes(spec: dict[str, Any]) -> None:
    """A fixed tag one typo away from a keyword (test, lastest) is written {tag: name}, which says it is meant."""
    import difflib

    from generator.tagging import KEYWORDS

    for image in spec.get("images", []):
        for rules in [image.get("tags")] + [entry.get("tags") for entry in image.get("publish", []) if isinstance(entry, dict)]:
            for index, rule in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(rule, str) and rule not in KEYWORDS and difflib.get_close_matches(rule, KEYWORDS, n=1, cutoff=0.75):
                    rules[index] = {"tag": rule}


NOT_BUILD = {"id", "tags", "publish", "repository", "test", "services", BUILT_AS}


def _collisions(spec: dict[str, Any], file: str) -> list[Note]:
    """Two images pushing the same tags to one repository overwrite each other. One built the same
    way (the same Dockerfile, context and arguments, built twice by two jobs) is one image: its tags
    join the first's. Any other gets a tag_suffix of its id."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    notes = []
    for image in list(spec.get("images", [])):
        entries = image.get("publish") or ([{"repository": image["repository"]}] if "repository" in image else [])
        keys = {(entry.get("repository", ""), image.get("tag_prefix", ""), image.get("tag_suffix", "")) for entry in entries if isinstance(entry, dict)}
        same = next((seen[key] for key in keys if key in seen and _build(seen[key]) == _build(image)), None)
        if same is not None:
            rules = same.setdefault("tags", ["ref", "sha"])
            rules += [rule for rule in image.get("tags", ["ref", "sha"]) if rule not in rules]
            same["publish"] = same.get("publish", []) + [entry for entry in image.get("publish", []) if entry not in same.get("publish", [])]
            spec["images"].remove(image)
            notes.append(Note("assumed", file, 0, f"image {image.get('id')} is built as image {same.get('id')} is and pushed to the same repository: "
                                                  "they are one image, its tags joined", "split them again with a tag_suffix each if they differ"))
            continue
        if keys & set(seen):
            suffix = "-" + re.sub(r"[^A-Za-z0-9_.-]", "-", str(image.get("id", "variant")))[:39]
            image["tag_suffix"] = suffix
            image.pop("default_variant", None)
            keys = {(repository, prefix, suffix) for repository, prefix, _ in keys}
            notes.append(Note("assumed", file, 0, f"image {image.get('id')} pushes the same tags to the same repository as another image: "
                                                  f"it gets tag_suffix {suffix} so neither overwrites the other",
                              "merge the two images if they are one, or choose the suffix"))
        seen.update({key: image for key in keys if key not in seen})
    return notes


def _build(image: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in image.items() if key not in NOT_BUILD}


@dataclass(frozen=True)
class _Found:
    path: tuple[Any, ...]
    code: str


class _Paths:
    """Stands in for a loaded spec file: gen-ci's rules report where, and nothing needs a line."""

    file = ""

    def diagnostic(self, path: tuple[Any, ...], code: str, message: str, *, key: bool = False) -> _Found:
        return _Found(tuple(path), code)


def _unfired_rules(spec: dict[str, Any], file: str) -> list[Note]:
    """A tag rule no publishing run reaches (a schedule's tag where nothing publishes on schedules)
    publishes nothing in the original's terms either: it is left out."""
    from generator.model import apply_defaults
    from generator.rules.tags import tag_rule_never_fires
    from generator.validation import spec_schema

    try:
        complete = apply_defaults(_plain(spec), spec_schema(), spec_schema())
        found = sorted({f.path for f in tag_rule_never_fires(complete, _Paths())}, reverse=True)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return []  # a shape the rules cannot walk is left to validation to report
    notes = []
    silent: set[int] = set()
    for path in found:
        rules = _at(spec, path[:-1])
        if isinstance(rules, list) and len(rules) > 1:
            removed = rules.pop(path[-1])
            notes.append(Note("assumed", file, 0, f"{json_path(path)}: the tag rule {_short(removed)} applies to no run the spec publishes, so it is left out",
                              "widen push.branches, push.tags or push.events if it should publish"))
        else:
            silent.add(path[1])  # its one rule never fires: the image publishes nothing
    images = spec["images"]
    if silent and len(silent) == len(images):
        spec["push"] = {"branches": [], "tags": []}
        notes.append(Note("assumed", file, 0, "no tag rule applies to a run the spec publishes: the spec publishes nothing",
                          "widen push.branches, push.tags or push.events, and the images' tags, to publish"))
    for index in sorted(silent, reverse=True) if len(silent) < len(images) else []:
        removed = images.pop(index)
        notes.append(Note("not-carried", file, 0, f"image {removed.get('id')} is not carried: none of its tags applies to a run the spec publishes",
                          "add it to images with tag rules for the refs in push.branches and push.tags"))
    return notes
