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
    assert {p.parent.name for p in JENKINSFILES} >= {"jenkins-dind", "jenkins-socket", "jenkins-kubernetes"}
    assert {p.parent.name for p in AGENTS} >= {"jenkins-dind", "jenkins-socket"}


# --- the scan ----------------------------------------------------------------------------------

SCANNER_RUN = re.compile(r'"\$scanner" (image |"docker:\$candidate")')
CONVERT = re.compile(r'docker run --rm --interactive --network none "\$scanner" convert --format table \\\n(.*)/dev/stdin < "\$report"')


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.parent.name)
def test_each_image_is_scanned_by_one_scanner_run(path):
    """One scanner run an image in the whole pipeline writes the JSON report; with trivy, the table
    and the gate's verdict come from that report through trivy convert, offline."""
    from generator.pipeline import compile_spec

    _, model = compile_spec(path.parent / "spec.yml")
    every = scripts(tree(path))
    assert sum(len(SCANNER_RUN.findall(script)) for script in every) == len(model.images)
    for image in model.images:
        (scan,) = scripts([stages(path)[f"Scan {image.id}"]])
        assert len(SCANNER_RUN.findall(scan)) == 1 and f"report=scan-{image.id}.json" in scan
        assert re.search(r'^  .*> "\$report"( \|\| status=\$\?)?$', scan, re.MULTILINE)
        if model.scan.tool == "trivy":
            (flags,) = CONVERT.findall(scan)
            gate = f"  --severity {','.join(model.scan.severities)} --exit-code 1 " if model.scan.gate else ""
            assert flags == gate and scan.count(" convert ") == 1
            assert "--format json" in scan and "--exit-code" not in scan.split("convert")[0]
        else:
            assert "--output json" in scan and (f"--fail-on {model.scan.fail_on}" in scan) == model.scan.gate


