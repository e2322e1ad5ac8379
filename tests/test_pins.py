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

    def __init__(self, users: dict[str, str] | None = None, head_digest: bool = True, wrong_digest: bool = False, anonymous: bool = True):
        self.users, self.head_digest, self.wrong_digest, self.anonymous = users or {}, head_digest, wrong_digest, anonymous
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
        if authorization.removeprefix("Bearer ") not in self.tokens:
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


def test_resolve_names_an_unknown_tag_and_an_unreachable_registry():
    with Registry() as registry:
        result = invoke("pins", "resolve", f"{registry.host}/acme/tool:9.9")
        assert result.exit_code == 2 and "no such tag" in result.stderr and "Traceback" not in result.stderr
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
