#!/usr/bin/env bash
# OCI conformance, written by others: crun's own test suite (Debian's crun source package,
# tests/*.py, TAP output, runtime chosen by OCI_RUNTIME), run against swiftrun-runc and runc
# side by side. Fetched at run time into .build/conformance; nothing of it is committed.
# Runs inside bench/cgroup-sandbox.sh so that no runtime touches cgroup v1 or the host's
# root cgroup. Usage: conformance/run.sh BIN_DIR   (make conformance)
set -euo pipefail
bin=$(cd "${1:?bin dir}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SWIFTRUN_SANDBOXED:-}" ]; then
    exec "$top/bench/cgroup-sandbox.sh" "$0" "$@"
fi
work="$top/.build/conformance"
mkdir -p "$work"
src=$(ls -d "$work"/crun-*/tests 2>/dev/null | head -1 || true)
if [ -z "$src" ]; then
    # A private apt configuration: a deb-src line for the configured mirror, without
    # changing the host's sources.
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)
    apt="$work/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" > "$apt/sources.list"
    opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache")
    apt-get "${opts[@]}" update -qq
    (cd "$work" && apt-get "${opts[@]}" source --download-only crun >/dev/null 2>&1 && tar xf crun_*.orig.tar.xz)
    src=$(ls -d "$work"/crun-*/tests | head -1)
fi
if [ ! -x "$work/init" ]; then
    # init.c includes autoconf's config.h: an empty one, plus the two features it tests for.
    : > "$work/config.h"
    cc -O2 -static -I"$work" -DHAVE_ERROR_H=1 -DHAVE_SECCOMP=1 -o "$work/init" "$src/init.c" -lseccomp
fi
# Some tests run it as ./tests/init (where crun's build leaves it) to probe the kernel.
cp "$work/init" "$src/init"
# test_mounts.py reads mountinfo with util-linux's Python binding, which bookworm does not
# package (it then runs nothing): a stand-in with the two things it uses, Table(path)
# .find_target(dir) and the entry's vfs_options/fs_options.
mkdir -p "$work/pylib"
cat > "$work/pylib/libmount.py" <<'PY'
class _Entry:
    def __init__(self, fields):
        sep = fields.index("-")
        self.target = fields[4]
        self.vfs_options = fields[5]
        self.fstype, self.source = fields[sep + 1], fields[sep + 2]
        self.fs_options = fields[sep + 3] if len(fields) > sep + 3 else ""

class Table:
    def __init__(self, path):
        with open(path) as f:
            self._entries = [_Entry(l.split()) for l in f if " - " in l]

    def find_target(self, target):
        for e in reversed(self._entries):  # the last mount on a path is the visible one
            if e.target == target:
                return e
        return None
PY
export PYTHONPATH="$work/pylib${PYTHONPATH:+:$PYTHONPATH}"

run_suite() { # NAME RUNTIME -> writes $work/NAME.tap
    local name=$1 runtime=$2 out="$work/$1.tap"
    : > "$out"
    for t in "$src"/test_*.py; do
        echo "# $(basename "$t")" >> "$out"
        (cd "$src/.." && env OCI_RUNTIME="$runtime" INIT="$work/init" timeout 300 python3 "$t" >> "$out" 2>"$work/$name.$(basename "$t").err") || true
    done
}
count() { # FILE -> "pass fail skip"
    local f=$1
    local skip=$(grep -cE '^ok .*# *(SKIP|skip)' "$f" || true)
    local ok=$(grep -cE '^ok ' "$f" || true)
    local bad=$(grep -cE '^not ok ' "$f" || true)
    echo "$((ok - skip)) $bad $skip"
}
# runc does not know crun's --cgroup-manager and --config (the suite passes both; the
# config is always the bundle's config.json): a wrapper drops them.
cat > "$work/runc-wrapper" <<'WRAP'
#!/bin/bash
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cgroup-manager) shift 2 ;;
        --config) shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
exec runc "${args[@]}"
WRAP
chmod +x "$work/runc-wrapper"
run_suite swiftrun "$bin/swiftrun-runc"
run_suite runc "$work/runc-wrapper"
read -r sp sf ss < <(count "$work/swiftrun.tap")
read -r rp rf rs < <(count "$work/runc.tap")
echo "crun $(basename "$(dirname "$src")") test suite, $(date -u +%F):"
echo "| runtime | pass | fail | skip |"
echo "|---|---:|---:|---:|"
echo "| swiftrun-runc | $sp | $sf | $ss |"
echo "| runc $(runc --version | head -1 | awk '{print $3}') | $rp | $rf | $rs |"
echo
echo "swiftrun-runc failures:"
awk '/^# test_/ {file=$2} /^not ok/ {print "  " file ": " $0}' "$work/swiftrun.tap"
