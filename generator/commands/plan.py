"""`gen-ci plan`: what a spec publishes for a run, for a table of the usual runs, or what a change
to the spec changes in that table. It reads the same plan the outputs are rendered from."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from generator.model import Model
from generator.pipeline import compile_spec
from generator.plan import (
    PIPELINES,
    Outcome,
    PlanError,
    Run,
    chain_notes,
    outcome,
    parse_run,
)
from generator.project import repository_root


def pipeline_targets(model: Model) -> list[str]:
    return [platform for platform in PIPELINES if platform in model.targets]


def choose_platform(model: Model, platform: str | None) -> list[str]:
    targets = pipeline_targets(model)
    if platform is None:
        return targets
    if platform not in targets:
        raise PlanError(f"--platform {platform}: this spec renders {', '.join(targets) or 'no pipeline'}")
    return [platform]


def released_tags(spec_file: Path, given: tuple[str, ...]) -> list[str]:
    """Versions already released: as given, else the git tags of the spec's checkout."""
    if given:
        return list(given)
    try:
        done = subprocess.run(["git", "tag", "--list"], cwd=spec_file.resolve().parent, capture_output=True, text=True, timeout=30)
    except OSError:
        return []
    return done.stdout.split() if done.returncode == 0 else []


def usual_runs(model: Model, platform: str, default_branch: str) -> list[Run]:
    """One run of each kind the spec starts, on refs its own patterns name."""
    trig, push = model.triggers, model.push
    branch = default_branch
    tag = _example(push.tags or trig["tags"], "v1.2.3")
    other = "feature/x" if branch != "feature/x" else "topic"
    out = [Run("push", branch), Run("push", other), Run("pr", branch)]
    if trig["tags"] or push.tags:
        out.append(Run("tag", tag))
    if trig["schedule"]:
        out.append(Run("schedule", branch))
    if trig["manual"]:
        out.append(Run("manual", branch))
    if platform == "github" and trig["release"]:
        out.append(Run("release", tag))
    return out


def _example(patterns: list[str], fallback: str) -> str:
    """A ref the first pattern matches, its globs filled with a version-like text."""
    if not patterns:
        return fallback
    pattern = patterns[0]
    if pattern in ("v*", "*", "**"):
        return fallback.lstrip("v") if pattern != "v*" else fallback
    classed = re.sub(r"\[([A-Za-z0-9])[^\]]*\]", r"\1", pattern)  # a class stands for its first character
    return classed.replace("**", "1").replace("*", "1").replace("+", "")


def describe(run: Run) -> str:
    return f"{run.kind}:{run.ref}"


def text(result: Outcome) -> str:
    return "".join(f"{reference}\n" for reference in result.references)


def as_json(results: list[Outcome]) -> str:
    return json.dumps([
        {
            "platform": r.platform,
            "event": describe(r.run),
            "sha": r.run.sha,
            "runs": r.runs,
            "publishes": r.publishes,
            "publishing_event": r.event,
            "references": r.references,
            "jobs": r.jobs,
        }
        for r in results
    ], indent=2) + "\n"


def table(results: list[Outcome]) -> str:
    lines = []
    for result in results:
        where = f"{result.platform:<8} {describe(result.run):<24}"
        if not result.runs:
            lines.append(f"{where} no run")
        elif not result.references:
            lines.append(f"{where} builds, tests and scans; publishes nothing")
        else:
            lines += [f"{where if index == 0 else ' ' * len(where)} {reference}" for index, reference in enumerate(result.references)]
    return "\n".join(lines) + "\n"


def changes(before: list[Outcome], after: list[Outcome]) -> str:
    """What a change to the spec changes in the table, run by run: + newly published, - no longer."""
    old = {(r.platform, describe(r.run)): r for r in before}
    lines = []
    for result in after:
        previous = old.get((result.platform, describe(result.run)))
        was = set(previous.references) if previous else set()
        now = set(result.references)
        where = f"{result.platform} {describe(result.run)}"
        if previous and previous.runs != result.runs:
            lines.append(f"{where}: {'now runs' if result.runs else 'no longer runs'}")
        lines += [f"{where}: + {reference}" for reference in sorted(now - was)]
        lines += [f"{where}: - {reference}" for reference in sorted(was - now)]
    return "\n".join(lines) + "\n" if lines else ""


