"""The gen-ci command line. Heavy imports wait until a command needs them: this runs on every commit."""

from __future__ import annotations

import sys

import click

from generator import __version__
from generator.diagnostics import SpecError
from generator.targets import PLATFORMS

EXIT_OK, EXIT_FINDINGS, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3


class _SpecFirstGroup(click.Group):
    """`gen-ci SPEC ...` is short for `gen-ci render SPEC ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["render", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        """One clear line for every failure: exit 2 for the user's input or files, 3 for a gen-ci bug only."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except SpecError as error:
            _fail(error)
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"gen-ci: {where}{error.strerror or error}; nothing was changed", err=True)
            sys.exit(EXIT_INVALID)
        except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
            click.echo(f"gen-ci: internal error, a gen-ci bug (please report it): {type(error).__name__}: {error}", err=True)
            sys.exit(EXIT_BUG)


def _print_diagnostics(error: SpecError) -> None:
    for diagnostic in error.diagnostics:
        click.echo(diagnostic.render(), err=True)


def _fail(error: Exception) -> None:
    from generator.emitting import RenderedInvalid

    if isinstance(error, SpecError):
        _print_diagnostics(error)
        count = len(error.diagnostics)
        click.echo(f"gen-ci: {count} problem{'s' if count != 1 else ''} in the spec; nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    if isinstance(error, RenderedInvalid):
        click.echo(f"gen-ci: {error}", err=True)
        sys.exit(EXIT_BUG)
    raise error


@click.group(cls=_SpecFirstGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gen-ci")
def main() -> None:
    """Render hardened CI pipelines for Docker images from one spec.

    \b
    Example:
      gen-ci spec.yml > .github/workflows/ci.yml
      gen-ci spec.yml --target gitlab > .gitlab-ci.yml
    """


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--target", "-t", type=click.Choice(PLATFORMS), help="Platform to render; optional when the spec has one target.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here (atomically) instead of standard output.")
@click.option("--force", is_flag=True, help="With -o: replace a file gen-ci did not write, keeping it as <file>.bak.")
def render(spec: str, target: str | None, output: str | None, force: bool) -> None:
    """Render SPEC for one platform.

    \b
    Example:
      gen-ci render spec.yml --target github -o .github/workflows/ci.yml
    """
    from generator.pipeline import generate

    try:
        _, _, text = generate(spec, target)
    except Exception as error:  # noqa: BLE001 - _fail re-raises what it does not own
        _fail(error)
    if output:
        from pathlib import Path

        from generator.writing import write_atomic

        if Path(output).resolve() == Path(spec).resolve():
            click.echo(f"gen-ci: -o {output} is the spec itself; nothing was written", err=True)
            sys.exit(EXIT_INVALID)
        from generator.commands.sync import written_by_gen_ci

        target_file = Path(output)
        if target_file.is_file():
            existing = target_file.read_bytes()
            if not written_by_gen_ci(existing.decode("utf-8", errors="replace")):
                if not force:
                    click.echo(f"gen-ci: {output} holds no gen-ci header, so gen-ci did not write it; move it away, "
                               "or run again with --force, which keeps it as <file>.bak", err=True)
                    sys.exit(EXIT_INVALID)
                target_file.with_name(target_file.name + ".bak").write_bytes(existing)
        try:
            write_atomic(output, text)
        except OSError as error:
            click.echo(f"gen-ci: cannot write {output}: {error.strerror}; nothing was changed", err=True)
            sys.exit(EXIT_INVALID)
    else:
        click.echo(text, nl=False)


@main.command()
def schema() -> None:
    """Print the spec's JSON Schema (for editors and other tools).

    \b
    Example:
      gen-ci schema > spec.schema.json
    """
    from generator.resources import schema_path

    click.echo(schema_path().read_text(encoding="utf-8"), nl=False)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
def lint(files: tuple[str, ...], output_format: str) -> None:
    """Audit GitLab CI files (local includes followed), GitHub workflows, Jenkinsfiles and Compose files for Docker hardening; exit 1 on findings.

    \b
    Example:
      gen-ci lint .gitlab-ci.yml --format sarif > gen-ci.sarif
    """
    import os
    from pathlib import Path

    from generator.lint.document import LintInputError, read_pipeline
    from generator.lint.engine import lint as run_rules
    from generator.lint.jenkins_companions import companions
    from generator.lint.report import FORMATS

    findings = []
    queue, linted = list(files), set()
    while queue:
        file = queue.pop(0)
        if os.path.realpath(file) in linted:
            continue
        linted.add(os.path.realpath(file))
        try:
            pipeline = read_pipeline(file)
        except LintInputError as error:
            click.echo(f"gen-ci: {error}", err=True)
            sys.exit(EXIT_INVALID)
        if pipeline.kind == "jenkins":
            # Library steps and loaded scripts of the same repository run as part of this pipeline.
            queue += [str(path) for path in companions(Path(file), pipeline.text, Path(pipeline.base))]
        # A local workflow, action or pod file two of the files given both read is reported once.
        reported = {(f.rule, os.path.realpath(f.file), f.line) for f in findings}
        findings.extend(f for f in run_rules(pipeline) if (f.rule, os.path.realpath(f.file), f.line) not in reported)
        if pipeline.not_followed:
            # What a file names and the lint could not read: GitLab includes, GitHub's local workflows
            # and actions, Jenkins pod files.
            nouns = {"github": ("local workflow or action", "local workflows and actions"), "jenkins": ("pod file", "pod files")}
            count = len(pipeline.not_followed)
            noun = nouns.get(pipeline.kind, ("include", "includes"))[count != 1]
            click.echo(f"gen-ci: {file}: {count} {noun} not audited: {', '.join(pipeline.not_followed)}", err=True)
    click.echo(FORMATS[output_format](findings), nl=False)
    sys.exit(EXIT_FINDINGS if findings else EXIT_OK)


def _specs(given: tuple[str, ...]) -> list:
    from pathlib import Path

    from generator.commands.sync import claimed_twice
    from generator.project import DEFAULT_SPECS, discover_specs, repository_root

    if given:
        found = [Path(spec) for spec in given]
    else:
        found = discover_specs(Path.cwd())
        root = repository_root(Path.cwd())
        if not found:
            click.echo(f"gen-ci: no spec found in {root} (looked for {', '.join(DEFAULT_SPECS)})", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"gen-ci: found {len(found)} spec{'s' if len(found) != 1 else ''} in {root}: " + ", ".join(str(p.relative_to(root)) for p in found), err=True)
    clashes = claimed_twice(found)
    for clash in clashes:
        click.echo(f"gen-ci: error[GC115]: {clash}", err=True)
    if clashes:
        sys.exit(EXIT_INVALID)
    return found


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace output files gen-ci did not write, keeping each as <file>.bak.")
def sync(specs: tuple[str, ...], force: bool) -> None:
    """Write every output of SPECS (default: gen-ci.yml and .gen-ci/*.yml).

    \b
    Example:
      gen-ci sync              # all specs of this repository
      gen-ci sync ci.gen-ci.yml
    """
    from generator.commands.sync import NotWrittenByGenCi, remember_in_sync
    from generator.commands.sync import sync as sync_spec

    failed = False
    for spec in _specs(specs):
        try:
            for path in sync_spec(spec, force, report=lambda line: click.echo(f"gen-ci: {line}", err=True)):
                click.echo(f"gen-ci: wrote {path}", err=True)
            remember_in_sync(spec)
        except SpecError as error:
            failed = True
            _print_diagnostics(error)
        except NotWrittenByGenCi as error:
            failed = True
            click.echo(f"gen-ci: {error}", err=True)
        except OSError as error:
            failed = True
            click.echo(f"gen-ci: {spec}: cannot write {error.filename or 'an output'}: {error.strerror or error}", err=True)
    if failed:
        click.echo("gen-ci: specs with problems were skipped; their outputs were left as they were", err=True)
        sys.exit(EXIT_INVALID)


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Render every output and compare byte for byte, whatever was proved before (CI).")
def check(specs: tuple[str, ...], strict: bool) -> None:
    """Exit 1 with a diff when an output differs from its spec; write nothing.

    \b
    Example:
      gen-ci check && echo "generated files are in sync"
      gen-ci check --strict    # in CI: no shortcut at all
    """
    from generator.commands.sync import drifts, proved_in_sync, remember_in_sync

    invalid = drifted = False
    for spec in _specs(specs):
        if not strict and proved_in_sync(spec):
            continue
        try:
            found = drifts(spec)
        except SpecError as error:
            invalid = True
            _print_diagnostics(error)
            continue
        if not found and not strict:
            remember_in_sync(spec)
        for drift in found:
            drifted = True
            click.echo(drift.diff, nl=False)
            click.echo(f"gen-ci: {drift.path} is out of sync with {drift.spec}: {drift.reason}", err=True)
            click.echo(f"gen-ci: fix with `gen-ci sync {drift.spec}`", err=True)
    if invalid:
        sys.exit(EXIT_INVALID)
    if drifted:
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--platform", "-p", type=click.Choice(["github", "gitlab", "jenkins"]), help="Which output's behaviour; optional when the spec renders one.")
@click.option("--event", "-e", help="push:BRANCH, tag:NAME, pr:BRANCH (the target), schedule:BRANCH, manual:BRANCH or release:TAG; without it, a table of the usual runs.")
@click.option("--sha", help="The commit (hex), for sha tags.")
@click.option("--default-branch", default="main", show_default=True, help="The repository's default branch (GitHub schedules run there).")
@click.option("--released", multiple=True, help="A version tag already released (repeatable); default: the checkout's git tags.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "mermaid"]), default="text", show_default=True)
@click.option("--against", metavar="GIT-REF", help="Show what the spec's changes since GIT-REF change in what each run publishes.")
def plan(spec: str | None, platform: str | None, event: str | None, sha: str | None, default_branch: str,
         released: tuple[str, ...], output_format: str, against: str | None) -> None:
    """Print what SPEC publishes: REPOSITORY:TAG, one a line, for a run.

    \b
    Example:
      gen-ci plan --platform github --event tag:v2.0.0     # what tagging v2.0.0 publishes
      gen-ci plan                                          # every usual run, as a table
      gen-ci plan --against origin/main                    # what this branch changes in it
    """
    from pathlib import Path

    from generator.commands.plan import plan as plan_spec
    from generator.plan import PlanError

    spec_file = Path(spec) if spec else _specs(())[0]
    try:
        click.echo(plan_spec(spec_file, platform, event, sha, default_branch, released, output_format, against), nl=False)
    except PlanError as error:
        click.echo(f"gen-ci: {error}", err=True)
        sys.exit(EXIT_INVALID)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the spec here (atomically) instead of standard output.")
@click.option("--platform", "-p", type=click.Choice(["github", "gitlab", "jenkins"]), help="What the files are; default: told from each file.")
@click.option("--compare", is_flag=True, help="Show, run by run, what the original publishes and what the spec publishes; exit 1 on a difference.")
@click.option("--force", is_flag=True, help="With -o: replace an existing file, keeping it as <file>.bak.")
def import_(files: tuple[str, ...], output: str | None, platform: str | None, compare: bool, force: bool) -> None:
    """Read GitHub workflows, .gitlab-ci.yml files or Jenkinsfiles into a spec; report on stderr what
    was not carried over, what was assumed and what gen-ci adds.

    \b
    Example:
      gen-ci import .github/workflows/docker.yml -o gen-ci.yml --compare
    """
    from pathlib import Path

    from generator.commands.import_ import (
        SpecInvalid,
        read,
        report,
        spec_text,
        validate,
    )
    from generator.importing import ImportInputError

    sources = [Path(file) for file in files]
    target = Path(output) if output else None
    if target is not None and any(target.resolve() == source.resolve() for source in sources):
        click.echo(f"gen-ci: -o {output} is one of the files being imported; nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    if target is not None and target.exists() and not force:
        click.echo(f"gen-ci: {output} exists; move it away, or run again with --force, which keeps it as <file>.bak", err=True)
        sys.exit(EXIT_INVALID)
    try:
        chosen, imported = read(sources, platform)
    except ImportInputError as error:
        click.echo(f"gen-ci: {error}", err=True)
        sys.exit(EXIT_INVALID)
    text = spec_text(imported, sources)
    try:
        checked = validate(text, target.resolve().parent if target else Path.cwd())
    except SpecInvalid as error:
        click.echo(f"gen-ci: internal error, a gen-ci bug (please report it): the imported spec does not validate: {error}", err=True)
        sys.exit(EXIT_BUG)
    try:
        click.echo(report(imported.notes), err=True, nl=False)
        differences = 0
        if compare:
            from generator.importing.compare import differences as count
            from generator.importing.compare import rows, table

            found = rows(imported, checked, chosen)
            click.echo(table(found), err=True, nl=False)
            differences = count(found)
    finally:
        checked.unlink(missing_ok=True)
    if target is not None:
        from generator.writing import write_atomic

        if target.exists():
            target.with_name(target.name + ".bak").write_bytes(target.read_bytes())
        write_atomic(target, text)
        click.echo(f"gen-ci: wrote {output}; next: review it, then gen-ci sync", err=True)
    else:
        click.echo(text, nl=False)
    if differences:
        click.echo(f"gen-ci: {differences} difference{'s' if differences != 1 else ''} in what is published (marked + and - above)", err=True)
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
def setup(spec: str | None) -> None:
    """Print what each platform must hold before SPEC's first run: secrets, variables,
    environments, protected refs, runners, package access and OIDC trust.

    \b
    Example:
      gen-ci setup > SETUP.md
    """
    from pathlib import Path

    from generator.commands.setup import checklist
    from generator.pipeline import compile_spec

    spec_file = Path(spec) if spec else _specs(())[0]
    _, model = compile_spec(spec_file)
    click.echo(checklist(model), nl=False)


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--format", "dialect", type=click.Choice(["sigstore", "kyverno"]), default="sigstore", show_default=True,
              help="sigstore: policy-controller's ClusterImagePolicy; kyverno: a Kyverno ClusterPolicy.")
@click.option("--repository", help="owner/name (GitHub) or the project path (GitLab) that runs the pipeline; default: push.upstream.")
@click.option("--github-server", default="https://github.com", show_default=True, help="GitHub's URL, as GITHUB_SERVER_URL holds it.")
@click.option("--gitlab-server", default="https://gitlab.com", show_default=True, help="GitLab's URL, as CI_SERVER_URL holds it: the OIDC issuer.")
def policy(spec: str | None, dialect: str, repository: str | None, github_server: str, gitlab_server: str) -> None:
    """Print the admission policy that admits only SPEC's images signed keyless by this pipeline
    (the identity its verify step checks) and carrying its scan attestation.

    \b
    Example:
      gen-ci policy > image-policy.yml && kubectl apply -f image-policy.yml
      gen-ci policy --format kyverno --repository acme/api
    """
    from pathlib import Path

    from generator.commands.policy import policy as policy_text

    spec_file = Path(spec) if spec else _specs(())[0]
    click.echo(policy_text(spec_file, dialect, repository, github_server, gitlab_server), nl=False)


@main.group()
def pins() -> None:
    """Manage pinned actions and tool images."""


@pins.command("resolve")
@click.argument("references", nargs=-1, required=True)
@click.option("--plain-http", is_flag=True, help="Talk HTTP, not HTTPS, to the registry (always so for localhost and 127.0.0.1).")
def pins_resolve(references: tuple[str, ...], plain_http: bool) -> None:
    """Print IMAGE:TAG@sha256:... for each IMAGE:TAG, as its registry resolves the tag.

    The digest is the image index's (manifest list's) when the tag names one, as `docker pull`
    resolves it. Credentials come from $DOCKER_CONFIG/config.json `auths`, else an anonymous pull.

    \b
    Example:
      gen-ci pins resolve aquasec/trivy:0.74.0 ghcr.io/regclient/regctl:v0.11.5
    """
    from generator.commands.pins import ResolveError, resolve

    failed = False
    for reference in references:
        try:
            click.echo(resolve(reference, plain_http))
        except ResolveError as error:
            click.echo(f"gen-ci: {error}", err=True)
            failed = True
    if failed:
        sys.exit(EXIT_INVALID)


@pins.command("adopt")
@click.argument("specs", nargs=-1, type=click.Path(dir_okay=False))
def pins_adopt(specs: tuple[str, ...]) -> None:
    """Keep pin bumps (Dependabot, Renovate) found in generated files: action SHAs, and tool
    image tags and digests (IMAGE:TAG@sha256:...), written into .gen-ci/pins.json.

    \b
    Example:
      gen-ci pins adopt && gen-ci sync
    """
    from generator.commands.sync import adopt
    from generator.project import PIN_OVERRIDES

    refused = False
    try:
        for spec in _specs(specs):
            adopted = adopt(spec)
            for name, pin in adopted.actions.items():
                click.echo(f"gen-ci: adopted {name} {pin['version']} ({pin['sha']}) into {PIN_OVERRIDES}", err=True)
            for name, pin in adopted.images.items():
                click.echo(f"gen-ci: adopted the {name} image {pin['image']}:{pin['tag']}@{pin['digest']} into {PIN_OVERRIDES}", err=True)
            for why in adopted.refused:
                click.echo(f"gen-ci: not adopted: {why}", err=True)
            refused = refused or bool(adopted.refused)
    except SpecError as error:
        _fail(error)
    if refused:
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Explain an error id (GCnnn) or a lint rule id (GLnnn, GHnnn, JKnnn).

    \b
    Example:
      gen-ci explain GC101
    """
    import difflib

    from generator.diagnostics import CODES, DOCS, LINT_DOCS
    from generator.lint.engine import ALL_RULES

    entries = {code: (name, text) for code, (name, text) in CODES.items()}
    entries.update({rule.id: (rule.name, rule.summary) for rule in ALL_RULES})
    key = rule_id.upper()
    if key not in entries:
        close = difflib.get_close_matches(key, entries, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        known = sorted(entries)
        spans = [f"{min(group)}-{max(group)}" for group in ([k for k in known if k.startswith(p)] for p in ("GC", "GL", "GH", "JK")) if group]
        click.echo(f"gen-ci: no such id {rule_id!r}{hint} (known: {', '.join(spans)})", err=True)
        sys.exit(EXIT_INVALID)
    name, text = entries[key]
    click.echo(f"{key} {name}\n\n{text}\n\nMore: {DOCS if key in CODES else LINT_DOCS}{name}")


@main.command()
@click.option("--yes", "-y", is_flag=True, help="Take every default and option without asking.")
@click.option("--name", help="Project name (default: the folder's).")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(["github", "gitlab", "jenkins"]), help="Target platform (repeatable).")
@click.option("--registry", "registries", multiple=True,
              help="Repository the image is published to: ghcr.io/acme/app, platform (the project's own registry) or platform/<name> (repeatable: one image, several registries).")
@click.option("--image", "images", multiple=True,
              help="One image of several, as [CONTEXT=]REPOSITORY[,REPOSITORY...]: services/api=platform/api (repeatable: one image each).")
@click.option("--arch", "architectures", multiple=True, help="Platform every image is built for: linux/amd64, linux/arm64... (repeatable).")
@click.option("--tags", "tag_scheme", type=click.Choice(["simple", "semver"]), help="Tag scheme: simple (branch or tag name, sha) or semver (edge on main, sha, 1.4.2/1.4/1 and latest from v tags).")
@click.option("--mode", type=click.Choice(["socket", "dind"]), help="Docker mode.")
@click.option("--test", "test_command", help="Test script run inside each built image.")
@click.option("--scanner", type=click.Choice(["trivy", "grype", "none"]), help="Image scanner.")
@click.option("--push-branch", "push_branches", multiple=True, help="Branch that pushes (repeatable).")
@click.option("--gitlab-tag", "gitlab_tags", multiple=True, help="GitLab runner tag (repeatable).")
@click.option("--jenkins-agent", type=click.Choice(["static", "kubernetes"]), help="Jenkins agents: static (by label, with the rendered agent runtime) or kubernetes (a pod per build).")
@click.option("--check-job", is_flag=True, help="Add a job that runs gen-ci check in the pipeline, installing gen-ci from where this one came from.")
def init(yes: bool, **given) -> None:
    """Start a project: write gen-ci.yml, its editor schema and the pre-commit hook.

    Each answer is checked as it is given; a wrong one is asked again.

    \b
    Example:
      gen-ci init --yes --platform github --registry ghcr.io/acme/app --registry docker.io/acme/app --test "pytest -q"
      gen-ci init --yes --platform gitlab --image services/api=platform/api --image services/web=platform/web --arch linux/amd64 --arch linux/arm64
      gen-ci init --yes --platform jenkins --jenkins-agent kubernetes --registry docker.io/acme/app
    """
    from pathlib import Path

    from generator.commands.init import AnswerError, as_command, gather, write_project

    try:
        answers = gather(given, ask=None if yes else click.prompt)
    except AnswerError as error:
        click.echo(f"gen-ci: {error}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        for path, what in write_project(Path.cwd(), answers):
            click.echo(f"gen-ci: {path}: {what}", err=True)
    except (FileExistsError, ValueError) as error:
        click.echo(f"gen-ci: {error}", err=True)
        click.echo(f"gen-ci: your answers, to run again: {as_command(answers)}", err=True)
        sys.exit(EXIT_INVALID)
    except SpecError as error:
        click.echo(f"gen-ci: your answers, to run again: {as_command(answers)}", err=True)
        _fail(error)
    from generator.commands.setup import checklist
    from generator.pipeline import compile_spec

    click.echo("gen-ci: before the first run, the platform needs (gen-ci setup prints this again):", err=True)
    click.echo(checklist(compile_spec(Path.cwd() / "gen-ci.yml")[1]), err=True, nl=False)
    click.echo("gen-ci: next: gen-ci sync && pre-commit install && git add -A && git commit", err=True)


@main.command()
def doctor() -> None:
    """Check the local Docker set-up: CLI, TLS, socket, daemon, storage, disk.

    \b
    Example:
      DOCKER_HOST=tcp://docker:2376 DOCKER_TLS_VERIFY=1 gen-ci doctor
    """
    import os

    from generator.commands.doctor import run_checks

    failed = False
    for name, passed, detail in run_checks(os.environ):
        label = {True: "pass", False: "FAIL", None: "skip"}[passed]
        failed |= passed is False
        click.echo(f"{label:4}  {name}: {detail}")
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
