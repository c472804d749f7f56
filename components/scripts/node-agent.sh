#!/bin/sh
# The node agent of a site: runs on every node of the site, privileged, in the node's network
# namespace, with the node's root filesystem at $PLUMR_HOST_ROOT. It uses the node's own tools
# (ip, iptables, conntrack, chcon) through chroot, so that its rules land in the tables the node's
# network plugin uses and its image needs nothing beyond sh, coreutils and gzip.
#
#   node-agent.sh run     installs what the node needs, then keeps the node's network ready and
#                         checks it every $PLUMR_CHECK_SECONDS; exits 1 on a failed check, the
#                         failures written as the container's termination message
#   node-agent.sh check   the readiness probe: every check, one line per failure
#   node-agent.sh install the binaries and CNI plugins, once
#   node-agent.sh prepare the node's network, once
#   node-agent.sh withdraw removes the agent's rules from the node (after the site is destroyed)
#
# What it does on a node:
#   - installs plumr and shm_printer into $PLUMR_HOST_PATH (install-binaries.sh);
#   - installs each CNI plugin the attachment needs that the node lacks, when the program ships it;
#   - relabels the binaries for containers where SELinux is enabled (RHCOS), since the kubelet
#     never relabels a hostPath volume;
#   - with a bridge attachment: creates the bridge and gives it the node's gateway address (the
#     bridge plugin runs without isGateway, so it never switches on forwarding for the whole
#     node); with PLUMR_NODE_NETWORK=agent, lets the node forward the bridge's traffic and only
#     that (forwarding on the bridge alone, and ACCEPTs between the node's range and the site's
#     and the linked sites' ranges, in a chain of its own that FORWARD jumps to ahead of its
#     first DROP or REJECT), and keeps that traffic out of source NAT (for the EKS VPC CNI's
#     AWS-SNAT-CHAIN), its jumps kept ahead of what would drop or rewrite it every period;
#   - checks what it does not change itself: that the interfaces the linked sites' ranges are
#     routed through forward what arrives on them, and that no nftables chain of the node's own
#     firewall drops what is forwarded.
set -eu

root="${PLUMR_HOST_ROOT:-/host}"
manifest="${MANIFEST_DIR:-/manifest}"
node="${NODE_NAME:?the node agent needs NODE_NAME}"
site="${PLUMR_SITE:-?}"
host_path="${PLUMR_HOST_PATH:?}"
cni_dir="${PLUMR_CNI_BIN_DIR:-}"
cni_plugins="${PLUMR_CNI_PLUGINS:-}"
bridge="${PLUMR_BRIDGE:-}"
node_network="${PLUMR_NODE_NETWORK:-agent}"
# The site's whole bridge range, and the linked sites': what the bridge's traffic may reach.
bridge_range="${PLUMR_BRIDGE_RANGE:-}"
peer_ranges="${PLUMR_PEER_RANGES:-}"
interval="${PLUMR_CHECK_SECONDS:-10}"
here="$(cd "$(dirname "$0")" && pwd)"

FORWARD_CHAIN=PLUMR-FORWARD
NAT_CHAIN=PLUMR-POSTROUTING
# The targets that decide the fate of the bridge's traffic before the agent's chains could: the
# agent's jump must come before the first rule with one of them (extended regular expressions).
FORWARD_DECIDES='DROP|REJECT'
NAT_DECIDES='AWS-SNAT-CHAIN-0|MASQUERADE|SNAT'

say() { echo "node-agent: node $node: $*"; }

# A command of the node itself.
host() {
    if [ "$root" = / ]; then "$@"; else chroot "$root" "$@"; fi
}

# This node's gateway address (with prefix) and range, from PLUMR_NODES ("name,gateway/prefix,range ...").
gateway=""
range=""
for entry in ${PLUMR_NODES:-}; do
    name="${entry%%,*}"
    [ "$name" = "$node" ] || continue
    rest="${entry#*,}"
    gateway="${rest%%,*}"
    range="${rest#*,}"
done

selinux_enabled() {
    host sh -c 'command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled' 2>/dev/null
}

