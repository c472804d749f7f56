// What real platforms set up around a node, reproduced on the local clusters' real nodes and their
// underlay, each with a function that takes it away again:
//   - OpenShift's OVN-Kubernetes with gatewayConfig.ipForwarding Restricted (the default since
//     4.14): forwarding off for the node except its uplink, and the FORWARD chain dropping
//     whatever else crosses the uplink (as it does for br-ex; here the uplink is the node's eth0);
//   - EKS's VPC CNI: AWS-SNAT-CHAIN-0 rewrites the source of what leaves for outside the VPC to
//     the node's own address;
//   - the nodes' AWS security group, as the program writes it: the tunnel's UDP port from the peer
//     end's address only, ICMP from the peer's range, and what answers what went out.
// All inside the project's own network namespaces, with this machine's iptables, as the nodes' own.
import { execFileSync } from "child_process";
import { RealNode } from "../../dev/local/localNodes";

const iptables = (netns: string, ...args: string[]) =>
    execFileSync("ip", ["netns", "exec", netns, "iptables", "-w", ...args], { encoding: "utf8", timeout: 10_000 });
const sysctl = (netns: string, setting: string) =>
    execFileSync("ip", ["netns", "exec", netns, "sysctl", "-qw", setting], { timeout: 10_000 });

/** The node's uplink, as br-ex is on OpenShift. */
const UPLINK = "eth0";

/** OVN-Kubernetes's ipForwarding Restricted on a node; returns what takes it away. */
export function restrictForwarding(node: RealNode): () => void {
    sysctl(node.netns, "net.ipv4.ip_forward=0");
    sysctl(node.netns, `net.ipv4.conf.${UPLINK}.forwarding=1`);
    const rules = [
        ["-i", UPLINK, "-j", "DROP"],
        ["-o", UPLINK, "-j", "DROP"],
    ];
    for (const rule of rules) iptables(node.netns, "-A", "FORWARD", ...rule);
    return () => {
        for (const rule of rules) iptables(node.netns, "-D", "FORWARD", ...rule);
        sysctl(node.netns, "net.ipv4.ip_forward=1");
    };
}

/** The VPC CNI's source NAT on a node whose VPC is `vpcCidr`; returns what takes it away. */
export function snatLikeVpcCni(node: RealNode, vpcCidr: string): () => void {
    const chain = "AWS-SNAT-CHAIN-0";
    iptables(node.netns, "-t", "nat", "-N", chain);
    iptables(node.netns, "-t", "nat", "-A", chain, "-d", vpcCidr, "-j", "RETURN");
    iptables(
        node.netns,
        "-t",
        "nat",
        "-A",
        chain,
        "!",
        "-o",
        "vlan+",
        "-m",
        "addrtype",
        "!",
        "--dst-type",
        "LOCAL",
        "-j",
        "SNAT",
        "--to-source",
        node.underlay.address,
        "--random-fully",
    );
    iptables(node.netns, "-t", "nat", "-A", "POSTROUTING", "-j", chain);
    // As on a node that has had the rules from the start: no flow is left from before them.
    execFileSync("ip", ["netns", "exec", node.netns, "conntrack", "-F"], { stdio: "ignore", timeout: 10_000 });
    return () => {
        iptables(node.netns, "-t", "nat", "-D", "POSTROUTING", "-j", chain);
        iptables(node.netns, "-t", "nat", "-F", chain);
        iptables(node.netns, "-t", "nat", "-X", chain);
    };
}

/** One end's inbound rules: the tunnel's UDP port from the peer end, ICMP from the peer's range. */
export interface SecurityGroupRules {
    /** The end's underlay address and port. */
    address: string;
    port: number;
    peerAddress: string;
    peerRange: string;
}

/**
 * The nodes' security group at a site's router (its VPC stand-in): what comes in from the other
 * sites reaches the site's nodes only as the rules allow; returns what takes it away.
 */
export function securityGroup(routerNetns: string, ends: SecurityGroupRules[]): () => void {
    const chain = "PLUMR-TEST-SG";
    iptables(routerNetns, "-N", chain);
    iptables(routerNetns, "-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
    for (const end of ends) {
        iptables(
            routerNetns,
            "-A",
            chain,
            "-p",
            "udp",
            "-s",
            end.peerAddress,
            "-d",
            end.address,
            "--dport",
            String(end.port),
            "-j",
            "ACCEPT",
        );
        iptables(routerNetns, "-A", chain, "-p", "icmp", "-s", end.peerRange, "-j", "ACCEPT");
    }
    iptables(routerNetns, "-A", chain, "-j", "DROP");
    iptables(routerNetns, "-A", "FORWARD", "-i", "transit", "-o", "vpc", "-j", chain);
    return () => {
        iptables(routerNetns, "-D", "FORWARD", "-i", "transit", "-o", "vpc", "-j", chain);
        iptables(routerNetns, "-F", chain);
        iptables(routerNetns, "-X", chain);
    };
}
