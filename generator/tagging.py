"""The tag rules of an image, compiled into a POSIX shell script the publish job runs.

The script reads the event and ref only from four environment variables, as data:
GEN_CI_EVENT (push, schedule, release or manual: the spec's word for the run, see
generator.plan), GEN_CI_REF_TYPE (branch or tag), GEN_CI_REF_NAME and GEN_CI_SHA. It prints one
tag per line, each at most once. Spec values (fixed names, patterns, prefix and suffix) enter it
only as shell-quoted words.

`tags_for` is the same rules read in Python: `gen-ci plan` answers with it, and the test suite
runs every script against it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from generator.refs import glob_regex

KEYWORDS = ("ref", "sha", "semver", "latest")
MAX_TAG = 128
SHA_LENGTH = 12

_SEMVER = r"^v?((0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?)$"
_STABLE = r"^v?((0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))$"


@dataclass(frozen=True)
class TagRule:
    tag: str  # a keyword or a fixed tag name
    events: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def rules_from_spec(items: list) -> list[TagRule]:
    rules = []
    for item in items:
        if isinstance(item, str):
            rules.append(TagRule(item))
        else:
            rules.append(TagRule(item["tag"], tuple(item.get("events", ())), tuple(item.get("branches", ())), tuple(item.get("tags", ()))))
    return rules


def _q(word: str) -> str:
    return shlex.quote(word)


def _case(variable: str, words: tuple[str, ...]) -> str:
    return f'case "${variable}" in {" | ".join(map(_q, words))}) true ;; *) false ;; esac'


def _matches(variable: str, globs: tuple[str, ...]) -> str:
    """The ref against globs read as GitHub's filters (as everywhere in gen-ci), by an anchored ERE."""
    regex = "^(" + "|".join(glob_regex(glob) for glob in globs) + ")$"
    return f"printf '%s\\n' \"${variable}\" | grep -Eq {_q(regex)}"


def _condition(rule: TagRule) -> str:
    parts = []
    if rule.events:
        parts.append(_case("GEN_CI_EVENT", rule.events))
    refs = []
    if rule.branches:
        refs.append(f'{{ [ "$GEN_CI_REF_TYPE" = branch ] && {_matches("GEN_CI_REF_NAME", rule.branches)}; }}')
    if rule.tags:
        refs.append(f'{{ [ "$GEN_CI_REF_TYPE" = tag ] && {_matches("GEN_CI_REF_NAME", rule.tags)}; }}')
    if refs:
        parts.append(refs[0] if len(refs) == 1 else "{ " + " || ".join(refs) + "; }")
    if rule.tag == "semver":
        parts.append('[ -n "$version" ]')
    if rule.tag == "latest" and rule.branches:
        # Named branches get latest as it is; a tag still only when it is the newest stable version.
        parts.append('{ [ "$GEN_CI_REF_TYPE" = branch ] || { [ -n "$stable" ] && [ "$(newest_stable)" = "$stable" ]; }; }')
    elif rule.tag == "latest":
        parts.append('[ -n "$stable" ] && [ "$(newest_stable)" = "$stable" ]')
    return " && ".join(parts) or "true"


def _emit(rule: TagRule) -> list[str]:
    if rule.tag == "ref":
        return ['tag "$ref"']
    if rule.tag == "sha":
        return ['tag "sha-$short_sha"']
    if rule.tag == "semver":
        # 1.4 and 1 name the newest 1.4.x and 1.x: a backport such as 1.2.9 after 1.4.2 moves 1.2 only.
        return [
            'tag "$version"',
            'if [ -n "$stable" ] && [ "$(newest_stable "$major.$minor.")" = "$stable" ]; then',
            '  tag "$major.$minor"',
            "fi",
            'if [ -n "$stable" ] && [ "$(newest_stable "$major.")" = "$stable" ]; then',
            '  tag "$major"',
            "fi",
        ]
    if rule.tag == "latest":
        return ["tag latest"]
    return [f"tag {_q(rule.tag)}"]


DESCRIBED = ("version", "revision", "created", "source")


