import stringify from "fast-json-stable-stringify";
import type { EndpointPlan, SitePlan } from "../types";

/** Name of the pod's second interface, as Multus creates it. */
export const ATTACHMENT_INTERFACE = "net1";

/** Name of an endpoint's NetworkAttachmentDefinition (and CNI network), and of its other objects. */
export function attachmentName(endpoint: string): string {
    return `plumr-${endpoint}`;
}

/**
 * The CNI config of an endpoint's NetworkAttachmentDefinition, as Multus hands it to the bridge
 * (or macvlan) plugin. `capabilities.ips` sits at the top level, spelled right: that is what makes
 * Multus pass the pod's requested address to the static IPAM plugin. Routes name their next hop,
 * the node range's gateway, which is the node's bridge or the underlay router (macvlan). The node
 * agent gives the bridge that address: with isGateway the plugin would, and would also switch on
 * forwarding for the whole node (net.ipv4.ip_forward), undoing a cluster that forwards less.
 */
export function attachmentConfig(site: SitePlan, endpoint: EndpointPlan, mtu: number): string {
    const plugin =
        site.config.attachment === "bridge"
            ? { type: "bridge", bridge: site.config.bridgeName, isGateway: false, ipMasq: false }
            : { type: "macvlan", master: site.config.macvlanMaster, mode: "bridge" };
    return stringify({
        cniVersion: "0.3.1",
        name: attachmentName(endpoint.name),
        ...plugin,
        mtu,
        capabilities: { ips: true },
        ipam: {
            type: "static",
            routes: endpoint.routes.map((dst) => ({ dst, gw: endpoint.gateway })),
        },
    });
}

/** The pod annotation that asks Multus for net1 with the endpoint's static address. */
export function networksAnnotation(endpoint: EndpointPlan, namespace: string): string {
    return stringify([
        {
            name: attachmentName(endpoint.name),
            namespace,
            interface: ATTACHMENT_INTERFACE,
            ips: [`${endpoint.address}/${endpoint.prefixLength}`],
        },
    ]);
}
