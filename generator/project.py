"""Where a project's specs, outputs and pin overrides live.

Output paths in a spec are relative to the repository root: the nearest directory above the
spec that holds `.git`, or the spec's own directory outside a repository.
"""

from __future__ import annotations

from pathlib import Path

# Where `gen-ci sync` and `gen-ci check` look when given no spec.
DEFAULT_SPECS = ("gen-ci.yml", "gen-ci.yaml", ".gen-ci/*.yml", ".gen-ci/*.yaml")
PIN_OVERRIDES = ".gen-ci/pins.json"


def repository_root(start: Path) -> Path:
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def discover_specs(cwd: Path) -> list[Path]:
    root = repository_root(cwd)
    found: list[Path] = []
    for pattern in DEFAULT_SPECS:
        found += sorted(p for p in root.glob(pattern) if p.is_file())
    return found


def overrides_path(spec_file: Path) -> Path:
    return repository_root(spec_file.resolve().parent) / PIN_OVERRIDES


def output_path(spec_file: Path, declared: str) -> Path:
    return repository_root(spec_file.resolve().parent) / declared
