"""A spec's `targets` read without a YAML library, for the in-sync fast path of check and sync.

Only the plain forms are read: a block of `platform: path` lines, or one flow mapping on the
`targets:` line, with optional quotes and comments. Anything else (anchors, several documents,
a repeated key, nesting, continuation lines) answers None, and the caller reads the spec with a
full YAML parser instead. A wrong answer here could only name fewer outputs than the spec has,
so every form that could hide a target answers None.
"""

from __future__ import annotations

import re

# Every output a spec can name under targets: (platform) -> rendered by templates/<platform>/.
PLATFORMS = ("github", "gitlab", "jenkins", "jenkins_agent")

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = r"[A-Za-z0-9._/-]+"
_PAIR = re.compile(rf"""^\s*(["']?)({_KEY})\1\s*:\s*(["']?)({_PATH})\3\s*$""")
_TOP = re.compile(r"^targets\s*:(.*)$")


def _strip_comment(line: str) -> str:
    # A # after whitespace starts a comment; plain paths and keys never hold one.
    return re.split(r"\s#", line, maxsplit=1)[0].rstrip() if not line.lstrip().startswith("#") else ""


def _pair(text: str, found: dict[str, str]) -> bool:
    match = _PAIR.match(text)
    if not match or match[2] in found:
        return False
    found[match[2]] = match[4]
    return True


def plain_targets(raw: bytes) -> dict[str, str] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\t" in text or "\r" in text or re.search(r"^(---|\.\.\.|%)", text, re.MULTILINE) or re.search(r"[&*!|>]", _targets_region(text)):
        return None
    lines = text.split("\n")
    starts = [index for index, line in enumerate(lines) if _TOP.match(line)]
    if len(starts) != 1:
        return None
    found: dict[str, str] = {}
    rest = _strip_comment(_TOP.match(lines[starts[0]])[1]).strip()
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            return None
        inner = rest[1:-1].strip()
        if not inner or not all(_pair(part, found) for part in inner.split(",")):
            return None
        return found
    indent = None
    for line in lines[starts[0] + 1:]:
        content = _strip_comment(line)
        if not content.strip():
            continue
        leading = len(content) - len(content.lstrip(" "))
        if leading == 0:
            break
        if indent is None:
            indent = leading
        if leading != indent or not _pair(content, found):
            return None
    return found or None


def _targets_region(text: str) -> str:
    """From `targets:` to the next top-level key: where an anchor, alias or tag would matter."""
    match = re.search(r"^targets\s*:.*?(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(0) if match else ""
