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

# What a tag can be made of: {name} in a tag rule reads one of these, and nothing else.
PLACEHOLDERS = ("ref", "version", "major", "minor", "patch", "prerelease", "sha7", "sha8", "sha12", "sha40", "date")
VERSION_PARTS = ("version", "major", "minor", "patch", "prerelease")
_PLACEHOLDER = re.compile(r"\{([a-z0-9]+)\}")
# The semver keyword, in the vocabulary: the version, and its line's moving tags.
SEMVER_TEMPLATES = ("{version}", "{major}.{minor}", "{major}")


@dataclass(frozen=True)
class Scheme:
    """What counts as a version: an ERE over the whole name (an optional v first), and which of
    its groups hold the version (without the v), major, minor, patch and pre-release."""

    regex: str
    groups: dict[str, int]


SCHEMES = {
    "semver": Scheme(r"^v?((0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-([0-9A-Za-z.-]+))?)$",
                     {"version": 1, "major": 2, "minor": 3, "patch": 4, "prerelease": 6}),
    # CalVer as YYYY.0M with an optional micro: 2026.07.2, 2026.07.
    "calver": Scheme(r"^v?(([0-9]{4})\.(0[1-9]|1[0-2])(\.(0|[1-9][0-9]*))?(-([0-9A-Za-z.-]+))?)$",
                     {"version": 1, "major": 2, "minor": 3, "patch": 5, "prerelease": 7}),
    "two-part": Scheme(r"^v?((0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-([0-9A-Za-z.-]+))?)$",
                       {"version": 1, "major": 2, "minor": 3, "prerelease": 5}),
}


@dataclass(frozen=True)
class Versioning:
    """Where a run's version comes from: its git tag (tag runs only), or a file in the checkout
    (every run); and which scheme says what a version is."""

    scheme: str = "semver"
    source: str = "tag"
    file: str = ""  # from the checkout's root, with source "file"


@dataclass(frozen=True)
class TagRule:
    tag: str  # a keyword, a fixed tag name, or a template of fixed text and {placeholders}
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


def placeholders(tag: str) -> list[str]:
    """The {names} a tag rule reads, in order; a keyword reads its own."""
    if tag == "ref":
        return ["ref"]
    if tag == "sha":
        return ["sha12"]
    return _PLACEHOLDER.findall(tag)


def templates(rule: TagRule) -> tuple[str, ...]:
    """The rule as templates of the vocabulary (latest aside: it is a decision, not a value)."""
    if rule.tag == "ref":
        return ("{ref}",)
    if rule.tag == "sha":
        return ("sha-{sha12}",)
    if rule.tag == "semver":
        return SEMVER_TEMPLATES
    return (rule.tag,)


def moving_line(template: str) -> tuple[str, ...] | None:
    """The version parts that name a moving tag's line (("major",) for {major}, ("major", "minor")
    for {major}.{minor}); None for a tag that names one version, or none."""
    used = set(placeholders(template)) & set(VERSION_PARTS)
    if not used or used & {"version", "patch", "prerelease"}:
        return None
    return ("major", "minor") if "minor" in used else ("major",)


def versioned(rule: TagRule) -> bool:
    """Whether a rule publishes only on runs that have a version."""
    if rule.tag == "latest":
        return not rule.branches
    return any(set(placeholders(t)) & set(VERSION_PARTS) for t in templates(rule))


def reads_released(rules: list[TagRule]) -> bool:
    """Whether the tags depend on the versions released before (moving tags and latest)."""
    return any(rule.tag == "latest" or any(moving_line(t) for t in templates(rule)) for rule in rules)


def _q(word: str) -> str:
    return shlex.quote(word)


def _case(variable: str, words: tuple[str, ...]) -> str:
    return f'case "${variable}" in {" | ".join(map(_q, words))}) true ;; *) false ;; esac'


def _matches(variable: str, globs: tuple[str, ...]) -> str:
    """The ref against globs read as GitHub's filters (as everywhere in gen-ci), by an anchored ERE."""
    regex = "^(" + "|".join(glob_regex(glob) for glob in globs) + ")$"
    return f"printf '%s\\n' \"${variable}\" | grep -Eq {_q(regex)}"


def _condition(rule: TagRule) -> list[str]:
    """The shell tests that narrow a rule to its events and refs."""
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
    return parts


