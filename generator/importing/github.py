"""Read GitHub workflows into a spec."""

from __future__ import annotations

from pathlib import Path

from generator.importing import Imported
from generator.importing.github_own import is_gen_ci_output, read_own
from generator.importing.workflow import read_workflow


def read_github(paths: list[Path]) -> Imported:
    workflows = [read_workflow(path) for path in paths]
    if len(workflows) == 1 and is_gen_ci_output(workflows[0]):
        return read_own(workflows[0])
    from generator.importing.github_hand import read_hand_written

    return read_hand_written(workflows)
