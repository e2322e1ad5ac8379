"""Secrets where others can read them (issue 31): registry credentials in jobs any branch can run,
and secrets in a command's arguments, which process lists, `docker inspect` and image history show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.lint.document import Job, PipelineFile, line_of, line_within
from generator.lint.findings import (
    LOGIN_WITH_PASSWORD,
    REGISTRY_LOGIN,
    Finding,
    Rule,
    joined,
)
from generator.lint.github_rules import (
    _inputs,
    _run_output,
    _text,
    job_steps,
    runs_shell,
)
from generator.lint.gitlab_rules import (
    LIMITED,
    _located,
    _located_within,
    _runnable,
    _script_lines,
    _variable_written,
    _variables,
    guard_scope,
)
from generator.lint.jenkins_rules import (
    FIXED_TEXT,
    _commands,
    _environment,
    _name_parts,
    _services,
    _step_literals,
    bound_paths,
    bound_places,
    bound_secrets,
    bound_usernames,
    read_groovy,
)
from generator.lint.shell_words import (
    DESCRIBING,
    FUNCTION,
    JOB_TOKENS,
    ONE_WORD_SECRET,
    REFERENCE,
    guarded_commands,
    is_secret_name,
    one_word_expressions,
    runs_on_trusted_refs_only,
    secret_references,
    simple_commands,
    without_echoes,
    without_stdin,
)

# The pieces of a line that run one after another; a pipe keeps `echo "$X" | docker login` together.
SEQUENCE = re.compile(r"&&|\|\||;|\n")
RUNS_CONTAINER = re.compile(
    r"\b(docker|podman|nerdctl)\s+(container\s+)?(run|create|exec)\b"
    # Compose's run and exec take -e as docker's do, after any global options (-f file, -p name).
    r"|\b(docker[\s-]compose|podman-compose|nerdctl\s+compose)\b[^\n;&|]*?\s(run|exec)\b"
)
BUILDS = re.compile(r"\b(docker|podman|nerdctl)\s+(buildx\s+)?build\b|\bbuildah\s+(bud|build)\b|(\b|/)executor\b")
ENV_FLAG = re.compile(r"(?:^|\s)(?:-e|--env)(?:=|\s+)[\"']?(?P<name>[A-Za-z_]\w*)=(?P<value>\"[^\"]*\"|'[^']*'|\S*)")
BUILD_ARG = re.compile(r"--build-arg(?:=|\s+)[\"']?(?P<name>[A-Za-z_]\w*)(?:=(?P<value>\"[^\"]*\"|'[^']*'|\S*))?")
URL_CREDENTIALS = re.compile(r"\b[a-z][\w+.-]*://(?P<userinfo>[^\s/@'\"]+)@")
CURL_USER = re.compile(r"(?:^|\s)(?:-u|--user)(?:=|\s+)(?P<value>\"[^\"]*\"|'[^']*'|\S+)")
# A header that carries a credential: whatever its variable is called, it holds one.
CURL_CREDENTIAL_HEADER = re.compile(
    r"""(?:^|\s)(?:-H|--header)(?:=|\s+)["']?(?:proxy-)?(?:authorization|private-token|job-token|deploy-token|x-api-key|api-key|apikey|x-auth-token|x-access-token)\s*:(?P<value>[^"'\n]*)""",
    re.IGNORECASE,
)
CURL_DATA = re.compile(r"(?:^|\s)(?:-d|--data(?:-raw|-binary|-urlencode)?|-F|--form)(?:=|\s+)(?P<value>\"(?:\\.|[^\"\\])*\"|'[^']*'|\S+)")
# Commands the shell runs itself: their arguments never reach a process list.
BUILTINS = {"echo", "printf", "export", "local", "declare", "readonly", "set", "test", "[", "[[", "read", "cat", "tee"}
# A Groovy step around a shell line: `sh '...'`, `sh(script: "...")`.
# Also a step whose output a Groovy variable takes (`def auth = sh(returnStdout: true, script: '...')`).
GROOVY_STEP = re.compile(r"^\s*(?:(?:def\s+)?[\w.]+\s*=\s*)?(sh|bat|powershell|pwsh)\s*\(?\s*(?:(?:returnStdout|returnStatus|label|encoding)\s*:\s*[\w'\"-]+\s*,\s*)*(script:\s*)?(\"\"\"|'''|\"|')")


def show(name: str) -> str:
    return f"${{{{ {name} }}}}" if "." in name else f"${name}"


def _level(names: list[str]) -> str:
    return "warning" if all(name in JOB_TOKENS for name in names) else "error"


def _secret_value(name: str, value: str, known: frozenset[str] = frozenset()) -> list[str]:
    """The secrets NAME=value passes: a secret-named variable in the value, a variable known to hold
    one (what withCredentials binds, PARITY_URL), or any variable given to a secret-named NAME
    (NPM_TOKEN=$NPM_AUTH); a fixed value (SKIP_TOKEN_CHECK=true) is none."""
    found = secret_references(value) or [name for name in _references(value) if name in known]
    return found or ([name] if is_secret_name(name) and REFERENCE.search(value) else [])


def _in_container_env(part: str, known: frozenset[str]) -> Iterator[tuple[list[str], str]]:
    for flag in ENV_FLAG.finditer(part) if RUNS_CONTAINER.search(part) else []:
        name = flag.group("name")
        yield _secret_value(name, flag.group("value"), known), f"-e {name}={{}} puts the secret in the command line; pass -e {name} and let it come from the environment"


def _in_build_args(part: str, known: frozenset[str]) -> Iterator[tuple[list[str], str]]:
    for arg in BUILD_ARG.finditer(part) if BUILDS.search(part) else []:
        name, value = arg.group("name"), arg.group("value")
        # A bare name passes the environment's value, which still ends up in the history.
        found = _secret_value(name, value, known) if value is not None else [name] if is_secret_name(name) or name in known else []
        yield found, f"--build-arg {name} keeps {{}} in the image's history; use a build secret (--secret id=...) instead"


def _in_urls(part: str) -> Iterator[tuple[list[str], str]]:
    for program, command in simple_commands(part):
        kept = " (and git keeps it in .git/config)" if program == "git" else ""
        for url in URL_CREDENTIALS.finditer(command) if program not in BUILTINS else []:
            password = url.group("userinfo").rsplit(":", 1)[-1]
            yield secret_references(password), f"a URL with {{}} in it puts the secret in the command line{kept}; use a credential helper or a header read from a file"


