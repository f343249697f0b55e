#!/usr/bin/env bash
# compose benchmarks (issue 23), against the issue's bounds (no compose peer runs here: no
# Docker engine, and podman-compose would need podman's cgroups):
#  - `compose up -d` of three services whose images are present, no health waits (≤ 1 s);
#  - a dependency's first passing probe to its dependent's start, from the records the
#    supervisor keeps (State.Health.Log[].End, State.StartedAt) (≤ 100 ms);
#  - `compose ps` of the three (≤ 50 ms).
# Usage: bench/compose.sh BIN_DIR IMAGE_TAR
set -euo pipefail
bin=${1:?bin dir}; tar=${2:?image tar}
work=$(mktemp -d /tmp/swiftrun-bench-compose.XXXXXX)
S="$bin/swiftrun"
export SWIFTRUN_ROOT=$work/store
C="$S compose -f $work/compose.yaml -p benchc"
cleanup() {
    $C down -v -t 0 >/dev/null 2>&1 || true
    for id in $($S ps -aq --no-trunc 2>/dev/null); do $S rm -f "$id" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
$S load -i "$tar" >/dev/null
echo "Compose: $(date -u +%F), $(nproc) cores, kernel $(uname -r)"
img=swiftrun.test/busybox-httpd:v1
cat > "$work/compose.yaml" <<YAML
x-svc: &svc
  image: $img
  init: true
  healthcheck: {disable: true}
services:
  api: {<<: *svc, depends_on: [db, cache]}
  db: *svc
  cache: *svc
YAML
echo; echo "### up -d of three services (images present, no health waits), then ps"
hyperfine -N --warmup 2 --runs ${BENCH_RUNS:-20} --prepare "$C down -t 0" --export-markdown "$work/up.md" \
    -n "compose up -d (3 services)" "$C up -d" >/dev/null
cat "$work/up.md"
$C up -d >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 --export-markdown "$work/ps.md" -n "compose ps (3 running)" "$C ps" >/dev/null
tail -n +3 "$work/ps.md"
$C down -t 0 >/dev/null 2>&1

echo; echo "### a dependency's first passing probe -> its dependent's start (service_healthy)"
cat > "$work/compose.yaml" <<YAML
services:
  db:
    image: $img
    init: true
    healthcheck: {test: ["CMD", "true"], interval: 1s, start_period: 5s, start_interval: 50ms}
  api:
    image: $img
    init: true
    healthcheck: {disable: true}
    depends_on: {db: {condition: service_healthy}}
YAML
lat=()
for i in $(seq ${HEALTH_RUNS:-10}); do
    $C up -d >/dev/null 2>&1
    end=$($S inspect --format '{{(index .State.Health.Log 0).End}}' benchc-db-1)
    start=$($S inspect --format '{{.State.StartedAt}}' benchc-api-1)
    lat+=($(python3 -c "
from datetime import datetime
def t(s):
    s = s.strip(); d, f = s.rstrip('Z').split('.') if '.' in s else (s.rstrip('Z'), '0')
    return datetime.strptime(d, '%Y-%m-%dT%H:%M:%S').timestamp() + float('0.' + f[:9])
print(round((t('$start') - t('$end')) * 1000, 1))"))
    $C down -t 0 >/dev/null 2>&1
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {printf "probe end -> dependent started, %d runs: min %s ms, median %s ms, max %s ms\n", NR, a[1], a[int((NR+1)/2)], a[NR]}'
