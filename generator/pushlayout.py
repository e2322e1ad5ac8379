"""Put a kept candidate into a job's own registry by digest, made inside GitLab CI by a pinned Python image.

gen-ci never imports this file: GitLab pipelines whose images are built from images carry its
text and run it with `python3 -c "$GEN_CI_PUSH_LAYOUT" REGISTRY REPOSITORY`, so it must
stay standard-library only and fit Python 3.9 and later.

Standard input is a tar of the OCI image layout a base image's candidate job kept (see
layouts.py: exactly the image its tests ran, tagged candidate). Its manifest and every blob are
checked against their digests, then pushed to the plain-HTTP registry at REGISTRY (the job's
own, on its daemon) under REPOSITORY, the manifest by its digest, with the OCI distribution API.
Standard output is that digest; exit 1 on any mismatch or refusal.
"""

import hashlib
import json
import os
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


class PushError(Exception):
    pass


def _checked(layout, digest):
    """The path of a blob of the layout, after checking its bytes hash to its digest."""
    algorithm, _, hexadecimal = digest.partition(":")
    if algorithm != "sha256" or len(hexadecimal) != 64 or not all(c in "0123456789abcdef" for c in hexadecimal):
        raise PushError("not a sha256 digest: %r" % digest)
    path = os.path.join(layout, "blobs", "sha256", hexadecimal)
    computed = hashlib.sha256()
    with open(path, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            computed.update(chunk)
    if "sha256:" + computed.hexdigest() != digest:
        raise PushError("the layout's blob %s does not hash to its digest" % digest)
    return path


def _request(method, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def _ready(base):
    """The registry was just started: wait up to a minute for it to answer."""
    for _ in range(60):
        try:
            status, _ = _request("GET", base + "/")
            if status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(1)
    raise PushError("the registry at %s never answered" % base)


def push(layout, registry, repository):
    with open(os.path.join(layout, "index.json"), "rb") as index_file:
        index = json.load(index_file)
    tagged = [m for m in index.get("manifests") or [] if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == "candidate"]
    if len(tagged) != 1:
        raise PushError("the layout tags %d images candidate; a kept candidate tags exactly one" % len(tagged))
    digest = tagged[0]["digest"]
    with open(_checked(layout, digest), "rb") as manifest_file:
        manifest_bytes = manifest_file.read()
    manifest = json.loads(manifest_bytes)
    _ready("http://%s/v2" % registry)
    base = "http://%s/v2/%s" % (registry, repository)
    for blob in [manifest["config"]] + manifest["layers"]:
        path = _checked(layout, blob["digest"])
        status, _ = _request("HEAD", "%s/blobs/%s" % (base, blob["digest"]))
        if status == 200:
            continue
        status, headers = _request("POST", base + "/blobs/uploads/", data=b"")
        if status != 202 or "Location" not in headers:
            raise PushError("the registry refused an upload (%s)" % status)
        location = urllib.parse.urljoin(base + "/", headers["Location"])
        location += ("&" if "?" in location else "?") + urllib.parse.urlencode({"digest": blob["digest"]})
        with open(path, "rb") as body:
            status, _ = _request("PUT", location, data=body, headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(os.path.getsize(path))})
        if status != 201:
            raise PushError("the registry refused blob %s (%s)" % (blob["digest"], status))
    status, headers = _request("PUT", "%s/manifests/%s" % (base, digest), data=manifest_bytes,
                               headers={"Content-Type": manifest["mediaType"]})
    if status != 201 or headers.get("Docker-Content-Digest", digest) != digest:
        raise PushError("the registry refused the manifest %s (%s)" % (digest, status))
    return digest


def main(argv, stdin, stdout):
    if len(argv) != 3:
        sys.stderr.write("usage: python3 -c \"$GEN_CI_PUSH_LAYOUT\" REGISTRY REPOSITORY < layout.tar\n")
        return 2
    with tempfile.TemporaryDirectory() as layout:
        try:
            with tarfile.open(fileobj=stdin, mode="r|") as archive:
                for member in archive:
                    if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in member.name.split("/"):
                        raise PushError("the layout holds %r, which is no plain file inside it" % member.name)
                    archive.extract(member, layout, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            stdout.write(push(layout, argv[1], argv[2]) + "\n")
        except (PushError, OSError, KeyError, ValueError, tarfile.TarError) as error:
            sys.stderr.write("gen-ci: %s\n" % error)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, sys.stdin.buffer, sys.stdout))
