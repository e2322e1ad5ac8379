"""A GitLab file another `.gitlab-ci.yml` includes (scenario 28): its jobs carry the workflow.

An included file's `workflow:` would be replaced by the including file's, so the pipeline
conditions gen-ci's `workflow:rules` hold move into every job's own rules: GitLab adds a job
when the first of its rules that matches is not `when: never`. For workflow rules W1..Wm (first
match wins, a `when: never` one stops the pipeline) and job rules R1..Rn, the job's rules become,
in workflow order, each never-rule as it stands and, for each other Wi, every Rj with Wi's
condition joined to its own by `&&`. The first of those that matches is Rj under the first
matching Wi, so the job is added exactly when the pipeline would have run and its own rules
say so: the plan (generator.plan) is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML

from generator.quoting import canonical_scalar

# The jobs (and rules fragments) gen-ci writes; a name the including file must not reuse.
GENERATED_PREFIXES = ("build-", "candidate-", "publish-", "tags-", "scan-", "sign-", "describe-")
GENERATED_NAMES = ("check-generated",)
# GitLab's global keywords, never a job's name.
GITLAB_KEYWORDS = ("image", "services", "stages", "types", "before_script", "after_script", "variables", "cache",
                   "include", "true", "false", "nil", "workflow", "default", "pages")


def _load(text: str) -> Any:
    return YAML(typ="safe").load(text) or {}


def generated_name(name: str) -> bool:
    return name in GENERATED_NAMES or name.startswith(GENERATED_PREFIXES)


def _operand(condition: str) -> str:
    """A condition as one operand of &&: parenthesised only when it has an || of its own at the top
    (&& binds tighter), so a protected-ref test stays at the top, where readers look for it."""
    top = condition
    while re.search(r"\([^()]*\)", top):
        top = re.sub(r"\([^()]*\)", "_", top)
    return f"({condition})" if "||" in top else condition


def composed_rules(workflow: list[dict[str, Any]], own: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The job's rules with the workflow's conditions folded in (see the module's docstring)."""
    out: list[dict[str, Any]] = []
    for wrule in workflow:
        if wrule.get("when") == "never":
            out.append({"if": wrule["if"], "when": "never"})
            continue
        for rule in own or [{}]:
            joined = dict(rule)
            joined["if"] = f"{_operand(wrule['if'])} && {_operand(rule['if'])}" if "if" in rule else wrule["if"]
            out.append({"if": joined.pop("if"), **joined})
    return out


def _rule_text(rule: dict[str, Any]) -> str:
    lines = [f"    - if: {canonical_scalar(rule['if'])}"]
    for key, value in rule.items():
        if key == "if":
            continue
        if key == "changes":
            lines += ["      changes:", "        paths:"] + [f"          - {canonical_scalar(p)}" for p in value["paths"]]
        else:
            lines.append(f"      {key}: {canonical_scalar(value)}")
    return "\n".join(lines)


def within_workflow(fragment: str, workflow_text: str) -> str:
    """A job's rules fragment (and the keys written with it) under the workflow's conditions."""
    workflow = _load(workflow_text)["workflow"]["rules"]
    own = _load(fragment)
    rules = composed_rules(workflow, own.pop("rules", None))
    text = "  # The pipeline conditions (the including file owns workflow:) joined to this job's own.\n  rules:\n"
    text += "\n".join(_rule_text(rule) for rule in rules) + "\n"
    if "environment" in own:
        text += f"  environment:\n    name: {canonical_scalar(own.pop('environment')['name'])}\n"
    assert not own, f"keys written with a job's rules that within_workflow does not carry: {sorted(own)}"
    return text
