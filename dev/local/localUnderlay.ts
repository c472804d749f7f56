// The network between the local clusters' real nodes, standing in for what AWS gives a real
// deployment: per site a router namespace with a bridge that is the VPC subnet of its nodes, and one
// transit namespace that joins the routers (the Transit Gateways and their peering). It starts with
// no route to any bridge range: routeSlots adds them as the stacks publish them (the route of each
// slot's range to the node that holds it, as the program's ENI routes do, and of each site's bridge
// range to its router, as the Transit Gateways' routes do). It has no route out of its namespaces:
// nothing it carries can leave this machine.
import * as ipaddr from "ipaddr.js";
import { ip, netnsExists } from "./localNodes";

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

/** Every namespace of an instance's underlay; `sites` are the sites' names, in the instance's order. */
export const underlayNamespaces = (instance: string, sites: string[]) => [
    transitNetns(instance),
    ...sites.map((s) => routerNetns(instance, s)),
];

export function underlayIntact(instance: string, sites: string[]): boolean {
    return underlayNamespaces(instance, sites).every(netnsExists);
}

export function removeUnderlay(instance: string, sites: string[]): void {
    for (const ns of underlayNamespaces(instance, sites)) if (netnsExists(ns)) ip("netns", "del", ns);
}

export function createUnderlay(instance: string, sites: string[]): void {
    removeUnderlay(instance, sites);
    const transit = transitNetns(instance);
    ip("netns", "add", transit);
    ip("netns", "exec", transit, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    sites.forEach((site, s) => {
        const router = routerNetns(instance, site);
        const subnet = siteSubnet(s);
        ip("netns", "add", router);
        ip("netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        ip("-n", router, "link", "set", "lo", "up");
        ip("-n", router, "link", "add", "vpc", "type", "bridge");
        ip("-n", router, "addr", "add", `${subnet.router}/${subnet.prefixLength}`, "dev", "vpc");
        ip("-n", router, "link", "set", "vpc", "up");
        // The link to the transit namespace: 100.66.<site>.0/30, the router at .1.
        ip("-n", router, "link", "add", "transit", "type", "veth", "peer", "name", `s${s}`, "netns", transit);
        ip("-n", router, "addr", "add", `100.66.${s}.1/30`, "dev", "transit");
        ip("-n", router, "link", "set", "transit", "up");
        ip("-n", transit, "addr", "add", `100.66.${s}.2/30`, "dev", `s${s}`);
        ip("-n", transit, "link", "set", `s${s}`, "up");
    });
}

/** A slot's range and the number of the node that holds it. */
export interface SlotRoute {
    range: string;
    nodeIndex: number;
}

/** Whether `route` (an `ip route` destination: a CIDR, or an address for a /32) lies inside `range`. */
function inside(route: string, range: [ipaddr.IPv4, number]): boolean {
    if (!/^\d/.test(route)) return false; // default, or a route of another kind
    const [address, length] = route.includes("/") ? ipaddr.IPv4.parseCIDR(route) : [ipaddr.IPv4.parse(route), 32];
    return length >= range[1] && address.match(range);
}

/**
 * Routes site `site`'s bridge range as its stack publishes it: the range to the site's router from
 * the transit namespace and from every other site's router, and in the site's router each slot's
 * range to the node that holds it now; a route of its range to a slot that no node holds any more
 * goes. `sites` are the sites' names, in the instance's order.
 */
export function routeSlots(instance: string, sites: string[], site: string, bridgeRange: string, slots: SlotRoute[]): void {
    const s = sites.indexOf(site);
    if (s < 0) throw new Error(`no local cluster for site ${site}: the local clusters are ${sites.join(", ")}`);
    const router = routerNetns(instance, site);
    ip("-n", transitNetns(instance), "route", "replace", bridgeRange, "via", `100.66.${s}.1`);
    sites.forEach((other, o) => {
        if (o !== s) ip("-n", routerNetns(instance, other), "route", "replace", bridgeRange, "via", `100.66.${o}.2`);
    });
    const wanted = new Map(slots.map((slot) => [slot.range, siteSubnet(s).node(slot.nodeIndex)]));
    const range = ipaddr.IPv4.parseCIDR(bridgeRange);
    for (const route of JSON.parse(ip("-j", "-n", router, "route", "show")) as { dst: string }[]) {
        if (inside(route.dst, range) && !wanted.has(route.dst)) ip("-n", router, "route", "del", route.dst);
    }
    for (const [slotRange, node] of wanted) ip("-n", router, "route", "replace", slotRange, "via", node);
}
