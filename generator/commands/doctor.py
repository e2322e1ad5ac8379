"""Checks of the local Docker set-up, each a plain function returning (passed, detail)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

Check = Callable[[Mapping[str, str]], tuple[bool | None, str]]  # None: not applicable
MIN_FREE_GIB = 10


def _docker(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str] | None:
    binary = shutil.which("docker", path=env.get("PATH"))
    if not binary:
        return None
    try:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=15, env=dict(env))
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([binary, *args], 124, "", "timed out after 15 s")


def docker_cli(env: Mapping[str, str]) -> tuple[bool | None, str]:
    found = shutil.which("docker", path=env.get("PATH"))
    return (True, found) if found else (False, "docker is not on PATH; install the Docker CLI")


def tls_files(env: Mapping[str, str]) -> tuple[bool | None, str]:
    host = env.get("DOCKER_HOST", "")
    if not host.startswith("tcp://"):
        return None, "DOCKER_HOST is not a TCP address"
    if host.endswith(":2375") or env.get("DOCKER_TLS_VERIFY", "") in ("", "0"):
        return False, f"{host} without DOCKER_TLS_VERIFY=1: plain TCP gives the daemon to anyone who reaches it; use port 2376 with TLS"
    cert_path = Path(env.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    missing = [name for name in ("ca.pem", "cert.pem", "key.pem") if not (cert_path / name).is_file()]
    if missing:
        return False, f"{cert_path} lacks {', '.join(missing)}: share the dind container's /certs/client with the job"
    return True, f"client certificates in {cert_path}"


def socket_access(env: Mapping[str, str]) -> tuple[bool | None, str]:
    host = env.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None, "the daemon is not reached through a unix socket"
    socket = Path(host.removeprefix("unix://"))
    if not socket.exists():
        return False, f"{socket} does not exist: the daemon is not running here, or the runner does not bind the socket"
    if not stat.S_ISSOCK(socket.stat().st_mode):
        return False, f"{socket} is not a socket: bind the daemon's socket itself, not a copy or a directory"
    if os.access(socket, os.R_OK | os.W_OK):
        return True, f"{socket} is readable and writable"
    import grp

    gid = socket.stat().st_gid
    try:
        group = repr(grp.getgrgid(gid).gr_name)
    except KeyError:  # a group the host knows but this container's /etc/group does not
        group = f"with id {gid} (it has no name here: create it with groupadd --gid {gid} docker)"
    return False, f"permission denied on {socket}: add the user to group {group} (then log in again), or use rootless Docker"


def daemon_reachable(env: Mapping[str, str]) -> tuple[bool | None, str]:
    result = _docker(env, "version", "--format", "{{.Server.Version}}")
    if result is None:
        return None, "no docker CLI"
    if result.returncode:
        return False, (result.stderr.strip().splitlines() or ["no answer"])[-1]
    return True, f"server {result.stdout.strip()}"


def storage_driver(env: Mapping[str, str]) -> tuple[bool | None, str]:
    result = _docker(env, "info", "--format", "{{.Driver}}")
    if result is None or result.returncode:
        return None, "daemon unreachable"
    driver = result.stdout.strip()
    if driver in ("overlay2", "overlayfs"):
        return True, driver
    return False, f"{driver}: overlay2 is expected; vfs is slow and fills disks, and overlay2 cannot run on overlayfs (give /var/lib/docker a volume)"


def free_disk(env: Mapping[str, str]) -> tuple[bool | None, str]:
    result = _docker(env, "info", "--format", "{{.DockerRootDir}}")
    root = Path(result.stdout.strip()) if result and not result.returncode and result.stdout.strip() else Path("/var/lib/docker")
    probe = root if root.exists() else Path("/")
    free = shutil.disk_usage(probe).free / 2**30
    if free < MIN_FREE_GIB:
        return False, f"{free:.1f} GiB free under {probe}: run docker system prune, and give dind its own volume"
    return True, f"{free:.1f} GiB free under {probe}"


CHECKS: list[tuple[str, Check]] = [
    ("docker CLI", docker_cli),
    ("TLS files for DOCKER_HOST", tls_files),
    ("socket permissions", socket_access),
    ("daemon reachable", daemon_reachable),
    ("storage driver", storage_driver),
    ("free disk", free_disk),
]


def run_checks(env: Mapping[str, str]) -> list[tuple[str, bool | None, str]]:
    return [(name, *check(env)) for name, check in CHECKS]
