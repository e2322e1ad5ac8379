"""Semantic rules: combinations the schema allows but that cannot work.

Each rule has its own id (see diagnostics.CODES) and says how to fix the spec.
Rules read the spec with defaults filled in, and the raw spec to know what the user set.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any

from generator.diagnostics import Diagnostic, SpecError
from generator.loading import LoadedSpec
from generator.tagging import KEYWORDS, MAX_TAG, rules_from_spec
from generator.model import PLATFORM_REGISTRY, github_native, platform_slug, image_id, network_switches, normalise_repository, publishes, registries, registry_host
from generator.jenkins import schedule_branch
from generator.refs import glob_regex

Rule = Callable[[dict[str, Any], LoadedSpec], Iterator[Diagnostic]]

DOCKERD_REFUSAL = (
    "You specified --iptables=false with --icc=false. ICC=false uses iptables to function. "
    "Please set --icc or --iptables to true"
)


def iptables_and_icc_off(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    docker = spec["docker"]
    if network_switches(docker) == (False, False):
        where = ("docker", "icc") if "icc" in docker else ("docker", "iptables")
        yield loaded.diagnostic(
            where,
            "GC101",
            f'dockerd refuses to start with both iptables and icc off ("{DOCKERD_REFUSAL}"); '
            "use network: isolated (--iptables=false --bridge=none: no bridge, so no container-to-container traffic) "
            "or network: icc-off (--icc=false with iptables on), and drop the iptables/icc overrides",
        )


def _gitlab_images(spec: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    if "gitlab" in spec["targets"]:
        yield from enumerate(spec["images"])


# The first docker:<version>-cli image whose buildx (0.33) reads and writes OCI layouts with imagetools.
GITLAB_MERGE_VERSION = (29, 4, 0)


def multi_platform_on_old_client(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    version = tuple(int(part) for part in spec["docker"]["version"].split("."))
    if version >= GITLAB_MERGE_VERSION or spec["docker"]["mode"] == "rootless":  # rootless: GC130 says why
        return
    for index, image in _gitlab_images(spec):
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic(
                ("docker", "version") if "version" in loaded.data.get("docker", {}) else ("images", index, "platforms"),
                "GC102",
                f"the GitLab merge job joins the platforms' tested images with buildx imagetools and OCI layouts, which the "
                f"docker:{spec['docker']['version']}-cli image's buildx cannot do; set docker.version to 29.4.0 or newer",
            )


def _default_native(spec: dict[str, Any]) -> dict[str, str]:
    """The platform each target's default runners run natively."""
    natives = {}
    if "github" in spec["targets"]:
        natives["github"] = github_native(spec["runners"]["github"])
    if "gitlab" in spec["targets"]:
        natives["gitlab"] = "linux/amd64"
    return natives


def runner_mapping_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    built = {platform for image in spec["images"] for platform in image["platforms"]}
    for platform, mapping in spec["runners"]["platforms"].items():
        where = ("runners", "platforms", platform)
        if platform not in built:
            yield loaded.diagnostic(
                where, "GC124",
                f"runners.platforms names {platform}, which no image builds{did_you_mean_platform(platform, built)}; "
                "remove it or add the platform to an image's platforms",
                key=True,
            )
            continue
        if mapping.get("emulate") and ("github" in mapping or "gitlab" in mapping):
            yield loaded.diagnostic(
                (*where, "emulate"), "GC125",
                f"{platform} is given native runners and emulate: true; a platform builds natively on its runners or "
                "under QEMU on the default runners, so remove one",
            )
        elif mapping.get("emulate"):
            for target, native in _default_native(spec).items():
                if native == platform:
                    yield loaded.diagnostic(
                        (*where, "emulate"), "GC125",
                        f"the default {target} runners already are {platform}, so there is nothing to emulate; remove emulate",
                    )


def did_you_mean_platform(platform: str, built: set[str]) -> str:
    close = difflib.get_close_matches(platform, sorted(built), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def cache_unusable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in _gitlab_images(spec):
        if image["cache"] == "gha":
            yield loaded.diagnostic(
                ("images", index, "cache"),
                "GC103",
                "cache: gha needs GitHub's cache service, and the GitLab jobs build with the daemon's own docker builder, "
                "which cannot export to it; use cache: auto (gha on GitHub, none on GitLab)",
            )


def _registries(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple, tuple]]:
    """(registry, path of its repository, path where its auth is written) for every registry of every image."""
    for index, image in enumerate(spec["images"]):
        if "publish" in image:
            for number, entry in enumerate(registries(image, spec["push"])):
                where = ("images", index, "publish", number)
                yield entry, (*where, "repository"), (*where, "auth") if "auth" in image["publish"][number] else where
        else:
            for entry in registries(image, spec["push"]):
                yield entry, ("images", index, "repository"), ("push", "auth")


