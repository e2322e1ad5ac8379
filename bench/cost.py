"""The pipelines' own cost: jobs, image pulls, scanner runs and lines of every golden output.

    python bench/cost.py                                  # table against bench/cost-0.3.0.json
    python bench/cost.py --baseline OUT --rev COMMIT --release X.Y.Z   # this counter on COMMIT's goldens

The baseline bench/cost-0.3.0.json was written with
`python bench/cost.py --baseline bench/cost-0.3.0.json --rev ecc1f18 --release 0.3.0`
(ecc1f18's goldens are byte-identical to those of the 0.3.0 release commit). Write a new one the
same way at each release; never edit its numbers by hand. A change to how this module counts
must rewrite the baseline from the same commit, so a delta only ever shows a pipeline's change.

Every number is a static count of one file, per pipeline file, not per event: a job that only runs
on tags counts as much as one that runs on every push, and nothing is executed.

jobs
    GitHub: the keys of `jobs:`. GitLab: the top-level keys that are jobs, that is neither hidden
    (`.name`) nor a reserved keyword (stages, variables, workflow, default, include, image,
    services, cache, before_script, after_script). Jenkins: every `stage(` (a stage holding
    nested stages counts too). Compose (jenkins_agent.yml): its services.

pulls
    The images a run pulls, each counted once per job, since a second `docker run` of one image in
    a job finds it in the daemon already. Jenkins stages share one agent and compose services one
    host, so there an image counts once per file. An image is counted where it is named as a
    literal reference, directly or through a variable whose value is one (`$VAR`, `${VAR}`,
    `${{ env.VAR }}`, resolved through shell assignments in the script, then the step's, job's
    and file's variables/env, then Jenkins `environment`). Counted: GitLab `image:` and
    `services:` (also from `default:`); GitHub `container:`, `services:` and `docker://` uses;
    Jenkins `docker.image('…')`, `image '…'` and the pod template's `image:`; compose `image:`
    and the `FROM` lines of `dockerfile_inline`; and `docker run`/`docker pull` in any script.
    Not counted: the image under test (named by run-time values, and built or pushed by the job
    itself), the base images of the project's own Dockerfile, and images that actions pull on
    their own (setup-buildx's BuildKit, setup-qemu's binfmt).

scans
    Runs of trivy or grype against an image: `docker run` of a trivy image with the `image`
    subcommand (the SBOM run too: it reads the whole image as a scan does), of a grype image with
    anything but `version`/`db`, or a direct `trivy image`/`grype` command. Each is counted per
    line that runs it; a shell function that runs a scanner counts at each call, not where it is
    defined.

lines
    The file's lines.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
sys.path.insert(0, str(ROOT))
from tests.gitlab_rules import resolved  # noqa: E402  GitLab's extends, modelled once, as the suite reads jobs
BASELINE = Path(__file__).resolve().parent / "cost-0.3.0.json"
OUTPUTS = ("github.yml", "gitlab.yml", "Jenkinsfile", "jenkins_agent.yml")
GITLAB_RESERVED = frozenset({"stages", "variables", "workflow", "default", "include", "image", "services",
                             "cache", "before_script", "after_script"})
# A docker reference: [registry[:port]/]path[:tag][@digest], and nothing run-time in it.
IMAGE_REFERENCE = re.compile(
    r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
VARIABLE = re.compile(r"^\$(?:(\w+)|\{(\w+)\}|\{\{\s*env\.(\w+)\s*\}\})$")
ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=(\S.*)?$")
FUNCTION = re.compile(r"^(\s*)(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{(.*)$")
SEPARATORS = frozenset({"|", "||", "&&", ";", "&", "(", ")", "{", "}", ";;", "|&"})
# Words that put the next word in command position.
PREFIXES = frozenset({"!", "if", "then", "else", "elif", "do", "while", "until", "exec", "time", "command"})
# docker options that take no value; any other option without `=` takes the next word.
DOCKER_FLAGS = frozenset({"--rm", "-i", "--interactive", "-t", "--tty", "-it", "-ti", "-d", "--detach", "--privileged",
                          "--init", "--read-only", "-P", "--publish-all", "-q", "--quiet", "-a", "--all-tags",
                          "--disable-content-trust", "--tls", "--tlsverify", "-D", "--debug"})
JENKINS_SH = re.compile(r"\bsh\s*\(?\s*(?:script:\s*)?('''|\"\"\")(.*?)\1", re.DOTALL)
JENKINS_IMAGES = (re.compile(r"docker\.image\(\s*['\"]([^'\"]+)['\"]"),
                  re.compile(r"^\s*image\s+['\"]([^'\"]+)['\"]", re.MULTILINE),
                  re.compile(r"^\s*(?:-\s+)?image:\s*['\"]?([^\s'\"#]+)", re.MULTILINE))
DOCKERFILE_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.MULTILINE | re.IGNORECASE)
JENKINS_ENVIRONMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*['\"]([^'\"]*)['\"]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Cost:
    jobs: int
    pulls: int
    scans: int
    lines: int


@dataclass(frozen=True)
class Script:
    """What one shell script runs: the images it pulls and how many scans."""
    images: frozenset[str]
    scans: int


# --- shell scripts ---------------------------------------------------------------------------


def logical_lines(text: str) -> list[str]:
    """The script's commands: continuation lines joined, comment lines dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if not pending and raw.strip().startswith("#"):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote (a quote-escaping trick): plain words still find commands
        return line.split()


