import stringify from "fast-json-stable-stringify";
import type { EndPlan, SitePlan } from "./types";

/** Name of the pod's second interface, as Multus creates it. */
export const ATTACHMENT_INTERFACE = "net1";

/** Name of the NetworkAttachmentDefinition (and CNI network) of one link end. */
export function attachmentName(link: string): string {
    return `plumr-${link}`;
}

/**
 * The CNI config of one link end's NetworkAttachmentDefinition, as Multus hands it to the bridge
 * (or macvlan) plugin. `capabilities.ips` sits at the top level, spelled right: that is what makes
 * Multus pass the pod's requested address to the static IPAM plugin. Routes name their next hop,
 * the node range's gateway, which is the node's bridge or the underlay router (macvlan). The node
 * agent gives the bridge that address: with isGateway the plugin would, and would also switch on
 * forwarding for the whole node (net.ipv4.ip_forward), undoing a cluster that forwards less.
 */
export function attachmentConfig(site: SitePlan, end: EndPlan, mtu: number): string {
    const plugin =
        site.config.attachment === "bridge"
            ? { type: "bridge", bridge: site.config.bridgeName, isGateway: false, ipMasq: false }
            : { type: "macvlan", master: site.config.macvlanMaster, mode: "bridge" };
    return stringify({
        cniVersion: "0.3.1",
        name: attachmentName(end.link),
        ...plugin,
        mtu,
        capabilities: { ips: true },
        ipam: {
            type: "static",
            routes: end.routes.map((dst) => ({ dst, gw: end.gateway })),
        },
    });
}

/** The pod annotation that asks Multus for net1 with the end's static address. */
export function networksAnnotation(end: EndPlan, namespace: string): string {
    return stringify([
        {
            name: attachmentName(end.link),
            namespace,
            interface: ATTACHMENT_INTERFACE,
            ips: [`${end.address}/${end.prefixLength}`],
        },
    ]);
}
