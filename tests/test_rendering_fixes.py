"""Specs that rendered wrong CI (one section per defect), each checked on the output's behaviour:
scripts run in a real shell against stand-ins for docker, Jenkinsfiles read by real Groovy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.pipeline import generate
from tests import test_jenkins as jenkins
from tests.conftest import gitlab_scripts, run_tool
from tests.gitlab_rules import job_script, resolved

THREE = (
    "version: 1\n"
    "name: acme\n"
    "targets: {github: ci.yml, gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile}\n"
    "runners: {gitlab: [dind]}\n"
    "docker: {mode: dind}\n"
    "push: {auth: secrets, username: REGISTRY_USER, password: REGISTRY_PASSWORD, environment: release}\n"
)


def only(targets: str) -> str:
    """THREE for fewer targets, without the settings only the dropped ones read (GC109)."""
    text = THREE.replace("{github: ci.yml, gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile}", targets)
    return text if "gitlab" in targets else text.replace("runners: {gitlab: [dind]}\n", "")


def render(tmp_path: Path, text: str, platform: str) -> str:
    spec = tmp_path / "gen-ci.yml"
    spec.write_text(text)
    return generate(spec, platform)[2]


def load(text: str) -> dict:
    return YAML(typ="safe").load(text)


def jenkinsfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jenkins" / "Jenkinsfile"
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(tmp_path, text, "jenkins"))
    jenkins.tree.cache_clear()  # the tree is cached by path, and this path is rewritten
    return path


# A docker stand-in that records each invocation's arguments, one a line, after a "docker" line,
# and what a login reads on standard input.
RECORDING_DOCKER = """#!/bin/sh
{ echo "-- docker"; printf '%s\\n' "$@"; } >> "$DOCKER_LOG"
if [ "$1" = login ]; then printf 'stdin=%s\\n' "$(cat)" >> "$DOCKER_LOG"; fi
"""


def run_script(tmp_path: Path, script: str, env: dict[str, str], cwd: Path, fails: bool = False) -> list[list[str]]:
    """Run script under sh -e with the recording docker first on PATH; the docker calls it made.
    fails: the script must fail, and its standard error is the last call's last line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(RECORDING_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.unlink(missing_ok=True)
    full = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DOCKER_LOG": str(log)}
    done = subprocess.run(["sh", "-e", "-c", script], env=full, cwd=cwd, capture_output=True, text=True)
    assert (done.returncode != 0) is fails, done.stdout + done.stderr
    calls: list[list[str]] = []
    for line in log.read_text().split("\n")[:-1] if log.exists() else []:
        if line == "-- docker":
            calls.append([])
        else:
            calls[-1].append(line)
    return calls + [["stderr", done.stderr]] if fails else calls


def build_args(calls: list[list[str]]) -> dict[str, str]:
    (build,) = [call for call in calls if call[:1] == ["build"]]
    return dict(build[i + 1].split("=", 1) for i, arg in enumerate(build) if arg == "--build-arg")


# 5 and 7. Computed build args: the same version on every platform, and only what the image reads.

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tagged_repository(tmp_path) -> Path:
    """A checkout whose history holds an older version tag: git describe would name the commit after it."""
    work = tmp_path / "work"
    work.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(work)]
    subprocess.run([*git, "init", "--quiet"], check=True)
    for message in ("one", "two"):
        subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", message], check=True)
        if message == "one":
            subprocess.run([*git, "tag", "v0.9.0"], check=True)
    return work


