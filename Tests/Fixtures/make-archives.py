#!/usr/bin/env python3
"""Writes docker-save archives into OUTDIR that test the store rather than the unpacker: names
no String holds, loads refused half-way, names that are not references, and (with `big`) an
archive large enough to kill a load in the middle of. Usage: make-archives.py OUTDIR [big]"""
import gzip, hashlib, io, json, os, sys, tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def raw(b):
    """A tar name of arbitrary bytes (GNU format stores them as they are)."""
    return b.decode("utf-8", "surrogateescape")

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as t:
        for name, kind, data in entries:
            i = tarfile.TarInfo(name)
            i.mtime, i.mode = 1767225600, 0o755 if kind == "dir" else 0o644
            if kind == "dir":
                i.type = tarfile.DIRTYPE
                t.addfile(i)
            else:
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
    return buf.getvalue()

def archive(name, tags, layers, gz=False, claim=None, config=None):
    """gz: the layers stored gzipped, as Docker accepts (the diff IDs stay the uncompressed
    content's); claim: diff IDs to write instead of the true ones."""
    diff_ids, paths, files = [], [], {}
    for data in layers:
        h = hashlib.sha256(data).hexdigest()
        diff_ids.append("sha256:" + h)
        paths.append(h + "/layer.tar")
        files[h + "/layer.tar"] = gzip.compress(data, mtime=0) if gz else data
    if claim: diff_ids = claim
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                         "config": config or {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    ch = hashlib.sha256(config).hexdigest()
    files[ch + ".json"] = config
    files["manifest.json"] = json.dumps([{"Config": ch + ".json", "RepoTags": tags, "Layers": paths}]).encode()
    with tarfile.open(os.path.join(out, name), "w", format=tarfile.PAX_FORMAT) as t:
        for p, data in files.items():
            i = tarfile.TarInfo(p)
            i.size, i.mtime = len(data), 1767225600
            t.addfile(i, io.BytesIO(data))

weird = [("weird/", "dir", b""), (raw(b"weird/bad\xff\xfe"), "file", b"x"), ("weird/new\nline", "file", b"y"),
         ("weird/" + "a" * 250, "file", b"z"), (raw(b"weird/dir\xff/"), "dir", b""), (raw(b"weird/dir\xff/f\xfe"), "file", b"w")]
archive("weird-names.tar", ["weird:v1"], [layer(weird)])
archive("weird-names-2.tar", ["weird:v2"], [layer(weird + [("weird/second", "file", b"2")])])
archive("refused-midway.tar", ["refused:v1"], [layer([(raw(b"first\xff"), "file", b"x"), ("../escaped", "file", b"pwned")])])
deep = [("d/" * n, "dir", b"") for n in range(1, 2101)]
archive("too-deep.tar", ["deep:v1"], [layer(deep)])
archive("name-dotdot.tar", ["../../../x:v1"], [layer([("f", "file", b"x")])])
archive("name-upper.tar", ["Hostile/UPPER:v1"], [layer([("f", "file", b"x")])])
archive("name-newline.tar", ["name\nsplit:v1"], [layer([("f", "file", b"x")])])
archive("name-long-form.tar", ["docker.io/library/chatbot:v1"], [layer([("f", "file", b"x")])])
archive("gzip-layer.tar", ["gzipped:v1"], [layer([("etc/", "dir", b""), ("etc/hello", "file", b"gzipped\n")])], gz=True)
archive("gzip-layer-lies.tar", ["gzipped:v2"], [layer([("etc/hello", "file", b"other\n")])], gz=True,
        claim=["sha256:" + hashlib.sha256(b"not this layer").hexdigest()])

archive("volume-image.tar", ["withvolume:v1"], [layer([("data/", "dir", b""), ("data/seed", "file", b"from the image\n")])],
        config={"Cmd": ["/bin/sh"], "Volumes": {"/data": {}, "/cache": {}}})

if len(sys.argv) > 2 and sys.argv[2] == "big":
    # 96 MiB that does not compress, in 24 files: hashing and unpacking it take long enough
    # to be killed in either.
    rnd = open("/dev/urandom", "rb")
    archive("big.tar", ["big:v1"], [layer([("blob%02d" % i, "file", rnd.read(4 << 20)) for i in range(24)])])
