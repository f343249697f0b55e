#!/usr/bin/env bash
# `make demo`: what works today, end to end, on the busybox rootfs from Sysroot.
# (Images, the engine, published ports and health checks arrive with their issues.)
set -euo pipefail
bin=${1:?bin dir}; rootfs=${2:?rootfs}
work=$(mktemp -d /tmp/swiftrun-demo.XXXXXX)
R="$bin/swiftrun-runc --root $work/state"
trap '$R delete -f demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/bundle"; ln -s "$rootfs" "$work/bundle/rootfs"
$R spec --bundle "$work/bundle"
jq '.process.terminal=false | .process.args=["sh","-c","echo \"hello from $(hostname), pid $$, user $(id -un)\"; grep -E \"^(CapEff|NoNewPrivs|Seccomp):\" /proc/self/status; ls /sys/class/net"]' \
   "$work/bundle/config.json" > "$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"
echo "== swiftrun oci run (foreground, exit code passes through)"
$bin/swiftrun oci --root "$work/state" run --bundle "$work/bundle" demo
echo "== create, state, start, kill, delete of a long-running container"
jq '.process.args=["sleep","30"]' "$work/bundle/config.json" > "$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"
$R create --bundle "$work/bundle" demo
$R state demo | jq -c '{id,status,pid}'
$R start demo
$R list
$R kill demo KILL
sleep 0.2
$R state demo | jq -c '{id,status}'
$R delete demo
echo "== done: nothing left (state root: $(ls "$work/state" | wc -l) entries)"