def github_outputs(document: dict, job: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    (describe,) = [s for s in document["jobs"][job]["steps"] if s.get("id") == "describe"]
    output = tmp_path / "github-output"
    output.write_text("")
    run_script(tmp_path, describe["run"], {
        "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": ref_type, "GITHUB_REF_NAME": ref_name, "GITHUB_SHA": COMMIT,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_OUTPUT": str(output),
    }, cwd)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def gitlab_build(document: dict, job: str) -> str:
    (script,) = [line for line in job_script(resolved(document)[job]) if "docker build" in line]
    return script


def gitlab_build_args(script: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_REF_NAME": ref_name, "CI_COMMIT_SHA": COMMIT,
           "CI_PROJECT_URL": "https://gitlab.com/acme/app", "PLATFORM": "linux/amd64", "CANDIDATE": "gen-ci/app:1"}
    if ref_type == "tag":
        env["CI_COMMIT_TAG"] = ref_name
    return build_args(run_script(tmp_path, script, env, cwd))


JENKINS_RUN = {"GIT_COMMIT": COMMIT, "GIT_URL": "https://git.example.com/acme/app.git", "GEN_CI_EVENT": "push",
               "BUILD_TAG": "jenkins-acme-app-1", "JOB_NAME": "acme/app", "BUILD_NUMBER": "1"}


def jenkins_build_args(found: dict, image: str, ref_type: str, ref_name: str, tmp_path: Path, cwd: Path) -> dict[str, str]:
    """The Describe stage, then the image's build, as one Jenkins run on one workspace."""
    (describe,) = jenkins.scripts([found["Describe"]])
    (build,) = jenkins.scripts([found[f"Build {image}"]])
    env = {**JENKINS_RUN, ("TAG_NAME" if ref_type == "tag" else "BRANCH_NAME"): ref_name}
    run_script(tmp_path, describe, env, cwd)
    return build_args(run_script(tmp_path, build, env, cwd))


VERSIONS = [("branch", "main", COMMIT[:12]), ("tag", "v1.2.3", "1.2.3"), ("tag", "v2.0.0-rc.1", "2.0.0-rc.1"),
            ("tag", "release/2024 spring", "release-2024-spring")]


def test_the_computed_version_is_the_same_on_every_platform(tmp_path, tagged_repository):
    """A semver tag gives its version, another tag its name, any other ref the commit: never git describe,
    whose answer depends on the checkout's depth and fetched tags (GitHub and GitLab differ in both)."""
    text = THREE + "images: [{id: app, repository: registry.example.com/acme/app, build_args: {VERSION: {from: version}}}]\n"
    github, gitlab = load(render(tmp_path, text, "github")), load(render(tmp_path, text, "gitlab"))
    stages = jenkins.stages(jenkinsfile(tmp_path, text))
    for ref_type, ref_name, expected in VERSIONS:
        found = {
            "github": github_outputs(github, "build-app", ref_type, ref_name, tmp_path, tagged_repository)["version"],
            "gitlab": gitlab_build_args(gitlab_build(gitlab, "build-app"), ref_type, ref_name, tmp_path, tagged_repository)["VERSION"],
            "jenkins": jenkins_build_args(stages, "app", ref_type, ref_name, tmp_path, tagged_repository)["VERSION"],
        }
        assert found == dict.fromkeys(found, expected), (ref_type, ref_name)


# Images reading none, one, several and all of the computed values, in one spec.
COMPUTED = {
    "none": {},
    "one": {"VERSION": "version"},
    "two": {"VERSION": "version", "BUILD_DATE": "created"},
    "three": {"COMMIT": "revision", "SOURCE_URL": "source", "BUILD_DATE": "created"},
}


def test_the_build_computes_only_what_the_image_reads_and_shellcheck_agrees(tmp_path, tagged_repository):
    images = []
    for number, (image, computed) in enumerate(COMPUTED.items()):
        args = ", ".join([f"{name}: {{from: {field}}}" for name, field in computed.items()] + ["PLAIN: x"])
        images.append(f"{{id: {image}, repository: registry.example.com/acme/{image}, tag_suffix: '-{number}', build_args: {{{args}}}}}")
    text = THREE + f"images: [{', '.join(images)}]\n"
    github, gitlab = load(render(tmp_path, text, "github")), load(render(tmp_path, text, "gitlab"))
    path = jenkinsfile(tmp_path, text)
    stages = jenkins.stages(path)
    metadata = {"version", "revision", "created", "source"}
    for image, computed in COMPUTED.items():
        # GitHub: the describe step outputs exactly the computed values; none at all needs no step.
        if computed:
            assert set(github_outputs(github, f"build-{image}", "branch", "main", tmp_path, tagged_repository)) == set(computed.values())
        else:
            assert not [s for s in github["jobs"][f"build-{image}"]["steps"] if s.get("id") == "describe"]
        # GitLab and Jenkins: the build gets each computed value, and its script sets no other.
        gitlab_script = gitlab_build(gitlab, f"build-{image}")
        (jenkins_script,) = jenkins.scripts([stages[f"Build {image}"]])
        for found, script in (
            (gitlab_build_args(gitlab_script, "branch", "main", tmp_path, tagged_repository), gitlab_script),
            (jenkins_build_args(stages, image, "branch", "main", tmp_path, tagged_repository), jenkins_script),
        ):
            assert set(found) == {*computed, "PLAIN"} and all(found[name] for name in computed), image
            assigned = {name for name in metadata if f"\n{name}=" in "\n" + script or f"read -r {name} " in script}
            assert assigned == set(computed.values()), image
    # The Jenkins describe stage computes what some image reads: here every value.
    (describe,) = jenkins.scripts([stages["Describe"]])
    assert all(f"\n{name}=" in describe for name in metadata)
    # And the checkers see no variable set in vain, on any platform.
    (tmp_path / "ci.yml").write_text(render(tmp_path, text, "github"))
    result = run_tool("actionlint", "-no-color", str(tmp_path / "ci.yml"))
    assert result.returncode == 0, result.stdout
    (tmp_path / "gitlab.yml").write_text(render(tmp_path, text, "gitlab"))
    result = run_tool("shellcheck", "--shell=sh", *gitlab_scripts(tmp_path / "gitlab.yml", tmp_path))
    assert result.returncode == 0, result.stdout
    result = run_tool("shellcheck", "--shell=sh", "--severity=style", *jenkins.script_files(path, tmp_path))
    assert result.returncode == 0, result.stdout


# 1. The platform registry with auth: secrets logs in to the project's own registry, with those secrets.

PLATFORM_SECRETS = "images: [{id: app, publish: [{repository: platform, auth: secrets, username: PUSH_USER, password: PUSH_TOKEN}]}]\n"
GITLAB_RUN = {"CI_REGISTRY": "gitlab.example.com:5050", "CI_REGISTRY_IMAGE": "gitlab.example.com:5050/acme/app",
              "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token",
              "PUSH_USER": "robot", "PUSH_TOKEN": "robot-secret", "OTHER_USER": "other", "OTHER_TOKEN": "other-secret"}


def gitlab_logins(job: dict) -> str:
    """The release job's script items from its registry checks to its last login, as one script."""
    items = job["script"]
    first = next(i for i, item in enumerate(items) if '"$CI_REGISTRY"' in item or "docker login" in item)
    last = max(i for i, item in enumerate(items) if "docker login" in item)
    return "\n".join(items[first:last + 1])


def logged_in(calls: list[list[str]]) -> list[tuple[str, str, str]]:
    """(host, username, password) of every docker login, the password as read on standard input."""
    found = []
    for call in calls:
        if call[:1] == ["login"]:
            username = call[call.index("--username") + 1]
            found.append((call[-2], username, call[-1].removeprefix("stdin=")))
    return found


@pytest.mark.parametrize("mode", ["dind", "rootless"])
def test_gitlab_platform_registry_with_secrets_logs_in_to_ci_registry(tmp_path, mode):
    text = only("{gitlab: .gitlab-ci.yml}").replace("mode: dind", f"mode: {mode}")
    document = load(render(tmp_path, text + PLATFORM_SECRETS, "gitlab"))
    if mode == "dind":
        calls = run_script(tmp_path, gitlab_logins(document["publish-app"]), GITLAB_RUN, tmp_path)
        assert logged_in(calls) == [("gitlab.example.com:5050", "robot", "robot-secret")]
    else:
        # Rootless writes a Docker config instead: one entry, for the job's own registry, with the secrets.
        (credentials,) = [item for item in document["publish-app"]["script"] if "config.json" in item]
        run_script(tmp_path, credentials, {**GITLAB_RUN, "HOME": str(tmp_path)}, tmp_path)
        import base64
        import json

        auths = json.loads((tmp_path / ".docker" / "config.json").read_text())["auths"]
        assert {host: base64.b64decode(entry["auth"]).decode() for host, entry in auths.items()} == {
            "gitlab.example.com:5050": "robot:robot-secret"}


def test_github_platform_registry_with_secrets_logs_in_to_ghcr_with_them(tmp_path):
    text = only("{github: ci.yml}")
    job = load(render(tmp_path, text + PLATFORM_SECRETS, "github"))["jobs"]["publish-app"]
    logins = [step["with"] for step in job["steps"] if "docker/login-action" in step.get("uses", "")]
    assert logins == [{"registry": "ghcr.io", "username": "${{ secrets.PUSH_USER }}", "password": "${{ secrets.PUSH_TOKEN }}"}]
    # The secrets, not the job token: no packages: write.
    assert "packages" not in job["permissions"]


def test_jenkins_refuses_the_platform_registry_with_secrets_too(cli, write_spec, tmp_path):
    from tests.test_errors import assert_located_refusal

    spec = write_spec(only("{jenkins: Jenkinsfile}") + PLATFORM_SECRETS)
    assert_located_refusal(cli, spec, tmp_path / "out", "GC131", "$.images[0].publish[0].repository", "no registry of its own")


# 6. Registries sharing a host: one login when their credentials are the same, refused when they differ.

@pytest.mark.parametrize(("targets", "publish", "where", "words"), [
    # GitHub's platform registry is ghcr.io, where the job token logs in.
    ("{github: ci.yml}", "[{repository: platform}, {repository: ghcr.io/acme/other, auth: secrets, username: U, password: P}]",
     "$.images[0].publish[1].repository", "ghcr.io/acme/other and the platform registry both log in to ghcr.io (GitHub)"),
    # On GitLab the job token always logs in to $CI_REGISTRY, as does the platform registry.
    ("{gitlab: .gitlab-ci.yml}", "[{repository: registry.gitlab.com/acme/app}, {repository: platform, auth: secrets, username: U, password: P}]",
     "$.images[0].publish[1].repository", "the platform registry and registry.gitlab.com/acme/app both log in to $CI_REGISTRY (GitLab)"),
    # Two secrets for one named host, on every platform (Jenkins too: one credentials ID a host).
    ("{github: ci.yml, gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile}",
     "[{repository: docker.io/acme/app, auth: secrets, username: U, password: P}, {repository: docker.io/acme/tools, auth: secrets, username: U, password: P2}]",
     "$.images[0].publish[1].repository", "docker.io/acme/tools and docker.io/acme/app both log in to docker.io, with secrets U/P2 and secrets U/P"),
    # Two AWS roles for one ECR host.
    ("{github: ci.yml}",
     "[{repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/a, auth: oidc, aws_role: 'arn:aws:iam::123456789012:role/a', aws_region: eu-west-1},"
     " {repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/b, auth: oidc, aws_role: 'arn:aws:iam::123456789012:role/b', aws_region: eu-west-1}]",
     "$.images[0].publish[1].repository", "both log in to 123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
])
def test_two_credentials_for_one_host_are_refused_naming_both(cli, write_spec, tmp_path, targets, publish, where, words):
    from tests.test_errors import assert_located_refusal

    text = only(targets)
    assert_located_refusal(cli, write_spec(text + f"images: [{{id: app, publish: {publish}}}]\n"), tmp_path / "out", "GC140", where, words)


SHARED_HOST = ("images: [{id: app, publish: [{repository: docker.io/acme/app, auth: secrets, username: U, password: P},"
               " {repository: registry.example.com/acme/app, auth: secrets, username: R, password: RP},"
               " {repository: docker.io/acme/mirror, auth: secrets, username: U, password: P}]}]\n")


def test_one_login_a_host_when_the_credentials_are_the_same(tmp_path):
    github = load(render(tmp_path, THREE + SHARED_HOST, "github"))["jobs"]["publish-app"]
    assert [s["with"]["registry"] for s in github["steps"] if "docker/login-action" in s.get("uses", "")] == ["docker.io", "registry.example.com"]
    gitlab = load(render(tmp_path, THREE + SHARED_HOST, "gitlab"))["publish-app"]
    calls = run_script(tmp_path, gitlab_logins(gitlab), {**GITLAB_RUN, "U": "u", "P": "p", "R": "r", "RP": "rp"}, tmp_path)
    assert logged_in(calls) == [("docker.io", "u", "p"), ("registry.example.com", "r", "rp")]
    found = jenkins.stages(jenkinsfile(tmp_path, THREE + SHARED_HOST))
    (publish,) = jenkins.scripts([found["Publish"]])
    assert [line.split()[-1] for line in publish.splitlines() if "docker login" in line] == ["docker.io", "registry.example.com"]


def test_gitlab_stops_before_logging_in_when_ci_registry_is_another_registrys_host(tmp_path):
    """Only the job knows $CI_REGISTRY: the platform registry (job token) and a registry with secrets
    on the host $CI_REGISTRY turns out to be would share one login."""
    publish = "images: [{id: app, publish: [{repository: platform}, {repository: gitlab.example.com:5050/acme/app, auth: secrets, username: OTHER_USER, password: OTHER_TOKEN}]}]\n"
    job = load(render(tmp_path, only("{gitlab: .gitlab-ci.yml}") + publish, "gitlab"))["publish-app"]
    calls = run_script(tmp_path, gitlab_logins(job), GITLAB_RUN, tmp_path, fails=True)
    assert logged_in(calls) == []
    assert "gitlab.example.com:5050/acme/app and the platform registry both log in to gitlab.example.com:5050" in calls[-1][1]
    # Elsewhere (gitlab.com's registry) both log in, each with its own credentials.
    calls = run_script(tmp_path, gitlab_logins(job), {**GITLAB_RUN, "CI_REGISTRY": "registry.gitlab.com"}, tmp_path)
    assert logged_in(calls) == [("registry.gitlab.com", "gitlab-ci-token", "job-token"), ("gitlab.example.com:5050", "other", "other-secret")]


# 4. Build arg values reach the build unchanged on GitHub too, white space at their ends included.

def test_the_trimmed_white_space_is_what_javascript_trims():
    """The generator's set and the tests' model of the action against Node's own String.prototype.trim."""
    from generator.quoting import JS_WHITESPACE
    from tests.conftest import JS_TRIMMED

    script = "const out = []; for (let c = 0; c < 0x110000; c++) { if (c < 0xd800 || c > 0xdfff) { if (String.fromCodePoint(c).trim() === '') out.push(c); } } console.log(JSON.stringify(out));"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    import json

    trimmed = {chr(c) for c in json.loads(done.stdout)}
    assert trimmed == set(JS_WHITESPACE) == set(JS_TRIMMED)


EDGES = {"SUFFIX": "-rc ", "PLAIN": "x", "LEAD": " lead", "NBSP": "nb\u00a0", "NEL": "nel\u0085", "TAB": "\t",
         "EXPR": "${{ github.token }} ", "QUOTES": 'a "b", c ', "LINE": "end\u2028"}


def test_build_args_arrive_exactly_on_every_platform(tmp_path):
    import json

    from tests.conftest import buildx_build_args
    from tests.test_properties import github_evaluate

    text = THREE + f"images: [{{id: app, repository: registry.example.com/acme/app, build_args: {json.dumps(EDGES)}}}]\n"
    # GitHub: what buildx receives, from the action's build-args as it reads them and the step's environment.
    # The one build job builds on every run; the publish job only pushes its digest.
    assert not [s for s in load(render(tmp_path, text, "github"))["jobs"]["publish-app"]["steps"] if s.get("id") == "build"]
    for job in ("build-app",):
        (step,) = [s for s in load(render(tmp_path, text, "github"))["jobs"][job]["steps"] if s.get("id") == "build"]
        assert buildx_build_args(step, github_evaluate) == EDGES
        # Only the values the action would trim take the other road.
        assert set(step["env"]) == {"SUFFIX", "NBSP", "TAB", "EXPR", "QUOTES", "LINE"}
    # GitLab and Jenkins: the docker build their scripts run.
    job = resolved(load(render(tmp_path, text, "gitlab")))["build-app"]
    variables = {f"GEN_CI_BUILD_ARG_{name}": job["variables"][f"GEN_CI_BUILD_ARG_{name}"]["value"] for name in EDGES}
    script = gitlab_build(load(render(tmp_path, text, "gitlab")), "build-app")
    gitlab_env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_REF_NAME": "main", "CI_COMMIT_SHA": COMMIT,
                  "PLATFORM": "linux/amd64", "CANDIDATE": "gen-ci/app:1", **variables}
    assert build_args(run_script(tmp_path, script, gitlab_env, tmp_path)) == EDGES
    found = jenkins.stages(jenkinsfile(tmp_path, text))
    (build,) = jenkins.scripts([found["Build app"]])
    assert build_args(run_script(tmp_path, build, {**JENKINS_RUN, "BRANCH_NAME": "main"}, tmp_path)) == EDGES
    # And the workflow still passes its checkers.
    (tmp_path / "ci.yml").write_text(render(tmp_path, text, "github"))
    for checker in (("actionlint", "-no-color"), ("zizmor", "--offline", "--no-progress", "--persona", "pedantic")):
        result = run_tool(*checker, str(tmp_path / "ci.yml"))
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["http_proxy", "DOCKER_HOST", "PATH", "NODE_OPTIONS", "INPUT_TAGS", "Buildkit_Progress"])
def test_a_trimmed_value_under_a_name_the_tools_read_is_refused_for_github(cli, write_spec, tmp_path, name):
    from tests.test_errors import assert_located_refusal

    spec = write_spec(only("{github: ci.yml}")
                      + f"images: [{{id: app, repository: ghcr.io/acme/app, build_args: {{{name}: 'value '}}}}]\n")
    assert_located_refusal(cli, spec, tmp_path / "out", "GC141", f"$.images[0].build_args.{name}", "ends in white space")