install_all() {
    mkdir -p "$root$host_path"
    DEST_DIR="$root$host_path" /bin/sh "$here/install-binaries.sh"
    if [ -n "$cni_dir" ] && [ -s "$manifest/CNI_SHA256SUMS" ]; then
        missing="$(mktemp)"
        while read -r sum plugin; do
            [ -n "$plugin" ] || continue
            # Through the node's root: a plugin may be a symbolic link to an absolute path there.
            host test -e "$cni_dir/$plugin" || echo "$sum  $plugin"
        done <"$manifest/CNI_SHA256SUMS" >"$missing"
        if [ -s "$missing" ]; then
            mkdir -p "$root$cni_dir"
            say "installing the CNI plugins it lacks into $cni_dir: $(cut -d' ' -f3 "$missing" | tr '\n' ' ')"
            SUMS_FILE="$missing" DEST_DIR="$root$cni_dir" /bin/sh "$here/install-binaries.sh"
        fi
        rm -f "$missing"
    fi
    if selinux_enabled; then
        # container_file_t at s0: every container may read and run them, none may write them.
        host chcon -R -t container_file_t -l s0 "$host_path"
        say "SELinux is enabled: relabelled $host_path container_file_t"
    fi
}

# Set to 1 when ensure_rule added a rule.
added=0

# Makes sure `rule` (iptables arguments after -A <chain>) is in `chain` of `table`.
ensure_rule() {
    table="$1"
    chain="$2"
    shift 2
    host iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null && return 0
    host iptables -w -t "$table" -A "$chain" "$@"
    added=1
}

# Where `parent` of `table` jumps to `chain`, against its first rule whose target matches
# `decides`: "ahead", "missing", or "behind <that rule>".
jump_place() {
    rules="$(host iptables -w -t "$1" -S "$2" 2>/dev/null | grep -e '^-A ' || true)"
    at="$(printf '%s\n' "$rules" | grep -n -x -e "-A $2 -j $3" | sed -n '1s/:.*//p')"
    decider="$(printf '%s\n' "$rules" | grep -n -E -e " -j ($4)( |\$)" | sed -n 1p)"
    if [ -z "$at" ]; then
        echo missing
    elif [ -n "$decider" ] && [ "${decider%%:*}" -lt "$at" ]; then
        echo "behind ${decider#*:}"
    else
        echo ahead
    fi
}

# Makes sure `chain` exists and `parent` of `table` jumps to it ahead of the first rule whose
# target matches `decides`; sets `jump` to kept, added or moved. A jump already ahead of such a
# rule stays where it is, wherever that is: another agent that keeps its own jump first (Calico's
# default) then never fights this one. A missing jump, or one behind such a rule, goes first rather
# than just before that rule: ahead, too, of the jumps to other chains, which may drop or NAT as
# well; another agent that puts its own jump first afterwards only moves this one down, where it
# stays.
ensure_jump_ahead() {
    host iptables -w -t "$1" -N "$3" 2>/dev/null || true
    case "$(jump_place "$@")" in
    ahead)
        jump=kept
        return 0
        ;;
    missing) jump=added ;;
    *) jump=moved ;;
    esac
    while host iptables -w -t "$1" -C "$2" -j "$3" 2>/dev/null; do
        host iptables -w -t "$1" -D "$2" -j "$3"
    done
    host iptables -w -t "$1" -I "$2" 1 -j "$3"
}

# Makes sure every rule agent_rules gives for `table` is there.
ensure_agent_rules() {
    while read -r table chain rule; do
        [ "$table" = "$1" ] || continue
        # The rule's words are iptables arguments.
        ensure_rule "$table" "$chain" $rule
    done <<EOF_RULES
$(agent_rules)
EOF_RULES
}

# NAT is decided on a flow's first packet: a flow that began while the exemption was missing, or
# behind a rule that NATs, stays source-NATed as long as it carries traffic. When the exemption
# was added, the range's flows are forgotten, so that they start again un-NATed. When its jump was
# only moved ahead again, only the flows that were source-NATed meanwhile are: the others are
# right, and go on undisturbed however often something displaces the jump.
forget_flows() {
    if [ "$added" = 1 ] || [ "$1" = added ]; then
        host conntrack -D -s "$range" >/dev/null 2>&1 || true
        say "kept the source of what leaves $range; forgot its earlier flows"
    elif [ "$1" = moved ]; then
        host conntrack -D -s "$range" --src-nat >/dev/null 2>&1 || true
        say "put $NAT_CHAIN ahead of POSTROUTING's source NAT again; forgot the flows of $range it source-NATed meanwhile"
    fi
}

