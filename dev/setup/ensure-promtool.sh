#!/bin/sh
# Puts promtool (Prometheus's rule checker, which the alert tests run) in .cache/promtool/bin, taken
# from Debian's prometheus package: downloaded and unpacked here, never installed, so that no
# Prometheus service is set up or started on this machine. Idempotent; on a machine without apt,
# the tests that need promtool say why they are skipped.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.cache/promtool"
[ -x "$dest/bin/promtool" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "ensure-promtool: no apt-get here, not fetching promtool"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root prometheus >/dev/null 2>&1); }
if ! fetch; then
    # A fresh machine may have no package lists yet.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
    fetch || {
        echo "ensure-promtool: could not download Debian's prometheus package" >&2
        exit 1
    }
fi
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$dest/bin"
cp "$work/root/usr/bin/promtool" "$dest/bin/promtool.tmp"
mv "$dest/bin/promtool.tmp" "$dest/bin/promtool"
echo "ensure-promtool: $("$dest/bin/promtool" --version 2>&1 | head -1)"
