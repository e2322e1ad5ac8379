"""What a rendered output publishes for a run, read from the output itself.

Each platform's conditions are evaluated as the platform does (GitHub's `on:` filters, the gate
script run in bash and the jobs' `if:`; GitLab's workflow and job rules; Jenkins' `when` as Groovy
reads it), and the tag and push scripts run for real in a shell, with the run's environment and
stand-in registry clients that only record what they are asked to push. The test suite compares
the answer with generator.plan for every golden.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from generator.plan import Run
from tests.gitlab_rules import jobs_created, predefined, resolved

# The repository or project the run belongs to: the spec's upstream when it names one.
PROJECT = "acme-owner/acme-repo"
GITLAB_REGISTRY = "registry.example.com"
# Records every call; `docker push` and `regctl image digest` answer with the candidate's digest.
STUB = """#!/bin/sh
printf '%s' "$(basename "$0")" >> "$GEN_CI_CALLS"
for argument in "$@"; do printf ' %s' "$argument" >> "$GEN_CI_CALLS"; done
printf '\\n' >> "$GEN_CI_CALLS"
if [ "$(basename "$0")" = docker ] && [ "$1" = push ]; then
  echo "latest: digest: sha256:0000000000000000000000000000000000000000000000000000000000000000 size: 1"
fi
if [ "$(basename "$0")" = regctl ] && [ "$1" = image ] && [ "$2" = digest ]; then
  echo "sha256:0000000000000000000000000000000000000000000000000000000000000000"
fi
if [ "$1" = login ] || [ "$2" = login ]; then cat > /dev/null; fi
# GitLab rootless: what each copied tag resolves to, and the index's attestations.
if [ "$(basename "$0")" = docker ] && [ "$1 $2 $3 $4" = "buildx imagetools inspect --format" ]; then
  echo "sha256:0000000000000000000000000000000000000000000000000000000000000000"
fi
if [ "$(basename "$0")" = docker ] && [ "$1 $2 $3 $4" = "buildx imagetools inspect --raw" ]; then
  echo '{"manifests":[{"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}'
