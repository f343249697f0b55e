#!/usr/bin/env python3
"""Builds the test images from the Sysroot busybox rootfs, deterministically.

Writes, under OUTDIR:
  busybox-oci/            an OCI image layout (index.json, oci-layout, blobs/sha256/...)
  busybox-oci.tar         the same layout as a tarball
  busybox-docker.tar      a `docker save` archive (manifest.json, repositories, <id>/layer.tar
                          symlinks to the blobs, as newer Docker writes them)

The image config is Docker's, written here because skopeo and umoci drop `Healthcheck`:
Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts, StopSignal, Labels, and a Healthcheck
with durations in nanoseconds. Two layers: the busybox rootfs, then the app (/www).
Same input → same bytes: sorted entries, fixed mtimes, gzip without a timestamp.

Usage: make-images.py ROOTFS OUTDIR
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

MTIME = 1767225600  # 2026-01-01T00:00:00Z
REF = "swiftrun.test/busybox-httpd:v1"


def tar_tree(root):
    """A deterministic uncompressed tar of a directory tree (numeric owners kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                entries.append(os.path.join(dirpath, name))
        for path in sorted(entries, key=lambda p: os.path.relpath(p, root)):
            info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
            info.mtime = MTIME
            info.uname = info.gname = ""
            info.pax_headers = {}
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def tar_files(files):
    """A tar of in-memory files: {path: (mode, bytes)} (directories end with '/')."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            mode, data = files[path]
            info = tarfile.TarInfo(path.rstrip("/"))
            info.mtime = MTIME
            info.mode = mode
            if path.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(data)
    return out.getvalue()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rootfs, out = sys.argv[1], sys.argv[2]
    if not os.path.isfile(os.path.join(rootfs, "bin/busybox")):
        sys.exit(f"make-images: {rootfs} is not the busybox rootfs (run Sysroot/busybox-rootfs.sh)")

    base = tar_tree(rootfs)
    app = tar_files({
        "www/": (0o755, b""),
        "www/index.html": (0o644, b"<h1>hello from swiftrun</h1>\n"),
        "www/health": (0o644, b"ok\n"),
    })
    layers = [base, app]
    gzipped = [gz(l) for l in layers]

    second = 1_000_000_000
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "User": "appuser",
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello"],
            "Entrypoint": ["httpd", "-f", "-v"],
            "Cmd": ["-p", "8080", "-h", "/www"],
            "WorkingDir": "/www",
            "ExposedPorts": {"8080/tcp": {}},
            "StopSignal": "SIGTERM",
            "Labels": {"org.opencontainers.image.title": "busybox-httpd"},
            "Healthcheck": {
                "Test": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"],
                "Interval": 2 * second,
                "Timeout": 1 * second,
                "StartPeriod": 5 * second,
                "StartInterval": second // 2,
                "Retries": 3,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]},
        "history": [
            {"created": "2026-01-01T00:00:00Z", "created_by": "Sysroot/busybox-rootfs.sh"},
            {"created": "2026-01-01T00:00:00Z", "created_by": "Sysroot/make-images.py: /www"},
        ],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()

    # OCI layout.
    oci = os.path.join(out, "busybox-oci")
    shutil.rmtree(oci, ignore_errors=True)
    blobs = os.path.join(oci, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        d = sha(data)
        with open(os.path.join(blobs, d.split(":")[1]), "wb") as f:
            f.write(data)
        return d

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(g), "size": len(g)}
                   for g in gzipped],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest["mediaType"], "digest": put(manifest_bytes), "size": len(manifest_bytes),
                       "annotations": {"org.opencontainers.image.ref.name": "v1",
                                       "io.containerd.image.name": REF}}],
    }
    with open(os.path.join(oci, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(oci, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def tar_dir(src, dst):
        data = tar_tree(src)
        with open(dst, "wb") as f:
            f.write(data)

    tar_dir(oci, os.path.join(out, "busybox-oci.tar"))

    # docker save archive: uncompressed layers; <id>/layer.tar are symlinks into blobs.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name, data=None, link=None):
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))

        add("blobs/")
        add("blobs/sha256/")
        layer_paths = []
        parent = ""
        for l in layers:
            digest = sha(l).split(":")[1]
            add("blobs/sha256/" + digest, l)
            layer_id = hashlib.sha256((parent + digest).encode()).hexdigest()
            add(layer_id + "/")
            add(layer_id + "/layer.tar", link="../blobs/sha256/" + digest)
            layer_paths.append(layer_id + "/layer.tar")
            parent = layer_id
        cfg = sha(config_bytes).split(":")[1]
        add("blobs/sha256/" + cfg, config_bytes)
        repo, tag = REF.rsplit(":", 1)
        add("manifest.json", json.dumps([{"Config": "blobs/sha256/" + cfg, "RepoTags": [REF],
                                          "Layers": layer_paths}]).encode())
        add("repositories", json.dumps({repo: {tag: parent}}).encode())
    with open(os.path.join(out, "busybox-docker.tar"), "wb") as f:
        f.write(buf.getvalue())
    print(f"images: {out}/busybox-oci, busybox-oci.tar, busybox-docker.tar ({REF}, config {sha(config_bytes)[:19]})")


if __name__ == "__main__":
    main()
