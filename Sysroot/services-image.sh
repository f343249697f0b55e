#!/bin/sh
# The database images the compose tests use in place of postgres:15 and redis:7: Debian
# bookworm minbase with postgresql and redis-server, one archive tagged both
# swiftrun.test/postgres:15 and swiftrun.test/redis:7. Its entrypoint does what the official
# images' do: `postgres` initialises the data directory on a first start (PGDATA, with
# POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB) and runs the server as the postgres
# user on every address; `redis-server` runs redis in the foreground as the redis user.
# Usage: Sysroot/services-image.sh OUT.tar [MIRROR]   (downloads ~50 MB once)
set -eu
out=${1:?usage: services-image.sh OUT.tar [MIRROR]}
mirror=${2:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}
here=$(cd "$(dirname "$0")" && pwd)
command -v debootstrap >/dev/null || { echo "services-image: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
work=$(mktemp -d /tmp/swiftrun-services-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include=postgresql-15,redis-server bookworm "$work/rootfs" "$mirror" >/dev/null
r="$work/rootfs"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/*
# Debian's own cluster is not used: PGDATA is initialised on the first start.
rm -rf "$r"/var/lib/postgresql/15/main "$r"/etc/postgresql/15/main
mkdir -p "$r/var/run/postgresql" "$r/var/lib/postgresql/data" "$r/data"
chroot "$r" chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data
chroot "$r" chown redis:redis /data
install -m 755 "$here/services-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
tar --sort=name --mtime='2026-01-01 00:00:00Z' --numeric-owner -C "$r" -cf "$work/layer.tar" .
python3 "$(dirname "$0")/docker-archive.py" "$work/layer.tar" "$out.tmp" \
    '{"config": {"Env": ["PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PGDATA=/var/lib/postgresql/data"], "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["postgres"], "ExposedPorts": {"5432/tcp": {}, "6379/tcp": {}}, "StopSignal": "SIGINT"}, "created_by": "debootstrap --variant=minbase bookworm + postgresql-15 redis-server"}' \
    swiftrun.test/postgres:15 swiftrun.test/redis:7
mv "$out.tmp" "$out"
echo "services image: $out ($(du -h "$out" | cut -f1))"
