#!/bin/sh
# The Python base image the build and compose tests use in place of python:3.11-slim:
# Debian bookworm minbase with python3, venv, pip, curl (for HEALTHCHECK) and useradd, as a
# docker-archive named swiftrun.test/python:3.11-slim. Like the official image it has
# `python` and `pip`, and pip installs system-wide (no EXTERNALLY-MANAGED marker).
# Usage: Sysroot/python-image.sh OUT.tar [MIRROR]   (downloads ~60 MB once)
set -eu
out=${1:?usage: python-image.sh OUT.tar [MIRROR]}
mirror=${2:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}
command -v debootstrap >/dev/null || { echo "python-image: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
work=$(mktemp -d /tmp/swiftrun-python-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,curl,ca-certificates bookworm "$work/rootfs" "$mirror" >/dev/null
r="$work/rootfs"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/*
rm -f "$r"/usr/lib/python3*/EXTERNALLY-MANAGED
ln -sf python3 "$r/usr/bin/python"
ln -sf pip3 "$r/usr/bin/pip"
tar --sort=name --mtime='2026-01-01 00:00:00Z' --numeric-owner -C "$r" -cf "$work/layer.tar" .
python3 - "$work/layer.tar" "$out.tmp" <<'PY'
import hashlib, io, json, sys, tarfile
layer, out = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
with open(layer, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
diff = "sha256:" + h.hexdigest()
config = {
    "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
               "Cmd": ["python3"]},
    "rootfs": {"type": "layers", "diff_ids": [diff]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "debootstrap --variant=minbase bookworm + python3 python3-venv python3-pip curl"}],
}
cbytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
cid = hashlib.sha256(cbytes).hexdigest()
manifest = json.dumps([{"Config": cid + ".json", "RepoTags": ["swiftrun.test/python:3.11-slim"],
                        "Layers": [diff[7:] + "/layer.tar"]}]).encode()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 0
        t.addfile(i, io.BytesIO(data))
    add(cid + ".json", cbytes)
    t.add(layer, arcname=diff[7:] + "/layer.tar")
    add("manifest.json", manifest)
PY
mv "$out.tmp" "$out"
echo "python image: $out ($(du -h "$out" | cut -f1))"