def commands(line: str) -> list[list[str]]:
    """The simple commands of one line, each from its command word on."""
    found: list[list[str]] = []
    current: list[str] = []
    for word in words(line):
        if word in SEPARATORS:
            if current:
                found.append(current)
            current = []
            continue
        if not current and (word in PREFIXES or ASSIGNMENT.match(word)):
            continue
        current.append(word)
    if current:
        found.append(current)
    return found


def resolve(word: str, variables: dict[str, str]) -> str | None:
    """The literal image `word` names, through variables; None for anything decided at run time."""
    for _ in range(5):  # a variable may name another variable
        match = VARIABLE.match(word)
        if not match:
            break
        name = next(group for group in match.groups() if group)
        if name not in variables:
            return None
        word = variables[name]
    return word if IMAGE_REFERENCE.match(word) else None


def docker_image(command: list[str]) -> tuple[str, list[str]] | None:
    """(image word, the words after it) of a `docker run`/`docker pull`, else None."""
    if not command or command[0] != "docker":
        return None
    rest = command[1:]
    while rest and rest[0].startswith("-"):  # global options, e.g. --host
        rest = rest[1:] if "=" in rest[0] or rest[0] in DOCKER_FLAGS else rest[2:]
    if rest[:1] == ["container"]:
        rest = rest[1:]
    if rest[:1] not in (["run"], ["pull"], ["create"]):
        return None
    rest = rest[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:] if "=" in rest[0] or rest[0] in DOCKER_FLAGS else rest[2:]
    return (rest[0], rest[1:]) if rest else None


def is_scan(command: list[str], variables: dict[str, str]) -> bool:
    ran = docker_image(command)
    if ran:
        image = resolve(ran[0], variables) or ""
        # The repository's last part names the tool: aquasec/trivy, anchore/grype, a mirror's copy.
        tool, arguments = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0], ran[1]
    else:
        tool, arguments = command[0], command[1:]
    if tool == "trivy":
        return arguments[:1] in (["image"], ["i"])
    if tool == "grype":
        return bool(arguments) and arguments[0] not in ("version", "db", "completion", "config")
    return False


def shell_assignments(lines: list[str]) -> dict[str, str]:
    """`NAME=value` lines of the script, the value unquoted; the last one wins."""
    found: dict[str, str] = {}
    for line in lines:
        match = ASSIGNMENT.match(line.strip())
        if match and match.group(2):
            value = words(match.group(2))
            if len(value) == 1:
                found[match.group(1)] = value[0]
    return found