def _shell_word(template: str) -> str:
    """A template as one double-quoted shell word: fixed text is [A-Za-z0-9_.-] (the schema's), and
    each placeholder a variable the script set from the vocabulary."""
    return '"' + _PLACEHOLDER.sub(lambda m: "${" + m[1] + "}", template) + '"'


def _newest_test(line: tuple[str, ...]) -> str:
    prefix = "".join(f"${part}." for part in line)
    return f'[ -n "$stable" ] && [ "$(newest_stable "{prefix}")" = "$stable" ]'


def _emit(rule: TagRule) -> list[str]:
    """The lines that publish a rule's tags once its events and refs matched."""
    if rule.tag == "latest":
        newest = _newest_test(())
        if rule.branches:
            # Named branches get latest as it is; a tag still only when it is the newest stable version.
            return [f'if [ "$GEN_CI_REF_TYPE" = branch ] || {{ {newest}; }}; then', "  tag latest", "fi"]
        return [f"if {newest}; then", "  tag latest", "fi"]
    lines = []
    for template in templates(rule):
        needed = [f'[ -n "${name}" ]' for name in dict.fromkeys(placeholders(template)) if name in VERSION_PARTS and name != "version"]
        if "version" in placeholders(template):
            needed.insert(0, '[ -n "$version" ]')
        line = moving_line(template)
        if line is not None:
            needed = [_newest_test(line)]
        if needed:
            lines += [f"if {' && '.join(needed)}; then", f"  tag {_shell_word(template)}", "fi"]
        else:
            lines.append(f"tag {_shell_word(template)}")
    return lines


DESCRIBED = ("version", "revision", "created", "source", "prepare")
LABELLED = DESCRIBED[:4]  # what OCI labels read; prepare is a build arg's alone


def described(images: list) -> list[str]:
    """The metadata values the images' builds read, in DESCRIBED order: their computed build args,
    and all four for OCI labels. Images are the model's, as dataclasses or as the templates' dicts."""
    used: set[str] = set()
    for image in images:
        image = image if isinstance(image, dict) else vars(image)
        used.update(image["build_args_from"].values())
        if image["labels"]:
            used.update(LABELLED)
    return [field for field in DESCRIBED if field in used]


def describe_script(fields: list[str] | tuple[str, ...] = LABELLED) -> str:
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
            "    | sed -E " + _q("s/" + SCHEMES["semver"].regex + "/\\1/") + ")",
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
    if "prepare" in fields:
        lines += [
            "# The version the prepare step wrote: used only as one word of letters, digits and . + _ -.",
            "# Its text is never printed, so a file cannot pass commands to the CI log.",
            "prepare=$(sed -n 1p \"$GEN_CI_PREPARED_FILE\" 2>/dev/null | tr -d '\\r')",
            'case "$prepare" in',
            '  "" | *[!A-Za-z0-9.+_-]*)',
            '    echo "the first line of $GEN_CI_PREPARED_FILE is not a version (one word of letters, digits, . + _ -)" >&2',
            "    exit 1",
            "    ;;",
            "esac",
            'if [ "${#prepare}" -gt 128 ]; then',
            '  echo "the version in $GEN_CI_PREPARED_FILE is longer than 128 characters" >&2',
            "  exit 1",
            "fi",
        ]
    return "\n".join(lines) + "\n"


def _printf(words: list[str]) -> str:
    return f"printf '{'%s' * len(words)}\\n' {' '.join(words)}"


PACKAGE_JSON_VERSION = r's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"([^"]*)".*/\1/p'
TOML_VERSION = r's/^version[[:space:]]*=[[:space:]]*"([^"]*)".*/\1/p'
TOML_SECTIONS = {"pyproject.toml": r"/^\[(project|tool\.poetry)\]/,/^\[/", "Cargo.toml": r"/^\[package\]/,/^\[/"}


