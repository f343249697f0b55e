#!/usr/bin/env python3
"""Writes N random layers into OUTDIR (fuzz-0.tar ...), each a few entries built from the
pieces that make tar entries dangerous: "..", absolute paths, symlinks (to OUTSIDE, to /,
upwards), hard links, whiteouts and opaque markers, in random order, so that a later entry
may go through what an earlier one made. Deterministic: seed 4 gives the same corpus.
Usage: fuzz-layers.py OUTDIR OUTSIDE N"""
import io, os, random, sys, tarfile

out, outside, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rnd = random.Random(4)
parts = ["a", "b", "..", ".", "c", "a", "b"]

def path():
    p = "/".join(rnd.choice(parts) for _ in range(rnd.randint(1, 4)))
    return ("/" if rnd.random() < 0.15 else "") + p

def target():
    return rnd.choice([outside, outside + "/x", "/", "../" * rnd.randint(1, 5), "a", path(), "/etc", outside + "/../" + os.path.basename(outside)])

for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for _ in range(rnd.randint(2, 8)):
            kind = rnd.choice(["dir", "file", "file", "symlink", "symlink", "hardlink", "whiteout", "opaque"])
            name = path()
            if kind == "whiteout":
                name = name.rsplit("/", 1)[0] + "/.wh." + rnd.choice(["a", "b", "..", "x"]) if "/" in name else ".wh." + rnd.choice(["a", ".."])
            if kind == "opaque":
                name = name + "/.wh..wh..opq"
            ti = tarfile.TarInfo(name)
            ti.mtime = 1767225600
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = target()
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = rnd.choice([path(), outside + "/victim", "../" * 3 + "etc/passwd"])
                t.addfile(ti)
            else:
                data = b"fuzz\n"
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    with open(os.path.join(out, "fuzz-%d.tar" % i), "wb") as f:
        f.write(buf.getvalue())
