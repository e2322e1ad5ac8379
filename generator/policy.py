"""Admission policy for a signed spec's images (`gen-ci policy`): only digests signed keyless by
this pipeline's identity (generator.identity, as the rendered verify steps check it), on the refs
that publish, and carrying its scan attestation; for Sigstore's policy-controller or Kyverno."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from generator import identity
from generator.diagnostics import SpecError
from generator.emitting import canonical
from generator.loading import LoadedSpec
from generator.model import Model
from generator.refs import glob_regex

FORMATS = ("sigstore", "kyverno")
FULCIO, REKOR = "https://fulcio.sigstore.dev", "https://rekor.sigstore.dev"


@dataclass(frozen=True)
class Signer:
    issuer: str
    subject_regexp: str  # anchored: the pipeline's file on a ref that publishes


def _refs(model: Model) -> str:
    """The refs a publishing run signs on, as one regex group: refs/heads/... or refs/tags/..."""
    arms = [f"heads/{glob_regex(branch)}" for branch in model.push.branches] + [f"tags/{glob_regex(tag)}" for tag in model.push.tags]
    return "refs/(?:" + "|".join(arms) + ")"


def signers(model: Model, repository: str, github_server: str, gitlab_server: str) -> list[Signer]:
    found = []
    if "github" in model.targets:
        subject = identity.github_subject(re.escape(github_server), identity.github_workflow_ref(
            re.escape(repository), re.escape(model.targets["github"]), _refs(model)))
        found.append(Signer(identity.GITHUB_ISSUER, f"^{subject}$"))
    if "gitlab" in model.targets:
        subject = identity.gitlab_subject(re.escape(f"{gitlab_server}/{repository}"), re.escape(model.targets["gitlab"]), _refs(model))
        found.append(Signer(gitlab_server, f"^{subject}$"))
    return found


def repositories(model: Model, repository: str, gitlab_server: str) -> list[str]:
    """Every repository the spec's images publish to; the platform's own registry spelled out."""
    own_hosts = (["ghcr.io"] if "github" in model.targets else []) + (["registry." + gitlab_server.split("://", 1)[-1]] if "gitlab" in model.targets else [])
    found = []
    for registry in (r for image in model.images for r in image.registries):
        if registry.own:
            found += [f"{host}/{repository.lower()}{registry.own_path}" for host in own_hosts]
        else:  # policy-controller and Kyverno name Docker Hub images by its registry's own host
            found.append(registry.repository.replace("docker.io/", "index.docker.io/", 1) if registry.host == "docker.io" else registry.repository)
    return list(dict.fromkeys(found))


def _keyless(signer: Signer, dialect: str) -> dict[str, Any]:
    if dialect == "sigstore":
        return {"issuer": signer.issuer, "subjectRegExp": signer.subject_regexp}
    return {"keyless": {"issuer": signer.issuer, "subjectRegExp": signer.subject_regexp, "rekor": {"url": REKOR}}}


def policy(model: Model, loaded: LoadedSpec, dialect: str, repository: str | None, github_server: str = "https://github.com",
           gitlab_server: str = "https://gitlab.com") -> str:
    """The policy as YAML; a located SpecError (GC168) for a spec whose images nobody signs or whose repository is unknown."""
    if not model.push.sign:
        raise SpecError([loaded.diagnostic(("push",), "GC168", "the spec signs nothing (push.sign: false, or nothing is pushed), so no policy could admit its images", key=True)])
    repository = repository or model.push.upstream
    if not repository:
        raise SpecError([loaded.diagnostic(("push",), "GC168", "the signing identity names the repository (owner/name) that runs the pipeline: write push.upstream, or give --repository", key=True)])
    found = signers(model, repository, github_server, gitlab_server)
    images = repositories(model, repository, gitlab_server)
    predicate = identity.scan_predicate(model.scan.tool)
    name = "gen-ci-" + re.sub(r"[^a-z0-9-]+", "-", model.name.lower()).strip("-")[:50]
    if dialect == "sigstore":
        authority: dict[str, Any] = {
            "name": "this-pipeline",
            "keyless": {"url": FULCIO, "identities": [_keyless(s, dialect) for s in found]},
            "ctlog": {"url": REKOR},
        }
        if predicate:
            authority["attestations"] = [{"name": "scan", "predicateType": predicate}]
        document = {
            "apiVersion": "policy.sigstore.dev/v1beta1",
            "kind": "ClusterImagePolicy",
            "metadata": {"name": name},
            "spec": {"images": [{"glob": f"{image}{suffix}"} for image in images for suffix in (":*", "@*")], "authorities": [authority]},
        }
    else:
        attestors = [{"count": 1, "entries": [_keyless(s, dialect) for s in found]}]
        check: dict[str, Any] = {"imageReferences": [f"{image}{suffix}" for image in images for suffix in (":*", "@*")], "required": True, "verifyDigest": True,
                                 "mutateDigest": True, "attestors": attestors}
        if predicate:
            check["attestations"] = [{"type": predicate, "attestors": copy.deepcopy(attestors)}]
        document = {
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": name},
            "spec": {
                "validationFailureAction": "Enforce",
                "webhookTimeoutSeconds": 30,
                "rules": [{"name": "signed-and-scanned-by-this-pipeline", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                           "verifyImages": [check]}],
            },
        }
    return canonical(_yaml(document))


def _yaml(document: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(document, out)
    return out.getvalue()
