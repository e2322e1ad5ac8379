"""gen-ci import, GitLab: gen-ci's own outputs read back, and the shapes people write by hand."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator.commands.plan import usual_runs
from generator.fingerprint import split
from generator.importing import EXAMPLE_SHA, Imported
from generator.importing.gitlab import GitLabImportError, read_gitlab
from generator.lint.document import LintInputError
from generator.model import Model
from generator.pipeline import compile_spec
from generator.plan import Outcome, Run, outcome, parse_run
from tests.conftest import GOLDEN, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import" / "gitlab"
# The runs the issue names: push to the default branch and to another, a tag, a merge request, a schedule.
NAMED = [Run("push", "main"), Run("push", "feature/x"), Run("tag", "v1.2.3"), Run("pr", "main"), Run("schedule", "main")]


def compiled(spec: dict, directory: Path) -> Model:
    """The imported spec through the same loading, validation and checks `gen-ci plan` uses."""
    spec_file = directory / "imported-spec.yml"
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return compile_spec(spec_file)[1]


def _seen(result: Outcome) -> tuple:
    return result.runs, result.publishes, result.event, tuple(result.references), tuple(result.jobs)


def round_trip(platform: str, output: str, reader: Callable[[list[Path]], Imported], tmp_path: Path) -> tuple[list[str], list[str]]:
    """(goldens whose import plans alike on every run and whose original side reads alike, the
    others): each output
    without its header, alone in a directory of its own so its spec is out of reach."""
    matching, differing = [], []
    for golden in sorted(path.parent for path in GOLDEN.glob(f"*/{output}")):
        place = tmp_path / golden.name
        place.mkdir()
        copied = place / output
        copied.write_text(split((golden / output).read_text(encoding="utf-8"))[1], encoding="utf-8")
        for extra in golden.iterdir():  # a version file the spec reads sits beside it
            if extra.name not in (output, "spec.yml") and extra.is_file() and "." not in extra.name:
                shutil.copy(extra, place / extra.name)
        imported = reader([copied])
        mine = compiled(imported.spec, place)
        theirs = compile_spec(golden / "spec.yml")[1]
        runs = NAMED + [run for run in usual_runs(theirs, platform, "main") if run not in NAMED]
        same = all(_seen(outcome(theirs, platform, run, [], "main", golden)) == _seen(outcome(mine, platform, run, [], "main", place)) for run in runs)
        # The original's side for --compare, read from the output itself, says what the golden spec publishes.
        same = same and all(outcome(theirs, platform, parse_run(event, EXAMPLE_SHA), [], "main", golden).references == references
                            for event, references in imported.original_publishes.items())
        (matching if same else differing).append(golden.name)
    return matching, differing


def test_every_gitlab_golden_imports_back_into_a_spec_that_plans_alike(tmp_path: Path) -> None:
    matching, differing = round_trip("gitlab", "gitlab.yml", read_gitlab, tmp_path)
    assert len(matching) >= 0.9 * (len(matching) + len(differing))
    # Pinned both ways: a golden that starts to differ is a regression, one that stops is news.
    assert differing == []
    assert len(matching) == len(list(GOLDEN.glob("*/gitlab.yml")))


def _template(tmp_path: Path) -> tuple[Imported, Model]:
    imported = read_gitlab([FIXTURES / "docker-template.yml"])
    return imported, compiled(imported.spec, tmp_path)


@pytest.mark.parametrize("event, references", [
    ("push:main", ["platform:01234567", "platform:latest"]),
    ("push:feature/x", ["platform:01234567"]),
    ("tag:v1.2.3", ["platform:v1.2.3"]),
    ("pr:main", []),
    ("manual:main", ["platform:01234567", "platform:latest"]),
])
def test_the_docker_template_shape_publishes_what_it_published(tmp_path: Path, event: str, references: list[str]) -> None:
    imported, model = _template(tmp_path)
    assert imported.original_publishes[event] == references
    assert outcome(model, "gitlab", parse_run(event, EXAMPLE_SHA)).references == references


def test_the_docker_template_shape_reads_as_gen_ci_words(tmp_path: Path) -> None:
    imported, _ = _template(tmp_path)
    image = imported.spec["images"][0]
    assert image["publish"] == [{"repository": "platform"}]
    assert image["tags"] == [{"tag": "{sha8}", "branches": ["**"]}, {"tag": "latest", "branches": ["main"]}, {"tag": "{ref}", "tags": ["**"]}]
    assert imported.spec["docker"] == {"mode": "dind"}
    # Schedules live in the project's settings: that side is said unreadable, not guessed.
    assert "schedule:main" in imported.unreadable and "schedule:main" not in imported.original_publishes
    assert any(note.kind == "assumed" and "CI_DEFAULT_BRANCH" in note.message for note in imported.notes)
    assert {note.kind for note in imported.notes} >= {"assumed", "added"}


def test_a_job_it_does_not_model_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    imported = read_gitlab([FIXTURES / "custom-job.yml"])
    compiled(imported.spec, tmp_path)
    [note] = [n for n in imported.notes if n.kind == "not-carried"]
    assert (note.file, note.line) == (str(FIXTURES / "custom-job.yml"), 3)
    assert "lint" in note.message and note.advice
    image = imported.spec["images"][0]
    assert image["test"] == "npm test" and image["build_args"] == {"NODE_VERSION": "22"}
    assert image["publish"] == [{"repository": "registry.example.com/acme/web", "auth": "secrets", "username": "REGISTRY_USER", "password": "REGISTRY_TOKEN"}]
    assert imported.spec["push"]["branches"] == ["main"] and imported.spec["push"]["tags"] == []


def test_kaniko_reads_as_a_rootless_build_and_its_slug_difference_shows(tmp_path: Path) -> None:
    imported = read_gitlab([FIXTURES / "kaniko.yml"])
    model = compiled(imported.spec, tmp_path)
    assert imported.spec["docker"]["mode"] == "rootless"
    assert imported.spec["images"][0]["dockerfile"] == "docker/Dockerfile"
    assert imported.spec["triggers"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+"]
    # CI_COMMIT_REF_SLUG makes v1-2-3 of a tag; gen-ci's ref keeps the dots, and the report says so.
    assert imported.original_publishes["tag:v1.2.3"] == ["platform:v1-2-3"]
    assert outcome(model, "gitlab", parse_run("tag:v1.2.3")).references == ["platform:v1.2.3"]
    assert any("CI_COMMIT_REF_SLUG" in note.message for note in imported.notes)


def test_buildah_and_buildkit_carry_platforms_targets_and_named_credentials(tmp_path: Path) -> None:
    buildah = read_gitlab([FIXTURES / "buildah.yml"])
    compiled(buildah.spec, tmp_path)
    image = buildah.spec["images"][0]
    assert (image["dockerfile"], image["platforms"]) == ("Containerfile", ["linux/arm64"])
    assert image["publish"] == [{"repository": "quay.io/acme/tool", "auth": "secrets", "username": "QUAY_USER", "password": "QUAY_PASSWORD"}]
    assert buildah.original_publishes["tag:v1.2.3"] == ["quay.io/acme/tool:01234567"]
    buildkit = read_gitlab([FIXTURES / "buildkit.yml"])
    model = compiled(buildkit.spec, tmp_path)
    assert buildkit.spec["images"][0]["target"] == "runtime"
    assert outcome(model, "gitlab", parse_run("push:main", EXAMPLE_SHA)).references == buildkit.original_publishes["push:main"] == ["platform:01234567"]
    assert outcome(model, "gitlab", parse_run("push:feature/x")).references == []


@pytest.mark.parametrize("fixture, where", [("broken.yml", "broken.yml:5:1:"), ("no-image.yml", "no-image.yml:1:1:")])
def test_malformed_input_is_a_located_error(fixture: str, where: str) -> None:
    with pytest.raises(LintInputError) as caught:
        read_gitlab([FIXTURES / fixture])
    assert str(caught.value).startswith(str(FIXTURES / where)), str(caught.value)


def test_a_github_workflow_is_refused_by_name(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps: []\n", encoding="utf-8")
    with pytest.raises(GitLabImportError, match=r"ci\.yml:1:1: this is a GitHub workflow, not a GitLab CI file; gen-ci import reads"):
        read_gitlab([workflow])
