"""The keyless signing identity of this pipeline, in one place: the verify steps the templates
render check it with the platform's variables, and `gen-ci policy` writes it with their values,
so what the cluster admits is what the pipeline signs as."""

from __future__ import annotations

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The vulnerability predicate cosign attaches for `--type vuln` (trivy's cosign-vuln format).
VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"
GRYPE_PREDICATE = "https://github.com/anchore/grype/tree/main/schema/grype/json"


def github_subject(server: str, workflow_ref: str) -> str:
    """Fulcio's subject for a GitHub workflow: server URL, then GITHUB_WORKFLOW_REF."""
    return f"{server}/{workflow_ref}"


def github_workflow_ref(repository: str, workflow_file: str, ref: str) -> str:
    """What GITHUB_WORKFLOW_REF holds: owner/repo/<path of the workflow file>@<ref>."""
    return f"{repository}/{workflow_file}@{ref}"


def gitlab_subject(project_url: str, config_path: str, ref: str) -> str:
    """Fulcio's subject for a GitLab pipeline: the project URL, //, the CI file's path, @ the ref."""
    return f"{project_url}//{config_path}@{ref}"


# As the jobs spell them (shell words; $ref is the job's refs/heads/... or refs/tags/...).
GITHUB_IN_JOB = github_subject("$GITHUB_SERVER_URL", "$GITHUB_WORKFLOW_REF")
GITLAB_IN_JOB = gitlab_subject("$CI_PROJECT_URL", "${CI_CONFIG_PATH:-.gitlab-ci.yml}", "$ref")
GITLAB_ISSUER_IN_JOB = "$CI_SERVER_URL"


def scan_predicate(tool: str) -> str | None:
    return {"trivy": VULN_PREDICATE, "grype": GRYPE_PREDICATE}.get(tool)
