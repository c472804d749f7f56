#!/bin/sh
# Installs the Debian packages the data-plane twin runs (socat, iperf3, ping), when missing and
# when this is root on a Debian machine; otherwise the twin's tests say why they are skipped.
set -eu
missing=""
for pair in socat:socat iperf3:iperf3 ping:iputils-ping; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system-packages: not root on Debian, not installing:$missing"
    exit 0
fi
echo "ensure-system-packages: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