def _file_reader(path: str) -> str:
    """Shell printing the version a file in the checkout declares: the first line of a plain file,
    the first "version" of package.json, [project] or [tool.poetry] version of pyproject.toml,
    [package] version of Cargo.toml. sed, as every job image has it: no JSON or TOML parser needed."""
    name = path.rsplit("/", 1)[-1]
    if name == "package.json":
        program = PACKAGE_JSON_VERSION
    elif name in TOML_SECTIONS:
        program = f"{TOML_SECTIONS[name]} {TOML_VERSION}"
    else:
        return f"sed -n 1p {_q(path)} | tr -d '\\r'"
    return f"sed -n -E {_q(program)} {_q(path)} | head -n 1 | tr -d '\\r'"


def file_version(text: str, name: str) -> str:
    """What _file_reader prints for a file's text: the same reading, in Python, for `gen-ci plan`."""
    lines = text.split("\n")
    if name == "package.json":
        found = [m[1] for line in lines if (m := re.match(r'^\s*"version"\s*:\s*"([^"]*)"', line))]
    elif name in TOML_SECTIONS:
        header = r"^\[(project|tool\.poetry)\]" if name == "pyproject.toml" else r"^\[package\]"
        found, inside = [], False
        for line in lines:
            if re.match(header, line):
                inside = True
            elif line.startswith("["):
                inside = False
            elif inside and (m := re.match(r'^version\s*=\s*"([^"]*)"', line)):
                found.append(m[1])
    else:
        found = lines[:1]
    return found[0].replace("\r", "") if found else ""


def _version_lines(versioning: Versioning, needed: set[str]) -> list[str]:
    """Shell setting the version parts the rules read, from the tag or the file, per the scheme."""
    scheme = SCHEMES[versioning.scheme]
    if versioning.source == "file":
        lines = [
            f"if [ ! -f {_q(versioning.file)} ]; then",
            f"  echo {_q(f'the version file {versioning.file} is not in the checkout')} >&2",
            "  exit 1",
            "fi",
            f"raw_version=$({_file_reader(versioning.file)})",
        ]
    else:
        lines = ['raw_version=""', 'if [ "$GEN_CI_REF_TYPE" = tag ]; then raw_version=$GEN_CI_REF_NAME; fi']
    for part in VERSION_PARTS:
        if part in needed:
            lines.append(f'{part}=""')
    lines.append(f"scheme={_q(scheme.regex)}  # a {versioning.scheme} version")
    lines.append("if printf '%s\\n' \"$raw_version\" | grep -Eq \"$scheme\"; then")
    for part in VERSION_PARTS:
        if part in needed and part in scheme.groups:
            lines.append(f"  {part}=$(printf '%s\\n' \"$raw_version\" | sed -E \"s/$scheme/\\{scheme.groups[part]}/\")")
    if versioning.source == "file":
        lines += ["elif [ -n \"$raw_version\" ]; then",
                  f"  echo {_q(f'{versioning.file} declares a version that is not {versioning.scheme}: ')}\"$raw_version\" >&2",
                  "  exit 1"]
    lines.append("fi")
    if "stable" in needed:
        lines.append('stable=$version; [ -z "$prerelease" ] || stable=""')
    return lines


