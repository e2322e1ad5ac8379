"""Every golden output publishes exactly what `gen-ci plan` says, for a matrix of runs.

The output's side is read from the output alone (tests/agreement.py): its conditions evaluated as
each platform evaluates them, its tag and push scripts run in a real shell. The plan's side is
generator.plan. A disagreement names the golden, the platform and the run.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.pipeline import compile_spec
from generator.plan import Run, outcome, runs
from tests import agreement
from tests.conftest import GOLDEN

SHA = "0123456789abcdef0123456789abcdef01234567"
# Released before each run: v1.2.3 is then a backport, v2.0.0 the newest stable version.
RELEASED = ["v1.2.2", "v1.3.0", "v1.10.0", "2026.07.1", "not-a-version"]
BRANCHES = ["main", "develop", "feature/x", "release/1.x", "MAIN"]
TAGS = ["v1.2.3", "v2.0.0", "v2.1.0-rc.1", "1.4.2", "v1.2", "x1.0"]
DEFAULT_BRANCH = "main"


def _runs(platform: str) -> list[Run]:
    out = [Run(kind, ref, SHA) for kind in ("push", "pr", "schedule", "manual") for ref in BRANCHES]
    out += [Run("tag", ref, SHA) for ref in TAGS]
    if platform == "github":
        out += [Run("release", ref, SHA) for ref in TAGS]
    return out


def _goldens(platform: str) -> list[Path]:
    name = "Jenkinsfile" if platform == "jenkins" else f"{platform}.yml"
    return sorted(GOLDEN.glob(f"*/{name}"))


@cache
def _model(spec: Path):
    return compile_spec(spec)[1]


def _load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def _expected(spec: Path, platform: str, run: Run):
    return outcome(_model(spec), platform, run, RELEASED, DEFAULT_BRANCH)


@pytest.fixture
def checkout(tmp_path):
    clone = agreement.git_repository(tmp_path, RELEASED)
    # The version files goldens read sit where they do in this repository, as a job's checkout holds them.
    for version in GOLDEN.glob("*/VERSION"):
        target = clone / version.relative_to(GOLDEN.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(version.read_bytes())
    return clone


def _tagged(checkout: Path, run: Run) -> None:
    """The run's own tag exists in the checkout and at origin, as it does on a tag run."""
    import subprocess

    if run.ref_type == "tag":
        subprocess.run(["git", "-C", str(checkout), "tag", "-f", run.ref], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(checkout), "push", "-q", "-f", "origin", f"refs/tags/{run.ref}"], check=True, capture_output=True)


@pytest.mark.parametrize("path", _goldens("github"), ids=lambda p: p.parent.name)
def test_github_outputs_publish_what_the_plan_says(path, tmp_path, checkout):
    workflow = _load(path)
    spec = path.parent / "spec.yml"
    for run in _runs("github"):
        expected = _expected(spec, "github", run)
        where = f"{path.parent.name} github {run.kind}:{run.ref}"
        assert agreement.github_starts(agreement.caller_of(path, workflow), run, DEFAULT_BRANCH) == expected.runs, where
        if not expected.runs:
            continue
        _tagged(checkout, run)
        project = _model(spec).push.upstream or agreement.PROJECT
        publishes, references = agreement.github_publishes(workflow, run, tmp_path, checkout, project)
        assert (publishes, references) == (expected.publishes, expected.references), where


@pytest.mark.parametrize("path", _goldens("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_outputs_publish_what_the_plan_says(path, tmp_path, checkout):
    pipeline = _load(path)
    spec = path.parent / "spec.yml"
    for run in _runs("gitlab"):
        expected = _expected(spec, "gitlab", run)
        where = f"{path.parent.name} gitlab {run.kind}:{run.ref}"
        project = _model(spec).push.upstream or agreement.PROJECT
        jobs = agreement.gitlab_jobs(pipeline, run, project)
        assert (jobs is not None) == expected.runs, where
        if jobs is None:
            continue
        assert sorted(jobs) == sorted(expected.jobs), where
        _tagged(checkout, run)
        publishes, references = agreement.gitlab_publishes(pipeline, jobs, run, tmp_path, checkout, project)
        assert (publishes, references) == (expected.publishes, expected.references), where


@pytest.mark.parametrize("path", _goldens("jenkins"), ids=lambda p: p.parent.name)
def test_jenkins_outputs_publish_what_the_plan_says(path, tmp_path, checkout):
    from tests.test_jenkins import _holds, find, scripts, stages, tree

    text = path.read_text()
    spec = path.parent / "spec.yml"
    publish = stages(path).get("Publish")
    condition = find([publish], "when")[0]["body"][0] if publish else None
    for run in _runs("jenkins"):
        expected = _expected(spec, "jenkins", run)
        where = f"{path.parent.name} jenkins {run.kind}:{run.ref}"
        assert agreement.jenkins_starts(text, run) == expected.runs, where
        if not expected.runs:
            continue
        publishes = condition is not None and agreement_holds(_holds, condition, run)
        assert publishes == expected.publishes, where
        if not publishes:
            continue
        _tagged(checkout, run)
        references = agreement.jenkins_references(scripts(tree(path)), text, run, tmp_path, checkout)
        assert references == expected.references, where


def agreement_holds(holds, condition, run: Run) -> bool:
    return holds(condition, agreement.jenkins_run(run))


def test_the_matrix_reaches_every_kind_of_outcome():
    """The runs above publish somewhere, publish nothing somewhere, and do not run somewhere."""
    seen = set()
    for platform in ("github", "gitlab", "jenkins"):
        for path in _goldens(platform):
            for run in _runs(platform):
                result = _expected(path.parent / "spec.yml", platform, run)
                seen.add((platform, result.runs, result.publishes, bool(result.references)))
    for platform in ("github", "gitlab", "jenkins"):
        assert (platform, True, True, True) in seen
        assert (platform, True, False, False) in seen
    assert ("github", False, False, False) in seen and ("gitlab", False, False, False) in seen


def test_the_github_filter_reader_is_githubs():
    assert re.fullmatch(agreement.github_glob("v*.*.*"), "v1.2.3")
    assert not re.fullmatch(agreement.github_glob("release/*"), "release/a/b")
    assert re.fullmatch(agreement.github_glob("release/**"), "release/a/b")
    assert re.fullmatch(agreement.github_glob("v[0-9]+.[0-9]+"), "v10.2")
    assert not runs(_model(GOLDEN / "github-socket" / "spec.yml"), "github", Run("schedule", "main"))
