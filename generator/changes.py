"""Change filters: which images a pull request or a branch push touched.

A path means the same on both platforms: `*` matches within one path segment, `**` across
segments, and a path with no wildcard matches itself and everything below it. Tags, schedules,
releases and manual runs build every image.
"""

from __future__ import annotations

import shlex
from typing import Any

from generator.refs import glob_regex


def repository_path(path: str) -> str:
    """A path as every platform compares it with changed files, which git names from the
    repository root with single slashes: `./a`, `a/`, `a//b` and `a/./b` are written `a`, `a`,
    `a/b`, `a/b`, and `.` (the whole repository) `**`. The schema has made the path safe first."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return "/".join(parts) or "**"


def path_regex(path: str) -> str:
    """An ERE for one path (the schema allows only [A-Za-z0-9._/*-] in it): ref globs as
    refs.glob_regex reads them, where `**/` may also match no directory at all."""
    body = "(.*/)?".join(glob_regex(part) for part in path.split("**/"))
    return body if "*" in path else f"{body}(/.*)?"


def any_path_regex(paths: list[str]) -> str:
    return "^(" + "|".join(path_regex(path) for path in paths) + ")$"


def gitlab_paths(paths: list[str]) -> list[str]:
    """The same paths as GitLab's rules:changes reads them (Ruby fnmatch: ** needs a /* after it)."""
    out = []
    for path in paths:
        if "*" not in path:
            out += [path, f"{path}/**/*"]
        elif path.endswith("**"):
            out.append(f"{path}/*")
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def github_script(images: list[dict[str, Any]], shared: list[str]) -> str:
    """bash for the changes job: one output per image with paths, true when it must build.

    Reads BASE (the pull request's base commit) and BEFORE (the push's previous commit) from the
    environment, as data.
    """
    lines = [
        "# What this event changed: a pull request against its base, a branch push against the commit",
        "# before it. Tags, schedules, releases, manual runs and new branches build every image.",
        "everything=false",
        'case "$GITHUB_EVENT_NAME" in',
        '  pull_request) base=$BASE ;;',
        '  push) base=$BEFORE ;;',
        '  *) everything=true ;;',
        "esac",
        'if [ "$GITHUB_REF_TYPE" = tag ] || [ -z "${base:-}" ] || [ "$base" = 0000000000000000000000000000000000000000 ]; then',
        "  everything=true",
        "fi",
        'changed="$RUNNER_TEMP/gen-ci-changed"',
        ': > "$changed"',
        'if [ "$everything" = false ] && ! git diff --name-only "$base" "$GITHUB_SHA" > "$changed"; then',
        '  echo "::warning::cannot compare with $base, so every image builds"',
        "  everything=true",
        "fi",
        'echo "Changed files:"',
        'cat "$changed"',
        "decide() {",
        "  # output name, ERE of its paths",
        '  if [ "$everything" = true ] || grep -Eq "$2" "$changed"; then',
        '    echo "$1=true" >> "$GITHUB_OUTPUT"',
        '    echo "$1 builds"',
        "  else",
        '    echo "$1=false" >> "$GITHUB_OUTPUT"',
        '    echo "$1 is unchanged and skipped"',
        "  fi",
        "}",
    ]
    for image in images:
        if image["paths"]:
            lines.append(f"decide {shlex.quote(image['id'])} {shlex.quote(any_path_regex(image['paths'] + shared))}")
    return "\n".join(lines)
