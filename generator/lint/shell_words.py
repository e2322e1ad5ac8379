"""What the trust rules read in any dialect's shell lines: simple commands, secret-looking names,
and which GitLab refs a job's rules let it run on."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from generator.lint import findings
from generator.lint.document import Job, PipelineFile

# Name parts that make a variable a credential, and the parts that say it only describes one.
# PSW: the password half Jenkins' credentials() binds (NAME_PSW).
SECRET_PARTS = {"PASSWORD", "PASSWD", "PASS", "PW", "PSW", "TOKEN", "SECRET", "PAT", "APIKEY", "CREDENTIALS"}
KEY_OWNERS = {"API", "ACCESS", "PRIVATE", "SECRET", "SIGNING", "SSH", "AUTH", "ENCRYPTION"}
DESCRIBING = {"PATH", "FILE", "URL", "NAME", "ID", "TYPE", "HEADER", "VAR", "ENV", "LENGTH", "DIR", "USER", "USERNAME", "HOST", "ENDPOINT", "KIND", "SCOPE", "EXPIRY", "FINGERPRINT"}
# Tokens the platform makes for one job and revokes when it ends: a leak of them is milder.
JOB_TOKENS = {"CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPENDENCY_PROXY_PASSWORD", "github.token", "secrets.GITHUB_TOKEN"}
# Secret contexts hold usernames and hosts too: those are not secrets. A URL kept there is one
# (a webhook, a DSN, a connection string) unless it names a registry, host or server.
NOT_SECRET_PARTS = {
    "USER", "USERNAME", "LOGIN", "ID", "EMAIL", "HOST", "REGISTRY", "ORG", "NAME", "ACCOUNT", "REGION", "PROJECT", "SERVER",
    "PORT", "IP", "DOMAIN", "DIR", "DIRECTORY", "PATH",
}
# A credential written as one word: AUTHKEY, APITOKEN, DBPASSWORD, CLIENTSECRET. A KEY needs an
# owner before it, so MONKEY and HOTKEY stay plain words.
ONE_WORD_SECRET = re.compile(r"[A-Z0-9]+(?:TOKEN|PASSWORD|PASSWD|SECRET)|(?:" + "|".join(sorted(KEY_OWNERS)) + r")KEY")


def is_secret_part(part: str) -> bool:
    return part in SECRET_PARTS or bool(ONE_WORD_SECRET.fullmatch(part))

# $NAME, ${NAME}, ${{ secrets.NAME }}, ${{ env.NAME }}, ${{ github.token }}, ${env.NAME}, %NAME%, $env:NAME;
# a reusable workflow's secrets may have hyphens in their names (secrets.npm-token).
REFERENCE = re.compile(
    r"\$\{\{\s*(?P<expression>(?:secrets|env)\.[\w-]+|secrets\[[^\]\n]+\]|github\.token)\s*\}\}"
    r"|\$\{?(?:env[.:])?(?P<variable>[A-Za-z_]\w*)\}?"
    r"|%(?P<batch>[A-Za-z_]\w*)%"
)


AWS_KEY_ID = re.compile(r"(?:^|[._])AWS_ACCESS_KEY(?:_ID)?$", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    if name.startswith("secrets["):
        return True  # a secret picked by a computed name (`secrets[matrix.key_name]`)
    if name.startswith("secrets."):
        parts = re.split(r"[_-]", name[len("secrets."):].upper())
        return not (set(parts) & NOT_SECRET_PARTS) or bool(set(parts) & SECRET_PARTS) and parts[-1] not in DESCRIBING
    if name == "github.token":
        return True
    # AWS's access key is the key's ID, printed beside every request; its secret is the SECRET one.
    if AWS_KEY_ID.search(name):
        return False
    # camelCase parts as words too: a Groovy `encodedPass` is a password as ENCODED_PASS is.
    parts = re.split(r"[_-]", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.removeprefix("env.")).upper())
    if parts[-1] in DESCRIBING:
        return False
    if parts[-1] == "KEY":
        return len(parts) > 1 and parts[-2] in KEY_OWNERS
    # A qualifier after the credential keeps it one: PYPI_API_KEY_ACTUAL, NPM_TOKEN_PROD. PWD alone is
    # the shell's working directory; DOCKERHUB_PWD is a password.
    return any(
        is_secret_part(part) or part == "KEY" and index and parts[index - 1] in KEY_OWNERS or part == "PWD" and index
        for index, part in enumerate(parts)
    )


GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
GITHUB_SECRET = re.compile(r"\bsecrets\.[\w-]+|\bgithub\.token\b")


def one_word_expressions(text: str) -> str:
    """The text with each `${{ }}` as one shell word: the runner puts the expression's value in the
    script before any shell reads it, so its `&&`, `||` and spaces never split a command. A plain name
    stays readable (`${{secrets.X}}`); anything else becomes a placeholder naming the first secret it
    reads, if any."""
    def word(found: re.Match[str]) -> str:
        expression = found.group(1)
        if re.fullmatch(r"[\w.-]+|secrets\[[^\]]+\]", expression):
            return "${{" + expression + "}}"
        secret = GITHUB_SECRET.search(expression)
        return "${{" + (secret.group(0) if secret else "expression") + "}}"

    return GITHUB_EXPRESSION.sub(word, text)


def secret_references(text: str) -> list[str]:
    """The secret-looking names a piece of shell text expands."""
    names = []
    for found in REFERENCE.finditer(text):
        name = found.group("expression") or found.group("variable") or found.group("batch")
        if name and is_secret_name(name):
            names.append(name)
    return names


# `<<WORD`, `<<-'WORD'`, `<< "WORD"`; never `<<<` (a here-string) nor `1 << 2`.
HEREDOC = re.compile(r"(?<!<)<<-?\s*(['\"]?)([A-Za-z_][\w.-]*)\1")
HERE_STRING = re.compile(r"<<<\s*(?:\"[^\"]*\"|'[^']*'|\S+)")


def without_stdin(text: str) -> str:
    """The text with what the shell feeds a command on stdin blanked out: a heredoc's body (each of
    its lines kept, empty, so line numbers hold) and a here-string. A `<<WORD` with no line WORD
    after it is no heredoc (Groovy's `list << item`) and is left alone."""
    if "<<" not in text:
        return text
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        lines[number] = HERE_STRING.sub("<<< ''", lines[number])
        for word in [found.group(2) for found in HEREDOC.finditer(lines[number])]:
            end = next((later for later in range(number + 1, len(lines)) if lines[later].strip() == word), None)
            if end is not None:
                lines[number + 1:end] = [""] * (end - number - 1)
                number = end
        number += 1
    return "\n".join(lines)


def simple_commands(text: str) -> Iterator[tuple[str, str]]:
    """(program without its directory, the command's own text) for each simple command of a shell line."""
    for program, part in findings.simple_commands(text):
        yield program.rsplit("/", 1)[-1], part


# --- what echo prints ------------------------------------------------------------------------------

# An echo or printf (the shell's, or Jenkins's echo step) at the start of a command, also right
# after the quote that opens a step's script: what it prints is a message, not a command it runs.
ECHO = re.compile(r"""(?:^|(?<=[;&|(`\n'"])|(?<=\bthen\s)|(?<=\belse\s)|(?<=\bdo\s))[ \t]*(?:echo|printf)(?:\s+-[neE]+)*(?=[\s('"])""")
# Printed text piped to a shell runs after all.
PIPED_TO_SHELL = re.compile(r"\|\s*(?:sudo\s+)?(?:sh|bash|zsh|dash|eval)\b")


# What echo prints: words up to an unquoted separator, a quoted string whole, and one left open
# (the closing quote of the Groovy string that holds the script) to the end of the line.
ECHOED = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^;&|\n)`'"\\]|['"][^\n]*)*""")


def _open_quote(text: str, start: int, end: int) -> str:
    """The quote left open between start and end: the string an echo is written inside."""
    quote, index = "", start
    while index < end:
        char = text[index]
        if char == "\\" and quote != "'":
            index += 1
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        index += 1
    return quote


def without_echoes(text: str) -> str:
    """The text with what echo and printf print blanked out (lengths and newlines kept), up to the
    separator that ends their command outside quotes: `echo docker login -p x` logs in nowhere. An
    echo inside a quoted string (`ssh host "hostname && echo hi" "docker login ..."`) prints no
    further than that string's end."""
    if "echo" not in text and "printf" not in text:
        return text
    out = list(text)
    for found in ECHO.finditer(text):
        quote = _open_quote(text, text.rfind("\n", 0, found.start()) + 1, found.start())
        closing = re.compile(rf"(?:\\.|[^{quote}\\])*").match(text, found.end()).end() if quote else len(text)
        printed = ECHOED.match(text, found.end(), closing)
        if printed and not PIPED_TO_SHELL.match(text, printed.end()):
            out[printed.start():printed.end()] = re.sub(r"[^\n]", " ", printed.group(0))
    return "".join(out)


# --- the `if` a command runs under ----------------------------------------------------------------

def _shell_segments(script: str) -> Iterator[str]:
    """The script cut at newlines and `;` outside quotes: each piece a command or a keyword with its
    command (`then docker push x`)."""
    start, quote, index = 0, "", 0
    while index < len(script):
        char = script[index]
        if quote:
            quote = "" if char == quote else quote
        elif char == "\\":
            index += 1
        elif char in "\"'":
            quote = char
        elif char in ";\n":
            yield script[start:index]
            start = index + 1
        index += 1
    yield script[start:]


# What a script needs before any of its commands can run under a test.
SHELL_TEST = re.compile(r"\bif\b|&&")
SHELL_KEYWORD = re.compile(r"(if|elif|then|else|fi|do|done)(?:\s+|$)")
# `[ "$CI_COMMIT_BRANCH" = main ] && docker push x`: a test guarding the command after it.
TEST_AND = re.compile(r"^(\[\[?\s.*?\s\]\]?|test\s[^&|]*?)\s*&&\s*(.+)$")


def guarded_commands(script: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each command of a shell script with the `if` tests it runs under (`if [ ... ]; then`, and a
    test joined by `&&`). A command in an `else` branch runs when its test failed, which names no
    ref: that test is left out, not negated. A script with no `if` and no `&&` runs as one command
    under no test, and is not cut up."""
    if not SHELL_TEST.search(script):
        yield script, ()
        return
    stack: list[list[Any]] = []  # [test, in else]
    for segment in _shell_segments(script):
        words = segment.strip()
        while words:
            keyword = SHELL_KEYWORD.match(words)
            if keyword is None:
                break
            word, words = keyword.group(1), words[keyword.end():]
            if word == "if":
                stack.append([words, False])
                words = ""
            elif word == "elif" and stack:
                stack[-1] = [words, False]
                words = ""
            elif word == "else" and stack:
                stack[-1][1] = True
            elif word == "fi" and stack:
                stack.pop()
        if not words:
            continue
        tests = tuple(test for test, in_else in stack if not in_else)
        guarded = TEST_AND.match(words)
        yield (guarded.group(2), (*tests, guarded.group(1))) if guarded else (words, tests)


def shell_test_as_rule(test: str) -> str:
    """A shell test of GitLab's ref variables written as a rules `if:` says it, so one reading judges
    both: `[ "$CI_COMMIT_BRANCH" = main ]` is `$CI_COMMIT_BRANCH == "main"`, `[ -n "$CI_COMMIT_TAG" ]`
    is `$CI_COMMIT_TAG`. A negation or `-z` names no ref and reads as a test of nothing."""
    if re.search(r"(^|\s)(!|-z)\s", test):
        return "false"
    text = re.sub(r"\[\[|\]\]|(?<!\S)[\[\]](?!\S)|^\s*test\s", " ", test)
    text = re.sub(r"[\"']?\$\{?(\w+)\}?[\"']?", r"$\1", text)
    text = re.sub(r"(?<![=!<>])=(?!=)", "==", text)
    text = re.sub(r"-n\s+", "", text)
    text = re.sub(r"==\s*([\w./-]+)", r'== "\1"', text)
    return re.sub(r"\s+", " ", text).strip()


# --- GitLab: which refs a job's rules let it run on ---------------------------------------

TRUSTED_TERM = re.compile(
    r"^\$CI_COMMIT_TAG$|^\$CI_COMMIT_TAG\s*(=~|==\s*[\"'][^\"']+)"
    r"|^\$CI_COMMIT_REF_PROTECTED\s*==\s*[\"']true[\"']$"
    r"|^\$CI_COMMIT_(BRANCH|REF_NAME|REF_SLUG)\s*(==|=~)"
    r"|^\$CI_DEFAULT_BRANCH\s*==\s*\$CI_COMMIT_(BRANCH|REF_NAME)$"
)
MERGE_REQUEST = re.compile(r"\$CI_PIPELINE_SOURCE\s*(==|=~)\s*[\"'/]?merge_request_event|\$CI_MERGE_REQUEST_I?ID\b(?!\s*==\s*null)")


def _split_top(condition: str, operator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(condition):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and condition.startswith(operator, index):
            parts.append(condition[start:index])
            start = index + len(operator)
    return [part.strip() for part in [*parts, condition[start:]]]


def _closing(text: str) -> int:
    """Where the parenthesis that text starts with closes (-1: nowhere)."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1


def _unwrap(condition: str) -> str:
    """The condition without parentheses that wrap all of it."""
    condition = condition.strip()
    while condition.startswith("(") and _closing(condition) == len(condition) - 1:
        condition = condition[1:-1].strip()
    return condition


def limited_to_trusted_refs(condition: str) -> bool:
    """Whether an `if:` holds only on tags, protected refs, the default branch or a named branch:
    every `||` alternative has such a test among its `&&` terms."""
    alternatives = _split_top(_unwrap(condition), "||")
    return all(
        any(TRUSTED_TERM.search(term) or (term.startswith("(") and limited_to_trusted_refs(term)) for term in map(_unwrap, _split_top(alternative, "&&")))
        for alternative in alternatives
    )


def refs_listed(value: Any) -> list[Any]:
    """The refs an `only:` or `except:` names, as a list or under `refs:`."""
    refs = value.get("refs") if isinstance(value, dict) else value
    return [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []


def tags_only(only: Any, excepted: Any) -> bool:
    """`except: [branches]` leaves a job only tags (whatever patterns `only:` names), unless `only:`
    also asks for merge requests or other pipeline sources that are not refs."""
    listed = [ref for ref in refs_listed(only) if isinstance(ref, str)]
    return "branches" in refs_listed(excepted) and not {"merge_requests", "external_pull_requests", "triggers", "api", "pipelines"} & set(listed)


def _only_refs(job: Job) -> list[str]:
    return [str(ref) for ref in refs_listed(job.merged.get("only"))]


# A `when: never` rule on this test leaves only protected refs or the default branch to the rules after it.
EXCLUDES_UNTRUSTED = re.compile(
    r"^(\$CI_COMMIT_REF_PROTECTED\s*(!=\s*[\"']true|==\s*[\"']false)[\"']"
    r"|\$CI_COMMIT_(BRANCH|REF_NAME)\s*!=\s*\$CI_DEFAULT_BRANCH|\$CI_DEFAULT_BRANCH\s*!=\s*\$CI_COMMIT_(BRANCH|REF_NAME))$"
)


def rules_limited_to_trusted_refs(rules: Any) -> bool:
    if not isinstance(rules, list) or not rules:
        return False
    for entry in rules:
        if not isinstance(entry, dict):
            return False
        condition = _unwrap(str(entry.get("if", "")))
        if entry.get("when") == "never":
            if any(EXCLUDES_UNTRUSTED.match(_unwrap(part)) for part in _split_top(condition, "||")):
                return True
            continue
        if not limited_to_trusted_refs(condition):
            return False
    return True


def runs_on_trusted_refs_only(pipeline: PipelineFile, job: Job) -> bool:
    workflow = pipeline.root.get("workflow")
    if isinstance(workflow, dict) and rules_limited_to_trusted_refs(workflow.get("rules")):
        return True
    if rules_limited_to_trusted_refs(pipeline.include_rules.get(job.file)):
        return True
    if any(kind == "rules" and rules_limited_to_trusted_refs(value) for kind, value in pipeline.parent_limits):
        return True
    rules = job.merged.get("rules")
    if isinstance(rules, list) and rules:
        return rules_limited_to_trusted_refs(rules)
    refs = _only_refs(job)
    # A pattern (`/^.+\..+\..+$/`) matches branch names too, as GL007 reads it, unless `except:
    # [branches]` leaves only tags.
    patterns = any(ref.startswith("/") for ref in refs)
    return (
        bool(refs) and not {"branches", "merge_requests", "external_pull_requests", "pushes"} & set(refs)
        and (not patterns or tags_only(job.merged.get("only"), job.merged.get("except")))
    )


