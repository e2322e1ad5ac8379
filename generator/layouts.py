"""The OCI layout of a tested image, made inside GitLab CI by a pinned Python image.

gen-ci never imports this file: multi-platform GitLab pipelines carry its text and run it with
`python3 -c "$GEN_CI_LAYOUT" IMAGE_ID PLATFORM`, so it must stay standard-library only and fit
Python 3.9 and later.

Standard input is `docker save` of one image; standard output is a tar of an OCI image layout
holding that image, its layers compressed as a push would, tagged candidate. It first checks that
IMAGE_ID (the image the tests ran) names this image and that its platform is PLATFORM, and exits
1 otherwise.
"""

import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile


class LayoutError(Exception):
    pass


def _blob(directory, data_or_path):
    """Store a blob under its digest; returns (digest, size)."""
    digest = hashlib.sha256()
    temporary = os.path.join(directory, "incoming")
    with open(temporary, "wb") as out:
        if isinstance(data_or_path, bytes):
            out.write(data_or_path)
            digest.update(data_or_path)
        else:
            with open(data_or_path, "rb") as source:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    out.write(chunk)
                    digest.update(chunk)
    size = os.path.getsize(temporary)
    os.replace(temporary, os.path.join(directory, "blobs", "sha256", digest.hexdigest()))
    return "sha256:" + digest.hexdigest(), size


GZIP = b"\x1f\x8b"
ZSTD = b"\x28\xb5\x2f\xfd"


def _compressed_layer(saved, member, directory):
    """One saved layer as a push would send it: (media type, file, digest of its uncompressed
    bytes, or None where the standard library cannot read it).

    The classic store saves layers uncompressed: they are gzipped here, with no timestamp or
    name, so the same layer always compresses alike. The containerd store saves them as it holds
    them, already compressed: they are kept as they are.
    """
    path = os.path.join(directory, "layer")
    uncompressed = hashlib.sha256()
    with saved.extractfile(member) as source:
        head = source.read(4)
        source.seek(0)
        if head.startswith(GZIP):
            with open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            with gzip.open(path, "rb") as layer:
                for chunk in iter(lambda: layer.read(1 << 20), b""):
                    uncompressed.update(chunk)
            return "application/vnd.oci.image.layer.v1.tar+gzip", path, "sha256:" + uncompressed.hexdigest()
        if head.startswith(ZSTD):
            with open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            return "application/vnd.oci.image.layer.v1.tar+zstd", path, None
        with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                uncompressed.update(chunk)
                out.write(chunk)
    return "application/vnd.oci.image.layer.v1.tar+gzip", path, "sha256:" + uncompressed.hexdigest()


def _saved_names(saved, config_digest):
    """Every digest the daemon may call this image by: its configuration (the classic store's
    image ID) and each saved manifest or index that leads to it (the containerd store's)."""
    names = {config_digest}

    def leads_to_config(digest, depth=0):
        try:
            document = json.load(saved.extractfile("blobs/sha256/" + digest.split(":", 1)[1]))
        except (KeyError, ValueError):
            return False
        if (document.get("config") or {}).get("digest") == config_digest:
            return True
        return depth < 2 and any(leads_to_config(entry["digest"], depth + 1) for entry in document.get("manifests") or [])

    try:
        index = json.load(saved.extractfile("index.json"))
    except KeyError:
        return names
    for entry in index.get("manifests") or []:
        if leads_to_config(entry["digest"]):
            names.add(entry["digest"])
    return names


def oci_layout(image_id, platform, stdin, stdout):
    with tempfile.TemporaryDirectory() as work:
        archive = os.path.join(work, "saved.tar")
        with open(archive, "wb") as out:
            shutil.copyfileobj(stdin, out, 1 << 20)
        layout = os.path.join(work, "layout")
        os.makedirs(os.path.join(layout, "blobs", "sha256"))
        with tarfile.open(archive) as saved:
            manifests = json.load(saved.extractfile("manifest.json"))
            if len(manifests) != 1:
                raise LayoutError("the saved archive holds %d images; save exactly one" % len(manifests))
            config_bytes = saved.extractfile(manifests[0]["Config"]).read()
            config = json.loads(config_bytes)
            config_digest, config_size = _blob(layout, config_bytes)
            if image_id not in _saved_names(saved, config_digest):
                raise LayoutError("the saved image is %s, not the tested %s" % (config_digest, image_id))
            variant = None if (config.get("architecture"), config.get("variant")) == ("arm64", "v8") else config.get("variant")
            saved_platform = "/".join(part for part in (config.get("os"), config.get("architecture"), variant) if part)
            if saved_platform != platform:
                raise LayoutError("the saved image is for %s, not %s" % (saved_platform, platform))
            layers = []
            for index, name in enumerate(manifests[0]["Layers"]):
                media_type, path, diff_id = _compressed_layer(saved, saved.getmember(name), work)
                if diff_id is not None and diff_id != config["rootfs"]["diff_ids"][index]:
                    raise LayoutError("layer %d does not match the image's configuration" % index)
                digest, size = _blob(layout, path)
                layers.append({"mediaType": media_type, "digest": digest, "size": size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": layers,
        }
        manifest_digest, manifest_size = _blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
        descriptor_platform = {"architecture": config["architecture"], "os": config["os"]}
        if config.get("variant"):
            descriptor_platform["variant"] = config["variant"]
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": manifest["mediaType"], "digest": manifest_digest, "size": manifest_size,
                "platform": descriptor_platform, "annotations": {"org.opencontainers.image.ref.name": "candidate"},
            }],
        }
        with open(os.path.join(layout, "index.json"), "w") as out:
            json.dump(index, out, separators=(",", ":"))
        with open(os.path.join(layout, "oci-layout"), "w") as out:
            out.write('{"imageLayoutVersion":"1.0.0"}')
        with tarfile.open(fileobj=stdout, mode="w|") as out:
            for root, _, files in sorted(os.walk(layout)):
                for name in sorted(files):
                    path = os.path.join(root, name)
                    info = out.gettarinfo(path, os.path.relpath(path, layout))
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    with open(path, "rb") as source:
                        out.addfile(info, source)
        sys.stderr.write("%s for %s: manifest %s, %d layers\n" % (image_id, platform, manifest_digest, len(layers)))


def main(argv, stdin, stdout):
    if len(argv) != 2:
        sys.stderr.write("usage: IMAGE_ID PLATFORM < saved.tar > layout.tar\n")
        return 2
    try:
        oci_layout(argv[0], argv[1], stdin, stdout)
    except LayoutError as error:
        sys.stderr.write("layout: %s\n" % error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdin.buffer, sys.stdout.buffer))
