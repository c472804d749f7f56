// Checks of the sites and the tunnel that no other room owns: names the nodes and pods already
// use, attachments AWS refuses, and the MTU arithmetic.
import { ATTACHMENT_INTERFACE } from "../cluster/attachment";
import { Problems } from "../problems/errors";
import { fieldPath, Topology } from "./schema";

/** Outer IPv4 (20) and UDP (8) headers around every tunnelled packet. */
export const IP_UDP_OVERHEAD = 28;

/** Interfaces every endpoint pod has besides the tun device: its loopback, its cluster network and its link. */
const POD_INTERFACES = ["lo", "eth0", ATTACHMENT_INTERFACE];

/**
 * Interfaces the nodes of common clusters already have (OVN-Kubernetes on OpenShift, the VPC CNI
 * on EKS, and other common CNIs): a bridge of that name would take over the cluster's own network.
 */
const NODE_INTERFACES = [
    "lo",
    "br-ex",
    "br-int",
    "br-local",
    "ovs-system",
    "ovn-k8s-mp0",
    "genev_sys_6081",
    "vxlan_sys_4789",
    "docker0",
    "cni0",
    "cbr0",
    "kube-ipvs0",
    "kube-bridge",
    "flannel.1",
    "tunl0",
    "vxlan.calico",
    "cilium_host",
    "cilium_net",
    "cilium_vxlan",
    "weave",
];
/** Interface names the kernel or a CNI gives to the nodes' own devices: eth0, ens5, enp0s3, eni1234, veth12ab. */
const NODE_INTERFACE_PATTERN = /^(eth|ens|enp|eno|enx|wlan|bond|team|eni|vlan|veth|cali|lxc|tap|virbr)[0-9a-z]*$/;

export function checkSites(topology: Topology, problems: Problems): void {
    const device = topology.tunnel.device;
    if (POD_INTERFACES.includes(device)) {
        problems.add(
            fieldPath(["tunnel", "device"]),
            device,
            `the endpoint pod already has an interface ${device} (${POD_INTERFACES.join(", ")}), so plumr could not create its tun device`,
            "use another name, e.g. tun (the default)",
        );
    }
    for (const [siteName, site] of Object.entries(topology.sites)) {
        if (site.attachment === "bridge" && (NODE_INTERFACES.includes(site.bridgeName) || NODE_INTERFACE_PATTERN.test(site.bridgeName))) {
            problems.add(
                fieldPath(["sites", siteName, "bridgeName"]),
                site.bridgeName,
                "a name the nodes' own interfaces use (their network cards, or the cluster network's bridges and tunnels): " +
                    "the bridge plugin would attach the endpoints to it, or fail on a device that is not a bridge",
                "use a bridge of plumr's own, e.g. br-plumr (the default)",
            );
        }
        if (site.attachment === "macvlan" && site.aws) {
            problems.add(
                fieldPath(["sites", siteName, "attachment"]),
                site.attachment,
                "macvlan does not work on AWS: the VPC drops frames from MAC addresses it did not assign",
                `use attachment: bridge (routed by the node), or remove sites.${siteName}.aws if the site is not on AWS`,
            );
        }
    }
}

/** The tun device's MTU fits the underlay's, less the outer headers and plumr's own overhead. */
export function checkMtu(topology: Topology, problems: Problems): void {
    const maxMtu = topology.tunnel.underlayMtu - IP_UDP_OVERHEAD - topology.tunnel.protocolOverhead;
    if (topology.tunnel.mtu > maxMtu) {
        problems.add(
            fieldPath(["tunnel", "mtu"]),
            topology.tunnel.mtu,
            `larger than the underlay allows: ${topology.tunnel.underlayMtu} (underlayMtu) - ${IP_UDP_OVERHEAD} (IPv4 + UDP) - ${topology.tunnel.protocolOverhead} (protocolOverhead) = ${maxMtu}`,
            `set tunnel.mtu to ${maxMtu} or less`,
        );
    }
}
