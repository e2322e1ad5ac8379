"""Findings as text, JSON or SARIF 2.1.0 (for code-scanning dashboards)."""

from __future__ import annotations

import json

from generator import __version__
from generator.diagnostics import LINT_DOCS
from generator.lint.engine import ALL_RULES
from generator.lint.findings import Finding


def as_text(findings: list[Finding]) -> str:
    return "".join(f"{f.file}:{f.line}: {f.rule}[{f.name}] {'' if f.level == 'error' else f.level + ': '}{f.message} ({f.url})\n" for f in findings)


def as_json(findings: list[Finding]) -> str:
    rows = [{"rule": f.rule, "name": f.name, "level": f.level, "file": f.file, "line": f.line, "message": f.message, "url": f.url} for f in findings]
    return json.dumps(rows, indent=2) + "\n"


def as_sarif(findings: list[Finding]) -> str:
    # The docs are files in gen-ci's repository: named, not linked to a host that may not be there.
    rules = [
        {"id": r.id, "name": r.name, "shortDescription": {"text": r.summary}, "help": {"text": f"{r.summary} See {LINT_DOCS}{r.name} in gen-ci's repository.", "markdown": f"{r.summary} See [{r.id}]({LINT_DOCS}{r.name})."},
         "defaultConfiguration": {"level": r.level}}
        for r in ALL_RULES
    ]
    results = [
        {
            "ruleId": f.rule,
            "level": f.level,
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.file}, "region": {"startLine": f.line}}}],
        }
        for f in findings
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "gen-ci lint", "version": __version__, "rules": rules}}, "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


FORMATS = {"text": as_text, "json": as_json, "sarif": as_sarif}