def _in_curl(part: str) -> Iterator[tuple[list[str], str]]:
    if not re.search(r"\bcurl\b", part):
        return
    for user in CURL_USER.finditer(part):
        value = user.group("value").strip("\"'")
        password = value.rsplit(":", 1)[-1] if ":" in value else value
        # `-u "$X:"`, a user with an empty password, is how a token goes as the user (SonarQube,
        # Stripe): whatever the variable is called, it is the credential.
        found = secret_references(password or value) or ([name for name in _references(value[:-1]) if _may_hold_secret(name)] if value.endswith(":") else [])
        yield found, "curl -u with {} puts the password in the command line; use --netrc-file or -K with a config file"
    # Quotes closed and opened around the colon (`"Authorization"":"" $X"`, kept from YAML) join as the shell joins them.
    for header in CURL_CREDENTIAL_HEADER.finditer(part.replace('""', "").replace("''", "")):
        value = header.group("value")
        found = secret_references(value) or [name for name in _references(value) if _may_hold_secret(name)]
        yield found, "curl header with {} puts the credential in the command line; read the headers from a file (-H @file)"
    for data in CURL_DATA.finditer(part):
        value = data.group("value")
        # A JSON body's credential fields (`{"secret_id": "$VAULT_SECRET_ID"}`, Vault's AppRole login)
        # hold a secret whatever the variable is called.
        fields = [found.group("variable") for found in JSON_FIELD.finditer(value) if _secret_field(found.group("field"))]
        yield list(dict.fromkeys(secret_references(value) + fields)), "curl data with {} puts the secret in the command line; read it from a file (-d @file)"


JSON_FIELD = re.compile(r"""\\?["'](?P<field>\w+)\\?["']\s*:\s*\\?["']?\$\{?(?P<variable>[A-Za-z_]\w*)""")


def _secret_field(name: str) -> bool:
    return _secret_parameter(name) or name.lower() in ("secret_id", "secretid")


# Words that run no program of their own: what they are given never reaches a process list.
SHELL_WORDS = BUILTINS | {"{", "}", "(", "if", "elif", "while", "until", "for", "case", "!", ":", "true", "false", "unset", "exit", "return", "eval", "[", "[[", "test"}


# A variable given where a command wants a file: GitLab's File-type variables hold a path
# (`ssh -i $SSH_PRIVATE_KEY`, `--key-file=$DEPLOY_TOKEN`, `< $DB_PASSWORD`), not the secret.
PATH_OPERAND = re.compile(
    r"(?:(?<=\s)(?:-[if]|--[\w-]*(?:file|path|dir|kubeconfig|cert|identity))(?:=|\s+)|[<>]\s*)[\"']?\$\{?[A-Za-z_]\w*\}?[\"']?"
)
# Programs whose operands are files: `ssh-add $SSH_PRIVATE_KEY` adds the key file a File variable names.
FILE_PROGRAMS = {"ssh-add", "chmod", "chown", "cp", "mv", "rm", "source", "."}
# name=value in an argument: ansible's `-e k=v`, Java's `-Dk=v`, helm's `--set k=v`, a URL's `?k=v`.
# Never a flag's own `--k=v`, whose value is often a file (`--private-key=$KEY`): FLAG_VALUE reads those.
NAMED_VALUE = re.compile(r"(?:(?<=[\s\"'?&,=])|(?<=\s-D)|^-D|^)(?P<name>[A-Za-z_][\w.-]*)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s&\"']*)")
SECRET_PARAMETERS = {"PASSWORD", "PASSWD", "PASS", "TOKEN", "SECRET", "APIKEY", "AUTH", "KEY"}
# What a key named this way opens is no secret: a cache, a sort, a table's row, an S3 object.
PLAIN_KEYS = {"CACHE", "PROJECT", "SORT", "PUBLIC", "PRIMARY", "FOREIGN", "PARTITION", "ROUTING", "OBJECT", "S3", "BUCKET", "LOOKUP", "HASH", "GROUP", "LABEL", "STATE", "LOCK", "CONFIG"}


def _plain_key(parts: list[str]) -> bool:
    return len(parts) > 1 and parts[-1] == "KEY" and parts[-2] in PLAIN_KEYS


# Properties whose value is a credential whatever its parts say: SonarQube's `sonar.login` is its
# token, unless a `sonar.password` beside it makes it a user name.
SECRET_PROPERTIES = {"sonar.login": "sonar.password"}


def _references(value: str) -> list[str]:
    return [name for found in REFERENCE.finditer(value) if (name := found.group("expression") or found.group("variable") or found.group("batch"))]


def _secret_parameter(name: str) -> bool:
    """A parameter whose value is a secret by its name (`api_token=`, `NPM_TOKEN:`); not a plain key."""
    parts = _name_parts(name)
    return bool(parts) and parts[-1] in SECRET_PARAMETERS and not _plain_key(parts)


def _secret_property(name: str, arguments: str) -> bool:
    unless = SECRET_PROPERTIES.get(name.lower())
    return unless is not None and unless not in arguments.lower()


def _named_secrets(arguments: str) -> list[str]:
    """The variables an argument passes as the value of a secret-named parameter (`key=${HOOK_2}`),
    whatever they are called; a value made by a command (`token=$(vault read ...)`), a path-like
    or plain-key variable and the platform's own CI_ variables are left to the name check."""
    names = []
    for found in NAMED_VALUE.finditer(arguments) if "=" in arguments else []:
        secret = _secret_parameter(found.group("name")) or _secret_property(found.group("name"), arguments)
        if not secret or "$(" in found.group("value"):
            continue
        # A path built around a variable (`key=ecs/${BRANCH}/terraform.tfstate`, a state file's key) holds no secret.
        if "/" in REFERENCE.sub("", found.group("value").strip("\"'")):
            continue
        names += [name for name in _references(found.group("value")) if _may_hold_secret(name)]
    return names


def _may_hold_secret(name: str) -> bool:
    """Whether a variable given as a secret parameter's value may be the secret: not one named as a
    path or a plain key, nor the platform's own CI_ variables."""
    variable = _name_parts(name.rsplit(".", 1)[-1])
    return bool(variable) and variable[-1] not in DESCRIBING and not _plain_key(variable) and not name.startswith(("CI_", "GITHUB_", "RUNNER_"))


# --token $X, --api-key="$X": a secret-named flag given one variable. A value with more in it
# (docker build's `--secret id=npm,src=$FILE`) is no secret itself.
FLAG_VALUE = re.compile(r"(?:^|\s)--(?P<flag>[A-Za-z][\w-]*)(?:=|\s+)(?P<quote>\"?)\$\{?(?P<variable>[A-Za-z_]\w*)\}?(?P=quote)(?=\s|$)")
# A flag's KEY is often a file (`--private-key`, `--ssh-key`): only these owners make it the secret.
FLAG_KEY_OWNERS = {"API", "ACCESS", "SECRET", "AUTH"}


