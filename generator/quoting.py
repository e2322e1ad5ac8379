"""How spec values are written into YAML, comments and action inputs so that they stay data."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _yaml_printable(char: str) -> bool:
    # NEL (U+0085), LS and PS are line breaks to a YAML reader when written raw, so they are escaped.
    code = ord(char)
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ) and code not in (0x2028, 0x2029, 0xFEFF)


def yaml_quote(value: Any) -> str:
    """A YAML 1.2 double-quoted scalar that reads back as exactly `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _yaml_printable(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


_PLAIN = re.compile(r"[A-Za-z0-9_./+-]+")


def comment_text(value: object) -> str:
    """A value as it may stand in a YAML comment: plain when it is a plain word, else double-quoted with escapes.

    A comment ends at a line break, so a value holding one would write YAML of its own.
    """
    text = str(value)
    return text if _PLAIN.fullmatch(text) else yaml_quote(text)


# What JavaScript's String.prototype.trim removes: WhiteSpace (tab, VT, FF, space, U+FEFF and every
# Zs) and LineTerminator. Not U+0085, which Python's str.strip would also remove.
JS_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def trimmed_by_actions(item: str) -> bool:
    """Whether an action's list input loses part of this item: docker/build-push-action (through
    @docker/actions-toolkit's Util.getList) trims white space from both ends of every item."""
    return bool(item) and (item[0] in JS_WHITESPACE or item[-1] in JS_WHITESPACE)


# Environment variables the build step's own tools read (the runner, Node.js, the action, buildx
# and the docker CLI, Go's runtime, the shell): a build arg of such a name cannot travel as one.
TOOL_VARIABLES = frozenset({
    "PATH", "HOME", "USER", "SHELL", "PWD", "IFS", "ENV", "BASH_ENV", "TMPDIR", "TMP", "TEMP", "TZ", "LANG", "LANGUAGE",
    "CI", "SOURCE_DATE_EPOCH", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
    "GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK",
})
TOOL_PREFIXES = (
    "GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_", "STATE_", "NODE_", "NPM_", "LD_", "DYLD_", "DOCKER_", "BUILDX_",
    "BUILDKIT_", "EXPERIMENTAL_", "GIT_", "SSL_", "OTEL_", "LC_", "XDG_", "GEN_CI_",
)


def tool_variable(name: str) -> bool:
    """Whether a variable of this name (in any case: http_proxy counts) changes the build step's tools."""
    upper = name.upper()
    return upper in TOOL_VARIABLES or upper.startswith(TOOL_PREFIXES)


def csv_field(value: str) -> str:
    """One CSV field: build-push-action reads list inputs as CSV, so quotes and commas survive only quoted."""
    return '"' + value.replace('"', '""') + '"'


_RUAMEL_ESCAPES = {
    "\x00": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v", "\x0c": "f", "\r": "r", "\x1b": "e",
    '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}


def _double_quoted(text: str) -> str:
    """A double-quoted scalar exactly as the canonical emitter (ruamel, allow_unicode) writes it."""
    out = []
    for char in text:
        if char in '"\\\x85\u2028\u2029\ufeff' or not (
            "\x20" <= char <= "\x7e" or "\xa0" <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd" or "\U00010000" <= char <= "\U0010ffff"
        ):
            if char in _RUAMEL_ESCAPES:
                out.append("\\" + _RUAMEL_ESCAPES[char])
            elif char <= "\xff":
                out.append("\\x%02X" % ord(char))
            elif char <= "\uffff":
                out.append("\\u%04X" % ord(char))
            else:
                out.append("\\U%08X" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _analysis(text: str) -> Any:
    from generator.emitting import scalar_analyzer

    return scalar_analyzer()(text)


@lru_cache(maxsize=8192, typed=True)  # typed: True and 1 are different scalars. Step names, images and flags repeat across the specs of one run
def canonical_scalar(value: Any, flow: bool = False, key: bool = False) -> str:
    """A value written as the canonical emitter writes it, so a render is canonical as it stands.

    The choice is the emitter's own (its scalar analysis): plain where YAML 1.1 and 1.2 both read a
    string, else single-quoted, else double-quoted with escapes.
    """
    from generator.emitting import needs_double_quotes

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if needs_double_quotes(text):
        return _double_quoted(text)
    analysis = _analysis(text)
    if not (key and (analysis.empty or analysis.multiline)) and (analysis.allow_flow_plain if flow else analysis.allow_block_plain):
        return text
    if analysis.allow_double_quoted and ("'" in text or "\n" in text):
        return _double_quoted(text)
    if analysis.allow_single_quoted and not (key and analysis.multiline):
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


_GROOVY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\n": "\\n"}


def groovy_string(value: object, block: bool = True) -> str:
    """A Groovy string literal that reads back as exactly `value` and interpolates nothing.

    Single-quoted Groovy strings never expand `$`, so a spec value (or a script holding one)
    reaches Jenkins as data. Text with line breaks is written as a triple-quoted block that
    starts on the next line (the backslash drops the first line break), so scripts stay readable;
    block=False writes them as \\n escapes on one line instead.
    """
    text = str(value)
    multiline = block and "\n" in text
    out = []
    for index, char in enumerate(text):
        if char == "\n" and multiline:
            out.append(char)
        elif char in _GROOVY_ESCAPES:
            out.append(_GROOVY_ESCAPES[char])
        elif char == "'":
            # In a block, only a quote that could join the closing ''' needs escaping.
            closes = index + 1 == len(text) or text[index + 1] == "'"
            out.append("\\'" if not multiline or closes else "'")
        elif char.isprintable() and char not in "\u2028\u2029":
            out.append(char)
        else:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
    body = "".join(out)
    return f"'''\\\n{body}'''" if multiline else f"'{body}'"


def _utf16_units(char: str) -> list[int]:
    code = ord(char)
    if code <= 0xFFFF:
        return [code]
    code -= 0x10000
    return [0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)]
