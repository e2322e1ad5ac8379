"""The usual cases without click: `gen-ci check` and `gen-ci sync` when every output is already
in sync (the hook's), and `gen-ci SPEC [--target T]` rendering to standard output.

It answers with the standard library's lightest modules (os, re) and gen-ci's small ones: no
click, YAML, Jinja or JSON Schema, not even pathlib or hashlib's OpenSSL. Each spec's targets
are read plainly, and each output must be the very bytes a full check or sync proved for this
gen-ci, this exact spec and this pin file. Anything else (an option, a drift, a spec it cannot read plainly,
a directory it cannot list plainly, a problem) answers None, and the full command runs from the
start, so every message and exit status stays the full command's. Paths follow
generator.project's rules, with os.path. What counts as in sync is what a full run proved
(generator.insync), never a hash written in an output.
"""

from __future__ import annotations

import os
import sys

from generator.insync import outputs_in_sync
from generator.roots import repository_root

# generator.project.DEFAULT_SPECS, in its order.
_NAMED = ("gen-ci.yml", "gen-ci.yaml")
_IN_DIRECTORY = (".yml", ".yaml")


def _discover(root: str) -> list[str] | None:
    found = [os.path.join(root, name) for name in _NAMED if os.path.isfile(os.path.join(root, name))]
    folder = os.path.join(root, ".gen-ci")
    if os.path.isdir(folder):
        names = os.listdir(folder)
        if any(name.startswith(".") for name in names):
            return None  # glob patterns and hidden names: leave that to the full command
        for suffix in _IN_DIRECTORY:
            found += sorted(os.path.join(folder, n) for n in names if n.endswith(suffix) and os.path.isfile(os.path.join(folder, n)))
    return found


COMMANDS = ("render", "check", "sync", "lint", "schema", "pins", "explain", "init", "doctor", "plan", "setup", "policy")


def render_to_stdout(argv: list[str]) -> int | None:
    """`gen-ci SPEC [--target T]` (or `render SPEC ...`) when it renders cleanly: the text, without click.

    Any problem answers None before anything is written, and the full command reports it.
    """
    args = argv[1:] if argv[:1] == ["render"] else argv
    if not args or args[0] in COMMANDS or args[0].startswith("-"):
        return None
    spec, options = args[0], args[1:]
    target = None
    if options:
        from generator.targets import PLATFORMS

        if len(options) != 2 or options[0] not in ("--target", "-t") or options[1] not in PLATFORMS:
            return None
        target = options[1]
    try:
        from generator.pipeline import generate

        _, _, text = generate(spec, target)
    except Exception:  # noqa: BLE001 - the full command says what went wrong, in its own words
        return None
    sys.stdout.write(text)
    return 0


def run(argv: list[str]) -> int | None:
    if argv and argv[0] not in ("check", "sync"):
        return render_to_stdout(argv)
    if not argv or any(arg.startswith("-") for arg in argv[1:]):  # --strict, in CI, always renders
        return None
    given = argv[1:]
    root = repository_root(os.getcwd())
    specs = given or _discover(root)
    if not specs:
        return None
    written: list[str] = []
    for spec in specs:
        outputs = outputs_in_sync(spec)
        if outputs is None:
            return None
        written += outputs
    if len(set(written)) != len(written):
        return None  # two specs writing one file: an error the full command reports (GC115)
    if not given:
        found = ", ".join(os.path.relpath(spec, root) for spec in specs)
        sys.stderr.write(f"gen-ci: found {len(specs)} spec{'s' if len(specs) != 1 else ''} in {root}: {found}\n")
    return 0


def main() -> None:
    """The console script: the fast path, or else the full command line."""
    code = run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from generator.cli import main as full

    full(prog_name="gen-ci")
