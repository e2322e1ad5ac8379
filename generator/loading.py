"""Read a spec file as YAML 1.2, keeping the line and column of every node."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from generator.diagnostics import Diagnostic, SpecError, json_path

MAX_BYTES = 1_000_000
# Aliases are followed when counting, so an anchor bomb is refused before anything walks it.
MAX_NODES = 100_000
MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")

NodePath = tuple[str | int, ...]


@dataclass
class LoadedSpec:
    file: str
    data: dict[str, Any]  # plain dicts, lists and scalars
    tree: CommentedMap  # the same content with positions

    # ruamel folds a raw NEL (U+0085) into a space even in YAML 1.2, where it is an ordinary
    # character; it is swapped for an unused noncharacter before parsing and back afterwards.
    nel_stand_in: str = ""

    def position(self, path: NodePath, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the node at path (of its key with key=True).

        Falls back to the nearest existing ancestor, so every diagnostic has a place.
        """
        node: Any = self.tree
        where = (0, 0)
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                where = node.lc.key(part) if key and part == path[-1] else node.lc.value(part)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                where = node.lc.item(part)
                node = node[part]
            else:
                break
        return where[0] + 1, where[1] + 1

    def diagnostic(self, path: NodePath, code: str, message: str, *, key: bool = False) -> Diagnostic:
        line, column = self.position(path, key=key)
        return Diagnostic(self.file, line, column, code, json_path(path), message)


def _fail(file: str, line: int, column: int, code: str, message: str) -> SpecError:
    return SpecError([Diagnostic(file, line, column, code, "$", message)])


def _decode(file: str, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise _fail(file, 1, 1, "GC002", f"the file has {len(raw)} bytes; a spec may have at most {MAX_BYTES}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _fail(file, line, column, "GC001", f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the spec as UTF-8") from None


def _plain(node: Any, path: NodePath, loaded: LoadedSpec, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError([loaded.diagnostic(path, "GC002", f"the document expands to more than {MAX_NODES} nodes (anchors and aliases included)")])
    if len(path) > MAX_DEPTH:
        raise SpecError([loaded.diagnostic(path[:4], "GC002", f"nesting deeper than {MAX_DEPTH} levels")])
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            if not isinstance(key, str):
                raise SpecError([loaded.diagnostic((*path, key), "GC002", f"keys must be strings, got {type(key).__name__} {key!r}; quote it", key=True)])
            out[_restore_nel(str(key), loaded)] = _plain(value, (*path, key), loaded, budget)
        return out
    if isinstance(node, CommentedSeq):
        return [_plain(item, (*path, i), loaded, budget) for i, item in enumerate(node)]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str) and _SURROGATE.search(node):
        raise SpecError([loaded.diagnostic(path, "GC001", "the text holds a lone UTF-16 surrogate (YAML does not pair \\uD8xx\\uDCxx escapes); write the character itself")])
    # ruamel's round-trip scalars subclass int/float/str; hand on the plain types.
    for plain in (bool, int, float):
        if isinstance(node, plain):
            return plain(node)
    return _restore_nel(str(node), loaded)


def _restore_nel(text: str, loaded: LoadedSpec) -> str:
    return text.replace(loaded.nel_stand_in, "\x85") if loaded.nel_stand_in else text


def _unused_noncharacter(text: str) -> str:
    return next((c for c in map(chr, range(0xFDD0, 0xFDF0)) if c not in text), "")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "a single value" if value is not None else "nothing"


class _Constructor(RoundTripConstructor):
    """YAML 1.2 has no timestamp type, yet ruamel's round-trip loader builds dates (and fails with
    no position on 2026-02-30): a date-like scalar is the string it spells, which the schema and the
    rules then judge where it stands."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


def load_spec(path: str | Path, kind: str = "spec") -> LoadedSpec:
    """kind names the file in messages: gen-ci also reads its pin file this way, for positions."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(file, 1, 1, "GC001", f"cannot read the {kind}: {exc.strerror}") from None
    text = _decode(file, raw)
    stand_in = _unused_noncharacter(text) if "\x85" in text else ""
    if stand_in:
        text = text.replace("\x85", stand_in)
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.Constructor = _Constructor
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "found duplicate key" in str(exc):
            raise _fail(file, line, column, "GC003", f"{problem.strip()}; every key may appear once (gen-ci never keeps the last one silently)") from None
        if "'\\t'" in problem:
            problem += "; indent with spaces, not tabs"
        raise _fail(file, line, column, "GC001", problem.strip()) from None
    except YAMLError as exc:
        raise _fail(file, 1, 1, "GC001", str(exc).strip().splitlines()[0]) from None
    except RecursionError:
        raise _fail(file, 1, 1, "GC002", f"nesting deeper than {MAX_DEPTH} levels") from None
    documents = [d for d in documents if d is not None] or documents
    if len(documents) > 1:
        raise _fail(file, 1, 1, "GC002", f"found {len(documents)} YAML documents; a {kind} is exactly one")
    tree = documents[0] if documents else None
    if tree is None:
        raise _fail(file, 1, 1, "GC002", f"the {kind} is empty" + ("; start from `gen-ci init` or the README's quickstart" if kind == "spec" else ""))
    if not isinstance(tree, CommentedMap):
        raise _fail(file, 1, 1, "GC002", f"the {kind} must be a mapping of keys to values, not {_kind(tree)}")
    loaded = LoadedSpec(file, {}, tree, stand_in)
    loaded.data = _plain(tree, (), loaded, [MAX_NODES])
    return loaded
