"""What every platform's reader shares: the spec's tag vocabulary, ref globs read back from the
regexes gen-ci writes, registry names, and the notes on what gen-ci adds on purpose."""

from __future__ import annotations

import re
from typing import Any

from generator.importing import Note
from generator.tagging import SEMVER_TEMPLATES

DEFAULT_BRANCH = "main"


def vocabulary(rules: list[dict[str, Any]]) -> list[Any]:
    """Tag rules ({tag, events?, branches?, tags?}, one template each) in the spec's own words:
    {ref} is ref, sha-{sha12} is sha, and {version}, {major}.{minor}, {major} in a row under one
    condition are semver. A rule without conditions is written as its bare tag."""
    named = {"{ref}": "ref", "sha-{sha12}": "sha"}
    out: list[dict[str, Any]] = []
    index = 0
    while index < len(rules):
        rule = dict(rules[index])
        run = rules[index:index + 3]
        limits = [{k: v for k, v in r.items() if k != "tag"} for r in run]
        if [r["tag"] for r in run] == list(SEMVER_TEMPLATES) and all(limit == limits[0] for limit in limits):
            rule["tag"], index = "semver", index + 3
        else:
            rule["tag"], index = named.get(rule["tag"], rule["tag"]), index + 1
        if rule not in out:
            out.append(rule)
    return [rule["tag"] if len(rule) == 1 else rule for rule in out]


def regex_globs(regex: str) -> list[str] | None:
    """The ref globs behind an anchored regex gen-ci wrote with refs.glob_regex; None for any other regex."""
    match = re.fullmatch(r"\^(?:refs/(?:heads|tags)/)?\((.*)\)\$", regex)
    if not match:
        return None
    globs = []
    for part in match[1].split("|"):
        # The tokens glob_regex writes, longest first; anything else is not gen-ci's.
        tokens = re.findall(r"\\\.|\.\*|\[\^/\]\*|[A-Za-z0-9_/+-]|.", part)
        glob = "".join({"\\.": ".", ".*": "**", "[^/]*": "*"}.get(token, token) for token in tokens)
        if not glob or not re.fullmatch(r"[][A-Za-z0-9._/+*-]+", glob):
            return None
        globs.append(glob)
    return globs


# How CI files spell the checkout's own directory; a path under it is a path from the repository root.
_WORKSPACE = re.compile(r"^(?:\$\{\{\s*github\.workspace\s*\}\}|\$\{?(?:env\.)?(?:CI_PROJECT_DIR|WORKSPACE|GITHUB_WORKSPACE)\}?)(?:/|$)")


def from_root(path: str) -> str:
    """A Dockerfile or context path as the spec writes it: from the repository root, "." for the root itself."""
    path = _WORKSPACE.sub("", path.strip())
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/") or "."


def full_repository(name: str) -> str:
    """A repository as the spec writes it, with its registry host: Docker Hub's short names get docker.io."""
    name = name.strip().lower()
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


def image_id(repository: str, taken: set[str]) -> str:
    """An image id from a repository's last segment, made unique among the ids already taken."""
    base = re.sub(r"[^a-z0-9-]+", "-", repository.rsplit("/", 1)[-1].lower()).strip("-")
    base = (base if base[:1].isalpha() else f"image-{base}")[:36].rstrip("-") or "image"
    ident, number = base, 2
    while ident in taken:
        ident, number = f"{base}-{number}", number + 1
    taken.add(ident)
    return ident


# What the rendered pipeline does that a hand-written one often does not, each with what to look at.
ADDITIONS = {
    "scan": "a vulnerability scan gates every push (trivy, failing from HIGH)",
    "pins": "every action and tool image is pinned by commit or digest",
    "permissions": "each job gets only the permissions it uses; the workflow's default is none",
    "sign": "every pushed digest is signed keyless with cosign and verified",
    "tested": "the digest that was tested and scanned is the one pushed; nothing is rebuilt to publish",
    "pull-requests": "pull requests build, test and scan, never push, and never see registry credentials",
}


def additions(file: str, present: set[str]) -> list[Note]:
    """Notes of kind "added" for what gen-ci adds that the original lacked (present: the ADDITIONS it already had)."""
    return [Note("added", file, 0, text) for key, text in ADDITIONS.items() if key not in present]


def assume_default_branch(file: str) -> Note:
    return Note("assumed", file, 0, f"the default branch is {DEFAULT_BRANCH}: a file does not say which it is",
                f"replace {DEFAULT_BRANCH} in the spec's branches if yours is another")


def target_path(path: str, pattern: str = r"[A-Za-z0-9._/-]+\.ya?ml", fallback: str = "ci.yml") -> str:
    """A file as the spec's targets name it: from its repository's root, else by its own name;
    fallback when that is no name the spec's pattern for the target allows."""
    from pathlib import Path

    from generator.project import repository_root

    resolved = Path(path).resolve()
    try:
        relative = resolved.relative_to(repository_root(resolved.parent)).as_posix()
    except ValueError:
        relative = resolved.name
    return relative if re.fullmatch(pattern, relative) else fallback


def matches(globs: list[str], ref: str) -> bool:
    """Whether a ref matches one of the globs, read as GitHub reads ref filters (as everywhere in gen-ci)."""
    from generator.refs import glob_regex

    return any(re.fullmatch(glob_regex(glob), ref) for glob in globs)


def tokens(text: str, pattern: re.Pattern[str], unreadable: type[Exception]) -> list[tuple[str, str]]:
    """(group name, text) of each token of a condition, GitHub's `if:` or GitLab's `rules: if:`;
    `pattern` names each kind of token by its group and skips the space before it."""
    out, index = [], 0
    text = text.strip()
    while index < len(text):
        match = pattern.match(text, index)
        if not match or match.end() == index:
            raise unreadable(f"cannot read {text[index:index + 40]!r} in the expression")
        kind = match.lastgroup or ""
        out.append((kind, match[kind]))
        index = match.end()
        while index < len(text) and text[index].isspace():
            index += 1
    return out
