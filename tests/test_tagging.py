"""The tag computation script, run by real shells against real refs."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from generator.tagging import TagRule, rules_from_spec, tag_script

SCENARIO_1 = rules_from_spec([
    {"tag": "edge", "branches": ["main"]},
    "sha",
    "semver",
    "latest",
])
SHA = "0123456789abcdef0123456789abcdef01234567"


def _git_repo(path, tags):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    for tag in tags:
        subprocess.run(["git", "-C", str(path), "tag", tag], check=True)


def run(script: str, event: str, ref_type: str, ref_name: str, cwd, shell: str = "sh") -> list[str]:
    path = os.environ["PATH"]
    if shell == "busybox":  # the docker:cli image's shell and tools: busybox's sh, sed, awk, sort, grep
        tools = cwd.parent / "busybox-bin"
        tools.mkdir(exist_ok=True)
        for tool in ("sh", "sed", "awk", "sort", "tr", "cut", "grep", "tail", "printf"):
            if not (tools / tool).exists():
                (tools / tool).symlink_to(shutil.which("busybox"))
        path, shell = f"{tools}{os.pathsep}{path}", str(tools / "sh")
    env = {"PATH": path, "GEN_CI_EVENT": event, "GEN_CI_REF_TYPE": ref_type, "GEN_CI_REF_NAME": ref_name, "GEN_CI_SHA": SHA}
    result = subprocess.run([shell, "-eu", "-c", script], env=env, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def repo(tmp_path):
    _git_repo(tmp_path, ["v1.2.8", "v1.4.1", "v1.4.2", "v2.0.0-rc.1", "not-a-version"])
    return tmp_path


# busybox runs where it is installed (apt-get install busybox); CI machines have dash and bash.
SHELLS = ["sh", "bash", *(["busybox"] if shutil.which("busybox") else [])]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("event", "ref_type", "ref_name", "expected"), [
    ("push", "tag", "v1.4.2", ["sha-0123456789ab", "1.4.2", "1.4", "1", "latest"]),
    ("push", "tag", "v2.0.0-rc.1", ["sha-0123456789ab", "2.0.0-rc.1"]),  # a pre-release never moves latest or 2
    ("push", "tag", "v1.2.8", ["sha-0123456789ab", "1.2.8", "1.2"]),  # a backport moves 1.2, never 1 or latest
    ("push", "branch", "main", ["edge", "sha-0123456789ab"]),
    ("push", "branch", "feature/x", ["sha-0123456789ab"]),
    ("push", "tag", "not-a-version", ["sha-0123456789ab"]),  # not semver: documented fallback, no version tags
])
def test_scenario_one_tags(repo, shell, event, ref_type, ref_name, expected):
    assert run(tag_script(SCENARIO_1), event, ref_type, ref_name, repo, shell) == expected


def test_a_backport_after_a_newer_release_does_not_move_latest(tmp_path):
    _git_repo(tmp_path, ["v2.0.0", "v1.2.9", "v1.4.2", "v1.10.0"])
    assert run(tag_script(SCENARIO_1), "push", "tag", "v1.2.9", tmp_path) == ["sha-0123456789ab", "1.2.9", "1.2"]
    assert run(tag_script(SCENARIO_1), "push", "tag", "v1.10.0", tmp_path) == ["sha-0123456789ab", "1.10.0", "1.10", "1"]
    assert "latest" in run(tag_script(SCENARIO_1), "push", "tag", "v2.0.0", tmp_path)


def test_ref_tags_are_sanitised_and_fit_the_docker_limit_with_the_suffix(repo):
    branch = "feature/" + "x" * 300
    tags = run(tag_script([TagRule("ref")], suffix="-alpine"), "push", "branch", branch, repo)
    assert tags == [("feature-" + "x" * 300)[: 128 - len("-alpine")] + "-alpine"]
    assert len(tags[0]) == 128
    assert run(tag_script([TagRule("ref")]), "push", "branch", ".hidden;$(id)`x`", repo) == ["_hidden---id--x-"]


def test_conditions_select_events_and_refs(repo):
    rules = rules_from_spec([{"tag": "nightly", "events": ["schedule"]}, {"tag": "ref", "events": ["push", "manual"]}, {"tag": "stable", "tags": ["v*"]}])
    script = tag_script(rules, prefix="web-")
    assert run(script, "schedule", "branch", "main", repo) == ["web-nightly"]
    assert run(script, "manual", "branch", "main", repo) == ["web-main"]
    assert run(script, "release", "tag", "v1.4.2", repo) == ["web-stable"]
    assert run(script, "push", "tag", "v1.4.2", repo) == ["web-v1.4.2", "web-stable"]


def test_spec_text_reaches_the_script_only_as_quoted_words(repo):
    script = tag_script(rules_from_spec([{"tag": "x", "branches": ["a*"]}]), prefix="$(touch pwned)", suffix="';touch pwned;'")
    assert run(script, "push", "branch", "ab", repo) == ["$(touch pwned)x';touch pwned;'"]
    assert not (repo / "pwned").exists()


def test_ref_conditions_are_globs_as_everywhere(repo):
    script = tag_script(rules_from_spec([{"tag": "rel", "branches": ["release/*"]}, {"tag": "v3", "tags": ["v3.*.*"]}]))
    assert run(script, "push", "branch", "release/1.x", repo) == ["rel"]
    assert run(script, "push", "branch", "release/a/b", repo) == []  # * stays in one path segment
    assert run(script, "push", "tag", "v3.1.0", repo) == ["v3"]
    assert run(script, "push", "tag", "v3.1", repo) == []


# The vocabulary: templates, version schemes and version files, each script against tags_for.

from generator.tagging import Versioning, tags_for  # noqa: E402

RELEASED = ["v1.2.8", "v1.4.1", "v1.4.2", "v2.0.0-rc.1", "not-a-version", "2026.06.1", "2026.07.1", "3.1", "3.2"]
TEMPLATES = rules_from_spec([
    {"tag": "{ref}-{sha7}", "branches": ["main", "release/*"]}, "sha-{sha8}", "{sha40}", "v{version}", "v{major}.{minor}", "v{major}",
    "{major}.{minor}-{prerelease}", "build-{date}", "latest", {"tag": "latest", "events": ["schedule"], "branches": ["main"]},
])
RUNS = [
    ("push", "branch", "main"), ("push", "branch", "release/1.x"), ("push", "tag", "v1.4.2"), ("push", "tag", "v1.2.9"),
    ("push", "tag", "v1.4.3-rc.2"), ("release", "tag", "2026.07.2"), ("release", "tag", "2026.05.9"), ("push", "tag", "3.3"),
    ("push", "tag", "3.1.5-beta"), ("schedule", "branch", "main"), ("push", "tag", "not-a-version"),
]
VERSION_FILES = [
    ("VERSION", "3.2.1\nsecond line\n"),
    ("package.json", '{\n  "name": "app",\n  "version": "3.3.0",\n  "dependencies": {"x": "1.0.0"}\n}\n'),
    ("pyproject.toml", '[build-system]\nrequires = ["x"]\n\n[project]\nname = "app"\nversion = "3.1.7"\n'),
    ("Cargo.toml", '[package]\nname = "app"\nversion = "3.2.0-rc.1"\n\n[dependencies]\nversion = "9.9.9"\n'),
]


@pytest.fixture
def released(tmp_path):
    _git_repo(tmp_path, RELEASED)
    return tmp_path


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("scheme", ["semver", "calver", "two-part"])
def test_templates_print_what_the_plan_says(released, shell, scheme, monkeypatch):
    """Every run, every scheme: the shell a job runs prints the tags `gen-ci plan` computes."""
    import datetime

    versioning = Versioning(scheme=scheme)
    script = tag_script(TEMPLATES, suffix="-slim", also_unsuffixed=True, versioning=versioning)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    for event, ref_type, ref_name in RUNS:
        expected = tags_for(TEMPLATES, event, ref_type, ref_name, SHA, RELEASED, "", "-slim", True, versioning, "", today)
        assert run(script, event, ref_type, ref_name, released, shell) == expected, (scheme, ref_name)


def test_moving_tags_never_move_backwards(released):
    versioning = Versioning(scheme="semver")
    script = tag_script(TEMPLATES, versioning=versioning)
    backport = run(script, "push", "tag", "v1.2.9", released)
    assert "v1.2" in backport and "v1" not in backport and "latest" not in backport
    prerelease = run(script, "push", "tag", "v1.4.3-rc.2", released)
    assert {"v1.4.3-rc.2", "1.4-rc.2"} <= set(prerelease) and not {"v1.4", "v1", "latest"} & set(prerelease)  # it moves nothing


@pytest.mark.parametrize(("name", "text"), VERSION_FILES)
@pytest.mark.parametrize("shell", SHELLS)
def test_a_version_file_names_the_version_on_every_run(released, name, text, shell):
    (released / "sub").mkdir()
    (released / "sub" / name).write_text(text)
    versioning = Versioning(scheme="semver", source="file", file=f"sub/{name}")
    rules = rules_from_spec(["{version}", "{major}.{minor}", "latest"])
    script = tag_script(rules, versioning=versioning)
    for event, ref_type, ref_name in (("push", "branch", "main"), ("push", "tag", "v9.9.9")):
        expected = tags_for(rules, event, ref_type, ref_name, SHA, RELEASED, versioning=versioning, file_text=text)
        assert run(script, event, ref_type, ref_name, released, shell) == expected
    assert expected[0] == {"VERSION": "3.2.1", "package.json": "3.3.0", "pyproject.toml": "3.1.7", "Cargo.toml": "3.2.0-rc.1"}[name]


def test_a_version_file_that_is_missing_or_no_version_stops_the_job(released):
    versioning = Versioning(source="file", file="VERSION")
    script = tag_script(rules_from_spec(["{version}"]), versioning=versioning)
    env = {"PATH": os.environ["PATH"], "GEN_CI_EVENT": "push", "GEN_CI_REF_TYPE": "branch", "GEN_CI_REF_NAME": "main", "GEN_CI_SHA": SHA}
    missing = subprocess.run(["sh", "-eu", "-c", script], env=env, cwd=released, capture_output=True, text=True)
    assert missing.returncode == 1 and "VERSION is not in the checkout" in missing.stderr
    (released / "VERSION").write_text("release 3\n")
    wrong = subprocess.run(["sh", "-eu", "-c", script], env=env, cwd=released, capture_output=True, text=True)
    assert wrong.returncode == 1 and "not semver: release 3" in wrong.stderr
