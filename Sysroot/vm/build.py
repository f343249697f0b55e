#!/usr/bin/env python3
"""Builds the cgroup-v2 test VM from Debian packages, without installing anything on the host.

Writes, under OUTDIR:
  vmlinux          Debian's generic kernel (linux-image-amd64's dependency), uncompressed from
                   the bzImage: it has a PVH entry note, and QEMU boots it about twice as fast
  initramfs.cpio   busybox-static, the modules that mount the host's / over virtio-9p
                   (virtio_pci, 9pnet_virtio, 9p, overlay, virtio_console) and Sysroot/vm/init
  kernel.txt       the package and version the two came from
The .deb is fetched once with `apt-get download` into OUTDIR/cache and unpacked with dpkg -x;
modules.dep comes from depmod run on that tree. The cpio is written here: sorted, mtime 0,
owner 0, so the same package gives the same bytes.

Usage: build.py OUTDIR
"""
import glob
import lzma
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WANTED = ["virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay"]
XZ_MAGIC = b"\xfd7zXZ\x00"


def kernel_package():
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    sys.exit("vm/build: apt-cache found no kernel behind linux-image-amd64: run apt-get update")


def fetch(cache, pkg):
    debs = sorted(glob.glob(os.path.join(cache, pkg + "_*.deb")))
    if debs:
        return debs[-1]
    os.makedirs(cache, exist_ok=True)
    print(f"vm/build: downloading {pkg} (about 70 MB, once)", flush=True)
    r = subprocess.run(["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True)
    debs = sorted(glob.glob(os.path.join(cache, pkg + "_*.deb")))
    if r.returncode != 0 or not debs:
        sys.exit(f"vm/build: apt-get download {pkg} failed: {r.stderr.strip()}")
    return debs[-1]


def vmlinux(bzimage):
    data = open(bzimage, "rb").read()
    at = data.find(XZ_MAGIC)
    if at < 0:
        sys.exit(f"vm/build: {bzimage}: no xz stream found (the kernel is not CONFIG_KERNEL_XZ?)")
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    out = d.decompress(data[at:])  # one stream; what follows it (the bzImage's tail) is ignored
    if not out.startswith(b"\x7fELF"):
        sys.exit(f"vm/build: {bzimage}: the xz stream at {at} is not an ELF kernel")
    return out


def module_order(tree, kver):
    """Module paths in an order where each comes after what it depends on."""
    base = os.path.join(tree, "lib/modules", kver)
    deps = {}
    for line in open(os.path.join(base, "modules.dep")):
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
    by_name = {os.path.basename(m)[:-3].replace("-", "_"): m for m in deps}
    order, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        for d in deps[m]:
            visit(d)
        order.append(m)

    for name in WANTED:
        if name not in by_name:
            continue  # built in
        visit(by_name[name])
    return base, order


def cpio(entries):
    """newc archive of (name, mode, data-or-None) entries; deterministic."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], start=1):
        data = data or b""
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0])
        out += hdr.encode() + nb
        out += b"\0" * ((4 - len(out) % 4) % 4)
        out += data
        out += b"\0" * ((4 - len(out) % 4) % 4)
    return bytes(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: build.py OUTDIR")
    outdir = os.path.abspath(sys.argv[1])
    pkg = kernel_package()
    deb = fetch(os.path.join(outdir, "cache"), pkg)
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:
        subprocess.run(["dpkg", "-x", deb, tmp], check=True)
        kver = os.listdir(os.path.join(tmp, "lib/modules"))[0]
        subprocess.run(["depmod", "-b", tmp, kver], check=True)
        kernel = vmlinux(os.path.join(tmp, "boot", "vmlinuz-" + kver))
        base, order = module_order(tmp, kver)
        entries = [("bin", 0o40755, None), ("lib", 0o40755, None), ("lib/modules", 0o40755, None),
                   ("bin/busybox", 0o100755, open("/bin/busybox", "rb").read()),
                   ("init", 0o100755, open(os.path.join(HERE, "init"), "rb").read())]
        names = []
        for m in order:
            n = os.path.basename(m)
            entries.append(("lib/modules/" + n, 0o100644, open(os.path.join(base, m), "rb").read()))
            names.append(n)
        entries.append(("modules", 0o100644, ("\n".join(names) + "\n").encode()))
        image = cpio(entries)
    for name, data in [("vmlinux", kernel), ("initramfs.cpio", image),
                       ("kernel.txt", f"{os.path.basename(deb)} {kver}\n".encode())]:
        with open(os.path.join(outdir, name + ".tmp"), "wb") as f:
            f.write(data)
        os.replace(os.path.join(outdir, name + ".tmp"), os.path.join(outdir, name))
    print(f"vm/build: {os.path.basename(deb)}: vmlinux {len(kernel) >> 20} MiB, initramfs {len(image) >> 10} KiB "
          f"({len(names)} modules)")


if __name__ == "__main__":
    main()
