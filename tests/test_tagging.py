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
