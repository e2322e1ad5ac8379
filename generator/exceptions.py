"""Vulnerability exceptions (scan.exceptions): which still hold on a given day, trivy's ignore file
for them, and the warnings for those that end soon or have ended.

An exception ends on its `until` day: trivy drops an ignore entry whose expired_at is before the
scan's clock, and expired_at is midnight UTC of that day. gen-ci reads "today" through `today()`
alone, so tests give it a fixed day and no golden depends on the real date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from generator.loading import LoadedSpec

WARN_DAYS = 7  # an exception this close to its end is named on every render, sync and check
IGNORE_FILE = "gen-ci-trivyignore.yaml"  # trivy reads an ignore file as YAML by its extension


@dataclass(frozen=True)
class VulnerabilityException:
    id: str
    reason: str
    owner: str
    until: str  # YYYY-MM-DD, a real day (GC174)


def today() -> date:
    return datetime.now(timezone.utc).date()


def listed(scan: dict[str, Any]) -> list[VulnerabilityException]:
    return [VulnerabilityException(e["id"], e["reason"], e["owner"], e["until"]) for e in scan.get("exceptions", [])]


def holding(entries: list[VulnerabilityException], day: date) -> list[VulnerabilityException]:
    """The exceptions that still suppress their finding on day: an ended one is not rendered."""
    return [entry for entry in entries if date.fromisoformat(entry.until) > day]


def trivy_ignore_lines(entries: list[VulnerabilityException]) -> list[str]:
    """trivy's .trivyignore.yaml for entries, one line each. A JSON string is a YAML double-quoted
    scalar, so reason and owner stay data whatever they hold: the schema keeps out every character
    YAML reads as a line break, and ensure_ascii=False keeps a character outside the BMP whole
    (YAML does not pair JSON's surrogate escapes). The date is digits and dashes."""
    if not entries:
        return []
    lines = ["vulnerabilities:"]
    for entry in entries:
        lines += [
            f"  - id: {json.dumps(entry.id, ensure_ascii=False)}",
            f"    statement: {json.dumps(f'{entry.reason} (owner: {entry.owner}; until {entry.until})', ensure_ascii=False)}",
            f"    expired_at: {entry.until}",
        ]
    return lines


def warnings(loaded: LoadedSpec, scan: dict[str, Any], day: date) -> list[str]:
    """One located line for each exception that has ended or ends within WARN_DAYS, naming its id and owner."""
    found = []
    for index, entry in enumerate(listed(scan)):
        left = (date.fromisoformat(entry.until) - day).days
        if left > WARN_DAYS:
            continue
        line, column = loaded.position(("scan", "exceptions", index))
        where = f"{loaded.file}:{line}:{column}: warning: $.scan.exceptions[{index}]"
        if left <= 0:
            found.append(f"{where}: {entry.id} (owner: {entry.owner}) ended on {entry.until}: it no longer suppresses the finding, "
                         "and the scan gate fails on it again; fix the finding, or renew the exception with a later until")
        else:
            found.append(f"{where}: {entry.id} (owner: {entry.owner}) ends on {entry.until}, in {left} day{'s' if left != 1 else ''}: "
                         "fix the finding, or renew the exception with a later until")
    return found

