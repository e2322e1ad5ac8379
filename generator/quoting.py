"""How spec values are written into YAML, comments and action inputs so that they stay data."""

from __future__ import annotations

import re
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


def csv_field(value: str) -> str:
    """One CSV field: build-push-action reads list inputs as CSV, so quotes and commas survive only quoted."""
    return '"' + value.replace('"', '""') + '"'
