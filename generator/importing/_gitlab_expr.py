"""GitLab's `rules: if:` expressions, read and evaluated for one run.

The importer asks a pipeline's own conditions which runs they admit instead of matching the text
it expects: gen-ci's outputs and hand-written files say the same thing in many spellings, and an
evaluation reads them all alike (first matching rule decides, `when: never` stops)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

from generator.importing import EXAMPLE_SHA
from generator.importing.common import tokens

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<var>\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<re>/(?:[^/\\]|\\.)*/[a-z]*)
    | (?P<op>==|!=|=~|!~|&&|\|\||\(|\))
    | (?P<null>null\b)
    )""", re.VERBOSE)


class ExpressionError(ValueError):
    """An `if:` this reader cannot parse; the caller turns it into a located note or error."""


@dataclass(frozen=True)
class Compare:
    variable: str
    op: str  # ==, !=, =~, !~
    value: tuple[str, str]  # ("str", text) | ("var", name) | ("re", pattern) | ("null", "")


@dataclass(frozen=True)
class Present:
    variable: str


@dataclass(frozen=True)
class Join:
    op: str  # && or ||
    parts: tuple[Node, ...]


Node = Union[Compare, Present, Join]  # noqa: UP007 (a runtime alias: the | form needs the classes as types)


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(kind, value.strip("${}") if kind == "var" else value) for kind, value in tokens(text, _TOKEN, ExpressionError)]


def parse(text: str) -> Node:
    tokens = _tokens(text)
    node, rest = _or(tokens)
    if rest:
        raise ExpressionError(f"unexpected {rest[0][1]!r} in the expression")
    return node


def _or(tokens: list[tuple[str, str]]) -> tuple[Node, list[tuple[str, str]]]:
    return _join(tokens, "||", _and)


def _and(tokens: list[tuple[str, str]]) -> tuple[Node, list[tuple[str, str]]]:
    return _join(tokens, "&&", _atom)


def _join(tokens, op, inner):
    parts = []
    node, tokens = inner(tokens)
    parts.append(node)
    while tokens and tokens[0] == ("op", op):
        node, tokens = inner(tokens[1:])
        parts.append(node)
    return (parts[0] if len(parts) == 1 else Join(op, tuple(parts))), tokens


def _atom(tokens: list[tuple[str, str]]) -> tuple[Node, list[tuple[str, str]]]:
    if not tokens:
        raise ExpressionError("the expression ends too early")
    kind, value = tokens[0]
    if (kind, value) == ("op", "("):
        node, rest = _or(tokens[1:])
        if not rest or rest[0] != ("op", ")"):
            raise ExpressionError("a ( is not closed")
        return node, rest[1:]
    if kind == "var":
        if len(tokens) > 2 and tokens[1][0] == "op" and tokens[1][1] in ("==", "!=", "=~", "!~"):
            other_kind, other = tokens[2]
            if other_kind == "str":
                other = other[1:-1]
            if other_kind not in ("str", "var", "re", "null"):
                raise ExpressionError(f"cannot compare with {other!r}")
            return Compare(value, tokens[1][1], (other_kind, other)), tokens[3:]
        return Present(value), tokens[1:]
    if kind == "str" and len(tokens) > 2 and tokens[1][1] in ("==", "!="):  # "main" == $VAR
        swapped = [tokens[2], tokens[1], tokens[0], *tokens[3:]]
        return _atom(swapped)
    raise ExpressionError(f"unexpected {value!r} in the expression")


def python_regex(literal: str) -> re.Pattern[str] | None:
    """A /pattern/flags literal as Python reads it (RE2 and Python agree on the usual ref patterns)."""
    body, _, flags = literal[1:].rpartition("/")
    try:
        return re.compile(body.replace("\\/", "/"), re.IGNORECASE if "i" in flags else 0)
    except re.error:
        return None


def evaluate(node: Node, env: dict[str, str]) -> bool:
    if isinstance(node, Join):
        results = (evaluate(part, env) for part in node.parts)
        return all(results) if node.op == "&&" else any(results)
    if isinstance(node, Present):
        return bool(env.get(node.variable))
    have = env.get(node.variable)
    kind, value = node.value
    if kind == "re":
        regex = python_regex(value)
        found = have is not None and regex is not None and regex.search(have) is not None
        return found if node.op == "=~" else not found
    other = None if kind == "null" else env.get(value) if kind == "var" else value
    equal = (have or None) == (other or None) if kind == "null" else have == other
    return equal if node.op == "==" else not equal


