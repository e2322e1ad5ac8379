"""What every lint rule shares: a finding, a rule (a stable id, a docs anchor, one check) and
the shell patterns the GitLab, GitHub and Jenkins rules read alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from generator.diagnostics import LINT_DOCS
from generator.lint.document import PipelineFile


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    file: str
    line: int
    message: str
    level: str = "error"  # SARIF's levels: error, warning, note
    job: str | None = None  # the job it was found in, so one template's finding counts the jobs it reaches
    subject: str = ""  # what of several on one line it is about (one step pushing two repositories)

    @property
    def url(self) -> str:
        return LINT_DOCS + self.name


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    summary: str
    check: Callable[[PipelineFile, Rule], Iterator[Finding]]
    level: str = "error"

    def finding(
        self, pipeline: PipelineFile, where: int | tuple[str, int], message: str, *, level: str | None = None, job: str | None = None
    ) -> Finding:
        """where: a line of the file audited, or (file, line) for something written in an included file.
        level: lower than the rule's own where the same hazard is milder (GL007 on protected branches)."""
        file, line = where if isinstance(where, tuple) else (pipeline.path, where)
        return Finding(self.id, self.name, file, line, message, level or self.level, job)


def joined(text: str) -> str:
    """Continued shell lines joined, so a flag on the next line still belongs to its command. An
    indented line that starts with a dash continues the one before too: no command starts with one,
    and YAML's folded scalars (`>-`) keep the line breaks before more-indented option lines."""
    # cmd continues a line with a trailing ` ^`, PowerShell with a trailing `` ` `` (bat and pwsh steps).
    return re.sub(r"\\\n\s*|[ \t][\^`]\n\s*|\n[ \t]+(?=--?[A-Za-z])", " ", text)


# A password flag in any spelling: `-p "$X"`, `-p"$X"`, `-p$X`, `--password=$X`, `--pass X`; never
# `--password-stdin` or `--pass-stdin`.
# A registry login, by whatever client makes it.
# genuinetools' img builds, logs in and pushes as docker does; `$img` is a shell variable, no client.
_IMG = r"(?<![$-])img"


def _global_options(subcommand: str) -> str:
    """An engine's own options before its subcommand (`buildah --storage-driver vfs push`, `docker
    --config /tmp/c login`, `podman --remote push`): an option's value is any word but another
    option or the subcommand."""
    return rf"(?:[ \t]+--?[A-Za-z][\w-]*(?:=[^\s;&|]+|[ \t]+(?!-|{subcommand}\b)[^\s;&|]+)?){{0,4}}?"


_ENGINE_OPTIONS = r"(?:(?:(?<=docker)|(?<=podman)|(?<=buildah)|(?<=nerdctl))" + _global_options("login") + ")?"
# A registry on the runner itself (a job's own `registry:2` service): a push there publishes nothing.
LOCAL_REGISTRY = re.compile(r"(?:\b(?:localhost|127\.0\.0\.1)|\[::1\])(?::\d+)?/")
REGISTRY_LOGIN = re.compile(r"\b(docker|podman|buildah|skopeo|nerdctl|oras|helm\s+registry|trivy\s+registry|crane\s+auth|regctl\s+registry|cosign|" + _IMG + r")" + _ENGINE_OPTIONS + r"\s+login\b")
LOGIN_WITH_PASSWORD = re.compile(
    r"\b(?P<tool>docker|podman|buildah|skopeo|nerdctl|oras|helm registry|trivy registry|crane auth|regctl registry|cosign|" + _IMG + r")" + _ENGINE_OPTIONS
    + r"\s+login\b[^\n|;&]*\s(-p|--password(?=[\s=]|$)|--pass(?=[\s=]|$))"
    # AWS CLI v1's `get-login` prints `docker login -u AWS -p <token>`, which the script then runs.
    r"|\b(?P<ecr>aws\s+ecr\s+get-login)(?![\w-])"
)


def login_tool(found: re.Match[str]) -> str:
    """The client a LOGIN_WITH_PASSWORD match logs in with."""
    return found.group("tool") or "docker (as aws ecr get-login writes it)"


PASSWORD_FLAG = re.compile(r"\s(-p|--password|--pass)(?=[\s=\"'$]|$)")