def test_names_the_tools_read_are_fine_without_trailing_white_space_and_off_github(tmp_path):
    exact = only("{gitlab: .gitlab-ci.yml, jenkins: Jenkinsfile}") + "images: [{id: app, repository: registry.example.com/acme/app, build_args: {HTTP_PROXY: 'http://p:3128 '}}]\n"
    assert "HTTP_PROXY" in render(tmp_path, exact, "gitlab")
    plain = THREE + "images: [{id: app, repository: registry.example.com/acme/app, build_args: {HTTP_PROXY: 'http://p:3128'}}]\n"
    (step,) = [s for s in load(render(tmp_path, plain, "github"))["jobs"]["build-app"]["steps"] if s.get("id") == "build"]
    assert "env" not in step and step["with"]["build-args"] == '"HTTP_PROXY=http://p:3128"'


# 2. Jenkins binds build secrets for no change request (pull requests, forks included).

SECRETS = "images: [{id: app, repository: registry.example.com/acme/app, secrets: {npm_token: NPM_TOKEN, pip_token: PIP_TOKEN}}]\n"


def _when(stage: dict) -> dict | None:
    whens = [call for call in stage["body"] if call["call"] == "when"]
    return whens[0]["body"][0] if whens else None


def test_jenkins_binds_build_secrets_only_outside_change_requests(tmp_path):
    text = only("{jenkins: Jenkinsfile}") + SECRETS
    path = jenkinsfile(tmp_path, text)
    build = jenkins.stages(path)["Build app"]
    (nested,) = [call for call in build["body"] if call["call"] == "stages"]
    for change_request in (False, True):
        run = {"pr": change_request}
        running = [stage for stage in nested["body"] if _when(stage) is None or jenkins._holds(_when(stage), run)]
        # Exactly one build runs, whatever the run is.
        assert len(running) == 1, change_request
        (stage,) = running
        bound = [call for call in jenkins.find([stage], "withCredentials")]
        (script,) = jenkins.scripts([stage])
        calls = run_script(tmp_path, script, {**JENKINS_RUN, "BRANCH_NAME": "PR-7" if change_request else "main",
                                              "GEN_CI_SECRET_1": "npm-secret", "GEN_CI_SECRET_2": "pip-secret"}, tmp_path)
        (docker_build,) = [call for call in calls if call[:1] == ["build"]]
        secrets = [docker_build[i + 1] for i, arg in enumerate(docker_build) if arg == "--secret"]
        if change_request:
            # Nothing bound, nothing passed: the build runs without its secrets, and says so.
            assert bound == [] and secrets == []
        else:
            assert len(bound) == 1
            assert secrets == ["id=npm_token,env=GEN_CI_SECRET_1", "id=pip_token,env=GEN_CI_SECRET_2"]
    assert "string(credentialsId: 'NPM_TOKEN'" in path.read_text() and "string(credentialsId: 'PIP_TOKEN'" in path.read_text()
    # Every binding of a build secret in the file is behind `not { changeRequest() }`.
    for call, ancestors in jenkins.walk(jenkins.tree(path)):
        if call["call"] == "withCredentials" and not any(a["args"] == ["Publish"] for a in ancestors):
            stage = [a for a in ancestors if a["call"] == "stage"][-1]
            assert _when(stage) == {"call": "not", "args": [], "body": [{"call": "changeRequest", "args": [], "body": []}]}
