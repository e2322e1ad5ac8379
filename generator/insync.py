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
from generator.roots import repository_root
from generator.targets import plain_targets

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


def read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def proof_key(spec: str) -> tuple[str, str, str, dict[str, str]] | None:
    """(root, the spec's path from the root, the key of what a render reads, its targets)."""
    raw = read(spec)
    targets = plain_targets(raw) if raw is not None else None
    real = os.path.realpath(spec)
    root = repository_root(os.path.dirname(real))
    relative = os.path.relpath(real, root)
    if not targets or relative.startswith(".."):
        return None
    overrides = read(os.path.join(root, ".gen-ci", "pins.json")) or b""
    return root, relative, spec_key(relative, raw, overrides), targets


def inside(root: str, declared: str) -> str | None:
    """The output's path when it is a regular file reached through no link, inside the root."""
    path = os.path.join(root, declared)
    if os.path.realpath(path) != os.path.normpath(path) or not os.path.isfile(path):
        return None
    return path


def outputs_in_sync(spec: str) -> list[str] | None:
    """The real paths of the spec's outputs when a full check or sync proved these very bytes
    for this very spec, else None (the caller then compares by rendering)."""
    found = proof_key(spec)
    if found is None:
        return None
    root, relative, key, targets = found
    proved = recalled(root, relative, key)
    if proved is None or set(proved) != set(targets.values()):
        return None
    outputs = []
    for declared in targets.values():
        path = inside(root, declared)
        text = read(path) if path else None
        if text is None or digest(text) != proved[declared]:
            return None
        outputs.append(path)
    return outputs
