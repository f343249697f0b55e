#!/bin/bash
# swiftrun-runc under containerd against runc, side by side, in the cgroup-v2 VM (it needs a
# pure cgroup v2 kernel). `make bench` starts it through Sysroot/vm/run; inside the VM:
#   bench/containerd.sh --in-vm SWIFTRUN_RUNC OCI_IMAGE_TAR
# 1. `ctr run --rm IMAGE true`, hyperfine, both runtimes in one run.
# 2. Memory per container: N detached containers per runtime, then the PSS of every process
#    each one added (its shim, and anything the runtime left resident), sampled S times.
# QEMU runs with TCG here, so only ratios mean anything.
set -euo pipefail
if [ "${1:-}" != --in-vm ]; then
    bin=$1; tar=$2
    here=$(cd "$(dirname "$0")/.." && pwd)
    mkdir -p "$here/.build/tmp"
    exec "$here/Sysroot/vm/run" -t 1500 -- "$here/bench/containerd.sh" --in-vm "$bin/swiftrun-runc" "$tar"
fi
srunc=$2; tar=$3
N=${N:-6}; S=${S:-5}
dir=$(mktemp -d /tmp/swiftrun-bench-ctrd.XXXXXX)
sock=$dir/c.sock
cat > "$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
EOF
containerd --config "$dir/config.toml" > "$dir/log" 2>&1 &
cpid=$!
cleanup() {
    for id in $(ctr --address "$sock" task ls -q 2>/dev/null); do
        ctr --address "$sock" task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
        ctr --address "$sock" task delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$sock" container ls -q 2>/dev/null); do ctr --address "$sock" container rm "$id" >/dev/null 2>&1 || true; done
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null || true
    umount -R "$dir/root" "$dir/state" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
c() { ctr --address "$sock" "$@"; }
c image import "$tar" >/dev/null
image=$(c image ls -q | head -1)

echo "== ctr run --rm $image true (hyperfine) =="
hyperfine -N -w 2 -r "${RUNS:-15}" \
    -n swiftrun-runc "ctr --address $sock run --rm --runc-binary $srunc $image b-s true" \
    -n runc "ctr --address $sock run --rm --runc-binary /usr/sbin/runc $image b-r true"

# The PSS (kB) of a process and everything under it that is not the container's own.
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
memory() {
    local name=$1 bin=$2
    local before after
    before=$(ls /proc | grep -E '^[0-9]+$' | sort -n)
    for i in $(seq "$N"); do c run -d --runc-binary "$bin" "$image" "m-$name-$i" sleep 600 >/dev/null; done
    sleep 2
    # What the runtime and containerd added per container: every new process that is not
    # inside a container (the containers' own sleep is the same in both).
    local added=()
    for p in $(ls /proc | grep -E '^[0-9]+$' | sort -n | comm -13 <(echo "$before") -); do
        [ -r "/proc/$p/cgroup" ] || continue
        grep -q "m-$name-" "/proc/$p/cgroup" 2>/dev/null && continue
        added+=("$p")
    done
    local samples=()
    for s in $(seq "$S"); do
        local sum=0
        for p in "${added[@]}"; do sum=$((sum + $(pss "$p"))); done
        samples+=($((sum / N)))
        sleep 1
    done
    local names
    names=$(for p in "${added[@]}"; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c | awk '{printf "%s x%s, ", $2, $1}')
    printf '%-14s %d containers: PSS per container (kB), %d samples: %s  [processes added: %s]\n' \
        "$name" "$N" "$S" "${samples[*]}" "${names%, }"
    for i in $(seq "$N"); do
        c task kill -s SIGKILL "m-$name-$i" >/dev/null 2>&1 || true
    done
    sleep 1
    for i in $(seq "$N"); do c task delete -f "m-$name-$i" >/dev/null 2>&1 || true; c container rm "m-$name-$i" >/dev/null 2>&1 || true; done
}
echo "== memory per idle container =="
memory swiftrun-runc "$srunc"
memory runc /usr/sbin/runc
memory swiftrun-runc "$srunc"
memory runc /usr/sbin/runc
