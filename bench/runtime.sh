#!/usr/bin/env bash
# Runtime core benchmark: a busybox `true` bundle, created, started and deleted, by
# swiftrun-runc, runc and crun in one hyperfine run.
#
# Runs inside bench/cgroup-sandbox.sh, so no runtime touches cgroup v1 or the host's root cgroup.
# Usage: bench/runtime.sh BIN_DIR ROOTFS   (make bench)
set -euo pipefail
bin=${1:?bin dir}; rootfs=${2:?rootfs}
if [ -z "${SWIFTRUN_SANDBOXED:-}" ]; then
    exec "$(dirname "$0")/cgroup-sandbox.sh" "$0" "$@"
fi
work=$(mktemp -d /tmp/swiftrun-bench.XXXXXX)
cleanup() {
    "$bin/swiftrun-runc" --root "$work/sr" delete -f b >/dev/null 2>&1 || true
    runc --root "$work/runc" delete -f b >/dev/null 2>&1 || true
    crun --root "$work/crun" delete -f b >/dev/null 2>&1 || true
    umount "$work/bundle/rootfs" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bundle/rootfs"
mount --bind -o ro "$rootfs" "$work/bundle/rootfs" # runc refuses a symlinked rootfs
"$bin/swiftrun-runc" spec --bundle "$work/bundle"
jq '.ociVersion="1.0.2" | .process.terminal=false | .process.args=["true"] | .linux.cgroupsPath="/swiftrun-bench/b"' \
   "$work/bundle/config.json" > "$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"

B="--bundle $work/bundle"
sr="$bin/swiftrun-runc --root $work/sr"
runc="runc --root $work/runc"
crun="crun --root $work/crun"
cmds=(-n "swiftrun-runc run" "$sr run $B b" -n "runc run" "$runc run $B b")
have_crun=0
if command -v crun >/dev/null && $crun run $B b >/dev/null 2>&1; then
    have_crun=1
    cmds+=(-n "crun run" "$crun run $B b")
else
    echo "crun: not measured ($(command -v crun >/dev/null && echo 'it failed here' || echo 'not installed'))"
fi
cmds+=(-n "swiftrun-runc create+start+delete" "$sr create $B b && $sr start b && $sr delete -f b"
       -n "runc create+start+delete" "$runc create $B b && $runc start b && $runc delete -f b")
[ $have_crun = 1 ] && cmds+=(-n "crun create+start+delete" "$crun create $B b && $crun start b && $crun delete -f b")
cmds+=(-n "floor: fork+exec true" "$rootfs/bin/true")
hyperfine --warmup 5 --runs ${BENCH_RUNS:-50} --export-markdown "$work/table.md" "${cmds[@]}" >/dev/null
echo "Runtime core, busybox 'true' bundle: $(date -u +%F), $(nproc) cores, kernel $(uname -r),"
echo "runc $(runc --version | head -1 | awk '{print $3}')$([ $have_crun = 1 ] && echo ", crun $(crun --version | head -1 | awk '{print $3}')")"
cat "$work/table.md"
