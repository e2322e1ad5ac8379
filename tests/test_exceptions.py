"""Vulnerability exceptions (scenario 33): trivy's ignore file with each end date, warnings naming
id and owner, and an ended exception that no longer suppresses anything. The clock is always
given: no test depends on the real date."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from ruamel.yaml import YAML

from generator import exceptions
from generator.fingerprint import split
from generator.insync import outputs_in_sync
from generator.loading import load_spec
from generator.pipeline import generate, render_outputs
from tests.conftest import GOLDEN, ROOT, gitlab_scripts

DAY = date(2026, 5, 20)

SPEC = """\
version: 1
name: acme
targets: {{{targets}}}
docker: {{mode: dind}}
{runners}images: [{image}]
push: {{sign: false}}
scan:
  exceptions:
    - {{id: CVE-2024-0001, reason: "far off", owner: alice@acme.example, until: 2099-01-01}}
    - {{id: GHSA-f9gq-p7mw-2qcx, reason: "ends in three days", owner: "@acme/web", until: 2026-05-23}}
    - {{id: CVE-2023-9999, reason: "ended yesterday", owner: bob, until: 2026-05-19}}
    - {{id: GO-2024-1234, reason: "ends today", owner: carol, until: 2026-05-20}}
"""


def _spec(write_spec, targets="github: ci.yml", image="{repository: ghcr.io/acme/app}", name="spec.yml"):
    runners = "runners: {gitlab: [dind]}\n" if "gitlab" in targets else ""
    return write_spec(SPEC.format(targets=targets, image=image, runners=runners), name)


def _load(text: str):
    return YAML(typ="safe").load(split(text)[1])


def _github_ignore_file(text: str) -> dict:
    """The ignore file a GitHub scan step writes: its EXCEPTIONS variable, as printf writes it."""
    steps = [step for job in _load(text)["jobs"].values() for step in job.get("steps", []) if "EXCEPTIONS" in step.get("env", {})]
    assert steps
    return YAML(typ="safe").load(steps[0]["env"]["EXCEPTIONS"] + "\n")


def test_ignore_file_is_trivys_format_with_each_end_date():
    entries = [exceptions.VulnerabilityException("CVE-2024-0001", 'says "$(rm -rf /)" and ${{ github.token }}', "o'neil", "2099-01-01")]
    document = YAML(typ="safe").load("\n".join(exceptions.trivy_ignore_lines(entries)))
    assert document == {"vulnerabilities": [{
        "id": "CVE-2024-0001",
        "statement": 'says "$(rm -rf /)" and ${{ github.token }} (owner: o\'neil; until 2099-01-01)',
        "expired_at": date(2099, 1, 1),  # a YAML timestamp, as trivy's expired_at reads it
    }]}


def test_ended_exception_is_not_rendered_and_warns_with_id_and_owner(write_spec):
    spec = _spec(write_spec)
    said: list[str] = []
    (_, _, text), = render_outputs(spec, today=DAY, warn=said.append)
    ignored = {entry["id"]: entry["expired_at"] for entry in _github_ignore_file(text)["vulnerabilities"]}
    assert ignored == {"CVE-2024-0001": date(2099, 1, 1), "GHSA-f9gq-p7mw-2qcx": date(2026, 5, 23)}
    assert "CVE-2023-9999" not in text and "GO-2024-1234" not in text
    assert len(said) == 3
    assert all(line.startswith(f"{spec}:") and ": warning: $.scan.exceptions[" in line for line in said)
    assert any("CVE-2023-9999 (owner: bob) ended on 2026-05-19" in line and "no longer suppresses" in line for line in said)
    assert any("GO-2024-1234 (owner: carol) ended on 2026-05-20" in line for line in said)
    assert any("GHSA-f9gq-p7mw-2qcx (owner: @acme/web) ends on 2026-05-23, in 3 days" in line for line in said)
    assert not any("CVE-2024-0001" in line for line in said)


def test_a_day_before_the_end_the_exception_still_holds(write_spec):
    spec = _spec(write_spec)
    (_, _, text), = render_outputs(spec, today=date(2026, 5, 19), warn=lambda line: None)
    assert "GO-2024-1234" in text and "CVE-2023-9999" not in text


def test_golden_exceptions_end_far_off_so_the_golden_never_changes_by_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = "golden/scenario-33-vulnerability-exceptions/spec.yml"
    for day in (date(2026, 1, 1), date(2098, 12, 1)):
        said: list[str] = []
        for platform, _, text in render_outputs(spec, today=day, warn=said.append):
            assert text == (GOLDEN / "scenario-33-vulnerability-exceptions" / f"{platform}.yml").read_text(encoding="utf-8")
        assert said == []


def test_gitlab_and_jenkins_write_the_same_file_as_data(write_spec, tmp_path):
    gitlab = _spec(write_spec, "gitlab: .gitlab-ci.yml", "{publish: [{repository: platform}]}", "gitlab.yml")
    jenkins = _spec(write_spec, "jenkins: Jenkinsfile", "{repository: docker.io/acme/app}", "jenkins.yml")
    expected = "\n".join(exceptions.trivy_ignore_lines(exceptions.holding(exceptions.listed(
        load_spec(gitlab).data["scan"]), DAY)))
    said: list[str] = []
    (_, _, gitlab_text), = render_outputs(gitlab, today=DAY, warn=said.append)
    assert len(said) == 3
    variable = _load(gitlab_text)[".gen-ci-docker"]["variables"]["GEN_CI_EXCEPTIONS"]
    assert variable == {"value": expected, "expand": False}  # GitLab would expand a $ in a reason
    scripts = [open(path).read() for path in gitlab_scripts(_output(tmp_path, gitlab_text), tmp_path)]
    scan = next(script for script in scripts if "--show-suppressed" in script)
    assert 'printf \'%s\\n\' "$GEN_CI_EXCEPTIONS" > gen-ci-trivyignore.yaml' in scan
    assert "--ignorefile /gen-ci-trivyignore.yaml" in scan and 'docker cp gen-ci-trivyignore.yaml "$scanner:/gen-ci-trivyignore.yaml"' in scan
    # Jenkins: the same lines, each a single-quoted shell word inside the Groovy string, as Groovy reads it.
    from tests.test_jenkins import scripts, tree

    (_, _, jenkinsfile), = render_outputs(jenkins, today=DAY, warn=said.append)
    (tmp_path / "Jenkinsfile").write_text(jenkinsfile)
    (scan,) = [script for script in scripts(tree(tmp_path / "Jenkinsfile")) if "--show-suppressed" in script]
    command = scan[scan.index("printf '%s\\n' \\\n  vulnerabilities"):scan.index("> gen-ci-trivyignore.yaml")]
    printed = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    assert printed == expected + "\n"
    assert 'docker cp gen-ci-trivyignore.yaml "$scan:/gen-ci-trivyignore.yaml"' in scan


def _output(tmp_path, text):
    path = tmp_path / "gitlab.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("command", ["render", "sync", "check"])
def test_render_sync_and_check_warn_and_exit_zero(repo, cli, monkeypatch, command):
    (repo / "gen-ci.yml").write_text(SPEC.format(targets="github: .github/workflows/ci.yml", image="{repository: ghcr.io/acme/app}", runners=""))
    monkeypatch.setattr(exceptions, "today", lambda: DAY)
    if command == "check":
        assert cli("sync").exit_code == 0
    result = cli(command, "gen-ci.yml")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 3 and any("CVE-2023-9999 (owner: bob)" in line for line in warnings)
    if command == "render":
        assert "CVE-2023-9999" not in result.stdout and "GHSA-f9gq-p7mw-2qcx" in result.stdout


def test_no_in_sync_proof_for_a_spec_whose_render_depends_on_the_day(repo, cli, monkeypatch):
    """The hook's shortcut would skip the render, and with it the warnings and the ended exception."""
    (repo / "gen-ci.yml").write_text(SPEC.format(targets="github: .github/workflows/ci.yml", image="{repository: ghcr.io/acme/app}", runners=""))
    monkeypatch.setattr(exceptions, "today", lambda: DAY)
    assert cli("sync").exit_code == 0 and cli("check").exit_code == 0
    assert outputs_in_sync("gen-ci.yml") is None
    # A later day drops the exception that ended meanwhile: check says the output is stale.
    monkeypatch.setattr(exceptions, "today", lambda: date(2026, 5, 24))
    result = cli("check")
    assert result.exit_code == 1 and "GHSA-f9gq-p7mw-2qcx (owner: @acme/web) ended on 2026-05-23" in result.stderr


