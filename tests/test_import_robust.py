"""gen-ci import on hand-written files: a located error (exit 2) or a spec that validates, never a crash.

Every CI file among the fixtures (the lint fixtures are realistic hand-written pipelines), mutated
workflows and GitLab files, and the odd spellings real files use. GENCI_EXAMPLES sets how many
mutations run (default 25, the same ones every run; setting it explores new ones)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generator.pipeline import compile_spec
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
ODD = FIXTURES / "import" / "odd"
EXAMPLES = int(os.environ.get("GENCI_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                    derandomize="GENCI_EXAMPLES" not in os.environ, phases=[Phase.explicit, Phase.generate])


def ci_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and (p.suffix in (".yml", ".groovy") or "Jenkinsfile" in p.name))


def imported(cli: Any, source: Path, out: Path, *extra: str) -> str:
    """Import source into out; assert the exit contract and, on success, that the spec validates."""
    result = cli("import", str(source), "-o", str(out), *extra)
    allowed = {0, 1, 2} if "--compare" in extra else {0, 2}
    assert result.exit_code in allowed, f"{source}: exit {result.exit_code}\n{result.stderr}"
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("gen-ci: ") and not out.exists(), result.stderr
        return ""
    assert str(source) in out.read_text().splitlines()[0] and str(source) in result.stderr
    compile_spec(out)
    return out.read_text()


@pytest.mark.parametrize("source", ci_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_ci_fixture_imports_into_a_valid_spec_or_a_located_error(cli, tmp_path, source):
    imported(cli, source, tmp_path / "gen-ci.yml")


def test_the_sweep_sees_every_kind_of_file():
    names = [str(p.relative_to(FIXTURES)) for p in ci_files()]
    assert len(names) >= 60
    assert any("Jenkinsfile" in n for n in names) and any("gitlab-ci" in n for n in names) and any("github" in n for n in names)


# --- located errors for files import does not read -------------------------------------------------


def test_reader_errors_are_located_and_exit_2(cli, tmp_path):
    broken = cli("import", str(FIXTURES / "import" / "jenkins" / "Jenkinsfile.broken"))
    assert broken.exit_code == 2 and "Jenkinsfile.broken:6:1: a string is not closed" in broken.stderr
    empty = cli("import", str(FIXTURES / "import" / "gitlab" / "no-image.yml"))
    assert empty.exit_code == 2 and "no-image.yml:1:1: no job builds or pushes an image" in empty.stderr


def test_a_compose_file_is_named_and_what_import_reads_is_said(cli):
    result = cli("import", str(FIXTURES / "lint" / "clean-compose.yml"))
    assert result.exit_code == 2
    assert "clean-compose.yml:1:1: this is a Docker Compose file" in result.stderr
    assert "gen-ci import reads GitHub workflows, .gitlab-ci.yml files and declarative Jenkinsfiles" in result.stderr


def test_a_gitlab_file_of_templates_alone_says_where_the_jobs_may_be(cli, tmp_path):
    source = tmp_path / "docker.gitlab-ci.yml"
    source.write_text(".build:\n  script:\n    - docker build -t $CI_REGISTRY_IMAGE .\n")
    result = cli("import", str(source))
    assert result.exit_code == 2
    assert "build commands appear only in hidden templates (.build)" in result.stderr


# --- mutations ---------------------------------------------------------------------------------------

WORKFLOW = {
    "name": "docker",
    "on": {"push": {"branches": ["main"], "tags": ["v*"]}, "pull_request": {"branches": ["main"]}},
    "jobs": {"image": {"runs-on": "ubuntu-24.04", "steps": [
        {"uses": "actions/checkout@v4"},
        {"uses": "docker/login-action@v3", "with": {"registry": "ghcr.io", "username": "${{ github.actor }}", "password": "${{ secrets.GITHUB_TOKEN }}"}},
        {"uses": "docker/build-push-action@v6", "with": {"push": "${{ github.event_name != 'pull_request' }}", "tags": "ghcr.io/acme/app:latest"}},
        {"run": "docker run --rm ghcr.io/acme/app:latest pytest -q"},
    ]}},
}
GITLAB = {
    "variables": {"IMAGE": "$CI_REGISTRY_IMAGE"},
    "build": {
        "image": "docker:27.3.1-cli", "services": ["docker:27.3.1-dind"],
        "rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}, {"if": "$CI_COMMIT_TAG"}],
        "before_script": ["docker login -u $CI_REGISTRY_USER -p $CI_REGISTRY_PASSWORD $CI_REGISTRY"],
        "script": ["docker build -t $IMAGE:$CI_COMMIT_SHORT_SHA .", "docker push $IMAGE:$CI_COMMIT_SHORT_SHA"],
    },
}
ODD_VALUES = [1, "x", ["a", 1], {"k": "v"}, None, True, [], {}, "${{ matrix.x }}", "$UNSET"]


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a document: mapping keys and list items, deepest last."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((*at, key))
        out += _paths(value, (*at, key))
    return out


def _mutate(document: dict[str, Any], edits: list[tuple[int, int, bool]]) -> dict[str, Any]:
    """Each edit picks a place; drop it, or put an odd value (a number for script:, a string for steps:) there."""
    document = copy.deepcopy(document)
    for place, value, drop in edits:
        paths = _paths(document)
        if not paths:
            break
        path = paths[place % len(paths)]
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        if drop:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(ODD_VALUES[value % len(ODD_VALUES)])
    return document


EDITS = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 50), st.booleans()), min_size=1, max_size=4)


@SETTINGS
@given(edits=EDITS, gitlab=st.booleans())
def test_mutated_files_never_crash_and_a_written_spec_validates(cli, tmp_path_factory, edits, gitlab):
    folder = tmp_path_factory.mktemp("mutated")
    source = folder / (".gitlab-ci.yml" if gitlab else "docker.yml")
    source.write_text(yaml.safe_dump(_mutate(GITLAB if gitlab else WORKFLOW, edits), sort_keys=False))
    imported(cli, source, folder / "gen-ci.yml", "--compare")


@pytest.mark.parametrize("path, value", [
    (("jobs", "image", "steps"), "docker build ."),
    (("jobs", "image", "steps", 2, "with"), "push: true"),
    (("on",), ["push", "pull_request"]),
    (("on", "push", "branches"), "main"),
    (("jobs", "image"), ["not", "a", "job"]),
])
def test_hand_picked_workflow_mutations(cli, tmp_path, path, value):
    imported(cli, _changed(WORKFLOW, path, value, tmp_path / "docker.yml"), tmp_path / "gen-ci.yml", "--compare")


def _changed(document: dict[str, Any], path: tuple, value: Any, source: Path) -> Path:
    document = copy.deepcopy(document)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    source.write_text(yaml.safe_dump(document, sort_keys=False))
    return source


@pytest.mark.parametrize("path, value", [
    (("build", "script"), 1),
    (("variables",), ["IMAGE", "x"]),
    (("build", "rules"), "$CI_COMMIT_TAG"),
    (("build", "services"), "docker:dind"),
    (("build",), "docker build ."),
])
def test_hand_picked_gitlab_mutations(cli, tmp_path, path, value):
    imported(cli, _changed(GITLAB, path, value, tmp_path / ".gitlab-ci.yml"), tmp_path / "gen-ci.yml", "--compare")


# --- odd spellings real files use -----------------------------------------------------------------------


def spec_of(cli: Any, name: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    out = tmp_path / "gen-ci.yml"
    result = cli("import", str(ODD / name), "-o", str(out), "--compare")
    assert result.exit_code in (0, 1), result.stderr
    compile_spec(out)
    return yaml.safe_load(out.read_text()), result.stderr


def test_on_as_a_string_runs_on_every_push(cli, tmp_path):
    spec, _ = spec_of(cli, "on-string.yml", tmp_path)
    assert spec["triggers"]["branches"] == ["**"] and spec["images"][0]["publish"] == [{"repository": "ghcr.io/acme/app"}]


def test_on_as_a_list_runs_pull_requests_and_pushes(cli, tmp_path):
    spec, _ = spec_of(cli, "on-list.yml", tmp_path)
    assert spec["triggers"]["pull_requests"] == ["**"] and spec["triggers"]["branches"] == ["**"]


def test_a_branch_and_a_tag_written_as_strings_are_one_pattern_each(cli, tmp_path):
    spec, stderr = spec_of(cli, "branches-string.yml", tmp_path)
    assert spec["triggers"]["branches"] == ["main"] and spec["triggers"]["tags"] == ["*"]
    # -t, --tag= and --tag all name the image; the two pushed tags are the two carried.
    assert spec["images"][0]["tags"] == ["{sha40}", "edge"]
    assert "push:main             = ghcr.io/acme/app:edge" in stderr.replace("                      = ", "push:main             = ")


def test_buildx_build_push_publishes_every_tag_it_names(cli, tmp_path):
    spec, stderr = spec_of(cli, "buildx-push.yml", tmp_path)
    assert spec["images"][0]["tags"] == ["{sha40}", {"tag": "latest", "branches": ["main"]}]
    assert "differences" not in stderr and "difference " not in stderr


def test_a_reusable_workflow_is_called_and_may_be_run_by_hand(cli, tmp_path):
    spec, stderr = spec_of(cli, "workflow-call.yml", tmp_path)
    assert spec["triggers"]["call"] is True and spec["triggers"]["manual"] is True
    assert "the spec runs when started by hand (triggers.manual)" in stderr


def test_only_and_except_with_a_registry_path_per_branch(cli, tmp_path):
    spec, stderr = spec_of(cli, "only-except.gitlab-ci.yml", tmp_path)
    assert spec["triggers"]["branches"] == ["main"] and spec["triggers"]["tags"] == ["**"]
    # $CI_REGISTRY_IMAGE/$CI_COMMIT_REF_SLUG is a repository per branch: no spec names it, so nothing publishes and --compare says so.
    assert "the registry of $CI_REGISTRY_IMAGE/$CI_COMMIT_REF_SLUG could not be named" in stderr
    assert spec["push"] == {"branches": [], "tags": []}
    assert "push:main             ? the original's side cannot be read here: $CI_REGISTRY_IMAGE/$CI_COMMIT_REF_SLUG:$CI_COMMIT_SHA reads a value" in stderr


def test_a_tag_rule_and_a_manual_fallback(cli, tmp_path):
    spec, stderr = spec_of(cli, "tag-rule-manual.gitlab-ci.yml", tmp_path)
    assert spec["triggers"]["manual"] is True and "manual" in spec["push"]["events"]
    assert "tag:v1.2.3            = platform:01234567" in stderr


def test_a_gitlab_image_built_and_tested_but_never_pushed_publishes_nothing(cli, tmp_path):
    spec, stderr = spec_of(cli, "build-only.gitlab-ci.yml", tmp_path)
    assert spec["images"] == [{"id": "app", "test": "pytest -q", "publish": [{"repository": "platform"}]}]
    assert spec["push"] == {"branches": [], "tags": []}
    assert "image app is built but never pushed" in stderr
    for event in ("push:main", "tag:v1.2.3", "manual:main"):
        assert f"{event:<22}= nothing" in stderr


def test_a_jenkins_image_never_pushed_keeps_the_name_it_was_built_as(cli, tmp_path):
    spec, stderr = spec_of(cli, "Jenkinsfile.build-only", tmp_path)
    assert spec["images"][0]["publish"] == [{"repository": "docker.io/acme/app"}]
    assert spec["push"] == {"branches": [], "tags": []} and "push:main             = nothing" in stderr


def test_a_jenkins_build_number_tag_is_not_carried_and_the_spec_still_validates(cli, tmp_path):
    spec, stderr = spec_of(cli, "Jenkinsfile.build-number", tmp_path)
    assert "the tag '${env.BUILD_NUMBER}' of registry.example.com/acme/app reads something gen-ci's tags cannot say" in stderr
    assert spec["images"][0]["publish"] == [{"repository": "registry.example.com/acme/app"}] and spec["images"][0]["tags"] == ["latest"]


def test_socket_mode_is_kept_on_the_runners_the_job_names_else_dind(cli, tmp_path):
    tagged, stderr = spec_of(cli, "socket-tags.gitlab-ci.yml", tmp_path)
    assert tagged["docker"] == {"mode": "socket"} and tagged["runners"] == {"gitlab": ["docker-socket"]}
    assert "on runners tagged docker-socket" in stderr
    (tmp_path / "gen-ci.yml").unlink()
    untagged, stderr = spec_of(cli, "socket-untagged.gitlab-ci.yml", tmp_path)
    assert untagged["docker"] == {"mode": "dind"} and "runners" not in untagged
    assert "no runner tags: the spec uses a dind service" in stderr


def test_dockerfiles_under_the_checkout_and_in_variables_are_read_from_the_root(cli, tmp_path):
    spec, stderr = spec_of(cli, "dockerfile-variables.gitlab-ci.yml", tmp_path)
    dockerfiles = {image["id"]: image.get("dockerfile", "Dockerfile") for image in spec["images"]}
    assert dockerfiles == {"ci": "docker/Dockerfile.ci", "app": "docker/Dockerfile", "other": "Dockerfile"}
    assert "$.images[2].dockerfile: '$UNKNOWN_PATH' is not something the spec can hold" in stderr


# --- the settling step alone -------------------------------------------------------------------------


def _spec(*images: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "name": "x", "targets": {"github": "ci.yml"}, "triggers": {"branches": ["main"]}, "images": list(images),
            "push": {"branches": ["main"], "tags": []}}


def test_settle_writes_a_capitalised_repository_in_lower_case_and_says_so():
    from generator.importing.settle import settle

    spec = _spec({"id": "app", "publish": [{"repository": "registry.hub.docker.com/Acme/app"}]})
    notes = settle(spec, "github", "ci.yml")
    assert spec["images"][0]["publish"] == [{"repository": "registry.hub.docker.com/acme/app"}]
    assert [n.kind for n in notes] == ["assumed"] and "Docker refuses capitals" in notes[0].message


def test_settle_joins_one_image_built_twice_and_suffixes_a_different_one():
    from generator.importing.settle import settle

    same = {"publish": [{"repository": "ghcr.io/acme/app"}]}
    spec = _spec({"id": "app", **same, "tags": ["sha"]}, {"id": "app-2", **same, "tags": ["edge"]},
                 {"id": "tools", **same, "dockerfile": "tools/Dockerfile", "tags": ["sha"]})
    notes = settle(spec, "github", "ci.yml")
    assert [(i["id"], i["tags"], i.get("tag_suffix")) for i in spec["images"]] == [("app", ["sha", "edge"], None), ("tools", ["sha"], "-tools")]
    assert len(notes) == 2 and "they are one image" in notes[0].message and "tag_suffix -tools" in notes[1].message


def test_settle_leaves_a_valid_spec_alone():
    from generator.importing.settle import settle

    spec = _spec({"id": "app", "publish": [{"repository": "ghcr.io/acme/app"}], "tags": ["sha"]})
    before = copy.deepcopy(spec)
    assert settle(spec, "github", "ci.yml") == [] and spec == before


def test_a_workflow_run_by_hand_alone_publishes_nothing_it_cannot_name(cli, tmp_path):
    spec, stderr = spec_of(cli, "dispatch-only.yml", tmp_path)
    assert spec["triggers"]["manual"] is True and "events" not in spec["push"]
    assert "publishes on manual runs from refs the spec cannot name: push.events leaves manual out" in stderr
