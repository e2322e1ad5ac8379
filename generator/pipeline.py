"""One spec file in, one canonical pipeline text out: load, validate, normalise, render, emit."""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from generator import exceptions, pins
from generator.diagnostics import SpecError
from generator.emitting import parsed
from generator.fingerprint import header, meaning_digest
from generator.loading import LoadedSpec, load_spec
from generator.mirror import base_image_note, bypassing, proxy_variable
from generator.model import Model, apply_defaults, build_model
from generator.project import overrides_path, repository_root, unsafe_outputs
from generator.rendering import YAML_OUTPUTS, render
from generator.rules import check_rules
from generator.validation import spec_schema, validate_schema


def compile_spec(spec_file: str | Path) -> tuple[LoadedSpec, Model]:
    loaded, _, model = compile_spec_data(spec_file)
    return loaded, model


def compile_spec_data(spec_file: str | Path, today: date | None = None) -> tuple[LoadedSpec, dict, Model]:
    """(the spec as read, its data with every default, the model as of today: the real date unless given)."""
    loaded = load_spec(spec_file)
    validate_schema(loaded)
    schema = spec_schema()
    complete = apply_defaults(loaded.data, schema, schema)
    check_rules(complete, loaded)
    spec_dir = posixpath.dirname(display_name(Path(spec_file)))
    _, images = pins.read_all_overrides(overrides_path(Path(spec_file)))
    with pins.images_in_use(complete.get("tool_images"), images, complete["docker"].get("mirror")):
        return loaded, complete, build_model(complete, spec_dir, today)


def choose_target(loaded: LoadedSpec, model: Model, target: str | None) -> str:
    if target is None:
        if len(model.targets) == 1:
            return next(iter(model.targets))
        listed = " or ".join(sorted(model.targets))
        raise SpecError([loaded.diagnostic(("targets",), "GC012", f"the spec renders {listed}; choose one with --target", key=True)])
    if target not in model.targets:
        listed = ", ".join(sorted(model.targets))
        raise SpecError([loaded.diagnostic(("targets",), "GC012", f"--target {target} is not among this spec's targets ({listed}); add targets.{target}", key=True)])
    return target


def display_name(spec_file: Path) -> str:
    """The spec's path from the repository root, so headers do not depend on where gen-ci ran."""
    resolved = spec_file.resolve()
    try:
        return resolved.relative_to(repository_root(resolved.parent)).as_posix()
    except ValueError:
        return spec_file.as_posix()


def refuse_bypass(loaded: LoadedSpec, platform: str, body: str, mirror: str) -> None:
    """GC175: a tool image the output would pull from a registry other than Docker Hub, past the mirror."""
    escaping = bypassing(body, mirror)
    if escaping:
        where = "a Docker Hub copy of it" if proxy_variable(mirror) else "a reference in the mirror"
        raise SpecError([loaded.diagnostic(
            ("docker", "mirror"), "GC175",
            f"the {platform} output would pull {', '.join(escaping)} past {mirror}, which proxies Docker Hub: "
            f"give that tool {where} in tool_images (`gen-ci pins resolve` prints its digest), or remove docker.mirror")])


def warn_on_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def render_outputs(spec_file: str | Path, target: str | None = None, *, every: bool = True,
                   today: date | None = None, warn: Callable[[str], None] = warn_on_stderr) -> list[tuple[str, str, str]]:
    """[(platform, output path declared by the spec, full text with header)].

    One entry for `target`; else every target, or (every=False) the spec's only target. Rendered as
    of today (the real date unless given); exceptions that end soon or have ended are said to warn.
    """
    spec_path = Path(spec_file)
    day = today or exceptions.today()
    loaded, complete, model = compile_spec_data(spec_path, day)
    problems = unsafe_outputs(spec_path, model.targets)
    if problems:
        raise SpecError([
            loaded.diagnostic(("targets", platform), "GC115", f"{model.targets[platform]!r} cannot be an output: {why}")
            for platform, why in problems.items()
        ])
    platforms = sorted(model.targets) if every and target is None else [choose_target(loaded, model, target)]
    overrides, images = pins.read_all_overrides(overrides_path(spec_path))
    action = pins.resolver(overrides)
    # Image overrides join the fingerprint only when there are some: without, it stays what it was.
    name, fingerprint = display_name(spec_path), meaning_digest(complete, [overrides, images] if images else overrides)
    out = []
    for platform in platforms:
        output = model.targets[platform]
        with pins.images_in_use(complete.get("tool_images"), images, model.docker.mirror):
            body = render(model, platform, action, name)
        if model.docker.mirror:
            refuse_bypass(loaded, platform, body, model.docker.mirror)
        if platform in YAML_OUTPUTS:
            body = parsed(body)
        out.append((platform, output, header(name, platform, output, fingerprint, body) + body))
    for line in exceptions.warnings(loaded, complete["scan"], day):  # once the render has succeeded
        warn(line)
    note = base_image_note(model.docker.mirror)
    if note:
        line, column = loaded.position(("docker", "mirror"))
        warn(f"{loaded.file}:{line}:{column}: note: $.docker.mirror: {note}")
    return out


def generate(spec_file: str | Path, target: str | None = None, today: date | None = None) -> tuple[str, str, str]:
    """(platform, output path declared by the spec, text) for one target."""
    return render_outputs(spec_file, target, every=False, today=today)[0]