def split_functions(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(the lines outside functions, each function's body lines)."""
    top: list[str] = []
    functions: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        match = FUNCTION.match(lines[index])
        index += 1
        if not match:
            top.append(lines[index - 1])
            continue
        indent, name, inline = match.groups()
        if inline.rstrip().endswith("}"):  # f() { ...; }
            functions[name] = [inline.rstrip()[:-1]]
            continue
        body = [inline] if inline.strip() else []
        # The closing brace sits at the definition's indentation (braces inside strings do not count).
        while index < len(lines) and lines[index].rstrip() != indent + "}":
            body.append(lines[index])
            index += 1
        index += 1
        functions[name] = body
    return top, functions


def analyse_script(text: str, variables: dict[str, str]) -> Script:
    """Images pulled and scans run by one shell script, given the variables it runs with."""
    lines = logical_lines(text)
    variables = {**variables, **shell_assignments(lines)}
    top, functions = split_functions(lines)

    def run(body: list[str], calling: frozenset[str]) -> Script:
        images: set[str] = set()
        scans = 0
        for line in body:
            for command in commands(line):
                if command[0] in functions and command[0] not in calling:
                    called = run(functions[command[0]], calling | {command[0]})
                    images |= called.images
                    scans += called.scans
                    continue
                ran = docker_image(command)
                image = resolve(ran[0], variables) if ran else None
                if image:
                    images.add(image)
                scans += is_scan(command, variables)
        return Script(frozenset(images), scans)

    return run(top, frozenset())


# --- files -----------------------------------------------------------------------------------


def literal_images(names: list[str | None], variables: dict[str, str]) -> set[str]:
    return {image for name in names if name for image in [resolve(str(name), variables)] if image}


def gitlab_variables(block: object) -> dict[str, str]:
    """A `variables:` block as plain strings; `{value: ...}` entries included."""
    if not isinstance(block, dict):
        return {}
    found: dict[str, str] = {}
    for name, value in block.items():
        value = value.get("value") if isinstance(value, dict) else value
        if isinstance(value, (str, int, float)):
            found[str(name)] = str(value)
    return found


def script_text(value: object) -> str:
    if isinstance(value, list):
        return "\n".join(script_text(item) for item in value)
    return value if isinstance(value, str) else ""


def image_name(value: object) -> str | None:
    """An `image:`/service entry: a string or a mapping with `name:`/`image:`."""
    if isinstance(value, dict):
        value = value.get("name", value.get("image"))
    return value if isinstance(value, str) else None


def gitlab_cost(text: str) -> Cost:
    # A job's scripts, image and services may come from the hidden jobs it extends.
    document = resolved(yaml.safe_load(text) or {})
    default = document.get("default") or {}
    global_variables = gitlab_variables(document.get("variables"))
    jobs = pulls = scans = 0
    for name, job in document.items():
        if name in GITLAB_RESERVED or str(name).startswith(".") or not isinstance(job, dict):
            continue
        jobs += 1
        variables = {**global_variables, **gitlab_variables(job.get("variables"))}
        # before_script and script run in one shell; after_script in another.
        main = script_text(job.get("before_script", default.get("before_script", document.get("before_script"))))
        main += "\n" + script_text(job.get("script"))
        after = script_text(job.get("after_script", default.get("after_script", document.get("after_script"))))
        ran = [analyse_script(main, variables), analyse_script(after, variables)]
        services = job.get("services", default.get("services", document.get("services"))) or []
        named = [image_name(job.get("image", default.get("image", document.get("image"))))]
        named += [image_name(service) for service in services]
        pulls += len(literal_images(named, variables).union(*(script.images for script in ran)))
        scans += sum(script.scans for script in ran)
    return Cost(jobs, pulls, scans, len(text.splitlines()))


def github_env(block: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in block.items()} if isinstance(block, dict) else {}


def github_cost(text: str) -> Cost:
    document = yaml.safe_load(text) or {}
    workflow_env = github_env(document.get("env"))
    jobs = document.get("jobs") or {}
    pulls = scans = 0
    for job in jobs.values():
        if not isinstance(job, dict):
            continue
        job_env = {**workflow_env, **github_env(job.get("env"))}
        images = literal_images([image_name(job.get("container"))], job_env)
        images |= literal_images([image_name(service) for service in (job.get("services") or {}).values()], job_env)
        for step in job.get("steps") or []:
            uses = str(step.get("uses", ""))
            if uses.startswith("docker://"):
                images |= literal_images([uses.removeprefix("docker://")], job_env)
            if isinstance(step.get("run"), str):
                ran = analyse_script(step["run"], {**job_env, **github_env(step.get("env"))})
                images |= ran.images
                scans += ran.scans
        pulls += len(images)
    return Cost(len(jobs), pulls, scans, len(text.splitlines()))


def jenkins_cost(text: str) -> Cost:
    scripts = [body.removeprefix("\\\n").replace("\\\\", "\\") for _, body in JENKINS_SH.findall(text)]
    groovy = JENKINS_SH.sub("", text)
    variables = dict(JENKINS_ENVIRONMENT.findall(groovy))
    images = literal_images([match for pattern in JENKINS_IMAGES for match in pattern.findall(groovy)], variables)
    ran = [analyse_script(script, variables) for script in scripts]
    images = images.union(*(script.images for script in ran))
    stages = len(re.findall(r"\bstage\s*\(", groovy))
    return Cost(stages, len(images), sum(script.scans for script in ran), len(text.splitlines()))


def compose_cost(text: str) -> Cost:
    services = (yaml.safe_load(text) or {}).get("services") or {}
    images: set[str] = set()
    for service in services.values():
        images |= literal_images([image_name(service)], {})
        build = service.get("build")
        inline = build.get("dockerfile_inline", "") if isinstance(build, dict) else ""
        stages: set[str] = set()
        for match in DOCKERFILE_FROM.finditer(inline):
            if match.group(1) not in stages and match.group(1) != "scratch":  # an earlier stage is no pull
                images |= literal_images([match.group(1)], {})
            if match.group(2):
                stages.add(match.group(2))
    return Cost(len(services), len(images), 0, len(text.splitlines()))


def cost_of(name: str, text: str) -> Cost:
    """The cost of one golden output, by its file name."""
    counters = {"github.yml": github_cost, "gitlab.yml": gitlab_cost, "Jenkinsfile": jenkins_cost,
                "jenkins_agent.yml": compose_cost}
    return counters[name](text)


# --- goldens, baseline, table ----------------------------------------------------------------


def golden_costs(golden: Path = GOLDEN) -> dict[str, Cost]:
    """Every golden output's cost, keyed `golden/output`; hand-written/ files are not gen-ci's output."""
    return {f"{path.parent.name}/{path.name}": cost_of(path.name, path.read_text())
            for path in sorted(golden.glob("*/*")) if path.name in OUTPUTS}


def costs_at(rev: str) -> dict[str, Cost]:
    """Every golden output's cost at a git revision, counted by this module as it is now."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout

    found: dict[str, Cost] = {}
    for path in sorted(git("ls-tree", "-r", "--name-only", rev, "--", "golden").splitlines()):
        parts = path.split("/")
        if len(parts) == 3 and parts[2] in OUTPUTS:
            found[f"{parts[1]}/{parts[2]}"] = cost_of(parts[2], git("show", f"{rev}:{path}"))
    return found


def write_baseline(out: Path, rev: str, release: str) -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], capture_output=True, text=True,
                            check=True).stdout.strip()
    data = {"release": release, "commit": commit, "written_by": "python bench/cost.py --baseline",
            "outputs": {name: asdict(cost) for name, cost in costs_at(commit).items()}}
    out.write_text(json.dumps(data, indent=1) + "\n")


def read_baseline(path: Path = BASELINE) -> tuple[str, dict[str, Cost]]:
    data = json.loads(path.read_text())
    return data["release"], {name: Cost(**counts) for name, counts in data["outputs"].items()}


def changed(now: int, before: int | None) -> str:
    return f"{now}" if before is None else f"{now} ({now - before:+d})" if now != before else f"{now} (0)"


def total(costs: list[Cost]) -> Cost:
    return Cost(*(sum(getattr(cost, field) for cost in costs) for field in ("jobs", "pulls", "scans", "lines")))


def table(now: dict[str, Cost], baseline: dict[str, Cost], release: str) -> str:
    """A Markdown table of every output, its change against the baseline, and a total row."""
    fields = ("jobs", "pulls", "scans", "lines")
    width = max(len(name) for name in [*now, *baseline, "total"]) + 8
    rows = [f"| {'golden/output':<{width}} | " + " | ".join(f"{field:>13}" for field in fields) + " |",
            f"|{'-' * (width + 2)}|" + "|".join("-" * 15 for _ in fields) + "|"]

    def row(label: str, cost: Cost, before: Cost | None) -> str:
        cells = [changed(getattr(cost, field), getattr(before, field) if before else None) for field in fields]
        return f"| {label:<{width}} | " + " | ".join(f"{cell:>13}" for cell in cells) + " |"

    for name in sorted({*now, *baseline}):
        if name not in now:  # removed since the baseline: it still moves the total
            rows.append(row(f"{name} (gone)", Cost(0, 0, 0, 0), baseline[name]))
        else:
            rows.append(row(name if name in baseline else f"{name} (new)", now[name], baseline.get(name)))
    rows.append(row("total", total(list(now.values())), total(list(baseline.values()))))
    return f"Static counts per pipeline file; changes against {release}.\n\n" + "\n".join(rows)


def report() -> str:
    release, baseline = read_baseline()
    return table(golden_costs(), baseline, release)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, metavar="OUT", help="write a baseline JSON instead of the table")
    parser.add_argument("--rev", default="HEAD", help="the commit whose goldens the baseline counts (default HEAD)")
    parser.add_argument("--release", help="the release the baseline stands for (required with --baseline)")
    args = parser.parse_args()
    if args.baseline:
        if not args.release:
            sys.exit("cost: --baseline needs --release, the version the baseline stands for")
        write_baseline(args.baseline, args.rev, args.release)
        return
    print(report())


if __name__ == "__main__":
    main()
