"""Keep generated files in sync with their specs: write them (sync) or prove they match (check)."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from generator import __version__, pins
from generator.fingerprint import intact, split
from generator.insync import inside, outputs_in_sync, proof_key, read, remember
from generator.project import output_path, overrides_path
from generator.targets import plain_targets
from generator.writing import write_atomic


@dataclass(frozen=True)
class Drift:
    path: Path
    spec: Path
    reason: str
    diff: str


def _declared_outputs(spec_file: Path) -> dict[str, str] | None:
    """targets of a spec read without validation, for the fast path; None when it cannot tell."""
    try:
        stat = spec_file.stat()
    except OSError:
        return None
    return _read_targets(str(spec_file.resolve()), stat.st_mtime_ns, stat.st_size)


@cache  # read once per run, keyed on the file's state: the clash check and the fast path both need them
def _read_targets(spec_file: str, mtime_ns: int, size: int) -> dict[str, str] | None:
    try:
        raw = Path(spec_file).read_bytes()
    except OSError:
        return None
    found = plain_targets(raw)
    if found is not None:
        return found

    try:
        data = YAML(typ="safe").load(raw)
    except (YAMLError, ValueError, RecursionError):
        return None
    targets = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(targets, dict) or not all(isinstance(v, str) for v in targets.values()):
        return None
    return targets


def claimed_twice(spec_files: list[Path]) -> list[str]:
    """One message per output that two of these specs both write: each would overwrite the other's."""
    owners: dict[Path, Path] = {}
    clashes = []
    for spec_file in spec_files:
        for declared in (_declared_outputs(spec_file) or {}).values():
            path = output_path(spec_file, declared).resolve()
            if path in owners and owners[path] != spec_file.resolve():
                clashes.append(f"{owners[path]} and {spec_file} both write {declared}; give each spec its own targets")
            owners.setdefault(path, spec_file.resolve())
    return clashes


def _rendered(spec_file: Path) -> list[tuple[str, str, str]]:
    # Rendering loads Jinja, the schema and every rule: only for a spec not already proved in sync.
    from generator.pipeline import render_outputs

    return render_outputs(spec_file)


def proved_in_sync(spec_file: Path) -> bool:
    """True when a full check or sync already proved these outputs for this spec and gen-ci
    (generator.insync); the console entry asks the same before click loads (generator.fastpath)."""
    return outputs_in_sync(str(spec_file)) is not None


def remember_in_sync(spec_file: Path) -> None:
    """Record that every output of the spec is, byte for byte, what it renders now. A spec with
    vulnerability exceptions renders by the date (an ended one drops out, one near its end warns),
    so no proof keyed on its bytes may stand for a later day: it is rendered every time."""
    if _has_exceptions(spec_file):
        return
    found = proof_key(str(spec_file))
    if found is None:
        return
    root, relative, key, targets = found
    outputs = {}
    for declared in targets.values():
        path = inside(root, declared)
        data = read(path) if path else None
        if data is None:
            return
        outputs[declared] = data
    remember(root, relative, key, outputs)


def _has_exceptions(spec_file: Path) -> bool:
    from generator.loading import load_spec

    scan = load_spec(spec_file).data.get("scan")
    return isinstance(scan, dict) and bool(scan.get("exceptions"))


def _reference_bumps(old: str, new: str) -> list[tuple[re.Match, re.Match]] | None:
    """(on disk, rendered) for each digest-pinned image reference of one line that differs, when
    the line differs in nothing else and each reference keeps its repository; else None."""
    old_refs, new_refs = list(pins.IN_TEXT.finditer(old)), list(pins.IN_TEXT.finditer(new))
    if not old_refs or len(old_refs) != len(new_refs) or any(a["image"] != b["image"] for a, b in zip(old_refs, new_refs)):
        return None
    if pins.IN_TEXT.sub("<image>", old) != pins.IN_TEXT.sub("<image>", new):
        return None
    return [(a, b) for a, b in zip(old_refs, new_refs) if a[0] != b[0]]


def _changed_pins(current: str, fresh: str) -> tuple[list[tuple[str, str, str, str, str]], list[tuple[re.Match, re.Match]]] | None:
    """(action bumps as (name, sha, version, rendered version, rendered sha), image reference bumps
    as (on disk, rendered)) when pins are the only difference, line for line; else None."""
    old_lines, new_lines = current.splitlines(), fresh.splitlines()
    if len(old_lines) != len(new_lines):
        return None
    old_uses, new_uses = pins.uses_lines(current), pins.uses_lines(fresh)
    actions, images = [], []
    for index, (old, new) in enumerate(zip(old_lines, new_lines)):
        if old == new:
            continue
        if index in old_uses and index in new_uses and old_uses[index][0] == new_uses[index][0]:
            name, sha, version = old_uses[index]
            actions.append((name, sha, version, new_uses[index][2], new_uses[index][1]))
            continue
        references = _reference_bumps(old, new)
        if references is None:
            return None
        images += references
    return (actions, images) if actions or images else None


