#!/usr/bin/env bash
# Build benchmarks (issue 22), side by side with buildah from Debian (`bud --layers
# --isolation chroot`, its own --root/--runroot, no cgroup), in one run:
#  - a small multi-stage Dockerfile: unchanged rebuild, rebuild after editing one source
#    file, cold build (--no-cache); swiftrun's RUN on the default bridge and with --network host
#    (buildah's chroot isolation runs RUN in the host's network);
#  - COPY of a 50,000-file context, against cp -a of it;
#  - committing a 120 MB layer (COPY of the Debian minbase tree), against tar -czf of it.
# Usage: bench/build.sh BIN_DIR IMAGE_TAR MINBASE_TAR_GZ
set -euo pipefail
bin=${1:?bin dir}; tar=${2:?image tar}; minbase=${3:?minbase.tar.gz}
command -v buildah >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null; }
work=$(mktemp -d /tmp/swiftrun-bench-build.XXXXXX)
S="$bin/swiftrun"
st="--root $work/store"
B="buildah --root $work/buildah --runroot $work/buildah-run --storage-driver overlay"
cleanup() {
    for id in $($S ps -aq --no-trunc $st 2>/dev/null); do $S rm -f $st "$id" >/dev/null 2>&1 || true; done
    $B rm --all >/dev/null 2>&1 || true
    $B rmi --all --force >/dev/null 2>&1 || true
    umount -R "$work/buildah" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
$S load $st -i "$tar" >/dev/null
echo "Build: $(date -u +%F), $(nproc) cores, kernel $(uname -r), $(buildah --version | cut -d' ' -f1-3)"

ctx=$work/ctx
mkdir -p "$ctx/app"
echo "fastapi" > "$ctx/requirements.txt"
echo "print('v1')" > "$ctx/app/main.py"
body='USER root
WORKDIR /src
COPY requirements.txt .
RUN cat requirements.txt > /src/deps && echo built >> /src/deps
FROM BASE
USER root
WORKDIR /app
COPY --from=builder /src/deps ./
COPY app/ ./
RUN echo done > /app/stamp
CMD ["sh"]'
printf 'FROM swiftrun.test/busybox-httpd:v1 AS builder\n%s\n' "${body//BASE/swiftrun.test/busybox-httpd:v1}" > "$work/Dockerfile.swiftrun"
# The base in buildah's own storage, as ours is in our store (FROM an archive would read it
# at every build). buildah 1.28 refuses our docker-archive ("blob size mismatch"); the OCI
# archive of the same image works.
$B pull -q oci-archive:"$(dirname "$tar")/busybox-oci.tar" >/dev/null
$B tag "$($B images -q | head -1)" localhost/busybox-httpd:v1
printf 'FROM localhost/busybox-httpd:v1 AS builder\n%s\n' "${body//BASE/localhost/busybox-httpd:v1}" > "$work/Dockerfile.buildah"
sb="$S build $st -q -f $work/Dockerfile.swiftrun -t bench:v1"
bb="$B bud --layers --isolation chroot --format docker -q -f $work/Dockerfile.buildah -t bench:v1"
$sb "$ctx" >/dev/null; $sb --network host "$ctx" >/dev/null; $bb "$ctx" >/dev/null

echo; echo "### unchanged rebuild"
hyperfine --warmup 2 --runs ${BENCH_RUNS:-20} --export-markdown "$work/r.md" \
    -n "swiftrun build" "$sb $ctx" -n "buildah bud" "$bb $ctx" >/dev/null
cat "$work/r.md"
echo; echo "### rebuild after editing app/main.py"
hyperfine --warmup 2 --runs ${BENCH_RUNS:-20} --export-markdown "$work/r.md" --prepare "sh -c 'date +%s%N > $ctx/app/main.py'" \
    -n "swiftrun build (bridge)" "$sb $ctx" -n "swiftrun build --network host" "$sb --network host $ctx" -n "buildah bud" "$bb $ctx" >/dev/null
cat "$work/r.md"
echo; echo "### cold build (--no-cache)"
hyperfine --warmup 1 --runs ${BENCH_RUNS_COLD:-10} --export-markdown "$work/r.md" \
    -n "swiftrun build --no-cache (bridge)" "$sb --no-cache $ctx" -n "swiftrun build --no-cache --network host" "$sb --no-cache --network host $ctx" \
    -n "buildah bud --no-cache" "$bb --no-cache $ctx" >/dev/null
cat "$work/r.md"

echo; echo "### COPY of 50,000 files (4 KiB each, 100 directories), --no-cache"
many=$work/many
mkdir -p "$many/files"
python3 - "$many/files" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
    for f in range(500):
        with open(f"{root}/d{d}/f{f}", "wb") as fh:
            fh.write(os.urandom(4096))
PY
printf 'FROM scratch\nCOPY files/ /files/\n' > "$many/Dockerfile"
hyperfine --warmup 1 --runs ${BENCH_RUNS_COLD:-5} --export-markdown "$work/r.md" --prepare "rm -rf $work/cp" \
    -n "swiftrun build: COPY" "$S build $st -q --no-cache -t many:v1 $many" \
    -n "cp -a" "cp -a $many/files $work/cp" >/dev/null
cat "$work/r.md"

echo; echo "### a 120 MB layer: COPY of the Debian minbase tree, --no-cache, against tar -czf"
big=$work/big
mkdir -p "$big/rootfs"
tar -xzf "$minbase" -C "$big/rootfs"
printf 'FROM scratch\nCOPY rootfs/ /\n' > "$big/Dockerfile"
printf 'rootfs/dev\nrootfs/proc\nrootfs/sys\n' > "$big/.dockerignore"
hyperfine --warmup 1 --runs ${BENCH_RUNS_COLD:-5} --export-markdown "$work/r.md" --prepare "rm -f $work/big.tgz $work/big.tar; sync" \
    -n "swiftrun build: COPY + commit" "$S build $st -q --no-cache -t big:v1 $big" \
    -n "tar -czf" "tar -czf $work/big.tgz -C $big rootfs" \
    -n "tar -cf" "tar -cf $work/big.tar -C $big rootfs" >/dev/null
cat "$work/r.md"
