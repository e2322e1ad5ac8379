"""The shell of the Dockerfile lint gate (images[].dockerfile_check), one script for GitHub and GitLab.

The Dockerfile's path, the context and the hadolint image reach it as variables (GEN_CI_DOCKERFILE,
GEN_CI_CONTEXT, HADOLINT_IMAGE); rule ids are pattern-checked words, quoted all the same. Reasons
never enter the script: the templates write them as comments.
"""

from __future__ import annotations

import shlex

from generator.mirror import BASE_ARG
from generator.model import DockerfileCheck


def dockerfile_check_script(check: DockerfileCheck | dict, builder: bool = False, build_args: dict[str, str] | None = None,
                            proxy: str | None = None) -> str:
    """check as the model holds it, or as the templates see it (a plain mapping); builder: the
    buildx builder the job set up is named in $BUILDER (GitHub), else the daemon's own (GitLab);
    proxy: the variable holding GitLab's dependency proxy prefix, which the build passes to FROM."""
    if isinstance(check, dict):
        check = DockerfileCheck(**check)
    if check.tool == "hadolint":
        # The Dockerfile goes in on stdin, which reaches a DinD daemon's container as well as the
        # runner's; hadolint then names it "-", so the findings read -:LINE.
        flags = ["--no-color", "--format", "tty", "--failure-threshold", check.fail_on]
        for rule, _ in check.ignore:
            flags += ["--ignore", rule]
        return (
            'echo "hadolint on $GEN_CI_DOCKERFILE (a finding shows its line as -:LINE)"\n'
            'docker run --rm -i --network=none "$HADOLINT_IMAGE" hadolint '
            + " ".join(shlex.quote(flag) for flag in flags)
            + ' - < "$GEN_CI_DOCKERFILE"'
        )
    # --call=check runs BuildKit's checks only, and exits non-zero on any finding (its one level).
    skip = f" --build-arg {shlex.quote('BUILDKIT_DOCKERFILE_CHECK=' + check.skip)}" if check.skip else ""
    named = ' --builder "$BUILDER"' if builder else ""
    # The spec's own build args, from the variables that hold them, so FROM ${ARG} reads as the build will.
    args = "".join(f' --build-arg "{name}=$GEN_CI_BUILD_ARG_{name}"' for name in build_args or {} if name.isidentifier())
    if proxy:
        args += f' --build-arg "{BASE_ARG}=${proxy}"'
    return f'docker buildx build{named} --call=check --file "$GEN_CI_DOCKERFILE"{skip}{args} "$GEN_CI_CONTEXT"'