def password_flag_line(script: str, nth_login: int) -> str:
    """The line of the script that gives the nth login's password flag (the login's own line, or a
    line it is continued on), to be found in the file: a `run: |` or `- |` block spans many lines."""
    lines = script.splitlines()
    logins = [index for index, line in enumerate(lines) if "login" in line and not line.lstrip().startswith("#")]
    if not 0 < nth_login <= len(logins):
        return ""
    index = logins[nth_login - 1]
    while not PASSWORD_FLAG.search(lines[index]) and lines[index].rstrip().endswith("\\") and index + 1 < len(lines):
        index += 1
    return lines[index].strip()


# An engine named through a variable (`$DOCKER push`, `${PODMAN_CMD} push`) pushes as the engine does.
_ENGINE = r"(\b(docker|podman|buildah|nerdctl)|\$\{?\w*(DOCKER|PODMAN|BUILDAH|NERDCTL)\w*\}?)"
# A BuildKit export that pushes: `type=registry`, or `type=image` with `push=true`.
_PUSHING_OUTPUT = r"[\"']?type=(registry|image[^\s\"']*push=true)"

# Build-tool tasks and goals that push the image they build, as findings.PUSHES reads Jib's: Gradle's
# Docker plugins (palantir's dockerPush and dockerPush<Tag>, bmuschko's dockerPushImage, the usual
# pushImage task), also behind a project path (:app:dockerPush); Maven's dockerfile:push, docker:push
# (fabric8, spotify), JKube's k8s:push/oc:push, by prefix or by the plugin's coordinates; spotify's
# docker:build with -DpushImage; Spring Boot's build image told to publish; Quarkus told to push.
# dockerBuildImage, palantir's `docker` task, dockerfile:build and a plain `gradle build` only build.
# A path before the tool (`./gradlew`) needs no matching: a search finds the name after its slash.
# Each tool is one alternative that starts at a word boundary, so the search, tried at every
# position of every script line, rejects most positions at once.
_END = r"(?=\s|$|['\"])"
_NOT_FALSE = r"(?!=false\b)"
_QUARKUS_PUSH = r"[^\n|;&]*\s-Dquarkus\.container-image\.push=true" + _END
_GRADLE_PUSH = (
    r"[^\n|;&]*\s(?:[\w.-]*:)*(?:dockerPush\w*|pushImages?|push\w*(?:Image|Docker)\w*)" + _END
    + r"|(?=[^\n|;&]*\s(?:[\w.-]*:)*bootBuildImage" + _END + r")[^\n|;&]*\s--publishImage" + _END
)
_MAVEN_PUSH = (
    r"[^\n|;&]*\s(?:[\w.-]+:)*?(?:dockerfile|docker|k8s|oc|fabric8|[\w.-]*(?:docker|dockerfile|kubernetes|openshift|fabric8)-maven-plugin)"
    r"(?::[\w.-]+)?:push" + _END
    + r"|(?=[^\n|;&]*\sdocker:build" + _END + r")[^\n|;&]*\s-DpushImage(?:Tag)?" + _NOT_FALSE + _END
    + r"|(?=[^\n|;&]*\s(?:[\w.-]+:)*build-image(?:-no-fork)?" + _END + r")[^\n|;&]*\s-Dspring-boot\.build-image\.publish=true" + _END
)
BUILD_TOOL_PUSHES = re.compile(
    r"\b(?<![.-])(?:gradlew?(?:\.bat)?\b(?:" + _GRADLE_PUSH + "|" + _QUARKUS_PUSH + r")"
    r"|mvnw?(?:\.cmd)?\b(?:" + _MAVEN_PUSH + "|" + _QUARKUS_PUSH + "))"
)


