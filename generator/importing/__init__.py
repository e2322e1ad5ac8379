"""gen-ci import: read an existing pipeline back into a spec.

Each platform's reader (github.py, gitlab.py, jenkins.py) turns one or more CI files into an
`Imported`: the spec as plain data, and notes for the report on standard error. Readers never
guess silently: an unsure value gets the safe choice and a note of kind "assumed"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The commit every imported run is read at, so both sides of --compare name the same sha tags.
EXAMPLE_SHA = "0123456789abcdef0123456789abcdef01234567"

NoteKind = Literal["not-carried", "assumed", "added"]


class ImportInputError(ValueError):
    """A file import cannot read at all; the message starts with FILE:LINE:COL and says what was expected."""


@dataclass(frozen=True)
class Note:
    kind: NoteKind  # not carried over / a safe choice made for the user / something gen-ci adds on purpose
    file: str
    line: int  # 0 when it belongs to no line (what gen-ci adds)
    message: str  # what happened
    advice: str = ""  # what the user may do about it


@dataclass
class Imported:
    spec: dict[str, Any]  # a spec as the user would write it; must validate with `gen-ci check`
    notes: list[Note] = field(default_factory=list)
    # What the original publishes per event, read statically from its own conditions and tags,
    # for --compare: {"push:main": ["ghcr.io/acme/app:main", ...]}; an event missing = unread.
    original_publishes: dict[str, list[str]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # event -> why its side cannot be read statically
