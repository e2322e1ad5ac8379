"""Vulnerability exceptions (scan.exceptions): a scanner whose ignore file ends them on their day,
real dates, and one entry an id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec


def exceptions_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC173: exceptions with grype, whose ignore rules carry no end date, or with no scanner."""
    tool = spec["scan"]["tool"]
    if "exceptions" in loaded.data.get("scan", {}) and tool != "trivy":
        why = ("grype's ignore rules carry no end date, so an exception would outlive its until" if tool == "grype"
               else "scan.tool: none scans nothing to except")
        yield loaded.diagnostic(("scan", "exceptions"), "GC173", f"exceptions need scan.tool: trivy, whose ignore file ends each on its day: {why}", key=True)


def exception_invalid(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """GC174: an until that is no calendar day, or one vulnerability excepted twice."""
    seen: dict[str, int] = {}
    for index, entry in enumerate(spec["scan"].get("exceptions", [])):
        try:
            date.fromisoformat(entry["until"])
        except ValueError:
            yield loaded.diagnostic(("scan", "exceptions", index, "until"), "GC174", f"{entry['until']!r} is no calendar day; write YYYY-MM-DD, such as 2026-09-30")
        if entry["id"] in seen:
            yield loaded.diagnostic(("scan", "exceptions", index, "id"), "GC174",
                                    f"{entry['id']} is excepted twice, here and at scan.exceptions[{seen[entry['id']]}]; keep one, with one owner and one end")
        seen.setdefault(entry["id"], index)
