#!/bin/sh
# Puts prometheus and promtool in .cache/prometheus/bin (the alert tests run promtool's rule tests,
# and the end-to-end test a Prometheus that scrapes the local clusters), taken from Debian's
# prometheus package: downloaded and unpacked here, never installed, so that no Prometheus service
# is set up or started on this machine. Idempotent; on a machine without apt, the tests that need
# them say why they are skipped.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.cache/prometheus"
[ -x "$dest/bin/promtool" ] && [ -x "$dest/bin/prometheus" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "ensure-prometheus: no apt-get here, not fetching prometheus and promtool"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root prometheus >/dev/null 2>&1); }
if ! fetch; then
    # A fresh machine may have no package lists yet.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
    fetch || {
        echo "ensure-prometheus: could not download Debian's prometheus package" >&2
        exit 1
    }
fi
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$dest/bin"
for tool in prometheus promtool; do
    cp "$work/root/usr/bin/$tool" "$dest/bin/$tool.tmp"
    mv "$dest/bin/$tool.tmp" "$dest/bin/$tool"
done
echo "ensure-prometheus: $("$dest/bin/prometheus" --version 2>&1 | head -1)"