def _secret_flag(flag: str) -> bool:
    parts = _name_parts(flag)
    return bool(parts) and (
        parts[-1] in {"PASSWORD", "PASSWD", "TOKEN", "SECRET"} or bool(ONE_WORD_SECRET.fullmatch(parts[-1]))
        or parts[-1] == "KEY" and len(parts) > 1 and parts[-2] in FLAG_KEY_OWNERS
    )


def _flag_secrets(arguments: str) -> list[str]:
    """The variables given to a secret-named flag (`--authkey $TS`), whatever they are called."""
    return [
        found.group("variable") for found in FLAG_VALUE.finditer(arguments)
        if _secret_flag(found.group("flag")) and _may_hold_secret(found.group("variable"))
    ]


def _double_quoted_end(text: str, start: int) -> int:
    """Where the double-quoted word opened before start ends: a `$(...)` inside it has quotes of
    its own (`"$(grep '"version"' f)"`), which neither close the word nor open one."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if text.startswith("$(", index):
            depth, index = depth + 1, index + 2
            continue
        if char == '"':
            if not depth:
                return index + 1
            index = _double_quoted_end(text, index + 1)
            continue
        if depth and char == "'":
            closing = text.find("'", index + 1)
            index = len(text) if closing < 0 else closing + 1
            continue
        depth -= depth and char == ")"
        index += 1
    return len(text)


def _quoted_words(text: str) -> Iterator[tuple[int, int]]:
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char == "'":
            closing = text.find("'", index + 1)
            end = len(text) if closing < 0 else closing + 1
            yield index, end
            index = end
        elif char == '"':
            end = _double_quoted_end(text, index + 1)
            yield index, end
            index = end
        else:
            index += 1


def _quoted_separators_hidden(text: str) -> str:
    """The text with `|`, `;`, `&` and line breaks inside a quoted word blanked: `sed -e
    "s|__PASS__|${DB_PASS}|g"` is one argument, not a pipe, and a string over several lines one word.
    A double-quoted command substitution keeps its own: it runs commands."""
    if not re.search(r"[|;&\n]", text):
        return text
    pieces, last = [], 0
    for start, end in _quoted_words(text):
        word = text[start:end]
        pieces += [text[last:start], word if "$(" in word or "`" in word else re.sub(r"[|;&\n]", " ", word)]
        last = end
    return "".join(pieces) + text[last:]


POWERSHELL_ASSIGNMENT = re.compile(r"\s*\$(?:env:)?\w+\s*=(?!=)")
# A command that only assigns (`ENTRIES="${ENTRIES}, \"password\": \"$X\""`) runs no program.
ASSIGNMENT_ONLY = re.compile(r"""\s*+(?:[A-Za-z_]\w*+=(?:"(?:\\.|[^"\\])*+"|'[^']*+'|[^\s;&|"'\\]++|\\.)*+\s*+)++""")


def _in_arguments(part: str, functions: set[str], known: set[str]) -> Iterator[tuple[list[str], str]]:
    """Any other program given a secret as an argument: `sshpass -p "$SSH_PASSWORD"`, `helm repo add
    --password $X`, `kubectl ... --docker-password=$X`, `curl -H "PRIVATE-TOKEN: $X"`. A registry
    login's own password flag is GL006's; a process substitution (`<(echo "$KEY")`) and a call of a
    function the script defines are the shell's own. Any variable given to a secret-named parameter
    (`-e cloudflare_key=$CF`, `?key=$HOOK`) or to a secret-named flag (`--token $X`) counts too; a
    variable given as a file does not."""
    for piece in re.split(r"[<>]\(", part):
        for program, command in simple_commands(_quoted_separators_hidden(piece)):
            # PowerShell's assignment (`$pw = [Convert]::ToBase64String(...)`) runs in its own process.
            if ASSIGNMENT_ONLY.fullmatch(command) or POWERSHELL_ASSIGNMENT.match(command):
                continue
            # A backslash before a command only stops alias expansion: `\[ -n "$X" ]` is the test.
            program = program.removeprefix("\\")
            if program in SHELL_WORDS or program in FILE_PROGRAMS or program in functions or not program:
                continue
            login = LOGIN_WITH_PASSWORD.search(command)
            command = command[: login.start()] if login else command
            start = command.find(program)
            arguments = PATH_OPERAND.sub(" ", command[start + len(program):] if start >= 0 else "")
            names = secret_references(arguments) + [
                name for found in REFERENCE.finditer(arguments) if (name := found.group("variable") or found.group("batch")) in known
            ] + _named_secrets(arguments) + _flag_secrets(arguments)
            yield names, "{} is passed in a command's arguments, where the process list shows it; pass it through the environment or a file"


# Tokens whose issuers give them a recognisable form: written into the file, the credential is in the
# repository's history as well as on the command line.
LITERAL_TOKEN = re.compile(
    r"(?<![\w-])(?P<token>gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{40,}|glpat-[\w-]{20,}"
    r"|sq[pua]_[0-9a-f]{40}|xox[abprs]-[A-Za-z0-9-]{10,}|npm_[A-Za-z0-9]{36}|pypi-[\w-]{50,})(?![\w-])"
)
TOKEN_ISSUERS = {"gh": "GitHub", "github_pat_": "GitHub", "glpat-": "GitLab", "sq": "SonarQube", "xox": "Slack", "npm_": "npm", "pypi-": "PyPI"}
# What every finding of command_line_secrets needs in its line: most lines are passed over at once.
MAY_HOLD = re.compile(
    r"\s(-e|--env)[\s=]|--build-arg|://|\bcurl\b|PASS|TOKEN|SECRET|KEY|PAT\b|PW|PSW|CREDENTIAL|AUTH|secrets\.|github\.token|sonar\.login"
    r"|gh[pousr]_|glpat-|sq[pua]_|xox[abprs]-|npm_|pypi-",
    re.IGNORECASE,
)


# ssh's remote command in double quotes: the runner's shell fills in `$NAME` before ssh starts.
SSH_DOUBLE_QUOTED = re.compile(r"(?<![\w.$-])ssh(?![\w.-])[^\"'\n;&|]*\"((?:\\.|[^\"\\])*)\"")


def _in_ssh(part: str, known: frozenset[str]) -> Iterator[tuple[list[str], str]]:
    for remote in SSH_DOUBLE_QUOTED.finditer(part):
        # A remote `docker login -p $X` is GL006's, reported there.
        command = " ".join(piece for piece in re.split(r"&&|\|\||;|\n", remote.group(1)) if not LOGIN_WITH_PASSWORD.search(piece))
        found = secret_references(command) + [name for name in _references(command) if name in known]
        yield found, ("{} is filled in by the runner's shell into ssh's arguments, where the process list shows it on both hosts; "
                      "send it on ssh's stdin, or single-quote the command and let the remote side read it")


