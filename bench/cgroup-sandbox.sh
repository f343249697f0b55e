#!/usr/bin/env bash
# Runs a command where peer runtimes cannot touch what is not ours: in a cgroup created
# here (swiftrun-sandbox.PID, in the cgroup2 hierarchy), inside a cgroup namespace rooted
# there and a private mount namespace whose /sys/fs/cgroup is only that cgroup2 view.
# On this hybrid host runc would otherwise create cgroups in the v1 hierarchies, and in
# v2 mode enable controllers in the root cgroup; crun refuses to start at all.
# The cgroup is removed afterwards; the host's mounts are never changed.
# Usage: bench/cgroup-sandbox.sh COMMAND [ARGS...]
set -euo pipefail
if [ -n "${SWIFTRUN_SANDBOXED:-}" ]; then
    mount -t cgroup2 none /sys/fs/cgroup
    exec "$@"
fi
v2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[ -n "$v2" ] || { echo "cgroup-sandbox: no cgroup2 hierarchy mounted" >&2; exit 1; }
cg="$v2/swiftrun-sandbox.$$"
mkdir "$cg"
rc=0
bash -c 'echo $$ > "$1/cgroup.procs" && exec env SWIFTRUN_SANDBOXED=1 unshare -C -m --propagation private "${@:2}"' \
    _ "$cg" "$0" "$@" || rc=$?
# Whatever is still running in the sandbox was started here (a failed test can leave a
# container behind): kill it all at once, wait for the tree to empty, then remove it.
echo 1 > "$cg/cgroup.kill" 2>/dev/null || true
for _ in $(seq 100); do grep -q "populated 0" "$cg/cgroup.events" && break; sleep 0.05; done
find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
[ -d "$cg" ] && echo "cgroup-sandbox: could not remove $cg" >&2
exit $rc
