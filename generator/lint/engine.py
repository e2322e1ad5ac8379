"""gen-ci lint: every rule of the file's kind, each finding reported once, where it is written."""

from __future__ import annotations

from dataclasses import replace

from generator.lint.document import PipelineFile
from generator.lint.findings import Finding, Rule
from generator.lint.github_rules import GITHUB_RULES
from generator.lint.gitlab_rules import GITLAB_RULES
from generator.lint.jenkins_rules import COMPOSE_RULES, JENKINS_RULES
from generator.lint.trust_rules import (
    COMPOSE_TRUST_RULES,
    GITHUB_TRUST_RULES,
    GITLAB_TRUST_RULES,
    JENKINS_TRUST_RULES,
)

RULES_BY_KIND: dict[str, list[Rule]] = {
    "gitlab": GITLAB_RULES + GITLAB_TRUST_RULES,
    "github": GITHUB_RULES + GITHUB_TRUST_RULES,
    "jenkins": JENKINS_RULES + JENKINS_TRUST_RULES,
    "compose": COMPOSE_RULES + COMPOSE_TRUST_RULES,
}
TRUST_RULE_IDS = {rule.id for rule in GITLAB_TRUST_RULES + GITHUB_TRUST_RULES + JENKINS_TRUST_RULES + COMPOSE_TRUST_RULES}
ALL_RULES: list[Rule] = [rule for rules in RULES_BY_KIND.values() for rule in rules]


def lint(pipeline: PipelineFile) -> list[Finding]:
    # A problem written once and inherited by several jobs is reported once, where it is written.
    unique: dict[tuple[str, str, int, str], Finding] = {}
    jobs: dict[tuple[str, str, int, str], set[str]] = {}
    for rule in RULES_BY_KIND.get(pipeline.kind, GITLAB_RULES):
        for finding in rule.check(pipeline, rule):
            key = (finding.rule, finding.file, finding.line, finding.subject)
            unique.setdefault(key, finding)
            if finding.job is not None:
                jobs.setdefault(key, set()).add(finding.job)
    reported = [
        replace(finding, message=f"{finding.message} (affects {len(jobs[key])} jobs)") if len(jobs.get(key, ())) > 1 else finding
        for key, finding in unique.items()
    ]
    return sorted(reported, key=lambda f: (f.file, f.line, f.rule))
