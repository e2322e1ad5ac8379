"""`gen-ci check` and `gen-ci sync` when every output is already in sync: the hook's usual case.

It answers with the standard library and gen-ci's small modules alone (no click, YAML, Jinja or
JSON Schema): each spec's targets are read plainly, and each output's fingerprint must name this
gen-ci, this exact spec (and pin overrides) and its own body. Anything else (an option, a drift,
a spec it cannot read plainly, a problem) answers None, and the full command runs from the start,
so every message and exit status stays the full command's.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _in_sync(spec: Path) -> bool:
    from generator import __version__
    from generator.fingerprint import digest, spec_digest, split
    from generator.project import output_path, overrides_path
    from generator.targets import plain_targets

    try:
        targets = plain_targets(spec.read_bytes())
    except OSError:
        return False
    # Pin overrides land in `uses:` lines: they are validated on every run, so never take the shortcut.
    if not targets or overrides_path(spec).is_file():
        return False
    expected = spec_digest(spec)
    owners = set()
    for declared in targets.values():
        path = output_path(spec, declared)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        fingerprint, body = split(text)
        if not fingerprint or fingerprint.version != __version__ or fingerprint.spec != expected or fingerprint.body != digest(body.encode()):
            return False
        owners.add(path.resolve())
    return len(owners) == len(targets)


def run(argv: list[str]) -> int | None:
    if not argv or argv[0] not in ("check", "sync") or any(arg.startswith("-") for arg in argv[1:]):
        return None
    from generator.project import DEFAULT_SPECS, discover_specs, repository_root

    given = argv[1:]
    specs = [Path(spec) for spec in given] if given else discover_specs(Path.cwd())
    if not specs or not all(_in_sync(spec) for spec in specs):
        return None
    # Two specs writing one file is an error the full command reports (GC115).
    written = [repository_root(spec.resolve().parent) / declared for spec in specs for declared in _targets(spec)]
    if len({path.resolve() for path in written}) != len(written):
        return None
    if not given:
        root = repository_root(Path.cwd())
        found = ", ".join(str(p.relative_to(root)) for p in specs)
        sys.stderr.write(f"gen-ci: found {len(specs)} spec{'s' if len(specs) != 1 else ''} in {root}: {found}\n")
    return 0


def _targets(spec: Path) -> list[str]:
    from generator.targets import plain_targets

    return list((plain_targets(spec.read_bytes()) or {}).values())


def main() -> None:
    """The console script: the fast path, or else the full command line."""
    code = run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from generator.cli import main as full

    full(prog_name="gen-ci")
