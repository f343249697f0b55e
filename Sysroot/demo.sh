#!/usr/bin/env bash
# `make demo`: what works today, end to end. Makes the sample image (Sysroot), loads it,
# runs it detached under its supervisor with the image's HEALTHCHECK, shows ps/logs/
# inspect/stop/rm, publishes its port on the host (DEMO_PORT, default 8000), and drives the
# OCI runtime directly.
set -euo pipefail
bin=${1:?bin dir}; rootfs=${2:?rootfs}; images=${3:?images dir}
port=${DEMO_PORT:-8000}
work=$(mktemp -d /tmp/swiftrun-demo.XXXXXX)
S="$bin/swiftrun"
R="$bin/swiftrun-runc --root $work/state"
trap '$S rm -f --root "$work/store" web >/dev/null 2>&1 || true; $R delete -f demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "swiftrun load -i busybox-docker.tar (a docker save archive; OCI layouts work too)"
$S load --root "$work/store" -i "$images/busybox-docker.tar"
$S images --root "$work/store"

say "swiftrun run IMAGE: the image's USER, WORKDIR, ENV and HOME, Docker's defaults"
$S run --rm --root "$work/store" --entrypoint sh swiftrun.test/busybox-httpd:v1 -c \
   'echo "hello from $(hostname): $(id)"; echo "cwd $(pwd), GREETING=$GREETING, HOME=$HOME"; cat index.html'

say "swiftrun run -d -p $port:8080 --name web IMAGE: busybox httpd with the image's HEALTHCHECK (wget /health)"
$S run -d --root "$work/store" --name web -p "$port:8080" swiftrun.test/busybox-httpd:v1
$S ps --root "$work/store"
$S wait --root "$work/store" --condition healthy --timeout 20s web
$S ps --root "$work/store"
say "from the host: curl http://127.0.0.1:$port/ (DNAT to the container on the swiftrun0 bridge)"
curl -sS -m 5 "http://127.0.0.1:$port/"
$S port --root "$work/store" web
$S exec --root "$work/store" web sh -c 'echo "in the container: $(ip -4 -o addr show eth0 | awk "{print \$4}"), $(grep -c nameserver /etc/resolv.conf) nameserver(s)"'

$S inspect --root "$work/store" -f '{{json .State.Health}}' web | jq -c '{Status, FailingStreak, last: .Log[-1]}'
say "its supervisor between probes: swiftrun-idle (conmon: 2.2-2.5 MB RSS)"
sup=$(jq .SupervisorPid "$work/store/containers/$($S inspect --root "$work/store" -f '{{.Id}}' web)/state.json")
for _ in $(seq 50); do [ "$(cat /proc/$sup/comm)" = swiftrun-idle ] && break; sleep 0.1; done
echo "pid $sup: $(cat /proc/$sup/comm), $(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r " kB RSS, " p " kB PSS"}' /proc/$sup/smaps_rollup)"
$S logs --root "$work/store" --tail 2 web
$S stop --root "$work/store" -t 1 web
$S ps -a --root "$work/store"
$S rm --root "$work/store" web

say "exit codes pass through (Docker's 125/126/127 for swiftrun's own errors)"
set +e
$S run --rm --root "$work/store" --entrypoint sh swiftrun.test/busybox-httpd:v1 -c 'exit 7'; echo "exit code: $?"
$S run --rm --root "$work/store" --entrypoint no-such-tool swiftrun.test/busybox-httpd:v1; echo "exit code: $?"
set -e

say "the OCI runtime: create, state, start, exec, kill, delete on a bundle"
mkdir -p "$work/bundle"; ln -s "$rootfs" "$work/bundle/rootfs"
$R spec --bundle "$work/bundle"
jq '.process.terminal=false | .process.args=["sleep","30"]' "$work/bundle/config.json" > "$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"
$R create --bundle "$work/bundle" demo
$R state demo | jq -c '{id,status,pid}'
$R start demo
$R exec demo sh -c 'echo "exec: pid $$ in the container, $(grep -c . /proc/self/status) status lines, caps $(grep CapEff /proc/self/status | cut -f2)"'
$R list
$R kill demo KILL
sleep 0.2
$R state demo | jq -c '{id,status}'
$R delete demo
say "done: nothing left ($(ls "$work/state" | wc -l) containers in the state root)"