# A condition every branch meets: `$CI_COMMIT_BRANCH` (set on any branch pipeline), a push event.
# Any branch, or every branch but some (`$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH`): unprotected ones too.
ANY_BRANCH = re.compile(r"""\$\{?CI_COMMIT_(BRANCH|REF_NAME)\}?(?:\s*(?:!=|!~)\s*(?:"[^"]*"|'[^']*'|/[^/]*/\w*|\$\{?\w+\}?))?|\$CI_PIPELINE_SOURCE\s*==\s*["']push["']""")


def can_run_for_merge_requests(job: Job) -> bool:
    """A merge request or an unprotected branch can run the job: no rules at all, a rule that names
    merge requests, or a rule with no condition reached before one that excludes them."""
    rules = job.merged.get("rules")
    if rules is None and job.merged.get("only") is None and job.merged.get("except") is None:
        return True
    if isinstance(rules, list):
        for entry in rules:
            if not isinstance(entry, dict):
                return False
            condition = str(entry.get("if", ""))
            if not condition or MERGE_REQUEST.search(condition) or ANY_BRANCH.fullmatch(condition.strip()):
                return entry.get("when") != "never"
        return False
    return bool({"merge_requests", "branches", "pushes"} & set(_only_refs(job)))


def merge_requests_only(job: Job) -> bool:
    rules = job.merged.get("rules")
    if isinstance(rules, list) and rules:
        entries = [entry for entry in rules if not (isinstance(entry, dict) and entry.get("when") == "never")]
        return bool(entries) and all(isinstance(entry, dict) and MERGE_REQUEST.search(str(entry.get("if", ""))) for entry in entries)
    return _only_refs(job) == ["merge_requests"]


