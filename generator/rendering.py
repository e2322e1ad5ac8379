"""Render the model through one platform's Jinja templates.

Spec values reach the templates only as data. Every one of them is written through
`q` (a YAML double-quoted scalar) or `shq` (a POSIX-shell word); templates never
interpolate a spec value raw, and no spec value is ever compiled as a template.
"""

from __future__ import annotations

import dataclasses
import shlex
from functools import cache
from typing import Any

from generator import (
    changes,
    combining,
    containers,
    exceptions,
    identity,
    jenkins,
    logins,
    pins,
)
from generator.dockerfile_check import dockerfile_check_script
from generator.model import Model
from generator.plan import arms_context, event_of
from generator.quoting import (
    canonical_scalar,
    comment_text,
    csv_field,
    groovy_string,
    trimmed_by_actions,
)
from generator.refs import glob_regex
from generator.resources import data_dir
from generator.tagging import describe_script, described

ENTRY_TEMPLATES = {"jenkins": "Jenkinsfile.j2", "jenkins_agent": "compose.yml.j2"}
YAML_OUTPUTS = ("github", "gitlab", "jenkins_agent")


def github_literal(value: Any) -> str:
    """Keep `${{` inert: GitHub evaluates it in every workflow string, so emit it as a string literal expression."""
    return str(value).replace("${{", "${{ '${{' }}")


def gitlab_regex(regex: str) -> str:
    """A GitLab rules regex literal (/^...$/) for a Python regex built from a ref pattern."""
    return "/^" + regex.replace("/", "\\/") + "$/"


def github_exact_build_args(static: dict[str, str]) -> dict[str, str]:
    """The build args build-push-action would trim (a value ending in white space): they travel in
    the build step's environment instead, named by a bare NAME item that buildx reads from there
    (`--build-arg NAME`, buildx's listToMap), so the value arrives as GitLab and Jenkins pass it."""
    return {name: value for name, value in static.items() if trimmed_by_actions(f"{name}={value}")}


def github_build_args(static: dict[str, str], computed: dict[str, str], bases: dict[str, str] | None = None) -> str:
    """build-push-action's build-args input: static values kept inert, computed ones read from the describe step,
    base images (name -> image id) from the step that put their tested candidates in the candidate registry."""
    exact = github_exact_build_args(static)
    lines = [csv_field(name) if name in exact else github_literal(csv_field(f"{name}={value}")) for name, value in static.items()]
    lines += [csv_field(f"{name}=${{{{ steps.describe.outputs.{field} }}}}") for name, field in computed.items()]
    lines += [csv_field(f"{name}=${{{{ steps.bases.outputs.{base} }}}}") for name, base in (bases or {}).items()]
    return canonical_scalar("\n".join(lines))


def _q_github(value: Any, flow: bool = False) -> str:
    return canonical_scalar(github_literal(value) if isinstance(value, str) else value, flow=flow)


def _bytecode_cache() -> Any:
    """Jinja's bytecode cache (keyed by each template's checksum): a cold render skips compiling.

    Each `gen-ci` run is a fresh process, so without it every hook run recompiles the templates.
    A cache that cannot be read or written is simply not used.
    """
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return QuietCache()
    except (OSError, RuntimeError):
        return None


@cache
def _environment(platform: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        bytecode_cache=_bytecode_cache(),
        loader=jinja2.FileSystemLoader(str(data_dir("templates") / platform)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters["q"] = {"github": _q_github, "jenkins": groovy_string}.get(platform, canonical_scalar)
    env.filters["yaml"] = canonical_scalar  # YAML inside a Jenkinsfile: the Kubernetes pod
    env.filters["q1"] = lambda value: groovy_string(value, block=False)
    env.filters["script"] = lambda text: groovy_string(str(text).strip("\n"))  # a whole sh step, as one Groovy string
    env.filters["shq"] = lambda value: shlex.quote(str(value))
    env.filters["flow"] = lambda items: "[" + ", ".join(env.filters["q"](i, flow=True) for i in items) + "]"
    env.filters["ref_regex"] = lambda glob: gitlab_regex(glob_regex(glob))
    env.filters["ref_ere"] = glob_regex  # bash =~ reads it as an ERE: the refs hold no other metacharacters
    env.filters["csv_field"] = csv_field
    env.filters["comment"] = comment_text
    env.globals["github_build_args"] = github_build_args
    env.globals["github_exact_build_args"] = github_exact_build_args
    env.globals["describe_script"] = describe_script
    env.globals["described"] = described
    # A macro's output ends with its last line's newline; the call site's own line supplies one.
    env.filters["chomp"] = lambda text: str(text).rstrip("\n")
    env.globals["pinned_image"] = pins.image
    env.globals["pinned_tool"] = pins.tool
    env.globals["containers"] = containers
    env.globals["dockerfile_check_script"] = dockerfile_check_script
    env.globals["ignore_file"] = exceptions.IGNORE_FILE
    env.globals["identity"] = identity  # the signing identity the verify steps check (gen-ci policy writes the same)
    env.globals["logins"] = logins
    env.globals["changes_script"] = changes.github_script
    env.globals["publish_when"] = jenkins.publish_when
    env.globals["compose_project"] = jenkins.compose_project
    env.globals["shell_assignment"] = jenkins.shell_assignment
    env.globals["schedule_branch"] = jenkins.schedule_branch
    env.filters["jenkins_cron"] = jenkins.jenkins_cron
    env.filters["gitlab_paths"] = changes.gitlab_paths
    env.filters["within_workflow"] = combining.within_workflow
    return env


def render(model: Model, platform: str, action: Any = pins.action, spec_file: str = "gen-ci.yml") -> str:
    """`action(name)` gives the pinned `uses:` reference; a project's pin overrides change it.

    spec_file is the spec's path from the repository root, for the optional check job.
    """

    template = _environment(platform).get_template(ENTRY_TEMPLATES.get(platform, "pipeline.yml.j2"))
    plan = {"arms": arms_context(model.push, platform), "tag_event": event_of(model.push, platform, "tag")}
    return template.render(spec=dataclasses.asdict(model), plan=plan, action=action, spec_file=spec_file)
