"""Shell scripts of CI jobs read as commands: the image builders' options, the pushes, the logins.

Used for GitLab scripts and Jenkins `sh` steps alike. Only words are read, never run: a word that
holds a variable stays as written, and the caller decides what it can tell from it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field


@dataclass
class Command:
    words: list[str]
    line: int  # 1-based, within the script's own text
    conditions: list[str] = field(default_factory=list)  # the shell `if` tests it sits under


def commands(script: str) -> list[Command]:
    """Commands one per logical line (continuations joined), each with the `if` tests around it."""
    out: list[Command] = []
    conditions: list[str] = []
    pending, start = "", 0
    for number, raw in enumerate(script.splitlines(), 1):
        if not pending:
            start = number
        stripped = raw.strip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        if not text or text.startswith("#"):
            continue
        for piece in re.split(r"\s*(?:;|&&)\s*(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)", text):
            piece = piece.strip()
            if piece.startswith(("if ", "elif ")):
                if piece.startswith("elif ") and conditions:
                    conditions.pop()
                conditions.append(piece.split(" ", 1)[1])
                continue
            if piece in ("fi", "fi;") and conditions:
                conditions.pop()
                continue
            if piece in ("then", "else", "do", "done", "fi") or not piece:
                continue
            piece = piece.removeprefix("then ")
            try:
                words = shlex.split(piece, comments=True)
            except ValueError:
                words = piece.split()
            if words:
                out.append(Command(words, start, list(conditions)))
    return out


def program(command: Command) -> list[str]:
    """The words from the program on: a leading `sudo`, `exec` or VAR=value dropped."""
    words = list(command.words)
    while words and (words[0] in ("sudo", "exec", "command") or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
        words.pop(0)
    return words


def options(words: list[str], with_value: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Options (long and short, `--x=v` and `--x v`) and positional words."""
    found: dict[str, list[str]] = {}
    positional: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("-") and word != "-":
            name, equals, value = word.partition("=")
            if not equals and name in with_value and index + 1 < len(words):
                value = words[index + 1]
                index += 1
            found.setdefault(name, []).append(value)
        else:
            positional.append(word)
        index += 1
    return found, positional


BUILD_VALUES = {"-f", "--file", "-t", "--tag", "--target", "--build-arg", "--platform", "--secret", "--label",
                "--network", "--cache-from", "--cache-to", "--output", "-o", "--progress", "--iidfile", "--ssh",
                "--add-host", "--builder", "--metadata-file", "--provenance", "--sbom", "--format"}


@dataclass
class Build:
    tool: str  # docker, kaniko, buildah, buildctl
    line: int
    dockerfile: str | None = None
    context: str | None = None
    target: str | None = None
    tags: list[str] = field(default_factory=list)  # references it names (and pushes, for kaniko and buildctl)
    build_args: dict[str, str] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    pushes: bool = False  # the build itself pushes (kaniko, buildctl push=true, buildx --push)


def _pairs(values: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) if "=" in value else (value, "") for value in values)


