"""Shell for the containers a job starts beside the candidate: test services and the prepare step.

Both platforms run the same POSIX shell. Spec values never appear in it: images, environment
values, readiness commands and the prepare script reach it through variables the templates set
(GitHub step env, GitLab variables with expand: false), named here. Service names and output paths
are pattern-checked by the schema and still shell-quoted. `prefix` is the job's own name for what
it starts (`$GEN_CI_NAME`, `gen-ci-$CI_JOB_ID`), so jobs sharing a daemon never meet.
"""

from __future__ import annotations

import shlex
from typing import Any

Service = dict[str, Any]  # a generator.model.Service, as the templates see it (dataclasses.asdict)


def service_variables(services: list[Service]) -> dict[str, str]:
    """Variable name -> spec value, for the job to set; the scripts below read only these names."""
    found = {}
    for number, service in enumerate(services, 1):
        found[f"GEN_CI_SERVICE_{number}_IMAGE"] = service["image"]
        if service["ready"]:
            found[f"GEN_CI_SERVICE_{number}_READY"] = service["ready"]
        if service["entrypoint"]:
            found[f"GEN_CI_SERVICE_{number}_ENTRYPOINT"] = service["entrypoint"]
        for place, argument in enumerate(service["command"], 1):
            found[f"GEN_CI_SERVICE_{number}_ARG_{place}"] = argument
        for key, value in service["env"].items():
            found[_env_variable(number, service, key)] = value
    return found


def _env_variable(number: int, service: Service, key: str) -> str:
    # Upper case (shell linters read lower-case names as unassigned locals), numbered so that keys
    # differing only in case never share a variable.
    return f"GEN_CI_SERVICE_{number}_ENV_{list(service['env']).index(key) + 1}_{key.upper()}"


def _named(prefix: str, name: str) -> str:
    if shlex.quote(name) != name:  # the schema allows only [a-z0-9-] names; never let one through unquoted
        raise ValueError(f"service name {name!r} is not a plain word")
    return f'"{prefix}-{name}"'


def start_services(services: list[Service], prefix: str, host_network: bool) -> str:
    lines = []
    if host_network:
        lines.append("# The daemon has no bridge (isolated profile): services share its network and the test reaches them on 127.0.0.1.")
    else:
        lines += [
            "# The services and the test meet on this job's own network, where each service's name resolves.",
            f'docker network create "{prefix}-net" > /dev/null',
        ]
    for number, service in enumerate(services, 1):
        name = service["name"]
        network = "--network=host" if host_network else f'--network "{prefix}-net" --network-alias {shlex.quote(name)}'
        env = "".join(f' \\\n  --env {key}="${_env_variable(number, service, key)}"' for key in service["env"])
        entrypoint = f' \\\n  --entrypoint "$GEN_CI_SERVICE_{number}_ENTRYPOINT"' if service["entrypoint"] else ""
        arguments = "".join(f' "$GEN_CI_SERVICE_{number}_ARG_{place}"' for place in range(1, len(service["command"]) + 1))
        lines.append(
            f'docker run --detach --name {_named(prefix, name)} {network}{env}{entrypoint} "$GEN_CI_SERVICE_{number}_IMAGE"{arguments} > /dev/null'
        )
    checked = [(number, service) for number, service in enumerate(services, 1) if service["ready"]]
    if checked:
        lines += [
            "ready() {",
            "  # name, seconds, command: the command runs inside the service once a second until it succeeds.",
            "  waited=0",
            f'  until docker exec "{prefix}-$1" sh -c "$3" > /dev/null 2>&1; do',
            "    waited=$((waited + 1))",
            '    if [ "$waited" -ge "$2" ]; then',
            '      echo "$1 was not ready after $2 seconds; its log follows" >&2',
            f'      docker logs --tail 100 "{prefix}-$1" >&2 || true',
            "      return 1",
            "    fi",
            "    sleep 1",
            "  done",
            '  echo "$1 is ready after $waited seconds"',
            "}",
        ]
        for number, service in checked:
            lines.append(f'ready {shlex.quote(service["name"])} {service["timeout_seconds"]} "$GEN_CI_SERVICE_{number}_READY"')
    return "\n".join(lines)


def test_network(services: list[Service], prefix: str, host_network: bool) -> str:
    """The test container's extra docker run flags, so that every service name resolves in it."""
    if not services:
        return ""
    if host_network:
        return "".join(" --add-host " + shlex.quote(service["name"]) + ":127.0.0.1" for service in services)
    return f' --network "{prefix}-net"'


def service_logs(services: list[Service], prefix: str) -> str:
    return "\n".join(
        "echo " + shlex.quote("--- " + service["name"]) + "; docker logs --tail 200 " + _named(prefix, service["name"]) + " 2>&1 || true"
        for service in services
    )