def _literal_tokens(part: str) -> Iterator[tuple[list[str], str]]:
    for program, command in simple_commands(part):
        for found in LITERAL_TOKEN.finditer(command) if program.removeprefix("\\") not in SHELL_WORDS else ():
            token = found.group("token")
            issuer = next(name for prefix, name in TOKEN_ISSUERS.items() if token.startswith(prefix))
            yield [token], f"a {issuer} token written out in the file ({token[:8]}...) is in the repository and on the command line; revoke it, store it as a secret and let the command read it from the environment"


# A secret stored base64-encoded and decoded in place (`--token=$(echo $K8S_TOKEN | base64 -d)`) is
# the secret itself in the command's arguments.
DECODED = re.compile(r"""\$\(\s*(?:echo(?:\s+-n)?|printf(?:\s+['"]?%s['"]?)?)\s+"?(\$\{?\w+\}?)"?\s*\|\s*base64\s+(?:-d|-D|--decode)\s*\)""")


def command_line_secrets(text: str, literals: set[str], script: str = "", known: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(what is wrong, the secret names involved) for the secrets a shell line puts in arguments.
    literals: names the file itself gives a fixed value (a test database's password), public already.
    script: the whole script the line belongs to, for the shell functions it defines.
    known: names that hold a secret whatever they are called (what a Jenkinsfile's withCredentials binds)."""
    problems: list[str] = []
    names: list[str] = []
    # A name a credential binds holds a secret whatever it is called (`variable: 'svc_lidarhd'`).
    if not MAY_HOLD.search(text) and not any(name in text for name in known or ()):
        return problems, names
    text = without_stdin(text)
    text = DECODED.sub(r"\1", one_word_expressions(text))
    functions = {keyword or bare for keyword, bare in FUNCTION.findall(script or text)}
    bound = frozenset(known or ())
    for part in SEQUENCE.split(_quoted_separators_hidden(text)):
        named: set[str] = set()
        for found, problem in [*_in_container_env(part, bound), *_in_build_args(part, bound), *_in_urls(part), *_in_curl(part), *_literal_tokens(part), *_in_ssh(part, bound)]:
            found = [name for name in found if name.removeprefix("env.") not in literals]
            if found:
                named |= set(found)
                names.extend(found)
                problems.append(problem.format(show(found[0])))
        # Any other secret the part's commands are given (`sshpass -p "$SSH_PASSWORD" ssh ... "docker run -e ..."`).
        for found, problem in _in_arguments(part, functions, known or set()):
            found = [name for name in found if name.removeprefix("env.") not in literals and name not in named]
            if found:
                names.extend(found)
                problems.append(problem.format(show(found[0])))
                break
    return problems, names


def _message(problems: list[str]) -> str:
    return "; ".join(dict.fromkeys(problems))


# --- GitLab -----------------------------------------------------------------------------------


ASSIGNED = re.compile(r"(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_]\w*)=")
# A Docker config written by hand: its `"auth"` value is a registry credential whatever it is called.
CONFIG_AUTH = re.compile(r"""\\?["']auth\\?["']\s*:\s*\\?["']\$\{?([A-Za-z_]\w*)""")


def _login_secrets(text: str) -> list[str]:
    """The secret-named variables a registry login in the line reads, and a variable written as the
    auth of a Docker config. GitLab's own job token and registry password (CI_*) are scoped to the
    job by GitLab."""
    # A login that echo only prints is none; one reading echo's output on stdin reads the secret echoed.
    # Blanking keeps every position, so the pieces of the blanked line are those of the line.
    parts = []
    if "login" in text:
        line = joined(text)
        blanked = without_echoes(line)
        cuts = [0, *(end for found in SEQUENCE.finditer(line) for end in (found.start(), found.end())), len(line)]
        parts = [line[start:end] for start, end in zip(cuts[::2], cuts[1::2]) if REGISTRY_LOGIN.search(blanked[start:end])]
    # sshpass's password opens the ssh session the login runs in, not the registry.
    names = [name for part in parts for name in secret_references(SSHPASS.sub(" ", part))] + (CONFIG_AUTH.findall(text) if "auth" in text else [])
    return [name for name in names if not name.startswith("CI_")]


SSHPASS = re.compile(r"\bsshpass\s+-p\s*(?:\"[^\"]*\"|'[^']*'|\S+)")


# A login whose password a cloud's CLI makes from the cloud's keys: the keys are the credential.
CLOUD_TOKEN = re.compile(r"\baws\s+ecr\s+get-login(?:-password)?\b")
CLOUD_KEY = re.compile(r"\$\{?(?P<name>\w*AWS_(?:SECRET_ACCESS_KEY|SESSION_TOKEN)\w*)\}?")


def _cloud_keys(job: Job) -> list[str]:
    """The cloud keys the job's script names itself (`export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY`,
    `aws configure set aws_secret_access_key $PROD_AWS_SECRET_ACCESS_KEY`): only then is a project
    variable known to hold them, rather than the runner's own role."""
    return [found.group("name") for text, _, _ in _script_lines(job) for found in CLOUD_KEY.finditer(text)]


def _guarded_to_trusted_refs(script: str) -> bool:
    """Whether every login of a script entry runs under a shell test of the ref that limits it as a
    rule would (`if [ "$CI_COMMIT_REF_PROTECTED" == "true" ]; then docker login ...`), read as GL007 reads one."""
    logins = [tests for command, tests in guarded_commands(script) if REGISTRY_LOGIN.search(command) or _login_secrets(command)]
    return bool(logins) and all(guard_scope(tests)[0] >= LIMITED for tests in logins)


GITLAB_OWN = re.compile(r"\$\{?CI_\w+\}?")


def _no_project_variables(pipeline: PipelineFile, job: Job) -> set[str]:
    """The variables that hold no stored credential of the project: those the file fixes, those the
    script makes itself (a token from a cloud's CLI), and those that only rename one of GitLab's own
    (`DOCKER_REGISTRY_PASSWORD: "${CI_REGISTRY_PASSWORD}"`), scoped to the job as the CI_* one is."""
    renamed = {name for name, value in _variables(pipeline, job).items() if GITLAB_OWN.fullmatch(value.strip())}
    return _literals(pipeline, job) | renamed | {name for text, _, _ in _script_lines(job) for name in ASSIGNED.findall(text)}


def registry_login_on_unprotected_ref(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in _runnable(pipeline):
        keys = _cloud_keys(job)
        logins = [
            (names, holder, index) for text, holder, index in _script_lines(job)
            if (names := _login_secrets(text) or (keys if REGISTRY_LOGIN.search(text) and CLOUD_TOKEN.search(text) else []))
            and not _guarded_to_trusted_refs(text)
        ]
        if not logins or runs_on_trusted_refs_only(pipeline, job):
            continue
        literals = _no_project_variables(pipeline, job)
        for names, holder, index in logins:
            names = [name for name in names if name not in literals or name in keys]
            if names:
                yield rule.finding(
                    pipeline, _located(job, holder, index),
                    f"{job.name}: logs in to a registry with {show(names[0])} but can run on any branch, where whoever pushes the "
                    "branch can print it; mark the variable protected and limit the job to protected refs "
                    '(rules: - if: $CI_COMMIT_REF_PROTECTED == "true")',
                    job=job.name,
                )
    yield from _config_logins_on_unprotected_refs(pipeline, rule)


# --- a Docker config written by hand, on unprotected refs (GL022) -----------------------------

# Writing a registry's entry into a Docker config (kaniko's /kaniko/.docker/config.json, by echo or
# a here-document) is a login: kaniko, buildah and crane read it. _login_secrets reads `"auth": "$X"`;
# these are the other fields that hold the credential, and an auth computed in the line
# (`"auth": "$(printf %s:%s "$USER" "$HUB_PASSWORD" | base64)"`).
CONFIG_CREDENTIAL = re.compile(r"""\\?["'](?:auth|password|identitytoken|registrytoken)\\?["']\s*:\s*(?P<value>[^,}\n]*)""", re.IGNORECASE)


def _config_secrets(text: str) -> list[str]:
    """The variables a hand-written Docker config takes its credential from: secret-named ones
    where the value names several (a user beside the password), else any; GitLab's own CI_* are
    scoped to the job by GitLab."""
    if "auths" not in text:
        return []
    names = [
        found.group("variable") for value in CONFIG_CREDENTIAL.finditer(text)
        for found in REFERENCE.finditer(value.group("value")) if found.group("variable")
    ]
    names = [name for name in dict.fromkeys(names) if not name.startswith("CI_")]
    if not names and "config.json" in text:
        # Filled in by printf's `%s` from a credential the script made before (`AUTH=$(printf ... "$TOKEN" | base64)`).
        names = [name for name in dict.fromkeys(secret_references(text)) if not name.startswith("CI_")]
    return [name for name in names if is_secret_name(name)] or names


# A whole Docker config kept in a variable (GitLab's DOCKER_AUTH_CONFIG, a File variable) and written
# where a registry client reads it: `echo "$X" > /kaniko/.docker/config.json`, `| tee`, `cp $X ...`.
# Only the variable as the whole content counts: `{"credHelpers": {"$ECR_REGISTRY": ...}}` names a host.
WHOLE_CONFIG = re.compile(
    r"(?:^|[\s;&|(])(?:echo(?:\s+-[neE]+)*|printf\s+[\"']%s(?:\\n)?[\"']|cat|cp(?:\s+-\w+)*)\s+"
    r"(?P<quote>[\"']?)\$\{?(?P<variable>[A-Za-z_]\w*)\}?(?P=quote)"
    r"(?:\s*\|\s*base64\s+(?:-d|--decode))?(?:\s*>>?\s*|\s*\|\s*tee\s+(?:-a\s+)?|\s+)[\"']?"
    r"(?P<path>[^\s\"';|&]*(?:\.docker/|kaniko/|DOCKER_CONFIG\}?/|containers/)(?:config|auth)\.json)"
)


def _whole_configs(text: str) -> list[str]:
    """The variables a line writes whole into a Docker config; GitLab's own CI_* are scoped to the job."""
    if ".json" not in text:
        return []
    return [name for found in WHOLE_CONFIG.finditer(text) if not (name := found.group("variable")).startswith("CI_")]


def _unprotected_config_writes(pipeline: PipelineFile) -> Iterator[tuple[Job, str, Any, Any, str]]:
    """(job, the credential's variable, holder, index, where to find it) for each config a job that any
    branch can run writes. A line _login_secrets reads as a login already is left to it, and a value
    the file fixes or the script makes itself (a token from a cloud's CLI) is no project variable."""
    for job in _runnable(pipeline):
        lines = list(_script_lines(job))
        writes = [(names, holder, index, text) for text, holder, index in lines if not _login_secrets(text) and (names := _config_secrets(text) or _whole_configs(text))]
        if writes and not runs_on_trusted_refs_only(pipeline, job):
            made = _no_project_variables(pipeline, job)
            for names, holder, index, text in writes:
                for name in [n for n in names if n not in made][:1]:
                    # A credential the config takes through printf's `%s` is found where the config is written.
                    named = any(name in found.group("value") for found in CONFIG_CREDENTIAL.finditer(text)) or name in _whole_configs(text)
                    yield job, name, holder, index, name if named else "config.json"


def _config_logins_on_unprotected_refs(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job, name, holder, index, needle in _unprotected_config_writes(pipeline):
        yield rule.finding(
            pipeline, _located_within(job, holder, index, needle),
            f"{job.name}: writes {show(name)} into a Docker config as a registry credential (a login) but can run on any branch, "
            'where whoever pushes the branch can print it; mark the variable protected and limit the job to protected refs '
            '(rules: - if: $CI_COMMIT_REF_PROTECTED == "true")',
            job=job.name,
        )


def _literals(pipeline: PipelineFile, job: Job) -> set[str]:
    return {name for name, value in _variables(pipeline, job).items() if "$" not in value}


def _command_start(job: Job, holder: Any, key: Any, first: str, after: int) -> int:
    """The line where a command of a script entry starts: its whole first line, so two commands
    that start alike are told apart; in a folded entry, whose lines are not the file's, its first
    two words."""
    entry = _located(job, holder, key)[1]
    start = _located_within(job, holder, key, first.strip(), after)[1]
    return _located_within(job, holder, key, " ".join(first.split()[:2]), after)[1] if start == entry else start


def _open_quote(text: str) -> str:
    """The quote a shell line leaves open at its end ("" when none)."""
    quote, escaped = "", False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and not quote:
            break
    return quote


def _quoted_commands(commands: Iterator[tuple[int, list[str]]]) -> Iterator[list[str]]:
    """Commands with a quoted string that runs over lines kept whole (`X="a,\n \"p\": \"$P\""`)."""
    pending: list[str] = []
    for _, lines in commands:
        pending += lines
        if not _open_quote("\n".join(pending)) or len(pending) > 50:
            yield pending
            pending = []
    if pending:
        yield pending


def _carrying(pipeline: PipelineFile, job: Job) -> dict[str, str]:
    """The job's variables that carry a secret under another name (`JIB_OPTS: -Dpassword=$REG_PASSWORD`,
    `INDEX_URL: https://__token__:$PYPI_TOKEN@host`), each with its value: where a command expands one,
    the secret is in its arguments."""
    # `expand: false` keeps a value's `$NAME` literal text: it names no secret.
    literal = {
        str(name) for variables in (pipeline.global_variables(), job.merged.get("variables"))
        for name, value in (variables.items() if isinstance(variables, dict) else ())
        if isinstance(value, dict) and value.get("expand") is False
    }
    return {name: value for name, value in _variables(pipeline, job).items() if name not in literal and not is_secret_name(name) and secret_references(value)}


def _with_carried(text: str, carrying: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The text with each carrying variable it expands written as its value, and each secret so
    brought in mapped to the variable the line names (where the finding is placed)."""
    brought: dict[str, str] = {}

    def value(found: re.Match[str]) -> str:
        name = found.group("variable")
        if name not in carrying:
            return found.group(0)
        brought.update(dict.fromkeys(secret_references(carrying[name]), name))
        return carrying[name]

    return (REFERENCE.sub(value, text), brought) if carrying and "$" in text else (text, brought)


# A shell assignment on a line of its own (`ARGS="--set-string key=${STRIPE_SECRET_KEY}"`, `export X=...`);
# a single-quoted value expands nothing.
SHELL_ASSIGNMENT = re.compile(r"""(?m)^[ \t]*+(?:export[ \t]++)?([A-Za-z_]\w*+)=("(?:\\.|[^"\\])*+"|[^\s;&|'"]++)[ \t]*+(?:;[ \t]*+)?$""")


def _shell_carrying(text: str) -> dict[str, str]:
    """The variables a script assigns a secret under another name, each with its value, as `_carrying`."""
    if "=" not in text:
        return {}
    # A value over several lines is one word where it is expanded, not lines of commands.
    return {found.group(1): found.group(2).strip('"').replace("\n", " ") for found in SHELL_ASSIGNMENT.finditer(text)
            if not is_secret_name(found.group(1)) and secret_references(found.group(2))}


# An assignment anywhere on a line (`then export FLAGS="--secret id=TOKEN"; else export FLAGS=""; fi`),
# with the value it gives when that value expands nothing.
ANY_ASSIGNMENT = re.compile(r"""(?m)(?:^|[;&|(]|\b(?:then|else|do))[ \t]*(?:export[ \t]+)?([A-Za-z_]\w*)=("[^"]*"|'[^']*'|[^\s;&|)'"]*)""")


def _literal_assignments(texts: Iterator[str]) -> set[str]:
    """The names a script gives only fixed text (a flag, an empty string): they hold no stored secret,
    whatever they are called. One assignment of anything expanded (`$(vault read ...)`) keeps the name."""
    fixed: dict[str, bool] = {}
    for text in texts:
        for name, value in ANY_ASSIGNMENT.findall(text) if "=" in text else ():
            fixed[name] = fixed.get(name, True) and (value.startswith("'") or not re.search(r"[$`]", value))
    return {name for name, only_fixed in fixed.items() if only_fixed}


def gitlab_secret_in_arguments(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for job in pipeline.jobs:
        literals: set[str] | None = None  # read once, for the first line that may hold a secret
        carrying: dict[str, str] | None = None
        assigned: dict[str, str] = {}  # by the job's script, for the lines after
        for text, holder, index in _script_lines(job):
            carrying = _carrying(pipeline, job) if carrying is None else carrying
            assigned |= _shell_carrying(text)
            text, brought = _with_carried(text, {**carrying, **assigned})
            if not MAY_HOLD.search(text):
                continue
            if literals is None:
                literals = _literals(pipeline, job) | _literal_assignments(text for text, _, _ in _script_lines(job))
            after = 0  # each command of a `|` block is reported on the line that names its secret
            for lines in _quoted_commands(_commands(without_stdin(text))):
                problems, names = command_line_secrets(joined("\n".join(lines)), literals, text)
                if problems:
                    start = _command_start(job, holder, index, lines[0], after)
                    where = _located_within(job, holder, index, names[0].rsplit(".", 1)[-1], start)
                    through = ""
                    if names[0] in brought:
                        # Carried by a variable: reported where the variable takes the secret, once for its jobs.
                        through = f" (through ${brought[names[0]]}, which a command expands)"
                        # On the line of a multi-line value that names the secret; a script's own
                        # variable where the command expands it.
                        where = (_located_within(job, holder, index, brought[names[0]], start) if brought[names[0]] in assigned
                                 else _located_within(job, *_variable_written(job, None, brought[names[0]], (holder, index)), names[0]))
                    after = where[1] + 1
                    yield rule.finding(pipeline, where, f"{job.name}: {_message(problems)}{through}", level=_level(names), job=None if job.hidden else job.name)
                    # A command over several lines is reported again on each other line naming a secret
                    # (`sed -e "s/<A>/$A_PASSWORD/" \ -e "s/<B>/$B_TOKEN/"`): each is a secret to move.
                    reported = {where}
                    for name in dict.fromkeys(names[1:]):
                        # A secret a script's own variable brings in is placed where the command expands it.
                        carrier = brought.get(name) if brought.get(name) in assigned else None
                        other = _located_within(job, holder, index, carrier or name.rsplit(".", 1)[-1], start)
                        if other not in reported and len(lines) > 1:
                            reported.add(other)
                            after = max(after, other[1] + 1)
                            yield rule.finding(
                                pipeline, other,
                                f"{job.name}: {show(name)} is passed in a command's arguments, where the process list shows it; pass it through the environment or a file",
                                level=_level([name]), job=None if job.hidden else job.name,
                            )


# --- GitHub -----------------------------------------------------------------------------------


def _env(holder: dict[str, Any]) -> dict[str, str]:
    env = holder.get("env")
    return {str(key): str(value) for key, value in env.items()} if isinstance(env, dict) else {}


STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")


def _through_outputs(text: str, steps: dict[str, dict[str, Any]]) -> str:
    """text with each step output that a run step writes a secret into (`echo "args=NPM_TOKEN=${{
    secrets.npm-token }}" >> $GITHUB_OUTPUT`) replaced by the value that carries the secret: whoever
    reads the output is given the secret."""
    def carried(found: re.Match[str]) -> str:
        step = steps.get(found.group(1))
        values = _run_output(step, found.group(2)) if step else None
        return next((value for value in values or [] if secret_references(value)), found.group(0))

    return STEP_OUTPUT.sub(carried, text) if "steps." in text else text


def _carried_secrets(env: dict[str, str], named_too: bool = False) -> dict[str, str]:
    """The env names the workflow fills from a secret without saying so (`KEY: ${{ secrets.CYPRESS_KEY }}`),
    each with the secret it holds: whatever it is called, it is that secret. A secret holding a user
    name is none; a secret-named variable is read by its name already (an action's input is not: named_too)."""
    carried = {}
    for key, value in env.items():
        found = [name for name in secret_references(value) if name.startswith("secrets.")]
        if found and (named_too or not is_secret_name(key)):
            carried[key] = found[0]
    return carried


# `$NAME`, `${NAME}`, and a composite action's `${{ inputs.name }}`, which its caller may fill from a secret.
SHELL_REFERENCE = re.compile(r"\$\{\{\s*(inputs\.[\w-]+)\s*\}\}|\$\{?([A-Za-z_]\w*)\}?")


def _as_secrets(command: str, carried: dict[str, str]) -> str:
    """The command with each carried variable written as the secret it holds, so the checks see it."""
    if not carried:
        return command
    def written(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        return show(carried[name]) if name in carried else found.group(0)

    return SHELL_REFERENCE.sub(written, command)


def _run_secrets(pipeline: PipelineFile, rule: Rule, name: str, file: str, step: dict[str, Any], env: dict[str, str],
                 steps: dict[str, dict[str, Any]], given: dict[str, Any]) -> Iterator[Finding]:
    """Each command of a run: script that passes a secret in its arguments, found on the line naming it.
    given: the inputs a composite action's caller passes it; one filled from a secret is that secret."""
    script = str(step["run"])
    literals = {key for key, value in env.items() if "${{" not in value}
    carried = _carried_secrets(env) | {f"inputs.{key}": secret for key, secret in _carried_secrets(
        {str(key): str(value) for key, value in given.items()}, named_too=True).items()}
    # A variable the script assigns a secret to (`ARGS="--build-arg T=${{ secrets.NPM_TOKEN }}"`) carries it.
    carried |= {variable: secret_references(value)[0] for variable, value in _shell_carrying(script).items()}
    holders = {secret: variable for variable, secret in carried.items()}
    after = 0
    for _, lines in _commands(without_stdin(script)):
        command = "\n".join(lines)
        problems, names = command_line_secrets(joined(_as_secrets(_through_outputs(command, steps), carried)), literals, script)
        if problems:
            start = line_within(step, "run", lines[0].strip(), file, after)
            first = holders.get(names[0], names[0])
            needle = next((word for word in (first.rsplit(".", 1)[-1], "steps.") if word in command), "")
            where = line_within(step, "run", needle, file, start) if needle else start
            after = where + 1
            message = _message(problems)
            for secret, variable in holders.items():
                written = f"${{{{ {variable} }}}}" if variable.startswith("inputs.") else f"${variable}"
                message = message.replace(show(secret), f"{written} (set from {show(secret)})")
            yield rule.finding(pipeline, (file, where), f"{name}: {message}", level=_level(names), job=name)


def github_secret_in_arguments(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    for name, file, step, holders, steps in job_steps(pipeline):
        ids = {str(s["id"]): s for s in steps if "id" in s}
        env = {key: value for holder in (*holders, step) for key, value in _env(holder).items()}
        if isinstance(step.get("run"), str) and runs_shell(step, *holders):
            given = _inputs(holders[-1]) if len(holders) > 2 else {}  # (workflow, job, the step using this action)
            yield from _run_secrets(pipeline, rule, name, file, step, env, ids, given)
        inputs: Any = step.get("with") if isinstance(step.get("with"), dict) else {}
        build_args = _text(inputs.get("build-args"))
        for entry in re.split(r"[\n,]", _through_outputs(build_args, ids)) if "build-push-action" in str(step.get("uses", "")) else []:
            arg, _, value = entry.strip().strip("\"'").partition("=")
            # An input is no shell: only a ${{ }} expression puts a value in it, never $NAME.
            expressions = [name for name in secret_references(value) if "." in name]
            found = expressions or ([arg] if is_secret_name(arg) and "${{" in value else [])
            if found:
                through = "" if found[0] in build_args else ", given it through a step's output"
                yield rule.finding(
                    pipeline, (file, line_of(inputs, "build-args")),
                    f"{name}: build-args {arg} keeps {show(found[0])} in the image's history{through}; pass it with the "
                    "secrets: input instead",
                    level=_level(found),
                )
                break


# --- Jenkins ----------------------------------------------------------------------------------


def _shell_of(command: str) -> str:
    """The shell text of a Groovy step (`sh 'x'`, `sh(script: "x")`) without the quotes around it:
    a closing quote left on the last word would hide `--authkey=$KEY'` from the flag reading. In a
    double-quoted Groovy string `\\$X` is the shell's `$X`."""
    step = GROOVY_STEP.match(command)
    if not step:
        return command
    quote = step.group(3)
    body = command[step.end():]
    closing = re.search(rf"{re.escape(quote)}\s*\)?\s*(?://.*)?$", body)
    body = body[: closing.start()] if closing else body
    return body.replace("\\$", "$") if quote.startswith('"') else body


# Steps the controller runs in Java, and credential bindings, whose arguments name a credential's id.
CONTROLLER_STEP = re.compile(
    r"\s*(?:\w+\s*=\s*)?(?:httpRequest|readJSON|writeJSON|readYaml|writeYaml|writeFile|readFile|withEnv"
    r"|(?:string|file|usernamePassword|usernameColonPassword|sshUserPrivateKey|certificate)\s*\(\s*credentialsId)\b"
)
BINDING = re.compile(r"\s*withCredentials\s*\(")


def _past_binding(command: str) -> str:
    """The command without a withCredentials binding's own arguments, which name credential ids: a
    step written in its braces on the same line (`withCredentials([...]) { sh "..." }`) is read."""
    found = BINDING.match(command)
    if not found:
        return command
    depth, index = 1, found.end()
    while index < len(command) and depth:
        depth += {"(": 1, ")": -1}.get(command[index], 0)
        index += 1
    rest = command[index:].strip().removeprefix("{").strip()
    return rest.removesuffix("}").rstrip() if rest.count("}") > rest.count("{") else rest


# A Groovy variable made from a random or clock value (`def runToken = UUID.randomUUID()...`) names a
# run, a network or a container: no credential, whatever it is called.
RANDOM_ASSIGNMENT = re.compile(
    r"\b([A-Za-z_]\w*)\s*=\s*(?:(?:java\.util\.)?UUID\.randomUUID\s*\(|new\s+(?:java\.util\.)?Random\b|Math\.random\s*\(|System\.(?:currentTimeMillis|nanoTime)\s*\()"
)


def _line_naming(lines: list[str], name: str) -> int:
    return next((offset for offset, line in enumerate(lines) if re.search(rf"\b{re.escape(name.removeprefix('env.'))}\b", line)), 0)


def jenkins_secret_in_arguments(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    bound = bound_secrets(pipeline.text) - bound_places(pipeline.text)
    # A file binding (`keyFileVariable: 'SSH_KEY'`) holds a path, whatever its name says.
    paths = bound_paths(pipeline.text) - bound
    literals = set(FIXED_TEXT.findall(pipeline.text)) | bound_usernames(pipeline.text) | set(RANDOM_ASSIGNMENT.findall(pipeline.text)) | paths
    groovy = read_groovy(pipeline.text) if "/*" in pipeline.text or bound else None
    starts = [0, *(found.end() for found in re.finditer(r"\n", pipeline.text))]
    # The lines a shell step's string covers: there a bound name is a secret whatever it is called;
    # elsewhere (`def host = "${env.ACCOUNT_ID}..."`, `webhookURL: "${HOOK}"`) Groovy reads it, JK003's.
    in_steps = {
        line for literal in (_step_literals(groovy) if groovy and bound else ())
        for line in range(groovy.line(literal.body), groovy.line(literal.stop) + 1)
    }
    assigned = _shell_carrying(pipeline.text)
    for first, lines in _commands(without_stdin(pipeline.text)):
        command = _past_binding(joined("\n".join(lines)))
        if not command.strip() or command.lstrip().startswith(("//", "#", "*", "/*")) or CONTROLLER_STEP.match(command):
            continue
        # Inside a block comment (`/* ... */` around stages no longer run) nothing runs.
        if groovy and first - 1 < len(starts) and groovy.in_comment(starts[first - 1] + len(lines[0]) - len(lines[0].lstrip())):
            continue
        shell, brought = _with_carried(_shell_of(command), assigned)
        problems, names = command_line_secrets(shell, literals, known=bound if MAY_HOLD.search(shell) or first in in_steps else set())
        if not problems:
            continue
        # A command over several lines is reported on each line that names a secret: two build args
        # on two lines are two secrets to move. A secret a script's variable brings in is placed
        # where the command expands the variable, and named with it.
        by_line: dict[int, list[str]] = {}
        for problem in problems:
            shown = next((name for name in names if show(name) in problem), names[0])
            if shown in brought:
                problem = problem.replace(show(shown), f"{show(shown)} (through ${brought[shown]})", 1)
            by_line.setdefault(_line_naming(lines, brought.get(shown, shown)), []).append(problem)
        # A secret no problem names (`--set a=$X \ --set b=$Y`: the first names the problem) on a line of its own.
        for name in dict.fromkeys(names) if len(lines) > 1 else ():
            line = _line_naming(lines, brought.get(name, name))
            if line not in by_line:
                by_line[line] = [f"{show(name)} is passed in a command's arguments, where the process list shows it; pass it through the environment or a file"]
        for offset, found in sorted(by_line.items()):
            yield rule.finding(pipeline, first + offset, _message(found), level=_level(names))


# --- Compose ----------------------------------------------------------------------------------


def _compose_commands(service: dict[str, Any]) -> Iterator[tuple[Any, Any, str]]:
    """(holder, key, shell text) of what a service runs: its command, entrypoint and health check. An
    exec-form list is one command; `CMD`/`CMD-SHELL` only say how the check runs."""
    healthcheck = service.get("healthcheck")
    places = [(service, "command"), (service, "entrypoint")]
    places += [(healthcheck, "test")] if isinstance(healthcheck, dict) else []
    for holder, key in places:
        value = holder.get(key)
        if isinstance(value, list):
            words = [str(word) for word in value if str(word) not in ("CMD", "CMD-SHELL", "NONE")]
            yield holder, key, " ".join(words)
        elif isinstance(value, str):
            yield holder, key, value


def _compose_literals(service: dict[str, Any]) -> set[str]:
    # A password the file writes out (a throwaway test database's) is public already.
    return {name for name, value in _environment(service).items() if "$" not in value}


def compose_secret_in_arguments(pipeline: PipelineFile, rule: Rule) -> Iterator[Finding]:
    """Compose fills `${TOKEN}` into a command before the container starts, so the secret is in the
    container's config (`docker inspect`) and its process list; a secret-named build arg stays in the
    image's history."""
    for name, service in _services(pipeline):
        literals = _compose_literals(service)
        for holder, key, text in _compose_commands(service):
            problems, names = command_line_secrets(text.replace("$$", "$"), literals)
            if problems:
                secret = re.sub(r"^env\.", "", names[0])
                yield rule.finding(pipeline, line_within(holder, key, secret, pipeline.path), f"{name}: {_message(problems)}", level=_level(names))
        build = service.get("build")
        args = build.get("args") if isinstance(build, dict) else None
        items = args.items() if isinstance(args, dict) else (str(item).partition("=")[::2] for item in args) if isinstance(args, list) else ()
        for arg, value in items:
            if _secret_parameter(str(arg)) and "$" in str(value):
                where = line_of(args, arg) if isinstance(args, dict) else line_within(build, "args", str(arg), pipeline.path)
                yield rule.finding(
                    pipeline, where,
                    f"{name}: the build arg {arg} takes a secret, and build args stay in the image's history; "
                    "pass it as a build secret (build: secrets:) instead",
                )


GITLAB_SECRET_RULES = [
    Rule("GL022", "registry-login-on-unprotected-ref", "Registry credentials are used only by jobs limited to protected refs.", registry_login_on_unprotected_ref, "warning"),
    Rule("GL024", "secret-in-command-arguments", "No secret in a command's arguments: -e NAME=$SECRET, a URL, curl -u/-d, --build-arg.", gitlab_secret_in_arguments),
]
GITHUB_SECRET_RULES = [
    Rule("GH024", "github-secret-in-command-arguments", "No secret in a command's arguments or in build-args.", github_secret_in_arguments),
]
JENKINS_SECRET_RULES = [
    Rule("JK024", "jenkins-secret-in-command-arguments", "No secret in a command's arguments: -e NAME=$SECRET, a URL, curl -u/-d, --build-arg.", jenkins_secret_in_arguments),
]
COMPOSE_SECRET_RULES = [
    Rule("JK124", "compose-secret-in-command-arguments", "No secret in a service's command, entrypoint, health check or build args.", compose_secret_in_arguments),
]
