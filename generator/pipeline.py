"""One spec file in, one canonical pipeline text out: load, validate, normalise, render, emit."""

from __future__ import annotations

from pathlib import Path

from generator.diagnostics import Diagnostic, SpecError, json_path
from generator.loading import LoadedSpec, load_spec
from generator.model import Model


def compile_spec(spec_file: str | Path) -> tuple[LoadedSpec, Model]:
    from generator.model import apply_defaults, build_model
    from generator.rules import check_rules
    from generator.validation import spec_schema, validate_schema

    loaded = load_spec(spec_file)
    validate_schema(loaded)
    schema = spec_schema()
    complete = apply_defaults(loaded.data, schema, schema)
    check_rules(complete, loaded)
    return loaded, build_model(complete)


def choose_target(loaded: LoadedSpec, model: Model, target: str | None) -> str:
    if target is None:
        if len(model.targets) == 1:
            return next(iter(model.targets))
        listed = " or ".join(sorted(model.targets))
        raise SpecError([loaded.diagnostic(("targets",), "GC012", f"the spec renders {listed}; choose one with --target", key=True)])
    if target not in model.targets:
        line, column = loaded.position(("targets",), key=True)
        raise SpecError([Diagnostic(loaded.file, line, column, "GC012", json_path(("targets",)),
                                    f"--target {target} is not among this spec's targets ({', '.join(sorted(model.targets))}); add targets.{target}")])
    return target


def generate(spec_file: str | Path, target: str | None = None) -> tuple[str, str, str]:
    """(platform, output path declared by the spec, canonical text)."""
    from generator.emitting import canonical, header
    from generator.rendering import render

    loaded, model = compile_spec(spec_file)
    platform = choose_target(loaded, model, target)
    output = model.targets[platform]
    text = canonical(render(model, platform), header(Path(spec_file).as_posix(), platform, output))
    return platform, output, text