def _pin_bumps(current: str, fresh: str) -> list[str] | None:
    """The actions and images whose pin alone differs, when pins are the only difference; else None."""
    changed = _changed_pins(current, fresh)
    if changed is None:
        return None
    actions, images = changed
    bumps = [f"{name} {rendered} -> {version} ({sha[:12]})" for name, sha, version, rendered, _ in actions]
    bumps += [f"{old['image']} {new['tag']} -> {old['tag']} ({old['digest'][:19]})" for old, new in images]
    return sorted(set(bumps)) or None


def _reason(current: str, fresh: str) -> str:
    fingerprint, body = split(current)
    _, fresh_body = split(fresh)
    bumps = _pin_bumps(body, fresh_body)
    if bumps:
        return "pin bump (a bot or a person updated " + ", ".join(bumps) + "); run `gen-ci pins adopt` to keep it, or `gen-ci sync` to revert"
    if fingerprint is None:
        return "its gen-ci header is missing or was edited"
    if not intact(current):
        return "edited by hand since gen-ci wrote it (its header included); change the spec instead"
    if fingerprint.version != __version__:
        return f"rendered by gen-ci {fingerprint.version}; this is {__version__}"
    return "the spec (or the pin overrides) changed since it was generated"


def drifts(spec_file: Path) -> list[Drift]:
    found = []
    for _, declared, fresh in _rendered(spec_file):
        path = output_path(spec_file, declared)
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            found.append(Drift(path, spec_file, "missing", "".join(difflib.unified_diff([], fresh.splitlines(True), "/dev/null", str(path)))))
            continue
        except UnicodeDecodeError:
            found.append(Drift(path, spec_file, "it is not UTF-8 text, so gen-ci did not write it", ""))
            continue
        if current != fresh:
            diff = difflib.unified_diff(current.splitlines(True), fresh.splitlines(True), f"{path} (on disk)", f"{path} (from {spec_file})")
            found.append(Drift(path, spec_file, _reason(current, fresh), "".join(diff)))
    return found


class NotWrittenByGenCi(Exception):
    """An output path holds a file gen-ci did not write: replacing it would lose someone's work."""

    def __init__(self, paths: list[Path]):
        self.paths = paths
        listed = ", ".join(str(path) for path in paths)
        super().__init__(
            f"{listed} {'holds' if len(paths) == 1 else 'hold'} no gen-ci header, so gen-ci did not write "
            f"{'it' if len(paths) == 1 else 'them'}; move {'it' if len(paths) == 1 else 'them'} away, point targets elsewhere, "
            "or run again with --force, which keeps each as <file>.bak"
        )


def written_by_gen_ci(text: str) -> bool:
    return text.startswith(("# Generated by gen-ci", "// Generated by gen-ci"))


