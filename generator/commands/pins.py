"""`gen-ci pins resolve`: a tag's digest, asked of the registry that serves it (standard library only).

The digest printed is the one a `docker pull IMAGE:TAG` would resolve to: the image index (manifest
list) when the tag names one, else the single manifest. The registry's Docker-Content-Digest header
is taken from a HEAD request; when a registry does not send it, the manifest is fetched and its
digest computed from its bytes, and a header that disagrees with those bytes is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from generator.pins import COMPONENT, HOST, TAG
from generator.pins import DIGEST as DIGEST_TEXT

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
TIMEOUT = 30
MAX_MANIFEST = 4 * 2**20  # the distribution registry refuses manifests past 4 MiB

DIGEST = re.compile(rf"^{DIGEST_TEXT}$")
PATH = re.compile(rf"{COMPONENT}(?:/{COMPONENT})*")


class ResolveError(Exception):
    """A reference gen-ci cannot resolve: the message says why, for the user."""


@dataclass(frozen=True)
class Reference:
    written: str  # IMAGE as the user wrote it, without the tag
    host: str  # the registry's API host (registry-1.docker.io for Docker Hub)
    repository: str  # the repository on that host (library/ for Docker Hub's official images)
    tag: str


def parse_reference(text: str) -> Reference:
    """IMAGE:TAG, with Docker's rule for the first component: a host when it holds a dot or a
    port or is localhost, else a Docker Hub namespace."""
    if "@" in text:
        raise ResolveError(f"{text}: already carries a digest; give IMAGE:TAG")
    first, slash, rest = text.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        host, remainder = first, rest
    else:
        host, remainder = "", text
    path, colon, tag = remainder.rpartition(":")
    if not colon or not PATH.fullmatch(path) or not re.fullmatch(TAG, tag) or host and not re.fullmatch(HOST, host):
        raise ResolveError(f"{text}: not IMAGE:TAG (such as aquasec/trivy:0.74.0 or ghcr.io/owner/tool:v1.2.3)")
    if not host or host in DOCKER_HUB_NAMES:
        api_host, repository = DOCKER_HUB, path if "/" in path else f"library/{path}"
    else:
        api_host, repository = host, path
    return Reference(text[: -len(tag) - 1], api_host, repository, tag)


def is_local(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("localhost", "127.0.0.1", "[::1]")


def _config_credentials(host: str) -> tuple[str, str] | None:
    """(username, password) for host from $DOCKER_CONFIG/config.json (else ~/.docker/config.json)
    `auths`; credential helpers and stores are not consulted."""
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = {"https://index.docker.io/v1/", *DOCKER_HUB_NAMES} if host == DOCKER_HUB else {host}
    for key, entry in auths.items():
        name = re.sub(r"^https?://", "", key).split("/", 1)[0]
        if (key in wanted or name in wanted) and isinstance(entry, dict):
            if isinstance(entry.get("auth"), str) and entry["auth"]:
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    raise ResolveError(f"{folder}/config.json: the auth of {key} is not base64 user:password") from None
                return user, password
            if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
                return entry["username"], entry["password"]
    return None


def _basic(credentials: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode("ascii")


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """('bearer', {realm, service, scope}) from a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'(?:^|,)\s*(\w+)="([^"]*)"', rest)}
    for key, value in re.findall(r'(?:^|,)\s*(\w+)=([^",\s]+)', rest):
        params.setdefault(key.lower(), value)
    return scheme.lower(), params


# Credentials ride as unredirected headers: a redirect never carries them on.
_OPENER = urllib.request.build_opener()
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local registry is never behind a proxy


