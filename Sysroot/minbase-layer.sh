#!/bin/sh
# Builds a Debian bookworm minbase root filesystem with debootstrap and packs it as one
# gzip layer, for the unpack benchmark (about 50 MB gzip, 120 MB, 6,600 files).
# Deterministic packing: sorted names, fixed mtimes, numeric owners, gzip without a name
# or time. Usage: Sysroot/minbase-layer.sh OUT.tar.gz [MIRROR]
set -eu
out=${1:?usage: minbase-layer.sh OUT.tar.gz [MIRROR]}
mirror=${2:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}
command -v debootstrap >/dev/null || { echo "minbase-layer: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
work=$(mktemp -d /tmp/swiftrun-minbase.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >/dev/null
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar --sort=name --mtime='2026-01-01 00:00:00Z' --numeric-owner --xattrs -C "$work/rootfs" -cf - . | gzip -n -6 > "$out.tmp"
mv "$out.tmp" "$out"
echo "minbase layer: $out ($(du -h "$out" | cut -f1))"