# Shell functions a script defines and calls (`push() { docker push "$1"; }` ... `push app`): a
# definition runs nothing, a call runs its body with the call's words as $1, $2, ...
FUNCTION = re.compile(r"(?:^|(?<=[\s;&|(){]))(?:function\s+([A-Za-z_][\w-]*)\s*(?:\(\s*\))?|([A-Za-z_][\w-]*)\s*\(\s*\))\s*\{")
MAX_CALLED_LINES = 500  # body lines one script entry's calls may add: a bound on what nested calls make the lint read
MAX_FUNCTION_DEPTH = 10  # a function calling itself, or a chain deeper than any script writes, is not followed further
_POSITIONAL = re.compile(r"\$\{?([1-9@*])\}?")
_LOCAL = re.compile(r"^\s*(?:local|declare|typeset|readonly)\s+(.*)$")
_LOCAL_ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=(\"[^\"]*\"|'[^']*'|\S*)")
_WORD = re.compile(r"""(?:\$\([^()\n]*\)|"[^"\n]*"|'[^'\n]*'|[^\s;&|])+""")


def _closing_brace(text: str, start: int) -> int | None:
    """The index of the `}` that closes a body opened just before `start`: quotes and ${...} skipped."""
    depth, parameters, index, quote = 1, 0, start, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "\\":
            index += 1
        elif text.startswith("${", index):
            parameters += 1
            index += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            if parameters:
                parameters -= 1
            else:
                depth -= 1
                if depth == 0:
                    return index
        index += 1
    return None