fi
exit 0
"""
STUBBED = ("docker", "regctl", "cosign", "crane", "skopeo", "curl")


def github_glob(pattern: str) -> str:
    """GitHub's filter pattern syntax, written here apart from gen-ci's own reading of it."""
    out, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char in "+?":
            out += char
        elif char == "[":
            end = pattern.index("]", index)
            out, index = out + pattern[index:end + 1], end + 1
            continue
        else:
            out += re.escape(char)
        index += 1
    return out


def _filtered(patterns: list[str] | None, ref: str) -> bool:
    return patterns is not None and any(re.fullmatch(github_glob(p), ref) for p in patterns)


def git_repository(path: Path, tags: list[str]) -> Path:
    """A clone (with origin) whose history carries the released tags."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    origin, clone = path / "origin", path / "checkout"
    subprocess.run(["git", "init", "-q", str(origin)], check=True)
    subprocess.run(["git", "-C", str(origin), "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    for tag in tags:
        subprocess.run(["git", "-C", str(origin), "tag", tag], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    return clone


def _run_shell(script: str, env: dict[str, str], cwd: Path, shell: str = "bash") -> subprocess.CompletedProcess[str]:
    stubs = cwd.parent / "stubs"
    if not stubs.exists():
        stubs.mkdir()
        for name in STUBBED:
            (stubs / name).write_text(STUB)
            (stubs / name).chmod(0o755)
    full = {"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "HOME": str(cwd.parent), "GEN_CI_CALLS": str(cwd.parent / "calls.log"), **env}
    return subprocess.run([shell, "-e", "-c", script], env=full, cwd=cwd, capture_output=True, text=True, timeout=120)


def pushed_references(calls: Path) -> list[str]:
    """Every reference the recorded clients were asked to create in a registry."""
    out = []
    for line in calls.read_text().splitlines() if calls.exists() else []:
        words = line.split(" ")
        if words[:2] == ["docker", "tag"]:
            out.append(words[3])
        for index, word in enumerate(words[:-1]):
            if word == "--tag" and "imagetools" in words:
                out.append(words[index + 1])
        if words[:3] == ["regctl", "image", "copy"]:
            out.append(words[-1])
    return out


def spelled(reference: str, platform_repository: str) -> str:
    """A pushed reference with the project's own registry written as the spec writes it."""
    own = reference.startswith((platform_repository + ":", platform_repository + "/"))
    return "platform" + reference[len(platform_repository):] if own else reference


# --- GitHub ---------------------------------------------------------------------------------

GITHUB_EVENTS = {"push": "push", "tag": "push", "pr": "pull_request", "schedule": "schedule", "manual": "workflow_dispatch", "release": "release"}


def github_starts(workflow: dict[str, Any], run: Run, default_branch: str) -> bool:
    on = workflow["on"]
    name = GITHUB_EVENTS[run.kind]
    if name not in on:
        return False
    filters = on[name] or {}
    if run.kind == "push":
        return "branches" in filters and _filtered(filters["branches"], run.ref) or not {"branches", "tags"} & set(filters)
    if run.kind == "tag":
        return "tags" in filters and _filtered(filters["tags"], run.ref) or not {"branches", "tags"} & set(filters)
    if run.kind == "pr":
        return "branches" not in filters or _filtered(filters["branches"], run.ref)
    if run.kind == "schedule":
        return run.ref == default_branch
    if run.kind == "release":
        return "published" in filters.get("types", ["published"])
    return True


def caller_of(path: Path, workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow whose triggers start this one: itself, or for a workflow only others call
    (github.called) the hand-written caller beside its golden, which calls it on every run."""
    if set(workflow["on"]) != {"workflow_call"}:
        return workflow
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((path.parent / "hand-written" / "caller.yml").read_text())


def github_environment(run: Run, tmp: Path, project: str) -> dict[str, str]:
    ref = f"refs/{'tags' if run.ref_type == 'tag' else 'heads'}/{run.ref}"
    summary = tmp / "summary.md"
    return {
        "GITHUB_EVENT_NAME": GITHUB_EVENTS[run.kind], "GITHUB_REF": ref, "GITHUB_REF_TYPE": run.ref_type,
        "GITHUB_REF_NAME": run.ref, "GITHUB_SHA": run.sha, "GITHUB_REPOSITORY": project,
        "GITHUB_OUTPUT": str(tmp / "output.txt"), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp),
        "GEN_CI_NAME": "gen-ci-test", "PUBLISH_INPUT": "true",
    }


def _step_env(step: dict[str, Any], base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    for key, value in (step.get("env") or {}).items():
        if isinstance(value, str) and "${{" not in value:
            env[key] = value
    return env


def github_publishes(workflow: dict[str, Any], run: Run, tmp: Path, checkout: Path, project: str = PROJECT) -> tuple[bool, list[str]]:
    jobs = workflow["jobs"]
    if "publish-gate" not in jobs:
        return False, []
    base = github_environment(run, tmp, project)
    (gate,) = [step for step in jobs["publish-gate"]["steps"] if step.get("id") == "decide"]
    done = _run_shell(gate["run"], _step_env(gate, base), checkout)
    assert done.returncode == 0, done.stderr
    decided = dict(line.split("=", 1) for line in Path(base["GITHUB_OUTPUT"]).read_text().splitlines())
    if decided["publish"] != "true":
        return False, []
    references = []
    for job_id, job in jobs.items():
        if not job_id.startswith("publish-") or job_id == "publish-gate":
            continue
        # Every publish job waits for the gate and runs only when it said true (changed paths taken as changed).
        assert "needs.publish-gate.outputs.publish == 'true'" in job["if"], job_id
        listed = tmp / f"{base['GEN_CI_NAME']}-repositories"
        listed.unlink(missing_ok=True)
        outputs = tmp / "publish-output.txt"
        outputs.unlink(missing_ok=True)
        for step in job["steps"]:
            script = step.get("run", "")
            if step.get("name", "").startswith(("Compute the tags of ", "Push ")):
                env = {**_step_env(step, base), "GITHUB_OUTPUT": str(outputs)}
                env.setdefault("CANDIDATE", "candidate@sha256:" + "0" * 64)
                env.setdefault("BUILDER", "builder")
                done = _run_shell(script, env, checkout)
                assert done.returncode == 0 or "no tag rule applies" in done.stdout + done.stderr, (job_id, step["name"], done.stderr)
                if done.returncode != 0:
                    break
        pushed = pushed_references(tmp / "calls.log")
        signed_where(listed, pushed, job_id)
        if "outputs" in job and "workflow_call" in workflow["on"]:
            called_outputs(job, outputs, pushed, job_id)
        references += pushed
        (tmp / "calls.log").unlink(missing_ok=True)
    return True, sorted({spelled(reference, f"ghcr.io/{project.lower()}") for reference in references})


def step_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: NAME=VALUE lines and NAME<<DELIMITER blocks."""
    values, lines = {}, path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[name], index = "\n".join(lines[index + 1:end]), end + 1
            continue
        name, value = line.split("=", 1)
        values[name], index = value, index + 1
    return values


def called_outputs(job: dict[str, Any], outputs: Path, pushed: list[str], job_id: str) -> None:
    """A called workflow's publish job hands its caller the digest it pushed and every reference (github.called)."""
    written = step_outputs(outputs)
    assert job["outputs"] == {"digest": "${{ steps.push.outputs.digest }}", "tags": "${{ steps.push.outputs.tags }}"}, job_id
    if not pushed:
        return
    assert written["digest"] == "sha256:" + "0" * 64, job_id
    assert sorted(written["tags"].splitlines()) == sorted(pushed), job_id


# --- GitLab ---------------------------------------------------------------------------------

GITLAB_SOURCES = {"push": "push", "tag": "push", "pr": "merge_request_event", "schedule": "schedule", "manual": "web"}


def gitlab_variables(run: Run, project: str = PROJECT) -> dict[str, str]:
    # Refs that publish are protected (gen-ci setup says so); the plan assumes it.
    variables = predefined(GITLAB_SOURCES[run.kind], run.ref, tag=run.ref_type == "tag", protected=True)
    variables["CI_PROJECT_PATH"] = project
    if run.kind == "manual":
        variables["GEN_CI_PUBLISH"] = "yes"
    return variables


def gitlab_jobs(pipeline: dict[str, Any], run: Run, project: str = PROJECT) -> set[str] | None:
    jobs = jobs_created(pipeline, gitlab_variables(run, project))
    # An included file (gitlab.include) has no workflow: its jobs carry the conditions, and a run
    # that adds none of them is one the file takes no part in.
    return None if not jobs and "workflow" not in pipeline else jobs


def _script_items(job: dict[str, Any], pipeline: dict[str, Any]) -> list[str]:
    if "extends" in job:  # as GitLab runs it: the hidden jobs' keys merged in
        job = resolved({**pipeline, "\0job": job})["\0job"]
    items: list[str] = []
    for key in ("before_script", "script"):
        for item in job.get(key, []) or []:
            items.append(item if isinstance(item, str) else "\n".join(item))
    return items


def gitlab_publishes(pipeline: dict[str, Any], jobs: set[str], run: Run, tmp: Path, checkout: Path, project: str = PROJECT) -> tuple[bool, list[str]]:
    publishing = sorted(job for job in jobs if job.startswith("publish-"))
    if not publishing:
        return False, []
    variables = gitlab_variables(run, project)
    variables.update({
        "CI_COMMIT_SHA": run.sha, "CI_REGISTRY": GITLAB_REGISTRY, "CI_REGISTRY_IMAGE": f"{GITLAB_REGISTRY}/{project}",
        "CI_REGISTRY_USER": "user", "CI_REGISTRY_PASSWORD": "password", "CI_PIPELINE_ID": "1", "CI_JOB_ID": "2",
        "CANDIDATE": "candidate:1", "CI_PROJECT_PATH": project,
    })
    references = []
    pipeline = resolved(pipeline)
    for job_id in publishing:
        image = job_id.removeprefix("publish-")
        order = [name for name in (f"tags-{image}", job_id) if name in pipeline]
        for artifact in ("gen-ci-digest.txt", "gen-ci-candidate-digest.txt"):  # what earlier jobs hand over
            (checkout / artifact).write_text("sha256:" + "0" * 64 + "\n")
        (checkout / "gen-ci-repositories.txt").unlink(missing_ok=True)
        for name in order:
            for item in _script_items(pipeline[name], pipeline):
                if "gen-ci-tags" not in item:
                    continue
                env = {**variables, **{k: str(v) for k, v in (pipeline[name].get("variables") or {}).items() if isinstance(v, str)}}
                done = _run_shell(item, env, checkout, shell="sh")
                assert done.returncode == 0 or "no tag rule applies" in done.stderr, (name, item[:200], done.stderr)
        pushed = pushed_references(tmp / "calls.log")
        signed_where(checkout / "gen-ci-repositories.txt", pushed, job_id)
        references += pushed
        (tmp / "calls.log").unlink(missing_ok=True)
    return True, sorted({spelled(reference, f"{GITLAB_REGISTRY}/{project}") for reference in references})


def signed_where(listed: Path, pushed: list[str], job_id: str) -> None:
    """The repositories a publish job lists for signing are exactly those it pushed to on this run."""
    if not pushed:
        return
    assert listed.is_file(), f"{job_id}: no list of pushed repositories"
    assert set(listed.read_text().split()) == {reference.rsplit(":", 1)[0] for reference in pushed}, job_id


# --- Jenkins --------------------------------------------------------------------------------

JENKINS_CAUSES = {"schedule": "TimerTrigger", "manual": "UserIdCause"}


def jenkins_run(run: Run) -> dict[str, Any]:
    return {"type": run.ref_type, "name": run.ref, "cause": JENKINS_CAUSES.get(run.kind, "BranchEventCause"),
            "pr": run.kind == "pr", "publish_param": run.kind == "manual"}


def jenkins_starts(text: str, run: Run) -> bool:
    if run.kind == "release":
        return False
    if run.kind != "schedule":
        return True
    kept = re.search(r"cron\(env\.BRANCH_NAME == '([^']*)'", text)
    return kept is not None and kept[1] == run.ref


def jenkins_event(text: str, run: Run) -> str:
    """GEN_CI_EVENT as the Describe stage's Groovy sets it."""
    if run.kind == "pr":
        return "pull_request"
    if run.kind in JENKINS_CAUSES:
        return run.kind
    return "release" if run.ref_type == "tag" and "env.TAG_NAME ? 'release' : 'push'" in text else "push"


def jenkins_environment(text: str, run: Run) -> dict[str, str]:
    env = {"GIT_COMMIT": run.sha, "GIT_URL": "https://example.com/acme.git", "BUILD_TAG": "jenkins-acme-1",
           "GEN_CI_EVENT": jenkins_event(text, run), "BRANCH_NAME": run.ref}
    if run.ref_type == "tag":
        env["TAG_NAME"] = run.ref
    for number in range(1, 6):
        env[f"GEN_CI_REGISTRY_USER_{number}"] = "user"
        env[f"GEN_CI_REGISTRY_PASSWORD_{number}"] = "password"
    return env


def jenkins_references(scripts: list[str], text: str, run: Run, tmp: Path, checkout: Path) -> list[str]:
    env = jenkins_environment(text, run)
    for script in scripts:
        if "gen-ci-tags-" in script and ("tag_script" in script or "newest_stable" in script or "tag()" in script or "docker push" in script):
            done = _run_shell(script, env, checkout, shell="sh")
            assert done.returncode == 0 or "no tag rule applies" in done.stderr, done.stderr
    references = pushed_references(tmp / "calls.log")
    (tmp / "calls.log").unlink(missing_ok=True)
    return sorted(set(references))


def quote(words: list[str]) -> str:
    return " ".join(shlex.quote(word) for word in words)
