#!/bin/sh
# Installs the Debian packages the local runs need, when missing and when this is root on a Debian
# machine; otherwise the tests that need them say why they are skipped.
#   socat, iperf3, ping: the data-plane twin's tunnel stand-in and measurements, and the real
#     nodes' relay to their API server;
#   jq: the plumr stand-in reads its JSON config with it (the twin runs it on this machine);
#   libseccomp-dev, pkg-config: runc is built with seccomp support;
#   iptables, conntrack: the real nodes' own firewall and connection tracking, which the node agent
#     keeps its rules in and the tests set up as OpenShift's OVN-Kubernetes and EKS's VPC CNI do;
#   nft: a node's own nftables firewall, whose drop policy the node agent's check reports.
set -eu
missing=""
for pair in socat:socat iperf3:iperf3 ping:iputils-ping jq:jq pkg-config:pkg-config iptables:iptables conntrack:conntrack nft:nftables; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
[ -f /usr/include/seccomp.h ] || missing="$missing libseccomp-dev"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system-packages: not root on Debian, not installing:$missing"
    exit 0
fi
echo "ensure-system-packages: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