# Where a word is a command's program, not its argument: after a separator, an opening quote or
# brace, or a shell keyword, past wrappers and assignments. One list, shared by PUSHES, _calls
# (shell_words) and simple_commands: each keeping its own list lost what the others knew.
# A wrapper takes the options it documents with their values (`sudo -u ci`, `nice -n 5`,
# `ssh -i key host`), so the word after them is still the program; anything else ends the prefix,
# so `make -C docker push` and `./tools/docker push` name no engine.
_FLAG = r"-[^\s;&|]+"
# An option's value never starts with a dash, so each word is read one way only (no backtracking).
_VALUE = r"[^\s;&|-][^\s;&|]*"
# A command is one line (continuations are joined first): a wrapper never reads past its end.
_WRAPPER = (
    r"sudo(?:[ \t]+(?:-[ugpCDhrtTU][ \t]+" + _VALUE + "|" + _FLAG + r"))*"
    r"|ssh(?:[ \t]+(?:-[bcDEeFIiJLlmOoPpQRSWw][ \t]+" + _VALUE + "|" + _FLAG + r"))*[ \t]+[^\s;&|-][^\s;&|]*"
    r"|(?:exec|command|nohup|eval|setsid|chronic|unbuffer|stdbuf|time)(?:[ \t]+" + _FLAG + r")*"
    r"|env(?:[ \t]+(?:-[uCS][ \t]+" + _VALUE + "|" + _FLAG + r"))*"
    r"|xargs(?:[ \t]+(?:-[IinPLdsaE][ \t]+" + _VALUE + "|" + _FLAG + r"))*"
    r"|timeout(?:[ \t]+(?:-[sk][ \t]+" + _VALUE + "|" + _FLAG + r"))*[ \t]+\d+(?:\.\d+)?[smhd]?"
    r"|retry(?:[ \t]+(?:" + _FLAG + r"|\d+))*"
    r"|nice(?:[ \t]+(?:-n[ \t]*-?\d+|-\d+|--adjustment=-?\d+))?"
    r"|ionice(?:[ \t]+(?:-[cnpP][ \t]*\d+|" + _FLAG + r"))*"
    # Secret injectors run the command after their `--` with the secrets in its environment.
    r"|(?:doppler|op|infisical|teller|dotenvx?)[ \t]+run\b[^\n;&|]*?[ \t]--"
    r"|(?:aws-vault|chamber)[ \t]+exec\b[^\n;&|]*?[ \t]--"
    r"|!|if|elif|while|until"
    r"|[A-Za-z_]\w*=[^\s;&|]*"
)
_KEYWORD = r"|(?<=\bthen)|(?<=\bdo)|(?<=\belse))\s*"
# A shell function is called only where the shell reads a command, not inside a quoted string.
COMMAND_POSITION = r"(?:^|(?<=[\n;&|(`{])" + _KEYWORD + r"(?:(?:" + _WRAPPER + r")[ \t]+)*"
WRAPPERS = re.compile(r"[ \t]*(?:(?:" + _WRAPPER + r")(?:[ \t]+|$))*")
# An echo is passed too: the rules blank what echo prints first, and what is left is piped to a
# shell, which runs it. An engine named by its path in a bin directory (/usr/bin/docker) is the engine.
_COMMAND_POSITION = (
    r"(?:^|(?<=[\n;&|(`{\"'])" + _KEYWORD + r"(?:(?:" + _WRAPPER + r"|(?:echo|printf)(?:[ \t]+" + _FLAG + r")*)[ \t]+)*(?:(?:/[\w.-]+)*/s?bin/)?"
)
# A make target named for a push (`push`, `push-image`, `docker-push`, `container-push-remote`)
# publishes what the Makefile builds; git's, Helm's and the docs' pushes publish no image.
_MAKE_PUSH = (
    r"g?make\b(?:[ \t]+[^\s;&|]+)*?[ \t]+(?![\w.-]*(?:git|helm|chart|(?:docs?|pages|wiki)(?![a-z])))"
    r"(?:[\w.-]*[-_])?push(?:[-_][\w.-]*)?(?=[\s;&|)'\"]|$)"
)
# A script of the repository's own that says it pushes an image: named for it (`ci/docker_push.sh`,
# `push` a word of its name and an image word in its path; `push-docs.sh` is not), or one with an
# image word in its path given `push` (`./jenkins/build-image.sh push`, `docker/build.sh --push`).
_OWN_SCRIPT_PUSH = (
    r"(?:(?:ba|z|da)?sh[ \t]+)?(?=[\w./-]*(?:docker|image|container|registry|oci))(?:\.{1,2}/)?(?:[\w.-]+/)*"
    r"(?:(?:[\w.]*[-_])?push(?:[-_][\w.]*)?\.sh|[\w.-]+\.sh[ \t]+(?:--)?push)(?=[\s;&|)'\"]|$)"
)
PUSHES = re.compile(
    _COMMAND_POSITION + "(?:" + _ENGINE + _global_options("push") + r"\s+(image\s+|manifest\s+)?push\b|" + _MAKE_PUSH + "|" + _OWN_SCRIPT_PUSH + ")"
    # A command substitution's own pipe (`-t app:$(echo $V | sed s/v//)`) does not end the command.
    r"|\b(docker\s+(buildx\s+)?build|buildx\s+(build|bake)|podman\s+build|buildah\s+(bud|build))\b(?:\$\([^()\n]*\)|[^\n|;&])*\s--push\b"
    r"|\b(build|bake)\b[^\n|;&]*\s(--output|-o)[= ]?" + _PUSHING_OUTPUT +
    r"|\bbake\b[^\n|;&]*\s--set[= ][\"']?[^\s=]*\.output=" + _PUSHING_OUTPUT +
    # Compose pushes the images its services name (`docker compose push`, `build --push`).
    r"|\b(docker[- ]compose|podman-compose|nerdctl\s+compose)\b[^\n|;&]*\s(--)?push\b"
    r"|\bimagetools\s+create\b(?![^\n|;&]*--tag\s+\"?oci-layout://)"
    r"|\bcrane\s+(push|copy|cp|append|mutate|index\s+append)\b|\bskopeo\s+copy\b|\bregctl\s+image\s+(copy|import)\b"
    # Kamal builds the app's image and pushes it to its registry before it deploys (unless told --skip-push).
    r"|(?<![\w.-])kamal\s+(deploy|redeploy|setup|build\s+(push|deliver))\b(?![^\n|;&]*--skip-push)"
    r"|\b" + _IMG + r"\s+push\b"
    r"|\bbuildctl(-daemonless\.sh)?\s+build\b[^\n|;&]*push=true"
    # kaniko's executor pushes unless told --no-push (it refuses to run with neither that nor a
    # --destination), so a destination built in a variable is a push too.
    r"|(\b|/)kaniko/executor\b(?![^\n|;&]*--no-push)(?:[^\n|;&]*--destination|(?=[^\n|;&]*(--context|\$)))"
    # Jib builds and pushes in one task (jibDockerBuild and jibBuildTar only build).
    r"|\b(gradlew?|mvnw?)\b[^\n|;&]*\s(jib|jib:build|com\.google\.cloud\.tools:jib-maven-plugin:[\w.-]*:build)(?=\s|$|['\"])"
    # skaffold build and run push what they build unless told --push=false (or pointed at a local
    # cluster, which no CI file shows); `skaffold deploy` deploys images built before.
    r"|(?<![\w.-])skaffold\s+(build|run)\b(?![^\n|;&]*\s--(push=false|dry-run)\b)"
    # ko publishes what it builds (build, publish, resolve, apply, create) unless sent to the local
    # daemon: --local, -L, KO_DOCKER_REPO=ko.local; or kept to a tarball with --push=false.
    r"|(?<![\w.$/-])(?<!KO_DOCKER_REPO=ko\.local )ko\s+(build|publish|resolve|apply|create)\b(?![^\n|;&]*\s(--local|-L|--push=false)(?=\s|$))"
    # Cloud Build builds remotely and pushes the image `--tag` names (`--config` runs a file of steps).
    r"|\bgcloud\s+(?:beta\s+)?builds\s+submit\b[^\n|;&]*\s(--tag|-t)[= ]"
    "|" + BUILD_TOOL_PUSHES.pattern
)


