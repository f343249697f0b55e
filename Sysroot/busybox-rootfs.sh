#!/bin/sh
# Builds the busybox root filesystem the tests use, from Debian's busybox-static.
# Deterministic: same package version → same tree (fixed mtimes, sorted, no host data).
# Usage: Sysroot/busybox-rootfs.sh OUTDIR
set -eu
out=${1:?usage: busybox-rootfs.sh OUTDIR}
bb=/bin/busybox
[ -x "$bb" ] && file -L "$bb" 2>/dev/null | grep -q 'statically linked' || {
    echo "busybox-rootfs: $bb is missing or not static: apt-get install busybox-static (make deps)" >&2; exit 1; }
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin etc root tmp proc sys dev home/app app var/log
chmod 1777 tmp
cp "$bb" bin/busybox
for applet in $("$bb" --list-full | sort); do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$(dirname "$applet")"
    ln -sf /bin/busybox "$applet"
done
cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
appuser:x:1000:1000:app user:/home/app:/bin/sh
P
cat > etc/group <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
users:x:100:appuser
appuser:x:1000:
extra:x:2000:appuser
nogroup:x:65534:
G
echo "swiftrun" > etc/hostname
chown 1000:1000 home/app
find . -exec touch -h -d '2026-01-01 00:00:00 UTC' {} +
cd - >/dev/null
rm -rf "$out"
mv "$tmp" "$out"
echo "busybox rootfs: $out ($(find "$out" | wc -l) entries)"