def tag_script(rules: list[TagRule], prefix: str = "", suffix: str = "", also_unsuffixed: bool = False,
               versioning: Versioning = Versioning()) -> str:
    """The shell text that prints this image's tags (prefix and suffix included) for the current ref.

    also_unsuffixed: the default variant also gets every tag without its suffix.
    """
    room = MAX_TAG - len(prefix) - len(suffix)
    words = [*([_q(prefix)] if prefix else []), '"$t"']
    emit = [_printf([*words, _q(suffix)]) if suffix else _printf(words)]
    if suffix and also_unsuffixed:
        emit.append(_printf(words))
    used = {name for rule in rules for template in templates(rule) for name in placeholders(template)}
    released = reads_released(rules)
    needed = used & set(VERSION_PARTS)
    if released:
        lines_read = {part for rule in rules for t in templates(rule) for part in (moving_line(t) or ())}
        needed |= {"version", "prerelease", "stable", *lines_read}
    lines = ["# Tags for this ref: the ref is data, parsed here and never evaluated."]
    # Every tag fits Docker's 128 characters with the prefix and suffix.
    lines.append(f"tag() {{ t=$(printf '%s' \"$1\" | cut -c 1-{room}); {'; '.join(emit)}; }}")
    if released:
        scheme = SCHEMES[versioning.scheme]
        stable = scheme.regex.replace("(-([0-9A-Za-z.-]+))?", "")
        # The newest stable version starting with $1 (all with "") among the repository's tags and
        # this run's own version (which a version file gives without a tag).
        lines += [
            "newest_stable() {",
            "  { git tag --list; printf '%s\\n' \"$stable\"; } \\",
            "    | sed -n -E " + _q("s/" + stable + "/\\1/p") + " \\",
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
    for length in (7, 8, 12, 40):
        if f"sha{length}" in used:
            lines.append(f"sha{length}=$(printf '%.{length}s' \"$GEN_CI_SHA\")")
    if "date" in used:
        lines.append("date=$(date -u +%Y%m%d)")
    if needed:
        lines += _version_lines(versioning, needed)
    lines.append("{")
    for rule in rules:
        condition = _condition(rule)
        body = _emit(rule)
        if not condition:
            lines += [f"  {line}" for line in body]
            continue
        lines.append(f"  if {' && '.join(condition)}; then")
        lines += [f"    {line}" for line in body]
        lines.append("  fi")
    lines.append("} | awk '!seen[$0]++'")
    return "\n".join(lines) + "\n"


def _ref_tag(ref_name: str, room: int) -> str:
    """The ref as the script makes it a tag: byte by byte, as tr and cut read it."""
    allowed = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
    tag = "".join(chr(byte) if byte in allowed else "-" for byte in ref_name.encode())[:room]
    return "_" + tag[1:] if tag[:1] in (".", "-") else tag


def parse_version(raw: str, scheme: str) -> dict[str, str]:
    """The version parts of a name under a scheme, each "" when absent; all "" for a name that is no version."""
    spec = SCHEMES[scheme]
    match = re.fullmatch(spec.regex.strip("^$"), raw)
    return {part: (match[spec.groups[part]] or "") if match and part in spec.groups else "" for part in VERSION_PARTS}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def tags_for(
    rules: list[TagRule], event: str, ref_type: str, ref_name: str, sha: str, released: list[str],
    prefix: str = "", suffix: str = "", also_unsuffixed: bool = False,
    versioning: Versioning = Versioning(), file_text: str = "", date: str = "",
) -> list[str]:
    """What tag_script prints for this run; released: the repository's git tags at the time,
    file_text: the version file's text (source file), date: the run's UTC date as YYYYMMDD."""
    room = MAX_TAG - len(prefix) - len(suffix)
    raw = file_version(file_text, versioning.file.rsplit("/", 1)[-1]) if versioning.source == "file" else ref_name if ref_type == "tag" else ""
    values = parse_version(raw, versioning.scheme)
    stable = "" if values["prerelease"] else values["version"]
    known = [parse_version(tag, versioning.scheme) for tag in released]
    known_stable = [v["version"] for v in known if v["version"] and not v["prerelease"]]
    values.update(ref=_ref_tag(ref_name, room), date=date, **{f"sha{n}": sha[:n] for n in (7, 8, 12, 40)})

    def newest_is_this(line: tuple[str, ...] = ()) -> bool:
        series = "".join(f"{values[part]}." for part in line)
        return bool(stable) and max((v for v in [*known_stable, stable] if v.startswith(series)), key=_key, default="") == stable

    def matches(globs: tuple[str, ...]) -> bool:
        return re.fullmatch("(" + "|".join(glob_regex(glob) for glob in globs) + ")", ref_name) is not None

    out: list[str] = []
    for rule in rules:
        if rule.events and event not in rule.events:
            continue
        if rule.branches or rule.tags:
            if not (ref_type == "branch" and rule.branches and matches(rule.branches) or ref_type == "tag" and rule.tags and matches(rule.tags)):
                continue
        if rule.tag == "latest":
            if rule.branches and ref_type == "branch" or newest_is_this():
                out.append("latest")
            continue
        for template in templates(rule):
            names = placeholders(template)
            line = moving_line(template)
            if line is not None and not newest_is_this(line):
                continue
            if any(not values[name] for name in names if name in VERSION_PARTS):
                continue
            out.append(_PLACEHOLDER.sub(lambda m: values[m[1]], template)[:room])
    tags = []
    for tag in out:
        tags.append(prefix + tag + suffix)
        if suffix and also_unsuffixed:
            tags.append(prefix + tag)
    return list(dict.fromkeys(tags))