def test_the_scan_attestation_is_made_from_the_report_that_lists_the_suppressed_findings(tmp_path):
    """trivy writes what an ignore file suppressed into its JSON report (--show-suppressed), and the
    signed predicate is converted from that very report in the same job."""
    golden = GOLDEN / "scenario-33-vulnerability-exceptions" / "gitlab.yml"
    signing = [open(path).read() for path in gitlab_scripts(golden, tmp_path) if "cosign attest" in open(path).read()]
    assert signing
    for script in signing:
        scan_at = script.index("--show-suppressed")
        assert script.index('> "$REPORT"', scan_at) < script.index("convert --format cosign-vuln") < script.index("cosign attest")


def test_ids_dates_and_scanners_are_checked(cli, write_spec):
    base = "version: 1\nname: a\ntargets: {github: ci.yml}\nimages: [{repository: ghcr.io/a/b}]\n"
    bad_id = cli(str(write_spec(base + "scan: {exceptions: [{id: CVE-24-1, reason: r, owner: o, until: 2099-01-01}]}\n")))
    assert bad_id.exit_code == 2 and "error[GC013]: $.scan.exceptions[0].id" in bad_id.stderr
    missing = cli(str(write_spec(base + "scan: {exceptions: [{id: CVE-2024-1234, reason: r, until: 2099-01-01}]}\n")))
    assert missing.exit_code == 2 and "error[GC014]" in missing.stderr and "owner" in missing.stderr
    no_day = cli(str(write_spec(base + "scan: {exceptions: [{id: CVE-2024-1234, reason: r, owner: o, until: 2099-02-30}]}\n")))
    assert no_day.exit_code == 2 and "error[GC174]: $.scan.exceptions[0].until" in no_day.stderr
    grype = cli(str(write_spec(base + "scan: {tool: grype, exceptions: [{id: CVE-2024-1234, reason: r, owner: o, until: 2099-01-01}]}\n")))
    assert grype.exit_code == 2 and "error[GC173]" in grype.stderr and "no end date" in grype.stderr


def test_any_printable_reason_reads_back_as_written_in_trivys_yaml():
    reason = 'tab-free "quotes", back\\slash, é, 🙂, \u00a0 and : # [] {} \'single\''
    (line,) = [line for line in exceptions.trivy_ignore_lines([exceptions.VulnerabilityException("CVE-2024-0001", reason, "o", "2099-01-01")])
               if "statement" in line]
    assert YAML(typ="safe").load(line.strip())["statement"] == f"{reason} (owner: o; until 2099-01-01)"


def test_a_reason_with_a_yaml_line_break_is_refused(cli, write_spec):
    spec = "version: 1\nname: a\ntargets: {github: ci.yml}\nimages: [{repository: ghcr.io/a/b}]\n"
    result = cli(str(write_spec(spec + 'scan: {exceptions: [{id: CVE-2024-1234, reason: "a\\u2028b", owner: o, until: 2099-01-01}]}\n')))
    assert result.exit_code == 2 and "error[GC013]: $.scan.exceptions[0].reason" in result.stderr
