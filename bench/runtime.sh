#!/usr/bin/env bash
# Runtime core benchmark: a busybox `true` bundle, created, started and deleted, by
# swiftrun-runc and by runc (and crun, where it runs) in one hyperfine run.
# Usage: bench/runtime.sh BIN_DIR ROOTFS   (make bench)
set -euo pipefail
bin=${1:?bin dir}; rootfs=${2:?rootfs}
work=$(mktemp -d /tmp/swiftrun-bench.XXXXXX)
trap 'for r in "$work"/state-*; do for c in $(ls "$r" 2>/dev/null); do "$bin/swiftrun-runc" --root "$r" delete -f "$c" 2>/dev/null || true; done; done
      runc --root "$work/runc" delete -f b 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/bundle"
ln -s "$rootfs" "$work/bundle/rootfs"
"$bin/swiftrun-runc" spec --bundle "$work/bundle"
jq '.process.terminal=false | .process.args=["true"]' "$work/bundle/config.json" > "$work/c.json"
mv "$work/c.json" "$work/bundle/config.json"

sr="$bin/swiftrun-runc --root $work/state-sr"
cmds=(-n "swiftrun-runc run" "$sr run --bundle $work/bundle b"
      -n "runc run" "runc --root $work/runc run --bundle $work/bundle b"
      -n "swiftrun-runc create+start+delete" "$sr create --bundle $work/bundle b && $sr start b && $sr delete -f b"
      -n "runc create+start+delete" "runc --root $work/runc create --bundle $work/bundle b && runc --root $work/runc start b && runc --root $work/runc delete -f b")
if command -v crun >/dev/null && crun --root "$work/crun" run --bundle "$work/bundle" b >/dev/null 2>&1; then
    cmds+=(-n "crun run" "crun --root $work/crun run --bundle $work/bundle b")
else
    echo "crun: not run ($(command -v crun >/dev/null && echo 'refuses on this host: hybrid cgroups' || echo 'not installed'))"
fi
cmds+=(-n "floor: fork+exec true" "$rootfs/bin/true")
hyperfine -N --warmup 5 --runs 40 --export-markdown "$work/table.md" "${cmds[@]}" >/dev/null
echo "Runtime core: busybox 'true' bundle, $(date -u +%F), $(nproc) cores, kernel $(uname -r)"
cat "$work/table.md"