def undone(path: Path, current: str, fresh: str) -> list[str]:
    """What replacing current with fresh takes back, line by line, for the user to read."""
    _, body = split(current)
    bumps = _pin_bumps(body, split(fresh)[1])
    if bumps:
        return [f"{path}: reverted the pin bump {bump}; run `gen-ci pins adopt` to keep it instead" for bump in bumps]
    if intact(current):
        return []  # gen-ci's own earlier output: the spec or gen-ci changed, not a person
    notes = []
    matcher = difflib.SequenceMatcher(a=current.splitlines(), b=fresh.splitlines(), autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        old = " / ".join(matcher.a[old_start:old_end]).strip() or "(nothing)"
        new = " / ".join(matcher.b[new_start:new_end]).strip() or "(nothing)"
        notes.append(f"{path}:{old_start + 1}: undid a hand edit: {old[:200]!r} -> {new[:200]!r}")
    return notes


def sync(spec_file: Path, force: bool = False, report=lambda line: None) -> list[Path]:
    """Write every output of the spec that differs; returns what was written. Renders all and
    checks every path before writing any; says (report) every hand edit and pin bump it undoes."""
    rendered = [(output_path(spec_file, declared), text) for _, declared, text in _rendered(spec_file)]
    current: dict[Path, str | None] = {}
    for path, _ in rendered:
        try:
            current[path] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current[path] = None
        except UnicodeDecodeError:
            current[path] = "\0"  # not text: certainly not gen-ci's
    foreign = [path for path, text in current.items() if text is not None and not written_by_gen_ci(text)]
    if foreign and not force:
        raise NotWrittenByGenCi(foreign)
    written = []
    for path, text in rendered:
        before = current[path]
        if before == text:
            continue
        if path in foreign:
            path.with_name(path.name + ".bak").write_bytes(path.read_bytes())
            report(f"{path}: kept the file gen-ci did not write as {path.name}.bak")
        elif before is not None:
            for line in undone(path, before, text):
                report(line)
        write_atomic(path, text)
        written.append(path)
    return written


@dataclass
class Adopted:
    actions: dict[str, dict[str, str]] = field(default_factory=dict)
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # image bumps not adopted, each with why


def _rendered_tools(spec_file: Path, images: dict[str, dict[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """(reference -> tool name for the tool images the project's overrides or gen-ci's pins give,
    reference -> tool name for those the spec's tool_images gives)."""
    from generator.loading import load_spec

    data = load_spec(spec_file).data
    chosen = data.get("tool_images") if isinstance(data.get("tool_images"), dict) else {}
    with pins.images_in_use(None, images):
        adoptable = {pins.image(name): name for name in pins.pins()["images"] if name not in chosen}
    spec_own = {pins.spelled(pin): name for name, pin in pins.spec_images(chosen).items()}
    return adoptable, spec_own


def adopt(spec_file: Path) -> Adopted:
    """Take SHA-pinned `uses:` bumps and tool image bumps (`image:tag@sha256:...`) found in the
    spec's outputs into the project's pin overrides (.gen-ci/pins.json)."""

    overrides_file = overrides_path(spec_file)
    overrides, images = pins.read_all_overrides(overrides_file)
    result = Adopted()
    rendered = _rendered(spec_file)
    adoptable, spec_own = _rendered_tools(spec_file, images)
    candidates: dict[str, dict[str, dict[str, str]]] = {}
    for _, declared, fresh in rendered:
        path = output_path(spec_file, declared)
        try:
            _, body = split(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        expected = {name: (sha, version) for name, sha, version in pins.uses_lines(split(fresh)[1]).values()}
        for name, sha, version in pins.uses_lines(body).values():
            if name in expected and expected[name] != (sha, version):
                result.actions[name] = {"version": version, "sha": sha}
        matcher = difflib.SequenceMatcher(a=body.splitlines(), b=split(fresh)[1].splitlines(), autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag != "replace" or a1 - a0 != b1 - b0:
                continue
            for old_line, new_line in zip(matcher.a[a0:a1], matcher.b[b0:b1]):
                for old, new in _reference_bumps(old_line, new_line) or []:
                    found = _image_bump(result, declared, old, new, adoptable, spec_own)
                    if found:
                        candidates.setdefault(found[0], {})[pins.spelled(found[1])] = found[1]
    for name, found in candidates.items():
        if len(found) > 1:
            result.refused.append(f"{name} was bumped to {len(found)} different pins ({', '.join(sorted(found))}); keep one in the outputs and adopt again")
        else:
            result.images[name] = next(iter(found.values()))
    result.refused = list(dict.fromkeys(result.refused))  # one line for a reference written several times
    if result.actions or result.images:
        document = {
            "comment": "Pin overrides adopted by `gen-ci pins adopt`; they win over gen-ci's own pins.",
            "actions": dict(sorted({**overrides, **result.actions}.items())),
        }
        if images or result.images:
            document["images"] = dict(sorted({**images, **result.images}.items()))
        write_atomic(overrides_file, json.dumps(document, indent=2) + "\n")
    return result


def _image_bump(result: Adopted, declared: str, old: re.Match, new: re.Match, adoptable: dict[str, str], spec_own: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """(tool name, its new pin) for a bumped reference of a tool image gen-ci or the overrides pin;
    else None, with why in result.refused."""
    bumped = f"{declared}: {old['image']} {new['tag']} -> {old['tag']}"
    if new[0] in spec_own:
        result.refused.append(f"{bumped}: the spec's tool_images.{spec_own[new[0]]} pins it; change it there")
        return None
    name = adoptable.get(new[0])
    if name is None:
        result.refused.append(f"{bumped}: not a tool image gen-ci or .gen-ci/pins.json pins: the spec names it (an image of its own, docker.version with its digests, scan.digest or dockerfile_check.digest); change it there")
        return None
    if name in pins.ENGINE_IMAGES and old["tag"] != new["tag"]:
        result.refused.append(f"{bumped}: Docker's tag follows docker.version; write docker.version with docker.dind_digest and docker.cli_digest in the spec")
        return None
    return name, {"image": old["image"], "tag": old["tag"], "digest": old["digest"], "source": f"adopted from {declared} by gen-ci pins adopt"}


def adopt_pins(spec_file: Path) -> dict[str, dict[str, str]]:
    """The action pins adopt() took (kept for callers that know actions only)."""
    return adopt(spec_file).actions
