"""What a full `check` or `sync` proved, remembered for the hook: these exact outputs are what
this gen-ci renders from this exact spec and pin file.

The record lives in the repository's own git directory (never committed, never shared) and is
keyed on everything a render reads: gen-ci's version, the spec's path and bytes, the pin file's
bytes. A later run with the same key and outputs of the same bytes has the same answer as a full
render, so the hook may give it without YAML, Jinja or JSON Schema. Nothing in an output's
header is trusted: a forged fingerprint is just bytes that no record names. Standard library
only: the hook imports this on every commit.
"""

from __future__ import annotations

import os

from generator import __version__
from generator.fingerprint import digest

RECORD = "gen-ci-in-sync"


def record_file(root: str) -> str | None:
    git = os.path.join(root, ".git")
    return os.path.join(git, RECORD) if os.path.isdir(git) else None


def spec_key(spec: str, raw: bytes, overrides: bytes) -> str:
    return digest(__version__.encode(), spec.encode(), raw, overrides)


def _entries(root: str) -> dict[str, list[str]]:
    path = record_file(root)
    try:
        with open(path, encoding="utf-8") as file:  # type: ignore[arg-type]
            return {fields[0]: fields for fields in (line.rstrip("\n").split("\t") for line in file) if len(fields) >= 2}
    except (OSError, TypeError, UnicodeDecodeError):
        return {}


def recalled(root: str, spec: str, key: str) -> dict[str, str] | None:
    """declared output -> digest of its bytes, as proved for this key; None when nothing was."""
    fields = _entries(root).get(spec)
    if not fields or fields[1] != key:
        return None
    outputs = {}
    for field in fields[2:]:
        declared, _, value = field.rpartition("=")
        outputs[declared] = value
    return outputs


def remember(root: str, spec: str, key: str, outputs: dict[str, bytes]) -> None:
    """Record a proof; a repository without its own git directory simply gets no fast path."""
    path = record_file(root)
    if path is None or any(c in text for text in (spec, *outputs) for c in "\t\n="):
        return
    entries = _entries(root)
    entries[spec] = [spec, key, *(f"{declared}={digest(data)}" for declared, data in sorted(outputs.items()))]
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.writelines("\t".join(fields) + "\n" for fields in entries.values())
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass

