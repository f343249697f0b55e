#!/bin/sh
# Wheels of the tutorials' API (fastapi, uvicorn, psycopg, redis and what they need) for CPython 3.11.2 (bookworm's) on
# x86_64, downloaded once from PyPI: the build tests install them with
# `pip install --no-index --find-links`, so no test reaches the network.
# Usage: Sysroot/wheels.sh OUT_DIR
set -eu
# async-timeout by name: redis needs it below Python 3.11.3 (bookworm has 3.11.2), and pip
# evaluates that marker with its own interpreter, not --python-version.
out=${1:?usage: wheels.sh OUT_DIR}
pip="python3 -m pip"
$pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
rm -rf "$out.tmp"
$pip download --quiet --disable-pip-version-check --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.11.2 --implementation cp -d "$out.tmp" 'fastapi==0.115.*' 'uvicorn==0.32.*' 'psycopg[binary]==3.2.*' 'redis==5.*' 'async-timeout>=4.0.3'
rm -rf "$out"
mv "$out.tmp" "$out"
echo "wheels: $out ($(ls "$out" | wc -l) files)"