@pytest.mark.parametrize("path", JENKINSFILES + AGENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_program_text_in_the_jenkins_outputs(path):
    """Shell and the tools' own commands only: no interpreter is handed a program."""
    text = path.read_text()
    assert not re.search(r"\b(python3?|node|perl|ruby|jq|awk -f|php) +(-c|-e|-)(\s|$)", text)
    assert not re.search(r"<<-?'?(PY|PYTHON|EOF_PY|JS)'?", text)


@pytest.mark.parametrize("path", JENKINSFILES + AGENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_image_gen_ci_names_is_pinned_from_pins_json(path):
    """Daemon, client, Jenkins and scanner images: each exactly a pins.json entry, tag and digest,
    on the one engine line; the only other images are the spec's own (prepare, services)."""
    from generator import pins
    from generator.pipeline import compile_spec

    _, model = compile_spec(path.parent / "spec.yml")
    with pins.images_in_use(None, None, model.docker.mirror):  # through the spec's pull mirror, if any (scenario 32)
        pinned = {pins.image(name) for name in pins.pins()["images"]}
        jenkins = pins.image("jenkins")
    own = {image.prepare.image for image in model.images if image.prepare} | {s.image for image in model.images for s in image.services}
    text = path.read_text().replace("\\\\\n", "")  # a shell line continued (\ at the end, doubled in Groovy)
    named = re.findall(r"(?:^\s*(?:- )?image: |^\s*FROM |^scanner=)(\S+)", text, re.MULTILINE)
    assert named
    for reference in named:
        reference = reference.strip("'\"")
        assert reference in pinned or reference in own, reference
        docker = re.sub(r"^.*/library/", "", reference) if model.docker.mirror else reference
        if docker.startswith("docker:"):
            assert docker.split("@")[0] in ("docker:29.8.1-dind", "docker:29.8.1-cli"), reference
    if path.name != "Jenkinsfile":
        assert jenkins in named and re.match(r"(?:.*/)?jenkins/jenkins:2\.568\.3-lts-jdk21@sha256:c1e4", jenkins)


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
    daemons = {name for name in services if name.endswith("dind")}
    for name, service in services.items():
        assert service.get("privileged", False) == (name in daemons), name
        image = service.get("image") or service["build"]["dockerfile_inline"]
        assert ":latest" not in image and re.search(r":[0-9]", image), name
    assert all(port.startswith("127.0.0.1:") for port in services.get("controller", {}).get("ports", []))
    for prefix in ("", "change-requests-"):
        if prefix + "dind" not in services:
            continue
        dind, agent = services[prefix + "dind"], services[prefix + "agent"]
        assert "ports" not in dind and dind["environment"]["DOCKER_TLS_CERTDIR"] == "/certs"
        assert compose["networks"][prefix + "docker-api"] == {"internal": True}
        assert set(dind["networks"]) == {prefix + "docker-api", prefix + "egress"} and dind["networks"][prefix + "docker-api"]["aliases"] == ["docker"]
        assert prefix + "docker-api" in agent["networks"]
        assert all(prefix + "egress" not in s.get("networks", []) for n, s in services.items() if n != prefix + "dind")
        assert agent["environment"]["DOCKER_HOST"] == "tcp://docker:2376" and agent["environment"]["DOCKER_TLS_VERIFY"] == "1"
        assert f"{prefix}docker-certs:/certs/client:ro" in agent["volumes"] and f"{prefix}docker-data:/var/lib/docker" in dind["volumes"]
        assert not any("docker.sock" in volume for volume in agent.get("volumes", []) + dind.get("volumes", []))
    if "dind" not in services:
        assert services["agent"]["volumes"][0] == "/var/run/docker.sock:/var/run/docker.sock"
    for name in ("agent", "change-requests-agent"):
        if name in services:
            assert services[name]["secrets"] == [f"jenkins-{name}-secret"] and "JENKINS_SECRET" not in text
    result = run_tool("gen-ci", "lint", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def _reach(compose: dict, service: str) -> tuple[set[str], set[str]]:
    """The services `service` shares a network with, and those it resolves as `docker`."""
    services = compose["services"]

    def networks(name: str) -> dict:
        found = services[name].get("networks", [])
        return {n: (found[n] or {}) for n in found} if isinstance(found, dict) else {n: {} for n in found}

    mine = set(networks(service))
    peers = {other for other in services if other != service and mine & set(networks(other))}
    docker = {other for other in peers for n, v in networks(other).items() if n in mine and (other == "docker" or "docker" in v.get("aliases", []))}
    return peers, docker


def _volumes(service: dict) -> set[str]:
    return {volume.split(":")[0] for volume in service.get("volumes", [])}


def _label_for(path: Path, change_id: str | None) -> str:
    """The agent label of the Jenkinsfile's top-level agent, as real Groovy evaluates it with or without CHANGE_ID."""
    match = re.search(r"^    agent \{\n(?:        //.*\n)*        label (.+)\n    \}", path.read_text(), re.MULTILINE)
    env = f"[CHANGE_ID: '{change_id}']" if change_id else "[:]"
    return _groovy("-e", f"def env = {env}\nprint({match[1]})")


@pytest.mark.parametrize("path", AGENTS, ids=lambda p: p.parent.name)
def test_a_change_request_never_reaches_the_trusted_daemon_or_its_cache(path):
    """Parsed from the agent runtime and the Jenkinsfile beside it: a change-request build lands on
    the change-request agent, whose daemon, certificates, volumes and networks are its own."""
    compose = YAML(typ="safe").load(path.read_text())
    services = compose["services"]
    jenkinsfile = path.parent / "Jenkinsfile"
    trusted_label, change_label = _label_for(jenkinsfile, None), _label_for(jenkinsfile, "7")
    assert change_label == trusted_label + "-change-requests"
    assert services["agent"]["environment"]["JENKINS_AGENT_NAME"] == "gen-ci-" + trusted_label
    assert services["change-requests-agent"]["environment"]["JENKINS_AGENT_NAME"] == "gen-ci-" + change_label
    assert services["agent"]["environment"]["GEN_CI_DAEMON"] == "trusted"
    assert services["change-requests-agent"]["environment"]["GEN_CI_DAEMON"] == "change-requests"
    change = {"change-requests-agent", "change-requests-dind"}
    trusted = {"agent", "dind"} & set(services)
    # What the change-request agent resolves as docker is its own daemon; it meets no trusted agent or daemon.
    peers, docker = _reach(compose, "change-requests-agent")
    assert docker == {"change-requests-dind"} and not peers & trusted
    # Nor do the containers its daemon runs (they leave through that daemon's networks).
    peers, _ = _reach(compose, "change-requests-dind")
    assert peers == {"change-requests-agent"}
    # No volume (certificates, image store and BuildKit cache, workspaces) and no secret is shared.
    assert not set().union(*(_volumes(services[s]) for s in change)) & set().union(*(_volumes(services[s]) for s in trusted))
    assert not any("docker.sock" in v for s in change for v in services[s].get("volumes", []))
    assert not set(services["change-requests-agent"]["secrets"]) & set(services["agent"]["secrets"])
    peers, docker = _reach(compose, "agent")
    assert docker == ({"dind"} if "dind" in services else set()) and not peers & change


def _daemon_check(path: Path, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, bool]:
    """The rendered 'Docker daemon' step run by sh, with a docker stand-in that records being called."""
    (script,) = scripts([stages(path)["Docker daemon"]])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    called = tmp_path / "docker-called"
    called.unlink(missing_ok=True)
    (bin_dir / "docker").write_text(f"#!/bin/sh\ntouch {called}\n")
    (bin_dir / "docker").chmod(0o755)
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(["sh", "-c", script], env={**base, **env}, capture_output=True, text=True, timeout=120, check=False)
    return done, called.exists()


TLS = {"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1"}


@pytest.mark.parametrize("path", [p.parent / "Jenkinsfile" for p in AGENTS], ids=lambda p: p.parent.name)
def test_a_build_on_the_wrong_kind_of_agent_stops_before_any_docker_command(path, tmp_path):
    socket = {} if "DOCKER_HOST = " in path.read_text() else {"DOCKER_HOST": "unix:///var/run/docker.sock"}
    trusted_env = TLS if not socket else socket
    for env, ok in (
        ({"CHANGE_ID": "7", "GEN_CI_DAEMON": "trusted", **trusted_env}, False),
        ({"CHANGE_ID": "7", **TLS}, False),
        ({"GEN_CI_DAEMON": "change-requests", **TLS}, False),
        ({"CHANGE_ID": "7", "GEN_CI_DAEMON": "change-requests", **TLS}, True),
        ({"GEN_CI_DAEMON": "trusted", **trusted_env}, True),
        # An agent of the user's own that says nothing still serves trusted builds.
        (dict(trusted_env), True),
    ):
        done, called = _daemon_check(path, tmp_path, **env)
        assert (done.returncode == 0) == ok and called == ok, (env, done.stderr)
        if not ok:
            assert "change requests and" in done.stderr and "trusted builds never share a Docker daemon" in done.stderr
    # In socket mode a change request is refused the host's socket even on its own agent.
    if socket:
        done, called = _daemon_check(path, tmp_path, CHANGE_ID="7", GEN_CI_DAEMON="change-requests", **socket)
        assert done.returncode == 1 and not called and "TLS port" in done.stderr


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


def test_every_lint_rule_is_documented_and_explained(cli):
    from generator.lint.engine import ALL_RULES as rules

    readme = (ROOT / "docs" / "lint.md").read_text()
    assert len({r.id for r in rules}) == len({r.name for r in rules}) == len(rules)
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


# --- the prepare step's archive -----------------------------------------------------------------

def _archive_check(path: Path) -> str:
    """The rendered build step's unpacking of the prepare archive: its check and the tar -x after it."""
    script = next(s for s in scripts(tree(path)) if "prepared=$(mktemp)" in s)
    start = script.index("# The archive the prepare image sent back is checked")
    end = script.index('tar -x -f "$prepared"\n', start) + len('tar -x -f "$prepared"')
    return script[start:end]


def _tar(path: Path, members: list[tuple[str, str, str]]) -> Path:
    """A tar file of (name, kind, link target) members, kinds file, dir, symlink, hardlink, fifo."""
    import io
    import tarfile

    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o755 if kind == "dir" else 0o644
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chardev": tarfile.CHRTYPE}[kind]
            info.linkname = target
            data = b"payload\n" if kind == "file" else b""
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)
    return path


PREPARED = GOLDEN / "jenkins-kubernetes" / "Jenkinsfile"


@pytest.mark.parametrize(("members", "words"), [
    # GNU tar rewrites such names as it lists them, and says so: that is a refusal too.
    ([("dist", "dir", ""), ("dist/../x", "file", "")], r"has a \.\. component|Removing leading `dist/\.\./'"),
    ([("../x", "file", "")], r"has a \.\. component|Removing leading `\.\./'"),
    ([("dist", "dir", ""), ("/tmp/gen-ci-absolute", "file", "")], "is an absolute path|Removing leading `/'"),
    ([("dist", "dir", ""), ("dist/up", "symlink", "../../outside")], "is a link"),
    ([("dist", "dir", ""), ("dist/etc", "symlink", "/etc")], "is a link"),
    ([("dist", "dir", ""), ("dist/passwd", "hardlink", "/etc/passwd")], "is a link|Removing leading `/' from hard link targets"),
    ([("dist", "dir", ""), ("dist/passwd", "hardlink", "dist/x")], "is a link"),
    ([("dist", "dir", ""), ("dist/pipe", "fifo", "")], "no regular file or directory"),
    ([("dist", "dir", ""), ("src/main.js", "file", "")], r"none of the outputs the spec names \(dist\)"),
    ([("distant", "file", "")], "none of the outputs"),
    ([], "none of the outputs"),
])
def test_the_prepare_archive_is_refused_unless_it_holds_the_outputs_alone(tmp_path, members, words):
    """The check extracted from the rendered Jenkinsfile, run by sh on real tar files: nothing of a
    refused archive is unpacked, and the build stops with a message that says why."""
    work = tmp_path / "work"
    work.mkdir()
    prepared = _tar(tmp_path / "prepared.tar", members)
    done = subprocess.run(["sh", "-c", "set -eu\nprepared=$1\n" + _archive_check(PREPARED), "check", str(prepared)],
                          cwd=work, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert "the prepare step's archive is refused and nothing of it was unpacked" in done.stderr and re.search(words, done.stderr)
    assert list(work.iterdir()) == [] and not prepared.exists() and not (tmp_path / "x").exists()
    assert not Path("/tmp/gen-ci-absolute").exists()


def test_the_prepare_archive_with_the_declared_outputs_is_unpacked(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    prepared = _tar(tmp_path / "prepared.tar", [("dist", "dir", ""), ("dist/app.js", "file", ""), ("dist/lib", "dir", ""),
                                               ("dist/lib/a b.js", "file", "")])
    done = subprocess.run(["sh", "-c", "set -eu\nprepared=$1\n" + _archive_check(PREPARED), "check", str(prepared)],
                          cwd=work, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (work / "dist" / "app.js").read_text() == "payload\n" and (work / "dist" / "lib" / "a b.js").exists()
    assert sorted(p.name for p in work.iterdir()) == ["dist"]


def test_every_prepare_step_checks_its_archive_before_unpacking():
    for path in JENKINSFILES:
        for script in scripts(tree(path)):
            if 'tar -x -f "$prepared"' in script:
                check = _archive_check(path)
                assert script.count('tar -x -f "$prepared"') == 1 and "tar -t -v -f" in check and "refuse" in check


def test_without_change_requests_there_is_no_change_request_half(tmp_path, monkeypatch):
    from generator.pipeline import generate

    spec = tmp_path / "gen-ci.yml"
    spec.write_text(_spec_with("targets: {jenkins: Jenkinsfile, jenkins_agent: compose.yml}\ndocker: {mode: dind}\n"
                               "triggers: {branches: [main], pull_requests: false}\n"))
    monkeypatch.chdir(tmp_path)
    compose = YAML(typ="safe").load(generate(spec, "jenkins_agent")[2])
    assert set(compose["services"]) == {"dind", "agent", "controller"}
    assert compose["services"]["agent"]["environment"]["GEN_CI_DAEMON"] == "trusted"
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(generate(spec, "jenkins")[2])
    (agent,) = [c for c in tree(jenkinsfile)[0]["body"] if c["call"] == "agent"]
    assert agent["body"] == [{"call": "label", "args": ["docker"], "body": []}]
    # A change request that still reaches this job is refused by the daemon check.
    done, called = _daemon_check(jenkinsfile, tmp_path, CHANGE_ID="7", GEN_CI_DAEMON="trusted", **TLS)
    assert done.returncode == 1 and not called
