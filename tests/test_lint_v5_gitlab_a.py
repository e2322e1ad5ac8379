"""lint v5 on GitLab (a): a pipeline-wide image written in an include is reported where it is
written, GL008 through a YAML anchor goes where the timeout belongs, and a BuildKit image a script
names (a buildx driver's image=) is held to GL001 as GH004 holds it in workflows."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.lint.document import every_pipeline, read_pipeline
from generator.lint.engine import TRUST_RULE_IDS, lint
from generator.lint.images import moving_buildkit_tags
from tests.conftest import ROOT
from tests.test_lint import _expected

FIXTURES_DIR = ROOT / "tests" / "fixtures" / "lint" / "v5-gitlab-a"
FIXTURES = sorted(FIXTURES_DIR.glob("*.yml"))


def _findings(path: Path) -> list:
    # The trust rules speak on these fixtures' builds too; they are tested on fixtures of their own.
    return [finding for finding in lint(read_pipeline(path)) if finding.rule not in TRUST_RULE_IDS]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    files = [file for each in every_pipeline(read_pipeline(path)) for file in each.files]
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in _findings(path)}
    assert found == _expected(files)


def test_every_pattern_has_a_firing_fixture_and_a_quiet_one():
    quiet = [path.name for path in FIXTURES if not _findings(path)]
    assert sorted(quiet) == ["anchor-with-timeout.gitlab-ci.yml", "buildkit-in-script-pinned.gitlab-ci.yml", "included-image-pinned.gitlab-ci.yml"]


def _message(path: Path, rule: str) -> str:
    (finding,) = [f for f in _findings(path) if f.rule == rule]
    return finding.message


def test_an_included_pipeline_image_is_reported_once_for_the_jobs_that_inherit_it():
    message = _message(FIXTURES_DIR / "included-image.gitlab-ci.yml", "GL001")
    assert message.startswith("the pipeline: image docker/compose has no tag")
    assert message.endswith("(affects 2 jobs)")


def test_an_anchor_that_writes_the_script_too_is_reported_once_for_its_jobs():
    message = _message(FIXTURES_DIR / "anchor-shared-script.gitlab-ci.yml", "GL008")
    assert message.startswith(".daemon: no timeout") and message.endswith("(affects 2 jobs)")


def test_jobs_with_their_own_scripts_are_named_not_the_anchor():
    findings = _findings(FIXTURES_DIR / "anchor-differing-scripts.gitlab-ci.yml")
    assert sorted(f.message.split(":")[0] for f in findings if f.rule == "GL008") == ["build", "versions"]


def test_a_buildkit_template_is_named_with_the_jobs_it_reaches():
    message = _message(FIXTURES_DIR / "buildkit-in-script.gitlab-ci.yml", "GL001")
    assert message.startswith(".builder: the script's BuildKit image moby/buildkit:rootless moves")
    assert message.endswith("(affects 2 jobs)")


def _buildkit_findings(tmp_path: Path, image: str, variables: str = "{}") -> list[str]:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent(f"""\
        variables: {variables}
        build:
          image: docker:27.3.1-cli
          timeout: 30 minutes
          script:
            - docker buildx create --driver=docker-container --driver-opt=image={image} --use
            - docker buildx build -t app .
        """))
    return [f.message for f in _findings(path) if f.rule == "GL001"]


@pytest.mark.parametrize("image", ["moby/buildkit", "moby/buildkit:latest", "moby/buildkit:master", "moby/buildkit:buildx-stable-1", "mirror.example/moby/buildkit:rootless"])
def test_a_moving_buildkit_tag_in_a_script_is_unpinned(tmp_path, image):
    assert len(_buildkit_findings(tmp_path, image)) == 1


@pytest.mark.parametrize("image", ["moby/buildkit:v0.16.0", "moby/buildkit:0.16.0-rootless", "moby/buildkit@sha256:" + "a" * 64, "moby/buildkit:$UNSET_TAG"])
def test_a_release_a_digest_or_an_unknown_variable_is_not(tmp_path, image):
    assert _buildkit_findings(tmp_path, image) == []


def test_the_tag_is_read_through_the_pipeline_variables(tmp_path):
    assert len(_buildkit_findings(tmp_path, "moby/buildkit:$BUILDKIT_TAG", "{BUILDKIT_TAG: latest}")) == 1
    assert _buildkit_findings(tmp_path, "moby/buildkit:$BUILDKIT_TAG", "{BUILDKIT_TAG: v0.16.0}") == []


def test_github_and_gitlab_read_buildkit_tags_alike():
    assert list(moving_buildkit_tags("image=moby/buildkit:rootless image=moby/buildkit:v0.16.0 moby/buildkit")) == ["rootless", ""]
