#!/usr/bin/env bash
# Engine and health-check benchmarks (issues 4 and 5), side by side where a peer exists:
#  - `swiftrun run --rm --network none IMAGE true` end to end, against runc on a prepared
#    bundle (a new, unconfigured netns, like none), and the same on the default bridge in a
#    loop (warm) and cold;
#  - supervisor memory per idle container (RSS and PSS; conmon measured 2.2-2.5 MB RSS here),
#    in swiftrun-idle and, without it, idling in place; its CPU per probe wake, both ways;
#  - `ps -a` with 100 containers; `logs --tail 10` of a 1 MiB and a 1 GiB log;
#  - log throughput: 1 GiB through the supervisor vs the same process writing to a file;
#  - health probes: per-probe cost against `nsenter -a true`, scheduling drift at 100 ms.
# Runs inside bench/cgroup-sandbox.sh. Usage: bench/engine.sh BIN_DIR ROOTFS IMAGE_TAR
set -euo pipefail
bin=${1:?bin dir}; rootfs=${2:?rootfs}; tar=${3:?image tar}
if [ -z "${SWIFTRUN_SANDBOXED:-}" ]; then
    exec "$(dirname "$0")/cgroup-sandbox.sh" "$0" "$@"
fi
work=$(mktemp -d /tmp/swiftrun-bench-engine.XXXXXX)
S="$bin/swiftrun"
st="--root $work/store"
img=swiftrun.test/busybox-httpd:v1
cleanup() {
    for id in $($S ps -aq --no-trunc $st 2>/dev/null); do $S rm -f $st "$id" >/dev/null 2>&1 || true; done
    runc --root "$work/runc" delete -f b >/dev/null 2>&1 || true
    umount "$work/bundle/rootfs" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
$S load $st -i "$tar" >/dev/null
echo "Engine: $(date -u +%F), $(nproc) cores, kernel $(uname -r), runc $(runc --version | head -1 | awk '{print $3}')"

mkdir -p "$work/bundle/rootfs"
mount --bind -o ro "$rootfs" "$work/bundle/rootfs"
"$bin/swiftrun-runc" spec --bundle "$work/bundle"
jq '.ociVersion="1.0.2" | .process.terminal=false | .process.args=["true"] | .linux.cgroupsPath="/swiftrun-bench/b"' \
   "$work/bundle/config.json" > "$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"
echo; echo "### run --rm true, end to end"
# The default network with no other container: after the first run the bridge stays warm
# for the next (HostNetwork.lingerNanos), as a loop of `run --rm` finds docker0.
hyperfine --warmup 3 --runs ${BENCH_RUNS:-30} --export-markdown "$work/run.md" \
    -n "swiftrun run --rm --network none IMAGE true" "$S run --rm $st --no-healthcheck --network none --entrypoint true $img" \
    -n "swiftrun run --rm IMAGE true (default bridge, a loop)" "$S run --rm $st --no-healthcheck --entrypoint true $img" \
    -n "runc run (prepared bundle)" "runc --root $work/runc run --bundle $work/bundle b" >/dev/null
cat "$work/run.md"
# Cold: the run makes the bridge and its table (after the linger took the last one down).
hyperfine --runs 5 --prepare "sleep 6" --export-markdown "$work/run.md" \
    -n "swiftrun run --rm IMAGE true (default bridge, cold)" "$S run --rm $st --no-healthcheck --entrypoint true $img" >/dev/null
tail -n +3 "$work/run.md"
command -v podman >/dev/null || echo "podman: not installed here (FACTS.md measured podman run --rm at 470-650 ms)"

echo; echo "### supervisor memory, 10 idle containers"
# A supervisor execs swiftrun-idle a second after its last event (without it: gives back
# what it touched and waits in place); the image's health check (every 2 s after a 5 s
# start period with probes every 0.5 s) wakes it. The probe (wget of httpd's /health)
# fails under `sleep`: unhealthy, probing all the same.
probed=$(for i in $(seq 10); do $S run -d $st --entrypoint sleep $img 1000; done)
idle=$(for i in $(seq 10); do $S run -d $st --no-healthcheck --entrypoint sleep $img 1000; done)
inplace=$(for i in $(seq 10); do SWIFTRUN_IDLE=/nonexistent $S run -d $st --no-healthcheck --entrypoint sleep $img 1000; done)
probedInPlace=$(for i in $(seq 10); do SWIFTRUN_IDLE=/nonexistent $S run -d $st --entrypoint sleep $img 1000; done)
sleep 8 # past the start period
sup() { jq .SupervisorPid "$work/store/containers/$1/state.json"; }
oncpu() { # IDS...: their supervisors' CPU time so far, ns (schedstat: they are single-threaded)
    local t=0 id; for id in "$@"; do t=$((t + $(cut -d' ' -f1 /proc/$(sup $id)/schedstat))); done; echo $t
}
cpu0=$(oncpu $probed); cpuInPlace0=$(oncpu $probedInPlace); t0=$(date +%s%N)
mem() { # LABEL IDS...: RSS, PSS, private of their supervisors, mean of 8 samples 0.5 s apart
    local label=$1 rss=0 pss=0 priv=0 n=0 id p r q d k; shift
    for k in $(seq 8); do
        for id in "$@"; do
            p=$(jq .SupervisorPid "$work/store/containers/$id/state.json")
            r=$(awk '/^Rss:/ {print $2}' /proc/$p/smaps_rollup); q=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)
            d=$(awk '/^Private_(Dirty|Clean):/ {s += $2} END {print s}' /proc/$p/smaps_rollup)
            rss=$((rss + r)); pss=$((pss + q)); priv=$((priv + d)); n=$((n + 1))
        done
        sleep 0.5
    done
    echo "| $label ($# containers) | $((rss / n)) kB | $((pss / n)) kB | $((priv / n)) kB |"
}
echo "| per supervisor | RSS | PSS | private |"; echo "|:---|---:|---:|---:|"
mem "swiftrun, --no-healthcheck" $idle
mem "swiftrun, --no-healthcheck, idling in place (no swiftrun-idle)" $inplace
mem "swiftrun, probed every 2 s (in swiftrun-idle half the time)" $probed
mem "swiftrun, probed every 2 s, idling in place" $probedInPlace
echo "| conmon (FACTS.md) | 2200-2500 kB | 400 kB | |"
sleep 4
cpu1=$(oncpu $probed); cpuInPlace1=$(oncpu $probedInPlace); t1=$(date +%s%N)
probes=$(( (t1 - t0) / 2000000000 * 10 )) # one per 2 s per container
echo; echo "| supervisor CPU per probe (the wake, the probe's start and end, the return to idle) | CPU |"; echo "|:---|---:|"
echo "| with swiftrun-idle (an exec each way) | $(( (cpu1 - cpu0) / probes / 1000 )) µs |"
echo "| idling in place | $(( (cpuInPlace1 - cpuInPlace0) / probes / 1000 )) µs |"
for id in $($S ps -q --no-trunc $st); do $S rm -f $st $id >/dev/null; done

