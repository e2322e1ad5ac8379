"""`gen-ci setup`: what each platform must hold before a spec's first run, as a checklist.

Every item comes from the model, so it names exactly the secrets, variables, environments, refs
and runners the rendered outputs read, and nothing else.
"""

from __future__ import annotations

from generator.model import Model, Registry

GITHUB_OIDC = "token.actions.githubusercontent.com"


def _registries(model: Model) -> list[Registry]:
    seen: dict[str, Registry] = {}
    for image in model.images:
        for registry in image.registries:
            seen.setdefault(registry.spelled, registry)
    return list(seen.values())


def _build_secrets(model: Model) -> dict[str, list[str]]:
    """secret or variable name -> the images whose builds read it."""
    found: dict[str, list[str]] = {}
    for image in model.images:
        for name in image.secrets.values():
            found.setdefault(name, []).append(image.id)
    return found


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _refs(model: Model) -> str:
    parts = []
    if model.push.branches:
        parts.append("branches " + ", ".join(model.push.branches))
    if model.push.tags:
        parts.append("tags " + ", ".join(model.push.tags))
    return " and ".join(parts)


def github(model: Model) -> list[str]:
    push, lines = model.push, []
    publishing = push.enabled and any(image.registries for image in model.images)
    secrets = [(r.username, r.password, r.spelled) for r in _registries(model) if r.auth == "secrets"]
    if publishing and push.environment:
        lines.append(f"Environment `{push.environment}` (Settings > Environments): the publish jobs run in it. "
                     f"Add required reviewers if a person approves each publication, and limit its deployment refs to {_refs(model)}.")
    for username, password, repository in secrets:
        lines.append(f"Environment secrets `{username}` and `{password}` in `{push.environment}`: the login to {repository}.")
    build = _build_secrets(model)
    if build:
        # Publish jobs push what a build job tested and build nothing, except a registry cache's
        # candidate jobs, which build in the push environment.
        cached = any(image.secrets and image.cache == "registry" for image in model.images)
        places = " and ".join(f"`{e}`" for e in dict.fromkeys([push.build_environment] + ([push.environment] if cached else [])) if e)
        lines.append(f"Environment `{push.build_environment}`: build jobs of images with build secrets run in it (pull requests included).")
        for name, images in build.items():
            lines.append(f"Environment secret `{name}` in {places}: a BuildKit secret of {', '.join(images)}.")
    if publishing:
        lines.append(f"Rulesets (Settings > Rules) that restrict who may push {_refs(model)}: whoever can push them can publish.")
    if any(r.auth == "token" for r in _registries(model)):
        names = ", ".join("ghcr.io/<owner>/<repo>" + r.own_path if r.own else r.spelled for r in _registries(model) if r.auth == "token")
        lines.append(f"Package access: once each package exists ({names}), give this repository the Write role "
                     "(package settings > Manage Actions access), or the job token cannot push.")
    for registry in _registries(model):
        if registry.auth == "oidc":
            lines.append(f"AWS: an OIDC identity provider for {GITHUB_OIDC} (audience sts.amazonaws.com) and the role "
                         f"`{registry.aws_role}` trusting it for this repository"
                         + (f" and environment `{push.environment}`" if push.environment else "")
                         + f", allowed to push to {registry.spelled}.")
    if model.scan.security_report:
        lines.append("Code scanning enabled (Settings > Code security): the scan reports upload there.")
    if push.upstream:
        lines.append(f"The repository is `{push.upstream}` exactly: runs anywhere else (forks) never publish.")
    custom = [label for label in model.runners["github"] if not label.startswith("ubuntu-")]
    if custom:
        lines.append(f"Self-hosted runners with the labels {_listed(custom)}.")
    if model.check_job:
        lines.append("Nothing for the check job: it reads only the checkout.")
    if model.github["called"]:
        names = [name for username, password, _ in secrets for name in (username, password)] + list(_build_secrets(model))
        lines.append(f"A workflow of yours that calls `{model.targets['github']}` (uses: $/{model.targets['github']}) after its own jobs, "
                     "on the spec's triggers, granting its job the permissions the called jobs ask for"
                     + (f" and passing {_listed(list(dict.fromkeys(names)))} by name" if names else "")
                     + ": docs/projects.md, Combining with hand-written CI.")
    return lines