def function_definitions(text: str, keep: frozenset[str] = frozenset()) -> tuple[str, dict[str, str]]:
    """The text with each function definition's body taken out (`name() { :; }` stays, so a call of
    it still reads as the shell's own), and each function's body by name. The bodies of the
    functions named in `keep` stay where they are written."""
    bodies: dict[str, str] = {}
    kept, position = [], 0
    while found := FUNCTION.search(text, position):
        end = _closing_brace(text, found.end())
        if end is None:
            break
        name = found.group(1) or found.group(2)
        bodies[name] = text[found.end():end]
        kept.append(text[position:end + 1] if name in keep else text[position:found.end()] + " :; }")
        position = end + 1
    kept.append(text[position:])
    return "".join(kept), bodies


@functools.lru_cache(maxsize=256)
def _calls(names: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(
        findings.COMMAND_POSITION + rf"({alternatives})(?=[ \t;&|)]|$)((?:\$\([^()\n]*\)|\"[^\"\n]*\"|'[^'\n]*'|[^\n;&|)])*)",
        re.MULTILINE,
    )


def _bound(body: str, arguments: list[str]) -> str:
    """The body with the call's arguments for $1.. and $@, and the locals it sets from them filled in."""
    def positional(found: re.Match) -> str:
        which = found.group(1)
        if which in "@*":
            return " ".join(arguments)
        index = int(which) - 1
        return arguments[index] if index < len(arguments) else found.group(0)

    body = _POSITIONAL.sub(positional, body)
    locals_: dict[str, str] = {}
    for line in body.splitlines():
        declared = _LOCAL.match(line)
        for name, value in _LOCAL_ASSIGNMENT.findall(declared.group(1)) if declared else ():
            locals_[name] = value.strip("\"'")
    if not locals_:
        return body
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda found: locals_.get(found.group(1), found.group(0)), body)


