#!/usr/bin/env python3
"""Writes test layers into OUTDIR: one legitimate layer using every entry type, and a
corpus of hostile or broken ones, each named for what it tries. OUTSIDE is a directory
the hostile layers aim at. Usage: make-layers.py OUTDIR OUTSIDE"""
import gzip, io, os, sys, tarfile

out, outside = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)

def entry(tar, name, type=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="", dev=(0, 0), pax=None):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.uid, i.gid, i.mtime = type, mode, uid, gid, 1767225600
    i.linkname = link
    i.devmajor, i.devminor = dev
    if pax: i.pax_headers = pax
    if type == tarfile.REGTYPE:
        i.size = len(data)
        tar.addfile(i, io.BytesIO(data))
    else:
        tar.addfile(i)

def write(name, build, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    data = buf.getvalue()
    if gz: data = gzip.compress(data, mtime=0)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return data

def good(t):
    entry(t, "etc/", tarfile.DIRTYPE, mode=0o755)
    entry(t, "etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n")
    entry(t, "bin/", tarfile.DIRTYPE, mode=0o755)
    entry(t, "bin/su", data=b"#!/bin/sh\n", mode=0o4755, uid=0, gid=0)
    entry(t, "home/app/", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000)
    entry(t, "home/app/notes", data=b"x" * 100000, mode=0o600, uid=1000, gid=1000)
    entry(t, "bin/sh", tarfile.SYMTYPE, link="/bin/busybox")
    entry(t, "bin/su-again", tarfile.LNKTYPE, link="bin/su")
    entry(t, "run/fifo", tarfile.FIFOTYPE, mode=0o600)
    entry(t, "dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
    entry(t, "etc/.wh.removed", data=b"")
    entry(t, "var/cache/.wh..wh..opq", data=b"")
    entry(t, "/abs/file", data=b"absolute paths stay inside\n")
    entry(t, "./dot/file", data=b"dot\n")
    entry(t, "etc/xattr", data=b"x", pax={"SCHILY.xattr.user.swiftrun": "yes"})

write("good.tar.gz", good, gz=True)
write("good.tar", good)
write("escape-dotdot.tar", lambda t: entry(t, "../escaped", data=b"pwned"))
write("escape-dotdot-deep.tar", lambda t: entry(t, "a/b/../../../escaped", data=b"pwned"))
write("escape-symlink-parent.tar", lambda t: (entry(t, "link", tarfile.SYMTYPE, link=outside),
                                              entry(t, "link/escaped", data=b"pwned")))
write("escape-symlink-relative.tar", lambda t: (entry(t, "up", tarfile.SYMTYPE, link="../../../../../../" + outside.lstrip("/")),
                                                entry(t, "up/escaped", data=b"pwned")))
write("escape-hardlink.tar", lambda t: entry(t, "h", tarfile.LNKTYPE, link="../../../../etc/passwd"))
write("escape-hardlink-via-symlink.tar", lambda t: (entry(t, "l", tarfile.SYMTYPE, link="/etc"),
                                                    entry(t, "h", tarfile.LNKTYPE, link="l/passwd")))
write("escape-whiteout.tar", lambda t: entry(t, "dir/.wh..", data=b""))
data = write("truncated.tar.gz", good, gz=True)
with open(os.path.join(out, "truncated.tar.gz"), "wb") as f:
    f.write(data[: len(data) // 2])
open(os.path.join(out, "empty"), "wb").close()
with open(os.path.join(out, "not-a-tar"), "wb") as f:
    f.write(b"this is not a tar archive at all\n" * 40)