prepare() {
    [ -n "$bridge" ] || return 0
    [ -n "$gateway" ] || return 0
    host ip link show dev "$bridge" >/dev/null 2>&1 || host ip link add "$bridge" type bridge 2>/dev/null ||
        host ip link show dev "$bridge" >/dev/null
    host ip link set dev "$bridge" up
    host ip -4 addr show dev "$bridge" | grep -q " inet $gateway " || host ip addr add "$gateway" dev "$bridge" 2>/dev/null ||
        host ip -4 addr show dev "$bridge" | grep -q " inet $gateway "
    # The bridge is the agent's: an address of an earlier range goes.
    for address in $(host ip -4 addr show dev "$bridge" | sed -n 's/^ *inet \([0-9./]*\) .*/\1/p'); do
        [ "$address" = "$gateway" ] || host ip addr del "$address" dev "$bridge"
    done
    [ "$node_network" = agent ] || return 0
    echo 1 >"/proc/sys/net/ipv4/conf/$bridge/forwarding"
    ensure_jump_ahead filter FORWARD "$FORWARD_CHAIN" "$FORWARD_DECIDES"
    ensure_agent_rules filter
    # The bridge's addresses are routed, never hidden: what leaves from them keeps its source.
    added=0
    ensure_jump_ahead nat POSTROUTING "$NAT_CHAIN" "$NAT_DECIDES"
    nat_jump="$jump"
    ensure_agent_rules nat
    forget_flows "$nat_jump"
}

# The agent's rules for this node: "table chain rule...", one per line. The bridge's traffic is
# forwarded only between the node's range and the site's bridge range (its other nodes) or a
# linked site's, one rule per direction and range.
agent_rules() {
    for other in $bridge_range $peer_ranges; do
        echo "filter $FORWARD_CHAIN -i $bridge -s $range -d $other -j ACCEPT"
        echo "filter $FORWARD_CHAIN -o $bridge -s $other -d $range -j ACCEPT"
    done
    echo "nat $NAT_CHAIN -s $range -j ACCEPT"
}

# Whether `chain` of `table` holds exactly the agent's rules for it.
holds_exactly() {
    want="$(agent_rules | grep -c "^$1 $2 ")"
    [ "$(host iptables -w -t "$1" -S "$2" 2>/dev/null | grep -c '^-A ')" = "$want" ] || return 1
    agent_rules | grep "^$1 $2 " | while read -r table chain rule; do
        host iptables -w -t "$table" -C "$chain" $rule 2>/dev/null || exit 1
    done
}

# Empties the agent's chains when they hold anything else than its rules (a changed range, or a
# changed set of linked sites), and leaves them alone otherwise, so that a restart never opens a
# gap; with nodeNetwork cluster, or no bridge, removes them and their jumps: the cluster forwards,
# or nothing needs it.
reset_chains() {
    host iptables -V >/dev/null 2>&1 || return 0
    if [ -n "$bridge" ] && [ -n "$range" ] && [ "$node_network" = agent ]; then
        holds_exactly filter "$FORWARD_CHAIN" || host iptables -w -t filter -F "$FORWARD_CHAIN" 2>/dev/null || true
        holds_exactly nat "$NAT_CHAIN" || host iptables -w -t nat -F "$NAT_CHAIN" 2>/dev/null || true
        return 0
    fi
    withdraw
}

# Removes every rule and chain of the agent from the node.
withdraw() {
    for spec in "filter FORWARD $FORWARD_CHAIN" "nat POSTROUTING $NAT_CHAIN"; do
        set -- $spec
        while host iptables -w -t "$1" -C "$2" -j "$3" 2>/dev/null; do host iptables -w -t "$1" -D "$2" -j "$3"; done
        host iptables -w -t "$1" -F "$3" 2>/dev/null || true
        host iptables -w -t "$1" -X "$3" 2>/dev/null || true
    done
}