def spec_at(spec_file: Path, git_ref: str, directory: Path) -> Path:
    """The spec as it was at a git ref, in a file of its own."""
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=spec_file.resolve().parent, capture_output=True, text=True)
    if root.returncode != 0:
        raise PlanError(f"--against {git_ref}: {spec_file} is not in a git checkout")
    relative = spec_file.resolve().relative_to(Path(root.stdout.strip()).resolve()).as_posix()
    shown = subprocess.run(["git", "show", f"{git_ref}:{relative}"], cwd=root.stdout.strip(), capture_output=True)
    if shown.returncode != 0:
        raise PlanError(f"--against {git_ref}: git has no {relative} there ({shown.stderr.decode(errors='replace').strip()})")
    old = directory / spec_file.name
    old.write_bytes(shown.stdout)
    return old


def mermaid(model: Model, platform: str) -> str:
    """The jobs of a publishing run and their order, as a Mermaid flowchart."""
    lines = ["flowchart LR"]
    publishing = model.push.enabled
    for image in model.images:
        key = "".join(c if c.isalnum() else "_" for c in image.id)
        steps = ["build"] + (["test"] if image.test else []) + (["scan"] if model.scan.tool != "none" else [])
        platforms = [build.platform for build in image.builds]
        lines.append(f'  subgraph {key}["{image.id}"]')
        for platform_name in platforms:
            slug = "".join(c if c.isalnum() else "_" for c in platform_name)
            chain = [f'{key}_{slug}_{step}["{step} {platform_name}"]' for step in steps]
            lines.append("    " + " --> ".join(chain))
        if publishing and image.registries:
            targets = ", ".join(registry.spelled for registry in image.registries)
            lines.append(f'    {key}_publish["publish to {targets}"]')
            for platform_name in platforms:
                slug = "".join(c if c.isalnum() else "_" for c in platform_name)
                lines.append(f"    {key}_{slug}_{steps[-1]} --> {key}_publish")
        lines.append("  end")
    for image in model.images:
        for base in dict.fromkeys(image.build_args_image.values()):
            lines.append(f'  {"".join(c if c.isalnum() else "_" for c in base)} -- "by digest" --> {"".join(c if c.isalnum() else "_" for c in image.id)}')
        # A chain publishes together: each publish job waits for every image of the chain.
        for other in (o for o in model.images if publishing and image.registries and o.id in image.chain and o.id != image.id):
            last = ["build", *(["test"] if other.test else []), *(["scan"] if model.scan.tool != "none" else [])][-1]
            for build in other.builds:
                slug = "".join(c if c.isalnum() else "_" for c in build.platform)
                lines.append(f'  {"".join(c if c.isalnum() else "_" for c in other.id)}_{slug}_{last} --> {"".join(c if c.isalnum() else "_" for c in image.id)}_publish')
    if publishing and platform == "jenkins":
        lines.append("  %% Jenkins publishes every image in one stage, after every image passed")
    return "\n".join(lines) + "\n"


def plan_results(spec_file: Path, platform: str | None, event: str | None, sha: str | None, default_branch: str, released: tuple[str, ...]) -> tuple[Model, list[Outcome]]:
    _, model = compile_spec(spec_file)
    platforms = choose_platform(model, platform)
    tags = released_tags(spec_file, released)
    checkout = repository_root(spec_file.resolve().parent)
    if event is not None:
        run = parse_run(event, sha)
        return model, [outcome(model, p, run, tags, default_branch, checkout) for p in platforms]
    results = []
    for p in platforms:
        for run in usual_runs(model, p, default_branch):
            run = Run(run.kind, run.ref, (sha or "0" * 40).ljust(40, "0"))
            results.append(outcome(model, p, run, tags, default_branch, checkout))
    return model, results


def plan(spec_file: Path, platform: str | None, event: str | None, sha: str | None, default_branch: str,
         released: tuple[str, ...], output_format: str, against: str | None) -> str:
    model, results = plan_results(spec_file, platform, event, sha, default_branch, released)
    if output_format == "mermaid":
        return "".join(mermaid(model, p) for p in choose_platform(model, platform))
    if against is not None:
        with tempfile.TemporaryDirectory() as directory:
            old = spec_at(spec_file, against, Path(directory))
            _, before = plan_results(old, platform, event, sha, default_branch, released)
        return changes(before, results) if output_format == "text" else as_json(results)
    if output_format == "json":
        return as_json(results)
    if event is not None:
        if len(results) > 1:
            raise PlanError(f"this spec renders {', '.join(result.platform for result in results)}: choose one with --platform")
        return text(results[0])
    return table(results) + "".join(f"note: {note}\n" for note in chain_notes(model))