def unfollowed(texts: list[str], bodies: dict[str, str]) -> frozenset[str]:
    """The functions named outside their definitions (in the texts, or in another function's body)
    where no call of them is found: `cmd | fn`, `parallel fn ::: a b`, a wrapper the lint does not
    know. A function named nowhere else is never run."""
    if not bodies:
        return frozenset()
    pattern = _calls(frozenset(bodies))
    alternatives = "|".join(sorted(map(re.escape, bodies), key=len, reverse=True))
    word = re.compile(rf"(?<![\w$-])({alternatives})(?![\w-])")
    places = [(FUNCTION.sub(" ", text), "") for text in texts] + [(body, name) for name, body in bodies.items()]
    calls = {call.group(1) for text, owner in places for call in pattern.finditer(text) if call.group(1) != owner}
    named = {found.group(1) for text, owner in places for found in word.finditer(text) if found.group(1) != owner}
    return frozenset(named - calls)


def called_lines(text: str, bodies: dict[str, str], depth: int = 0, budget: list[int] | None = None) -> Iterator[tuple[str, str, str, str]]:
    """(the function, its body line as written, what that runs, the call as written) for each line
    of each function the text calls, a call inside a body run in its place. budget: the body lines left to read, shared by
    every level, so functions calling each other many times over stay a bounded read."""
    budget = [MAX_CALLED_LINES] if budget is None else budget
    if not bodies or depth >= MAX_FUNCTION_DEPTH:
        return
    for call in _calls(frozenset(bodies)).finditer(text):
        arguments = [word.strip("\"'") for word in _WORD.findall(call.group(2))]
        written = bodies[call.group(1)].splitlines()
        for raw, line in zip(written, _bound(bodies[call.group(1)], arguments).splitlines()):
            if budget[0] <= 0:
                return
            budget[0] -= 1
            if line.strip():
                inner = [run for _, _, run, _ in called_lines(line, bodies, depth + 1, budget)]
                yield call.group(1), raw.strip(), "\n".join([line, *inner]) if inner else line, (call.group(1) + call.group(2)).strip()