def atoms(node: Node) -> list[Compare | Present]:
    if isinstance(node, Join):
        return [atom for part in node.parts for atom in atoms(part)]
    return [node]


def glob_of_regex(literal: str) -> str | None:
    """A ref glob matching what a /regex/ matches, where one exists: gen-ci writes its globs this
    way (generator.refs), and hand-written rules mostly use the same few constructions."""
    body = literal[1:].rpartition("/")[0].replace("\\/", "/")
    start, end = body.startswith("^"), body.endswith("$") and not body.endswith("\\$")
    body = body[1 if start else 0:len(body) - (1 if end else 0)]
    if body.startswith("(") and body.endswith(")") and "|" not in body:
        body = body[1:-1]
    out, index = [], 0
    pieces = (("[^/]*", "*"), ("[^/]+", "*"), (".*", "**"), (".+", "**"), ("\\.", "."), ("\\d+", "[0-9]+"), ("\\d", "[0-9]"), ("\\-", "-"))
    while index < len(body):
        for regex, glob in pieces:
            if body.startswith(regex, index):
                out.append(glob)
                index += len(regex)
                break
        else:
            char = body[index]
            klass = re.match(r"\[(?:[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9])+\]\+?", body[index:])
            if klass:
                out.append(klass[0])
                index += len(klass[0])
            elif re.match(r"[A-Za-z0-9_/-]", char) or (char == "+" and out and out[-1][-1:] not in ("*", "+")):
                out.append(char)
                index += 1
            else:
                return None
    glob = "".join(out)
    if not start:
        glob = "**" + glob
    if not end:
        glob += "**"
    return glob.replace("****", "**") or None


def example(glob: str) -> str:
    """A ref the glob matches: the probe the conditions are asked about."""
    classed = re.sub(r"\[([A-Za-z0-9])[^\]]*\]", r"\1", glob)
    return classed.replace("**", "x/1").replace("*", "1").replace("+", "")


def run_env(kind: str, ref: str, default_branch: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The predefined variables of a run as GitLab sets them; every ref taken as protected, as
    gen-ci's plan takes the publishing refs to be."""
    source = {"push": "push", "tag": "push", "pr": "merge_request_event", "schedule": "schedule", "manual": "web"}[kind]
    env = {"CI_PIPELINE_SOURCE": source, "CI_DEFAULT_BRANCH": default_branch, "CI_COMMIT_REF_PROTECTED": "true",
           "CI_COMMIT_REF_NAME": ref, "CI_COMMIT_REF_SLUG": slug(ref), "CI_COMMIT_SHA": EXAMPLE_SHA, "CI_COMMIT_SHORT_SHA": EXAMPLE_SHA[:8]}
    if kind == "tag":
        env["CI_COMMIT_TAG"] = ref
    elif kind == "pr":
        env.update(CI_MERGE_REQUEST_TARGET_BRANCH_NAME=ref, CI_MERGE_REQUEST_IID="1", CI_MERGE_REQUEST_ID="1",
                   CI_COMMIT_REF_NAME="gen-ci-import/topic", CI_COMMIT_REF_SLUG="gen-ci-import-topic", CI_COMMIT_REF_PROTECTED="false")
    else:
        env["CI_COMMIT_BRANCH"] = ref
    env.update(extra or {})
    return env


def slug(ref: str) -> str:
    """CI_COMMIT_REF_SLUG: lower case, anything else than a-z0-9 a dash, at most 63, no dash at the ends."""
    return re.sub(r"[^a-z0-9]", "-", ref.lower())[:63].strip("-")


def rules_allow(rules: Any, env: dict[str, str], parsed: dict[str, Node]) -> bool | None:
    """Whether a `rules:` list admits the run: the first rule that matches decides. None when a
    rule cannot be read (the caller says so rather than guess)."""
    if not isinstance(rules, list):
        return None
    for rule in rules:
        if not isinstance(rule, dict):
            return None
        condition = rule.get("if")
        if condition is not None:
            if not isinstance(condition, str):
                return None
            node = parsed.get(condition)
            if node is None:
                try:
                    node = parsed[condition] = parse(condition)
                except ExpressionError:
                    return None
            if not evaluate(node, env):
                continue
        return rule.get("when", "on_success") != "never"
    return False
