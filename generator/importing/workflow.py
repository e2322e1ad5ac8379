"""A GitHub workflow as the readers see it: its triggers, jobs and steps, each with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.importing import ImportInputError
from generator.lint.document import LintInputError, line_of, load_documents


@dataclass
class Workflow:
    file: str
    root: dict[str, Any]

    @property
    def on(self) -> dict[str, Any]:
        """`on:` as a mapping of event to its settings (None for an event without settings)."""
        # A YAML 1.1 reader turns the bare `on` key into true, as GitHub's own does not.
        value = self.root.get("on", self.root.get(True))
        if isinstance(value, str):
            return {value: None}
        if isinstance(value, list):
            return {str(event): None for event in value}
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return {str(k): v for k, v in self.root["jobs"].items() if isinstance(v, dict)}

    def line_of(self, key: str) -> int:
        return line_of(self.root, True if key == "on" and "on" not in self.root else key)

    @staticmethod
    def line_of_step(step: dict[str, Any], key: str | None = None) -> int:
        return line_of(step, key)


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps")
    return [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else []


_EXPRESSION = re.compile(r"^\$\{\{\s*([A-Za-z_]+)\.([A-Za-z0-9_.-]+)\s*\}\}$")


def expression_name(value: Any) -> tuple[str, str] | None:
    """("secrets", "NAME") for `${{ secrets.NAME }}`, ("github", "token") and the like; None for anything else."""
    match = _EXPRESSION.match(str(value or "").strip())
    return (match[1], match[2]) if match else None


def read_workflow(path: Path) -> Workflow:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ImportInputError(f"{path}:1:1: not UTF-8 text ({error.reason})") from None
    try:
        documents = load_documents(text, str(path))
    except LintInputError as error:
        raise ImportInputError(str(error)) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ImportInputError(f"{path}:1:1: expected one YAML mapping (a workflow with on: and jobs:)")
    root = documents[0]
    workflow = Workflow(str(path), root)
    if not isinstance(root.get("jobs"), dict) or not workflow.on:
        missing = "jobs:" if not isinstance(root.get("jobs"), dict) else "on:"
        raise ImportInputError(f"{path}:{getattr(root, 'line', 1)}:1: a GitHub workflow needs {missing}; this file has none (or it is not a mapping)")
    return workflow