def _secrets(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        parts = _pairs(value.split(","))
        if "id" in parts:
            out[parts["id"]] = parts.get("env") or parts.get("src", "").rsplit("/", 1)[-1] or parts["id"]
    return out


def read_build(command: Command) -> Build | None:
    words = program(command)
    if not words:
        return None
    name = words[0].rsplit("/", 1)[-1]
    if name == "docker" and words[1:2] == ["build"] or name == "docker" and words[1:3] == ["buildx", "build"] \
            or name == "buildah" and words[1:2] in (["bud"], ["build"], ["build-using-dockerfile"]) or name == "podman" and words[1:2] == ["build"]:
        rest = words[3:] if words[1] == "buildx" else words[2:]
        found, positional = options(rest, BUILD_VALUES)
        build = Build("buildah" if name in ("buildah", "podman") else "docker", command.line)
        build.pushes = "--push" in found or any("push=true" in o for o in found.get("--output", []) + found.get("-o", []))
        build.context = positional[-1] if positional else None
    elif name == "executor" and "kaniko" in words[0]:
        found, _ = options(words[1:], {"--dockerfile", "-f", "--context", "-c", "--destination", "-d", "--target", "--build-arg", "--custom-platform", "--label"})
        found = {**found, "--file": found.get("--dockerfile", []) + found.get("-f", []), "--tag": found.get("--destination", []) + found.get("-d", []),
                 "--platform": found.get("--custom-platform", [])}
        build = Build("kaniko", command.line, pushes="--no-push" not in found)
        contexts = found.get("--context", []) + found.get("-c", [])
        build.context = contexts[0] if contexts else None
    elif name in ("buildctl-daemonless.sh", "buildctl") and "build" in words:
        found, _ = options(words[words.index("build") + 1:], {"--opt", "--local", "--output", "--frontend", "--progress", "--export-cache", "--import-cache", "--metadata-file", "--secret", "--oci-layout"})
        opts = _pairs(found.get("--opt", []))
        local = _pairs(found.get("--local", []))
        outputs = [_pairs(o.split(",")) for o in found.get("--output", [])]
        build = Build("buildctl", command.line, pushes=any(o.get("push") == "true" for o in outputs))
        build.context = local.get("context")
        dockerfile_dir = local.get("dockerfile", build.context or ".")
        filename = opts.get("filename", "Dockerfile")
        found = {"--file": [filename if dockerfile_dir in (".", "") else f"{dockerfile_dir.rstrip('/')}/{filename}"],
                 "--target": [opts["target"]] if "target" in opts else [],
                 "--tag": [n for o in outputs for n in o.get("name", "").split(",") if n and "type" in o and o["type"] == "image"],
                 "--platform": [opts["platform"]] if "platform" in opts else [],
                 "--build-arg": [f"{k.split(':', 1)[1]}={v}" for k, v in opts.items() if k.startswith("build-arg:")],
                 "--label": [f"{k.split(':', 1)[1]}={v}" for k, v in opts.items() if k.startswith("label:")],
                 "--secret": found.get("--secret", [])}
    else:
        return None
    files = found.get("--file", []) + found.get("-f", [])
    build.dockerfile = files[-1] if files else None
    build.target = (found.get("--target") or [None])[-1]
    build.tags = found.get("--tag", []) + found.get("-t", [])
    build.build_args = _pairs(found.get("--build-arg", []))
    build.platforms = [p for value in found.get("--platform", []) for p in value.split(",") if p]
    build.secrets = _secrets(found.get("--secret", []))
    build.labels = _pairs(found.get("--label", []))
    return build


def pushed(command: Command) -> list[str]:
    """References a push command sends: docker/podman/buildah push, crane/regctl copies."""
    words = program(command)
    if len(words) < 2:
        return []
    name = words[0].rsplit("/", 1)[-1]
    _, positional = options(words[2:], {"--creds", "--authfile", "--format", "-f", "--digestfile"})
    if name in ("docker", "podman") and words[1] == "push" and positional:
        return [positional[0]]
    if name == "buildah" and words[1] == "push" and positional:
        return [positional[-1].removeprefix("docker://")]
    return []


def tagged(command: Command) -> tuple[str, str] | None:
    """`docker tag SOURCE TARGET` (buildah and podman alike)."""
    words = program(command)
    if len(words) == 4 and words[0].rsplit("/", 1)[-1] in ("docker", "podman", "buildah") and words[1] == "tag":
        return words[2], words[3]
    return None


@dataclass
class Login:
    host: str
    username: str  # as written: $VAR, ${VAR} or text
    password: str
    line: int


def login(command: Command, stdin_from: str = "") -> Login | None:
    """docker/buildah/podman login, with the password from -p or from stdin (`echo "$X" |`)."""
    words = command.words
    if "login" not in words:
        return None
    at = words.index("login")
    if at == 0 or words[at - 1].rsplit("/", 1)[-1] not in ("docker", "buildah", "podman", "crane"):
        return None
    left = words[:at - 1]
    found, positional = options(words[at + 1:], {"-u", "--username", "-p", "--password"})
    user = (found.get("-u") or found.get("--username") or [""])[-1]
    password = (found.get("-p") or found.get("--password") or [""])[-1]
    if not password and "|" in left:
        feeding = [w for w in left[:left.index("|")] if w.startswith("$")]
        password = feeding[-1] if feeding else ""
    return Login(positional[0] if positional else "docker.io", user, password, command.line)


def variable_name(word: str) -> str | None:
    """$NAME or ${NAME} (the whole word) as NAME."""
    match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", word.strip("\"'"))
    return match[1] if match else None
