"""Regenerate golden/<case>/<target>.yml from each golden spec: `python -m generator.golden`."""

from __future__ import annotations

import sys
from pathlib import Path

from generator.commands.policy import policy as policy_text
from generator.diagnostics import SpecError
from generator.pipeline import render_outputs
from generator.writing import write_atomic


def regenerate(root: Path) -> list[Path]:
    written = []
    for spec in sorted((root / "golden").glob("*/spec.yml")):
        for platform, _, text in render_outputs(spec.relative_to(root)):
            out = spec.parent / ("Jenkinsfile" if platform == "jenkins" else f"{platform}.yml")
            write_atomic(out, text)
            written.append(out)
        for policy_file in sorted(spec.parent.glob("policy-*.yml")):  # scenario 34: `gen-ci policy`, each dialect
            write_atomic(policy_file, policy_text(spec.relative_to(root), policy_file.stem.removeprefix("policy-"), None, "https://github.com", "https://gitlab.com"))
            written.append(policy_file)
    return written


if __name__ == "__main__":
    try:
        for path in regenerate(Path.cwd()):
            print(path)
    except SpecError as error:
        sys.exit(str(error))