failures=""
fail() { failures="${failures}node-agent: node $node: $*
"; }

# check_jump <check> <what> <table> <parent> <chain> <decides>: whether `parent` of `table` jumps to
# `chain` ahead of its first rule whose target matches `decides`; `what` says what such a rule
# does to the bridge's traffic.
check_jump() {
    check="$1"
    what="$2"
    shift 2
    place="$(jump_place "$@")"
    case "$place" in
    ahead) ;;
    missing) fail "$check: the $2 chain does not send the bridge's traffic to $3; the agent adds the jump on its next round" ;;
    *) fail "$check: the $2 chain reaches ${place#behind } before its jump to $3, so $what; the agent puts the jump ahead of it again on its next round, and whatever keeps putting such a rule first breaks the links" ;;
    esac
}

# A peer's packet to an endpoint arrives on the interface the node routes the peer's range
# through, and the kernel forwards it only if that interface forwards. The agent switches
# forwarding on for the bridge alone (on that interface, it would let the node forward whatever
# arrives there), so it only checks it, once per interface.
check_uplinks() {
    seen=" $bridge "
    for peer in $peer_ranges; do
        via="$(host ip -4 route get "${peer%/*}" 2>/dev/null | sed -n '1s/.* dev \([^ ]*\).*/\1/p')"
        if [ -z "$via" ]; then
            fail "forwarding: the node has no route to $peer, a linked site's bridge range, so its endpoints cannot answer there; give the node a route to it (a default route will do)"
            continue
        fi
        case "$seen" in *" $via "*) continue ;; esac
        seen="$seen$via "
        [ "$(cat "/proc/sys/net/ipv4/conf/$via/forwarding" 2>/dev/null)" = 1 ] && continue
        sysctl="net.ipv4.conf.$(echo "$via" | tr . /).forwarding"
        fail "forwarding: the node routes $peer, a linked site's bridge range, through $via, which does not forward ($sysctl is 0): what the peers send to the bridge arrives there and goes no further; set $sysctl=1 on the node, for good (a sysctl.d file, a MachineConfig on OpenShift), and let the node's firewall drop what else arrives there, or set sites.$site.nodeNetwork to cluster"
    done
}

# Reports the chain read so far when it drops forwarded packets and accepts the bridge's traffic
# in neither direction; then forgets it.
dropping_chain_end() {
    case "$table" in ip\ * | inet\ *) [ "$drops$accepts_in$accepts_out" = 100 ] && echo "$table $chain" ;; esac
    chain=""
    drops=0
    accepts_in=0
    accepts_out=0
}

# The nftables chains on the forward hook, with a drop policy, that accept none of the bridge's
# traffic: "family table chain", one per line. A packet must pass every base chain on its hook,
# and an accept in one (such as FORWARD's, where iptables keeps its rules in nftables) does not
# save it from the drop of another (nft(8)). The table of that FORWARD chain is left out: the
# agent's jump is in it.
nft_dropping_chains() {
    own=""
    host iptables -V 2>/dev/null | grep -q nf_tables && own="ip filter"
    host nft list ruleset 2>/dev/null | {
        table=""
        dropping_chain_end
        while read -r word line; do
            case "$word" in
            table | chain | set | map | flowtable | "}")
                dropping_chain_end
                [ "$word" = table ] && table="${line%" {"}"
                [ "$word" = chain ] && chain="${line%" {"}"
                ;;
            type)
                case "$line" in *"hook forward "*"policy drop;"*) [ "$table" = "$own" ] || drops=1 ;; esac
                ;;
            *)
                case "$word $line" in *iif*"\"$bridge\""*accept*) accepts_in=1 ;; esac
                case "$word $line" in *oif*"\"$bridge\""*accept*) accepts_out=1 ;; esac
                ;;
            esac
        done
        dropping_chain_end
    }
}

check_nftables() {
    host nft --version >/dev/null 2>&1 || return 0
    dropping="$(nft_dropping_chains)"
    [ -n "$dropping" ] || return 0
    while read -r family table chain; do
        fail "nftables: chain $chain of table $family $table (hook forward, policy drop) drops the bridge's traffic whatever the agent's iptables rules accept; accept it there, for good in the node's firewall configuration: nft insert rule $family $table $chain iifname \"$bridge\" ip saddr $range accept, and nft insert rule $family $table $chain oifname \"$bridge\" ip daddr $range accept"
    done <<EOF_CHAINS
$dropping
EOF_CHAINS
}

