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
# umoci unpacks from an OCI layout: one holding just this layer (config and manifest made here).
layout="$work/layout"
python3 - "$layer" "$layout" <<'PY'
import hashlib, json, os, shutil, subprocess, sys
layer, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(out + "/blobs/sha256/" + d, "wb").write(data)
    return "sha256:" + d, len(data)
ld = hashlib.sha256(open(layer, "rb").read()).hexdigest()
shutil.copy(layer, out + "/blobs/sha256/" + ld)
diff = "sha256:" + hashlib.sha256(subprocess.run(["gzip", "-dc", layer], capture_output=True, check=True).stdout).hexdigest()
cfg, csize = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode())
man, msize = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": csize},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + ld,
                "size": os.path.getsize(layer)}]}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man,
           "size": msize, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, open(out + "/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
PY
umoci_tpl=()
if command -v umoci >/dev/null; then umoci_tpl=(-n "umoci unpack (WHERE)" "umoci unpack --image $layout:bench WHERE_DIR/out"); fi
echo "Layer unpack: $(basename "$layer") ($(du -h "$layer" | cut -f1) gzip, $(gzip -dc "$layer" | wc -c | numfmt --to=iec) tar), $(date -u +%F), $(nproc) cores"
for where in tmpfs disk; do
    d="$work/$where"
    umoci=("${umoci_tpl[@]//WHERE_DIR/$d}")
    umoci=("${umoci[@]//(WHERE)/($where)}")
    hyperfine --warmup 1 --runs ${BENCH_RUNS:-5} --prepare "rm -rf $d/out $d/out.partial-*" \
        -n "swiftrun unpack ($where)" "$bin/swiftrun debug unpack-layer $layer $d/out" \
        -n "tar -xzf ($where)" "mkdir $d/out && tar --numeric-owner --xattrs -xzf $layer -C $d/out" \
        "${umoci[@]}" \
        -n "floor: gzip -dc > /dev/null" "gzip -dc $layer > /dev/null" \
        --export-markdown "$work/$where.md" >/dev/null
    cat "$work/$where.md"
    echo
done