def described(images: list) -> list[str]:
    """The metadata values the images' builds read, in DESCRIBED order: their computed build args,
    and all four for OCI labels. Images are the model's, as dataclasses or as the templates' dicts."""
    used: set[str] = set()
    for image in images:
        image = image if isinstance(image, dict) else vars(image)
        used.update(image["build_args_from"].values())
        if image["labels"]:
            used.update(DESCRIBED)
    return [field for field in DESCRIBED if field in used]


def describe_script(fields: list[str] | tuple[str, ...] = DESCRIBED) -> str:
    """Shell that sets the named metadata variables (of version, revision, created, source) for
    build args and OCI labels, and no other: a variable nothing reads is a shellcheck finding.

    Reads GEN_CI_REF_TYPE, GEN_CI_REF_NAME, GEN_CI_SHA and GEN_CI_SOURCE; every value it sets is
    reduced to characters that stay inert in a CSV action input, a label and a shell word.
    version depends on the ref and commit alone, never on the checkout: git describe would give a
    tag-based name where tags were fetched (GitLab) and a bare SHA in a shallow checkout (GitHub),
    so the same commit would build with different versions per platform.
    """
    unknown = set(fields) - set(DESCRIBED)
    if unknown:
        raise ValueError(f"no such build metadata: {sorted(unknown)}")
    if not fields:
        return ""
    lines = ["# The build's metadata, from a fixed vocabulary: nothing here is spec text."]
    if "version" in fields:
        lines += [
            "# A version tag without its v (v1.4.2 -> 1.4.2), any other tag as named, any other ref its commit.",
            'if [ "$GEN_CI_REF_TYPE" = tag ]; then',
            "  version=$(printf '%s\\n' \"$GEN_CI_REF_NAME\" \\",
            "    | sed -E " + _q(f"s/{_SEMVER}/\\1/") + ")",
            "else",
            f"  version=$(printf '%.{SHA_LENGTH}s' \"$GEN_CI_SHA\")",
            "fi",
            "version=$(printf '%s' \"$version\" | tr -c 'A-Za-z0-9.+_-' '-' | cut -c 1-128)",
        ]
    if "revision" in fields:
        lines.append("revision=$GEN_CI_SHA")
    if "created" in fields:
        lines.append("created=$(TZ=UTC0 git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd)")
    if "source" in fields:
        lines.append("source=$GEN_CI_SOURCE")
    return "\n".join(lines) + "\n"


def _printf(words: list[str]) -> str:
    return f"printf '{'%s' * len(words)}\\n' {' '.join(words)}"


def tag_script(rules: list[TagRule], prefix: str = "", suffix: str = "", also_unsuffixed: bool = False) -> str:
    """The shell text that prints this image's tags (prefix and suffix included) for the current ref.

    also_unsuffixed: the default variant also gets every tag without its suffix.
    """
    room = MAX_TAG - len(prefix) - len(suffix)
    words = [*([_q(prefix)] if prefix else []), '"$1"']
    emit = [_printf([*words, _q(suffix)]) if suffix else _printf(words)]
    if suffix and also_unsuffixed:
        emit.append(_printf(words))
    conditions = [_condition(rule) for rule in rules]
    used = {rule.tag for rule in rules}
    lines = ["# Tags for this ref: the ref is data, parsed here and never evaluated."]
    lines.append(f"tag() {{ {'; '.join(emit)}; }}")
    if used & {"semver", "latest"}:
        # The newest stable version among the repository's tags that start with $1 (all with "").
        lines += [
            "newest_stable() {",
            "  git tag --list \\",
            "    | sed -n -E " + _q(f"s/{_STABLE}/\\1/p") + " \\",
            "    | awk -v prefix=\"${1:-}\" 'substr($0, 1, length(prefix)) == prefix' \\",
            "    | sort -t . -k 1,1n -k 2,2n -k 3,3n | tail -n 1",
            "}",
        ]
    if "ref" in used:
        # A Docker tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: anything else in the ref becomes -.
        lines += [
            f"ref=$(printf '%s' \"$GEN_CI_REF_NAME\" | tr -c 'A-Za-z0-9_.-' '-' | cut -c 1-{room})",
            'case "$ref" in [.-]*) ref="_${ref#?}" ;; esac',
        ]
    if "sha" in used:
        lines.append(f"short_sha=$(printf '%.{SHA_LENGTH}s' \"$GEN_CI_SHA\")")
    if used & {"semver", "latest"}:
        lines += [
            'version=""',
            'if [ "$GEN_CI_REF_TYPE" = tag ]; then',
            "  version=$(printf '%s\\n' \"$GEN_CI_REF_NAME\" \\",
            "    | sed -n -E " + _q(f"s/{_SEMVER}/\\1/p") + ")",
            "fi",
            'case "$version" in *-*) stable="" ;; *) stable=$version ;; esac',
        ]
    if "semver" in used:
        lines += ["major=${stable%%.*}", "minor=${stable#*.}", "minor=${minor%%.*}"]
    lines.append("{")
    for rule, condition in zip(rules, conditions):
        if condition == "true":
            lines += [f"  {line}" for line in _emit(rule)]
            continue
        lines.append(f"  if {condition}; then")
        lines += [f"    {line}" for line in _emit(rule)]
        lines.append("  fi")
    lines.append("} | awk '!seen[$0]++'")
    return "\n".join(lines) + "\n"


