"""Lint rules for Jenkinsfiles and the Compose files that run Jenkins beside a Docker daemon.

The common hand-written set-up runs DinD with DOCKER_TLS_CERTDIR="" and points the controller at
tcp://docker:2375: anything that reaches that port owns the daemon, and through --privileged the
host. These rules refuse it, wherever it is written.

A Jenkinsfile is Groovy, read here as text: its string literals and comments are told apart (so a
pattern in a comment says nothing, and Groovy's interpolation is seen where Groovy does it), and
nothing more of the language is parsed; whatever is unbalanced simply runs to the end of the file.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.lint.document import PipelineFile, line_of, line_within
from generator.lint.findings import (
    LOGIN_WITH_PASSWORD,
    Finding,
    Rule,
    joined,
    login_tool,
)
from generator.lint.images import (
    BUILDKIT_IMAGE,
    built_images,
    image_repository,
    image_tag,
    moving_buildkit_tags,
    official_docker,
    runs_dockerd,
    tls_on_by_default,
    unpinned_reason,
)
from generator.lint.shell_words import without_echoes

PLAIN_TCP = re.compile(r"\btcp://[^\s'\"/]+:2375\b")
TLS_OFF = re.compile(r"""\bDOCKER_TLS_CERTDIR\s*[=:]\s*(""|''|(?=\s|$|[;&|]))""", re.MULTILINE)
# The same in a pod's YAML (`- name: DOCKER_TLS_CERTDIR` and `value: ""` on the next line, or a
# flow mapping) and in a containerTemplate's envVar(key: ..., value: '').
POD_TLS_OFF = re.compile(r"""\bname:[ \t]*(['"]?)DOCKER_TLS_CERTDIR\1[ \t]*(?:,|\n)\s*value:[ \t]*(?:""|''|(?=[ \t]*(?:[}\n#]|$)))""")
ENV_VAR_TLS_OFF = re.compile(
    r"""\b(?:envVar|containerEnvVar)\s*\(\s*key\s*:\s*(['"])DOCKER_TLS_CERTDIR\1\s*,\s*value\s*:\s*(?:""|'')"""
    r"""|\b(?:envVar|containerEnvVar)\s*\(\s*value\s*:\s*(?:""|'')\s*,\s*key\s*:\s*(['"])DOCKER_TLS_CERTDIR\2"""
)


# --- Groovy's strings and comments ------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    """A string literal: where it starts (its quote), where its text starts and ends."""

    start: int
    body: int
    stop: int  # end of the text, before the closing quote
    quote: str  # ', ", ''' or """

    @property
    def interpolates(self) -> bool:
        return self.quote.startswith('"')


@dataclass(frozen=True)
class Groovy:
    text: str
    literals: list[Literal]
    comments: list[tuple[int, int]]
    starts: list[int] = field(default_factory=list)  # each literal's start, for bisecting
    spans: list[tuple[int, int]] = field(default_factory=list)  # each literal, quotes included

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def literal_at(self, offset: int) -> Literal | None:
        """The literal whose opening quote is at offset."""
        index = bisect.bisect_left(self.starts, offset)
        return self.literals[index] if index < len(self.literals) and self.literals[index].start == offset else None

    def _inside(self, offset: int, spans: list[tuple[int, int]]) -> bool:
        index = bisect.bisect_right(spans, (offset, len(self.text) + 1)) - 1
        return index >= 0 and spans[index][0] <= offset < spans[index][1]

    def in_comment(self, offset: int) -> bool:
        return self._inside(offset, self.comments)

    def in_code(self, offset: int) -> bool:
        return not self.in_comment(offset) and not self._inside(offset, self.spans)

    def commented(self, offset: int) -> bool:
        """In a Groovy comment, or on a line that is a shell or YAML comment inside a string."""
        if self.in_comment(offset):
            return True
        line_start = self.text.rfind("\n", 0, offset) + 1
        return self.text[line_start:offset].lstrip().startswith("#") and not self.in_code(offset)


# What can end or interrupt each kind of string: an escape, its closing quote, the end of the line
# for a one-line string, and in a double-quoted one a `${` whose braces and strings are skipped whole.
_STRING_STOPS = {
    "'": re.compile(r"\\|'|\n"),
    '"': re.compile(r'\\|"|\n|\$\{'),
    "'''": re.compile(r"\\|'''"),
    '"""': re.compile(r'\\|"""|\$\{'),
}
_INTERPOLATION_STOPS = re.compile(r"""['"{}]""")
_CODE_STOPS = re.compile(r"//|/\*|'''|\"\"\"|['\"]")
_MAX_NESTING = 20  # strings inside ${} inside strings: deeper than any real file, shallow enough never to overflow


def _quote_at(text: str, index: int) -> str:
    return text[index:index + 3] if text[index:index + 3] in ("'''", '"""') else text[index]


def _skip_string(text: str, index: int, quote: str, nesting: int = 0) -> int:
    """The offset of the closing quote of the string whose text starts at index (len(text) if none;
    the line's end for an unclosed one-line string)."""
    while found := _STRING_STOPS[quote].search(text, index):
        token = found.group(0)
        if token == "\\":
            index = found.start() + 2
        elif token == "${":
            index = _skip_interpolation(text, found.end(), nesting + 1)
        else:
            return found.start()
    return len(text)


def _skip_interpolation(text: str, index: int, nesting: int = 0) -> int:
    """Past the `}` that closes a `${`, over nested braces and strings."""
    if nesting > _MAX_NESTING:
        return len(text)
    depth = 1
    while depth and (found := _INTERPOLATION_STOPS.search(text, index)):
        char = found.group(0)
        if char in "{}":
            depth += 1 if char == "{" else -1
            index = found.end()
            continue
        quote = _quote_at(text, found.start())
        index = _skip_string(text, found.start() + len(quote), quote, nesting) + len(quote)
    return index if not depth else len(text)


@functools.lru_cache(maxsize=4)  # every Jenkins rule reads the same file
def read_groovy(text: str) -> Groovy:
    literals: list[Literal] = []
    comments: list[tuple[int, int]] = []
    index = 0
    while found := _CODE_STOPS.search(text, index):
        index = found.start()
        if found.group(0) in ("//", "/*"):
            stop = text.find("\n" if found.group(0) == "//" else "*/", index + 2)
            stop = len(text) if stop < 0 else stop + (2 if found.group(0) == "/*" else 0)
            comments.append((index, stop))
            index = stop
            continue
        quote = _quote_at(text, index)
        stop = _skip_string(text, index + len(quote), quote)
        literals.append(Literal(index, index + len(quote), stop, quote))
        index = min(stop + len(quote), len(text))
    spans = [(literal.start, literal.stop + len(literal.quote)) for literal in literals]
    return Groovy(text, literals, comments, [literal.start for literal in literals], spans)


def _groovy(pipeline: PipelineFile) -> Groovy:
    return read_groovy(pipeline.text)


# --- Groovy's methods: where what they run happens ---------------------------------------------

# `void push(String tag) {`, `def call(Map args = [:]) {`, `static String tag() {`: a method's header
# at the start of a line, its return type or modifiers before its name; and `def scan = { img -> ...}`,
# a closure kept to be called.
METHOD = re.compile(
    r"^[ \t]*(?:(?:public|private|protected|static|final|synchronized|def|void|boolean|int|long|double|[A-Z]\w*(?:<[^<>\n]*>)?(?:\[\])?)[ \t]+)+"
    r"(\w+)[ \t]*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*\{"
    r"|^[ \t]*def[ \t]+(\w+)[ \t]*=[ \t]*\{",
    re.MULTILINE,
)
_BRACES = re.compile(r"[{}]")


@dataclass(frozen=True)
class Method:
    name: str
    at: int  # its name in the header
    body: tuple[int, int]  # from past its `{` to its closing `}`


def _closing_brace(groovy: Groovy, start: int) -> int:
    """Where the block whose text starts at start closes, over nested code braces (the end of the
    text if it never does)."""
    depth = 1
    for brace in _BRACES.finditer(groovy.text, start):
        if groovy.in_code(brace.start()):
            depth += 1 if brace.group(0) == "{" else -1
            if not depth:
                return brace.start()
    return len(groovy.text)


def methods(groovy: Groovy) -> dict[str, list[Method]]:
    """The methods and named closures the file defines, by name (an overloaded name has several)."""
    found: dict[str, list[Method]] = {}
    for match in METHOD.finditer(groovy.text):
        group = 1 if match.group(1) else 2
        if groovy.in_code(match.start(group)):
            found.setdefault(match.group(group), []).append(Method(match.group(group), match.start(group), (match.end(), _closing_brace(groovy, match.end()))))
    return found


def _calls(groovy: Groovy, defined: dict[str, list[Method]]) -> list[tuple[int, str]]:
    """Where code calls one of the defined names: `name(...)`, `name.call(...)`, or Groovy's
    command form `name 'arg'`; never its own header."""
    if not defined:
        return []
    headers = {method.at for each in defined.values() for method in each}
    names = "|".join(sorted(map(re.escape, defined), key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.$])({names})(?:\s*\(|\.call\s*\(|[ \t]+(?=['\"\w$]))")
    return [(call.start(), call.group(1)) for call in pattern.finditer(groovy.text) if call.start() not in headers and groovy.in_code(call.start())]


def _keeping(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with everything outside the spans blanked (newlines kept, so lines and offsets hold)."""
    out = re.sub(r"[^\n]", " ", text)
    for start, stop in spans:
        out = out[:start] + text[start:stop] + out[stop:]
    return out


def commands_in_order(groovy: Groovy) -> Iterator[tuple[int, int, list[str]]]:
    """The file's commands (first line, offset, lines) in the order they run, as far as the text
    tells it: top to bottom, where a called method's or closure's body runs where it is first
    called, not where it is defined. A method nothing in the file calls (a shared library's `call`)
    stays where it is written. Each command comes once."""
    defined = methods(groovy)
    calls = _calls(groovy, defined)
    bodies = {name: [method.body for method in each] for name, each in defined.items()}
    called = {name for at, name in calls if not any(start <= at < stop for start, stop in bodies[name])}
    unfolded: set[str] = set()

    def walk(spans: list[tuple[int, int]]) -> Iterator[tuple[int, int, list[str]]]:
        for first, offset, lines in commands_at(_keeping(groovy.text, spans)):
            if not "".join(lines).strip():
                continue
            yield first, offset, lines
            stop = offset + sum(len(line) + 1 for line in lines)
            for at, name in calls:
                if offset <= at < stop and name in called and name not in unfolded and any(start <= at < end for start, end in spans):
                    # A body runs where it is first called; later calls repeat what that one reported.
                    unfolded.add(name)
                    for body in bodies[name]:
                        yield from walk(outside(body))

    def outside(span: tuple[int, int]) -> list[tuple[int, int]]:
        """The span less the bodies of called methods within it: those run where they are called."""
        pieces, start = [], span[0]
        for body_start, body_stop in sorted(body for name in called for body in bodies[name]):
            if start <= body_start and body_stop <= span[1] and (body_start, body_stop) != span:
                pieces.append((start, body_start))
                start = body_stop
        return [*pieces, (start, span[1])]

    yield from walk(outside((0, len(groovy.text))))
    # Methods that only call each other, reached from nowhere: read all the same, after the rest.
    for name in sorted(called - unfolded, key=lambda name: bodies[name][0]):
        if name not in unfolded:
            unfolded.add(name)
            for body in bodies[name]:
                yield from walk(outside(body))


# --- JK001 ------------------------------------------------------------------------------------

def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _yaml_comment(text: str, offset: int) -> bool:
    """On a `#` comment line of a pod file, or after a `#` that starts a comment on its line."""
    before = text[text.rfind("\n", 0, offset) + 1:offset]
    return before.lstrip().startswith("#") or " #" in before


def pod_lines(pipeline: PipelineFile) -> Iterator[tuple[str, int, str]]:
    """(file, line, text) of every line of the pod files `yamlFile` names, comment lines left out."""
    for pod in pipeline.pods:
        for number, line in enumerate(pod.text.splitlines(), 1):
            if not line.lstrip().startswith("#"):
                yield pod.path, number, line


def jenkins_plain_tcp(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    groovy = _groovy(pipeline)
    # The Jenkinsfile, then each pod file it names, read with the same patterns as its inline pod YAML.
    texts = [(pipeline.path, groovy.text, groovy.commented), *((pod.path, pod.text, functools.partial(_yaml_comment, pod.text)) for pod in pipeline.pods)]
    for file, text, commented in texts:
        for match in PLAIN_TCP.finditer(text):
            if not commented(match.start()):
                yield rule.finding(pipeline, (file, _line(text, match.start())), f"{match.group(0)} is a daemon on plain TCP: whoever reaches the port owns it; use TLS on 2376 with client certificates")
        for pattern in (TLS_OFF, POD_TLS_OFF, ENV_VAR_TLS_OFF):
            for match in pattern.finditer(text):
                if not commented(match.start()):
                    # Where the empty value is written: the pod YAML's `value:` line.
                    yield rule.finding(pipeline, (file, _line(text, match.end())), "an empty DOCKER_TLS_CERTDIR turns the daemon's TLS off; set it to /certs and share /certs/client with the client")
    # Docker's dind image before 19.03 serves plain TCP unless its command says --tlsverify: TLS by
    # DOCKER_TLS_CERTDIR came with 19.03.
    if not any("--tlsverify" in text for _, text, _ in texts):
        for file, line, image, _ in run_images(pipeline):
            if official_docker(image) and runs_dockerd(image) and not tls_on_by_default(image_tag(image) or "latest"):
                yield rule.finding(pipeline, (file, line), f"{image} is a dind daemon from before 19.03, which serves plain TCP 2375; use a supported docker:*-dind, which serves TLS on 2376")


# --- JK002 ------------------------------------------------------------------------------------

PASSWORD_FLAG = re.compile(r"""\s(-p|--password|--pass)(\s|=|(?=["'$]))""")


def jenkins_password_on_command_line(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    groovy = _groovy(pipeline)
    offset = 0
    for first, lines in _commands(pipeline.text):
        start, offset = offset, offset + sum(len(line) + 1 for line in lines)
        found = LOGIN_WITH_PASSWORD.search(without_echoes(joined("\n".join(lines))))
        login = re.search(r"\blogin\b", "\n".join(lines))
        if found and login and not groovy.commented(start + login.start()):
            # Reported where the flag is written, also on a continued line.
            line = first + next((n for n, text in enumerate(lines) if PASSWORD_FLAG.search(text)), 0)
            yield rule.finding(pipeline, line, f"{login_tool(found)} login with a password flag puts the secret on the command line; pipe it to --password-stdin")


def _commands(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each command by its first line number, with the lines it continues (a trailing backslash)."""
    for first, _, lines in commands_at(text):
        yield first, lines


def commands_at(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """Each command by its first line number and offset, with the lines it continues."""
    lines = text.split("\n")
    number, offset = 0, 0
    while number < len(lines):
        first, start, command = number + 1, offset, [lines[number]]
        offset += len(lines[number]) + 1
        while (command[-1].endswith("\\") or command[-1].rstrip().endswith((" ^", " `"))) and number + 1 < len(lines):
            number += 1
            command.append(lines[number])
            offset += len(lines[number]) + 1
        yield first, start, command
        number += 1


# --- JK003 ------------------------------------------------------------------------------------

# Name parts that make a variable a secret, and parts after them that make it something else
# (DOCKER_PASSWORD_FILE is a path, TOKEN_URL an address).
SECRET_PARTS = {"PASSWORD", "PASSWD", "PASS", "PSW", "PASSPHRASE", "TOKEN", "SECRET", "APIKEY"}
SECRET_KEY_KINDS = {"API", "SECRET", "PRIVATE", "SIGNING", "SSH", "GPG", "PGP", "DEPLOY", "LICENSE", "ENCRYPTION", "MASTER", "AUTH", "ACCOUNT", "COSIGN"}
NOT_SECRET_AFTER = {"ID", "IDS", "FILE", "PATH", "DIR", "NAME", "URL", "URI", "ENDPOINT", "VAR", "VARIABLE", "LENGTH", "TYPE", "HEADER", "ALIAS", "EXPIRY", "REF", "STORE", "LOCATION"}
# withCredentials bindings whose variable holds the secret itself; file bindings (file, zip,
# dockerCert, keyFileVariable) hold a path, and a username is not a secret.
BOUND_SECRETS = [
    re.compile(r"""\b\w*(?:[Pp]assword|[Pp]assphrase|[Ss]ecret\w*|[Tt]oken)Variable\s*:\s*['"](\w+)['"]"""),
    re.compile(r"""\b(?:string|usernameColonPassword|kubeconfigContent)\s*\(\s*[^()]*?\bvariable\s*:\s*['"](\w+)['"]"""),
    re.compile(r"""\$class\s*:\s*['"](?:StringBinding|UsernamePasswordBinding)['"][^\]]*?\bvariable\s*:\s*['"](\w+)['"]"""),
    re.compile(r"""\benvVar\s*:\s*['"](\w+)['"]"""),  # the Vault plugin's vaultSecrets entries
]
# NAME='fixed' in a script, or NAME = 'fixed' in an environment block: plain text, no credential.
FIXED_TEXT = re.compile(r"\b([A-Za-z_]\w*)\s*=\s*(?:'[^'$]*'|\"[^\"$]*\")")
# environment { REG = credentials('id') } binds REG (user:password, or the secret text), REG_PSW
# and REG_USR, the username.
CREDENTIALS_CALL = re.compile(r"""\b(\w+)\s*=\s*credentials\s*\(\s*(?:['"]([^'"]*)['"])?""")
# Jenkins masks whatever a credential holds, and teams keep addresses there too (`DEPLOY_HOST =
# credentials('deploy-host')`): a name and an id that both speak of a place, never of a login.
PLACE_PARTS = {"HOST", "HOSTNAME", "REGISTRY", "SERVER", "DOMAIN", "IP", "ENDPOINT", "ADDRESS", "ADDR"}
LOGIN_PARTS = SECRET_PARTS | {"PWD", "PW", "KEY", "CRED", "CREDS", "CREDENTIAL", "CREDENTIALS", "AUTH", "LOGIN", "USER", "ACCOUNT"}


def _holds_a_place(call: re.Match[str]) -> bool:
    parts = set(_name_parts(call.group(1)))
    return bool(parts & PLACE_PARTS) and not (parts | set(_name_parts(call.group(2) or ""))) & LOGIN_PARTS


USERNAME_VARIABLE = re.compile(r"""\busernameVariable\s*:\s*['"](\w+)['"]""")
SCRIPT_STEP = re.compile(r"(?<![.\w$])(sh|bat|powershell|pwsh)\b")
# What may stand between a step's name and a literal of its arguments: a parenthesis, commas,
# named arguments (script:, label:) and their plain values.
STEP_ARGUMENT_GAP = re.compile(r"[\s(,+]*(?:\w+\s*:\s*(?:true|false|\d+)?[\s,]*)*")
INTERPOLATION = re.compile(r"\$(?:\{|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))")
NAME_CHAIN = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _name_parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [part for part in re.split(r"[_\W]+", spaced.upper()) if part]


def looks_secret(name: str) -> bool:
    parts = _name_parts(name)
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        # PWD alone is the shell's working directory; DB_PWD and dockerHubPwd are passwords.
        if part in SECRET_PARTS or (part == "PWD" and len(parts) > 1) or (part == "KEY" and index and parts[index - 1] in SECRET_KEY_KINDS):
            return not any(later in NOT_SECRET_AFTER for later in parts[index + 1:])
    return False


def bound_secrets(text: str) -> set[str]:
    names = {match.group(1) for pattern in BOUND_SECRETS for match in pattern.finditer(text)}
    for match in CREDENTIALS_CALL.finditer(text):
        names |= {match.group(1), f"{match.group(1)}_PSW"}
    return names


def bound_places(text: str) -> set[str]:
    """Credentials that hold an address: Groovy must not interpolate them (Jenkins binds them as
    secrets), but in a command line they show nothing that needs hiding."""
    return {match.group(1) for match in CREDENTIALS_CALL.finditer(text) if _holds_a_place(match)}


def bound_usernames(text: str) -> set[str]:
    """The usernames credentials bind: no secret, whatever the credential's name says (REG_USR)."""
    return {f"{match.group(1)}_USR" for match in CREDENTIALS_CALL.finditer(text)} | set(USERNAME_VARIABLE.findall(text))


def _step_literals(groovy: Groovy) -> Iterator[Literal]:
    """The string literals passed to sh, bat, powershell and pwsh steps."""
    for match in SCRIPT_STEP.finditer(groovy.text):
        if not groovy.in_code(match.start()):
            continue
        position = match.end()
        for literal in groovy.literals[bisect.bisect_left(groovy.starts, position):]:
            if STEP_ARGUMENT_GAP.fullmatch(groovy.text, position, literal.start) is None:
                break
            yield literal
            position = literal.stop + len(literal.quote)


def _interpolated_names(groovy: Groovy, literal: Literal) -> Iterator[tuple[int, str]]:
    """Each name Groovy fills into the literal, with its offset; `\\$` is a dollar sign."""
    index = literal.body
    while (found := groovy.text.find("$", index, literal.stop)) >= 0:
        backslashes = len(groovy.text[literal.body:found]) - len(groovy.text[literal.body:found].rstrip("\\"))
        index = found + 1
        if backslashes % 2:
            continue
        match = INTERPOLATION.match(groovy.text, found)
        if match is None:
            continue
        if match.group(1):
            yield found, match.group(1)
            continue
        stop = _skip_interpolation(groovy.text, found + 2)
        # Words inside the expression's own strings are text, not variables.
        expression = re.sub(r"'[^']*'|\"[^\"]*\"", "''", groovy.text[found + 2:stop - 1])
        for name in NAME_CHAIN.finditer(expression):
            # A method's result (pwd(), readFile(...)) is no variable of a credential's.
            if not re.match(r"\s*\(", expression[name.end():]):
                yield found, name.group(0)
        index = stop


# Steps and methods that never hand a string to a process: the controller's own steps (messages,
# files, HTTP, parsing), withEnv (its value goes into the environment of the steps inside, as
# withCredentials puts it there, on no command line), and Groovy's own string methods.
NOT_SHELL_CALLS = {
    "echo", "error", "print", "println", "printf", "warning", "unstable", "httpRequest", "writeFile", "readFile",
    "readJSON", "writeJSON", "readYaml", "writeYaml", "readProperties", "readCSV", "writeCSV", "withEnv", "wrap",
    "contains", "startsWith", "endsWith", "equals", "equalsIgnoreCase", "replace", "replaceAll", "replaceFirst",
    "split", "tokenize", "matches", "indexOf", "encode",
}
# Words before a parenthesis or a string that make no call of it.
NOT_CALLS = {"if", "while", "for", "switch", "catch", "return", "throw", "assert", "new", "def", "else", "case", "in", "final", "static", "String"}
_BRACKETS = re.compile(r"[()\[\]{}]")
_CLOSING = {")": "(", "]": "[", "}": "{"}
_CALLEE = re.compile(r"([A-Za-z_][\w.]*)\s*$")
# Groovy's command form: `runCmd "..."`, `runCmd cmd: "..."`, after other arguments too.
_COMMAND_FORM = re.compile(r"^\s*([A-Za-z_][\w.]*)[ \t]+(?:[^=\n]*,[ \t]*)?(?:\w+[ \t]*:[ \t]*)?$")


@dataclass(frozen=True)
class _Brackets:
    """The code's brackets: each opening one's match, and the brackets open at chosen offsets."""

    matching: dict[int, int]
    open_at: dict[int, tuple[tuple[str, int], ...]]  # innermost last


def _brackets(groovy: Groovy, offsets: set[int]) -> _Brackets:
    text = groovy.text
    matching: dict[int, int] = {}
    open_at: dict[int, tuple[tuple[str, int], ...]] = {}
    stack: list[tuple[str, int]] = []
    wanted = sorted(offsets)
    index = 0
    for found in _BRACKETS.finditer(text):
        while index < len(wanted) and wanted[index] < found.start():
            open_at[wanted[index]] = tuple(stack)
            index += 1
        if not groovy.in_code(found.start()):
            continue
        char = found.group(0)
        if char in "([{":
            stack.append((char, found.start()))
        elif stack and stack[-1][0] == _CLOSING[char]:
            matching[stack.pop()[1]] = found.start()
    for offset in wanted[index:]:
        open_at[offset] = tuple(stack)
    return _Brackets(matching, open_at)


def _secret_scopes(groovy: Groovy) -> dict[str, list[tuple[int, int]]]:
    """Where each bound secret exists: the block of the step that binds it (withCredentials(...) {
    ... }, withVault), or, for NAME = credentials('id') in an environment block, the stage or
    pipeline around that block. A block that never closes runs to the end of the file."""
    text = groovy.text
    bindings = [(match.start(), match.group(1), False) for pattern in BOUND_SECRETS for match in pattern.finditer(text)]
    bindings += [(match.start(), match.group(1), True) for match in CREDENTIALS_CALL.finditer(text)]
    bindings = [binding for binding in bindings if not groovy.in_comment(binding[0])]
    brackets = _brackets(groovy, {at for at, _, _ in bindings})
    scopes: dict[str, list[tuple[int, int]]] = {}
    for at, name, environment in bindings:
        stack = brackets.open_at[at]
        scope = (0, len(text))
        if environment:
            blocks = [offset for char, offset in stack if char == "{"]
            if len(blocks) > 1:
                scope = (blocks[-2], brackets.matching.get(blocks[-2], len(text)))
        else:
            for char, offset in reversed(stack):
                close = brackets.matching.get(offset, len(text))
                block = re.compile(r"\s*\{").match(text, close + 1) if char == "(" else None
                if block:
                    scope = (block.end() - 1, brackets.matching.get(block.end() - 1, len(text)))
                    break
        names = {name, f"{name}_PSW"} if environment else {name}
        for each in names:
            scopes.setdefault(each, []).append(scope)
    return scopes


def _callee(groovy: Groovy, literal: Literal, stack: tuple[tuple[str, int], ...]) -> str | None:
    """The method the literal is an argument of, through lists and maps ([...], name: value) and
    grouping parentheses; None where it is no argument (assigned, returned, a condition)."""
    text = groovy.text
    block_start = 0
    for char, offset in reversed(stack):
        if char == "[":
            continue
        if char == "{":
            block_start = offset + 1
            break
        found = _CALLEE.search(text, max(0, offset - 200), offset)
        if found:
            return None if found.group(1) in NOT_CALLS else found.group(1)
    line_start = max(block_start, text.rfind("\n", 0, literal.start) + 1, text.rfind(";", 0, literal.start) + 1)
    found = _COMMAND_FORM.match(text[line_start:literal.start])
    return found.group(1) if found and found.group(1) not in NOT_CALLS else None


# The access key id an `aws(...)` binding gives beside the secret key: Jenkins masks it as a secret
# and warns when Groovy fills it in, though it is the half that names the key, not the one that opens it.
ACCESS_KEY_VARIABLE = re.compile(r"""\baccessKeyVariable\s*:\s*['"](\w+)['"]""")


# A file binding's variable holds the path of a temporary file (`file(credentialsId: 'app-secret',
# variable: 'secret')`), however secret its name sounds.
PATH_BINDING = re.compile(r"""\b(?:file|zip|certificate)\s*\(\s*[^()]*?\bvariable\s*:\s*['"](\w+)['"]|\bkeyFileVariable\s*:\s*['"](\w+)['"]""")


def bound_paths(text: str) -> set[str]:
    return {found.group(1) or found.group(2) for found in PATH_BINDING.finditer(text)}


def _secret(chain: str, bound: set[str], paths: frozenset[str] = frozenset()) -> str | None:
    return next((part for part in chain.split(".") if part in bound or (looks_secret(part) and part not in paths)), None)


def jenkins_interpolated_secret(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    groovy = _groovy(pipeline)
    bound = bound_secrets(groovy.text)
    # A path a file binding holds, and a name the file fixes to plain text (`MYSQL_SECRET = "mysql-secret"`,
    # the name of a Kubernetes secret), hold no secret whatever they are called.
    fixed = set(FIXED_TEXT.findall(groovy.text)) - {match.group(1) for match in CREDENTIALS_CALL.finditer(groovy.text)}
    paths = frozenset(bound_paths(groovy.text) | fixed) - bound
    key_ids = set(ACCESS_KEY_VARIABLE.findall(groovy.text)) - bound if "accessKeyVariable" in groovy.text else set()
    steps = set()
    for literal in _step_literals(groovy):
        steps.add(literal.start)
        if not literal.interpolates:
            continue
        for offset, chain in _interpolated_names(groovy, literal):
            secret = _secret(chain, bound, paths)
            if secret is not None:
                yield rule.finding(
                    pipeline, groovy.line(offset),
                    f"{secret} is interpolated by Groovy into a double-quoted string, so the secret reaches the command line and the "
                    "build's step arguments; use a single-quoted script and let the shell read the variable",
                )
            elif key_id := next((part for part in chain.split(".") if part in key_ids), None):
                yield rule.finding(
                    pipeline, groovy.line(offset),
                    f"{key_id}, the access key id an aws() binding masks, is interpolated by Groovy into a double-quoted string, so it "
                    "reaches the command line and the build's step arguments; use a single-quoted script and let the shell read it",
                    level="warning",
                )
    # A shared library's step or a helper method given the string gets the secret's value, not its
    # name, and runs it as a shell step would: only names the file binds count here, within the
    # block that binds them.
    scopes = _secret_scopes(groovy) if bound else {}
    candidates = [literal for literal in groovy.literals if literal.interpolates and literal.start not in steps and "$" in groovy.text[literal.body:literal.stop]]
    if not scopes or not candidates:
        return
    brackets = _brackets(groovy, {literal.start for literal in candidates})
    for literal in candidates:
        secrets = [
            (offset, secret) for offset, chain in _interpolated_names(groovy, literal)
            if (secret := next((part for part in chain.split(".") if part in scopes), None))
            and any(start <= offset < stop for start, stop in scopes[secret])
        ]
        callee = _callee(groovy, literal, brackets.open_at[literal.start]) if secrets else None
        if callee is None or callee.rsplit(".", 1)[-1] in NOT_SHELL_CALLS:
            continue
        for offset, secret in secrets:
            yield rule.finding(
                pipeline, groovy.line(offset),
                f"{secret} is interpolated by Groovy into a double-quoted string given to {callee}(), which gets the secret's value: "
                "a step that runs it as a command puts it on the command line and in the build's step arguments; pass the "
                "variable's name, or a single-quoted string, and let the shell read it",
            )


# --- JK004 ------------------------------------------------------------------------------------

# `x = 'v'`, and a default the file gives (`x = params.get('x', 'v')`, `x = config.x ?: 'v'`), which runs
# unless a caller says otherwise.
ASSIGNMENT = re.compile(
    r"""(?m)^[ \t]*(?:(?:def|final|static|String|private)\s+)*([A-Za-z_]\w*)\s*=\s*"""
    r"""(?:[\w.]+\.get\(\s*(?:'[^'\n]*'|"[^"\n]*")\s*,\s*|[\w.]+\s*\?:\s*)?(?=['"])"""
)
DOCKER_AGENT = re.compile(r"""\bagent\s*\{\s*docker\s*\(?\s*(?=['"])|\b(?:docker|containerTemplate)\s*\{[^{}]*?\bimage\s*\(?\s*(?=['"])""")
# `docker.image(...)`, also chained over lines (`docker\n  .image(...)\n  .inside {`), with comments
# between the links of the chain.
_GAP = r"(?:\s|//[^\n]*(?![^\n])|/\*(?:[^*]|\*(?!/)){0,1000}\*/)*"
DOCKER_IMAGE = re.compile(rf"""\bdocker{_GAP}\.{_GAP}image{_GAP}\({_GAP}(?=['"])""")
RUNS = re.compile(rf"""{_GAP}\){_GAP}\.{_GAP}(inside|withRun|run)\b""")
DOCKER_BUILD = re.compile(r"""\bdocker\.build\s*\(\s*(?=['"])""")
IMAGE_VARIABLE = re.compile(r"""\b(\w+)\s*=\s*docker\.image\s*\(\s*(?=['"])""")
# containerTemplate(image: ...), and withDockerContainer, the step docker.image().inside runs.
CONTAINER_TEMPLATE = re.compile(
    r"""\b(?:containerTemplate|withDockerContainer)\s*\((?:[^()'"]|'[^'\n]*'|"[^"\n]*")*?\bimage\s*:\s*(?=['"])"""
    r"""|\bwithDockerContainer\s*\(\s*(?=['"])"""
)
POD_YAML = re.compile(r"""\byaml\b\s*:?\s*\(?\s*(?:(?=['"])|([A-Za-z_]\w*)\b(?!\s*[.(]))""")
POD_IMAGE = re.compile(r"""(?m)^[ \t]*(?:-[ \t]+)?image:[ \t]*(['"]?)([^\s'"#]+)\1[ \t]*(?:#.*)?$""")


class _Values:
    """A Groovy name's literal value where the file assigns it exactly one (def IMG = 'x:1',
    environment { IMG = "${BASE}:1" }), through several levels."""

    def __init__(self, groovy: Groovy) -> None:
        self.groovy = groovy
        assigned: dict[str, set[Literal]] = {}
        for match in ASSIGNMENT.finditer(groovy.text):
            literal = groovy.literal_at(match.end())
            if literal and groovy.in_code(match.start(1)):
                assigned.setdefault(match.group(1), set()).add(literal)
        texts = {name: {self.text(literal) for literal in literals} for name, literals in assigned.items()}
        self.literals = {name: literals.pop() for name, literals in assigned.items() if len(texts[name]) == 1}

    def text(self, literal: Literal) -> str:
        return self.groovy.text[literal.body:literal.stop]

    def of(self, literal: Literal) -> str:
        return self.resolve(self.text(literal), literal.interpolates)

    def resolve(self, text: str, interpolates: bool, depth: int = 0) -> str:
        """The text with what can be resolved filled in; `$` stays where nothing can."""
        if not interpolates or depth > 5:
            return text

        def value(match: re.Match[str]) -> str:
            source = self.literals.get((match.group(1) or match.group(2)).removeprefix("env."))
            return match.group(0) if source is None else self.resolve(self.text(source), source.interpolates, depth + 1)

        return re.sub(r"\$\{\s*((?:env\.)?\w+)\s*\}|\$((?:env\.)?\w+)", value, text)


def _judged(image: str) -> str | None:
    """The reference to judge: itself, or its last part when a variable names only the registry;
    None when a variable nothing resolves is in the name or tag."""
    if "$" not in image:
        return image or None
    head, _, last = image.rpartition("/")
    return last if head and last and "$" not in last else None


def _agent_images(groovy: Groovy) -> Iterator[tuple[int, Literal]]:
    for pattern in (DOCKER_AGENT, CONTAINER_TEMPLATE):
        for match in pattern.finditer(groovy.text):
            literal = groovy.literal_at(match.end())
            if literal and groovy.in_code(match.start()):
                yield literal.start, literal
    runners = {match.group(1) for match in IMAGE_VARIABLE.finditer(groovy.text)}
    run_by_name = {name for name in runners if re.search(rf"\b{name}\s*\.\s*(inside|withRun|run)\b", groovy.text)}
    for match in DOCKER_IMAGE.finditer(groovy.text):
        literal = groovy.literal_at(match.end())
        if literal is None or not groovy.in_code(match.start()):
            continue
        assigned = re.search(r"\b(\w+)\s*=\s*$", groovy.text[groovy.text.rfind("\n", 0, match.start()) + 1:match.start()])
        # An image this file runs; docker.image('app').push() names what it publishes, not a tool.
        if RUNS.match(groovy.text, literal.stop + len(literal.quote)) or (assigned and assigned.group(1) in run_by_name):
            yield literal.start, literal


def _pod_images(groovy: Groovy, values: _Values) -> Iterator[tuple[int, str, str]]:
    """Each `image:` of a pod YAML given to a kubernetes agent or podTemplate: yaml '''...''',
    or yaml NAME where NAME is assigned one literal."""
    for match in POD_YAML.finditer(groovy.text):
        if not groovy.in_code(match.start()):
            continue
        literal = groovy.literal_at(match.end()) if match.group(1) is None else values.literals.get(match.group(1))
        for image in POD_IMAGE.finditer(groovy.text, literal.body, literal.stop) if literal else ():
            yield image.start(2), values.resolve(image.group(2), literal.interpolates), image.group(2)


def built_by(groovy: Groovy, values: _Values) -> list[str]:
    """The images the file builds or tags itself (docker.build, docker build -t, docker tag)."""
    built = [values.of(literal) for match in DOCKER_BUILD.finditer(groovy.text) if (literal := groovy.literal_at(match.end()))]
    return built + built_images(groovy.text)


def _built(groovy: Groovy, values: _Values) -> set[str]:
    """The repositories the file builds itself: what it runs of those is its own build's output,
    not an image that moves under it."""
    return {image_repository(image) for image in built_by(groovy, values)}


def run_images(pipeline: PipelineFile) -> list[tuple[str, int, str, str]]:
    """(file, line, image as resolved, image as written) of every agent, tool and pod container image."""
    groovy = _groovy(pipeline)
    values = _Values(groovy)
    found = [(offset, values.of(literal), values.text(literal)) for offset, literal in _agent_images(groovy)]
    found += list(_pod_images(groovy, values))
    located = [(pipeline.path, groovy.line(offset), image, written) for offset, image, written in found]
    # A pod file is read by the plugin as it is: no Groovy fills anything into it.
    return located + [(file, number, image.group(2), image.group(2)) for file, number, line in pod_lines(pipeline) for image in POD_IMAGE.finditer(line)]


def jenkins_unpinned_agent_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    groovy = _groovy(pipeline)
    built = _built(groovy, _Values(groovy))
    for file, line, image, written in run_images(pipeline):
        judged = _judged(image.strip())
        reason = unpinned_reason(judged) if judged and image_repository(image.strip()) not in built else None
        if reason:
            through = f" (through {written})" if written != image else ""
            yield rule.finding(pipeline, (file, line), f"image {image}{through} {reason}: the build runs whatever the tag points to next; pin an exact version, and a digest where you can")
    # The BuildKit image a step names (`buildx create --driver-opt image=moby/buildkit`), as GL001 and GH004 read it.
    for found in BUILDKIT_IMAGE.finditer(groovy.text):
        if not groovy.commented(found.start()) and next(moving_buildkit_tags(found.group(0)), None) is not None:
            yield rule.finding(
                pipeline, groovy.line(found.start()),
                f"the step's BuildKit image {found.group(0)} moves under the build; pin a release (e.g. moby/buildkit:v0.32.2)",
            )


# --- Compose ----------------------------------------------------------------------------------

COMPOSE_TOP_LEVEL = {"version", "name", "include", "volumes", "networks", "secrets", "configs"}


def _services(pipeline: PipelineFile) -> Iterator[tuple[str, dict[str, Any]]]:
    root = pipeline.root
    # Compose's first format has no services: key; its services are the top-level keys.
    services = root["services"] if "services" in root else {k: v for k, v in root.items() if k not in COMPOSE_TOP_LEVEL and not str(k).startswith("x-")}
    for name, service in services.items() if isinstance(services, dict) else ():
        if isinstance(service, dict):
            yield str(name), service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()} if isinstance(environment, dict) else {}


GLOBAL_ARG = re.compile(r"""^[ \t]*ARG[ \t]+(\w+)=["']?([^\s"']+)""", re.IGNORECASE | re.MULTILINE)
FROM_LINE = re.compile(r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)(?:[ \t]+AS[ \t]+(\S+))?", re.IGNORECASE | re.MULTILINE)


def _built_from(compose_file: str, build: Any) -> str | None:
    """The image the stage Compose builds starts from (the final one, or `target:`), through stage
    names; None when the Dockerfile cannot be read, or would be read from outside the Compose file's
    directory (`../`, a symlink out of it)."""
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict):
        return None
    if isinstance(build.get("dockerfile_inline"), str):
        text = build["dockerfile_inline"]
    else:
        root = Path(compose_file).parent.resolve()
        context, dockerfile = str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))
        if "://" in context or context.startswith("git@"):
            return None
        path = (root / context / dockerfile).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
    # ARGs before the first FROM name its image: `ARG BASE=docker:27-dind` then `FROM ${BASE}`.
    first = FROM_LINE.search(text)
    defaults = dict(GLOBAL_ARG.findall(text[:first.start()] if first else ""))
    stages = [
        (re.sub(r"\$\{?(\w+)\}?", lambda name: defaults.get(name.group(1), name.group(0)), found.group(1)), (found.group(2) or "").lower())
        for found in FROM_LINE.finditer(text)
    ]
    named = {alias: image for image, alias in stages if alias}
    target = build.get("target")
    image = named.get(str(target).lower()) if target else (stages[-1][0] if stages else None)
    for _ in range(len(stages)):
        if image is None or image.lower() not in named:
            break
        image = named[image.lower()]
    return image


def _is_dind(service: dict[str, Any], compose_file: str = "") -> bool:
    # An entrypoint of its own that is not the daemon's (`entrypoint: /bin/sh` running a tool) starts
    # no daemon, whatever the image.
    entrypoint = service.get("entrypoint")
    if entrypoint and "dockerd" not in " ".join(map(str, entrypoint if isinstance(entrypoint, list) else [entrypoint])):
        return False
    if runs_dockerd(str(service.get("image", ""))):
        return True
    # A daemon built from a Dockerfile of the repository (`build: ./dind`, FROM docker:27-dind).
    build = service.get("build")
    base = _built_from(compose_file, build) if compose_file and build else None
    if base is None and isinstance(build, dict):
        # A Dockerfile the lint cannot read, built to a stage named for the daemon (`target: dind`).
        return bool(re.search(r"(^|[-_.])dind($|[-_.])", str(build.get("target", ""))))
    return base is not None and runs_dockerd(base)


def _variable_line(service: dict[str, Any], name: str) -> int:
    """The line of one entry of a service's environment, as a mapping or as a `NAME=value` list."""
    environment = service.get("environment")
    if isinstance(environment, dict) and name in environment:
        return line_of(environment, name)
    if isinstance(environment, list):
        index = next((i for i, item in enumerate(environment) if str(item).partition("=")[0] == name), None)
        if index is not None:
            return line_of(environment, index)
    return line_of(service, "environment")


def compose_plain_tcp(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        environment = _environment(service)
        daemon = _is_dind(service, pipeline.path)
        if daemon and environment.get("DOCKER_TLS_CERTDIR", "/certs") == "":
            yield rule.finding(pipeline, _variable_line(service, "DOCKER_TLS_CERTDIR"), f"{name}: an empty DOCKER_TLS_CERTDIR serves the daemon on plain TCP 2375; set it to /certs")
        for key, value in environment.items():
            if PLAIN_TCP.search(value):
                yield rule.finding(pipeline, _variable_line(service, key), f"{name}: {key}={value} talks to a daemon on plain TCP; use tcp://docker:2376 with TLS")
        if daemon:
            yield from _plain_daemon_flags(pipeline, rule, name, service)
        ports = service.get("ports")
        for index, port in enumerate(ports if isinstance(ports, list) else ()):
            if re.search(r"(^|:)237[56](/tcp)?$", str(port.get("target", port) if isinstance(port, dict) else port)):
                yield rule.finding(pipeline, line_of(ports, index), f"{name}: publishes the Docker daemon's port {port}; keep it on a private network with its client alone")


DAEMON_PLAIN_FLAG = re.compile(r"(?:--host|-H)[=\s]+tcp://[^\s'\"]*:2375\b|--tls=false\b")


def _plain_daemon_flags(pipeline: PipelineFile, rule: Rule, name: str, service: dict[str, Any]) -> Iterator[Finding]:
    """A daemon told to listen on 2375, or to drop TLS, by its own command; one finding per command
    (a list's first such item), since the flags make one plain listener."""
    command = service.get("command")
    items = [str(item) for item in command] if isinstance(command, list) else [command] if isinstance(command, str) else []
    # Exec form gives a flag and its value as two items (`["--host", "tcp://0.0.0.0:2375"]`): read
    # them as one command, and locate the item that holds the value.
    found = DAEMON_PLAIN_FLAG.search(" ".join(items))
    if not found:
        return
    value = found.group(0).split()[-1].split("=")[-1]
    index = next((index for index, item in enumerate(items) if value in item), 0)
    holder, at = (command, index) if isinstance(command, list) else (service, "command")
    where = line_within(holder, at, value, pipeline.path)
    yield rule.finding(pipeline, where, f"{name}: the daemon's command {found.group(0)} serves Docker on plain TCP; keep TLS (DOCKER_TLS_CERTDIR: /certs) and port 2376")


def compose_privileged_beyond_dind(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, service in _services(pipeline):
        if service.get("privileged") is True and not _is_dind(service, pipeline.path):
            yield rule.finding(pipeline, line_of(service, "privileged"), f"{name}: privileged, and not a Docker daemon (docker:dind, docker:27); privilege belongs to the dind container alone")


COMPOSE_DEFAULT = re.compile(r"\$\{\w+:?-([^}$]*)\}")


def compose_unpinned_image(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    # With a build:, image: names what Compose builds, not something it pulls; other services of
    # the file may run that same build.
    built = {service.get("image") for _, service in _services(pipeline) if "build" in service}
    for name, service in _services(pipeline):
        written = service.get("image")
        if not isinstance(written, str) or written in built:
            continue
        # Compose fills ${VAR} from the environment: such an image cannot be judged from the file,
        # but ${VAR:-default} runs the default wherever VAR is not set.
        image = COMPOSE_DEFAULT.sub(lambda found: found.group(1), written)
        if "$" in image:
            continue
        reason = unpinned_reason(image)
        if reason:
            default = f" (the default of {written})" if image != written else ""
            yield rule.finding(pipeline, line_of(service, "image"), f"{name}: {image}{default} {reason}; pin an exact version, and a digest where you can")


JENKINS_RULES = [
    Rule("JK001", "jenkins-plain-tcp-daemon", "A Jenkinsfile never talks to a daemon on tcp://...:2375 or turns DinD's TLS off.", jenkins_plain_tcp),
    Rule("JK002", "jenkins-password-on-command-line", "docker login reads the password from standard input.", jenkins_password_on_command_line),
    Rule("JK003", "jenkins-interpolated-secret", "Credentials never go into double-quoted Groovy strings.", jenkins_interpolated_secret),
    Rule("JK004", "jenkins-unpinned-agent-image", "Every agent, docker.image and pod container image names a version: not untagged, latest, lts or dind.",
         jenkins_unpinned_agent_image, level="warning"),
]
COMPOSE_RULES = [
    Rule("JK101", "compose-plain-tcp-daemon", "DinD keeps TLS, clients use 2376, and no daemon port is published.", compose_plain_tcp),
    Rule("JK102", "compose-privileged-beyond-dind", "Only the Docker daemon service (docker:dind, docker:27) is privileged.", compose_privileged_beyond_dind),
    Rule("JK103", "compose-unpinned-image", "Every service image names a version: not untagged, latest, lts or dind.", compose_unpinned_image),
]
