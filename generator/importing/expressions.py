"""GitHub's `${{ }}` conditions, read for one run: the few forms pipelines use to decide whether to push.

An expression outside that vocabulary is not guessed at: `Unreadable` says which part could not be read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.importing import EXAMPLE_SHA
from generator.importing.common import DEFAULT_BRANCH, tokens


class Unreadable(ValueError):
    """An expression or value this reader cannot evaluate statically."""


@dataclass(frozen=True)
class Event:
    """One run of the original workflow, as GitHub's contexts describe it."""

    kind: str  # push, tag, pr, schedule, manual or release (generator.plan's words)
    ref_name: str
    sha: str = EXAMPLE_SHA

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ref_name}"

    @property
    def event_name(self) -> str:
        return {"push": "push", "tag": "push", "pr": "pull_request", "schedule": "schedule",
                "manual": "workflow_dispatch", "release": "release"}[self.kind]

    @property
    def ref_type(self) -> str:
        return "tag" if self.kind in ("tag", "release") else "branch"

    @property
    def ref(self) -> str:
        if self.kind == "pr":
            return "refs/pull/1/merge"
        return ("refs/tags/" if self.ref_type == "tag" else "refs/heads/") + self.ref_name

    def context(self, name: str) -> str:
        values = {
            "github.event_name": self.event_name, "github.ref": self.ref, "github.ref_type": self.ref_type,
            "github.ref_name": "1/merge" if self.kind == "pr" else self.ref_name, "github.sha": self.sha,
            "github.base_ref": self.ref_name if self.kind == "pr" else "", "github.head_ref": "feature" if self.kind == "pr" else "",
            "github.event.repository.default_branch": DEFAULT_BRANCH,
        }
        if name not in values:
            raise Unreadable(f"{name} is not known before the run")
        return values[name]


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    return tokens(text, _TOKEN, Unreadable)


def evaluate(text: Any, event: Event) -> Any:
    """The value of an `if:` or an input such as `push:` for this run: a bool or a string."""
    if isinstance(text, bool):
        return text
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1:
        text = text[3:-2]
    elif "${{" in text:
        raise Unreadable(f"{text!r} mixes text and expressions")
    elif text in ("true", "false"):
        return text == "true"
    parser = _Parser(_tokens(text), event)
    value = parser.expression()
    if parser.position != len(parser.tokens):
        raise Unreadable(f"cannot read {text!r}")
    return value


def truthy(value: Any) -> bool:
    return bool(value) and value != "false"


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], event: Event) -> None:
        self.tokens, self.position, self.event = tokens, 0, event

    def peek(self) -> str:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise Unreadable("the expression ends too early")
        self.position += 1
        return self.tokens[self.position - 1]

    def expression(self) -> Any:
        value = self.conjunction()
        while self.peek() == "||":
            self.take()
            right = self.conjunction()
            value = value if truthy(value) else right
        return value

    def conjunction(self) -> Any:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            same = str(value).lower() == str(right).lower()  # GitHub compares strings ignoring case
            return same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        if self.peek() == "(":
            self.take()
            value = self.expression()
            if self.take()[1] != ")":
                raise Unreadable("a parenthesis is not closed")
            return value
        kind, word = self.take()
        if kind == "str":
            return word[1:-1].replace("''", "'")
        if kind != "word":
            raise Unreadable(f"unexpected {word!r}")
        if word in ("true", "false"):
            return word == "true"
        if self.peek() == "(":
            return self.call(word)
        return self.event.context(word)

    def call(self, name: str) -> Any:
        self.take()
        arguments = []
        while self.peek() != ")":
            arguments.append(self.expression())
            if self.peek() == ",":
                self.take()
        self.take()
        text = [str(a) for a in arguments]
        if name == "startsWith" and len(text) == 2:
            return text[0].lower().startswith(text[1].lower())
        if name == "endsWith" and len(text) == 2:
            return text[0].lower().endswith(text[1].lower())
        if name == "contains" and len(text) == 2:
            return text[1].lower() in text[0].lower()
        if name == "format" and text:
            return re.sub(r"\{(\d+)\}", lambda m: text[int(m[1]) + 1], text[0])
        if name in ("success", "always") and not text:
            return True
        raise Unreadable(f"{name}() is not read statically")
