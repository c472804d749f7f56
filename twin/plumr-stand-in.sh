#!/bin/sh
# STAND-IN FOR PLUMR, for the data-plane twin only: it is not Steinwurf's plumr and does none of
# its coding. It reads the config the program rendered (the shipped example template's format) and
# carries the tun device's packets over UDP with socat, so that the twin can prove the addressing,
# routes and MTU the program computes. Called as plumr is: plumr -f <config>.
set -eu

[ "${1:-}" = "-f" ] && [ -n "${2:-}" ] || { echo "plumr stand-in: usage: plumr -f <config.json>" >&2; exit 2; }
config="$2"

field() { node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(process.argv[2].split(".").reduce((o, k) => o[k], c))' "$config" "$1"; }

tun=$(field tun.name)
address=$(field tun.address)
prefix=$(field tun.prefix_length)
mtu=$(field tun.mtu)
local_ip=$(field udp.local_address)
local_port=$(field udp.local_port)
remote_ip=$(field udp.remote_address)
remote_port=$(field udp.remote_port)

echo "plumr stand-in: $tun $address/$prefix mtu $mtu, udp $local_ip:$local_port <-> $remote_ip:$remote_port"
socat -d "TUN:$address/$prefix,tun-name=$tun,tun-type=tun,iff-no-pi,iff-up" \
    "UDP-DATAGRAM:$remote_ip:$remote_port,bind=$local_ip:$local_port" &
child=$!
trap 'kill $child 2>/dev/null' TERM INT
# The tun device appears once socat has opened it; then give it the planned MTU.
i=0
while [ ! -e "/sys/class/net/$tun" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set dev "$tun" mtu "$mtu"
wait $child
