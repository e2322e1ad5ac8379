"""Parse rendered text back and print it canonically, so YAML 1.1 and 1.2 readers read it alike."""

from __future__ import annotations

import io
import re
from functools import cache
from typing import Any

# Line breaks only YAML reads as such (NEL, LS, PS) and anything unprintable: written raw, a reader
# folds or rejects them, so strings holding them are written double-quoted, with escapes.
_NEEDS_ESCAPES = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")


class RenderedInvalid(Exception):
    """A template produced text that is not YAML: a gen-ci bug, never the user's."""


@cache
def _resolvers() -> tuple[Any, ...]:
    from ruamel.yaml.resolver import VersionedResolver

    return tuple(VersionedResolver(version=version) for version in ((1, 1), (1, 2)))


def _resolves_to_non_string(text: str) -> bool:
    """Whether a plain scalar `text` would not be a string under YAML 1.1 (GitLab) or 1.2."""
    from ruamel.yaml.nodes import ScalarNode

    return any(resolver.resolve(ScalarNode, text, (True, False)) != "tag:yaml.org,2002:str" for resolver in _resolvers())


def needs_double_quotes(text: str) -> bool:
    """Whether the canonical emitter writes `text` double-quoted whatever its analysis says."""
    return bool(_NEEDS_ESCAPES.search(text)) or _resolves_to_non_string(text)


@cache
def scalar_analyzer() -> Any:
    """The canonical emitter's own scalar analysis, as a function of the text."""
    from types import SimpleNamespace

    from ruamel.yaml.emitter import Emitter

    # The analysis reads the serializer's YAML version through the dumper: canonical() emits YAML 1.2.
    dumper = SimpleNamespace(_serializer=SimpleNamespace(use_version=(1, 2)))
    emitter = Emitter(io.StringIO(), allow_unicode=True, dumper=dumper)
    return emitter.analyze_scalar


def _quote_ambiguous(node: Any) -> Any:
    """Double-quote every string a YAML 1.1 reader would take for another type, keys included."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    def fix(value: Any) -> Any:
        if not isinstance(value, str):
            return _quote_ambiguous(value)
        if isinstance(value, DoubleQuotedScalarString) or not (_NEEDS_ESCAPES.search(value) or _resolves_to_non_string(value)):
            return value
        return DoubleQuotedScalarString(value)

    if isinstance(node, CommentedMap):
        for key in list(node):
            fixed = fix(key)
            if fixed is not key:
                position = list(node).index(key)
                value = node.pop(key)
                node.insert(position, fixed, value)
                key = fixed
            node[key] = fix(node[key])
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            node[index] = fix(item)
    return node


def parsed(rendered: str) -> str:
    """The rendered text, once libyaml has read it: the templates write canonical text by
    construction (every scalar through quoting.canonical_scalar), which the test suite proves by
    running canonical() on every golden and property-test output; at run time a fast parse is
    enough to prove that what is written is YAML."""
    import yaml

    try:
        for _ in yaml.parse(rendered, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass  # every event read: the text is well-formed YAML (the templates write no anchors)
    except yaml.YAMLError as exc:
        raise RenderedInvalid(f"gen-ci rendered invalid YAML (please report this): {exc}") from None
    return rendered


def canonical(rendered: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    # Without it ruamel escapes characters beyond U+FFFF as surrogate pairs, which read back as different text.
    yaml.allow_unicode = True
    yaml.preserve_quotes = False
    try:
        document = yaml.load(rendered)
    except YAMLError as exc:
        raise RenderedInvalid(f"gen-ci rendered invalid YAML (please report this): {exc}") from None
    buffer = io.StringIO()
    yaml.dump(_quote_ambiguous(document), buffer)
    body = buffer.getvalue()
    # ruamel writes a %YAML directive for an explicit version; the platforms' parsers don't want it.
    if body.startswith("%YAML"):
        body = body.split("---\n", 1)[1]
    return body
