"""--compare: what the original published and what the imported spec publishes, run by run.

The spec's side is `gen-ci plan`'s outcome for the same run; the original's is what its reader
read from the original's own conditions and tag expressions (Imported.original_publishes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.importing import EXAMPLE_SHA, Imported
from generator.plan import Outcome, outcome, parse_run


@dataclass(frozen=True)
class Row:
    event: str
    original: list[str] | None  # None: the original's side could not be read statically
    spec: list[str]
    why: str = ""  # why the original's side is unreadable


def rows(imported: Imported, spec_file: Path, platform: str) -> list[Row]:
    """One row for each run the reader read (or could not read) the original's side of."""
    from generator.pipeline import compile_spec

    _, model = compile_spec(spec_file)
    out = []
    for event in [*imported.original_publishes, *(e for e in imported.unreadable if e not in imported.original_publishes)]:
        run = parse_run(event, EXAMPLE_SHA)
        result: Outcome = outcome(model, platform, run,
                                  [], "main", spec_file.resolve().parent)
        out.append(Row(event, imported.original_publishes.get(event), result.references, imported.unreadable.get(event, "")))
    return out


def marks(row: Row) -> list[tuple[str, str]]:
    """(mark, reference): = both publish it, + only the spec, - only the original, ? the original's side is unread."""
    if row.original is None:
        return [("?", reference) for reference in row.spec] or [("?", "")]
    both = set(row.original) & set(row.spec)
    return sorted([("=" if r in both else "+", r) for r in row.spec] + [("-", r) for r in row.original if r not in both],
                  key=lambda pair: (pair[1], pair[0]))


def table(found: list[Row]) -> str:
    lines = ["event                 original publishes / spec publishes (= both, + only the spec, - only the original, ? unread)"]
    for row in found:
        pairs = marks(row)
        if row.original is None:
            lines.append(f"{row.event:<21} ? the original's side cannot be read here: {row.why}")
            pairs = [pair for pair in pairs if pair[1]]
        elif not pairs:
            lines.append(f"{row.event:<21} = nothing")
            continue
        lines += [f"{row.event if index == 0 and row.original is not None else '':<21} {mark} {reference}" for index, (mark, reference) in enumerate(pairs)]
    lines.append(f"(versions released before: none; the sha is {EXAMPLE_SHA}; the default branch: main)")
    return "\n".join(lines) + "\n"


def differences(found: list[Row]) -> int:
    return sum(1 for row in found for mark, _ in marks(row) if mark in "+-")
