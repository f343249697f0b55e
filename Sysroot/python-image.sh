#!/bin/sh
# The Python base image the build and compose tests use in place of python:3.11-slim:
# Debian bookworm minbase with python3, venv, pip, curl (for HEALTHCHECK) and useradd, as a
# docker-archive named swiftrun.test/python:3.11-slim. Like the official image it has
# `python` and `pip`, and pip installs system-wide (no EXTERNALLY-MANAGED marker).
# Usage: Sysroot/python-image.sh OUT.tar [MIRROR]   (downloads ~60 MB once)
set -eu
out=${1:?usage: python-image.sh OUT.tar [MIRROR]}
mirror=${2:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}
command -v debootstrap >/dev/null || { echo "python-image: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
work=$(mktemp -d /tmp/swiftrun-python-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,curl,ca-certificates bookworm "$work/rootfs" "$mirror" >/dev/null
r="$work/rootfs"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/*
rm -f "$r"/usr/lib/python3*/EXTERNALLY-MANAGED
ln -sf python3 "$r/usr/bin/python"
ln -sf pip3 "$r/usr/bin/pip"
tar --sort=name --mtime='2026-01-01 00:00:00Z' --numeric-owner -C "$r" -cf "$work/layer.tar" .
python3 "$(dirname "$0")/docker-archive.py" "$work/layer.tar" "$out.tmp" \
    '{"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"], "Cmd": ["python3"]}, "created_by": "debootstrap --variant=minbase bookworm + python3 python3-venv python3-pip curl"}' \
    swiftrun.test/python:3.11-slim
mv "$out.tmp" "$out"
echo "python image: $out ($(du -h "$out" | cut -f1))"
