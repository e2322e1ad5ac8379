"""Turn a validated spec into the plain model the templates read."""

from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from generator import __version__, exceptions, pins
from generator.changes import repository_path
from generator.exceptions import (
    VulnerabilityException,
    holding,
    listed,
    trivy_ignore_lines,
)
from generator.mirror import proxy_variable
from generator.tagging import (
    TagRule,
    Versioning,
    reads_released,
    rules_from_spec,
    tag_script,
)

SEVERITIES = ["low", "medium", "high", "critical"]


def apply_defaults(data: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """Fill every schema default into a copy of data: the schema is the one source of defaults."""
    if "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    if isinstance(data, dict) and "properties" in schema:
        out = dict(data)
        for key, sub in schema["properties"].items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = apply_defaults(out[key], sub, root)
        return out
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"], root) for item in data]
    return data


PLATFORM_REGISTRY = "platform"


def is_own(repository: str) -> bool:
    """`platform` or `platform/<path>`: a repository in the project's own registry, which only the job knows."""
    return repository == PLATFORM_REGISTRY or repository.startswith(PLATFORM_REGISTRY + "/")


@dataclass(frozen=True)
class Registry:
    repository: str  # with its host, or platform[/<path>]: the project's own, known only in the job
    host: str  # "" for the platform's own registry
    auth: str
    spelled: str  # as the spec writes it, for people: `gen-ci plan` names references this way
    username: str | None = None
    password: str | None = None
    aws_role: str | None = None
    aws_region: str | None = None
    own: bool = False  # in the project's own registry
    own_path: str = ""  # what follows the project's own repository: "/cart" for platform/cart
    tag_set: int = 0  # which of the image's tag sets it publishes: 0, the image's tags, or its own


@dataclass(frozen=True)
class PlatformBuild:
    """Where one platform of an image builds: its job's runners, and whether it needs QEMU there."""

    platform: str
    slug: str  # linux/arm/v7 -> arm-v7: job, artifact and cache names
    github: list[str]
    gitlab: list[str]
    github_emulated: bool
    gitlab_emulated: bool


@dataclass(frozen=True)
class Service:
    name: str  # the host name the test reaches it by
    image: str
    env: dict[str, str]  # values are data
    ready: str | None  # shell run inside the service until it succeeds
    timeout_seconds: int
    entrypoint: str | None = None  # data: replaces the image's entrypoint
    command: list[str] = field(default_factory=list)  # data: one word each, after the image


@dataclass(frozen=True)
class CheckoutTest:
    """A test on the job, from the checkout, against the candidate: a compose service or a script."""

    compose: str | None
    service: str | None
    script: str | None
    image_variable: str  # carries the candidate by digest


@dataclass(frozen=True)
class Prepare:
    image: str
    script: str  # the user's own shell, passed as data
    outputs: list[str]
    history: bool = False  # .git (without its config) goes in too, from a full-depth checkout
    variables: list[str] = field(default_factory=list)  # the platform's CI variables, passed by name
    version_file: str | None = None  # its first line is build_args' {from: prepare}


@dataclass(frozen=True)
class DockerfileCheck:
    tool: str  # buildkit or hadolint
    image: str  # hadolint's image with the spec's digest; "" for buildkit
    fail_on: str  # hadolint's --failure-threshold; "warning" for buildkit, whose checks have that one level
    ignore: list[tuple[str, str]]  # (rule, reason): reasons are data, written only as comments
    skip: str  # BUILDKIT_DOCKERFILE_CHECK's value ("" for hadolint or nothing skipped)


def dockerfile_check(check: dict[str, Any] | None) -> DockerfileCheck | None:
    if check is None:
        return None
    tool = check.get("tool", "buildkit")
    ignore = [(entry["rule"], entry["reason"]) for entry in check.get("ignore", [])]
    image = ""
    if tool == "hadolint":  # the spec's own digest replaces gen-ci's
        image = tool_image("hadolint", pins.image_tag("hadolint"), check.get("digest"))
    return DockerfileCheck(
        tool=tool,
        image=image,
        fail_on=check.get("fail_on", "error") if tool == "hadolint" else "warning",
        ignore=ignore,
        skip="skip=" + ",".join(rule for rule, _ in ignore) if tool == "buildkit" and ignore else "",
    )


@dataclass(frozen=True)
class Image:
    id: str
    registries: list[Registry]
    context: str
    dockerfile: str
    target: str | None
    build_args: dict[str, str]  # values are data
    build_args_from: dict[str, str]  # name -> what the job computes: version, revision, created, source
    secrets: dict[str, str]  # BuildKit secret id -> secret or variable name
    labels: bool  # the computed OCI labels
    custom_labels: dict[str, str]  # the spec's own labels, and a multi-platform index's annotations
    platforms: list[str]
    builds: list[PlatformBuild]  # one job per platform when there are several, merged by digest
    cache: str
    cache_repository: str | None
    cache_registry: Registry | None  # whose login lets a publish job write the cache
    cache_clean_release: bool
    test: str | None
    services: list[Service]
    checkout_tests: list[CheckoutTest]
    prepare: Prepare | None
    paths: list[str]  # build on pull requests and branch pushes only when these (or shared_paths) changed
    tag_rules: list[TagRule]
    tag_prefix: str
    tag_suffix: str
    default_variant: bool  # with a suffix: every tag also without it
    versioning: Versioning
    tag_script: str  # POSIX shell printing this image's tags for the job's ref (see tagging)
    tag_sets: list[list[TagRule]]  # the image's tags, then each registry's own tags (Registry.tag_set)
    tag_scripts: list[str]  # one script a tag set, tag_scripts[0] == tag_script
    reads_git_tags: bool  # latest and moving tags compare the version with the repository's other tags
    # Images built from images (build_args {from: image}): build arg name -> the base image's id.
    build_args_image: dict[str, str] = field(default_factory=dict)
    chain: list[str] = field(default_factory=list)  # the ids of every image built from or into this one, in build order
    is_base: bool = False  # another image of the spec builds from this one's candidate
    # Candidate jobs (one a platform) keep the tested image as an artifact, and publish jobs push
    # those exact digests: several platforms, or an image in a chain, even with one platform.
    kept_candidate: bool = False
    dockerfile_check: DockerfileCheck | None = None  # the lint gate before the build, when the spec asks


@dataclass(frozen=True)
class Docker:
    mode: str
    version: str
    dind_image: str
    cli_image: str
    daemon_flags: list[str]
    host_network: bool
    github_daemon: str
    buildkit_image: str
    rootless_image: str  # rootless BuildKit, for docker.mode rootless
    mirror: str | None = None  # the pull mirror's host (BuildKit's mirror for docker.io), or the proxy's $VARIABLE
    dependency_proxy: str | None = None  # GitLab's: the variable that holds its prefix


@dataclass(frozen=True)
class Scan:
    tool: str
    image: str
    fail_on: str
    severities: list[str]
    ignore_unfixed: bool
    gate: bool  # findings at fail_on or above fail the job; else report only
    security_report: bool
    # The exceptions that still hold on the day of the render, as trivy's ignore file, one line
    # each (empty: none); an ended exception is not rendered.
    exceptions: list[VulnerabilityException] = field(default_factory=list)
    ignore_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Push:
    enabled: bool
    branches: list[str]  # literal, or a prefix ending in *
    tags: list[str]
    auth: str
    username: str | None
    password: str | None
    aws_role: str | None
    aws_region: str | None
    environment: str | None
    events: list[str]
    upstream: str | None
    build_environment: str | None
    sign: bool  # keyless cosign signature, attestations and their verification on every pushed digest


@dataclass(frozen=True)
class Jenkins:
    agent: str  # static (by label) or kubernetes (a pod per build)
    label: str
    credentials: dict[str, str]  # registry host -> Jenkins credentials ID, for every host an image publishes to
    controller_url: str | None
    history: int


@dataclass(frozen=True)
class Model:
    name: str
    targets: dict[str, str]
    triggers: dict[str, Any]
    docker: Docker
    images: list[Image]
    shared_paths: list[str]
    scan: Scan
    push: Push
    runners: dict[str, list[str]]
    timeout_minutes: int
    check_job: bool
    check_requirements: str | None
    check_install: str  # the pip requirement the check job installs
    jenkins: Jenkins
    # How the output combines with hand-written files (scenario 28): gitlab include, publish_needs;
    # github called.
    gitlab: dict[str, Any] = field(default_factory=lambda: {"include": False, "publish_needs": []})
    github: dict[str, Any] = field(default_factory=lambda: {"called": False})


def tool_image(name: str, tag: str, digest: str | None = None) -> str:
    """A tool image at the spec's tag: the spec's digest for that tag wins; at gen-ci's own tag, the
    image in use (the spec's tool_images, then the project's overrides, then gen-ci's pins.json:
    pins.images_in_use); any other tag without a digest was refused by the rules (GC172) before a
    model is built."""
    own = pins.pins()["images"][name]
    if digest:
        return pins.mirrored(f"{own['image']}:{tag}@{digest}")
    if tag == own["tag"]:
        return pins.image(name)
    return pins.mirrored(f"{own['image']}:{tag}")


def network_switches(docker: dict[str, Any]) -> tuple[bool, bool]:
    """(iptables, icc) as the profile sets them, overrides applied."""
    isolated = docker["network"] == "isolated"
    # The isolated profile has no bridge at all, so icc is moot there and stays at its default.
    return docker.get("iptables", not isolated), docker.get("icc", isolated)


def daemon_flags(docker: dict[str, Any]) -> list[str]:
    isolated = docker["network"] == "isolated"
    iptables, icc = network_switches(docker)
    flags = [f"--storage-driver={docker['storage_driver']}"]
    if not iptables:
        flags.append("--iptables=false")
    if isolated:
        flags.append("--bridge=none")
    if not icc:
        flags.append("--icc=false")
    if "bip" in docker:
        flags.append(f"--bip={docker['bip']}")
    if "mtu" in docker:
        flags.append(f"--mtu={docker['mtu']}")
    # The daemon's own pulls, the build's base images among them. GitLab's dependency proxy is a
    # path on the GitLab host, which --registry-mirror (a host) cannot name.
    if "mirror" in docker and not proxy_variable(docker["mirror"]):
        flags.append(f"--registry-mirror=https://{docker['mirror']}")
    return flags


def normalise_repository(repository: str) -> str:
    """Docker Hub spelled one way: docker.io/<namespace>/<name>, official images under library/."""
    host, _, path = repository.partition("/")
    if host not in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return repository
    return f"docker.io/{path if '/' in path else 'library/' + path}"


def registry_host(repository: str) -> str:
    """The registry host of a repository; the schema requires every repository to name one."""
    return normalise_repository(repository).split("/", 1)[0]


def publishes(push: dict[str, Any]) -> bool:
    """Whether any run can publish: every publishing run publishes a ref push.branches or push.tags names."""
    return bool(push["branches"] or push["tags"])


def registries(image: dict[str, Any], push: dict[str, Any]) -> list[dict[str, Any]]:
    """An image's registries as written: publish, or repository with push's credentials."""
    if "publish" in image:
        return [{"auth": "token", **entry} for entry in image["publish"]]
    if "repository" not in image:
        return []
    keys = ("auth", "username", "password", "aws_role", "aws_region")
    return [{"repository": image["repository"], **{key: push[key] for key in keys if key in push}}]


def image_id(image: dict[str, Any]) -> str:
    if "id" in image:
        return image["id"]
    written = [r["repository"] for r in registries(image, {})]
    # A named registry first, as before platform/<path> existed; then the path in the project's own.
    named = [r for r in written if not is_own(r)] or [r for r in written if r != PLATFORM_REGISTRY]
    if not named:
        return "image"
    last = named[0].rsplit("/", 1)[-1]
    return re.sub(r"[^a-z0-9-]+", "-", last).strip("-")[:40] or "image"


def platform_slug(platform: str) -> str:
    return platform.removeprefix("linux/").replace("/", "-")


def github_native(labels: list[str]) -> str:
    # GitHub's arm runner labels end in -arm (ubuntu-24.04-arm); every other label is taken as amd64.
    return "linux/arm64" if any(label.endswith("-arm") for label in labels) else "linux/amd64"


def platform_build(platform: str, runners: dict[str, Any]) -> PlatformBuild:
    mapping = runners["platforms"].get(platform, {})
    github_hosted = all(label.startswith("ubuntu-") for label in runners["github"])
    if "github" in mapping:
        github, github_emulated = mapping["github"], False
    elif platform == "linux/arm64" and github_hosted and not mapping.get("emulate") and github_native(runners["github"]) != platform:
        github, github_emulated = ["ubuntu-24.04-arm"], False
    else:
        github, github_emulated = runners["github"], github_native(runners["github"]) != platform
    if "gitlab" in mapping:
        gitlab, gitlab_emulated = mapping["gitlab"], False
    else:
        gitlab, gitlab_emulated = runners["gitlab"], platform != "linux/amd64"
    return PlatformBuild(platform, platform_slug(platform), list(github), list(gitlab), github_emulated, gitlab_emulated)


def cache_registry(repository: str | None, registries_: list[Registry]) -> Registry | None:
    """The image's registry a publish job logs in to for its cache: the same host, else the platform's own."""
    if repository is None:
        return None
    host = registry_host(repository)
    named = [r for r in registries_ if r.host == host]
    own = [r for r in registries_ if r.own]
    return (named or own or [None])[0]


def _tag_sets(image: dict[str, Any]) -> list[list[TagRule]]:
    """The image's tag rules, then those of each registry that names its own."""
    return [rules_from_spec(image["tags"])] + [rules_from_spec(entry["tags"]) for entry in image.get("publish", []) if "tags" in entry]


def _tag_set_numbers(image: dict[str, Any]) -> list[int]:
    numbers, own = [], 0
    for entry in image.get("publish", [{}]):
        if "tags" in entry:
            own += 1
        numbers.append(own if "tags" in entry else 0)
    return numbers


def versioning(image: dict[str, Any], spec_dir: str) -> Versioning:
    """The image's versions; a version file is named from the checkout's root, as the jobs read it."""
    versions = image["versions"]
    file = posixpath.normpath(posixpath.join(spec_dir, versions["file"])) if "file" in versions else ""
    return Versioning(versions["scheme"], versions["from"], file)


def chained(images: list[Image]) -> list[Image]:
    """Mark the images built from images: each chain (images joined by {from: image} build args)
    in build order, bases before the images built from them; the rules have refused cycles."""
    bases = {image.id: set(image.build_args_image.values()) for image in images}
    linked = {image.id: set(bases[image.id]) for image in images}
    for image in images:
        for base in bases[image.id]:
            linked[base].add(image.id)
    order: list[str] = []
    pending = [image.id for image in images]
    while pending:  # the spec's order, each image after its bases
        ready = [ident for ident in pending if bases[ident] <= set(order)] or pending[:1]
        order.append(ready[0])
        pending.remove(ready[0])
    out = []
    for image in images:
        group, todo = set(), [image.id]
        while todo:
            ident = todo.pop()
            if ident not in group:
                group.add(ident)
                todo += linked[ident]
        chain = [ident for ident in order if ident in group] if len(group) > 1 else []
        out.append(replace(image, chain=chain, is_base=any(image.id in bases[other] for other in bases),
                           kept_candidate=len(image.builds) > 1 or bool(chain)))
    return out


def build_model(data: dict[str, Any], spec_dir: str = "", today: date | None = None) -> Model:
    """data has passed schema and semantic validation and carries every default; spec_dir is the
    spec's folder from the checkout's root, which version files are named from; today (the real
    date unless given) decides which vulnerability exceptions still hold."""
    docker = data["docker"]
    version = docker["version"]
    scan = data["scan"]
    push = data["push"]
    images = [
        Image(
            id=image_id(i),
            registries=[
                Registry(
                    repository=r["repository"] if is_own(r["repository"]) else normalise_repository(r["repository"]),
                    host="" if is_own(r["repository"]) else registry_host(r["repository"]),
                    auth=r.get("auth", "token"),
                    spelled=r["repository"],
                    username=r.get("username"),
                    password=r.get("password"),
                    aws_role=r.get("aws_role"),
                    aws_region=r.get("aws_region"),
                    own=is_own(r["repository"]),
                    own_path=r["repository"][len(PLATFORM_REGISTRY):] if is_own(r["repository"]) else "",
                    tag_set=tag_set,
                )
                for r, tag_set in zip(registries(i, push), _tag_set_numbers(i))
            ],
            context=i["context"],
            dockerfile=i["dockerfile"],
            target=i.get("target"),
            build_args={name: value for name, value in i["build_args"].items() if isinstance(value, str)},
            build_args_from={name: value["from"] for name, value in i["build_args"].items() if isinstance(value, dict) and value["from"] != "image"},
            build_args_image={name: value["image"] for name, value in i["build_args"].items() if isinstance(value, dict) and value["from"] == "image"},
            labels=bool(i["labels"]),
            custom_labels=dict(i["labels"]) if isinstance(i["labels"], dict) else {},
            secrets=dict(i["secrets"]),
            platforms=list(i["platforms"]),
            builds=[platform_build(p, data["runners"]) for p in i["platforms"]],
            cache=i["cache"],
            cache_repository=normalise_repository(i["cache_repository"]) if "cache_repository" in i else None,
            cache_registry=None,
            cache_clean_release=i["cache_clean_release"],
            test=i.get("test"),
            services=[
                Service(
                    name=service["name"],
                    image=pins.mirrored(service["image"]),
                    env=dict(service["env"]),
                    ready=service.get("ready", {}).get("command"),
                    timeout_seconds=service.get("ready", {}).get("timeout_seconds", 0),
                    entrypoint=service.get("entrypoint"),
                    command=list(service.get("command", [])),
                )
                for service in i["services"]
            ],
            checkout_tests=[
                CheckoutTest(test.get("compose"), test.get("service"), test.get("script"), test["image_variable"])
                for test in i.get("checkout_tests", [])
            ],
            prepare=Prepare(
                pins.mirrored(i["prepare"]["image"]), i["prepare"]["script"], list(i["prepare"]["outputs"]),
                i["prepare"].get("history", False), list(i["prepare"].get("variables", [])), i["prepare"].get("version_file"),
            ) if "prepare" in i else None,
            paths=[repository_path(path) for path in i.get("paths", [])],
            tag_rules=rules,
            tag_prefix=i.get("tag_prefix", ""),
            tag_suffix=i.get("tag_suffix", ""),
            default_variant=bool(i.get("tag_suffix")) and i["default_variant"],
            versioning=versioning(i, spec_dir),
            tag_script=tag_script(rules, i.get("tag_prefix", ""), i.get("tag_suffix", ""), i["default_variant"], versioning(i, spec_dir)),
            tag_sets=(sets := _tag_sets(i)),
            tag_scripts=[tag_script(s, i.get("tag_prefix", ""), i.get("tag_suffix", ""), i["default_variant"], versioning(i, spec_dir)) for s in sets],
            reads_git_tags=any(reads_released(s) for s in sets),
            dockerfile_check=dockerfile_check(i.get("dockerfile_check")),
        )
        for i, rules in ((i, rules_from_spec(i["tags"])) for i in data["images"])
    ]
    images = [replace(image, cache_registry=cache_registry(image.cache_repository, image.registries)) for image in images]
    images = chained(images)
    return Model(
        name=data["name"],
        targets=dict(data["targets"]),
        triggers=data["triggers"],
        docker=Docker(
            mode=docker["mode"],
            version=version,
            dind_image=tool_image("docker-dind", f"{version}-dind", docker.get("dind_digest")),
            cli_image=tool_image("docker-cli", f"{version}-cli", docker.get("cli_digest")),
            daemon_flags=daemon_flags(docker),
            host_network=docker["mode"] == "dind" and docker["network"] == "isolated",
            github_daemon=docker["github_daemon"],
            buildkit_image=tool_image("buildkit", docker["buildkit"]),
            rootless_image=tool_image("buildkit-rootless", f"{docker['buildkit']}-rootless"),
            mirror=docker.get("mirror"),
            dependency_proxy=proxy_variable(docker.get("mirror")),
        ),
        images=images,
        shared_paths=[repository_path(path) for path in data["shared_paths"]],
        scan=Scan(
            tool=scan["tool"],
            image=tool_image(scan["tool"], pins.image_tag(scan["tool"]), scan.get("digest")) if scan["tool"] != "none" else "",
            fail_on=scan["fail_on"],
            severities=[s.upper() for s in SEVERITIES[SEVERITIES.index(scan["fail_on"]):]],
            ignore_unfixed=scan["ignore_unfixed"],
            gate=scan["mode"] == "gate",
            security_report=scan["security_report"],
            exceptions=(held := holding(listed(scan), today or exceptions.today())),
            ignore_lines=trivy_ignore_lines(held),
        ),
        push=Push(
            enabled=publishes(push),
            branches=list(push["branches"]),
            tags=list(push["tags"]),
            auth=push["auth"],
            username=push.get("username"),
            password=push.get("password"),
            aws_role=push.get("aws_role"),
            aws_region=push.get("aws_region"),
            environment=push.get("environment"),
            events=list(push["events"]),
            upstream=push.get("upstream"),
            build_environment=push.get("build_environment"),
            sign=push["sign"] and publishes(push),
        ),
        runners=data["runners"],
        timeout_minutes=data["timeout_minutes"],
        check_job=data["check_job"],
        check_requirements=data.get("check_requirements"),
        check_install=data.get("check_install", f"gen-ci=={__version__}"),
        jenkins=Jenkins(
            agent=data["jenkins"]["agent"],
            label=data["jenkins"]["label"],
            credentials={
                host: data["jenkins"]["credentials"].get(host, host)
                for host in dict.fromkeys(r.host for image in images for r in image.registries if r.host)
            },
            # agent.jar and the agent's URL are read relative to it
            controller_url=data["jenkins"]["controller_url"].rstrip("/") + "/" if "controller_url" in data["jenkins"] else None,
            history=data["jenkins"]["history"],
        ),
        # No default at the top (absent, a spec's meaning and fingerprint stay as they were).
        gitlab={"include": data.get("gitlab", {}).get("include", False), "publish_needs": list(data.get("gitlab", {}).get("publish_needs", []))},
        github={"called": data.get("github", {}).get("called", False)},
    )