def _ref_tag(ref_name: str, room: int) -> str:
    """The ref as the script makes it a tag: byte by byte, as tr and cut read it."""
    allowed = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
    tag = "".join(chr(byte) if byte in allowed else "-" for byte in ref_name.encode())[:room]
    return "_" + tag[1:] if tag[:1] in (".", "-") else tag


def _semver(ref_name: str) -> str:
    match = re.fullmatch(_SEMVER, ref_name)
    return match[1] if match else ""


def _newest_stable(versions: list[str], prefix: str = "") -> str:
    stable = [v for v in versions if v.startswith(prefix)]
    return max(stable, key=lambda v: tuple(int(part) for part in v.split(".")), default="")


def tags_for(
    rules: list[TagRule], event: str, ref_type: str, ref_name: str, sha: str, released: list[str],
    prefix: str = "", suffix: str = "", also_unsuffixed: bool = False,
) -> list[str]:
    """What tag_script prints for this run; released: the repository's git tags at the time."""
    room = MAX_TAG - len(prefix) - len(suffix)
    version = _semver(ref_name) if ref_type == "tag" else ""
    stable = "" if "-" in version else version
    known = [match[1] for match in (re.fullmatch(_STABLE, tag) for tag in released) if match]

    def newest_is_this(series: str = "") -> bool:
        return bool(stable) and _newest_stable(known, series) == stable

    def matches(globs: tuple[str, ...]) -> bool:
        return re.fullmatch("(" + "|".join(glob_regex(glob) for glob in globs) + ")", ref_name) is not None

    out: list[str] = []
    for rule in rules:
        if rule.events and event not in rule.events:
            continue
        if rule.branches or rule.tags:
            if not (ref_type == "branch" and rule.branches and matches(rule.branches) or ref_type == "tag" and rule.tags and matches(rule.tags)):
                continue
        if rule.tag == "ref":
            out.append(_ref_tag(ref_name, room))
        elif rule.tag == "sha":
            out.append(f"sha-{sha[:SHA_LENGTH]}")
        elif rule.tag == "semver":
            if not version:
                continue
            out.append(version)
            major, minor = stable.split(".")[:2] if stable else ("", "")
            if newest_is_this(f"{major}.{minor}."):
                out.append(f"{major}.{minor}")
            if newest_is_this(f"{major}."):
                out.append(major)
        elif rule.tag == "latest":
            if rule.branches and ref_type == "branch" or newest_is_this():
                out.append("latest")
        else:
            out.append(rule.tag)
    tags = []
    for tag in out:
        tags.append(prefix + tag + suffix)
        if suffix and also_unsuffixed:
            tags.append(prefix + tag)
    return list(dict.fromkeys(tags))