def push_without_credentials(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if not publishes(spec["push"]):
        return
    for entry, repository_at, auth_at in _registries(spec):
        auth, named = entry.get("auth", "token"), "push" if auth_at[0] == "push" else "this registry"
        needed = {"secrets": ("username", "password"), "oidc": ("aws_role", "aws_region")}.get(auth, ())
        for key in needed:
            if key not in entry:
                yield loaded.diagnostic(
                    auth_at, "GC104",
                    f"auth: {auth} needs {key} ({named}) to get registry credentials; name the secret (GitHub) or "
                    "masked, protected variable (GitLab) that holds it" if auth == "secrets" else f"auth: oidc needs {key} ({named}) to get registry credentials",
                )
        if auth != "token" or entry["repository"] == PLATFORM_REGISTRY:
            continue
        host = registry_host(entry["repository"])
        if "github" in spec["targets"] and host != "ghcr.io":
            yield loaded.diagnostic(
                repository_at, "GC104",
                "auth: token uses GITHUB_TOKEN, which can push only to ghcr.io; use auth: secrets with a username and "
                "password for this registry, oidc for AWS ECR, or repository: platform for the project's own registry",
            )
        if "gitlab" in spec["targets"] and _foreign_to_gitlab(host):
            yield loaded.diagnostic(
                repository_at, "GC104",
                f"auth: token logs in with the job's CI_REGISTRY_PASSWORD, which belongs to the project's own GitLab registry "
                f"($CI_REGISTRY) alone, never to {host}; use auth: secrets with masked, protected variables for this registry",
            )


# Registries that are certainly not a GitLab instance's container registry. The job's own check
# that the repository starts with $CI_REGISTRY/ catches every other host at run time.
NOT_GITLAB = ("docker.io", "ghcr.io", "quay.io", "gcr.io", "nvcr.io", "public.ecr.aws", "mcr.microsoft.com")
NOT_GITLAB_SUFFIXES = (".gcr.io", ".pkg.dev", ".amazonaws.com", ".azurecr.io", ".docker.io", ".quay.io")


def _foreign_to_gitlab(host: str) -> bool:
    return host in NOT_GITLAB or host.endswith(NOT_GITLAB_SUFFIXES)


def threshold_without_scanner(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    raw_scan = loaded.data.get("scan", {})
    if spec["scan"]["tool"] == "grype" and spec["scan"]["security_report"] and "gitlab" in spec["targets"]:
        yield loaded.diagnostic(
            ("scan", "security_report"), "GC105",
            "GitLab's container scanning report is written with trivy's GitLab template, and grype has none; use scan.tool: trivy",
        )
    if spec["scan"]["tool"] == "none":
        for key in ("fail_on", "ignore_unfixed", "digest", "mode", "security_report"):
            if key in raw_scan:
                yield loaded.diagnostic(
                    ("scan", key), "GC105",
                    f"scan.{key} has no effect with scan.tool: none; choose trivy or grype, or remove scan.{key}",
                )


# Words YAML 1.1 or 1.2, or GitHub's expressions, read as something other than a name.
RESERVED_IDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}
ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Jobs every output may hold besides the images' own.
FIXED_JOBS = {"publish-gate", "changes", "all-images", "check-generated"}


def _job_names(ident: str, platforms: list[str]) -> set[str]:
    """Every job (and artifact or cache scope) name an image's id can give, on any platform."""
    names = {f"{role}-{ident}" for role in ("build", "publish", "scan", "tags", "describe", "sign")}
    if len(platforms) > 1:
        names |= {f"{role}-{ident}-{platform_slug(p)}" for role in ("build", "candidate") for p in platforms}
    return names


def duplicate_image_ids(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    owners: dict[str, int] = {name: -1 for name in FIXED_JOBS}
    for index, image in enumerate(spec["images"]):
        ident = image_id(image)
        where = ("images", index, "id") if "id" in image else ("images", index, "repository")
        if "id" not in image and not ID_PATTERN.fullmatch(ident) or ident in RESERVED_IDS:
            suggestion = re.sub(r"^[^a-z]+", "", ident) or "app"
            if suggestion in RESERVED_IDS or not ID_PATTERN.fullmatch(suggestion):
                suggestion = "app"
            yield loaded.diagnostic(
                where, "GC106",
                f"the image id {ident!r}{' (taken from the repository)' if 'id' not in image else ''} cannot name jobs: "
                f"{'YAML and expressions read it as a value, not a name' if ident in RESERVED_IDS else 'an id starts with a lower-case letter and holds only a-z, 0-9 and -'}; "
                f"set id: {suggestion}",
            )
            continue
        if ident in seen:
            yield loaded.diagnostic(
                where, "GC106",
                f"image id {ident!r} is already used by images[{seen[ident]}]; job names and cache scopes must be unique, "
                "so give one of them a different id",
            )
            continue
        seen[ident] = index
        for name in sorted(_job_names(ident, image["platforms"])):
            other = owners.setdefault(name, index)
            if other != index:
                taken = "gen-ci's own job" if other < 0 else f"images[{other}] ({image_id(spec['images'][other])})"
                yield loaded.diagnostic(
                    where, "GC106",
                    f"image {ident!r} would make a job {name!r}, which {taken} already names; give this image a different id",
                )
                break


def socket_without_runner_tags(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "gitlab" in spec["targets"] and spec["docker"]["mode"] == "socket" and not spec["runners"]["gitlab"]:
        explicit = "mode" in loaded.data.get("docker", {})
        yield loaded.diagnostic(
            ("docker", "mode") if explicit else ("targets", "gitlab"), "GC107",
            "socket mode on GitLab needs runners whose config.toml binds /var/run/docker.sock; "
            "set runners.gitlab to the tags that select them (see the README's socket section)",
        )


def oidc_unsupported(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for entry, repository_at, _ in _registries(spec):
        if entry.get("auth") == "oidc" and not _is_ecr(registry_host(entry["repository"])):
            yield loaded.diagnostic(
                repository_at, "GC108",
                "auth: oidc exchanges the job's OIDC token for AWS credentials, which log in to Amazon ECR only "
                "(<account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws); use auth: secrets for this registry",
            )


def _is_ecr(host: str) -> bool:
    return host == "public.ecr.aws" or re.fullmatch(r"[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", host) is not None


def setting_without_effect(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "check_requirements" in spec and not spec["check_job"]:
        yield loaded.diagnostic(("check_requirements",), "GC109", "check_requirements is read by the check job alone; set check_job: true or remove it")
    yield from _platform_settings_unused(spec, loaded)
    raw_docker = loaded.data.get("docker", {})
    # version and cli_digest also pin the client image of GitLab's socket jobs, so they stay valid there.
    dind_only = ("dind_digest", "storage_driver", "network", "iptables", "icc", "mtu", "bip", "github_daemon")
    if spec["docker"]["mode"] == "rootless":
        return  # rootless_limits refuses the daemon's settings there, as needing privileges
    if spec["docker"]["mode"] == "socket":
        for key in dind_only:
            if key in raw_docker:
                yield loaded.diagnostic(("docker", key), "GC109", f"docker.{key} configures the dind daemon and has no effect in socket mode; remove it or set mode: dind")
    elif spec["docker"]["network"] == "isolated":
        for key in ("bip", "mtu"):
            if key in raw_docker:
                yield loaded.diagnostic(
                    ("docker", key), "GC109",
                    f"docker.{key} configures the default bridge, which the isolated profile does not create "
                    "(builds use the dind container's own network, MTU included); use network: icc-off or remove it",
                )


# Settings that only some outputs read: (path in the spec, the platforms that read it).
PLATFORM_SETTINGS = [
    (("check_job",), ("github", "gitlab")),
    (("push", "build_environment"), ("github",)),
    (("runners", "github"), ("github",)),
    (("runners", "gitlab"), ("gitlab",)),
    (("docker", "github_daemon"), ("github",)),
    (("triggers", "release"), ("github",)),
    (("triggers", "call"), ("github",)),
]


def _platform_settings_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A setting the user wrote (defaults never count) that no output of this spec reads."""
    rendered = set(spec["targets"])
    for path, readers in PLATFORM_SETTINGS:
        node: Any = loaded.data
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict) or path[-1] not in node or rendered & set(readers):
            continue
        if path[-1] in ("release", "call", "check_job") and not node[path[-1]]:
            continue  # turned off: says what every output already does
        yield loaded.diagnostic(
            path, "GC109",
            f"{'.'.join(path)} is read only by {' and '.join(readers)} outputs, and this spec renders "
            f"{', '.join(sorted(rendered))}; remove it",
            key=True,
        )


def secrets_without_environment(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    push = spec["push"]
    if "github" not in spec["targets"] or not publishes(push) or "environment" in push:
        return
    for entry, _, auth_at in _registries(spec):
        if entry.get("auth") == "secrets":
            yield loaded.diagnostic(
                auth_at, "GC110",
                "auth: secrets on GitHub needs push.environment: keep the registry credentials as environment secrets, "
                "released only to the push job and only past the environment's protection rules",
            )
            return


def service_daemon_without_digest(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    docker = spec["docker"]
    if "github" in spec["targets"] and docker["mode"] == "dind" and docker["github_daemon"] == "service" and "dind_digest" not in docker:
        yield loaded.diagnostic(
            ("docker", "github_daemon"), "GC111",
            "a service daemon is pulled by the runner before any step, by its reference alone; pin it with docker.dind_digest "
            "(docker buildx imagetools inspect docker:<version>-dind), or use github_daemon: step",
        )


CRON_FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}),
    ("day of week", 0, 6, {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}),
]


def _cron_problem(expression: str) -> str | None:
    for text, (field, low, high, names) in zip(expression.split(" "), CRON_FIELDS):
        for atom in text.split(","):
            values, _, step = atom.partition("/")
            if step and int(step) == 0:
                return f"the {field} step is 0"
            for value in values.split("-"):
                if value == "*":
                    continue
                number = names.get(value.upper()) if value.isalpha() else int(value)
                if number is None:
                    return f"{value!r} is not a {field} name" + (f" (use {', '.join(names)})" if names else "")
                if not low <= number <= high:
                    return f"{field} {value} is outside {low}-{high}"
    minute, hour = expression.split(" ")[:2]
    gap = _shortest_gap(_minutes(minute), every_hour=hour == "*")
    if gap < MIN_SCHEDULE_MINUTES:
        return f"it runs every {gap} minute{'s' if gap != 1 else ''} at times; GitHub runs schedules at most every {MIN_SCHEDULE_MINUTES} minutes"
    return None


# GitHub's shortest schedule interval (actionlint checks it too).
MIN_SCHEDULE_MINUTES = 5


def _minutes(field: str) -> set[int]:
    """The minutes of the hour a valid cron minute field fires at."""
    minutes: set[int] = set()
    for atom in field.split(","):
        values, _, step = atom.partition("/")
        first, _, last = values.partition("-")
        start, end = (0, 59) if first == "*" else (int(first), int(last or (59 if step else first)))
        minutes.update(range(start, end + 1, int(step or 1)))
    return minutes


def _shortest_gap(minutes: set[int], every_hour: bool) -> int:
    ordered = sorted(minutes)
    following = ordered[1:] + ([ordered[0] + 60] if every_hour else [])
    return min((b - a for a, b in zip(ordered, following)), default=60)


def cron_out_of_range(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, expression in enumerate(spec["triggers"]["schedule"]):
        problem = _cron_problem(expression)
        if problem:
            yield loaded.diagnostic(("triggers", "schedule", index), "GC112", f"{problem} in the cron expression {expression!r}")


def no_trigger(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    triggers = spec["triggers"]
    if not any(triggers[key] for key in ("branches", "tags", "pull_requests", "schedule", "manual")):
        yield loaded.diagnostic(
            ("triggers",), "GC113",
            "no trigger is left, so the pipeline could never run (GitHub rejects an empty on:, GitLab a workflow with no rules); "
            "list triggers.branches or triggers.tags, or turn on pull_requests, schedule or manual",
            key=True,
        )


def push_ref_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for kind in ("branches", "tags"):
        triggers = spec["triggers"][kind]
        for index, pattern in enumerate(spec["push"][kind]):
            if not any(_trigger_reaches(trigger, pattern) for trigger in triggers):
                listed = ", ".join(triggers) or "nothing"
                # push.<kind> may be the default, written nowhere: then point at the triggers that miss it.
                where = ("push", kind, index) if kind in loaded.data.get("push", {}) else ("triggers", kind)
                yield loaded.diagnostic(
                    where, "GC114",
                    f"push.{kind} lists {pattern!r}, but no trigger runs the pipeline for it (triggers.{kind}: {listed}); "
                    f"add it to triggers.{kind} or set push.{kind} without it",
                )


def publish_event_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    triggers, push = spec["triggers"], spec["push"]
    needs = {
        "schedule": (bool(triggers["schedule"]), "triggers.schedule lists no cron line"),
        "manual": (triggers["manual"], "triggers.manual is false"),
        "release": (triggers["release"] or "github" not in spec["targets"], "triggers.release is false"),
    }
    for index, event in enumerate(push["events"]):
        reachable, why = needs.get(event, (True, ""))
        if not reachable:
            yield loaded.diagnostic(("push", "events", index), "GC114", f"push.events lists {event}, but {why}, so it could never publish")
        listed = {"release": ("tags",), "schedule": ("branches",), "manual": ("branches", "tags"), "push": ("branches", "tags")}[event]
        if not any(push[key] for key in listed) and (event != "push" or publishes(push)):
            # A schedule publishes the branches push.branches lists, like every other run (generator.plan).
            example = {"schedule": "push.branches: [main]", "release": 'push.tags: ["v*"]'}.get(event, "push.branches: [main]")
            yield loaded.diagnostic(
                ("push", "events", index), "GC114",
                f"push.events lists {event}, which publishes only refs push.{' or push.'.join(listed)} name{'s' if len(listed) == 1 else ''}, "
                f"and there are none; add them ({example}) or remove {event}",
            )


def _trigger_reaches(trigger: str, push_pattern: str) -> bool:
    """Whether some ref the push glob matches also runs the pipeline under the trigger glob.

    The push glob is probed with a few typical refs it matches (each * and ** filled in).
    """
    regex = re.compile(glob_regex(trigger))
    probes = {
        push_pattern.replace("**", fill).replace("*", part).replace("+", plus)
        for fill in ("x", "x/y") for part in ("x", "1", "1.0.0", "1.0.0-rc.1") for plus in ("", "+")
    }
    return any(regex.fullmatch(probe) and re.fullmatch(glob_regex(push_pattern), probe) for probe in probes)


def repository_or_publish(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        if ("repository" in image) == ("publish" in image):
            both = "repository" in image
            yield loaded.diagnostic(
                ("images", index, "publish" if both else ""), "GC117",
                "name where the image goes with either repository (one registry, push.auth) or publish (several registries, "
                + ("each with its own auth), not both" if both else "each with its own auth); it has neither"),
                key=both,
            )


def invalid_tag_rule(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        extra = len(image.get("tag_prefix", "")) + len(image.get("tag_suffix", ""))
        for number, rule in enumerate(rules_from_spec(image["tags"])):
            close = difflib.get_close_matches(rule.tag, KEYWORDS, n=1, cutoff=0.75)
            if isinstance(image["tags"][number], str) and rule.tag not in KEYWORDS and close:
                yield loaded.diagnostic(
                    ("images", index, "tags", number), "GC118",
                    f"{rule.tag!r} would be published as a fixed tag name; did you mean the keyword {close[0]!r}? "
                    f"(to publish the name itself, write {{tag: {rule.tag}}} and a condition)",
                )
            if rule.tag not in KEYWORDS and len(rule.tag) + extra > MAX_TAG:
                yield loaded.diagnostic(
                    ("images", index, "tags", number), "GC118",
                    f"{rule.tag!r} with the prefix and suffix makes a tag of {len(rule.tag) + extra} characters; Docker allows {MAX_TAG}",
                )
        if "tag_suffix" not in image and image["default_variant"]:
            yield loaded.diagnostic(("images", index, "default_variant"), "GC109", "default_variant only has an effect with tag_suffix; remove it or add a suffix")


def _tag_spaces(image: dict[str, Any]) -> set[tuple[str, str]]:
    """(prefix, suffix) pairs whose tags an image publishes: the suffixed ones and, for a default variant, the plain ones."""
    prefix, suffix = image.get("tag_prefix", ""), image.get("tag_suffix", "")
    return {(prefix, suffix), (prefix, "")} if suffix and image["default_variant"] else {(prefix, suffix)}


def variants_collide(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Two images publishing to one repository with the same prefix and suffix could push the same tag."""
    seen: dict[tuple[str, str, str], int] = {}
    for index, image in enumerate(spec["images"]):
        for entry in registries(image, spec["push"]):
            for prefix, suffix in sorted(_tag_spaces(image)):
                key = (normalise_repository(entry["repository"]), prefix, suffix)
                other = seen.setdefault(key, index)
                if other != index:
                    message = (
                        f"images[{other}] and images[{index}] both publish {prefix}<tag>{suffix} tags to {entry['repository']}, "
                        "so one would overwrite the other; give each a different tag_suffix (and at most one default_variant)"
                    )
                    yield loaded.diagnostic(("images", other), "GC119", message)
                    yield loaded.diagnostic(("images", index), "GC119", message)


SECRET_WORDS = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|KEY", re.IGNORECASE)


def secret_in_build_arg(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        for name in image["build_args"]:
            if SECRET_WORDS.search(name):
                yield loaded.diagnostic(
                    ("images", index, "build_args", name), "GC120",
                    f"build arg {name} looks like a secret, and build args stay in the image's history; pass it as a BuildKit "
                    f"secret instead: images[{index}].secrets: {{{name.lower()}: <secret or variable name>}}, read in the "
                    f"Dockerfile with RUN --mount=type=secret,id={name.lower()}",
                    key=True,
                )


def build_secrets_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "github" not in spec["targets"]:
        return
    for index, image in enumerate(spec["images"]):
        for secret_id, name in image["secrets"].items():
            if name.upper().startswith("GITHUB_"):
                yield loaded.diagnostic(("images", index, "secrets", secret_id), "GC121", f"GitHub refuses secret names that start with GITHUB_ ({name}); rename the secret")
        if image["secrets"] and publishes(spec["push"]) and "environment" not in spec["push"]:
            yield loaded.diagnostic(
                ("images", index, "secrets"), "GC110",
                "build secrets on GitHub need push.environment too: the release jobs build again and read them as "
                "environment secrets of that environment",
                key=True,
            )
        if image["secrets"] and "build_environment" not in spec["push"]:
            yield loaded.diagnostic(
                ("images", index, "secrets"), "GC110",
                "build secrets on GitHub need push.build_environment: the build jobs read them as environment secrets "
                "(and so do the release jobs, from push.environment), never as repository-wide secrets",
                key=True,
            )


def signing_unverifiable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    push = spec["push"]
    if not push["sign"]:
        return
    if not publishes(push):
        if "sign" in loaded.data.get("push", {}):
            yield loaded.diagnostic(
                ("push", "sign"), "GC122",
                "push.sign signs what is pushed, and this spec pushes nothing (no push.branches, no push.tags, no "
                "scheduled publishing); set push.sign: false or name the refs that publish",
            )
        return
    if "github" in spec["targets"] and spec["triggers"]["call"]:
        yield loaded.diagnostic(
            ("triggers", "call"), "GC123",
            "a called workflow's signing certificate names this file at the ref the caller chose, which the job cannot "
            "see (github.workflow_ref names the caller), so the verify step could never match; set push.sign: false "
            "or remove triggers.call",
        )


def registry_secret_name_refused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if "github" not in spec["targets"]:
        return
    places = [(("push",), spec["push"])] + [
        (("images", index, "publish", number), entry)
        for index, image in enumerate(spec["images"])
        for number, entry in enumerate(image.get("publish", []))
    ]
    for where, entry in places:
        for key in ("username", "password"):
            name = entry.get(key, "")
            if name.upper().startswith("GITHUB_"):
                yield loaded.diagnostic((*where, key), "GC121", f"GitHub refuses secret names that start with GITHUB_ ({name}); rename the secret")


def _unpinned(image: str) -> str | None:
    """Why an image reference is not pinned, or None: a digest, or a tag other than latest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if digest:
        return None
    if not tag:
        return "has no tag, so it means latest"
    if tag == "latest":
        return "is latest"
    if not any(character.isdigit() for character in tag):
        # lts, alpine, stable, bookworm, edge, mainline: names that move to each new release.
        return f"is tagged {tag!r}, a name with no version in it"
    return None


def image_unpinned(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        places = [(("images", index, "services", number, "image"), service["image"]) for number, service in enumerate(image["services"])]
        if "prepare" in image:
            places.append((("images", index, "prepare", "image"), image["prepare"]["image"]))
        for where, reference in places:
            problem = _unpinned(reference)
            if problem:
                yield loaded.diagnostic(
                    where, "GC126",
                    f"{reference} {problem}, which changes under the pipeline; name a version tag (e.g. postgres:16.4) or a digest (@sha256:...)",
                )


def _outside(path: str) -> bool:
    return ".." in path.split("/")


def path_outside_repository(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    places = [(("shared_paths", number), path) for number, path in enumerate(spec["shared_paths"])]
    places += [(("images", index, "paths", number), path) for index, image in enumerate(spec["images"]) for number, path in enumerate(image.get("paths", []))]
    for where, path in places:
        if _outside(path):
            yield loaded.diagnostic(where, "GC127", f"{path} leaves the repository, where no change is ever seen; name a path relative to its root")


def _inside(path: str, context: str) -> bool:
    context = context.strip("/")
    return context in ("", ".") or path == context or path.startswith(context + "/")


def services_and_prepare(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        if image["services"] and "test" not in image:
            yield loaded.diagnostic(("images", index, "services"), "GC109", "services start for the test alone, and this image has no test; add test or remove services")
        seen: dict[str, int] = {}
        for number, service in enumerate(image["services"]):
            if service["name"] in seen:
                yield loaded.diagnostic(
                    ("images", index, "services", number, "name"), "GC128",
                    f"two services are named {service['name']} (entries {seen[service['name']]} and {number}); a name reaches one service, so rename one",
                )
            seen.setdefault(service["name"], number)
        for number, output in enumerate(image.get("prepare", {}).get("outputs", [])):
            if not _inside(output, image["context"]):
                yield loaded.diagnostic(
                    ("images", index, "prepare", "outputs", number), "GC128",
                    f"{output} is outside the build context {image['context']}, so the build would never see it; "
                    f"make the script write under {image['context']}/",
                )
    if spec["shared_paths"] and not any("paths" in image for image in spec["images"]):
        yield loaded.diagnostic(("shared_paths",), "GC109", "shared_paths only widens images[].paths, and no image lists paths; remove it or add paths to an image")


def cache_unwritable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, image in enumerate(spec["images"]):
        where = ("images", index, "cache_repository")
        if image["cache"] != "registry":
            for key in ("cache_repository", "cache_clean_release"):
                if key in loaded_keys(loaded, ("images", index)):
                    yield loaded.diagnostic(("images", index, key), "GC109", f"{key} configures cache: registry; set cache: registry or remove it")
            continue
        if "cache_repository" not in image:
            yield loaded.diagnostic(("images", index, "cache"), "GC129", "cache: registry needs cache_repository: the repository the cache lives in")
            continue
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic(
                ("images", index, "cache"), "GC129",
                "a multi-platform image's platform jobs hold no registry credentials, so nothing could ever write a registry "
                "cache; use " + ("cache: auto (gha per platform on GitHub, none on GitLab)" if "gitlab" in spec["targets"] else "cache: gha (scoped per platform)")
                + " or cache: none",
            )
            continue
        host = registry_host(image["cache_repository"])
        entries = registries(image, spec["push"])
        for target in spec["targets"]:
            own = any(entry["repository"] == PLATFORM_REGISTRY for entry in entries) and (
                host == "ghcr.io" if target == "github" else not _foreign_to_gitlab(host)
            )
            if not own and not any(entry["repository"] != PLATFORM_REGISTRY and registry_host(entry["repository"]) == host for entry in entries):
                hosts = sorted({registry_host(e["repository"]) if e["repository"] != PLATFORM_REGISTRY else "the platform's own" for e in entries})
                yield loaded.diagnostic(
                    where, "GC129",
                    f"the {target} publish job logs in to {', '.join(hosts) or 'no registry'} only, so it cannot write a cache on {host}; "
                    "put the cache on one of the image's registries",
                )
                break


def loaded_keys(loaded: LoadedSpec, path: tuple) -> set[str]:
    node: Any = loaded.data
    for part in path:
        node = node[part]
    return set(node)


def rootless_limits(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """What rootless mode (no daemon, no privilege) cannot do, each refused where it is written."""
    if spec["docker"]["mode"] != "rootless":
        return
    why = "docker.mode rootless"
    raw_docker = loaded.data.get("docker", {})
    for key in ("dind_digest", "storage_driver", "network", "iptables", "icc", "mtu", "bip", "github_daemon"):
        if key in raw_docker:
            yield loaded.diagnostic(("docker", key), "GC130", f"docker.{key} configures a privileged daemon, which {why} does not run; remove it")
    if "github" in spec["targets"]:
        yield loaded.diagnostic(
            ("docker", "mode"), "GC130",
            f"{why} renders GitLab jobs only: GitHub-hosted runners have a Docker daemon (use mode: socket), and rootless "
            "jobs on self-hosted container runners are not rendered yet",
        )
    if spec["scan"]["tool"] == "grype":
        yield loaded.diagnostic(("scan", "tool"), "GC130", f"{why} runs the scanner as the job's image, and grype's image has no shell; use tool: trivy")
    for index, image in enumerate(spec["images"]):
        where = ("images", index)
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic((*where, "platforms"), "GC130", f"{why} builds one platform per image: emulation needs a privileged binfmt set-up; use mode: dind for multi-platform images")
        if image["services"]:
            yield loaded.diagnostic((*where, "services"), "GC130", f"{why} has no daemon to start services beside the test; use mode: dind or socket for tests that need services")
        if "prepare" in image:
            yield loaded.diagnostic((*where, "prepare"), "GC130", f"{why} has no daemon to run the prepare image; use mode: dind or socket")
        if image["cache"] == "registry":
            yield loaded.diagnostic((*where, "cache"), "GC130", f"{why} builds without registry credentials in the build job, so it cannot write a registry cache; use cache: none")
    for entry, repository_at, auth_at in _registries(spec):
        if entry.get("auth") == "oidc":
            yield loaded.diagnostic(auth_at, "GC130", f"{why} has no AWS CLI beside the copy tool to trade the OIDC token for ECR credentials; use auth: secrets")


def jenkins_limits(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """What the Jenkins target does not render, each refused where it is written."""
    if "jenkins" not in spec["targets"]:
        return
    why = "the Jenkins target"
    mode = spec["docker"]["mode"]
    if mode == "rootless":
        yield loaded.diagnostic(("docker", "mode"), "GC131", f"{why} renders socket and dind modes; rootless BuildKit jobs are GitLab-only")
    if mode == "socket" and spec["jenkins"]["agent"] == "kubernetes":
        yield loaded.diagnostic(
            ("jenkins", "agent"), "GC131",
            "Kubernetes agents get no host Docker socket from gen-ci (a hostPath socket hands every build the node's root); "
            "use docker.mode dind, whose pod runs a TLS-only DinD sidecar",
        )
    # Left at its default, sign applies to the spec's other targets and Jenkins publishes unsigned.
    if spec["push"]["sign"] and "sign" in loaded.data.get("push", {}):
        yield loaded.diagnostic(
            ("push", "sign"), "GC131",
            f"{why} cannot sign keyless: Jenkins gives builds no OIDC identity for Sigstore; remove sign "
            "(GitHub and GitLab outputs of this spec still sign by default), or render Jenkins from a spec of its own",
        )
    for index, image in enumerate(spec["images"]):
        where = ("images", index)
        if len(image["platforms"]) > 1:
            yield loaded.diagnostic((*where, "platforms"), "GC131", f"{why} builds one platform per image; list one platform, or build multi-platform images on GitHub or GitLab")
        if image.get("paths"):
            yield loaded.diagnostic(
                (*where, "paths"), "GC131",
                f"{why} builds every image on every run: Jenkins' changeset condition compares with the previous build, not the "
                "target branch, so it cannot honour paths; remove paths, or render Jenkins from a spec of its own",
            )
        if image["cache"] in ("registry", "gha"):
            yield loaded.diagnostic((*where, "cache"), "GC131", f"{why} builds with the agent daemon's own layer cache; use cache: auto or none")
    if spec["triggers"]["schedule"] and schedule_branch(spec["triggers"]["branches"], spec["push"]) is None:
        publishing = "schedule" in spec["push"]["events"]
        yield loaded.diagnostic(
            ("triggers", "schedule"), "GC131",
            f"{why} keeps a schedule on one branch job, named exactly (no * or +), that triggers.branches reaches"
            + (" and push.branches lists, since schedules publish" if publishing else "") + "; name such a branch",
        )
    if spec["shared_paths"]:
        yield loaded.diagnostic(("shared_paths",), "GC131", f"{why} builds every image on every run, so shared_paths has no effect there; remove it")
    for entry, repository_at, auth_at in _registries(spec):
        if entry["repository"] == PLATFORM_REGISTRY:
            yield loaded.diagnostic(repository_at, "GC131", f"{why} has no registry of its own; name the repository with its host")
        elif entry.get("auth") == "oidc":
            yield loaded.diagnostic(auth_at, "GC131", f"{why} logs in with Jenkins credentials (jenkins.credentials); use auth: secrets")


def jenkins_settings_unused(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    targets, jenkins = spec["targets"], spec["jenkins"]
    if "jenkins_agent" in targets and "jenkins" not in targets:
        yield loaded.diagnostic(("targets", "jenkins_agent"), "GC132", "the agent runtime serves the Jenkinsfile's builds; add targets.jenkins (for example Jenkinsfile)", key=True)
    if "jenkins_agent" in targets and jenkins["agent"] == "kubernetes":
        yield loaded.diagnostic(
            ("targets", "jenkins_agent"), "GC132",
            "Kubernetes agents carry their pod (DinD sidecar included) inside the Jenkinsfile; remove targets.jenkins_agent", key=True,
        )
    if "jenkins" not in targets and "jenkins" in loaded.data:
        yield loaded.diagnostic(("jenkins",), "GC132", "jenkins settings apply to targets.jenkins, which this spec does not render; add it or remove them", key=True)
        return
    hosts = {registry_host(entry["repository"]) for entry, _, _ in _registries(spec) if entry["repository"] != PLATFORM_REGISTRY}
    for host in jenkins["credentials"]:
        if host not in hosts:
            hint = difflib.get_close_matches(host, sorted(hosts), n=1)
            named = f"; did you mean {hint[0]}?" if hint else f" (they publish to {', '.join(sorted(hosts)) or 'none'})"
            yield loaded.diagnostic(("jenkins", "credentials", host), "GC132", f"no image publishes to {host}{named}", key=True)
    if jenkins["agent"] == "kubernetes" and "label" in loaded.data.get("jenkins", {}):
        yield loaded.diagnostic(("jenkins", "label"), "GC132", "Kubernetes agents are the build's own pod, chosen by no label; remove label")
    if "controller_url" in jenkins and "jenkins_agent" not in targets:
        yield loaded.diagnostic(("jenkins", "controller_url"), "GC132", "controller_url is where the rendered agent runtime connects; add targets.jenkins_agent or remove it")


def tag_rule_never_fires(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A tag rule no publishing run could ever apply: accepted, it would silently publish nothing."""
    push = spec["push"]
    events = set(push["events"])
    if not publishes(push):
        return
    for index, image in enumerate(spec["images"]):
        for number, rule in enumerate(rules_from_spec(image["tags"])):
            where = ("images", index, "tags", number)
            reachable = set(rule.events or events) & events
            if not reachable:
                yield loaded.diagnostic(
                    where, "GC150",
                    f"{rule.tag!r} is published on {', '.join(rule.events)} runs, but push.events lists only "
                    f"{', '.join(push['events'])}: it would never be published; add {rule.events[0]} to push.events or change the rule's events",
                )
                continue
            types = set()
            if push["branches"] and reachable & {"push", "schedule", "manual"}:
                types.add("branch")
            if push["tags"] and reachable & {"push", "release", "manual"}:
                types.add("tag")
            if rule.branches or rule.tags:
                types &= ({"branch"} if rule.branches else set()) | ({"tag"} if rule.tags else set())
            versioned = rule.tag == "semver" or rule.tag == "latest" and not rule.branches
            if versioned and "tag" not in types:
                fix = (f"name the branches that get it: {{tag: latest, events: [{', '.join(sorted(reachable))}], branches: [main]}}"
                       if rule.tag == "latest" else "publish it on runs of push.tags")
                yield loaded.diagnostic(
                    where, "GC150",
                    f"{rule.tag} comes from a version tag, and no run this rule applies to builds one, so it would never be published; {fix}",
                )
            elif not types:
                yield loaded.diagnostic(
                    where, "GC150",
                    f"{rule.tag!r} applies only to refs no publishing run of this spec builds (push.branches: {push['branches']}, "
                    f"push.tags: {push['tags']}, events: {sorted(reachable)}), so it would never be published; widen its branches or tags",
                )


def _login_place(host: str, platform: str) -> str:
    from generator.logins import CI_REGISTRY

    return "$CI_REGISTRY (GitLab)" if host == CI_REGISTRY else f"{host} (GitHub)" if platform == "github" and host == "ghcr.io" else host


def registry_logins_clash(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Two registries of one image whose logins go to one host with different credentials: Docker
    keeps one login a host, so the second would replace the first before either push."""
    from generator.logins import clashes, credentials, describe

    if not publishes(spec["push"]):
        return
    by_image: dict[int, list[tuple[dict[str, Any], tuple]]] = {}
    for entry, repository_at, _ in _registries(spec):
        by_image.setdefault(repository_at[1], []).append((entry, repository_at))
    reported = set()
    for platform in ("github", "gitlab", "jenkins"):
        if platform not in spec["targets"]:
            continue
        for entries in by_image.values():
            # Jenkins has no platform registry (GC131 says so where it is written).
            kept = [(e, at) for e, at in entries if platform != "jenkins" or e["repository"] != PLATFORM_REGISTRY]
            for first, second, host in clashes([e for e, _ in kept], platform):
                (earlier, earlier_at), (later, where) = kept[first], kept[second]
                if where in reported:
                    continue
                reported.add(where)
                said = {c: ("the job token" if c[0] == "token" else f"{c[0]} {c[1]}/{c[2]}") for c in (credentials(earlier), credentials(later))}
                names = [describe(later), describe(earlier)]
                if names[0] == names[1]:  # the same repository twice: say which entries
                    names = [f"{name} (publish[{at[3]}])" for name, at in zip(names, (where, earlier_at))]
                yield loaded.diagnostic(
                    where, "GC140",
                    f"{names[0]} and {names[1]} both log in to {_login_place(host, platform)}, with "
                    f"{said[credentials(later)]} and {said[credentials(earlier)]}; Docker keeps one login a host, so "
                    "the last login would push to both: give both registries the same credentials",
                )


def build_arg_trimmed_on_github(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A build arg value ending in white space reaches buildx through the build step's environment on
    GitHub (build-push-action trims its build-args items); a name the step's tools read cannot."""
    from generator.quoting import tool_variable, trimmed_by_actions

    if "github" not in spec["targets"]:
        return
    for index, image in enumerate(spec["images"]):
        for name, value in image["build_args"].items():
            if isinstance(value, str) and trimmed_by_actions(f"{name}={value}") and tool_variable(name):
                yield loaded.diagnostic(
                    ("images", index, "build_args", name), "GC141",
                    f"the value of {name} ends in white space, which docker/build-push-action trims from its build-args, so "
                    f"GitHub passes such a value to buildx in the build step's environment, where {name} is a variable the "
                    "runner, the action, buildx or the shell reads itself; rename the build arg, or remove the white space",
                    key=True,
                )


RULES: list[Rule] = [
    iptables_and_icc_off,
    multi_platform_on_old_client,
    runner_mapping_unused,
    cache_unusable,
    push_without_credentials,
    threshold_without_scanner,
    duplicate_image_ids,
    socket_without_runner_tags,
    oidc_unsupported,
    setting_without_effect,
    secrets_without_environment,
    service_daemon_without_digest,
    cron_out_of_range,
    no_trigger,
    push_ref_unreachable,
    publish_event_unreachable,
    repository_or_publish,
    invalid_tag_rule,
    variants_collide,
    secret_in_build_arg,
    build_secrets_unreachable,
    registry_secret_name_refused,
    signing_unverifiable,
    image_unpinned,
    path_outside_repository,
    services_and_prepare,
    cache_unwritable,
    rootless_limits,
    jenkins_limits,
    jenkins_settings_unused,
    tag_rule_never_fires,
    registry_logins_clash,
    build_arg_trimmed_on_github,
]


def check_rules(spec: dict[str, Any], loaded: LoadedSpec) -> None:
    found = [d for rule in RULES for d in rule(spec, loaded)]
    if found:
        raise SpecError(found)