echo; echo "### ps -a with 100 containers"
for i in $(seq 100); do $S create $st --no-healthcheck --entrypoint true $img >/dev/null; done
hyperfine -N --warmup 3 --runs 20 --export-markdown "$work/ps.md" -n "swiftrun ps -a (100)" "$S ps -a $st" >/dev/null
cat "$work/ps.md"
for id in $($S ps -aq --no-trunc $st); do $S rm $st $id >/dev/null; done

echo; echo "### logs --tail 10: 1 MiB against 1 GiB of json-file log"
small=$($S create $st --name small --entrypoint true $img); big=$($S create $st --name big --entrypoint true $img)
python3 - "$work/store/containers/$small/$small-json.log" "$work/store/containers/$big/$big-json.log" <<'PY'
import sys
line = b'{"log":"GET /health HTTP/1.1 200 OK - 0.4 ms - a line of a typical web log\\n","stream":"stdout","time":"2026-11-23T10:00:00.000000000Z"}\n'
for path, size in ((sys.argv[1], 1 << 20), (sys.argv[2], 1 << 30)):
    block = line * ((1 << 20) // len(line) + 1)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(block); written += len(block)
PY
hyperfine -N --warmup 3 --runs 30 --export-markdown "$work/tail.md" -n "logs --tail 10 (1 MiB)" "$S logs $st --tail 10 small" \
    -n "logs --tail 10 (1 GiB)" "$S logs $st --tail 10 big" >/dev/null
cat "$work/tail.md"
$S rm $st small big >/dev/null

echo; echo "### log throughput: 1 GiB of 60-byte lines"
line='0123456789012345678901234567890123456789012345678901234567'
hyperfine --runs 3 --export-markdown "$work/thr.md" \
    -n "through the supervisor (json-file)" "$S run --rm $st --no-healthcheck -u root --entrypoint sh $img -c 'yes $line | head -c 1073741824'" \
    -n "same process, to a file" "$S run --rm $st --no-healthcheck -u root --entrypoint sh $img -c 'yes $line | head -c 1073741824 > /tmp/out'" >/dev/null
cat "$work/thr.md"

echo; echo "### health probes: cost and scheduling (interval 100 ms, 200 probes)"
id=$($S run -d $st --health-cmd true --health-interval 100ms --health-start-period 0s --entrypoint sleep $img 1000)
python3 - "$work/store/containers/$id/state.json" <<'PY'
import json, sys, time, datetime
def ns(s):
    sec, frac = s[:-1].split(".")
    return int(datetime.datetime.fromisoformat(sec + "+00:00").timestamp()) * 10**9 + int(frac.ljust(9, "0"))
seen = {}
deadline = time.time() + 60
while len(seen) < 201 and time.time() < deadline:
    try:
        for e in json.load(open(sys.argv[1]))["Health"]["Log"]:
            seen[e["Start"]] = (ns(e["Start"]), ns(e["End"]))
    except Exception:
        pass
    time.sleep(0.05)
probes = sorted(seen.values())
cost = sorted((e - s) / 1e6 for s, e in probes)
drift = sorted((probes[i + 1][0] - probes[i][1]) / 1e6 - 100 for i in range(len(probes) - 1))
q = lambda a, p: a[min(len(a) - 1, int(p * len(a)))]
print(f"| {len(probes)} probes | p50 | p99 |\n|:---|---:|---:|")
print(f"| probe cost (Start to End: setns + exec + reap) | {q(cost, .5):.2f} ms | {q(cost, .99):.2f} ms |")
print(f"| drift (wait measured minus 100 ms) | {q(drift, .5):.2f} ms | {q(drift, .99):.2f} ms |")
PY
pid=$(jq .Pid "$work/store/containers/$id/state.json")
hyperfine -N --warmup 5 --runs 100 --export-markdown "$work/ns.md" -n "nsenter -a true (reference)" "nsenter -t $pid -a true" >/dev/null
cat "$work/ns.md"
