"""The shape of GitLab outputs: scripts said once through extends:, read as GitLab merges them."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.conftest import GOLDEN, golden_outputs
from tests.gitlab_rules import extended, job_script, resolved


def test_extends_deep_merges_mappings_and_replaces_everything_else():
    pipeline = {
        ".base": {"image": "a", "variables": {"A": "1", "B": "1"}, "script": ["base"], "tags": ["x"]},
        ".middle": {"extends": ".base", "variables": {"B": "2"}, "before_script": ["wait"]},
        "job": {"extends": [".middle"], "variables": {"C": "3"}, "script": ["own"]},
    }
    job = extended(pipeline, "job")
    assert job == {"image": "a", "variables": {"A": "1", "B": "2", "C": "3"}, "script": ["own"], "tags": ["x"], "before_script": ["wait"]}
    assert job_script(job) == ["wait", "own"]
    assert resolved(pipeline)["job"] == job and "extends" not in resolved(pipeline)[".middle"]
    with pytest.raises(ValueError):
        extended({"a": {"extends": "b"}, "b": {"extends": "a"}}, "a")


def test_the_dind_golden_is_at_most_220_lines():
    assert len((GOLDEN / "gitlab-dind" / "gitlab.yml").read_text().splitlines()) <= 220


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_the_privileged_daemon_and_the_scripts_are_written_once(path):
    raw = YAML(typ="safe").load(path.read_text())
    jobs = resolved(raw)
    spec = YAML(typ="safe").load((path.parent / "spec.yml").read_text())
    if (spec.get("docker") or {}).get("mode") == "rootless":
        assert ".gen-ci-docker" not in raw
        return  # no daemon: each job runs in the image of its tool
    # The dind service is written in .gen-ci-docker alone, and every job that starts a daemon gets it from there.
    holders = [name for name, job in raw.items() if isinstance(job, dict) and "services" in job]
    assert holders in ([], [".gen-ci-docker"]), holders
    for name, job in jobs.items():
        if not isinstance(job, dict) or name.startswith(".") or name == "check-generated" or "script" not in job:
            continue
        assert job.get("image") == raw[".gen-ci-docker"]["image"], name
        if holders:
            assert job["services"] == raw[".gen-ci-docker"]["services"], name
        # A job that builds does so exactly once, in the before_script of its image's hidden job.
        script = job_script(job)
        assert sum(item.count("docker build ") for item in script) <= 1, name
        assert not any("docker build " in item for item in raw[name].get("script") or []), name