# Compose's own program (v1's docker-compose, podman-compose) drives the engine as docker compose does.
ENGINES = {"docker", "podman", "buildah", "buildctl", "buildctl-daemonless.sh", "nerdctl", "executor", "docker-compose", "podman-compose"}
SEPARATORS = re.compile(r"&&|\|\||[;|&\n]|\$\(|`|\b(?:then|do|else)\b")


# What ssh runs, it runs on the remote host, not on the runner: every word after the host, quoted
# or not (`ssh host "cd app" "docker pull ..."`, `ssh host docker ps`), up to a separator outside
# quotes, and a here-document's lines (`ssh host <<EOF`). ssh-add and ssh-keyscan run locally.
REMOTE_COMMAND = re.compile(
    r"(?<![\w.$-])ssh(?![\w.-])"
    r"(?:[^\"'\n;&|<]|<(?!<)|\"(?:[^\"\\]|\\.)*\"|'[^']*')*"
    r"(?:<<-?[ \t]*([\"']?)(\w+)\1[^\n]*\n(?:.*?\n)??[ \t]*\2[ \t]*(?=\n|$))?",
    re.DOTALL,
)


def simple_commands(text: str) -> Iterator[tuple[str, str]]:
    """(program, the command's own text) for each simple command of a script line: the first word
    after any separator, past variable assignments and wrappers such as sudo."""
    for part in SEPARATORS.split(text):
        # A wrapper alone (`ssh host`) is the program itself.
        words = (part[WRAPPERS.match(part).end():].split() or part.split()) if part else []
        if words:
            yield words[0].strip("'\"("), part


def commands(text: str) -> Iterator[str]:
    for program, _ in simple_commands(text):
        yield program