def remove_services(services: list[Service], prefix: str, host_network: bool) -> str:
    names = " ".join(_named(prefix, service["name"]) for service in services)
    lines = [f"docker rm --force --volumes {names} > /dev/null 2>&1 || true"]
    if not host_network:
        lines.append(f'docker network rm "{prefix}-net" > /dev/null 2>&1 || true')
    return "\n".join(lines)


def prepare(outputs: list[str], netflag: str, history: bool = False, variables: list[str] | tuple[str, ...] = ()) -> str:
    words = " ".join(shlex.quote(output) for output in outputs)
    passed = "".join(f" --env {_identifier(name)}" for name in variables)
    if history:
        # .git/config (and a submodule's) is where a checkout may keep the job's token in a remote
        # URL, FETCH_HEAD names the remote: the rest is history and tags, which git reads without them.
        lines = [
            "# The pinned image gets a copy of the repository with its history and tags but without .git's",
            "# config (where a token could be) on standard input, runs the script at its root, and sends",
            "# back only the outputs the spec names. safe.directory: the copy's owner is not the container's.",
        ]
        sent = "--exclude=./.git/config --exclude='./.git/modules/*/config' --exclude=./.git/FETCH_HEAD"
        passed += " --env GIT_CONFIG_COUNT=1 --env GIT_CONFIG_KEY_0=safe.directory --env 'GIT_CONFIG_VALUE_0=*'"
    else:
        lines = [
            "# The pinned image gets a copy of the repository without .git (so no token) on standard input,",
            "# runs the script at its root, and sends back only the outputs the spec names.",
        ]
        sent = "--exclude=./.git"
    return "\n".join(lines + [
        'prepared=$(mktemp)',
        f"tar -c -f - {sent} . | docker run --rm --interactive{netflag} --env GEN_CI_PREPARE_SCRIPT{passed} \\",
        '  --entrypoint /bin/sh "$GEN_CI_PREPARE_IMAGE" -c \\',
        """  'mkdir -p /tmp/gen-ci && cd /tmp/gen-ci && tar -xf - && sh -c "$GEN_CI_PREPARE_SCRIPT" >&2 && tar -cf - -- "$@"' \\""",
        f'  prepare {words} > "$prepared"',
        'tar -x -f "$prepared"',
        'rm -f "$prepared"',
        f"echo 'Prepared for the build:' {words}",
    ])



def _identifier(name: str) -> str:
    if not name.isidentifier() or shlex.quote(name) != name:  # the schema allows only [A-Z][A-Z0-9_]*
        raise ValueError(f"variable name {name!r} is not a plain identifier")
    return name


def _project(prefix: str, number: int) -> str:
    return f'"{prefix}-checkout-{number}"'


def checkout_tests(tests: list[dict[str, Any]], prefix: str, candidate: str, services: list[Service], host_network: bool) -> str:
    """Run the spec's tests from the checkout on the job; `candidate` is shell naming the candidate by digest."""
    lines = ["# Your own tests, from the checkout, on this job: each gets the candidate by digest in the variable it names."]
    if services:
        network = "host" if host_network else f"{prefix}-net"
        lines.append(f'GEN_CI_NETWORK="{network}"  # where the services run: docker run --network "$GEN_CI_NETWORK"')
        lines.append("export GEN_CI_NETWORK")
    for number, test in enumerate(tests, 1):
        variable = _identifier(test["image_variable"])
        if test["compose"]:
            # A project name of the job's own: nothing it starts meets another job's containers.
            lines.append(
                f'{variable}={candidate} docker compose --file {shlex.quote(test["compose"])} --project-name {_project(prefix, number)} '
                f'run --rm {shlex.quote(test["service"])}'
            )
        else:
            script = "./" + test["script"]
            lines += [
                f"if [ ! -x {shlex.quote(script)} ]; then",
                f'  echo {shlex.quote(test["script"] + " is not executable; commit it with: git update-index --chmod=+x " + test["script"])} >&2',
                "  exit 1",
                "fi",
                f"{variable}={candidate} {shlex.quote(script)}",
            ]
    return "\n".join(lines)


def checkout_tests_after(tests: list[dict[str, Any]], prefix: str, failed: str) -> str:
    """Logs of the compose projects when the job failed (`failed` is a shell test), then their removal."""
    composed = [(number, test) for number, test in enumerate(tests, 1) if test["compose"]]
    lines = []
    for number, test in composed:
        # The file may require its variable even to stop: any value will do here.
        command = f'{_identifier(test["image_variable"])}=none docker compose --file {shlex.quote(test["compose"])} --project-name {_project(prefix, number)}'
        lines += [
            f"if {failed}; then {command} logs --no-color --tail 200 || true; fi",
            f"{command} down --volumes --remove-orphans --timeout 10 > /dev/null 2>&1 || true",
        ]
    return "\n".join(lines)
