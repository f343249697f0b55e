#!/usr/bin/env python3
"""Wraps one layer tar (a root file system, packed deterministically by the caller) as a
docker-save archive with the given image config and names, for the Sysroot images.
Usage: docker-archive.py LAYER.tar OUT.tar CONFIG_JSON NAME[:TAG]...
CONFIG_JSON is the image config's "config" object and "history" text as
{"config": {...}, "created_by": "..."}; rootfs and the rest are filled in here."""
import hashlib, io, json, sys, tarfile

layer, out, spec, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
h = hashlib.sha256()
with open(layer, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
diff = "sha256:" + h.hexdigest()
config = {
    "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
    "config": spec["config"],
    "rootfs": {"type": "layers", "diff_ids": [diff]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": spec["created_by"]}],
}
cbytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
cid = hashlib.sha256(cbytes).hexdigest()
manifest = json.dumps([{"Config": cid + ".json", "RepoTags": names, "Layers": [diff[7:] + "/layer.tar"]}]).encode()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        i.mtime = 0
        t.addfile(i, io.BytesIO(data))
    add(cid + ".json", cbytes)
    t.add(layer, arcname=diff[7:] + "/layer.tar")
    add("manifest.json", manifest)
