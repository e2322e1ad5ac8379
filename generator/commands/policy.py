"""`gen-ci policy`: the cluster admission policy for a signed spec's images."""

from __future__ import annotations

from pathlib import Path

from generator.pipeline import compile_spec
from generator.policy import policy as render_policy


def policy(spec_file: Path, dialect: str, repository: str | None, github_server: str, gitlab_server: str) -> str:
    loaded, model = compile_spec(spec_file)
    return render_policy(model, loaded, dialect, repository, github_server.rstrip("/"), gitlab_server.rstrip("/"))
