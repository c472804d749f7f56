// The network between the local clusters' real nodes, standing in for what AWS gives a real
// deployment: per site a router namespace with a bridge that is the VPC subnet of its nodes
// (with a route for each real node's range to that node, as the program's ENI routes do), and one
// transit namespace that carries each site's bridge range to its router (the Transit Gateways and
// their peering). It has no route out of its namespaces: nothing it carries can leave this machine.
import { ip, netnsExists } from "./localNodes";

/** One site of the underlay: its bridge range, and the ranges of its real nodes. */
export interface UnderlaySite {
    name: string;
    bridgeRange: string;
    /** Real nodes by their index in the site: each node's range goes to that node. */
    nodes: { index: number; range: string }[];
}

export const routerNetns = (instance: string, site: string) => `plumr-${instance}-${site}-router`;
export const transitNetns = (instance: string) => `plumr-${instance}-transit`;
/** The interface of a node's link in its site's router namespace. */
export const routerInterface = (nodeIndex: number) => `n${nodeIndex}`;

/** A site's VPC subnet: the router is .1, node k is .(10 + k). Inside the project's namespaces only. */
export const siteSubnet = (siteIndex: number) => ({
    router: `100.65.${siteIndex}.1`,
    node: (nodeIndex: number) => `100.65.${siteIndex}.${10 + nodeIndex}`,
    prefixLength: 24,
});

/** Every namespace of an instance's underlay. */
export const underlayNamespaces = (instance: string, sites: UnderlaySite[]) => [
    transitNetns(instance),
    ...sites.map((s) => routerNetns(instance, s.name)),
];

export function underlayIntact(instance: string, sites: UnderlaySite[]): boolean {
    return underlayNamespaces(instance, sites).every(netnsExists);
}

export function removeUnderlay(instance: string, sites: UnderlaySite[]): void {
    for (const ns of underlayNamespaces(instance, sites)) if (netnsExists(ns)) ip("netns", "del", ns);
}

export function createUnderlay(instance: string, sites: UnderlaySite[]): void {
    removeUnderlay(instance, sites);
    const transit = transitNetns(instance);
    ip("netns", "add", transit);
    ip("netns", "exec", transit, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    sites.forEach((site, s) => {
        const router = routerNetns(instance, site.name);
        const subnet = siteSubnet(s);
        ip("netns", "add", router);
        ip("netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        ip("-n", router, "link", "set", "lo", "up");
        ip("-n", router, "link", "add", "vpc", "type", "bridge");
        ip("-n", router, "addr", "add", `${subnet.router}/${subnet.prefixLength}`, "dev", "vpc");
        ip("-n", router, "link", "set", "vpc", "up");
        for (const node of site.nodes) ip("-n", router, "route", "add", node.range, "via", subnet.node(node.index));
        // The link to the transit namespace: 100.66.<site>.0/30, the router at .1.
        ip("-n", router, "link", "add", "transit", "type", "veth", "peer", "name", `s${s}`, "netns", transit);
        ip("-n", router, "addr", "add", `100.66.${s}.1/30`, "dev", "transit");
        ip("-n", router, "link", "set", "transit", "up");
        ip("-n", transit, "addr", "add", `100.66.${s}.2/30`, "dev", `s${s}`);
        ip("-n", transit, "link", "set", `s${s}`, "up");
        ip("-n", transit, "route", "add", site.bridgeRange, "via", `100.66.${s}.1`);
        for (const other of sites) if (other !== site) ip("-n", router, "route", "add", other.bridgeRange, "via", `100.66.${s}.2`);
    });
}