def gitlab(model: Model) -> list[str]:
    push, lines = model.push, []
    publishing = push.enabled and any(image.registries for image in model.images)
    if publishing:
        lines.append(f"Protected branches and tags (Settings > Repository) for {_refs(model)}: only protected refs "
                     "get the protected variables and the registry password, so only they publish.")
    if publishing and push.environment:
        lines.append(f"Protected environment `{push.environment}` (Operate > Environments) with its approvers: the publish jobs deploy to it.")
    by_token = [registry for registry in _registries(model) if registry.auth == "token"]
    if by_token:
        names = ", ".join("$CI_REGISTRY_IMAGE" + r.own_path if r.own else r.spelled for r in by_token)
        lines.append(f"The project's container registry enabled (Settings > General > Visibility): {names} "
                     f"{'take' if len(by_token) > 1 else 'takes'} the job token.")
    for registry in _registries(model):
        if registry.auth == "secrets":
            lines.append(f"CI/CD variables `{registry.username}` and `{registry.password}` (Settings > CI/CD > Variables), "
                         f"masked and protected: the login to {registry.spelled}.")
        elif registry.auth == "oidc":
            lines.append(f"AWS: an OIDC identity provider for your GitLab instance's URL (audience sts.amazonaws.com) and the role "
                         f"`{registry.aws_role}` trusting this project's protected refs, allowed to push to {registry.spelled}.")
    for name, images in _build_secrets(model).items():
        lines.append(f"CI/CD variable `{name}`, masked (unprotected if merge request pipelines must build): a BuildKit secret of {', '.join(images)}.")
    if model.runners["gitlab"]:
        lines.append(f"Runners with the tags {_listed(model.runners['gitlab'])}"
                     + (", configured as the output's header says (config.toml)" if model.docker.mode != "rootless" else "")
                     + ".")
    for cron in model.triggers["schedule"]:
        branch = (push.branches or model.triggers["branches"] or ["main"])[0]
        lines.append(f"A pipeline schedule (Build > Pipeline schedules) `{cron}`, timezone UTC, on `{branch}`.")
    if push.upstream:
        lines.append(f"The project path is `{push.upstream}` exactly: pipelines anywhere else (forks) never publish.")
    if model.gitlab["include"]:
        needs = model.gitlab["publish_needs"]
        lines.append(f"Your .gitlab-ci.yml includes `{model.targets['gitlab']}` (include: - local: {model.targets['gitlab']}) and lets its pipelines run"
                     + (f"; its jobs {_listed(needs)} exist in every pipeline that publishes (every publish job needs them)" if needs else "")
                     + ": docs/projects.md, Combining with hand-written CI.")
    return lines


def jenkins(model: Model) -> list[str]:
    push, lines = model.push, []
    for host, credential in model.jenkins.credentials.items():
        lines.append(f"Username/password credentials `{credential}` (Manage Jenkins > Credentials): the login to {host}.")
    for name, images in _build_secrets(model).items():
        lines.append(f"Secret text credentials `{name}`: a BuildKit secret of {', '.join(images)}.")
    lines.append("A Multibranch Pipeline job on this repository" + (", discovering tags, with a build strategy that builds them" if push.tags else "")
                 + ": Jenkins sets BRANCH_NAME and TAG_NAME from it.")
    if model.jenkins.agent == "static":
        lines.append(f"Agents with the label `{model.jenkins.label}`"
                     + (", started from the agent runtime (targets.jenkins_agent)" if "jenkins_agent" in model.targets else "") + ".")
    else:
        lines.append("The Kubernetes plugin, and a namespace that admits one privileged container per build (the Docker-in-Docker sidecar).")
    return lines


CHECKLISTS = {"github": github, "gitlab": gitlab, "jenkins": jenkins}
TITLES = {"github": "GitHub", "gitlab": "GitLab", "jenkins": "Jenkins"}


def checklist(model: Model) -> str:
    sections = []
    for platform, items_of in CHECKLISTS.items():
        if platform not in model.targets:
            continue
        items = items_of(model)
        body = "".join(f"- [ ] {item}\n" for item in items) or "- nothing: the defaults need no set-up\n"
        sections.append(f"## {TITLES[platform]} ({model.targets[platform]})\n\n{body}")
    return "\n".join(sections)

