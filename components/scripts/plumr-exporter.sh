#!/bin/sh
# The metrics of an endpoint pod's links, in Prometheus's text format on port PLUMR_METRICS_PORT.
# Every PLUMR_PROBE_INTERVAL_SECONDS it pings each link's peer through the link's tun device
# (PLUMR_PROBE_COUNT echo requests, bounded by a deadline), reads the device's counters, and
# writes the metrics file that socat serves to each scrape. It needs no privilege: the pod lets
# its users ping (net.ipv4.ping_group_range) and the counters are in /sys/class/net.
# It also keeps shm_printer (plumr's own metrics, in Steinwurf's format) printing to its log.
#
# Arguments: four per link end: <tun device> <tunnel address> <peer's tunnel address> <labels>,
# the labels as Prometheus writes them (link="a-b",site="a",...).
# "serve" as the only argument answers one scrape on stdin/stdout (socat runs it).
set -eu

# Where the metrics wait for their scrapes: the container's own /tmp, which any user may write.
dir="${PLUMR_METRICS_DIR:-/tmp/plumr-metrics}"

if [ "${1:-}" = serve ]; then
    # Read the request up to its blank line (socat's timeout bounds it), so that closing the
    # connection does not reset it; every path gets the metrics.
    cr="$(printf '\r')"
    while IFS= read -r line; do
        case "$line" in "" | "$cr") break ;; esac
    done
    if [ -r "$dir/metrics" ]; then
        printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\n'
        cat "$dir/metrics"
    else
        printf 'HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nno probe yet\n'
    fi
    exit 0
fi

port="${PLUMR_METRICS_PORT:-9464}"
interval="${PLUMR_PROBE_INTERVAL_SECONDS:-10}"
count="${PLUMR_PROBE_COUNT:-3}"
# The loss ratio is over the last this many probe rounds.
window="${PLUMR_PROBE_WINDOW:-10}"
printer="${PLUMR_BIN_DIR:-/opt/plumr}/shm_printer"
printer_name="${PLUMR_METRICS_NAME:-plumr_metrics}"

if [ $(($# % 4)) -ne 0 ] || [ $# -eq 0 ]; then
    echo "plumr-exporter: expected four arguments per link end (device, tunnel address, peer's tunnel address, labels), got $#" >&2
    exit 2
fi
mkdir -p "$dir"

server=""
printer_pid=""
waiting=""
stop() {
    for pid in $server $printer_pid $waiting; do kill "$pid" 2>/dev/null || true; done
    exit 0
}
trap stop TERM INT

# Only on the pod's own address (PLUMR_METRICS_ADDRESS), where Prometheus scrapes it: not on the
# underlay nor through the tunnels. -T: a scrape that sends nothing is dropped after 10 s.
socat -T 10 "TCP-LISTEN:$port,reuseaddr,fork${PLUMR_METRICS_ADDRESS:+,bind=$PLUMR_METRICS_ADDRESS}" SYSTEM:"sh '$0' serve" &
server=$!

# probe N DEVICE LOCAL REMOTE: one round of pings to REMOTE from LOCAL (which only the link's tun
# device holds, so they go through it), then the device's counters, as "name value" lines in $dir/N.
probe() {
    n="$1" device="$2" local="$3" remote="$4"
    out="$dir/$n.ping"
    # Exactly $count requests, 0.2 s apart (the shortest interval a user may ask for), and at most
    # a second's wait for the last reply: a round is bounded in packets and in time.
    ping -n -q -c "$count" -i 0.2 -W 1 -I "$local" "$remote" >"$out" 2>&1 &
    waiting=$!
    wait "$waiting" || true
    waiting=""
    received="$(sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' "$out")"
    received="${received:-0}"
    rtt_ms="$(sed -n 's|^.* = [0-9.]*/\([0-9.]*\)/.*$|\1|p' "$out")"
    history="$dir/$n.history"
    # The window starts at the link's first reply: the rounds before it are the tunnel being set
    # up (plumr starting, the peer not deployed yet), which plumr_link_up says, not probes lost.
    if [ "$received" -gt 0 ] || [ -e "$history" ]; then
        echo "$count $received" >>"$history"
        tail -n "$window" "$history" >"$history.tmp" && mv "$history.tmp" "$history"
    fi
    sent_sum=$count received_sum=$received
    if [ -e "$history" ]; then
        sent_sum=0 received_sum=0
        while read -r s r; do
            sent_sum=$((sent_sum + s)) received_sum=$((received_sum + r))
        done <"$history"
    fi
    lost=$((sent_sum - received_sum))
    {
        if [ "$received" -gt 0 ]; then
            echo "plumr_link_up 1"
            # Only a round that got a reply has a round trip.
            if [ -n "$rtt_ms" ]; then echo "plumr_link_rtt_seconds ${rtt_ms}e-3"; fi
        else
            echo "plumr_link_up 0"
        fi
        # lost/sent, as a decimal: sh has integers only.
        echo "plumr_link_probe_loss_ratio $((lost / sent_sum)).$(printf '%06d' $((lost * 1000000 / sent_sum % 1000000)))"
        stats="/sys/class/net/$device/statistics"
        for direction in receive:rx transmit:tx; do
            for counter in bytes packets errors dropped; do
                file="$stats/${direction#*:}_$counter"
                if [ -r "$file" ]; then echo "plumr_link_tun_${direction%%:*}_${counter}_total $(cat "$file")"; fi
            done
        done
        echo "plumr_link_probe_timestamp_seconds $(date +%s)"
    } >"$dir/$n.values"
}

# family NAME TYPE HELP: the family's lines of every link end, after its HELP and TYPE.
family() {
    echo "# HELP $1 $3"
    echo "# TYPE $1 $2"
    n=0
    for labels in $label_list; do
        n=$((n + 1))
        sed -n "s/^$1 /$1{$labels} /p" "$dir/$n.values"
    done
}

# No argument holds a blank (devices, addresses, labels of names), so their lists split on blanks.
links="$*"
label_list=""
i=0
for arg in "$@"; do
    i=$((i + 1))
    if [ $((i % 4)) -eq 0 ]; then label_list="$label_list $arg"; fi
done

while :; do
    kill -0 "$server" 2>/dev/null || {
        echo "plumr-exporter: the metrics server on port $port stopped" >&2
        exit 1
    }
    # Keep shm_printer printing, once the node agent has put it on the node.
    if { [ -z "$printer_pid" ] || ! kill -0 "$printer_pid" 2>/dev/null; } && [ -x "$printer" ]; then
        "$printer" --name "$printer_name" &
        printer_pid=$!
    fi
    n=0
    # shellcheck disable=SC2086
    set -- $links
    while [ $# -ge 4 ]; do
        n=$((n + 1))
        probe "$n" "$1" "$2" "$3"
        shift 4
    done
    {
        family plumr_link_up gauge "1 when the last probe round through the link's tunnel got a reply, else 0."
        family plumr_link_rtt_seconds gauge "Average round trip of the last probe round's replies."
        family plumr_link_probe_loss_ratio gauge "Share of the probes of the last $window rounds that got no reply."
        for direction in receive transmit; do
            for counter in bytes packets errors dropped; do
                family "plumr_link_tun_${direction}_${counter}_total" counter "The link's tun device's $direction $counter."
            done
        done
        family plumr_link_probe_timestamp_seconds gauge "When the last probe round ended, in seconds since the epoch."
    } >"$dir/metrics.tmp"
    mv "$dir/metrics.tmp" "$dir/metrics"
    sleep "$interval" &
    waiting=$!
    wait "$waiting" || true
    waiting=""
done
