"""Scenario 31, the Dockerfile lint gate: hadolint runs with exactly the flags gen-ci renders (read
back from the rendered pipelines), and the spec's dockerfile_check is refused where a tool could not
honour it."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import pins
from tests.conftest import GOLDEN, MINIMAL, tool
from tests.test_errors import _errors

CASE = GOLDEN / "scenario-31-dockerfile-check"

# The hadolint command line as the templates write it: docker run ... "$HADOLINT_IMAGE" hadolint FLAGS - < FILE.
HADOLINT_LINE = re.compile(r'"\$HADOLINT_IMAGE" hadolint (?P<flags>.*) - < "\$GEN_CI_DOCKERFILE"$')

ERROR_AT_LINE_3 = "FROM debian:12.8\nUSER nobody\nWORKDIR app\n"  # DL3000 (error): a relative WORKDIR
APT_UNPINNED = "FROM debian:12.8\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER nobody\n"  # DL3008 (warning)
SHELL_FORM_CMD = "FROM debian:12.8\nUSER nobody\nCMD echo hi\n"  # DL3025 (warning)


def _scripts(text: str, platform: str) -> list[str]:
    """Every shell script of a rendered pipeline: GitHub's run steps, GitLab's script items."""
    document = yaml.safe_load(text)
    found = []
    for job in document["jobs"].values() if platform == "github" else document.values():
        if not isinstance(job, dict):
            continue
        if platform == "github":
            found += [step["run"] for step in job.get("steps", []) if "run" in step]
        else:
            found += [item for key in ("before_script", "script") for item in job.get(key) or [] if isinstance(item, str)]
    return found


def _hadolint_flags(text: str, platform: str) -> list[list[str]]:
    lines = [line.strip() for script in _scripts(text, platform) for line in script.splitlines()]
    return [shlex.split(match["flags"]) for match in map(HADOLINT_LINE.search, lines) if match]


def _hadolint(flags: list[str], dockerfile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("hadolint"), *flags, "-"], input=dockerfile, check=False, capture_output=True, text=True, timeout=60)


def test_the_test_hadolint_is_the_pinned_version():
    version = re.search(r":v(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}$", pins.image("hadolint"))
    assert version, pins.image("hadolint")
    out = subprocess.run([tool("hadolint"), "--version"], check=False, capture_output=True, text=True, timeout=60).stdout
    assert version[1] in out, out


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_golden_gate_fails_with_the_line_and_passes_the_ignored_rule(platform):
    rendered = _hadolint_flags((CASE / f"{platform}.yml").read_text(), platform)
    assert rendered and all(flags == rendered[0] for flags in rendered), rendered
    flags = rendered[0]  # fail_on: warning, DL3008 ignored
    failed = _hadolint(flags, ERROR_AT_LINE_3)
    assert failed.returncode != 0 and re.search(r"^-:3 DL3000 error", failed.stdout, re.MULTILINE), failed.stdout
    warned = _hadolint(flags, SHELL_FORM_CMD)
    assert warned.returncode != 0 and re.search(r"^-:3 DL3025 warning", warned.stdout, re.MULTILINE), warned.stdout
    ignored = _hadolint(flags, APT_UNPINNED)
    assert ignored.returncode == 0 and "DL3008" not in ignored.stdout, ignored.stdout


def test_default_level_is_error(cli, write_spec):
    spec = write_spec(MINIMAL.replace("  - repository: ghcr.io/acme/app\n", "  - repository: ghcr.io/acme/app\n    dockerfile_check: {tool: hadolint}\n"))
    result = cli(str(spec))
    assert result.exit_code == 0, result.stderr
    [flags] = _hadolint_flags(result.stdout, "github")[:1]
    assert _hadolint(flags, SHELL_FORM_CMD).returncode == 0  # a warning does not fail at error
    failed = _hadolint(flags, ERROR_AT_LINE_3)
    assert failed.returncode != 0 and "-:3 DL3000" in failed.stdout


def test_buildkit_skips_the_ignored_checks_and_writes_reasons_as_comments():
    text = (CASE / "gitlab.yml").read_text()
    assert "docker buildx build --call=check" in text
    assert "BUILDKIT_DOCKERFILE_CHECK=skip=JSONArgsRecommended" in text
    assert '# Ignored JSONArgsRecommended: "the worker\'s CMD runs through a shell on purpose"' in text
    # The reason is a comment only: no script of the pipeline holds it.
    assert not any("on purpose" in script for script in _scripts(text, "gitlab"))


def test_a_reason_cannot_end_the_comment(cli, write_spec):
    spec = write_spec(MINIMAL + "    dockerfile_check: {tool: hadolint, ignore: [{rule: DL3008, reason: \"ok\\n  evil: true\"}]}\n")
    rows = _errors(cli(str(spec)))
    assert [(r["code"], r["path"]) for r in rows] == [("GC013", "$.images[0].dockerfile_check.ignore[0].reason")]


@pytest.mark.parametrize(("check", "code", "where", "words"), [
    ("{tool: hadolint, fail_on: critical}", "GC012", "$.images[0].dockerfile_check.fail_on", "error"),
    ("{tool: hadolnt}", "GC012", "$.images[0].dockerfile_check.tool", "did you mean 'hadolint'"),
    ("{ignore: [{rule: DL3008}]}", "GC014", "$.images[0].dockerfile_check.ignore[0]", "reason"),
    ("{ignore: [{rule: DL3008, reason: ' '}]}", "GC013", "$.images[0].dockerfile_check.ignore[0].reason", ""),
    ("{ignore: [{rule: dl3008, reason: x}]}", "GC013", "$.images[0].dockerfile_check.ignore[0].rule", ""),
    ("{tool: hadolint, ignore: [{rule: JSONArgsRecommended, reason: x}]}", "GC162", "$.images[0].dockerfile_check.ignore[0].rule", "tool: buildkit"),
    ("{ignore: [{rule: DL3008, reason: x}]}", "GC162", "$.images[0].dockerfile_check.ignore[0].rule", "tool: hadolint"),
    ("{tool: hadolint, ignore: [{rule: DL3008, reason: x}, {rule: DL3008, reason: y}]}", "GC162", "$.images[0].dockerfile_check.ignore[1].rule", "twice"),
    ("{fail_on: warning}", "GC160", "$.images[0].dockerfile_check.fail_on", "one level"),
])
def test_bad_checks_are_refused_where_written(cli, write_spec, check, code, where, words):
    rows = _errors(cli(str(write_spec(MINIMAL + f"    dockerfile_check: {check}\n"))))
    assert [(r["code"], r["path"]) for r in rows] == [(code, where)], [r.string for r in rows]
    assert words in rows[0]["msg"] and int(rows[0]["line"]) == 6


def test_rootless_is_refused(cli, write_spec):
    spec = MINIMAL.replace("{github: .github/workflows/ci.yml}", "{gitlab: .gitlab-ci.yml}") + "    dockerfile_check: {}\ndocker: {mode: rootless}\n"
    rows = _errors(cli(str(write_spec(spec.replace("ghcr.io/acme/app", "registry.gitlab.com/acme/app")))))
    assert ("GC163", "$.images[0].dockerfile_check") in [(r["code"], r["path"]) for r in rows], [r.string for r in rows]


def test_without_the_key_nothing_changes():
    assert "dockerfile_check" not in Path(GOLDEN / "scenario-07-prepare" / "spec.yml").read_text()
    assert "--call=check" not in (GOLDEN / "scenario-07-prepare" / "github.yml").read_text()


def test_a_hostile_reason_stays_a_comment(cli, write_spec):
    reason = "${{ github.event.issue.title }} $(touch /tmp/x) '\\\" # evil: true"
    spec = write_spec(MINIMAL + f'    dockerfile_check: {{tool: hadolint, ignore: [{{rule: DL3008, reason: "{reason}"}}]}}\n')
    result = cli(str(spec))
    assert result.exit_code == 0, result.stderr
    assert "touch /tmp/x" in result.stdout  # written, as a comment
    assert "touch /tmp/x" not in yaml.safe_dump(yaml.safe_load(result.stdout))  # and nowhere a value


def test_buildkit_check_reads_the_spec_build_args_and_refuses_computed_ones(cli, write_spec):
    from tests.test_errors import _errors, _spec_with

    spec = _spec_with("images: [{repository: ghcr.io/acme/app, build_args: {PY: '3.12'}, dockerfile_check: {}}]\n")
    result = cli(str(write_spec(spec)))
    assert result.exit_code == 0, result.stderr
    assert '--build-arg "PY=$GEN_CI_BUILD_ARG_PY"' in result.stdout
    assert "GEN_CI_BUILD_ARG_PY: '3.12'" in result.stdout or 'GEN_CI_BUILD_ARG_PY: "3.12"' in result.stdout
    computed = _spec_with("images: [{repository: ghcr.io/acme/app, build_args: {V: {from: version}}, dockerfile_check: {}}]\n")
    rows = _errors(cli(str(write_spec(computed))))
    assert [row["code"] for row in rows] == ["GC163"] and "tool: hadolint" in rows[0]["msg"]
