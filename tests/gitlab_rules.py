"""An evaluator of GitLab `rules:if` expressions and of which jobs a pipeline gets.

It covers the expression language GitLab documents for rules: `$VAR`, "strings", /regex/,
==, !=, =~, !~, &&, || and parentheses (&& binds tighter than ||). A variable that is not set
compares equal to nothing but null and is false on its own; so is an empty one.
"""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r'\s*(?:(?P<var>\$[A-Za-z_][A-Za-z0-9_]*)|"(?P<str>[^"]*)"|/(?P<re>(?:\\/|[^/])*)/|(?P<op>==|!=|=~|!~|&&|\|\||\(|\)))')


def _tokens(expression: str) -> list[tuple[str, str]]:
    out, index = [], 0
    while index < len(expression.rstrip()):
        match = TOKEN.match(expression, index)
        if not match:
            raise ValueError(f"cannot read {expression[index:]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        index = match.end()
    return out


class _Parser:
    def __init__(self, expression: str, variables: dict[str, str]):
        self.tokens = _tokens(expression)
        self.position = 0
        self.variables = variables

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> bool:
        value = self.disjunction()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()}")
        return value

    def disjunction(self) -> bool:
        return any(self._chain("||", self.conjunction))

    def conjunction(self) -> bool:
        return all(self._chain("&&", self.comparison))

    def _chain(self, operator: str, operand) -> list[bool]:
        """Every operand of a run joined by one operator, all evaluated (GitLab does not short-circuit parsing)."""
        values = [operand()]
        while self.peek() == ("op", operator):
            self.take()
            values.append(operand())
        return values

    def operand(self) -> tuple[str, Any]:
        kind, text = self.take()
        if kind == "var":
            return "value", self.variables.get(text[1:])
        if kind == "str":
            return "value", text
        if kind == "re":
            return "regex", text.replace("\\/", "/")
        raise ValueError(f"expected an operand, got {text!r}")

    def comparison(self) -> bool:
        if self.peek() == ("op", "("):
            self.take()
            value = self.disjunction()
            assert self.take() == ("op", ")")
            return value
        _, left = self.operand()
        following = self.peek()
        if following is None or following[1] not in ("==", "!=", "=~", "!~"):
            return bool(left)
        operator = self.take()[1]
        kind, right = self.operand()
        if operator in ("=~", "!~"):
            assert kind == "regex"
            matched = left is not None and re.search(right, left) is not None
            return matched if operator == "=~" else not matched
        return (left == right) if operator == "==" else (left != right)


def evaluate(expression: str, variables: dict[str, str]) -> bool:
    return _Parser(expression, variables).parse()


def first_match(rules: list[dict[str, Any]], variables: dict[str, str]) -> dict[str, Any] | None:
    for rule in rules:
        if "if" not in rule or evaluate(rule["if"], variables):
            return rule
    return None


def jobs_created(pipeline: dict[str, Any], variables: dict[str, str]) -> set[str] | None:
    """None when the workflow rules create no pipeline, else the jobs it would hold."""
    workflow = pipeline.get("workflow", {}).get("rules")
    if workflow is not None:
        rule = first_match(workflow, variables)
        if rule is None or rule.get("when") == "never":
            return None
    jobs = set()
    for name, job in resolved(pipeline).items():
        if not isinstance(job, dict) or "script" not in job or name.startswith("."):
            continue
        rules = job.get("rules")
        if rules is None:
            jobs.add(name)
            continue
        rule = first_match(rules, variables)
        if rule is not None and rule.get("when", "on_success") != "never":
            jobs.add(name)
    return jobs


def predefined(event: str, ref: str = "", *, tag: bool = False, protected: bool = False, mr_open: bool = False) -> dict[str, str]:
    """The predefined variables GitLab sets for one kind of pipeline (only those rules read)."""
    variables = {"CI_PIPELINE_SOURCE": event, "CI_COMMIT_REF_PROTECTED": "true" if protected else "false"}
    if event == "merge_request_event":
        variables["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] = ref
        variables["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = ref  # the plan's pr runs name their target
        return variables
    variables["CI_COMMIT_REF_NAME"] = ref
    variables["CI_COMMIT_TAG" if tag else "CI_COMMIT_BRANCH"] = ref
    if mr_open and not tag:
        variables["CI_OPEN_MERGE_REQUESTS"] = "acme/app!1"
    return variables


def merged(including: dict[str, Any], local_files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A .gitlab-ci.yml with its `include: local` files merged in, as GitLab merges them: the
    included files first, then the including file's keys on top (a key there wins: stages,
    workflow, default and variables are replaced or extended, a job of the same name is deep-merged)."""
    entries = including.get("include", [])
    entries = entries if isinstance(entries, list) else [entries]
    out: dict[str, Any] = {}
    for entry in entries:
        path = entry["local"] if isinstance(entry, dict) else entry
        out = _deep_merge(out, local_files[path.lstrip("/")])
    return _deep_merge(out, {key: value for key, value in including.items() if key != "include"})


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def extended(pipeline: dict[str, Any], name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """One job with its `extends:` applied as GitLab applies it: the parents in order (each with its
    own extends resolved first), then the job's own keys on top; mappings deep-merge, everything
    else (a script, a list of rules) is replaced whole."""
    if name in seen or len(seen) > 10:  # GitLab refuses cycles and more than 11 levels
        raise ValueError(f"extends: cannot resolve {name} through {seen}")
    job = pipeline[name]
    parents = job.get("extends", [])
    out: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        out = _deep_merge(out, extended(pipeline, parent, seen + (name,)))
    return _deep_merge(out, {key: value for key, value in job.items() if key != "extends"})


def resolved(pipeline: dict[str, Any]) -> dict[str, Any]:
    """The pipeline with every job's `extends:` applied; other top-level keys as they are."""
    return {name: extended(pipeline, name) if isinstance(job, dict) and "extends" in job else job for name, job in pipeline.items()}


def job_script(job: dict[str, Any]) -> list[str]:
    """Everything a job's shell runs, in order: GitLab runs before_script and script as one shell."""
    return list(job.get("before_script") or []) + list(job.get("script") or [])
