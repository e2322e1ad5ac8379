"""Where a project's specs, outputs and pin overrides live.

Output paths in a spec are relative to the repository root: the nearest directory above the
spec that holds `.git`, or the spec's own directory outside a repository.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

# Where `gen-ci sync` and `gen-ci check` look when given no spec.
DEFAULT_SPECS = ("gen-ci.yml", "gen-ci.yaml", ".gen-ci/*.yml", ".gen-ci/*.yaml")
PIN_OVERRIDES = ".gen-ci/pins.json"


def repository_root(start: Path) -> Path:
    from generator.roots import repository_root as root

    return Path(root(str(start)))


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


def unsafe_outputs(spec_file: Path, targets: dict[str, str]) -> dict[str, str]:
    """platform -> why its declared output may not be written; empty when every output is safe.

    An output must stay a regular file inside the repository, reached through no symbolic link,
    and may not be the spec, another spec, the pin file, or another platform's output.
    """
    root = repository_root(spec_file.resolve().parent)
    # Every other spec is found by the DEFAULT_SPECS globs, checked below; listing them would cost
    # a directory scan per render.
    protected = {spec_file.resolve(), (root / PIN_OVERRIDES).resolve()}
    seen: dict[Path, str] = {}
    problems = {}
    for platform, declared in sorted(targets.items()):
        candidate = root / declared
        link = next((p for p in (candidate, *candidate.parents) if p.is_relative_to(root) and p != root and p.is_symlink()), None)
        resolved = candidate.resolve()
        if link is not None:
            problems[platform] = f"{link.relative_to(root).as_posix()} is a symbolic link; gen-ci writes outputs only as regular files inside the repository"
        elif not resolved.is_relative_to(root):
            problems[platform] = "it leads outside the repository"
        elif resolved in protected or any(fnmatchcase(resolved.relative_to(root).as_posix(), p) for p in DEFAULT_SPECS):
            problems[platform] = "it is a gen-ci spec or the pin file (or would be read as one); writing it would destroy gen-ci's input"
        elif resolved in seen:
            problems[platform] = f"targets.{seen[resolved]} writes the same file"
        seen.setdefault(resolved, platform)
    return problems