def _open(request: urllib.request.Request, what: str):
    opener = _DIRECT if is_local(urllib.parse.urlsplit(request.full_url).netloc) else _OPENER
    try:
        return opener.open(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as error:
        return error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ResolveError(f"{what}: cannot reach {request.full_url}: {reason}") from None


class Client:
    def __init__(self, reference: Reference, plain_http: bool = False):
        self.reference = reference
        self.scheme = "http" if plain_http or is_local(reference.host) else "https"
        self.credentials = _config_credentials(reference.host)
        self.authorization: str | None = None
        self.label = f"{reference.written}:{reference.tag}"  # IMAGE:TAG as written, for messages

    def _token(self, params: dict[str, str]) -> str:
        realm = params.get("realm")
        if not realm:
            raise ResolveError(f"{self.label}: the registry asks for a token and names no realm")
        parsed = urllib.parse.urlsplit(realm)
        if parsed.scheme not in ("http", "https") or parsed.scheme == "http" and self.scheme != "http" and not is_local(parsed.netloc):
            raise ResolveError(f"{self.label}: refusing the token realm {realm}: not https")
        query = {key: params[key] for key in ("service",) if key in params}
        query["scope"] = params.get("scope") or f"repository:{self.reference.repository}:pull"
        url = realm + ("&" if parsed.query else "?") + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers={"User-Agent": "gen-ci"})
        if self.credentials:
            request.add_unredirected_header("Authorization", _basic(self.credentials))
        response = _open(request, self.label)
        with response:
            body = response.read(2**20)
        if response.getcode() in (401, 403):
            raise ResolveError(
                f"{self.label}: the registry's token service refused "
                + ("the credentials from the Docker config" if self.credentials else "an anonymous pull (log in: docker login " + self.reference.host + ")")
            )
        if response.getcode() != 200:
            raise ResolveError(f"{self.label}: the token service at {realm} answered HTTP {response.getcode()}")
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ResolveError(f"{self.label}: the token service at {realm} sent no token")
        return token

    def request(self, method: str) -> tuple[int, dict[str, str], bytes]:
        url = f"{self.scheme}://{self.reference.host}/v2/{self.reference.repository}/manifests/{urllib.parse.quote(self.reference.tag)}"
        for attempt in range(2):
            request = urllib.request.Request(url, method=method, headers={"Accept": ACCEPT, "User-Agent": "gen-ci"})
            if self.authorization:
                request.add_unredirected_header("Authorization", self.authorization)
            response = _open(request, self.label)
            with response:
                body = response.read(MAX_MANIFEST + 1) if method == "GET" else b""
            headers = {key.lower(): value for key, value in response.headers.items()}
            if response.getcode() == 401 and attempt == 0:
                scheme, params = _challenge(headers.get("www-authenticate", ""))
                if scheme == "bearer":
                    self.authorization = "Bearer " + self._token(params)
                    continue
                if scheme == "basic" and self.credentials:
                    self.authorization = _basic(self.credentials)
                    continue
            return response.getcode(), headers, body
        return response.getcode(), headers, body

    def _refused(self, status: int) -> ResolveError:
        written = self.label
        if status == 404:
            return ResolveError(f"{written}: the registry has no such tag (or repository) at {self.reference.host}/{self.reference.repository}")
        if status in (401, 403):
            how = "the credentials from the Docker config" if self.credentials else "an anonymous pull"
            return ResolveError(f"{written}: the registry refused {how} (HTTP {status}); check `docker login {self.reference.host}`")
        return ResolveError(f"{written}: the registry answered HTTP {status}")

    def digest(self) -> str:
        written = self.label
        status, headers, _ = self.request("HEAD")
        if status != 200 and status not in (405, 501):  # some mirrors do not answer HEAD
            raise self._refused(status)
        if status == 200:
            _media_type(headers, written)
            digest = headers.get("docker-content-digest", "")
            if digest:
                if not DIGEST.fullmatch(digest):
                    raise ResolveError(f"{written}: the registry sent the digest {digest[:80]!r}, not sha256:<64 hex>")
                return digest
        status, headers, body = self.request("GET")
        if status != 200:
            raise self._refused(status)
        if len(body) > MAX_MANIFEST:
            raise ResolveError(f"{written}: the manifest is larger than 4 MiB; no registry serves such a manifest")
        _media_type(headers, written)
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        claimed = headers.get("docker-content-digest")
        if claimed and claimed != computed:
            raise ResolveError(f"{written}: the registry says the manifest is {claimed}, but its bytes are {computed}; refusing it")
        return computed


def _media_type(headers: dict[str, str], written: str) -> None:
    kind = headers.get("content-type", "").split(";")[0].strip()
    if kind and kind not in INDEX_TYPES + MANIFEST_TYPES:
        raise ResolveError(f"{written}: the registry answered with {kind}, not an image index or manifest")


def resolve(text: str, plain_http: bool = False) -> str:
    """IMAGE:TAG@sha256:... for IMAGE:TAG, as written."""
    reference = parse_reference(text)
    return f"{text}@{Client(reference, plain_http).digest()}"
