"""From nothing to a hook-guarded pipeline: init, editor schema, doctor, explain, completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.diagnostics import CODES
from generator.commands.doctor import free_disk, socket_access, tls_files
from tests.conftest import ROOT, invoke


@pytest.fixture
def repo(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_yes_then_sync_then_check(repo):
    result = invoke("init", "--yes", "--platform", "github", "--image", "ghcr.io/acme/app", "--test", "pytest -q")
    assert result.exit_code == 0, result.stderr
    spec = (repo / "gen-ci.yml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=.gen-ci/spec.schema.json\n")
    shipped = json.loads(invoke("schema").stdout)
    assert json.loads((repo / ".gen-ci" / "spec.schema.json").read_text()) == shipped
    assert "gen-ci-sync" in (repo / ".pre-commit-config.yaml").read_text()
    assert invoke("sync").exit_code == 0
    assert invoke("check").exit_code == 0


def test_init_asks_with_safe_defaults(repo):
    answers = "both\n\nplatform, registry.example.com/acme/app\n\n\n\nmake test\n\n\nprivileged-dind\n"
    result = CliRunner().invoke(main, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    spec = (repo / "gen-ci.yml").read_text()
    assert "mode: dind" in spec and '"make test"' in spec and '["privileged-dind"]' in spec
    assert "auth: secrets" in spec and "REGISTRY_EXAMPLE_COM_PASSWORD" in spec  # job tokens reach only their own registry
    assert '"semver"' in spec and '"latest"' in spec
    assert invoke("sync").exit_code == 0 and invoke("check").exit_code == 0


def test_init_never_overwrites_and_never_writes_a_broken_spec(repo):
    failed = invoke("init", "--yes", "--registry", "Not An Image")
    assert failed.exit_code == 2 and "--registry 'Not An Image' is not a repository" in failed.stderr
    assert sorted(p.name for p in repo.iterdir()) == [".git"]
    assert invoke("init", "--yes").exit_code == 0
    before = (repo / "gen-ci.yml").read_text()
    again = invoke("init", "--yes", "--image", "ghcr.io/other/app")
    assert again.exit_code == 2 and "never overwrites" in again.stderr
    assert (repo / "gen-ci.yml").read_text() == before


def test_explain_every_id(cli):
    from generator.lint.engine import ALL_RULES
    from generator.lint.gitlab_rules import GITLAB_RULES as RULES

    for code, (name, text) in CODES.items():
        result = cli("explain", code.lower())
        assert result.exit_code == 0 and name in result.stdout and text in result.stdout
    for rule in RULES:
        assert rule.summary in cli("explain", rule.id).stdout
    unknown = cli("explain", "GC1011")
    assert unknown.exit_code == 2 and "did you mean GC111" in unknown.stderr
    last_gitlab = max(rule.id for rule in ALL_RULES if rule.id.startswith("GL"))
    assert f"known: GC001-{max(CODES)}, GL001-{last_gitlab}, GH001-" in unknown.stderr


def test_every_command_has_short_help_with_an_example(cli):
    for command in ("render", "schema", "lint", "sync", "check", "init", "doctor", "explain", "pins"):
        result = cli(command, "--help")
        assert result.exit_code == 0, command
        assert "Example" in result.stdout or command == "pins", command


def test_shell_completion_scripts():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for shell in ("bash", "zsh", "fish"):
        env["_GEN_CI_COMPLETE"] = f"{shell}_source"
        out = subprocess.run([sys.executable, "-m", "generator"], env=env, capture_output=True, text=True).stdout
        assert "_GEN_CI_COMPLETE" in out, shell


def test_doctor_tls_checks(tmp_path):
    assert tls_files({"DOCKER_HOST": "unix:///var/run/docker.sock"})[0] is None
    assert tls_files({"DOCKER_HOST": "tcp://docker:2375"})[0] is False
    missing = tls_files({"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert missing[0] is False and "ca.pem" in missing[1]
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    assert tls_files({"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})[0] is True


def _unix_socket(path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


def test_doctor_socket_checks(tmp_path):
    absent = socket_access({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert absent[0] is False and "does not exist" in absent[1]
    regular = tmp_path / "regular.sock"
    regular.write_text("")
    copied = socket_access({"DOCKER_HOST": f"unix://{regular}"})
    assert copied[0] is False and "not a socket" in copied[1]
    server = _unix_socket(tmp_path / "docker.sock")
    try:
        assert socket_access({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})[0] is True
    finally:
        server.close()
    assert socket_access({"DOCKER_HOST": "tcp://docker:2376"})[0] is None


def test_doctor_names_a_group_that_has_no_name(tmp_path, monkeypatch):
    import grp
    import os

    server = _unix_socket(tmp_path / "docker.sock")
    monkeypatch.setattr(os, "access", lambda *args: False)

    def unknown(gid):
        raise KeyError(gid)

    monkeypatch.setattr(grp, "getgrgid", unknown)
    try:
        passed, detail = socket_access({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    finally:
        server.close()
    assert passed is False and f"groupadd --gid {os.stat(tmp_path / 'docker.sock').st_gid}" in detail


def test_doctor_free_disk_threshold(monkeypatch):
    import generator.commands.doctor as doctor

    monkeypatch.setattr(doctor, "MIN_FREE_GIB", 0)
    assert free_disk({"PATH": ""})[0] is True
    monkeypatch.setattr(doctor, "MIN_FREE_GIB", 10**9)
    passed, detail = free_disk({"PATH": ""})
    assert passed is False and "GiB free" in detail


def test_doctor_reports_every_check_and_fails_without_docker(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    result = invoke("doctor")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("FAIL  docker CLI")
    assert any(line.startswith("FAIL  socket permissions") for line in lines)


def test_init_hook_watches_the_same_files_as_the_published_hooks():
    import yaml

    from generator.commands.init import pre_commit_config
    from generator.installation import Source
    from tests.conftest import ROOT

    local = yaml.safe_load(pre_commit_config(Source("gen-ci==0", True, False)))["repos"][0]["hooks"][0]
    published = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert local["files"] == published["gen-ci-sync"]["files"]
    assert local["entry"] == published["gen-ci-sync"]["entry"] and local["pass_filenames"] is False


def test_init_offers_jenkins(repo):
    result = invoke("init", "--yes", "--platform", "jenkins", "--jenkins-agent", "kubernetes", "--image", "docker.io/acme/app")
    assert result.exit_code == 0, result.stderr
    spec = (repo / "gen-ci.yml").read_text()
    assert "jenkins: Jenkinsfile" in spec and "agent: kubernetes" in spec and "mode: dind" in spec
    assert "jenkins_agent" not in spec and "auth: secrets" not in spec  # Jenkins logs in with its own credentials
    assert invoke("sync").exit_code == 0 and invoke("check").exit_code == 0
    assert "kubernetes {" in (repo / "Jenkinsfile").read_text()


def test_init_asks_which_jenkins_agents(repo):
    result = CliRunner().invoke(main, ["init"], input="jenkins\n\n\n\n\n\n\n\n\n\n")
    assert result.exit_code == 0, result.output
    spec = (repo / "gen-ci.yml").read_text()
    assert "jenkins_agent: jenkins/compose.yml" in spec and "agent: static" in spec and "mode: dind" in spec
    assert invoke("sync").exit_code == 0
    assert (repo / "jenkins" / "compose.yml").is_file() and (repo / "Jenkinsfile").is_file()


@pytest.mark.parametrize("folder", ["acme{x}", "shop $dev", "back`slash\\x", "{}"])
def test_init_works_in_any_folder(tmp_path, monkeypatch, folder):
    project = tmp_path / folder
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    monkeypatch.chdir(project)
    result = invoke("init", "--yes", "--platform", "github", "--registry", "ghcr.io/acme/app")
    assert result.exit_code == 0, result.stderr
    assert invoke("sync").exit_code == 0
    assert not [p for p in project.iterdir() if p.name.startswith("tmp")]  # no scratch copy left behind


@pytest.mark.parametrize(("source", "language", "dependency"), [
    (("gen-ci==0.2.0", True, False), "python", "gen-ci==0.2.0"),
    (("gen-ci @ git+https://git.example.com/gen-ci@" + "a" * 40, True, False), "python", "gen-ci @ git+https://git.example.com/gen-ci@" + "a" * 40),
    (("gen-ci @ file:///opt/gen_ci-0.2.0-py3-none-any.whl", False, False), "python", "gen-ci @ file:///opt/gen_ci-0.2.0-py3-none-any.whl"),
    (("gen-ci @ file:///home/me/gen-ci", False, True), "system", None),
])
def test_the_hook_installs_gen_ci_from_where_it_was_installed(source, language, dependency):
    import yaml

    from generator.commands.init import pre_commit_config
    from generator.installation import Source

    hook = yaml.safe_load(pre_commit_config(Source(*source)))["repos"][0]["hooks"][0]
    assert hook["language"] == language
    assert hook.get("additional_dependencies") == ([dependency] if dependency else None)


def test_a_new_user_commits_through_the_hook_with_no_gen_ci_on_any_index(tmp_path):
    """pip install from a checkout, gen-ci init, git commit through the real pre-commit hook: the
    hook installs gen-ci from that checkout, never by name from an index."""
    import shutil

    from tests.conftest import ROOT

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # A copy of the checkout as a new user would have it (no .venv, no node_modules).
    checkout = tmp_path / "gen-ci-src"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", "*.egg-info", "build"))
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(checkout)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    project = tmp_path / "project"
    project.mkdir()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("VIRTUAL_ENV", None)

    def run(*args):
        done = subprocess.run(list(args), cwd=project, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    run("git", "init", "-q")
    run(str(venv / "bin" / "gen-ci"), "init", "--yes", "--platform", "github", "--registry", "ghcr.io/acme/app")
    config = (project / ".pre-commit-config.yaml").read_text()
    assert f"gen-ci @ file://{checkout}" in config and "gen-ci==" not in config
    run(str(venv / "bin" / "gen-ci"), "sync")
    pre_commit = str(ROOT / ".venv" / "bin" / "pre-commit") if (ROOT / ".venv" / "bin" / "pre-commit").exists() else "pre-commit"
    run(pre_commit, "install")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "CI from gen-ci")
    # The hook ran: an edit to the spec is regenerated on the next commit.
    (project / "gen-ci.yml").write_text((project / "gen-ci.yml").read_text() + "timeout_minutes: 20\n")
    run("git", "add", "-A")
    failed = subprocess.run(["git", "commit", "-qm", "shorter"], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert failed.returncode != 0 and "timeout-minutes: 20" in (project / ".github" / "workflows" / "ci.yml").read_text()


def test_init_sets_up_several_images_in_the_projects_own_registry(repo):
    result = invoke("init", "--yes", "--platform", "gitlab", "--platform", "github", "--name", "Shop",
                    "--image", "services/api=platform/api", "--image", "services/web=platform/web,docker.io/acme/web",
                    "--image", "platform/tools/worker", "--arch", "linux/amd64", "--arch", "linux/arm64")
    assert result.exit_code == 0, result.stderr
    from generator.pipeline import compile_spec

    model = compile_spec(repo / "gen-ci.yml")[1]
    assert model.name == "Shop"
    assert [(i.id, i.context, [r.spelled for r in i.registries], i.platforms) for i in model.images] == [
        ("api", "services/api", ["platform/api"], ["linux/amd64", "linux/arm64"]),
        ("web", "services/web", ["platform/web", "docker.io/acme/web"], ["linux/amd64", "linux/arm64"]),
        ("worker", ".", ["platform/tools/worker"], ["linux/amd64", "linux/arm64"]),
    ]
    assert invoke("sync").exit_code == 0 and invoke("check").exit_code == 0
    assert '"$CI_REGISTRY_IMAGE/tools/worker"' in (repo / ".gitlab-ci.yml").read_text()


@pytest.mark.parametrize(("option", "value", "named", "says"), [
    ("--arch", "arm64", "arm64", "did you mean linux/arm64?"),
    ("--registry", "Acme/App", "Acme/App", "did you mean docker.io/acme/app?"),
    ("--registry", "GHCR.io/acme/app", "GHCR.io/acme/app", "did you mean ghcr.io/acme/app?"),
    ("--image", "services/api=platform/a/b/c", "platform/a/b/c", "is not a repository"),
    ("--image", "/abs=platform/api", "/abs", "is not a build context"),
    ("--push-branch", "+main", "+main", "is not a branch pattern"),
    ("--name", "shop $x", "shop $x", "is not a project name"),
])
def test_init_refuses_an_option_where_it_is_given(repo, option, value, named, says):
    result = invoke("init", "--yes", "--platform", "github", option, value)
    assert result.exit_code == 2 and result.stderr.startswith(f"gen-ci: {option} {named!r} {says.split(' did')[0] if says.startswith('is') else 'is not'}")
    assert says in result.stderr, result.stderr
    assert sorted(p.name for p in repo.iterdir()) == [".git"]


def test_init_asks_a_wrong_answer_again_and_keeps_the_others(repo):
    answers = "\n".join([
        "gitlab", "3",
        "services/api", "",  # image 1: its repository defaults to platform/api
        "/etc", "services/web", "Web", "platform/web",  # image 2: a context and a repository asked again
        "web", "platform/worker",  # image 3
        "arm64", "linux/amd64,linux/arm64",
        "", "", "", "", "", "",
    ]) + "\n"
    result = CliRunner().invoke(main, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    assert "did you mean linux/arm64?" in result.output and "'/etc' is not a build context" in result.output
    from generator.pipeline import compile_spec

    model = compile_spec(repo / "gen-ci.yml")[1]
    assert [(i.context, i.registries[0].spelled, i.platforms) for i in model.images] == [
        ("services/api", "platform/api", ["linux/amd64", "linux/arm64"]),
        ("services/web", "platform/web", ["linux/amd64", "linux/arm64"]),
        ("web", "platform/worker", ["linux/amd64", "linux/arm64"]),
    ]


def test_answers_a_failed_init_prints_make_the_same_spec(repo, tmp_path, monkeypatch):
    import shlex

    (repo / "gen-ci.yml").write_text("# someone's spec\n")
    answers = "both\n2\n.\nplatform/api\nweb\n\nlinux/arm64\nsimple\n\nmake test\n\nmain,release/*\nbig\n"
    failed = CliRunner().invoke(main, ["init"], input=answers)
    assert failed.exit_code == 2 and "never overwrites" in failed.output
    (command,) = [line.split(": ", 2)[2] for line in failed.output.splitlines() if "your answers, to run again:" in line]
    again = tmp_path / "again"
    again.mkdir()
    subprocess.run(["git", "init", "-q", str(again)], check=True)
    monkeypatch.chdir(again)
    words = shlex.split(command)
    assert words[:3] == ["gen-ci", "init", "--yes"]
    assert invoke(*words[1:]).exit_code == 0
    spec = (again / "gen-ci.yml").read_text()
    for expected in ('"platform/api"', '"platform/web"', 'context: "web"', '["linux/arm64"]', '"make test"',
                     '["ref", "sha"]', '["main", "release/*"]', 'gitlab: ["big"]'):
        assert expected in spec, expected