# What the node needs to forward the bridge's traffic: what the agent keeps, and what it checks only.
check_forwarding() {
    [ "$(cat "/proc/sys/net/ipv4/conf/$bridge/forwarding" 2>/dev/null)" = 1 ] ||
        fail "forwarding: the node does not forward what arrives on $bridge"
    check_uplinks
    check_jump forwarding "the bridge's traffic is dropped there" filter FORWARD "$FORWARD_CHAIN" "$FORWARD_DECIDES"
    check_jump "source NAT" "what leaves the bridge may lose its source address there" nat POSTROUTING "$NAT_CHAIN" "$NAT_DECIDES"
    check_nftables
}

check() {
    failures=""
    if [ ! -d "$root$host_path" ] || ! (cd "$root$host_path" && sha256sum -c "$manifest/SHA256SUMS" >/dev/null 2>&1); then
        fail "binaries: $host_path does not hold the plumr and shm_printer this agent shipped (a file is missing or changed); the agent installs them again when it restarts"
    fi
    for plugin in $cni_plugins; do
        host test -x "$cni_dir/$plugin" && continue
        fail "CNI plugins: $cni_dir has no $plugin plugin, which the attachment needs (Multus would leave the endpoint pods in ContainerCreating); put the CNI plugins in the directory binaries.cniPlugins names so that the agent installs those a node lacks, or set sites.$site.cniBinDir to the directory this cluster's Multus runs plugins from"
    done
    if selinux_enabled; then
        label="$(host stat -c %C "$host_path/plumr" 2>/dev/null || true)"
        case "$label" in
        *:container_file_t:*) ;;
        *) fail "SELinux: $host_path/plumr is labelled ${label:-(unknown)}, which containers cannot read; the agent relabels it when it restarts" ;;
        esac
    fi
    if [ -n "$bridge" ]; then
        if [ -z "$gateway" ]; then
            fail "bridge: the node is not in sites.$site.nodes, so it has no range; add it there, or keep the site's pods off it"
        elif ! host ip -4 addr show dev "$bridge" 2>/dev/null | grep -q " inet $gateway "; then
            fail "bridge: $bridge does not have the node's gateway address $gateway"
        elif ! host ip link show dev "$bridge" 2>/dev/null | grep -q ",UP[,>]"; then
            fail "bridge: $bridge is down"
        fi
        if [ "$node_network" = agent ]; then
            if ! host iptables -V >/dev/null 2>&1; then
                fail "forwarding: the node has no iptables command, which the agent needs to forward the bridge's traffic; install it on the node, or set sites.$site.nodeNetwork to cluster and let the cluster's nodes forward it"
            else
                check_forwarding
            fi
        fi
    fi
    [ -z "$failures" ] && return 0
    printf '%s' "$failures" >&2
    return 1
}

# The image's own commands the agent needs; the rest it takes from the node.
image_commands() {
    for command in chroot gunzip sha256sum sleep mktemp cut tr sed grep; do
        command -v "$command" >/dev/null 2>&1 && continue
        echo "node-agent: node $node: image: the node agent's image has no $command; set binaries.installerImage to an image with sh, chroot, gunzip, sha256sum and sleep" >&2
        return 1
    done
}

case "${1:-}" in
run)
    trap 'exit 0' TERM INT
    image_commands || exit 1
    install_all
    reset_chains
    while :; do
        prepare || true
        if ! check; then
            # The failures alone, first line first: what the kubelet reports and pulumi up prints.
            printf '%s' "$failures" >"${PLUMR_TERMINATION_LOG:-/dev/termination-log}" || true
            exit 1
        fi
        sleep "$interval" &
        wait $!
    done
    ;;
check) check ;;
install) install_all ;;
prepare) prepare ;;
withdraw) withdraw ;;
*)
    echo "usage: node-agent.sh run|check|install|prepare|withdraw" >&2
    exit 2
    ;;
esac
