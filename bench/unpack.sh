#!/usr/bin/env bash
# Layer unpack benchmark: a Debian minbase layer unpacked by swiftrun, tar -xzf and
# umoci (when installed), with the gzip -dc floor, into tmpfs and onto disk, in one
# hyperfine run each. Usage: bench/unpack.sh BIN_DIR LAYER.tar.gz
set -euo pipefail
bin=${1:?bin dir}; layer=${2:?layer}
work=$(mktemp -d /tmp/swiftrun-unpack.XXXXXX)
tmpfs="$work/tmpfs"
mkdir -p "$tmpfs" "$work/disk"
mount -t tmpfs -o size=1g tmpfs "$tmpfs"
trap 'umount "$tmpfs" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "Layer unpack: $(basename "$layer") ($(du -h "$layer" | cut -f1) gzip, $(gzip -dc "$layer" | wc -c | numfmt --to=iec) tar), $(date -u +%F), $(nproc) cores"
for where in tmpfs disk; do
    d="$work/$where"
    hyperfine --warmup 1 --runs ${BENCH_RUNS:-5} --prepare "rm -rf $d/out $d/out.partial-*" \
        -n "swiftrun unpack ($where)" "$bin/swiftrun debug unpack-layer $layer $d/out" \
        -n "tar -xzf ($where)" "mkdir $d/out && tar --numeric-owner --xattrs -xzf $layer -C $d/out" \
        -n "floor: gzip -dc > /dev/null" "gzip -dc $layer > /dev/null" \
        --export-markdown "$work/$where.md" >/dev/null
    cat "$work/$where.md"
    echo
done
