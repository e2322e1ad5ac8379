"""Admission policy (scenario 34): the identity and issuer it admits are the ones the rendered
verify steps check, read from the outputs, so the two cannot drift."""

from __future__ import annotations

import re
import shlex

import pytest
from ruamel.yaml import YAML

from generator.fingerprint import split
from tests.conftest import GOLDEN, ROOT

CASE = GOLDEN / "scenario-34-admission-policy"
SPEC = "golden/scenario-34-admission-policy/spec.yml"
# What the platforms put in the variables the verify steps read, for a release of acme/api.
GITHUB_RUN = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_WORKFLOW_REF": "acme/api/.github/workflows/ci.yml@refs/tags/v1.4.2"}
GITLAB_RUN = {"CI_PROJECT_URL": "https://gitlab.com/acme/api", "CI_SERVER_URL": "https://gitlab.com", "ref": "refs/tags/v1.4.2"}


def _expand(word: str, values: dict[str, str]) -> str:
    """A shell word's value with these variables set ($NAME and ${NAME:-default})."""
    (word,) = shlex.split(word)
    word = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m[1], m[2]), word)
    return re.sub(r"\$(\w+)", lambda m: values[m[1]], word)


def verified(output: str, values: dict[str, str]) -> tuple[str, str]:
    """(identity, issuer) the output's verify step checks, as the job would expand them."""
    text = split((CASE / output).read_text(encoding="utf-8"))[1]
    (line,) = set(re.findall(r"set -- (--certificate-identity .*)$", text, re.M))
    words = re.findall(r'"[^"]*"|\S+', line)
    return _expand(words[1], values), _expand(words[3], values)


def _policy(cli, dialect: str) -> dict:
    result = cli("policy", SPEC, "--format", dialect)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (CASE / f"policy-{dialect}.yml").read_text(encoding="utf-8"), "run `python -m generator.golden`"
    return YAML(typ="safe").load(result.stdout)


def test_both_dialects_are_the_right_kinds(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    sigstore, kyverno = _policy(cli, "sigstore"), _policy(cli, "kyverno")
    assert (sigstore["apiVersion"], sigstore["kind"]) == ("policy.sigstore.dev/v1beta1", "ClusterImagePolicy")
    assert (kyverno["apiVersion"], kyverno["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    assert {"glob": "ghcr.io/acme/api@*"} in sigstore["spec"]["images"] and {"glob": "index.docker.io/acme/api@*"} in sigstore["spec"]["images"]
    (rule,) = kyverno["spec"]["rules"]
    (check,) = rule["verifyImages"]
    assert check["required"] and check["verifyDigest"] and "registry.gitlab.com/acme/api@*" in check["imageReferences"]
    assert check["attestations"][0]["type"] == sigstore["spec"]["authorities"][0]["attestations"][0]["predicateType"] \
        == "https://cosign.sigstore.dev/attestation/vuln/v1"  # what `cosign attest --type vuln` attaches


def _admitted(document: dict) -> list[tuple[str, str]]:
    if document["kind"] == "ClusterImagePolicy":
        entries = document["spec"]["authorities"][0]["keyless"]["identities"]
        return [(e["issuer"], e["subjectRegExp"]) for e in entries]
    entries = document["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"]
    return [(e["keyless"]["issuer"], e["keyless"]["subjectRegExp"]) for e in entries]


@pytest.mark.parametrize("dialect", ["sigstore", "kyverno"])
def test_the_policy_admits_exactly_what_the_verify_steps_check(cli, monkeypatch, dialect):
    monkeypatch.chdir(ROOT)
    admitted = _admitted(_policy(cli, dialect))
    for output, run in (("github.yml", GITHUB_RUN), ("gitlab.yml", GITLAB_RUN)):
        subject, issuer = verified(output, run)
        assert any(issuer == i and re.fullmatch(r, subject) for i, r in admitted), (output, subject, issuer, admitted)
    # A ref that never publishes, another workflow and another repository are not admitted.
    subject, issuer = verified("github.yml", {**GITHUB_RUN, "GITHUB_WORKFLOW_REF": "acme/api/.github/workflows/ci.yml@refs/heads/feature"})
    assert not any(issuer == i and re.fullmatch(r, subject) for i, r in admitted)
    for other in ("acme/api/.github/workflows/other.yml@refs/heads/main", "evil/api/.github/workflows/ci.yml@refs/heads/main"):
        subject, issuer = verified("github.yml", {**GITHUB_RUN, "GITHUB_WORKFLOW_REF": other})
        assert not any(re.fullmatch(r, subject) for _, r in admitted)


def test_a_spec_that_signs_nothing_has_no_policy(cli, write_spec):
    spec = write_spec("version: 1\nname: a\ntargets: {github: ci.yml}\nimages: [{repository: ghcr.io/a/b}]\npush: {sign: false, upstream: a/b}\n")
    result = cli("policy", str(spec))
    assert result.exit_code == 2 and re.search(r":5:1: error\[GC168\]: \$\.push: the spec signs nothing", result.stderr)
    unknown = cli("policy", str(write_spec("version: 1\nname: a\ntargets: {github: ci.yml}\nimages: [{repository: ghcr.io/a/b}]\n")))
    assert unknown.exit_code == 2 and "error[GC168]" in unknown.stderr and "--repository" in unknown.stderr
